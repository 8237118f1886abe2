"""The systolic-array cost model: fold formula, sparse weights, hardware files, conv workloads."""

from __future__ import annotations

import math
from dataclasses import replace

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from prunesim.models import get_model
from prunesim.models.cnn import Conv2d, resnet_imagenet
from prunesim.sim.costs.systolic import Systolic
from prunesim.sim.engine import evaluate
from prunesim.sim.hardware import HardwareError, load_hardware
from prunesim.sim.methods.network import conv_columns, network_workload
from prunesim.sim.systolic import (
    compute_cycles,
    conv_compute_cycles,
    effective_window,
    spatial_temporal,
    weight_bytes,
)
from prunesim.sim.workload import ConvRows, Infer, Train

SYSTOLIC = ("systolic-32", "systolic-32-sparse", "tpu-v1")


# --- the fold formula -------------------------------------------------------------------------


def test_fold_formula_by_hand() -> None:
    # ResNet-18 layer1 conv (56x56, 3x3, 64 -> 64) on 32x32 ws: Sr = 576 (window), Sc = 64
    # filters, T = 3136 pixels; 18 x 2 folds of 2*32 + 32 + 3136 - 2 = 3230 cycles.
    assert conv_compute_cycles(56 * 56, 64, 9 * 64, 32, 32, "ws") == 18 * 2 * 3230 == 116_280
    # os: Sr = pixels (3136 -> 98 folds), Sc = filters (2 folds), T = window 576; no preload.
    assert compute_cycles(3136, 576, 64, 32, 32, "os") == 98 * 2 * (32 + 32 + 576 - 2)
    # is: Sr = window (18 folds), Sc = pixels (98 folds), T = filters 64.
    assert compute_cycles(3136, 576, 64, 32, 32, "is") == 18 * 98 * (64 + 32 + 64 - 2)


def test_spatial_temporal_mapping() -> None:
    assert spatial_temporal(1, 2, 3, "ws") == (2, 3, 1)
    assert spatial_temporal(1, 2, 3, "os") == (1, 3, 2)
    assert spatial_temporal(1, 2, 3, "is") == (2, 1, 3)
    with pytest.raises(ValueError, match="dataflow must be one of ws, os, is, not 'rs'"):
        spatial_temporal(1, 2, 3, "rs")


def test_partial_fold_costs_a_whole_fold() -> None:
    one = compute_cycles(100, 32, 32, 32, 32, "ws")
    assert compute_cycles(100, 33, 32, 32, 32, "ws") == 2 * (one + 0)  # 33 rows: two folds
    assert compute_cycles(100, 1, 1, 32, 32, "ws") == one  # an idle array costs the same


def test_vectorised_equals_scalar() -> None:
    pixels = np.array([1, 49, 3136, 12544])
    window = np.array([27, 576, 64, 9])
    filters = np.array([64, 128, 1, 512])
    batch = compute_cycles(pixels, window, filters, 16, 8, "os")
    triples = zip(pixels, window, filters, strict=True)
    single = [compute_cycles(p, w, f, 16, 8, "os") for p, w, f in triples]
    assert list(batch) == single


# --- sparse weights ---------------------------------------------------------------------------


def test_effective_window_bounds() -> None:
    window = np.array([576, 576, 576, 9, 1])
    density = np.array([1.0, 0.5, 0.1, 0.3, 0.01])
    eff = effective_window(window, density, 32)
    assert eff[0] == 576  # dense: the whole reduction
    assert np.all(eff >= np.ceil(window * density))  # never below the mean
    assert np.all(eff <= window) and np.all(eff >= 1)
    # density 0.5 on 576: mean 288, spread sqrt(2 ln 32) * sqrt(144) = 2.633 * 12 = 31.6
    assert eff[1] == math.ceil(288 + math.sqrt(2 * math.log(32)) * 12)
    # one column: no lockstep penalty (sqrt(2 ln 1) = 0)
    assert effective_window(np.array([576]), np.array([0.5]), 1)[0] == 288


def test_weight_bytes_formats_by_hand() -> None:
    weights, filters, density, bits = 1000, 10, 0.25, 8
    assert weight_bytes(weights, filters, density, bits, "dense") == 1000
    assert weight_bytes(weights, filters, density, bits, "bitmask") == (250 * 8 + 1000) / 8
    csr = weight_bytes(weights, filters, density, bits, "csr", index_bits=16, pointer_bits=32)
    assert csr == (250 * (8 + 16) + 11 * 32) / 8
    with pytest.raises(ValueError, match="weight format must be one of dense, bitmask, csr"):
        weight_bytes(weights, filters, density, bits, "coo")


