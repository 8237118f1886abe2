"""FedTiny: ERK and uniform layer densities against hand-computed values, what the densities buy
on hardware with and without sparse support, a federated client's traffic and training memory,
option and model validation, and the report section."""

from __future__ import annotations

import math

import pytest
from cli_helpers import assert_one_line_error, run_cli
from hypothesis import given, settings
from hypothesis import strategies as st

from prunesim.models import MODELS
from prunesim.sim.engine import evaluate
from prunesim.sim.hardware import load_hardware
from prunesim.sim.methods import METHODS, fedtiny
from prunesim.sim.methods.fedtiny import FedTinyOptions
from prunesim.sim.methods.network import dense_network_workload, saved_activation_elements
from prunesim.sim.workload import Infer, Train

R18 = MODELS["resnet18"]
R20 = MODELS["resnet20"]
R56 = MODELS["resnet56"]


# ---------------------------------------------------------------------------------------------
# Layer densities


@pytest.mark.parametrize("model", fedtiny.SUPPORTED)
@pytest.mark.parametrize("distribution", fedtiny.DISTRIBUTIONS)
def test_every_density_in_zero_one(model, distribution) -> None:
    net = MODELS[model]
    d = fedtiny.layer_densities(net, FedTinyOptions(distribution=distribution))
    assert list(d) == [layer.name for layer in net.layers]
    assert all(0 < v <= 1 for v in d.values())
    w = fedtiny.build(net, Infer(1), FedTinyOptions(distribution=distribution))
    assert w.schedule["density"] == [d[layer.name] for layer in net.layers]
    assert list(w.conv.weight_density) == w.schedule["density"]


def test_erk_total_equals_the_budget_of_the_prunable_weights() -> None:
    """budget=prunable: the non-zeros are density x prunable weights, less at most one per layer
    (each layer keeps floor(n d_l))."""
    for net in (R18, R20, R56):
        options = FedTinyOptions(budget="prunable")
        nonzero = fedtiny.nonzero_weights(net, fedtiny.layer_densities(net, options))
        prunable = net.weight_elements()
        target = 0.1 * prunable
        assert target - len(net.layers) <= sum(nonzero.values()) <= target


def test_erk_total_of_the_library_counts_every_parameter() -> None:
    """budget=all (the library): non-zero weights plus the dense BN and bias parameters are
    int(0.1 x params), within one per layer."""
    for net in (R18, R56):
        nonzero = fedtiny.nonzero_weights(net, fedtiny.layer_densities(net, FedTinyOptions()))
        dense = net.params() - net.weight_elements()
        target = int(0.1 * net.params())
        assert target - len(net.layers) <= sum(nonzero.values()) + dense <= target
    # ResNet-18 by hand: 11,689,512 params, 10,600 of them BN (9,600) and the fc bias (1,000)
    assert R18.params() - R18.weight_elements() == 10_600
    mean = fedtiny.sparse_density(R18, FedTinyOptions())
    assert mean == pytest.approx((1_168_951 - 10_600) / 11_678_912, rel=1e-12)


def test_erk_gives_small_layers_more_density_by_hand() -> None:
    """layer1.0.conv1 (64x64x3x3) against layer4.0.conv2 (512x512x3x3): ERK densities in the
    ratio (64+64+3+3)/(64*64*9) : (512+512+3+3)/(512*512*9) = 8.326:1, apart from rounding."""
    d = fedtiny.layer_densities(R18, FedTinyOptions())
    small, big = d["layer1.0.conv1"], d["layer4.0.conv2"]
    expected = (134 / 36_864) / (1_030 / 2_359_296)
    assert small / big == pytest.approx(expected, rel=2e-3)
    assert small > 0.1 > big
    # the 1x1 downsamples are made dense (their ERK density would exceed 1)
    assert d["layer2.0.downsample"] == d["layer3.0.downsample"] == 1.0


