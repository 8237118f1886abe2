"""CNN layer graphs: ResNets and OFA MobileNetV3 sub-nets against published MACs and parameters,
graphs executed in PyTorch, width surgery, OFA spec validation, MAC monotonicity."""

from __future__ import annotations

import json
import random

import pytest
import torch
import torch.nn.functional as F
from hypothesis import given, settings
from hypothesis import strategies as st
from torch import nn

from prunesim.models.cnn import (
    IMAGE,
    CNNConfig,
    Conv2d,
    Dense,
    Join,
    resnet_cifar,
    resnet_imagenet,
)
from prunesim.models.ofa import (
    OFA_DEPTHS,
    OFA_EXPAND_RATIOS,
    OFA_KERNELS,
    OFA_MAX_RESOLUTION,
    OFA_MIN_RESOLUTION,
    OFASpec,
    make_divisible,
    mobilenet_v3_large,
    ofa_macs,
    ofa_subnet,
    ofa_widths,
    sample_ofa_spec,
)

# --- a naive executor: run a CNNConfig in PyTorch and count like OFA's profile() -------------


def _count_conv(conv: nn.Conv2d, output: torch.Tensor) -> int:
    """OFA's count_convNd: in_channels * output elements * kernel area // groups."""
    kh, kw = conv.kernel_size
    return conv.in_channels * output.numel() * kh * kw // conv.groups


def _execute(cfg: CNNConfig) -> tuple[int, int]:
    """Build ``cfg`` from torch modules, run one zero image through it and return (MACs,
    parameters) as measured on the real tensors; asserts every node's shape on the way.

    Pooling is not a node: a layer or a join reading a larger tensor pools it (adaptively) to
    the size it states.
    """
    params = 0
    outputs: dict[str, torch.Tensor] = {IMAGE: torch.zeros(1, *cfg.input)}
    pending = list(cfg.joins)
    macs = 0

    def pooled(x: torch.Tensor, size: tuple[int, int]) -> torch.Tensor:
        return x if tuple(x.shape[-2:]) == size else F.adaptive_avg_pool2d(x, size)

    def settle() -> None:
        for join in list(pending):
            if not all(i in outputs for i in join.inputs):
                continue
            main = outputs[join.inputs[0]]
            y = main
            for name in join.inputs[1:]:
                other = outputs[name]
                if join.kind == "mul":
                    y = y * other
                    continue
                other = pooled(other, tuple(main.shape[-2:]))
                if join.kind == "add_padded":
                    other = F.pad(other, (0, 0, 0, 0, 0, main.shape[1] - other.shape[1]))
                y = y + other
            outputs[join.name] = y
            assert tuple(y.shape[1:]) == cfg.shape(join.name)
            pending.remove(join)

    with torch.no_grad():
        for layer in cfg.layers:
            settle()
            x = outputs[cfg.input_of(layer.name)]
            if isinstance(layer, Conv2d):
                conv = nn.Conv2d(
                    layer.in_channels,
                    layer.out_channels,
                    layer.kernel,
                    layer.stride,
                    padding=layer.kernel // 2,
                    groups=layer.groups,
                    bias=layer.bias,
                )
                x = pooled(x, (layer.in_height, layer.in_width))
                assert tuple(x.shape[1:]) == (layer.in_channels, layer.in_height, layer.in_width)
                y = conv(x)
                macs += _count_conv(conv, y)
                params += sum(p.numel() for p in conv.parameters())
                if layer.bn:
                    bn = nn.BatchNorm2d(layer.out_channels)
                    params += sum(p.numel() for p in bn.parameters())
            else:
                linear = nn.Linear(layer.in_features, layer.out_features, bias=layer.bias)
                y = linear(x.mean(dim=(2, 3)))[:, :, None, None]
                macs += linear.in_features * linear.out_features
                params += sum(p.numel() for p in linear.parameters())
            assert tuple(y.shape[1:]) == cfg.shape(layer.name), layer.name
            outputs[layer.name] = y
        settle()
    assert not pending
    return macs, params


# --- ResNets -----------------------------------------------------------------------------------

# torchvision's model docs (num_params, and "GFLOPS", which are GMACs) for the ImageNet ResNets.
TORCHVISION_RESNETS = {
    18: (11_689_512, 1.81),
    34: (21_797_672, 3.66),
    50: (25_557_032, 4.09),
    101: (44_549_160, 7.80),
    152: (60_192_808, 11.51),
}


