"""LAPP on the ResNets: consistent channel surgery, the FLOPs budget met (ResNet-18 at the paper's
55.6%), the bypass's MACs by hand, explicit keep ratios and their refusals, costs never above
dense where the model says so, the CLI, and the report section."""

from __future__ import annotations

import pytest
from cli_helpers import assert_one_line_error, run_cli
from hypothesis import given, settings
from hypothesis import strategies as st

from prunesim.models import MODELS
from prunesim.models.cnn import Conv2d
from prunesim.sim.api import make_workload, simulate
from prunesim.sim.methods import get_method, lapp
from prunesim.sim.methods.lapp import LAPPOptions, bypass_macs, plan, prunable_groups
from prunesim.sim.workload import Infer, Train

R18, R20, R56 = MODELS["resnet18"], MODELS["resnet20"], MODELS["resnet56"]


def _out(layer) -> int:
    return layer.out_channels if isinstance(layer, Conv2d) else layer.out_features


def _in(layer) -> int:
    return layer.in_channels if isinstance(layer, Conv2d) else layer.in_features


# ---------------------------------------------------------------------------------------------
# Channel surgery


@pytest.mark.parametrize("model", [R18, R20, R56], ids=lambda m: m.name)
@pytest.mark.parametrize("prune", ["all", "internal"])
def test_channels_shrink_consistently(model, prune) -> None:
    result = plan(model, LAPPOptions(prune=prune))
    net = result.network
    # every layer reads as many channels as its producer writes
    for layer in net.layers:
        source = net.input_of(layer.name)
        assert _in(layer) == net.shape(source)[0], layer.name
    # residual-linked layers keep one width
    for group in model.width_groups():
        widths = {_out(net.layer(name)) for name in group}
        assert len(widths) == 1, group
    # widths only shrink; the classifier's outputs never change
    for layer in model.layers:
        assert 1 <= _out(net.layer(layer.name)) <= _out(layer)
    assert _out(net.layer("fc")) == _out(model.layer("fc"))
    # something was pruned, and only prunable groups
    prunable = {name for group in prunable_groups(model, prune) for name in group}
    pruned = {layer.name for layer in model.layers if _out(net.layer(layer.name)) < _out(layer)}
    assert pruned and pruned <= prunable
    assert all(0 < k <= 1 for k in result.keep.values())


def test_prunable_groups() -> None:
    groups = prunable_groups(R18, "all")
    assert len(groups) == 12 and ("fc",) not in groups
    assert groups[0] == ("conv1", "layer1.0.conv2", "layer1.1.conv2")
    internal = prunable_groups(R18, "internal")
    assert internal == tuple((f"layer{s}.{b}.conv1",) for s in (1, 2, 3, 4) for b in (0, 1))
    assert len(prunable_groups(R20, "internal")) == 9
    with pytest.raises(ValueError, match="prune must be one of all, internal, not 'x'"):
        prunable_groups(R18, "x")


def test_internal_keeps_the_residual_streams() -> None:
    net = plan(R18, LAPPOptions(prune="internal")).network
    for name in ("conv1", "layer2.0.downsample", "layer4.1.conv2"):
        assert _out(net.layer(name)) == _out(R18.layer(name))


# ---------------------------------------------------------------------------------------------
# The FLOPs budget


def test_resnet18_meets_the_paper_budget() -> None:
    result = plan(R18)
    # achieved 55.79% (uniform keep 0.6484, bypass included) against the paper's 55.6%
    assert abs(result.reduction - 0.556) <= 0.01
    assert round(result.reduction, 4) == 0.5579
    assert result.dense_macs == 1_814_073_344
    assert result.macs == result.network.macs()
    w = make_workload("resnet18", "lapp", stage=Infer(1))
    assert w.macs == result.macs
    assert w.extras["flops_reduction"] == pytest.approx(result.reduction)
    assert any("55.79%" in note for note in w.notes)
    schedule_keep = w.schedule["keep"]
    assert len(schedule_keep) == len(w.layer_names) and all(0 < k <= 1 for k in schedule_keep)


