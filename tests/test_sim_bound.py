"""What bounds each layer: every cost model attributes a layer's cycles to the units that set
them (``LayerResult.cycles_by_unit``, ``bound``, ``bound_share``), a run's time to its units
(``SimResult.time_by_unit``, ``bound``), and labels each layer by the roofline where bytes are
modelled (``LayerResult.roofline``).

* The attribution is exact bookkeeping: a layer's units add up to its cycles, a run's units plus
  the time in no layer (memory passes) to its cycles, for every kind of target and workload.
* It names the unit that matters: doubling the resource of a layer's bounding unit shortens the
  layer; doubling one that bounds nothing in it leaves the layer as it was (accelerator,
  systolic array), which explains SpAtten's GPT-2 generation staying at 482 us when the
  multipliers and DRAM channels double (the local-V top-k engine bounds it).
"""

from __future__ import annotations

import contextlib
import io
import json
import math
from dataclasses import replace
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from test_sim_properties import PROPERTY, TARGETS, options_of, runs, workload_or_reject

from prunesim.cli import main
from prunesim.sim.api import make_workload, simulate
from prunesim.sim.costs import accelerator, processor, published, systolic
from prunesim.sim.engine import evaluate
from prunesim.sim.hardware import load_hardware
from prunesim.sim.tables import format_result
from prunesim.sim.workload import Generate, Train, Workload

#: Relative slack of sums of floats (the attribution adds the same numbers in another order).
REL = 1e-12

#: The units of each kind (its module's ``UNITS``, in their tie-breaking order).
UNITS = {
    "accelerator": accelerator.UNITS,
    "systolic": systolic.UNITS,
    "processor": processor.UNITS,
    "published": published.UNITS,
}

#: (model, method, hardware, make_workload arguments): every kind on transformer, LVLM and CNN
#: workloads, generation and summarization, attention and end-to-end, training (memory passes).
CASES = [
    ("gpt2-small", "spatten", "spatten", {}),
    ("bert-base", "spatten", "spatten", {}),
    ("gpt2-small", "spatten", "spatten-e2e", {"mode": "e2e"}),
    ("llava-1.5-7b", "dense", "spatten", {"mode": "attention"}),
    ("gpt2-small", "spatten", "a3", {}),
    ("bert-base", "dense", "mnnfast", {}),
    ("gpt2-small", "spatten", "a100", {}),
    ("llava-onevision-7b", "aim", "a100", {}),
    ("resnet18", "dense", "xeon-e5-2640-v4", {}),
    ("resnet18", "fedtiny", "a100", {"stage": Train(2)}),
    ("resnet18", "dense", "systolic-32", {}),
    ("ofa-mbv3-w1.0", "dense", "systolic-32-sparse", {}),
    ("resnet20", "fedtiny", "systolic-32-sparse", {"stage": Train(1)}),
    ("bert-base", "spatten", "systolic-32", {"mode": "e2e"}),
]


def _ids(case: tuple[Any, ...]) -> str:
    model, method, hw, options = case
    return "-".join([model, method, hw, *(f"{k}={v}" for k, v in options.items())])


def outside_cycles(workload: Workload, hw: Any) -> dict[str, float]:
    """The time in no layer, by unit, in the target's cycles, computed here from the module
    docstrings: memory passes are DRAM traffic (and kernel launches on a processor)."""
    stream_bytes = float(sum(workload.streams.values()))
    if hw.kind == "systolic":
        return {"dram": stream_bytes / hw.dram_bytes_per_cycle}
    if hw.kind == "processor":
        cycles_per_second = hw.clock_ghz * 1e9
        bw = hw.memory_gb_per_s * 1e9
        return {
            "dram": stream_bytes / bw * cycles_per_second,
            "kernel_overhead": len(workload.streams)
            * hw.kernel_overhead_us
            * 1e-6
            * cycles_per_second,
        }
    assert not workload.streams
    return {}


