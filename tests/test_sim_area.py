"""Area and static power in the cost model: the presets against their published totals, sizes
that move latency, energy and area together, static energy, and files without the figures."""

from __future__ import annotations

import math
import re
from dataclasses import replace
from pathlib import Path

import pytest

from prunesim.sim.api import make_workload
from prunesim.sim.costs.accelerator import TOPK_ARRAYS
from prunesim.sim.engine import evaluate
from prunesim.sim.hardware import HardwareError, load_hardware

HARDWARE_DIR = Path(__file__).resolve().parents[1] / "sim" / "hardware"

#: Published totals (mm^2) and how close the calibrated presets must come (the figures in the
#: files are rounded to 3-5 digits).
PUBLISHED_AREA = {
    "spatten": (18.71, 0.01),  # SpAtten HPCA 2021, TSMC 40 nm
    "spatten-e2e": (18.71, 0.01),  # the same design running whole models
    "spatten-eighth": (1.55, 0.01),  # SpAtten-1/8, HPCA 2021
    "tpu-v1": (331.0, 0.5),  # Jouppi et al., ISCA 2017: die <= 331 mm^2
}


def _without(text: str, group: str) -> str:
    """``text`` with the top-level YAML group ``group:`` and its indented lines removed."""
    return re.sub(rf"(?m)^{group}:\n(?:(?:[ #].*)?\n)*", "", text)


@pytest.mark.parametrize("name", sorted(PUBLISHED_AREA))
def test_preset_area_matches_the_published_total(name):
    total, tolerance = PUBLISHED_AREA[name]
    hw = load_hardware(name)
    result = evaluate(make_workload("bert-base", "dense"), hw)
    assert result.area_mm2 == pytest.approx(total, abs=tolerance)


def test_spatten_topk_area_is_our_synthesized_engines():
    """The comparator figure comes from our top-k engine's ASIC record (it was calibrated on the
    paper's 2.7% of the area before): the four 16-comparator arrays are 64 of its lanes, about
    0.8% of the 18.71 mm^2, the rest of the paper's share now in the calibrated fixed part."""
    from prunesim.synth.records import load_record, unit_figures

    hw = load_hardware("spatten")
    result = evaluate(make_workload("bert-base", "spatten"), hw)
    lane = unit_figures(
        load_record("topk", "asic"), load_record("pq", "asic"), hw.area_sram_mm2_per_kb
    ).comparator_um2
    assert result.area_breakdown_mm2["topk"] == pytest.approx(64 * lane * 1e-6, rel=1e-4)
    assert result.area_mm2 == pytest.approx(18.71, abs=0.01)


@pytest.mark.parametrize("name", ["spatten", "spatten-eighth", "tpu-v1", "systolic-32"])
def test_area_breakdown_sums_to_the_area(name):
    hw = load_hardware(name)
    model = "resnet18" if hw.kind == "systolic" else "bert-base"
    result = evaluate(make_workload(model, "dense"), hw)
    assert result.area_mm2 > 0 and result.static_w > 0
    assert math.fsum(result.area_breakdown_mm2.values()) == pytest.approx(result.area_mm2)
    assert all(v > 0 for v in result.area_breakdown_mm2.values())
    assert result.energy_j == pytest.approx(math.fsum(result.energy_breakdown_j.values()))


def _no_static(hw):
    """``hw`` without static figures (its dynamic energy alone)."""
    fields = [f for f in vars(hw) if f.startswith("static_")]
    return replace(hw, **dict.fromkeys(fields))


