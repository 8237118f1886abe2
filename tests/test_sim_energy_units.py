"""The accelerator's optional per-operation energies of its softmax and top-k units
(``energy.softmax_pj_per_score``, ``energy.topk_pj_per_key``): what they price, by hand on a
workload of three rows; that a file without them prices exactly as before; ``price`` and
``price_many`` alike; per-layer sums; sweeps; and one-line errors for bad values."""

from __future__ import annotations

import dataclasses
import math
import re
from pathlib import Path

import pytest
from cli_helpers import assert_one_line_error, run_cli

from prunesim.sim.api import make_workload
from prunesim.sim.costs.accelerator import EXP_MACS_PER_SCORE, Accelerator
from prunesim.sim.dse import sweep
from prunesim.sim.hardware import HardwareError, field_paths, load_hardware, variant
from prunesim.sim.workload import AttentionRows, Generate, Workload

HARDWARE_DIR = Path(__file__).resolve().parents[1] / "sim" / "hardware"
#: One multiply-add of SpAtten's preset: a 12-bit multiply (8-bit point x (12/8)^2) and a 24-bit
#: add (32-bit point x 24/32), Horowitz's figures in sim/hardware/spatten.yaml.
MAC_PJ = 0.2 * (12 / 8) ** 2 + 0.1 * 24 / 32
SOFTMAX_PJ, TOPK_PJ = 0.7, 0.3
SOFTMAX = "energy.softmax_pj_per_score"
TOPK = "energy.topk_pj_per_key"
#: The breakdown's entries, in order, with both figures (without topk_pj_per_key: no
#: compute_topk).
ENTRIES = (
    "dram",
    "sram",
    "compute_qk",
    "compute_softmax",
    "compute_topk",
    "compute_pv",
    "compute_linear",
    "static",
)


def _hand() -> Workload:
    """Three attention rows over two layers: (queries, keys, values, lsb_fraction) =
    (1, 1024, 205, 0.25) in layer 0, (4, 300, 300, 0) and (2, 500, 100, 0) in layer 1.

    Scores through the softmax (``queries x keys x (1 + lsb_fraction)``): 1280 in layer 0,
    1200 + 1000 in layer 1, 3480 in all. Keys through the local-V top-k engine (one frame of
    ``keys`` per query where ``values < keys``): 1024 in layer 0, 0 + 1000 in layer 1."""
    columns = dict(
        step=[0, 0, 0],
        layer=[0, 1, 1],
        head=[0, 0, 1],
        d=[64, 64, 64],
        queries=[1, 4, 2],
        keys=[1024, 300, 500],
        values=[205, 300, 100],
        q_bits=[16, 16, 16],
        k_msb_bits=[6, 6, 6],
        k_lsb_bits=[4, 0, 0],
        v_bits=[6, 6, 6],
        lsb_fraction=[0.25, 0.0, 0.0],
        kv_reuse=[False, False, False],
    )
    return Workload("hand", "hand", Generate(1023, 1), 2, AttentionRows(**columns))


SCORES = (1280, 2200)  # per layer
TOPK_KEYS = (1024, 1000)  # per layer


FIGURES = ("softmax_pj_per_score", "topk_pj_per_key")


def _cleared(hw: Accelerator) -> Accelerator:
    """``hw`` without the two figures (the SpAtten presets give them, from our synthesis)."""
    sources = {k: v for k, v in hw.sources.items() if k not in FIGURES}
    return dataclasses.replace(hw, sources=sources, softmax_pj_per_score=None, topk_pj_per_key=None)


def _spatten() -> Accelerator:
    """The spatten preset without the two figures: the model before them."""
    return _cleared(load_hardware("spatten"))


def test_softmax_pj_per_score_replaces_the_five_macs():
    base = _spatten()
    hw = variant(base, {SOFTMAX: SOFTMAX_PJ})
    before, after = base.price(_hand()), hw.price(_hand())
    scores = sum(SCORES)
    assert before.energy_breakdown_j["compute_softmax"] == pytest.approx(
        scores * EXP_MACS_PER_SCORE * MAC_PJ * 1e-12, rel=1e-12
    )
    assert after.energy_breakdown_j["compute_softmax"] == pytest.approx(
        scores * SOFTMAX_PJ * 1e-12, rel=1e-12
    )
    assert list(after.energy_breakdown_j) == list(before.energy_breakdown_j)
    assert "compute_topk" not in after.energy_breakdown_j
    for name, value in before.energy_breakdown_j.items():
        if name != "compute_softmax":
            assert after.energy_breakdown_j[name] == value, name
    change = scores * (SOFTMAX_PJ - EXP_MACS_PER_SCORE * MAC_PJ) * 1e-12
    assert after.energy_j - before.energy_j == pytest.approx(change, rel=1e-9)
    assert (after.cycles, after.dram_bytes) == (before.cycles, before.dram_bytes)