def assert_units_add_up(workload: Workload, hw: Any) -> Any:
    """Every layer's units add up to its cycles and name its bound; the run's shares add up
    to 1 and equal the layers' units plus the time in no layer over the run's cycles."""
    result = evaluate(workload, hw)
    units = UNITS[hw.kind]
    totals = dict.fromkeys(units, 0.0)
    for layer in result.layers:
        attributed = layer.cycles_by_unit
        assert set(attributed) <= set(units), (layer.name, attributed)
        assert all(value > 0 for value in attributed.values()), (layer.name, attributed)
        assert math.isclose(sum(attributed.values()), layer.cycles, rel_tol=REL), layer.name
        if layer.cycles == 0:
            assert (layer.bound, layer.bound_share, attributed) == (None, None, {}), layer.name
            continue
        most = max(attributed.values())
        first = next(unit for unit in units if attributed.get(unit) == most)  # tie order
        assert layer.bound == first, (layer.name, attributed)
        assert 0 < layer.bound_share <= 1
        assert math.isclose(layer.bound_share, most / layer.cycles, rel_tol=REL), layer.name
        for unit, value in attributed.items():
            totals[unit] += value
    for unit, value in outside_cycles(workload, hw).items():
        totals[unit] += value
    assert math.isclose(sum(totals.values()), result.cycles, rel_tol=REL)
    assert math.isclose(sum(result.time_by_unit.values()), 1.0, rel_tol=0, abs_tol=1e-12)
    assert set(result.time_by_unit) == {unit for unit, value in totals.items() if value > 0}
    for unit, share in result.time_by_unit.items():
        assert math.isclose(share, totals[unit] / result.cycles, rel_tol=1e-9), unit
    assert result.bound == max(result.time_by_unit, key=result.time_by_unit.__getitem__)
    return result


@pytest.mark.parametrize("case", CASES, ids=_ids)
def test_attributed_cycles_add_up_per_layer_and_per_run(case: tuple[Any, ...]) -> None:
    model, method, hw_name, options = case
    workload = make_workload(model, method, **options)
    result = assert_units_add_up(workload, load_hardware(hw_name))
    assert result.bound is not None and result.layers
    assert any(layer.bound is not None for layer in result.layers)


def test_memory_passes_are_in_the_runs_time_only() -> None:
    """A training step's optimizer update (a memory pass, in no layer) shows in the run's
    ``dram`` and ``kernel_overhead`` shares, not in any layer's."""
    workload = make_workload("resnet18", "fedtiny", stage=Train(2))
    assert workload.streams
    hw = load_hardware("a100")
    result = evaluate(workload, hw)
    in_layers = sum(layer.cycles for layer in result.layers)
    outside = outside_cycles(workload, hw)
    assert outside["dram"] > 0 and outside["kernel_overhead"] > 0
    assert math.isclose(in_layers + sum(outside.values()), result.cycles, rel_tol=REL)
    layers_dram = sum(layer.cycles_by_unit.get("dram", 0.0) for layer in result.layers)
    assert math.isclose(
        result.time_by_unit["dram"] * result.cycles, layers_dram + outside["dram"], rel_tol=1e-9
    )


def test_an_accelerator_without_a_pipelined_softmax_has_one_score_unit() -> None:
    """``softmax_pipelined: false``: Q.K and softmax are one unit, ``qk_softmax``."""
    hw = replace(load_hardware("spatten"), softmax_pipelined=False)
    result = assert_units_add_up(make_workload("bert-base", "spatten"), hw)
    assert result.bound == "qk_softmax"
    assert not {"qk", "softmax"} & set(result.time_by_unit)
    pipelined = simulate("bert-base", "spatten", "spatten")
    assert pipelined.bound == "qk" and "qk_softmax" not in pipelined.time_by_unit


# ---------------------------------------------------------------------------------------------
# Roofline labels, by hand.