@pytest.mark.parametrize(
    ("name", "model", "method"),
    [
        ("spatten", "bert-base", "spatten"),
        ("spatten", "gpt2-small", "spatten"),
        ("spatten-e2e", "bert-base", "dense"),
        ("tpu-v1", "resnet18", "dense"),
        ("systolic-32-sparse", "resnet18", "fedtiny"),
    ],
)
def test_static_energy_is_static_power_times_time(name, model, method):
    hw = load_hardware(name)
    workload = make_workload(model, method)
    with_static = evaluate(workload, hw)
    dynamic = evaluate(workload, _no_static(hw))
    static_j = with_static.static_w * with_static.seconds
    assert with_static.energy_breakdown_j["static"] == pytest.approx(static_j, rel=1e-12)
    assert "static" not in dynamic.energy_breakdown_j
    assert dynamic.static_w is None
    assert with_static.energy_j == pytest.approx(dynamic.energy_j + static_j, rel=1e-12)
    assert with_static.seconds == dynamic.seconds
    for a, b in zip(with_static.layers, dynamic.layers, strict=True):
        assert a.energy_j == pytest.approx(b.energy_j + with_static.static_w * a.seconds, rel=1e-9)


def _sweep(hw, workload, **fields_by_value):
    """Results of ``workload`` on ``hw`` with each field set to each of its values in turn."""
    ((field, values),) = fields_by_value.items()
    return [evaluate(workload, replace(hw, **{field: v})) for v in values]


def test_multipliers_move_latency_energy_and_area():
    """A sweep over SpAtten's multipliers: more multipliers, more area and static power, less
    time (BERT summarization is compute-bound at 128 and 256 multipliers), and a different
    energy at every size."""
    hw = load_hardware("spatten")
    workload = make_workload("bert-base", "spatten")
    sizes = [64, 128, 256, 512]
    results = [evaluate(workload, replace(hw, qk_multipliers=n, pv_multipliers=n)) for n in sizes]
    areas = [r.area_mm2 for r in results]
    statics = [r.static_w for r in results]
    seconds = [r.seconds for r in results]
    energies = [r.energy_j for r in results]
    assert all(b > a for a, b in zip(areas, areas[1:], strict=False))
    assert all(b > a for a, b in zip(statics, statics[1:], strict=False))
    assert all(b <= a for a, b in zip(seconds, seconds[1:], strict=False))
    assert seconds[0] > seconds[-1]
    assert len(set(energies)) == len(energies)
    # doubling the multipliers adds exactly their area: 2 x 256 more x the per-multiplier figure
    assert areas[-1] - areas[-2] == pytest.approx(512 * hw.area_multiplier_um2 * 1e-6)


def test_comparators_and_sram_move_area_and_static_power():
    hw = load_hardware("spatten")
    workload = make_workload("gpt2-small", "spatten")
    comparators = _sweep(hw, workload, topk_comparators=[4, 16, 64])
    assert [r.area_breakdown_mm2["topk"] for r in comparators] == pytest.approx(
        [TOPK_ARRAYS * n * hw.area_comparator_um2 * 1e-6 for n in (4, 16, 64)]
    )
    assert comparators[0].static_w < comparators[1].static_w < comparators[2].static_w
    assert comparators[0].seconds != comparators[2].seconds  # local-V top-k cycles move too
    sram = _sweep(hw, workload, k_sram_kb=[98.0, 196.0, 392.0])
    assert [r.area_breakdown_mm2["sram"] for r in sram] == pytest.approx(
        [(k + hw.v_sram_kb) * hw.area_sram_mm2_per_kb for k in (98.0, 196.0, 392.0)]
    )
    assert sram[0].static_w < sram[1].static_w < sram[2].static_w
    assert sram[0].energy_j != sram[2].energy_j


def test_systolic_array_size_moves_latency_energy_and_area():
    hw = load_hardware("systolic-32")
    workload = make_workload("resnet18", "dense")
    results = [evaluate(workload, replace(hw, rows=n, columns=n)) for n in (16, 32, 64)]
    assert results[0].area_mm2 < results[1].area_mm2 < results[2].area_mm2
    assert results[0].seconds > results[1].seconds > results[2].seconds
    assert len({r.energy_j for r in results}) == 3


