"""SuperTickets on the HR-NAS supernet: the released widths mapped onto the supernet's blocks,
slimmed channels that chain, per-layer densities against a sampled global magnitude pruning,
the sparsity ramp, option and model validation, and what each kind of hardware gains."""

from __future__ import annotations

import math
from pathlib import Path

import numpy as np
import pytest
from cli_helpers import assert_one_line_error, run_cli

from prunesim.models import MODELS
from prunesim.models.cnn import CNNConfig, Conv2d, Dense
from prunesim.models.hrnas import HRNAS_SUPERNET, hrnas_branches
from prunesim.sim.api import make_workload, simulate
from prunesim.sim.methods import METHODS
from prunesim.sim.methods import supertickets as st
from prunesim.sim.workload import Infer, Train

SUPERNET = MODELS["hrnas-supernet"]
METHOD = METHODS["supertickets"]


def _options(**overrides) -> st.SuperTicketsOptions:
    return METHOD.with_options(overrides)


def _node_channels(network: CNNConfig) -> dict[str, int]:
    """Output channels of every node: a layer's own, a join's main (first) operand's."""
    channels: dict[str, int] = {}
    for layer in network.layers:
        channels[layer.name] = (
            layer.out_channels if isinstance(layer, Conv2d) else layer.out_features
        )
    pending = list(network.joins)
    while pending:
        join = pending.pop(0)
        if join.inputs[0] in channels:
            channels[join.name] = channels[join.inputs[0]]
        else:
            pending.append(join)
    return channels


def _assert_channels_chain(network: CNNConfig) -> None:
    """Every layer reads as many channels as its producer writes; every join's operands agree
    (the fusion's upsampled ones included)."""
    channels = _node_channels(network)
    channels["image"] = 3
    previous = "image"
    for layer in network.layers:
        source = layer.input_from or previous
        wanted = layer.in_channels if isinstance(layer, Conv2d) else layer.in_features
        assert wanted == channels[source], (layer.name, source)
        previous = layer.name
    for join in network.joins:
        assert {channels[i] for i in join.inputs} == {channels[join.name]}, join.name


# ---------------------------------------------------------------------------------------------
# The released widths and slimming


def test_released_rows_are_the_supernets_blocks() -> None:
    """checkpoint.json's 67 rows map onto the supernet's blocks in construction order: each
    row's output channels and stride are its block's, and no width exceeds the supernet's."""
    full = hrnas_branches()
    blocks = list(dict.fromkeys(branch.rsplit(".", 1)[0] for branch in full))
    assert [row[0] for row in st.RELEASED] == blocks
    layers = {layer.name: layer for layer in HRNAS_SUPERNET.layers}
    for block, out, stride, widths in st.RELEASED:
        project, dw = layers[f"{block}.k3.project"], layers[f"{block}.k3.dw"]
        assert (project.out_channels, dw.stride) == (out, stride), block
        for k, width in zip(st.KERNELS, widths, strict=True):
            assert 0 <= width <= full[f"{block}.k{k}"]


def test_released_network_figures() -> None:
    """The figures the module docstring states: 157 of 201 branches, 6,662 of 47,952 hidden
    channels, 0.259 GMACs, 3.89M parameters."""
    network = st.slim_network(st.SuperTicketsOptions())
    branches = hrnas_branches(network)
    assert len(branches) == 157
    assert sum(branches.values()) == 6662
    assert sum(hrnas_branches().values()) == 47952
    assert network.macs() == 259_232_935
    assert round(network.params() / 1e4) == 389
    assert branches == {b: w for b, w in st.released_hidden().items() if w}


@pytest.mark.parametrize(
    "overrides",
    [
        {},
        {"channel_keep": 0.5},
        {"channel_keep": 0.13, "drop_kernels": "7"},
        {"drop_kernels": "3,5"},
        {"channel_keep": 1.0, "hidden": "stage2.b0.block1.k5=12,head.down2.k7=0"},
    ],
)
def test_slimmed_channels_chain(overrides: dict) -> None:
    options = _options(**overrides)
    workload = st.build(SUPERNET, Infer(1), options)
    network = st.slim_network(options)
    _assert_channels_chain(network)
    assert workload.layer_names == [layer.name for layer in network.layers]
    hidden = st.slimmed_hidden(options)
    expands = {
        name.removesuffix(".expand"): channels
        for name, channels in zip(workload.layer_names, workload.schedule["channels"], strict=True)
        if name.endswith(".expand")
    }
    assert expands == {b: w for b, w in hidden.items() if w}