# --- hardware files ---------------------------------------------------------------------------


@pytest.mark.parametrize("name", SYSTOLIC)
def test_presets_load(name: str) -> None:
    hw = load_hardware(name)
    assert isinstance(hw, Systolic) and hw.kind == "systolic"
    assert hw.dataflow in ("ws", "os", "is")
    for field in ("rows", "dram_channels", "dram_pj_per_bit", "mult_pj", "zero_skipping"):
        assert hw.sources.get(field), field  # every figure cites a source


def test_tpu_v1_peak_is_the_published_92_tops() -> None:
    assert load_hardware("tpu-v1").peak_ops_per_s / 1e12 == pytest.approx(91.75, abs=0.01)


def _preset_text(name: str) -> str:
    from prunesim.sim import hardware

    return (hardware.PRESET_DIR / f"{name}.yaml").read_text()


@pytest.mark.parametrize(
    ("old", "new", "message"),
    [
        ("  dataflow: ws", "  dataflow: rs", "array.dataflow: must be one of ws, os, is, not 'rs'"),
        (
            "  weight_format: dense",
            "  weight_format: coo",
            "sparse.weight_format: must be one of dense, bitmask, csr, not 'coo'",
        ),
        ("  zero_skipping: false", "  zero_skipping: 0", "sparse.zero_skipping: must be true"),
        ("  rows: 32", "  rows: 0", "array.rows: must be a positive integer, not 0"),
        ("  ofmap_kb: 64", "  ofmap_kbb: 64", "did you mean 'ofmap_kb'"),
    ],
)
def test_bad_systolic_file_names_line_and_field(tmp_path, old, new, message) -> None:
    text = _preset_text("systolic-32")
    assert old in text
    path = tmp_path / "bad.yaml"
    path.write_text(text.replace(old, new))
    line = text[: text.index(old)].count("\n") + 1
    with pytest.raises(HardwareError) as info:
        load_hardware(path)
    assert message in str(info.value)
    assert f"bad.yaml:{line}:" in str(info.value)


# --- conv workloads ---------------------------------------------------------------------------


def _resnet18(density: float = 1.0, batch: int = 1, stage=None):
    net = resnet_imagenet(18)
    dens = {layer.name: density for layer in net.layers} if density < 1 else None
    return network_workload(net, stage or Infer(batch), density=dens)


def test_conv_rows_match_the_network() -> None:
    net = resnet_imagenet(18)
    workload = _resnet18()
    assert workload.macs == net.macs() == 1_814_073_344
    assert workload.layer_names == [layer.name for layer in net.layers]
    assert int(workload.conv.weight_elements.sum()) == net.weight_elements()
    assert workload.schedule["channels"][0] == 64


def test_conv_rows_refuse_bad_values() -> None:
    columns = conv_columns(
        [Conv2d(name="c", in_channels=4, out_channels=8, kernel=3, in_height=8, in_width=8)], 1
    )
    for key, value, rule in (
        ("weight_density", 0.0, "0 < weight_density <= 1"),
        ("weight_density", 1.5, "0 < weight_density <= 1"),
        ("groups", 3, "groups divides in_channels"),
        ("kernel", 0, "kernel >= 1"),
    ):
        bad = dict(columns, **{key: np.array([value])})
        with pytest.raises(ValueError, match=f"conv row 0 breaks {rule}"):
            ConvRows(**bad)
    with pytest.raises(ValueError, match="density of c must be in \\(0, 1\\], not 0"):
        conv_columns_of_one(density={"c": 0})
    with pytest.raises(ValueError, match="density names a layer the network does not have"):
        conv_columns_of_one(density={"x": 0.5})


def conv_columns_of_one(**kwargs):
    layer = Conv2d(name="c", in_channels=4, out_channels=8, kernel=3, in_height=8, in_width=8)
    return conv_columns([layer], 1, **kwargs)