@pytest.mark.parametrize("name", ["spatten", "tpu-v1"])
def test_a_file_without_area_and_static_loads_and_prices_as_before(tmp_path, name):
    text = (HARDWARE_DIR / f"{name}.yaml").read_text()
    path = tmp_path / f"{name}-old.yaml"
    path.write_text(_without(_without(text, "area"), "static"))
    old = load_hardware(path)
    hw = load_hardware(name)
    assert all(getattr(old, f) is None for f in vars(old) if f.startswith(("area_", "static_")))
    model = "resnet18" if hw.kind == "systolic" else "bert-base"
    workload = make_workload(model, "dense")
    result = evaluate(workload, old)
    assert result.area_mm2 is None and result.static_w is None
    assert result.area_breakdown_mm2 == {}
    assert "static" not in result.energy_breakdown_j
    assert result.energy_j == pytest.approx(evaluate(workload, _no_static(hw)).energy_j, rel=1e-12)


def test_area_without_static_gives_area_and_dynamic_energy(tmp_path):
    text = (HARDWARE_DIR / "spatten.yaml").read_text()
    path = tmp_path / "area-only.yaml"
    path.write_text(_without(text, "static"))
    result = evaluate(make_workload("bert-base", "spatten"), load_hardware(path))
    assert result.area_mm2 == pytest.approx(18.71, abs=0.01)
    assert result.static_w is None and "static" not in result.energy_breakdown_j


def test_a_group_must_be_whole(tmp_path):
    text = (HARDWARE_DIR / "spatten.yaml").read_text()
    path = tmp_path / "bad.yaml"
    path.write_text(re.sub(r"(?m)^  fixed_mm2:\n(?:    .*\n)+", "", text, count=1))
    with pytest.raises(HardwareError, match=r"bad\.yaml:\d+: area\.fixed_mm2: missing"):
        load_hardware(path)


def test_an_area_figure_out_of_range_names_the_field(tmp_path):
    text = (HARDWARE_DIR / "spatten.yaml").read_text()
    path = tmp_path / "bad.yaml"
    path.write_text(text.replace("value: 0.00786", "value: 5.0", 1))
    with pytest.raises(
        HardwareError, match=r"area\.sram_mm2_per_kb: must be between 1e-06 and 1, not 5.0"
    ):
        load_hardware(path)


# -- GPUs, CPUs and published accelerators: die area and idle power -----------------------------

#: Die areas (mm^2) the processor presets give, from the vendors' published figures; the other
#: processors publish none (their files say why).
DIE_AREA = {
    "a100": 826.0,  # GA100
    "h100": 814.0,  # GH100
    "h200": 814.0,  # GH100
    "titan-xp": 471.0,  # GP102
}
PROCESSORS = [
    "a100",
    "h100",
    "h200",
    "titan-xp",
    "jetson-nano",
    "jetson-agx-orin",
    "xeon-e5-2640-v4",
    "raspberry-pi-4",
]


@pytest.mark.parametrize("name", PROCESSORS)
def test_processor_area_is_its_die_from_the_file(name):
    hw = load_hardware(name)
    result = evaluate(make_workload("bert-base", "dense"), hw)
    if name in DIE_AREA:
        assert hw.area_die_mm2 == DIE_AREA[name]
        assert result.area_mm2 == DIE_AREA[name]
        assert result.area_breakdown_mm2 == {"die": DIE_AREA[name]}
        assert hw.sources["area_die_mm2"]
    else:
        assert result.area_mm2 is None and result.area_breakdown_mm2 == {}


def _no_idle(hw):
    return replace(hw, static_idle_w=None)