def test_roofline_label_of_a_gpu_layer_by_hand() -> None:
    """A100: a layer's intensity ``2 x MACs / DRAM bytes`` against the ridge of the precision
    it runs in: ``19.5 Tflop/s / 1555 GB/s`` (12.5 flop per byte) at fp32 (the file's dtype, for
    GPT-2 and BERT), ``312 Tflop/s / 1555 GB/s`` (201) at fp16 (LLaVA, served in half)."""
    hw = load_hardware("a100")
    assert (hw.dtype, hw.peak_tflops["fp32"], hw.memory_gb_per_s) == ("fp32", 19.5, 1555.0)
    fp32_ridge = 19.5e12 / 1555e9
    generate = simulate("gpt2-small", "dense", hw, stage=Generate(prompt=64, generate=1))
    layer = generate.layers[0]  # one query over the cache: ~0.2 flop/B
    assert 2 * layer.macs / layer.dram_bytes < 1 and layer.roofline == "memory-bound"
    summarize = simulate("bert-base", "dense", hw, mode="e2e")
    layer = summarize.layers[0]  # 128 tokens through the linear layers: ~42 flop/B
    assert 2 * layer.macs / layer.dram_bytes > fp32_ridge and layer.roofline == "compute-bound"
    lvlm = simulate("llava-onevision-7b", "aim", hw)
    assert "eager PyTorch at fp16" in lvlm.notes[-1]
    cases = [(generate, fp32_ridge), (summarize, fp32_ridge), (lvlm, 312e12 / 1555e9)]
    labels = set()
    for result, ridge in cases:
        for layer in result.layers:
            intensity = 2 * layer.macs / layer.dram_bytes
            expected = "compute-bound" if intensity >= ridge else "memory-bound"
            assert layer.roofline == expected, (result.model, layer.name, intensity, ridge)
            labels.add(layer.roofline)
    assert labels == {"compute-bound", "memory-bound"}


@pytest.mark.parametrize("hw_name", ["spatten", "systolic-32"])
def test_roofline_labels_of_accelerators_use_their_ridge(hw_name: str) -> None:
    hw = load_hardware(hw_name)
    ridge = hw.peak_ops_per_s / hw.dram_bytes_per_s
    result = simulate("gpt2-small", "dense", hw)
    for layer in result.layers:
        intensity = 2 * layer.macs / layer.dram_bytes
        assert layer.roofline == ("compute-bound" if intensity >= ridge else "memory-bound")


def test_no_roofline_label_where_bytes_are_not_modelled() -> None:
    result = simulate("gpt2-small", "spatten", "a3")
    assert result.dram_bytes is None
    assert all(layer.roofline is None for layer in result.layers)
    assert all((layer.bound, layer.bound_share) == ("compute", 1.0) for layer in result.layers)


# ---------------------------------------------------------------------------------------------
# Doubling the bounding unit's resource helps; doubling another does not.

#: Each accelerator unit and the file fields that size it.
ACCELERATOR_RESOURCES = {
    "dram": ("dram_channels",),
    "qk": ("qk_multipliers",),
    "softmax": ("softmax_lanes",),
    "qk_softmax": ("qk_multipliers", "softmax_lanes"),
    "topk": ("topk_comparators",),
    "pv": ("pv_multipliers",),
    "compute": ("qk_multipliers", "pv_multipliers"),
}


def doubled(hw: Any, fields: tuple[str, ...]) -> Any:
    return replace(hw, **{name: 2 * getattr(hw, name) for name in fields})