def test_erk_densities_by_hand_small_case() -> None:
    """Two layers: (2,2) has ratio 4/4 = 1, (8,8) ratio 16/64 = 1/4; at mean density 0.5 over
    68 weights (34 non-zeros): eps (4 + 16) = 34 -> eps = 1.7, density 1.7 > 1 for the small one,
    which is made dense; the big one gets (34 - 4) / 64."""
    d = fedtiny.erk_densities({"a": (2, 2), "b": (8, 8)}, 0.5)
    assert d == {"a": 1.0, "b": pytest.approx(30 / 64)}
    d = fedtiny.erk_densities({"a": (2, 2), "b": (8, 8)}, 0.2)  # eps = 13.6 / 20 = 0.68
    assert d == {"a": pytest.approx(0.68), "b": pytest.approx(0.17)}


def test_uniform_gives_the_same_density_everywhere() -> None:
    options = FedTinyOptions(distribution="uniform")
    mean = fedtiny.sparse_density(R18, options)
    for layer in R18.layers:
        n = layer.weight_elements
        d = fedtiny.layer_densities(R18, options)[layer.name]
        assert d == max(1, int(n * mean)) / n
        assert abs(d - mean) < 1 / n
    prunable = fedtiny.layer_densities(
        R20, FedTinyOptions(distribution="uniform", budget="prunable")
    )
    assert {round(v, 2) for v in prunable.values()} == {0.1}


def test_dense_layers_first_last_stay_dense() -> None:
    options = FedTinyOptions(dense_layers="first, last")
    assert fedtiny.dense_layer_names(R56, options.dense_layers) == ("conv1", "fc")
    d = fedtiny.layer_densities(R56, options)
    assert d["conv1"] == d["fc"] == 1.0
    nonzero = fedtiny.nonzero_weights(R56, d)
    target = int(0.1 * R56.params())
    dense = R56.params() - R56.weight_elements()
    total = sum(nonzero.values()) + dense
    assert target - len(R56.layers) <= total <= target


@settings(max_examples=40, deadline=None)
@given(
    density=st.floats(0.02, 1.0),
    distribution=st.sampled_from(fedtiny.DISTRIBUTIONS),
    model=st.sampled_from(fedtiny.SUPPORTED),
)
def test_densities_conserve_the_budget(density, distribution, model) -> None:
    net = MODELS[model]
    options = FedTinyOptions(density=density, distribution=distribution, budget="prunable")
    d = fedtiny.layer_densities(net, options)
    assert all(0 < v <= 1 for v in d.values())
    nonzero = sum(fedtiny.nonzero_weights(net, d).values())
    target = density * net.weight_elements()
    assert nonzero <= target + 1e-6 * target
    # floor loses less than one per layer; the at-least-one rule adds at most one per layer
    assert nonzero >= target - len(net.layers)


# ---------------------------------------------------------------------------------------------
# What the densities buy


@pytest.mark.parametrize("hw", ["systolic-32", "tpu-v1", "a100", "jetson-nano"])
@pytest.mark.parametrize("model", ["resnet18", "resnet20"])
def test_no_sparse_support_costs_exactly_dense(hw, model) -> None:
    net = MODELS[model]
    target = load_hardware(hw)
    ours = evaluate(fedtiny.build(net, Infer(4), FedTinyOptions()), target)
    dense = evaluate(dense_network_workload(net, Infer(4)), target)
    assert ours.seconds == dense.seconds
    assert ours.dram_bytes == dense.dram_bytes
    assert ours.energy_j == dense.energy_j
    assert ours.macs == dense.macs


@pytest.mark.parametrize("distribution", fedtiny.DISTRIBUTIONS)
def test_sparse_systolic_runs_fewer_cycles_and_less_dram(distribution) -> None:
    target = load_hardware("systolic-32-sparse")
    for net in (R18, R56):
        w = fedtiny.build(net, Infer(1), FedTinyOptions(distribution=distribution))
        ours = evaluate(w, target)
        dense = evaluate(dense_network_workload(net, Infer(1)), target)
        assert ours.cycles < dense.cycles
        assert ours.dram_bytes < dense.dram_bytes
        assert ours.dram_bytes_by_tensor["weights"] < 0.5 * dense.dram_bytes_by_tensor["weights"]
        assert ours.energy_j < dense.energy_j