def test_topk_pj_per_key_prices_every_key_of_each_local_v_frame():
    base = _spatten()
    hw = variant(base, {TOPK: TOPK_PJ})
    before, after = base.price(_hand()), hw.price(_hand())
    assert after.energy_breakdown_j["compute_topk"] == pytest.approx(
        sum(TOPK_KEYS) * TOPK_PJ * 1e-12, rel=1e-12
    )
    assert tuple(after.energy_breakdown_j) == ENTRIES
    assert {**after.energy_breakdown_j, "compute_topk": None} == {
        **before.energy_breakdown_j,
        "compute_topk": None,
    }
    assert after.energy_j - before.energy_j == pytest.approx(
        sum(TOPK_KEYS) * TOPK_PJ * 1e-12, rel=1e-9
    )
    # the frames priced are those the engine spends cycles on: it bounds the pruned rows here
    assert after.time_by_unit == before.time_by_unit and "topk" in after.time_by_unit


def test_topk_entry_is_zero_where_no_row_prunes_values():
    """A dense run keeps every value: the engine is idle, its entry 0 (there, so that a table
    of dense and pruned runs on one target has the same columns)."""
    hw = variant(_spatten(), {TOPK: TOPK_PJ})
    dense = hw.price(make_workload("gpt2-small", "dense", stage=Generate(prompt=60, generate=2)))
    assert dense.energy_breakdown_j["compute_topk"] == 0.0
    pruned = hw.price(make_workload("gpt2-small", "spatten", stage=Generate(60, 2)))
    assert pruned.energy_breakdown_j["compute_topk"] > 0


def test_per_layer_energies_take_the_unit_energies_and_add_up():
    base = _spatten()
    hw = variant(base, {SOFTMAX: SOFTMAX_PJ, TOPK: TOPK_PJ})
    before, after = base.price(_hand()), hw.price(_hand())
    for layer, scores, keys in zip(after.layers, SCORES, TOPK_KEYS, strict=True):
        was = before.layers[layer.layer].energy_j
        change = (scores * (SOFTMAX_PJ - EXP_MACS_PER_SCORE * MAC_PJ) + keys * TOPK_PJ) * 1e-12
        assert layer.energy_j - was == pytest.approx(change, rel=1e-9), layer.layer
    workloads = [
        _hand(),
        make_workload("gpt2-small", "spatten", stage=Generate(prompt=300, generate=6)),
        make_workload("bert-base", "spatten", mode="e2e", v_pruning=True),
    ]
    for workload in workloads:
        result = hw.price(workload)
        total = math.fsum(layer.energy_j for layer in result.layers)
        assert math.isclose(total, result.energy_j, rel_tol=1e-12), workload.model
        parts = math.fsum(result.energy_breakdown_j.values())
        assert math.isclose(parts, result.energy_j, rel_tol=1e-12), workload.model


@pytest.mark.parametrize("preset", ["spatten", "spatten-eighth", "spatten-e2e"])
def test_a_file_without_the_figures_prices_as_before(preset):
    """Setting the figures and taking them away again gives the preset's own result, every
    figure and layer of it (the model without them is the multiply-add one, checked by hand
    above)."""
    preset_hw = load_hardware(preset)
    assert preset_hw.softmax_pj_per_score and preset_hw.topk_pj_per_key  # from our synthesis
    base = _cleared(preset_hw)
    hw = variant(base, {SOFTMAX: SOFTMAX_PJ, TOPK: TOPK_PJ})
    cleared = dataclasses.replace(_cleared(hw), name=base.name, sources=base.sources)
    assert cleared == base
    workload = make_workload("gpt2-small", "spatten", stage=Generate(prompt=300, generate=6))
    assert hw.price(workload).to_dict() != base.price(workload).to_dict()
    assert preset_hw.price(workload).to_dict() != base.price(workload).to_dict()
    assert cleared.price(workload).to_dict() == base.price(workload).to_dict()


def test_price_many_equals_price_with_and_without_the_figures():
    bases = [_spatten(), load_hardware("spatten-eighth")]
    targets = [
        *bases,
        variant(bases[0], {SOFTMAX: SOFTMAX_PJ}),
        variant(bases[0], {TOPK: TOPK_PJ}),
        variant(bases[1], {SOFTMAX: 2.5, TOPK: 0.01}),
        variant(bases[0], {SOFTMAX: SOFTMAX_PJ, TOPK: TOPK_PJ, "softmax.pipelined": False}),
        variant(bases[1], {TOPK: 4.0, "topk.comparators": 1}),
    ]
    workloads = [
        _hand(),
        make_workload("gpt2-small", "spatten", stage=Generate(prompt=300, generate=6)),
        make_workload("bert-base", "spatten", mode="e2e", v_pruning=True),
    ]
    for workload in workloads:
        costs = Accelerator.price_many(workload, targets)
        energies = set()
        for target, cost in zip(targets, costs, strict=True):
            result = target.price(workload)
            assert cost.energy_j == result.energy_j, (workload.model, target.name)
            assert cost.cycles == result.cycles, (workload.model, target.name)
            assert cost.time_by_unit == result.time_by_unit, (workload.model, target.name)
            energies.add(cost.energy_j)
        assert len(energies) == len(targets), workload.model