def test_spatten_gpt2_generation_is_bound_by_its_top_k_engine() -> None:
    """The issue's case: GPT-2 small generating on SpAtten stays at 482 us with twice the
    multipliers and DRAM channels, because the local-V top-k engine bounds 92% of its time
    (the pipeline fill the rest); twice the top-k comparators cut it to 329 us."""
    hw = load_hardware("spatten")
    base = simulate("gpt2-small", "spatten", hw)
    assert round(base.seconds * 1e6) == 482
    assert base.bound == "topk" and base.time_by_unit["topk"] > 0.9
    assert set(base.time_by_unit) == {"topk", "pipeline_fill"}
    assert all(layer.bound == "topk" for layer in base.layers)
    more = doubled(hw, ("qk_multipliers", "pv_multipliers", "dram_channels"))
    assert simulate("gpt2-small", "spatten", more).cycles == base.cycles
    faster = simulate("gpt2-small", "spatten", doubled(hw, ("topk_comparators",)))
    assert faster.cycles < 0.7 * base.cycles
    assert all(f.cycles < b.cycles for f, b in zip(faster.layers, base.layers, strict=True))


@pytest.mark.parametrize(
    "model, method, changes, bound",
    [
        ("gpt2-small", "spatten", {}, "topk"),
        ("bert-base", "spatten", {"softmax_lanes": 16, "pv_multipliers": 1024}, "qk"),
        ("bert-base", "spatten", {"softmax_lanes": 4}, "softmax"),
        ("bert-base", "spatten", {"softmax_pipelined": False}, "qk_softmax"),
        ("bert-base", "spatten", {"pv_multipliers": 256}, "pv"),
        ("gpt2-small", "dense", {}, "dram"),
        ("gpt2-small", "spatten", {"mode": "e2e"}, "dram"),
        ("bert-base", "spatten", {"mode": "e2e"}, "compute"),
    ],
)
def test_doubling_the_bounding_unit_of_an_accelerator_layer_shortens_it(
    model: str, method: str, changes: dict[str, Any], bound: str
) -> None:
    """Doubling a layer's bounding unit (the fields of :data:`ACCELERATOR_RESOURCES`) shortens
    it; doubling the fields of units that have no cycles in a layer leaves it as it was. Each
    case has every layer bound by ``bound``. (BERT on the stock SpAtten is a tie: see
    :func:`test_a_tie_is_reported_by_the_fixed_order`.)"""
    mode = changes.get("mode")
    hw = replace(load_hardware("spatten"), **{k: v for k, v in changes.items() if k != "mode"})
    workload = make_workload(model, method, mode=mode)
    base = evaluate(workload, hw)
    assert {layer.bound for layer in base.layers} == {bound}
    unchanged = 0
    for unit, fields in ACCELERATOR_RESOURCES.items():
        # The units whose cycles depend on the doubled fields.
        touched = {u for u, f in ACCELERATOR_RESOURCES.items() if set(f) & set(fields)}
        after = evaluate(workload, doubled(hw, fields))
        for before, now in zip(base.layers, after.layers, strict=True):
            if before.bound == unit:
                assert now.cycles < before.cycles, (unit, before.name, before.cycles_by_unit)
            elif not touched & set(before.cycles_by_unit):
                assert now.cycles == before.cycles, (unit, before.name, before.cycles_by_unit)
                unchanged += 1
    assert unchanged >= 3 * len(base.layers)


def test_a_tie_is_reported_by_the_fixed_order() -> None:
    """SpAtten is balanced: Q.K (512 multipliers / d 64), softmax (8 lanes) and prob.V (512 / 64)
    each take 8 keys a cycle, so BERT's summarization (no local V pruning) ties all three,
    reported as ``qk`` (first in ``UNITS``); doubling any one or two changes nothing, doubling
    the three shortens every layer."""
    hw = load_hardware("spatten")
    base = simulate("bert-base", "spatten", hw)
    assert base.bound == "qk" and all(layer.bound == "qk" for layer in base.layers)
    three = ("qk_multipliers", "softmax_lanes", "pv_multipliers")
    for fields in [*((f,) for f in three), three[:2]]:
        assert simulate("bert-base", "spatten", doubled(hw, fields)).cycles == base.cycles
    faster = simulate("bert-base", "spatten", doubled(hw, three))
    assert all(b.cycles < a.cycles for a, b in zip(base.layers, faster.layers, strict=True))