@pytest.mark.parametrize("target", [0.1, 0.3, 0.556, 0.7])
@pytest.mark.parametrize("prune", ["all", "internal"])
def test_budget_met_as_closely_as_channels_allow(target, prune) -> None:
    result = plan(R18, LAPPOptions(flops_reduction=target, prune=prune))
    assert abs(result.reduction - target) <= 0.01, result.reduction


def test_zero_reduction_is_dense() -> None:
    result = plan(R20, LAPPOptions(flops_reduction=0.0))
    assert result.network == R20 and result.macs == R20.macs() and not result.bypass


def test_unreachable_budget_is_refused() -> None:
    with pytest.raises(ValueError, match=r"flops_reduction 0.95 is out of reach for resnet18"):
        plan(R18, LAPPOptions(flops_reduction=0.95, prune="internal"))


@settings(max_examples=25, deadline=None)
@given(
    a=st.floats(0.0, 0.9),
    b=st.floats(0.0, 0.9),
    rank=st.sampled_from([0, 8]),
    prune=st.sampled_from(["all", "internal"]),
)
def test_more_reduction_never_costs_more_macs(a, b, rank, prune) -> None:
    lo, hi = sorted((a, b))
    less = plan(R20, LAPPOptions(flops_reduction=lo, bypass_rank=rank, prune=prune))
    more = plan(R20, LAPPOptions(flops_reduction=hi, bypass_rank=rank, prune=prune))
    assert more.macs <= less.macs <= R20.macs()


# ---------------------------------------------------------------------------------------------
# The bypass


def test_bypass_macs_by_hand() -> None:
    # layer1.0.conv1 of ResNet-18 cut to 32 of 64 outputs; its input (the stem stream) stays 64
    result = plan(R18, LAPPOptions(keep="layer1.0.conv1=0.5"))
    net = result.network
    conv = net.layer("layer1.0.conv1")
    assert (conv.in_channels, conv.out_channels, conv.out_height) == (64, 32, 56)
    down, up = net.layer("layer1.0.conv1.bypass.down"), net.layer("layer1.0.conv1.bypass.up")
    assert down.macs == 56 * 56 * 64 * 8 == 1_605_632
    assert up.macs == 56 * 56 * 8 * 32 == 802_816
    assert bypass_macs(conv, 8) == 2_408_448 == result.bypass_macs
    assert result.bypass == {down.name, up.name}
    # the next convolution reads the bypass's sum, 32 channels
    assert net.input_of("layer1.0.conv2") == "layer1.0.conv1.bypass.add"
    assert net.layer("layer1.0.conv2").in_channels == 32
    # the workload prices the bypass rows right after their convolution
    w = get_method("lapp").workload(R18, Infer(1), keep="layer1.0.conv1=0.5")
    i = w.layer_names.index("layer1.0.conv1")
    assert w.layer_names[i + 1 : i + 3] == [down.name, up.name]
    assert list(w.conv.macs[i + 1 : i + 3]) == [1_605_632, 802_816]
    assert w.schedule["bypass"][i : i + 3] == [0.0, 1.0, 1.0]
    assert w.extras["bypass_macs"] == 2_408_448


def test_bypass_rank_is_capped_by_the_channels() -> None:
    net = plan(R18, LAPPOptions(keep="layer1.0.conv1=0.5", bypass_rank=100)).network
    assert net.layer("layer1.0.conv1.bypass.down").out_channels == 32
    # the stem reads the 3-channel image: rank 3 at most
    net = plan(R18).network
    assert net.layer("conv1.bypass.down").out_channels == 3


def test_rank_zero_removes_the_bypass() -> None:
    with_bypass = plan(R18, LAPPOptions(keep="layer1.0.conv1=0.5"))
    without = plan(R18, LAPPOptions(keep="layer1.0.conv1=0.5", bypass_rank=0))
    assert without.bypass == frozenset() and without.bypass_macs == 0
    assert not any(".bypass." in layer.name for layer in without.network.layers)
    assert with_bypass.macs - without.macs == 2_408_448
    # at the same budget, no bypass leaves room for wider layers
    assert plan(R18, LAPPOptions(bypass_rank=0)).ratio > plan(R18).ratio