@pytest.mark.parametrize("name", PROCESSORS)
@pytest.mark.parametrize(
    ("model", "method"),
    [("bert-base", "spatten"), ("gpt2-small", "spatten"), ("resnet18", "dense")],
)
def test_processor_energy_is_busy_power_times_time_with_or_without_idle_power(name, model, method):
    """Idle power splits the energy into dynamic and static parts; it adds nothing."""
    hw = load_hardware(name)
    workload = make_workload(model, method)
    for idle in (None, 0.25 * hw.power_w):
        result = evaluate(workload, replace(hw, static_idle_w=idle))
        assert result.energy_j == result.seconds * hw.power_w
        assert math.fsum(result.energy_breakdown_j.values()) == pytest.approx(
            result.energy_j, rel=1e-12
        )
        assert result.static_w == idle
        reference = evaluate(workload, _no_idle(hw))
        assert [a.energy_j for a in result.layers] == [b.energy_j for b in reference.layers]
        if idle is None:
            assert result.energy_breakdown_j == {"device": result.energy_j}
        else:
            assert result.energy_breakdown_j["static"] == pytest.approx(
                idle * result.seconds, rel=1e-12
            )
            assert result.energy_breakdown_j["device"] == pytest.approx(
                (hw.power_w - idle) * result.seconds, rel=1e-12
            )


def test_raspberry_pi_idle_power_splits_its_energy():
    """The Pi 4's measured idle (2.7 W of its 6.4 W busy board power) is its static power."""
    hw = load_hardware("raspberry-pi-4")
    assert hw.static_idle_w == 2.7 and hw.sources["static_idle_w"]
    result = evaluate(make_workload("bert-base", "dense"), hw)
    assert result.static_w == 2.7
    assert result.energy_breakdown_j["static"] == pytest.approx(2.7 * result.seconds, rel=1e-12)
    assert result.energy_breakdown_j["device"] == pytest.approx(3.7 * result.seconds, rel=1e-12)
    assert result.energy_j == 6.4 * result.seconds


@pytest.mark.parametrize(("name", "area_mm2"), [("a3", 2.08), ("mnnfast", None)])
def test_published_area_and_no_static_power(name, area_mm2):
    hw = load_hardware(name)
    workload = make_workload("bert-base", "spatten")
    result = evaluate(workload, hw)
    assert result.area_mm2 == area_mm2
    assert result.area_breakdown_mm2 == ({} if area_mm2 is None else {"total": area_mm2})
    assert result.static_w is None
    # the published efficiency includes static power: energy is ops / gops_per_j alone
    assert result.energy_breakdown_j == {"device": result.energy_j}
    assert result.energy_j == pytest.approx(2 * workload.macs / (hw.gops_per_j * 1e9), rel=1e-12)


@pytest.mark.parametrize("name", ["a100", "raspberry-pi-4", "a3"])
def test_a_processor_or_published_file_without_the_groups_loads_and_prices_as_before(
    tmp_path, name
):
    text = (HARDWARE_DIR / f"{name}.yaml").read_text()
    path = tmp_path / f"{name}-old.yaml"
    path.write_text(_without(_without(text, "area"), "static"))
    old = load_hardware(path)
    hw = load_hardware(name)
    assert all(getattr(old, f) is None for f in vars(old) if f.startswith(("area_", "static_")))
    model, method = ("bert-base", "spatten") if hw.kind == "published" else ("gpt2-small", "dense")
    workload = make_workload(model, method)
    before, now = evaluate(workload, old), evaluate(workload, hw)
    assert before.area_mm2 is None and before.static_w is None
    assert before.area_breakdown_mm2 == {}
    assert before.energy_breakdown_j == {"device": before.energy_j}
    assert before.energy_j == now.energy_j and before.seconds == now.seconds
    assert [a.energy_j for a in before.layers] == [b.energy_j for b in now.layers]


def test_idle_power_must_be_below_the_busy_power(tmp_path):
    text = (HARDWARE_DIR / "raspberry-pi-4.yaml").read_text()
    path = tmp_path / "bad.yaml"
    path.write_text(text.replace("value: 2.7", "value: 6.4", 1))
    with pytest.raises(
        HardwareError, match=r"bad\.yaml:\d+: static\.idle_w: must be below power_w \(6\.4 W"
    ):
        load_hardware(path)