def test_resnet18_matches_published() -> None:
    net = resnet_imagenet(18)
    assert net.params() == 11_689_512
    assert net.macs() == pytest.approx(1.814e9, rel=1e-3)
    assert net.macs() == 1_814_073_344  # ours, exact
    assert net.layer("fc").params == 512 * 1000 + 1000


@pytest.mark.parametrize("depth", sorted(TORCHVISION_RESNETS))
def test_imagenet_resnets_match_torchvision(depth: int) -> None:
    net = resnet_imagenet(depth)
    params, gmacs = TORCHVISION_RESNETS[depth]
    assert net.params() == params
    assert round(net.macs() / 1e9, 2) == gmacs


def _naive_cifar(n: int) -> tuple[int, int]:
    """Parameters and MACs of He et al.'s CIFAR ResNet-(6n+2), option A, written out by hand."""
    conv = 3 * 16 * 9 + 2 * 16
    params_macs = [(conv, 32 * 32 * 16 * 3 * 9)]
    for stage, (planes, side) in enumerate(((16, 32), (32, 16), (64, 8))):
        cin = 16 if stage == 0 else planes // 2
        first = cin * planes * 9  # the first block's first convolution
        rest = planes * planes * 9  # the other 2n - 1 convolutions
        params_macs.append((first + (2 * n - 1) * rest + 2 * n * 2 * planes, 0))
        params_macs.append((0, side * side * (first + (2 * n - 1) * rest)))
    params_macs.append((64 * 10 + 10, 64 * 10))
    return sum(p for p, _ in params_macs), sum(m for _, m in params_macs)


