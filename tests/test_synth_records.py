"""The committed synthesis records (prunesim.synth.records) and the figures derived from them.

The records are of today's RTL (their Verilog sha256 is recomputed here), hold what the tools
reported (parts that add up), and the SpAtten hardware files' synthesized unit figures are
exactly what :func:`unit_figures` derives from them."""

from __future__ import annotations

import math

import pytest

from prunesim.sim.hardware import load_hardware
from prunesim.synth.flow import verilog_sha256
from prunesim.synth.records import (
    SKY130_TO_40NM,
    Record,
    load_record,
    record_names,
    unit_figures,
)
from prunesim.synth.report import Memory, Power, SynthReport

NAMES = record_names()


def test_the_default_blocks_have_asic_records():
    assert {("topk", "asic"), ("pq", "asic"), ("sorter", "asic")} <= set(NAMES)


@pytest.mark.parametrize("block,target", NAMES)
def test_each_record_is_of_todays_verilog(block, target):
    record = load_record(block, target)
    assert record.report.block == block and record.report.target == target
    assert record.verilog_sha256 == verilog_sha256(block, record.report.params), (
        f"the {block} RTL changed since its {target} record was made: run "
        f"python -m prunesim.bench.synth_records --blocks {block} --targets {target}"
    )


@pytest.mark.parametrize("block,target", [n for n in NAMES if n[1] == "asic"])
def test_asic_records_parts_add_up(block, target):
    report = load_record(block, target).report
    assert sum(report.area_by_block.values()) == pytest.approx(report.area_um2)
    assert sum(report.power_by_block.values()) == pytest.approx(report.power.total_w, rel=1e-3)
    assert report.energy_per_frame_j > 0 and report.fmax_mhz > 0


def test_a_missing_record_is_a_one_line_error(tmp_path):
    with pytest.raises(ValueError, match=r"no synthesis record .*topk-asic\.json"):
        load_record("topk", "asic", tmp_path)


def _record(block, area, memories, energy_nj, area_by_block, power_by_block, ops, lanes=None):
    params = {"lanes": lanes} if lanes else {"d": 64}
    report = SynthReport(
        block=block,
        params=params,
        target="asic",
        clock_mhz=200.0,
        area_um2=area,
        area_by_block=area_by_block,
        memories=memories,
        power=Power(dynamic_w=sum(power_by_block.values()), leakage_w=0.0, activity="x"),
        power_by_block=power_by_block,
        energy_per_frame_j=energy_nj * 1e-9,
        tools={"yosys": "Yosys 0.23"},
    )
    bench = {"operations_per_frame": ops, "cycles": 100.0}
    return Record(report=report, verilog_sha256="0", bench=bench, command="c")


def test_unit_figures_by_hand():
    # a top-k engine of 4 lanes: 1e6 um^2 of cells and two 64 x 128-bit buffers (2 KB)
    topk = _record(
        "topk",
        1e6,
        [Memory("a", 64, 128, "macro")] * 2,
        50.0,
        {"topk": 1e6},
        {"x": 1.0},
        1000,
        lanes=4,
    )
    # a PQ datapath: 3e5 um^2, 1e5 of it the dot product, which draws a quarter of the power
    pq = _record("pq", 3e5, [], 30.0, {"dot": 1e5, "exp": 2e5}, {"dot": 0.25, "exp": 0.75}, 1536)
    figures = unit_figures(topk, pq, sram_mm2_per_kb=0.01)
    area, energy = (40 / 130) ** 2, (40 / 130) * 0.25
    assert SKY130_TO_40NM.area == pytest.approx(area)
    assert SKY130_TO_40NM.energy == pytest.approx(energy)
    assert figures.comparator_um2 == pytest.approx((1e6 * area + 2 * 0.01 * 1e6) / 8)
    assert figures.softmax_lane_um2 == pytest.approx(2e5 * area)
    assert figures.topk_pj_per_key == pytest.approx(50e3 * energy / 1000)
    assert figures.softmax_pj_per_score == pytest.approx(30e3 * 0.75 * energy / 1536)
    assert set(figures.sources) == {
        "comparator_um2",
        "softmax_lane_um2",
        "topk_pj_per_key",
        "softmax_pj_per_score",
    }
    with pytest.raises(ValueError, match="topk record must be the asic"):
        unit_figures(pq, pq, 0.01)
    with pytest.raises(ValueError, match="sram_mm2_per_kb"):
        unit_figures(topk, pq, math.nan)


SPATTEN_FILES = ("spatten", "spatten-eighth", "spatten-e2e")


@pytest.mark.parametrize("name", SPATTEN_FILES)
def test_spatten_files_take_their_units_from_the_records(name):
    hw = load_hardware(name)
    figures = unit_figures(
        load_record("topk", "asic"), load_record("pq", "asic"), hw.area_sram_mm2_per_kb
    )
    assert hw.area_comparator_um2 == pytest.approx(figures.comparator_um2, abs=0.05)
    assert hw.area_softmax_lane_um2 == pytest.approx(figures.softmax_lane_um2, abs=0.05)
    assert hw.topk_pj_per_key == pytest.approx(figures.topk_pj_per_key, abs=5e-5)
    assert hw.softmax_pj_per_score == pytest.approx(figures.softmax_pj_per_score, abs=5e-5)


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--blocks", "nope"], "bad block 'nope'"),
        (["--targets", "fpga-ice40"], "bad target 'fpga-ice40'"),
        (["--frames", "0"], "bad --frames 0"),
    ],
)
def test_the_record_maker_refuses_bad_input_in_one_line(tmp_path, capsys, args, message):
    from prunesim.bench import synth_records

    assert synth_records.main([*args, "--out", str(tmp_path), "--build-dir", str(tmp_path)]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and err.startswith("prunesim: error: ") and message in err
    assert list(tmp_path.iterdir()) == []  # nothing written, nothing run


def test_the_report_section_shows_the_records(tmp_path):
    """'RTL: area, Fmax, power': every record's Fmax, the synthesized lane beside the calibrated
    one, and the sorter comparison, each recomputed here from the records."""
    from prunesim.report import ReportContext
    from prunesim.report.rtl import synthesis

    text = synthesis(ReportContext(out=tmp_path / "out", build=tmp_path / "build"))
    for block, target in NAMES:
        assert f"| {load_record(block, target).report.fmax_mhz:.1f} |" in text
    topk, sorter = load_record("topk", "asic"), load_record("sorter", "asic")
    figures = unit_figures(topk, load_record("pq", "asic"), 0.00786)
    assert f"| comparator lane (um^2) | {figures.comparator_um2:,.0f} | 7,893" in text
    share = 64 * figures.comparator_um2 / 18.71e6
    assert f"| top-k engines' share of 18.71 mm^2 | {share:.2%} | 2.7% | 2.7% |" in text
    ratio = sorter.report.power.total_w / topk.report.power.total_w
    assert f"| {ratio:.2f}x less | 3.5x less |" in text
    cycles = sorter.bench["cycles"] / topk.bench["cycles"]
    assert f"| throughput at one clock (1 / cycles) |  |  | {cycles:.2f}x | 1.4x |" in text