def test_bypass_only_adds_cost_at_equal_widths() -> None:
    keep = "layer1.0.conv1=0.5,layer3.1.conv1=0.25,conv1=0.75"
    for hw in ("systolic-32", "a100"):
        for batch in (1, 64):
            a = simulate("resnet18", "lapp", hw, stage=Infer(batch), keep=keep, bypass_rank=0)
            b = simulate("resnet18", "lapp", hw, stage=Infer(batch), keep=keep)
            assert b.seconds >= a.seconds and b.dram_bytes >= a.dram_bytes
            assert b.energy_j >= a.energy_j and b.macs > a.macs


# ---------------------------------------------------------------------------------------------
# Explicit keep ratios


def test_explicit_keep_by_name_and_by_list() -> None:
    named = plan(R18, LAPPOptions(keep="layer1.1.conv2=0.5,layer2.0.conv1=0.4"))
    net = named.network
    # naming one member of the stem stream sets the whole stream
    assert {_out(net.layer(n)) for n in ("conv1", "layer1.0.conv2", "layer1.1.conv2")} == {32}
    assert _out(net.layer("layer2.0.conv1")) == 51  # floor(128 x 0.4 + 1/2)
    assert _out(net.layer("layer2.1.conv1")) == 128  # unnamed: dense
    assert named.ratio is None and named.keep["conv1"] == 0.5
    ratios = ",".join(["0.5"] * 12)
    listed = plan(R18, LAPPOptions(keep=ratios, flops_reduction=0.1))  # flops_reduction unused
    assert all(k == 0.5 for k in listed.keep.values())
    assert _out(listed.network.layer("layer4.1.conv1")) == 256
    # one group named twice with one value is fine
    plan(R18, LAPPOptions(keep="conv1=0.5,layer1.0.conv2=0.5"))
    # a tiny ratio still keeps min_channels
    tiny = plan(R20, LAPPOptions(keep="layer1.0.conv1=0.01", min_channels=2)).network
    assert _out(tiny.layer("layer1.0.conv1")) == 2


@pytest.mark.parametrize(
    "keep, match",
    [
        ("layer1.0.conv1=1.5", r"^keep layer1.0.conv1 must be in \(0, 1\], not 1.5$"),
        ("layer1.0.conv1=0", r"^keep layer1.0.conv1 must be in \(0, 1\], not 0.0$"),
        ("0.5,x", r"^option keep\[1\] must be a number, not 'x'$"),
        ("0.5,nan", r"^keep\[1\] must be in \(0, 1\], not nan$"),
        ("conv1=0.5,0.4", r"all NAME=VALUE pairs or all values, not a mix: 'conv1=0.5,0.4'"),
        ("0.5,,0.4", r"^option keep must be .* with no empty item, not '0.5,,0.4'$"),
        ("=0.5", r"^option keep must be NAME=VALUE pairs of a number, not '=0.5'$"),
        ("conv1=0.5,conv1=0.4", r"^keep names 'conv1' twice$"),
        ((), r"^keep must name at least one ratio \(or be none\)$"),
    ],
)
def test_bad_keep_strings_are_refused(keep, match) -> None:
    with pytest.raises(ValueError, match=match) as info:
        LAPPOptions(keep=keep).validate()
    assert "\n" not in str(info.value)