def test_uniform_keep_rounds_every_branch() -> None:
    hidden = st.slimmed_hidden(_options(channel_keep=0.3))
    full = hrnas_branches()
    assert hidden == {b: max(1, round(w * 0.3)) for b, w in full.items()}
    assert hidden["stage2.b0.block0.k3"] == round(72 * 0.3) == 22


def test_dropping_kernel_7_removes_exactly_its_macs() -> None:
    for keep in (1.0, None):
        kept = st.slim_network(_options(channel_keep=keep))
        dropped = st.slim_network(_options(channel_keep=keep, drop_kernels="7"))
        k7 = [layer for layer in kept.layers if ".k7." in layer.name]
        assert k7
        assert dropped.macs() == kept.macs() - sum(layer.macs for layer in k7)
        assert not any(".k7." in layer.name for layer in dropped.layers)
        assert {layer.name for layer in dropped.layers} == {layer.name for layer in kept.layers} - {
            layer.name for layer in k7
        }
    assert st.slim_network(_options(channel_keep=1.0)).macs() == HRNAS_SUPERNET.macs()


def test_explicit_hidden_overrides_keep_and_drop() -> None:
    options = _options(
        channel_keep=0.5, drop_kernels="7", hidden="stage2.b0.block1.k7=40, stage3.b2.block0.k3=0"
    )
    hidden = st.slimmed_hidden(options)
    assert hidden["stage2.b0.block1.k7"] == 40
    assert hidden["stage3.b2.block0.k3"] == 0
    assert hidden["stage3.b2.block0.k5"] == 144
    network = st.slim_network(options)
    assert network.layer("stage2.b0.block1.k7.expand").out_channels == 40
    assert not any(layer.name.startswith("stage3.b2.block0.k3.") for layer in network.layers)


@pytest.mark.parametrize(
    "text, match",
    [
        ("stage9.b0.block0.k3=1", r"hidden names unknown branch 'stage9.b0.block0.k3'"),
        ("stage2.b0.block1.k4=1", r"unknown branch 'stage2.b0.block1.k4'"),
        ("stage2.b0.block1.k5=73", r"hidden\['stage2.b0.block1.k5'\] must be in 0..72"),
        ("stage2.b0.block1.k5=-1", r"must be in 0..72 .*not -1"),
        ("stage2.b0.block1.k5=1.5", r"option hidden stage2.b0.block1.k5 must be an integer"),
        ("stage2.b0.block1.k5", r"option hidden must be NAME=VALUE pairs .*'stage2.b0.block1.k5'"),
        ("stage2.b0.block1.k5=1,stage2.b0.block1.k5=2", "twice"),
    ],
)
def test_bad_hidden_is_refused(text: str, match: str) -> None:
    with pytest.raises(ValueError, match=match) as info:
        _options(hidden=text)
    assert "\n" not in str(info.value)


@pytest.mark.parametrize(
    "overrides, match",
    [
        ({"channel_keep": 0.0}, r"channel_keep must be in \(0, 1\] or None, not 0.0"),
        ({"channel_keep": 1.5}, "channel_keep"),
        ({"drop_kernels": "4"}, r"drop_kernels names kernel '4'"),
        ({"drop_kernels": "3,5,7"}, "removes every kernel"),
        ({"sparsity": 1.0}, r"sparsity must be in \[0, 0.99\], not 1.0"),
        ({"sparsity": -0.1}, "sparsity"),
        ({"sparsity_scope": "layer"}, "sparsity_scope must be one of global, local, not 'layer'"),
        ({"weight_init": "xavier"}, "weight_init must be one of mnas, kaiming-fan-in"),
        ({"schedule_epoch": -1}, "schedule_epoch"),
        ({"prune_interval": 0}, "prune_interval must be a positive integer, not 0"),
    ],
)
def test_bad_options_are_refused(overrides: dict, match: str) -> None:
    with pytest.raises(ValueError, match=match) as info:
        _options(**overrides)
    assert "\n" not in str(info.value)


def test_cli_parses_hidden_and_refuses_bad_values(tmp_path: Path) -> None:
    args = ("simulate", "--model", "hrnas-supernet", "--method", "supertickets", "--hw")
    ok = run_cli(
        *args,
        "systolic-32",
        "--set",
        "hidden=stage2.b0.block1.k5=12,stage2.b0.block1.k3=0",
        cwd=tmp_path,
    )
    assert ok.returncode == 0, ok.stderr
    bad = run_cli(*args, "systolic-32", "--set", "hidden=stage2.b0.block1.k5=999", cwd=tmp_path)
    assert_one_line_error(bad, r"hidden\['stage2.b0.block1.k5'\] must be in 0..72")
    bad = run_cli(*args, "systolic-32", "--set", "sparsity=0.999", cwd=tmp_path)
    assert_one_line_error(bad, "sparsity must be in")