def test_the_figures_are_sweepable():
    paths = field_paths(_spatten())
    assert SOFTMAX in paths and TOPK in paths
    stage = Generate(prompt=60, generate=2)
    table = sweep("gpt2-small", "spatten", "spatten", stage=stage, grid={f"hw.{TOPK}": [0.5, 2.0]})
    assert list(table[f"hw.{TOPK}"]) == [0.5, 2.0]
    keys = variant(_spatten(), {TOPK: 1.0}).price(
        make_workload("gpt2-small", "spatten", stage=stage)
    )
    per_key_j = keys.energy_breakdown_j["compute_topk"]
    assert per_key_j > 0
    low, high = table["energy_j"]
    assert high - low == pytest.approx(1.5 * per_key_j, rel=1e-9)


def _with_energy(tmp_path: Path, *lines: str) -> Path:
    """spatten.yaml without its two figures, with ``lines`` added under its ``energy:`` group;
    the path written."""
    text = (HARDWARE_DIR / "spatten.yaml").read_text()
    for figure in FIGURES:  # the entry: its key line and the lines indented under it
        text, count = re.subn(rf"^  {figure}:\n(?:^    .*\n)+", "", text, flags=re.M)
        assert count == 1, figure
    head, _, tail = text.partition("energy:\n")
    path = tmp_path / "units.yaml"
    path.write_text(head + "energy:\n" + "".join(f"  {line}\n" for line in lines) + tail)
    return path


def test_a_file_gives_the_figures_with_their_sources(tmp_path):
    path = _with_energy(
        tmp_path,
        'softmax_pj_per_score: {value: 1.5, source: "our synthesis, scaled to 40 nm"}',
        "topk_pj_per_key:",
        "  value: 0.25",
        '  source: "the paper"',
    )
    hw = load_hardware(path)
    assert (hw.softmax_pj_per_score, hw.topk_pj_per_key) == (1.5, 0.25)
    assert hw.sources["softmax_pj_per_score"] == "our synthesis, scaled to 40 nm"
    assert hw.sources["topk_pj_per_key"] == "the paper"
    assert dataclasses.replace(hw, softmax_pj_per_score=None, topk_pj_per_key=None) == (
        dataclasses.replace(_spatten(), sources=hw.sources)
    )


def _line_of(path: Path, start: str) -> int:
    lines = path.read_text().splitlines()
    return next(i for i, line in enumerate(lines) if line.strip().startswith(start)) + 1


@pytest.mark.parametrize(
    ("entry", "expected"),
    [
        (
            'softmax_pj_per_score: {value: -1.0, source: "x"}',
            r"energy\.softmax_pj_per_score: must be .*-1",
        ),
        ('topk_pj_per_key: {value: lots, source: "x"}', r"energy\.topk_pj_per_key: .*lots"),
        (
            'topk_pj_per_key: {value: 2.0e+7, source: "x"}',
            r"energy\.topk_pj_per_key: must be between",
        ),
        ("softmax_pj_per_score: 1.0", r"energy\.softmax_pj_per_score: must name its source"),
    ],
)
def test_a_bad_figure_in_a_file_is_a_one_line_error(tmp_path, entry, expected):
    path = _with_energy(tmp_path, entry)
    line = _line_of(path, entry.split(":")[0])
    with pytest.raises(HardwareError, match=rf"^{path}:{line}: {expected}") as info:
        load_hardware(path)
    assert "\n" not in str(info.value)


def test_the_cli_refuses_a_bad_figure_in_one_line(tmp_path):
    path = _with_energy(tmp_path, 'topk_pj_per_key: {value: -0.5, source: "x"}')
    line = _line_of(path, "topk_pj_per_key")
    result = run_cli(
        "simulate",
        "--model",
        "gpt2-small",
        "--method",
        "dense",
        "--hw",
        path.name,
        "--json",
        cwd=tmp_path,
    )
    assert_one_line_error(
        result, rf"error: units\.yaml:{line}: energy\.topk_pj_per_key: must be .*-0\.5"
    )


@pytest.mark.parametrize(("value", "expected"), [(-1, "must be"), ("none", "none"), (0, "0")])
def test_a_bad_variant_value_names_the_field(value, expected):
    with pytest.raises(HardwareError, match=rf"^spatten: energy\.topk_pj_per_key: .*{expected}"):
        variant(_spatten(), {TOPK: value})