@pytest.mark.parametrize(
    "model, keep, match",
    [
        (
            R18,
            "layer9.0.conv1=0.5",
            r"keep names 'layer9.0.conv1', not a prunable layer of resnet18",
        ),
        (R18, "fc=0.5", r"keep names 'fc', not a prunable layer"),
        (R18, "0.5,0.5", r"keep lists 2 ratios but resnet18 has 12 prunable width groups"),
        (R18, "conv1=0.5,layer1.0.conv2=0.4", r"layer1.0.conv2 \(0.4\) and conv1 \(0.5\)"),
        # option-A shortcut: stage 1's stream (16) wider than stage 2's (8)
        (R20, "layer2.0.conv2=0.25", r"layer2.0.add.*must have at most the channels"),
    ],
)
def test_keep_that_does_not_fit_the_model_is_refused(model, keep, match) -> None:
    with pytest.raises(ValueError, match=match) as info:
        plan(model, LAPPOptions(keep=keep))
    assert "\n" not in str(info.value)


def test_internal_keep_refuses_a_stream_layer() -> None:
    with pytest.raises(
        ValueError, match=r"'conv1', not a prunable layer of resnet18 \(prune=internal"
    ):
        plan(R18, LAPPOptions(keep="conv1=0.5", prune="internal"))


@pytest.mark.parametrize(
    "fields, match",
    [
        ({"flops_reduction": 1.0}, r"flops_reduction must be in \[0, 1\), not 1.0"),
        ({"flops_reduction": -0.1}, r"flops_reduction must be in \[0, 1\), not -0.1"),
        ({"flops_reduction": True}, r"flops_reduction must be a number, not True"),
        ({"bypass_rank": -1}, r"bypass_rank must be a non-negative integer .*not -1"),
        ({"prune": "outer"}, r"prune must be one of all, internal, not 'outer'"),
        ({"min_channels": 0}, r"min_channels must be a positive integer, not 0"),
    ],
)
def test_bad_options_are_refused(fields, match) -> None:
    with pytest.raises(ValueError, match=match):
        LAPPOptions(**fields).validate()


# ---------------------------------------------------------------------------------------------
# Costs against dense


@settings(max_examples=15, deadline=None)
@given(
    reduction=st.floats(0.0, 0.9),
    rank=st.integers(0, 32),
    prune=st.sampled_from(["all", "internal"]),
)
def test_never_more_macs_or_weights_than_dense(reduction, rank, prune) -> None:
    w = make_workload(
        "resnet20", "lapp", stage=Infer(1), flops_reduction=reduction, bypass_rank=rank, prune=prune
    )
    dense = make_workload("resnet20", "dense", stage=Infer(1))
    assert w.macs <= dense.macs
    assert w.conv.weight_elements.sum() <= dense.conv.weight_elements.sum()


@pytest.mark.parametrize("model", ["resnet18", "resnet20", "resnet56"])
@pytest.mark.parametrize("hw", ["systolic-32", "a100"])
@pytest.mark.parametrize("batch", [1, 64])
def test_without_bypass_never_costs_more_than_dense(model, hw, batch) -> None:
    stage = Infer(batch)
    dense = simulate(model, "dense", hw, stage=stage)
    ours = simulate(model, "lapp", hw, stage=stage, bypass_rank=0)
    assert ours.seconds <= dense.seconds
    assert ours.dram_bytes <= dense.dram_bytes
    assert ours.energy_j <= dense.energy_j
    assert ours.macs < dense.macs


def test_default_lapp_on_the_systolic_array_beats_dense() -> None:
    # ResNet-18 at batch 1 on systolic-32, the rank-8 bypass included: faster, less DRAM and
    # energy. (On an eager GPU at batch 1 the bypass's 40 extra convolutions and their
    # elementwise kernels cost more than the channels save: see the report section.)
    dense = simulate("resnet18", "dense", "systolic-32", stage=Infer(1))
    ours = simulate("resnet18", "lapp", "systolic-32", stage=Infer(1))
    assert dense.seconds / ours.seconds > 1.5
    assert ours.dram_bytes < dense.dram_bytes and ours.energy_j < dense.energy_j