def test_unsupported_model_is_refused(tmp_path: Path) -> None:
    result = run_cli(
        "simulate",
        "--model",
        "resnet18",
        "--method",
        "supertickets",
        "--hw",
        "systolic-32",
        cwd=tmp_path,
    )
    assert_one_line_error(result, "supertickets supports hrnas-supernet, not 'resnet18'")
    with pytest.raises(ValueError, match="supertickets supports hrnas-supernet, not 'gpt2-small'"):
        make_workload("gpt2-small", "supertickets")


# ---------------------------------------------------------------------------------------------
# Densities


@pytest.mark.parametrize("scope", st.SCOPES)
@pytest.mark.parametrize("init", st.WEIGHT_INITS)
@pytest.mark.parametrize("sparsity", [0.0, *st.PAPER_SPARSITIES, 0.99])
def test_densities_in_range_and_overall_fraction(scope: str, init: str, sparsity: float) -> None:
    options = _options(sparsity=sparsity, sparsity_scope=scope, weight_init=init)
    workload = st.build(SUPERNET, Infer(1), options)
    density = workload.schedule["density"]
    assert len(density) == len(workload.layer_names)
    assert all(0 < d <= 1 for d in density)
    assert workload.conv.weight_density.tolist() == density
    network = st.slim_network(options)
    prunable = [layer for layer in network.layers if isinstance(layer, Conv2d)]
    by_name = dict(zip(workload.layer_names, density, strict=True))
    total = sum(layer.weight_elements for layer in prunable)
    nonzero = sum(layer.weight_elements * by_name[layer.name] for layer in prunable)
    assert abs(nonzero / total - (1 - sparsity)) <= 0.005 * (1 - sparsity)
    assert nonzero / total == pytest.approx(workload.extras["prunable_density"])
    classifier = [layer.name for layer in network.layers if isinstance(layer, Dense)]
    assert classifier == ["classifier"] and by_name["classifier"] == 1.0
    if scope == "local":
        assert all(by_name[layer.name] == pytest.approx(1 - sparsity) for layer in prunable)


def test_init_scales_follow_the_code() -> None:
    """mnas: sqrt(2 / fan_out), fan_out = k^2 when groups == in_channels (depthwise, and the
    grouped residuals whose groups equal their inputs), else out_channels x k^2."""
    layers = {layer.name: layer for layer in HRNAS_SUPERNET.layers}
    dw = layers["stage2.b0.block0.k5.dw"]
    assert st.init_std(dw) == math.sqrt(2 / 25)
    assert st.init_std(dw, "kaiming-fan-in") == math.sqrt(2 / 25)
    expand = layers["stage2.b0.block0.k5.expand"]  # 18 -> 72
    assert st.init_std(expand) == math.sqrt(2 / 72)
    assert st.init_std(expand, "kaiming-fan-in") == math.sqrt(2 / 18)
    up = layers["stage2.fuse1.extend.residual"]  # 18 -> 36, groups 18
    assert (up.groups, up.in_channels) == (18, 18)
    assert st.init_std(up) == math.sqrt(2)
    down = layers["head.down2.residual"]  # 144 -> 320, groups 16
    assert st.init_std(down) == math.sqrt(2 / 320)


@pytest.mark.parametrize("init", st.WEIGHT_INITS)
@pytest.mark.parametrize("sparsity", [0.5, 0.9])
def test_global_densities_match_sampled_magnitude_pruning(init: str, sparsity: float) -> None:
    """A naive reference: draw every prunable weight from its init distribution, zero the
    int(sparsity x N) smallest magnitudes globally (SuperTickets' Pruner._global_mask), and
    count each layer's survivors. Layers expecting at least 100 survivors agree within 4.5
    binomial standard deviations (the largest of some 400 layers is under 3 with this seed)."""
    network = st.slim_network(st.SuperTicketsOptions())
    layers = [layer for layer in network.layers if isinstance(layer, Conv2d)]
    rng = np.random.default_rng(2022)
    weights = [rng.normal(0, st.init_std(layer, init), layer.weight_elements) for layer in layers]
    scores = np.abs(np.concatenate(weights))
    k = int(sparsity * scores.size)
    threshold = np.partition(scores, k - 1)[k - 1]
    density, _ = st.layer_densities(network, sparsity, "global", init)
    checked = 0
    for layer, w in zip(layers, weights, strict=True):
        n, d = layer.weight_elements, density[layer.name]
        if n * d < 100:
            continue
        sampled = float((np.abs(w) > threshold).mean())
        assert abs(sampled - d) <= 4.5 * math.sqrt(d * (1 - d) / n), layer.name
        checked += 1
    assert checked > 100
    assert float((scores > threshold).mean()) == pytest.approx(1 - sparsity, abs=1e-6)