@pytest.mark.parametrize(
    ("depth", "params", "macs", "published_m_params", "published_m_macs"),
    [
        # He et al. 2016, Table 6 (0.27M, 0.85M, 1.7M); MACs as the pruning literature quotes
        # them (e.g. HRank, CVPR 2020: 125.49M for ResNet-56, 252.89M for ResNet-110).
        (20, 269_722, 40_551_040, 0.27, 40.55),
        (56, 853_018, 125_485_696, 0.85, 125.49),
        (110, 1_727_962, 252_887_680, 1.7, 252.89),
    ],
)
def test_cifar_resnets_match_published(
    depth: int, params: int, macs: int, published_m_params: float, published_m_macs: float
) -> None:
    net = resnet_cifar(depth)
    assert (net.params(), net.macs()) == (params, macs) == _naive_cifar((depth - 2) // 6)
    digits = 1 if depth == 110 else 2
    assert round(net.params() / 1e6, digits) == published_m_params
    assert round(net.macs() / 1e6, 2) == published_m_macs


def test_cifar_option_a_has_parameter_free_shortcuts_and_b_projects() -> None:
    a, b = resnet_cifar(20), resnet_cifar(20, shortcut="B")
    assert not any("downsample" in layer.name for layer in a.layers)
    assert [j.kind for j in a.joins].count("add_padded") == 2
    projections = [layer for layer in b.layers if "downsample" in layer.name]
    assert [(p.in_channels, p.out_channels, p.stride) for p in projections] == [
        (16, 32, 2),
        (32, 64, 2),
    ]
    assert b.params() - a.params() == 16 * 32 + 2 * 32 + 32 * 64 + 2 * 64
    assert b.macs() - a.macs() == 16 * 16 * 32 * 16 + 8 * 8 * 64 * 32


@pytest.mark.parametrize(
    "build",
    [
        lambda: resnet_imagenet(18),
        lambda: resnet_imagenet(50, resolution=64),
        lambda: resnet_cifar(20),
        lambda: resnet_cifar(20, shortcut="B"),
        lambda: mobilenet_v3_large(),
        lambda: ofa_subnet(OFASpec.uniform(7, 6, 4, r=228, w=1.2)),
        lambda: resnet_imagenet(18).with_out_channels({"layer2.0.conv2": 96, "conv1": 40}),
    ],
    ids=["resnet18", "resnet50-64px", "resnet20", "resnet20-b", "mbv3-large", "ofa", "pruned"],
)
def test_graphs_run_in_pytorch_with_the_stated_shapes_macs_and_params(build) -> None:
    net = build()
    assert _execute(net) == (net.macs(), net.params())


def test_resnet_validation() -> None:
    with pytest.raises(ValueError, match="resnet_imagenet depth"):
        resnet_imagenet(20)
    with pytest.raises(ValueError, match="resnet_imagenet width"):
        resnet_imagenet(18, width=0)
    with pytest.raises(ValueError, match="resnet_cifar depth"):
        resnet_cifar(21)
    with pytest.raises(ValueError, match="resnet_cifar shortcut"):
        resnet_cifar(20, shortcut="C")  # type: ignore[arg-type]


def test_width_multiplier_scales_every_width() -> None:
    half = resnet_imagenet(18, width=0.5)
    assert half.layer("conv1").out_channels == 32
    assert half.layer("layer4.1.conv2").out_channels == 256
    assert half.layer("fc").in_features == 256
    assert half.name == "resnet18-w0.5"


# --- layers and graph validation -------------------------------------------------------------


def test_conv2d_formulas() -> None:
    conv = Conv2d(
        name="c",
        in_channels=8,
        out_channels=16,
        kernel=3,
        stride=2,
        in_height=7,
        in_width=9,
        bias=True,
    )
    assert (conv.out_height, conv.out_width) == (4, 5)
    assert conv.weight_elements == 16 * 8 * 9
    assert conv.params == 16 * 8 * 9 + 16
    assert conv.bn_params == 32
    assert conv.macs == 4 * 5 * 16 * 8 * 9
    assert (conv.input_elements, conv.output_elements) == (8 * 7 * 9, 16 * 4 * 5)
    dw = Conv2d(
        name="dw",
        in_channels=32,
        out_channels=32,
        kernel=5,
        groups=32,
        in_height=14,
        in_width=14,
        bn=False,
    )
    assert dw.depthwise and dw.macs == 14 * 14 * 32 * 25 and dw.bn_params == 0
    dense = Dense(name="fc", in_features=512, out_features=1000)
    assert (dense.macs, dense.params, dense.bn_params) == (512_000, 513_000, 0)


@pytest.mark.parametrize(
    ("kwargs", "match"),
    [
        ({"kernel": 4}, "kernel must be odd"),
        ({"kernel": 0}, "kernel must be a positive integer"),
        ({"groups": 3}, "groups \\(3\\) must divide"),
        ({"stride": True}, "stride must be a positive integer"),
        ({"in_height": 0}, "in_height must be a positive integer"),
        ({"input_from": ""}, "input_from must be"),
        ({"name": ""}, "name must be a non-empty string"),
    ],
)
def test_conv2d_validation(kwargs: dict, match: str) -> None:
    base = dict(name="c", in_channels=8, out_channels=16, kernel=3, in_height=4, in_width=4)
    with pytest.raises(ValueError, match=match):
        Conv2d(**{**base, **kwargs})


def _conv(name: str, cin: int, cout: int, side: int = 8, **kw) -> Conv2d:
    return Conv2d(
        name=name, in_channels=cin, out_channels=cout, kernel=3, in_height=side, in_width=side, **kw
    )


def test_graph_validation_names_the_problem() -> None:
    image = (3, 8, 8)
    ok = CNNConfig(name="ok", input=image, layers=(_conv("a", 3, 4), _conv("b", 4, 4)))
    assert ok.input_of("a") == IMAGE and ok.input_of("b") == "a"
    with pytest.raises(ValueError, match="layer b has 5 input channels but a gives 4"):
        CNNConfig(name="x", input=image, layers=(_conv("a", 3, 4), _conv("b", 5, 4)))
    with pytest.raises(ValueError, match="runs on 9x9 but a gives 8x8"):
        CNNConfig(name="x", input=image, layers=(_conv("a", 3, 4), _conv("b", 4, 4, side=9)))
    with pytest.raises(ValueError, match="reads 'z', which is not defined"):
        CNNConfig(name="x", input=image, layers=(_conv("a", 3, 4, input_from="z"),))
    with pytest.raises(ValueError, match="not unique"):
        CNNConfig(name="x", input=image, layers=(_conv("a", 3, 3), _conv("a", 3, 3)))
    with pytest.raises(ValueError, match="join j: a .* must have the channels"):
        CNNConfig(
            name="x",
            input=image,
            layers=(_conv("a", 3, 4), _conv("b", 4, 6)),
            joins=(Join(name="j", kind="add", inputs=("b", "a")),),
        )
    with pytest.raises(ValueError, match="joins read undefined nodes: j"):
        CNNConfig(
            name="x",
            input=image,
            layers=(_conv("a", 3, 4),),
            joins=(Join(name="j", kind="add", inputs=("a", "nowhere")),),
        )
    with pytest.raises(ValueError, match="kind must be one of"):
        Join(name="j", kind="sub", inputs=("a", "b"))  # type: ignore[arg-type]


def test_to_dict_is_json_and_adds_up() -> None:
    net = resnet_cifar(20)
    d = json.loads(json.dumps(net.to_dict()))
    assert d["macs"] == sum(layer["macs"] for layer in d["layers"]) == net.macs()
    assert d["params"] == sum(x["params"] + x["bn_params"] for x in d["layers"]) == net.params()
    assert d["layers"][1]["input_from"] == "conv1"
    assert {j["kind"] for j in d["joins"]} == {"add", "add_padded"}


# --- width surgery -----------------------------------------------------------------------------


def test_inner_width_changes_only_its_consumer() -> None:
    net = resnet_imagenet(18)
    pruned = net.with_out_channels({"layer1.0.conv1": 32})
    assert pruned.layer("layer1.0.conv1").out_channels == 32
    assert pruned.layer("layer1.0.conv2").in_channels == 32
    assert pruned.layer("layer1.0.conv2").out_channels == 64
    changed = [a.name for a, b in zip(net.layers, pruned.layers, strict=True) if a != b]
    assert changed == ["layer1.0.conv1", "layer1.0.conv2"]
    assert net.macs() - pruned.macs() == 2 * (56 * 56 * 32 * 64 * 9)  # conv1 out, conv2 in


def test_stream_width_moves_the_whole_residual_stream() -> None:
    net = resnet_imagenet(18).with_out_channels({"layer2.1.conv2": 96})
    for name in ("layer2.0.conv2", "layer2.0.downsample", "layer2.1.conv2"):
        assert net.layer(name).out_channels == 96
    for name in ("layer2.1.conv1", "layer3.0.conv1", "layer3.0.downsample"):
        assert net.layer(name).in_channels == 96
    assert net.layer("layer2.0.conv1").out_channels == 128  # inner width untouched
    assert net.shape("layer2.1.add") == (96, 28, 28)


def test_width_groups_of_resnet18() -> None:
    groups = resnet_imagenet(18).width_groups()
    assert groups[0] == ("conv1", "layer1.0.conv2", "layer1.1.conv2")
    assert ("layer2.0.conv2", "layer2.0.downsample", "layer2.1.conv2") in groups
    assert ("layer1.0.conv1",) in groups and ("fc",) in groups
    assert sorted(n for g in groups for n in g) == sorted(
        x.name for x in resnet_imagenet(18).layers
    )


def test_width_surgery_refuses_inconsistent_requests() -> None:
    net = resnet_imagenet(18)
    with pytest.raises(ValueError, match="tied by a residual add"):
        net.with_out_channels({"layer2.0.conv2": 96, "layer2.1.conv2": 100})
    with pytest.raises(ValueError, match="has no layer 'nope'"):
        net.with_out_channels({"nope": 3})
    with pytest.raises(ValueError, match="layer1.0.conv1 must be a positive integer"):
        net.with_out_channels({"layer1.0.conv1": 0})
    cifar = resnet_cifar(20)
    # Option A pads the narrower stream; it cannot drop channels.
    with pytest.raises(ValueError, match="at most the channels"):
        cifar.with_out_channels({"layer2.0.conv2": 8})
    slim = cifar.with_out_channels({"conv1": 8})
    assert slim.layer("layer1.2.conv2").out_channels == 8
    assert slim.layer("layer2.0.conv1").in_channels == 8


def test_depthwise_and_se_follow_the_expanding_conv() -> None:
    net = ofa_subnet(OFASpec.uniform(5, 4, 2))
    pruned = net.with_out_channels({"blocks.5.expand": 64})  # unit 1 (SE), first block
    dw = pruned.layer("blocks.5.dw")
    assert (dw.in_channels, dw.out_channels, dw.groups) == (64, 64, 64)
    assert pruned.layer("blocks.5.se.reduce").in_channels == 64
    assert pruned.layer("blocks.5.se.expand").out_channels == 64
    assert pruned.layer("blocks.5.project").in_channels == 64
    with pytest.raises(ValueError, match="depthwise and follows its input"):
        net.with_out_channels({"blocks.5.dw": 64})
    # The first block's depthwise conv follows the stem; its projection is tied to the stem by
    # the identity shortcut.
    stem = net.with_out_channels({"first_conv": 8})
    assert stem.layer("blocks.0.dw").groups == 8
    assert stem.layer("blocks.0.project").out_channels == 8


@settings(max_examples=25, deadline=None)
@given(st.data())
def test_random_width_surgery_stays_consistent(data: st.DataObject) -> None:
    net = data.draw(
        st.sampled_from(
            [resnet_cifar(20), resnet_cifar(20, shortcut="B"), resnet_imagenet(18, resolution=64)]
        )
    )
    option_a = any(join.kind == "add_padded" for join in net.joins)
    keep: dict[str, int] = {}
    stream_floor = 1
    for group in net.width_groups():
        first = net.layer(group[0])
        if isinstance(first, Dense):
            continue
        stream = len(group) > 1  # a residual stream; inner convolutions stand alone
        # Option A pads a narrower stream into a wider one, never the reverse.
        new = data.draw(st.integers(stream_floor if option_a and stream else 1, first.out_channels))
        if stream:
            stream_floor = new
        keep[data.draw(st.sampled_from(group))] = new
    pruned = net.with_out_channels(keep)
    assert pruned.macs() <= net.macs() and pruned.params() <= net.params()
    for layer in pruned.layers:
        channels = pruned.shape(pruned.input_of(layer.name))[0]
        assert channels == (layer.in_channels if isinstance(layer, Conv2d) else layer.in_features)
    for join in pruned.joins:
        shapes = [pruned.shape(i) for i in join.inputs]
        if join.kind == "add":
            assert {s[0] for s in shapes} == {shapes[0][0]}


# --- OFA -------------------------------------------------------------------------------------


def test_ofa_widths_are_the_papers() -> None:
    w10, w12 = ofa_widths(1.0), ofa_widths(1.2)
    assert (w10.stem, w10.first_block, w10.units, w10.final_expand, w10.feature_mix) == (
        16,
        16,
        (24, 40, 80, 112, 160),
        960,
        1280,
    )
    assert (w12.stem, w12.first_block, w12.units, w12.final_expand, w12.feature_mix) == (
        24,
        24,
        (32, 48, 96, 136, 192),
        1152,
        1536,
    )
    assert [make_divisible(v) for v in (18, 19.2, 134.4, 17, 30)] == [24, 24, 136, 16, 32]


def _spec(**overrides) -> OFASpec:
    base = dict(ks=[3] * 20, e=[3] * 20, d=[2] * 5, r=224, w=1.0)
    return OFASpec(**{**base, **overrides})


@pytest.mark.parametrize(
    ("overrides", "match"),
    [
        ({"ks": [3, 5, 7, 4] + [3] * 16}, r"^OFASpec ks\[3\] must be one of 3, 5, 7, not 4$"),
        ({"e": [3] * 19 + [5]}, r"^OFASpec e\[19\] must be one of 3, 4, 6, not 5$"),
        ({"d": [2, 3, 4, 5, 2]}, r"^OFASpec d\[3\] must be one of 2, 3, 4, not 5$"),
        ({"ks": [3] * 19}, r"^OFASpec ks must have 20 entries, not 19$"),
        ({"e": [3] * 21}, r"^OFASpec e must have 20 entries, not 21$"),
        ({"d": [2] * 4}, r"^OFASpec d must have 5 entries, not 4$"),
        ({"d": 2}, r"^OFASpec d must be a sequence"),
        ({"ks": [3.0] * 20}, r"^OFASpec ks\[0\] must be one of"),
        ({"r": 130}, r"^OFASpec r must be a multiple of 4 in 128..260, not 130$"),
        ({"r": 124}, r"^OFASpec r must be .*not 124$"),
        ({"r": 264}, r"^OFASpec r must be .*not 264$"),
        ({"r": 224.0}, r"^OFASpec r must be .*not 224.0$"),
        ({"w": 1.1}, r"^OFASpec w must be 1.0 or 1.2, not 1.1$"),
        ({"w": True}, r"^OFASpec w must be 1.0 or 1.2, not True$"),
        ({"w": "1.0"}, r"^OFASpec w must be 1.0 or 1.2, not '1.0'$"),
    ],
)
def test_ofa_spec_validation(overrides: dict, match: str) -> None:
    with pytest.raises(ValueError, match=match):
        _spec(**overrides)


def test_ofa_spec_accepts_the_range_and_stores_tuples() -> None:
    for r in (OFA_MIN_RESOLUTION, 224, OFA_MAX_RESOLUTION):
        assert _spec(r=r).r == r
    spec = _spec(w=1.2)
    assert isinstance(spec.ks, tuple) and spec.w == 1.2 and hash(spec) == hash(_spec(w=1.2))
    assert spec.to_dict()["d"] == [2] * 5
    assert len(OFASpec.uniform(7, 6, 4).blocks()) == 20


def test_ofa_subnet_layout() -> None:
    net = ofa_subnet(OFASpec.uniform(7, 6, 4))
    names = [layer.name for layer in net.layers]
    assert names[:3] == ["first_conv", "blocks.0.dw", "blocks.0.project"]
    assert names[-3:] == ["final_expand_layer", "feature_mix_layer", "classifier"]
    # SE in units 1, 3, 4 (supernet blocks 5-8, 13-20), with OFA's make_divisible(mid // 4, 8).
    se_blocks = sorted({int(n.split(".")[1]) for n in names if ".se." in n})
    assert se_blocks == [5, 6, 7, 8, *range(13, 21)]
    reduce = net.layer("blocks.5.se.reduce")  # mid = 24 * 6 = 144 -> 36 -> 40
    assert (reduce.in_channels, reduce.out_channels, reduce.in_height, reduce.bias) == (
        144,
        40,
        1,
        True,
    )
    assert net.shape("blocks.4.add")[1:] == (56, 56) and net.shape("blocks.20.add") == (160, 7, 7)
    mix = net.layer("feature_mix_layer")
    assert (mix.in_height, mix.bn, mix.bias) == (1, False, False)
    # Unit strides 2, 2, 2, 1, 2 after a stride-2 stem.
    assert [net.layer(f"blocks.{1 + 4 * u}.dw").stride for u in range(5)] == [2, 2, 2, 1, 2]


def test_inactive_slots_are_ignored() -> None:
    spec = _spec(d=[2, 3, 4, 2, 2])
    other = _spec(d=[2, 3, 4, 2, 2], ks=[3, 3, 7, 7] + [3] * 16, e=[3] * 14 + [6, 6] + [3] * 4)
    # slots 2, 3 (unit 0) and 14, 15 (unit 3) are beyond their units' depths
    assert ofa_subnet(spec).layers == ofa_subnet(other).layers
    assert ofa_macs(spec) == ofa_macs(other)


# mmrazor's conversions of OFA's specialized sub-nets (configs/nas/mmcls/onceforall/
# OFA_SUBNET_NOTE8_LAT31.yaml, ..._LAT22.yaml: kernel and expand ratio per slot, depths) at the
# image sizes of OFA's run.config (152, 140); OFA's README lists them at 101M MACs / 4.6M
# parameters and 67M / 4.3M.
NOTE8_LAT31 = OFASpec(
    ks=[5, 3, 3, 3, 5, 5, 3, 3, 3, 3, 5, 3, 3, 5, 7, 3, 3, 3, 5, 5],
    e=[3, 3, 3, 3, 4, 3, 3, 3, 4, 4, 4, 4, 4, 3, 4, 3, 6, 3, 3, 3],
    d=[2, 2, 3, 3, 4],
    r=152,
)
NOTE8_LAT22 = OFASpec(
    ks=[3, 3, 3, 3, 5, 5, 3, 3, 7, 3, 3, 3, 5, 3, 3, 3, 3, 7, 3, 3],
    e=[3, 3, 3, 3, 3, 3, 3, 3, 4, 3, 3, 3, 3, 4, 3, 3, 6, 6, 3, 6],
    d=[2, 2, 2, 2, 2],
    r=140,
)


@pytest.mark.parametrize(
    ("spec", "m_macs", "m_params"), [(NOTE8_LAT31, 101, 4.6), (NOTE8_LAT22, 67, 4.3)]
)
def test_ofa_specialized_subnets_match_the_readme(spec: OFASpec, m_macs: int, m_params: float):
    net = ofa_subnet(spec)
    assert round(net.macs() / 1e6) == m_macs
    assert round(net.params() / 1e6, 1) == m_params


def test_mobilenet_v3_large_and_what_it_shares_with_ofa() -> None:
    mbv3 = mobilenet_v3_large()
    assert mbv3.params() == 5_483_032  # torchvision num_params
    # Keras/TF-slim table: 217M MACs; Howard et al. print 219M (our count is 1.1% below it).
    assert mbv3.macs() == pytest.approx(217e6, rel=5e-3)
    ofa = ofa_subnet(OFASpec.uniform(7, 6, 4))
    same = [
        ("first_conv", "features.0"),
        ("blocks.0.dw", "features.1.dw"),
        ("blocks.0.project", "features.1.project"),
        ("final_expand_layer", "features.16"),
        ("feature_mix_layer", "classifier.0"),
        ("classifier", "classifier.3"),
    ]
    for ours, theirs in same:
        assert ofa.layer(ours).macs == mbv3.layer(theirs).macs, ours


SPECS = st.builds(
    OFASpec,
    ks=st.lists(st.sampled_from(OFA_KERNELS), min_size=20, max_size=20),
    e=st.lists(st.sampled_from(OFA_EXPAND_RATIOS), min_size=20, max_size=20),
    d=st.lists(st.sampled_from(OFA_DEPTHS), min_size=5, max_size=5),
    r=st.sampled_from(range(OFA_MIN_RESOLUTION, OFA_MAX_RESOLUTION + 1, 4)),
    w=st.sampled_from((1.0, 1.2)),
)


@settings(max_examples=60, deadline=None)
@given(SPECS)
def test_ofa_macs_equals_the_built_subnet(spec: OFASpec) -> None:
    assert ofa_macs(spec) == ofa_subnet(spec).macs()


def _bigger(values: tuple, i: int, choices: tuple) -> list | None:
    position = choices.index(values[i])
    if position + 1 == len(choices):
        return None
    return [*values[:i], choices[position + 1], *values[i + 1 :]]


@settings(max_examples=60, deadline=None)
@given(SPECS, st.integers(0, 19), st.integers(0, 4))
def test_ofa_macs_are_monotone_in_every_knob(spec: OFASpec, slot: int, unit: int) -> None:
    base = ofa_macs(spec)
    fields = spec.to_dict()
    bigger = []
    if (ks := _bigger(spec.ks, slot, OFA_KERNELS)) is not None:
        bigger.append({**fields, "ks": ks})
    if (e := _bigger(spec.e, slot, OFA_EXPAND_RATIOS)) is not None:
        bigger.append({**fields, "e": e})
    if (d := _bigger(spec.d, unit, OFA_DEPTHS)) is not None:
        bigger.append({**fields, "d": d})
    if spec.r < OFA_MAX_RESOLUTION:
        bigger.append({**fields, "r": spec.r + 4})
    if spec.w == 1.0:
        bigger.append({**fields, "w": 1.2})
    for knobs in bigger:
        assert ofa_macs(OFASpec(**knobs)) >= base, knobs
    if d is not None:  # one more block always costs more
        assert ofa_macs(OFASpec(**{**fields, "d": d})) > base


def test_ofa_extremes() -> None:
    # Ours, exact (OFA publishes no figure for the extreme sub-nets).
    assert ofa_macs(OFASpec.uniform(7, 6, 4)) == 566_170_656
    assert ofa_macs(OFASpec.uniform(3, 3, 2, r=128)) == 41_476_224
    rng = random.Random(0)
    for _ in range(200):
        spec = sample_ofa_spec(rng, w=rng.choice((1.0, 1.2)))
        low = OFASpec.uniform(3, 3, 2, r=spec.r, w=spec.w)
        high = OFASpec.uniform(7, 6, 4, r=spec.r, w=spec.w)
        assert ofa_macs(low) <= ofa_macs(spec) <= ofa_macs(high)


def test_sample_ofa_spec_draws_from_the_training_range() -> None:
    rng = random.Random(1)
    specs = [sample_ofa_spec(rng, w=1.2) for _ in range(300)]
    assert min(s.r for s in specs) >= 160 and max(s.r for s in specs) <= 224
    assert {k for s in specs for k in s.ks} == set(OFA_KERNELS)
    with pytest.raises(ValueError, match="OFASpec w"):
        sample_ofa_spec(rng, w=0.75)