def test_density_one_is_dense_everywhere() -> None:
    w = fedtiny.build(R20, Infer(2), FedTinyOptions(density=1.0))
    assert set(w.schedule["density"]) == {1.0}
    assert w.extras["upload_bytes_per_round"] == w.extras["dense_upload_bytes_per_round"]
    target = load_hardware("systolic-32-sparse")
    assert (
        evaluate(w, target).cycles == evaluate(dense_network_workload(R20, Infer(2)), target).cycles
    )


def test_nonzero_mac_fraction_by_hand() -> None:
    w = fedtiny.build(R18, Infer(1), FedTinyOptions())
    d = fedtiny.layer_densities(R18, FedTinyOptions())
    by_hand = sum(layer.macs * d[layer.name] for layer in R18.layers) / 1_814_073_344
    assert w.extras["nonzero_mac_fraction"] == pytest.approx(by_hand, rel=1e-12)
    assert 0.2 < by_hand < 0.35  # ERK: the MAC-heavy early layers stay denser
    u = fedtiny.build(R18, Infer(1), FedTinyOptions(distribution="uniform"))
    assert u.extras["nonzero_mac_fraction"] == pytest.approx(0.0992, abs=5e-4)


# ---------------------------------------------------------------------------------------------
# A client's round


def test_upload_bytes_of_one_layer_by_hand() -> None:
    """layer1.0.conv1 of ResNet-20 (16x16x3x3 = 2,304 weights, 16 filters) at 230 non-zeros,
    fp32 values: bitmask 230*4 + 2304/8 = 1,208 B; CSR 230*(4+2) + 17*4 = 1,448 B; mask known
    920 B; dense 9,216 B."""
    layer = R20.layer("layer1.0.conv1")
    assert (layer.weight_elements, fedtiny.weight_shape(layer)[0]) == (2_304, 16)
    kw = {"value_bits": 32, "index_bits": 16}
    assert fedtiny.transfer_bytes(2_304, 230, 16, index_format="bitmask", **kw) == 1_208
    assert fedtiny.transfer_bytes(2_304, 230, 16, index_format="csr", **kw) == 1_448
    assert fedtiny.transfer_bytes(2_304, 230, 16, index_format="none", **kw) == 920
    assert fedtiny.transfer_bytes(2_304, 2_304, 16, index_format="bitmask", **kw) == 9_216