@pytest.mark.parametrize(
    "model, array_helps",
    [("resnet18", True), ("gpt2-small", True), ("resnet20", False), ("ofa-mbv3-w1.0", False)],
)
def test_doubling_the_bounding_unit_of_a_systolic_layer_shortens_it(
    model: str, array_helps: bool
) -> None:
    """``dram``: twice the channels shorten every layer it bounds and leave every layer with no
    DRAM cycles as it was. ``compute``: twice the array (rows and columns) shortens every
    layer it bounds where the products span several folds (``array_helps``); on a small or
    depthwise product a bigger array only adds fill time (SCALE-Sim's formula), so it is not
    asserted there. (A bigger array also re-fetches less where an operand does not fit its
    buffer, so it may shorten a DRAM-bound layer too: the array is not a unit that bounds
    nothing there.)"""
    hw = load_hardware("systolic-32")
    base = simulate(model, "dense", hw)
    channels = simulate(model, "dense", doubled(hw, ("dram_channels",)))
    array = simulate(model, "dense", doubled(hw, ("rows", "columns")))
    layers = zip(base.layers, channels.layers, array.layers, strict=True)
    for before, more_dram, more_array in layers:
        if before.bound == "dram":
            assert more_dram.cycles < before.cycles, before.name
        if "dram" not in before.cycles_by_unit:
            assert more_dram.cycles == before.cycles, before.name
        if array_helps and before.bound == "compute":
            assert more_array.cycles < before.cycles, before.name
    bounds = {layer.bound for layer in base.layers}
    assert "compute" in bounds and (model == "gpt2-small" or "dram" in bounds)


# ---------------------------------------------------------------------------------------------
# Output: the table and the JSON.


def test_simulate_table_shows_each_layers_bound_and_the_runs_summary() -> None:
    result = simulate("gpt2-small", "spatten", "spatten")
    text = format_result(result)
    lines = text.splitlines()
    assert "  bound by    topk 92%, pipeline_fill 8%" in lines
    header = next(line for line in lines if line.startswith("layer"))
    assert header.split()[-3:] == ["bound", "share", "roofline"]
    first = lines[lines.index(header) + 1].split()
    assert first[0] == "0" and first[-3:] == ["topk", "97%", "memory"]
    assert max(len(line) for line in lines[lines.index(header) :]) <= 120


def test_simulate_table_of_a_target_without_bytes_has_no_roofline_column() -> None:
    text = format_result(simulate("gpt2-small", "spatten", "a3"))
    header = next(line for line in text.splitlines() if line.startswith("layer"))
    assert header.split()[-2:] == ["bound", "share"]
    assert "  bound by    compute 100%" in text.splitlines()


def test_simulate_json_carries_the_bounds() -> None:
    out = io.StringIO()
    with contextlib.redirect_stdout(out):
        assert main(["simulate", "--model", "gpt2-small", "--hw", "a100", "--json"]) == 0
    data = json.loads(out.getvalue())
    assert data["bound"] == "kernel_overhead"
    assert math.isclose(sum(data["time_by_unit"].values()), 1.0, abs_tol=1e-12)
    layer = data["layers"][0]
    assert layer["bound"] == "kernel_overhead" and 0 < layer["bound_share"] <= 1
    assert layer["roofline"] == "memory-bound"
    assert math.isclose(sum(layer["cycles_by_unit"].values()), layer["cycles"], rel_tol=REL)


# ---------------------------------------------------------------------------------------------
# Property: over the whole zoo, methods, options, stages and presets.


@settings(max_examples=40, **PROPERTY)
@given(data=st.data())
def test_attributed_cycles_add_up_on_any_run(data: st.DataObject) -> None:
    run = data.draw(runs(), label="run")
    options = data.draw(options_of(run["method"]), label="options")
    workload = workload_or_reject(run, **options)
    supported = [name for name, hw in TARGETS.items() if hw.unsupported(workload) is None]
    target = data.draw(st.sampled_from(supported), label="target")
    assert_units_add_up(workload, TARGETS[target])