@pytest.mark.parametrize("name", SYSTOLIC)
def test_result_is_consistent(name: str) -> None:
    result = evaluate(_resnet18(0.5), load_hardware(name))
    assert result.cycles >= result.bound_cycles > 0
    assert sum(layer.cycles for layer in result.layers) == pytest.approx(result.cycles)
    assert sum(layer.dram_bytes for layer in result.layers) == pytest.approx(result.dram_bytes)
    assert sum(result.dram_bytes_by_tensor.values()) == pytest.approx(result.dram_bytes)
    assert sum(result.energy_breakdown_j.values()) == pytest.approx(result.energy_j)
    assert sum(layer.energy_j for layer in result.layers) == pytest.approx(result.energy_j)
    assert result.seconds == pytest.approx(result.cycles / (load_hardware(name).clock_ghz * 1e9))


def test_dense_hardware_gains_nothing_from_zeros() -> None:
    hw = load_hardware("systolic-32")
    dense, sparse = evaluate(_resnet18(), hw), evaluate(_resnet18(0.3), hw)
    assert sparse.cycles == dense.cycles and sparse.dram_bytes == dense.dram_bytes
    # the datapath still multiplies every zero: same compute energy
    assert sparse.energy_breakdown_j["compute"] == dense.energy_breakdown_j["compute"]


def test_sparse_hardware_gains_from_zeros() -> None:
    hw = load_hardware("systolic-32-sparse")
    dense, sparse = evaluate(_resnet18(), hw), evaluate(_resnet18(0.3), hw)
    assert dense.cycles == evaluate(_resnet18(), load_hardware("systolic-32")).cycles
    assert sparse.cycles < 0.6 * dense.cycles
    assert sparse.dram_bytes_by_tensor["weights"] < 0.5 * dense.dram_bytes_by_tensor["weights"]
    assert sparse.energy_j < dense.energy_j


@settings(max_examples=25, deadline=None)
@given(
    st.floats(min_value=0.02, max_value=1.0),
    st.floats(min_value=0.02, max_value=1.0),
    st.sampled_from(["bitmask", "csr"]),
    st.sampled_from(["ws", "os", "is"]),
)
def test_more_sparsity_never_costs_more(d1: float, d2: float, fmt: str, flow: str) -> None:
    hw = replace(load_hardware("systolic-32-sparse"), weight_format=fmt, dataflow=flow)
    net = get_model("resnet20")
    lo, hi = sorted((d1, d2))
    sparser = network_workload(net, Infer(1), density={layer.name: lo for layer in net.layers})
    denser = network_workload(net, Infer(1), density={layer.name: hi for layer in net.layers})
    a, b = evaluate(sparser, hw), evaluate(denser, hw)
    assert a.cycles <= b.cycles and a.dram_bytes <= b.dram_bytes and a.energy_j <= b.energy_j


def test_batch_amortises_weights() -> None:
    hw = load_hardware("tpu-v1")
    one, eight = evaluate(_resnet18(batch=1), hw), evaluate(_resnet18(batch=8), hw)
    assert eight.dram_bytes_by_tensor["weights"] == one.dram_bytes_by_tensor["weights"]
    assert eight.cycles < 8 * one.cycles  # the 256x256 array is idle at batch 1


def test_training_is_three_passes() -> None:
    hw = load_hardware("systolic-32")
    infer, train = _resnet18(), _resnet18(stage=Train(1))
    assert train.macs == 3 * infer.macs
    assert sorted(set(train.conv.step.tolist())) == [0, 1, 2]
    result = evaluate(train, hw)
    assert result.cycles > 2.9 * evaluate(infer, hw).cycles


# --- the other targets ------------------------------------------------------------------------


def test_gpus_run_convs_and_ignore_zeros() -> None:
    a100 = load_hardware("a100")
    dense, sparse = evaluate(_resnet18(), a100), evaluate(_resnet18(0.1), a100)
    assert sparse.seconds == dense.seconds
    # 21 conv kernels + 2 elementwise after each of the 20 batch-normed convs, 7 us each, at least
    assert dense.seconds >= (21 + 40) * 7e-6
    assert dense.seconds >= 2 * 1_814_073_344 / 19.5e12


@pytest.mark.parametrize("name", ["spatten", "a3"])
def test_attention_accelerators_refuse_convs(name: str) -> None:
    with pytest.raises(ValueError, match="this workload has 21 convolutions"):
        evaluate(_resnet18(), load_hardware(name))