def test_upload_bytes_of_the_model_by_hand() -> None:
    """Uniform 0.1 of the prunable weights on ResNet-20: each layer floor(0.1 n) non-zeros at 4 B
    plus n/8 B of mask; biases (fc: 10), BN weight, bias, running mean and variance (4 per
    channel: 4 x 688) at 4 B."""
    options = FedTinyOptions(distribution="uniform", budget="prunable")
    client = fedtiny.client_round(R20, options)
    dense_tensors = 10 + 4 * (R20.bn_params() // 2)
    assert dense_tensors == 2_762
    by_hand = 4 * dense_tensors + sum(
        4 * int(0.1 * layer.weight_elements) + layer.weight_elements / 8 for layer in R20.layers
    )
    assert client.upload_bytes == pytest.approx(by_hand, rel=1e-12)
    assert client.download_bytes == client.upload_bytes
    assert client.dense_bytes == 4 * (R20.params() + 2 * R20.bn_params() // 2)
    w = fedtiny.build(R20, Infer(1), options)
    assert w.extras["upload_bytes_per_round"] == client.upload_bytes
    assert w.extras["server_inbound_bytes_per_round"] == 10 * client.upload_bytes
    # the adjustment round: int(0.2 x non-zeros) per layer, fp32 value + 32-bit position
    top_k = sum(int(0.2 * int(0.1 * layer.weight_elements)) for layer in R20.layers)
    assert client.adjustment_upload_bytes == 8 * top_k


def test_train_memory_parts_sum_and_beat_dense() -> None:
    for net in (R18, R56):
        w = fedtiny.build(net, Train(8), FedTinyOptions())
        parts = w.memory_bytes
        assert set(parts) == {"weights", "gradients", "optimizer", "activations", "mask"}
        assert sum(parts.values()) == pytest.approx(w.extras["client_training_memory_bytes"])
        dense = dense_network_workload(net, Train(8))
        assert w.extras["dense_client_training_memory_bytes"] == sum(dense.memory_bytes.values())
        assert sum(parts.values()) < sum(dense.memory_bytes.values())
        # by hand: dense parameters + non-zeros, 4 B each for weights, gradients and momentum
        stored = net.params() - net.weight_elements() + w.extras["nonzero_weights"]
        assert parts["weights"] == parts["gradients"] == parts["optimizer"] == 4 * stored
        assert parts["mask"] == net.weight_elements() / 8
        assert parts["activations"] == dense.memory_bytes["activations"]
        assert parts["activations"] == 4 * saved_activation_elements(dense)
        assert w.streams["optimizer_update"] == stored * (3 * 4 + 2 * 4)
        assert w.streams["optimizer_update"] < dense.streams["optimizer_update"]
        assert w.extras["training_batch_inputs"] == 8


def test_infer_reports_training_memory_at_the_option_batch() -> None:
    w = fedtiny.build(R56, Infer(1), FedTinyOptions(batch=32))
    assert w.memory_bytes is None
    train = fedtiny.build(R56, Train(32), FedTinyOptions())
    assert w.extras["client_training_memory_bytes"] == sum(train.memory_bytes.values())
    assert w.extras["training_batch_inputs"] == 32
    steps = FedTinyOptions().local_steps
    assert w.extras["dense_client_macs_per_round"] == 3 * 32 * R56.macs() * steps


def test_round_macs_follow_the_round_batch_not_the_stage_batch() -> None:
    # A round is local_steps steps at the option's batch, whatever batch the stage prices.
    steps = FedTinyOptions().local_steps
    for batch in (1, 8, 64):
        w = fedtiny.build(R56, Train(batch), FedTinyOptions())
        assert w.extras["dense_client_macs_per_round"] == 3 * 64 * R56.macs() * steps


# ---------------------------------------------------------------------------------------------
# Bad input


@pytest.mark.parametrize(
    ("overrides", "message"),
    [
        ({"density": 0.0}, "density must be in \\(0, 1\\], not 0.0"),
        ({"density": 1.5}, "density must be in \\(0, 1\\], not 1.5"),
        ({"distribution": "er"}, "distribution must be one of erk, uniform, not 'er'"),
        ({"budget": "half"}, "budget must be one of all, prunable"),
        ({"index_format": "zip"}, "index_format must be one of bitmask, csr, none"),
        ({"optimizer": "lion"}, "optimizer must be one of sgd, adamw"),
        ({"batch": 0}, "batch must be an integer >= 1, not 0"),
        ({"value_bits": 0}, "value_bits must be an integer 1..64, not 0"),
        ({"w_bits": 64}, "w_bits must be an integer 1..32, not 64"),
        ({"adjust_alpha": 2.0}, "adjust_alpha must be in \\[0, 1\\], not 2.0"),
    ],
)
def test_bad_options_refused_in_one_line(overrides, message) -> None:
    with pytest.raises(ValueError, match=message) as info:
        METHODS["fedtiny"].with_options(overrides)
    assert "\n" not in str(info.value)


def test_bad_network_options_refused_in_one_line() -> None:
    with pytest.raises(ValueError, match="dense_layers names 'nosuch', not a weight layer"):
        fedtiny.build(R56, Infer(1), FedTinyOptions(dense_layers="first,nosuch"))
    with pytest.raises(ValueError, match="density 0.001 leaves no weights"):
        fedtiny.build(R56, Infer(1), FedTinyOptions(density=0.001))
    with pytest.raises(ValueError, match="fedtiny supports resnet18, resnet20, resnet56"):
        fedtiny.build(MODELS["ofa-mbv3-w1.0"], Infer(1), FedTinyOptions())


def test_unsupported_model_via_cli(tmp_path) -> None:
    result = run_cli("simulate", "--model", "gpt2-small", "--method", "fedtiny", cwd=tmp_path)
    assert_one_line_error(result, "fedtiny supports resnet18, resnet20, resnet56, not 'gpt2-small'")


def test_bad_option_via_cli(tmp_path) -> None:
    result = run_cli(
        "simulate", "--model", "resnet20", "--method", "fedtiny", "--set", "density=2", cwd=tmp_path
    )
    assert_one_line_error(result, "density must be in \\(0, 1\\], not 2.0")


def test_cli_simulate_shows_the_round(tmp_path) -> None:
    result = run_cli(
        "simulate", "--model", "resnet20", "--method", "fedtiny", "--hw", "systolic-32-sparse",
        "--json", cwd=tmp_path,
    )  # fmt: skip
    assert result.returncode == 0, result.stderr
    import json

    out = json.loads(result.stdout)
    assert out["extras"]["upload_bytes_per_round"] < out["extras"]["dense_upload_bytes_per_round"]
    # (int(0.1 x 269,722) - 1,386 dense parameters) / 268,336 weights, less the floor per layer
    by_hand = (26_972 - 1_386) / 268_336
    assert math.isclose(out["extras"]["weight_density"], by_hand, abs_tol=20 / 268_336)


# ---------------------------------------------------------------------------------------------
# Report section


def test_report_section_builds(tmp_path) -> None:
    from prunesim.report import ReportContext
    from prunesim.report.fedtiny import TARGETS
    from prunesim.report.fedtiny import fedtiny as section

    ctx = ReportContext(out=tmp_path / "out", build=tmp_path / "gen")
    text = section(ctx)
    assert "![fedtiny layer densities](figures/fedtiny_density.png)" in text
    for hw in TARGETS:
        assert f"| {hw} |" in text
    assert "95.9%" in text and "94.0%" in text
    assert "not to the dense model" in text
    staged = {path.relative_to(tmp_path / "out").as_posix() for path in ctx.staged}
    assert staged == {"figures/fedtiny_density.png", "data/fedtiny.json"}
    import json

    data = json.loads(ctx.staged[tmp_path / "out" / "data" / "fedtiny.json"])
    for hw in ("systolic-32", "tpu-v1", "a100", "jetson-nano"):
        assert data["gains"][f"{hw}/erk"]["speedup"] == 1.0
    assert data["gains"]["systolic-32-sparse/erk"]["speedup"] > 1.5
    assert data["rounds"]["resnet56"]["upload_bytes"] < data["rounds"]["resnet56"]["dense_bytes"]
    # Each kind of sparse support: none buys nothing; skipping saves time, formats save bytes.
    support = data["sparse_support"]
    assert support["none"]["speedup"] == 1.0 and support["none"]["dram_cut"] == 1.0
    assert support["zero-skipping only"]["speedup"] > 1.5
    assert support["zero-skipping only"]["dram_cut"] == 1.0
    # every zero still multiplied: only a layer waiting on its weight fetch gains (0.05% here)
    assert 1.0 <= support["bitmask weights only"]["speedup"] < 1.01
    assert support["bitmask weights only"]["dram_cut"] > 1.3
    both = support["zero-skipping + bitmask"]
    assert both["speedup"] > support["zero-skipping only"]["speedup"]
    assert (
        support["CSR weights only"]["weight_bytes"]
        > support["bitmask weights only"]["weight_bytes"]
    )