def test_global_model_prunes_large_fans_hardest() -> None:
    network = st.slim_network(st.SuperTicketsOptions())
    density, collapsed = st.layer_densities(network, 0.9)
    assert density["stage2.b0.block0.k3.dw"] > density["stage2.b0.block0.k3.expand"]
    assert density["stage5.b3.block0.k3.project"] < density["stage5.b2.block0.k3.project"]
    assert collapsed == ["head.final"]
    assert density["head.final"] == 1 / network.layer("head.final").weight_elements


def test_ramp_follows_train_py() -> None:
    assert [st.ramp_sparsity(e, 0.9) for e in (0, 24, 25, 49, 50, 224, 225, 350)] == [
        0.0,
        0.0,
        0.1,
        0.1,
        0.2,
        0.8,
        0.9,
        0.9,
    ]
    assert st.ramp_sparsity(250, 0.98) == 0.98
    assert st.ramp_sparsity(240, 0.98) == 0.9
    assert st.ramp_sparsity(30, 0.9, interval=10) == 0.3
    early = st.build(SUPERNET, Infer(1), _options(schedule_epoch=24))
    assert set(early.schedule["density"]) == {1.0}
    mid = st.build(SUPERNET, Infer(1), _options(schedule_epoch=75))
    assert mid.extras["sparsity"] == pytest.approx(0.3)
    assert mid.extras["prunable_density"] == pytest.approx(0.7)


# ---------------------------------------------------------------------------------------------
# Stages and hardware


def test_notes_and_extras() -> None:
    workload = make_workload("hrnas-supernet", "supertickets")
    assert workload.method == "supertickets" and workload.model == "hrnas-supernet"
    assert workload.extras["supernet_macs"] == HRNAS_SUPERNET.macs() == 2_422_799_760
    assert workload.extras["slim_macs"] == workload.macs == 259_232_935
    assert workload.extras["nonzero_macs"] == pytest.approx(
        float((workload.conv.macs * workload.conv.weight_density).sum())
    )
    assert "9.35x fewer" in workload.notes[0]
    assert "0.1000 of prunable weights" in workload.notes[1]


def test_training_counts_masks_ema_and_three_passes() -> None:
    infer = st.build(SUPERNET, Infer(2), _options())
    train = st.build(SUPERNET, Train(2), _options())
    assert len(train.conv) == 3 * len(infer.conv)
    network = st.slim_network(_options())
    params = network.params()
    memory = train.memory_bytes
    assert memory["weights"] == memory["ema"] == 4 * params
    assert memory["optimizer"] == 8 * params
    masked = sum(
        layer.weight_elements + layer.bn_params
        for layer in network.layers
        if isinstance(layer, Conv2d)
    )
    assert memory["masks"] == 4 * masked
    assert infer.memory_bytes is None


def _seconds(hw: str, **options) -> float:
    return simulate("hrnas-supernet", "supertickets", hw, **options).seconds


def test_dense_gpu_gains_from_slimming_only() -> None:
    dense = simulate("hrnas-supernet", "dense", "a100").seconds
    slim = _seconds("a100", sparsity=0.0)
    assert slim < dense
    for sparsity in (0.3, 0.9, 0.98):
        assert _seconds("a100", sparsity=sparsity) == slim
        assert _seconds("systolic-32", sparsity=sparsity) == _seconds("systolic-32", sparsity=0.0)


def test_sparse_array_gains_more_than_dense_array() -> None:
    gains = {}
    for hw in ("systolic-32", "systolic-32-sparse"):
        dense = simulate("hrnas-supernet", "dense", hw).seconds
        gains[hw] = dense / _seconds(hw)
    assert gains["systolic-32-sparse"] > gains["systolic-32"] * 1.1
    assert _seconds("systolic-32-sparse", sparsity=0.98) < _seconds(
        "systolic-32-sparse", sparsity=0.3
    )


# ---------------------------------------------------------------------------------------------
# Report


def test_report_section_builds(tmp_path: Path) -> None:
    from prunesim.report import ReportContext
    from prunesim.report.supertickets import TARGETS, supertickets

    ctx = ReportContext(out=tmp_path / "out", build=tmp_path / "gen")
    text = supertickets(ctx)
    assert "![SuperTickets widths and densities](figures/supertickets.png)" in text
    assert "nothing here is set beside a published figure" in text
    for hw in TARGETS:
        assert f"| {hw} |" in text
    for sparsity in st.PAPER_SPARSITIES:
        assert f"| {sparsity:g} |" in text
    assert {path.name for path in ctx.staged} == {"supertickets.png", "supertickets.json"}