def test_training_stage() -> None:
    w = make_workload("resnet20", "lapp", stage=Train(32))
    net = plan(R20).network
    assert len(w.conv.step) == 3 * len(net.layers)
    assert w.memory_bytes["weights"] == 4 * net.params()
    assert w.memory_bytes["optimizer"] == 4 * net.params()  # sgd momentum
    dense = make_workload("resnet20", "dense", stage=Train(32))
    assert w.macs < dense.macs
    assert sum(w.memory_bytes.values()) < sum(dense.memory_bytes.values())


def test_training_keeps_only_the_bypass_hidden_activations() -> None:
    # at equal widths the bypass adds batch norm's input and ReLU's output of its r channels:
    # layer1.0.conv1 of ResNet-18 at 32 channels, 56x56, r = 8, fp32, batch 4
    keep = "layer1.0.conv1=0.5"
    a = make_workload("resnet18", "lapp", stage=Train(4), keep=keep)
    b = make_workload("resnet18", "lapp", stage=Train(4), keep=keep, bypass_rank=0)
    extra = a.memory_bytes["activations"] - b.memory_bytes["activations"]
    assert extra == 4 * 4 * 2 * 8 * 56 * 56


# ---------------------------------------------------------------------------------------------
# Registry and command line


def test_registered() -> None:
    method = get_method("lapp")
    assert method.supports == lapp.SUPPORTED == ("resnet18", "resnet20", "resnet56")
    assert isinstance(method.options, LAPPOptions)
    with pytest.raises(
        ValueError, match="lapp supports resnet18, resnet20, resnet56, not 'gpt2-small'"
    ):
        method.check_model(MODELS["gpt2-small"])


def test_cli_simulate(tmp_path) -> None:
    result = run_cli(
        "simulate", "--model", "resnet18", "--method", "lapp", "--hw", "systolic-32", cwd=tmp_path
    )
    assert result.returncode == 0, result.stderr
    assert "achieved: 55.79% of the dense MACs removed" in result.stdout
    assert "layer1.0.conv1.bypass.down" in result.stdout
    result = run_cli(
        "simulate",
        "--model",
        "resnet18",
        "--method",
        "lapp",
        "--hw",
        "systolic-32",
        "--set",
        "flops_reduction=0.3",
        cwd=tmp_path,
    )
    assert result.returncode == 0, result.stderr
    assert "achieved: 30.00% of the dense MACs removed" in result.stdout


def test_cli_errors(tmp_path) -> None:
    result = run_cli(
        "simulate", "--model", "gpt2-small", "--method", "lapp", "--hw", "systolic-32", cwd=tmp_path
    )
    assert_one_line_error(result, r"lapp supports resnet18, resnet20, resnet56, not 'gpt2-small'")
    result = run_cli(
        "simulate",
        "--model",
        "resnet18",
        "--method",
        "lapp",
        "--hw",
        "a100",
        "--set",
        "keep=layer1.0.conv1=1.5",
        cwd=tmp_path,
    )
    assert_one_line_error(result, r"keep layer1.0.conv1 must be in \(0, 1\], not 1.5")
    result = run_cli(
        "simulate",
        "--model",
        "resnet18",
        "--method",
        "lapp",
        "--hw",
        "a100",
        "--set",
        "flops_reduction=0.95",
        "--set",
        "prune=internal",
        cwd=tmp_path,
    )
    assert_one_line_error(result, r"flops_reduction 0.95 is out of reach for resnet18")


# ---------------------------------------------------------------------------------------------
# Report section


def test_report_section_builds(tmp_path) -> None:
    from prunesim.report import ReportContext
    from prunesim.report.lapp import lapp as section

    ctx = ReportContext(out=tmp_path / "out", build=tmp_path / "build")
    text = section(ctx)
    assert "55.6%" in text and "55.79%" in text and "40.3%" in text
    assert "](figures/lapp.png)" in text
    assert tmp_path / "out" / "figures" / "lapp.png" in ctx.staged
    assert tmp_path / "out" / "data" / "lapp.json" in ctx.staged
    for hw in ("systolic-32", "tpu-v1", "a100", "h100", "jetson-nano", "jetson-agx-orin"):
        assert f"| {hw} " in text
