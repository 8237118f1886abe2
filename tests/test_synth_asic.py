"""The ``asic`` synthesis target (prunesim.synth.asic): Yosys + the sky130 Liberty, memories as
macros, the fanout step, OpenSTA timing and power. Every figure is checked against the tools'
own outputs (the mapped netlist, the Liberty, Yosys' and OpenSTA's logs), read here
independently of the target's parsers."""

from __future__ import annotations

import json
import math
import re
from collections import Counter
from pathlib import Path

import pytest
from synth_helpers import TOPK_PARAMS, topk_waves

from prunesim.rtl.blocks import get_block
from prunesim.synth.activity import Activity, activity_from_vcd
from prunesim.synth.asic import SRAM_UM2_PER_BIT, AsicTarget
from prunesim.synth.cells import LibCell
from prunesim.synth.netlist import Netlist
from prunesim.synth.targets import SynthJob, SynthToolError, get_target
from prunesim.toolchain import ToolchainError

PQ_PARAMS = {"d": 2, "q_bits": 4, "msb_bits": 4, "lsb_bits": 2, "prob_bits": 4, "max_n": 8}
#: sky130_fd_sc_hd's output pin names (every other pin is an input)
OUTPUT_PINS = {"X", "Y", "Q", "Q_N", "HI", "LO", "COUT", "SUM"}


def _job(block: str, params: dict, workdir: Path, **kwargs) -> SynthJob:
    _, verilog = get_block(block).to_verilog(params)
    workdir.mkdir(parents=True, exist_ok=True)
    (workdir / f"{block}.v").write_text(verilog)
    return SynthJob(block, params, workdir / f"{block}.v", block, workdir, **kwargs)


def _liberty_areas() -> dict[str, float]:
    """Cell name -> area, read from the Liberty text by a regex of its own."""
    text = AsicTarget().liberty_path().read_text()
    return {
        name: float(area)
        for name, area in re.findall(
            r"cell\s*\(\s*\"?(\w+)\"?\s*\)\s*\{[^{}]*?\barea\s*:\s*([\d.eE+-]+)", text
        )
    }


def _instances(verilog: str) -> list[tuple[str, str, list[tuple[str, str]]]]:
    """``(cell type, instance, [(pin, net), ...])`` of every instance of a structural netlist."""
    out = []
    for cell, inst, pins in re.findall(r"^\s+(\w+) (\w+) \((.*)\);$", verilog, flags=re.M):
        out.append((cell, inst, re.findall(r"\.(\w+)\(([^()]+)\)", pins)))
    return out


def _fanouts(verilog: str) -> Counter:
    """Input pins per net, output ports included."""
    counts: Counter = Counter()
    for _, _, pins in _instances(verilog):
        for pin, net in pins:
            if pin not in OUTPUT_PINS:
                counts[net] += 1
    return counts


def _sta_total(log: str) -> tuple[float, float, float]:
    """(internal, switching, leakage) of the last power report after the activity is set."""
    section = log.split("PRUNESIM_POWER")[1]
    total = re.search(r"^Total\s+(\S+)\s+(\S+)\s+(\S+)", section, flags=re.M)
    return float(total[1]), float(total[2]), float(total[3])


@pytest.fixture(scope="module")
def topk(tmp_path_factory):
    """The tiny top-k engine on the asic target, with the activity of its bench waveform."""
    waves, frames = topk_waves()
    activity = activity_from_vcd(waves, frames=frames)
    job = _job("topk", TOPK_PARAMS, tmp_path_factory.mktemp("asic-topk"), activity=activity)
    steps: list[str] = []
    job = SynthJob(**{**job.__dict__, "progress": steps.append})
    return get_target("asic").run(job), job, activity, steps


def test_topk_area_is_the_liberty_sum_of_the_mapped_netlist(topk):
    report, job, _, steps = topk
    assert steps == ["yosys", "netlist", "sta (default activity)", "sta (bench activity)"]
    verilog = (job.workdir / "netlist.v").read_text()
    areas = _liberty_areas()
    cells = Counter(cell for cell, _, _ in _instances(verilog))
    assert report.cells == dict(cells)
    assert report.area_um2 == pytest.approx(sum(areas[c] * n for c, n in cells.items()))
    # Yosys' own area of the netlist it wrote (before the fanout step) is the Liberty sum too
    log = (job.workdir / "yosys.log").read_text()
    yosys_area = float(re.findall(r"Chip area for module .*: ([\d.]+)", log)[-1])
    module = json.loads((job.workdir / "netlist.json").read_text())["modules"]["topk"]
    mapped = [c["type"] for c in module["cells"].values() if c["type"] in areas]
    assert yosys_area == pytest.approx(sum(areas[c] for c in mapped), abs=0.01)


def test_topk_memories_are_macros_not_flip_flops(topk):
    report, job, _, _ = topk
    from prunesim.synth.check import synthesize

    rows = math.ceil(TOPK_PARAMS["max_n"] / TOPK_PARAMS["lanes"])
    width = TOPK_PARAMS["lanes"] * TOPK_PARAMS["width"]
    assert sorted(m.name for m in report.memories) == ["fifo_l", "fifo_r", "frame_buf"]
    for memory in report.memories:
        assert (memory.depth, memory.width, memory.mapped_to) == (rows, width, "macro")
        assert memory.area_um2 == pytest.approx(memory.bits * SRAM_UM2_PER_BIT)
    verilog = (job.workdir / "netlist.v").read_text()
    flops = sum(1 for cell, _, _ in _instances(verilog) if "df" in cell)
    assert report.resources["flip_flops"] == flops
    # generic synthesis builds the memories from flip-flops: at least their bits more
    generic = synthesize(job.verilog, "topk")
    bits = sum(m.bits for m in report.memories)
    assert generic.flip_flops - flops >= bits


def test_topk_critical_path_is_opensta_s(topk):
    report, job, _, _ = topk
    log = (job.workdir / "sta_default.log").read_text()
    arrival = float(re.search(r"^\s*([\d.]+)\s+data arrival time", log, flags=re.M)[1])
    start = re.search(r"^Startpoint: (\S+)", log, flags=re.M)[1]
    end = re.search(r"^Endpoint: (\S+)", log, flags=re.M)[1]
    path = report.critical_path
    assert path.delay_ns == arrival
    assert path.start.split()[0] == start and path.end.split()[0] == end
    assert report.fmax_mhz == pytest.approx(1000 / arrival)
    assert path.logic_levels >= 1
    assert path.through and all(block for block in path.through)
    assert report.clock_mhz == AsicTarget().default_clock_mhz
    # the fanout step left no net but the (ideal) clock above its limit
    fanouts = _fanouts((job.workdir / "netlist.v").read_text())
    assert fanouts.pop("clk") == report.resources["flip_flops"]
    assert max(fanouts.values()) <= 16


def test_topk_power_follows_the_bench_activity(topk):
    report, job, activity, _ = topk
    internal, switching, leakage = _sta_total((job.workdir / "sta_bench.log").read_text())
    assert report.power.dynamic_w == pytest.approx(internal + switching)
    assert report.power.leakage_w == pytest.approx(leakage)
    assert report.power.activity.startswith(activity.source)
    d_internal, d_switching, _ = _sta_total((job.workdir / "sta_default.log").read_text())
    default_dynamic = d_internal + d_switching
    # the waveform names nearly every register output and port of the netlist; its power is
    # not the default's (test_power_moves_with_the_activity checks the direction)
    measured, total = re.search(
        r"measured on (\d+) of (\d+) source", report.power.activity
    ).groups()
    assert int(measured) >= 0.9 * int(total)
    assert report.power.dynamic_w != pytest.approx(default_dynamic, rel=0.01)
    cycles_per_frame = activity.cycles / activity.frames
    assert report.energy_per_frame_j == pytest.approx(
        report.power.total_w * cycles_per_frame / (report.clock_mhz * 1e6)
    )


def test_pq_through_the_asic_target(tmp_path):
    report = get_target("asic").run(_job("pq", PQ_PARAMS, tmp_path, clock_mhz=100.0))
    assert report.clock_mhz == 100.0
    # the score buffer is a macro; the exponent tables (read-only) became logic
    assert [(m.name, m.depth, m.mapped_to) for m in report.memories] == [("scores", 8, "macro")]
    log = (tmp_path / "sta_default.log").read_text()
    arrival = float(re.search(r"^\s*([\d.]+)\s+data arrival time", log, flags=re.M)[1])
    assert report.critical_path.delay_ns == arrival
    assert "period 10" in (tmp_path / "sta_default.tcl").read_text()
    areas = _liberty_areas()
    cells = Counter(cell for cell, _, _ in _instances((tmp_path / "netlist.v").read_text()))
    assert report.area_um2 == pytest.approx(sum(areas[c] * n for c, n in cells.items()))
    assert report.power.dynamic_w > 0 and report.power.leakage_w > 0
    assert report.energy_per_frame_j is None  # no bench activity: no frame
    # area and power by sub-block: the parts add up to the totals ...
    assert sum(report.area_by_block.values()) == pytest.approx(report.area_um2)
    assert sum(report.power_by_block.values()) == pytest.approx(report.power.total_w, rel=1e-3)
    assert {"dot", "exp", "reciprocal", "pq"} <= set(report.area_by_block)
    # ... the dot product's area is the Liberty sum of Yosys' cells named after it (read from
    # the netlist JSON here, before the fanout step, which only adds buffers of its own) ...
    module = json.loads((tmp_path / "netlist.json").read_text())["modules"]["pq"]
    dot = [
        c["type"]
        for name, c in module["cells"].items()
        if re.match(r"(\$flatten\\dot\.|dot\.)", name) and c["type"] in areas
    ]
    assert dot and report.area_by_block["dot"] == pytest.approx(sum(areas[c] for c in dot))
    # ... and the power split is OpenSTA's per-instance report, summed
    section = log.split("PRUNESIM_INSTANCES")[1]
    rows = re.findall(r"^\s*\S+\s+\S+\s+\S+\s+(\S+)\s+u\d+\s*$", section, flags=re.M)
    assert len(rows) == sum(cells.values())
    assert sum(report.power_by_block.values()) == pytest.approx(sum(map(float, rows)))


FANOUT_DESIGN = """module fan (clk, en, b, q);
  input clk;
  input en;
  input [255:0] b;
  output reg [255:0] q;
  reg sel;
  always @(posedge clk) begin
    sel <= en;
    q <= sel ? b : ~b;
  end
endmodule
"""


def test_the_fanout_step_shortens_a_high_fanout_path(tmp_path):
    paths = {}
    for limit in (None, 16):
        workdir = tmp_path / f"fanout-{limit}"
        workdir.mkdir()
        (workdir / "fan.v").write_text(FANOUT_DESIGN)
        report = AsicTarget(max_fanout=limit).run(
            SynthJob("fan", {}, workdir / "fan.v", "fan", workdir)
        )
        fanouts = _fanouts((workdir / "netlist.v").read_text())
        fanouts.pop("clk", None)
        paths[limit] = (report.critical_path, max(fanouts.values()))
    (before, worst_before), (after, worst_after) = paths[None], paths[16]
    assert worst_before >= 256 and worst_after <= 16
    # one register drove 256 gates; behind a buffer tree its path is several times shorter
    assert before.start.endswith("(sel)")
    assert after.delay_ns < before.delay_ns / 2


@pytest.mark.parametrize("rate", [0.01, 0.5])
def test_power_moves_with_the_activity(tmp_path, rate):
    (tmp_path / "fan.v").write_text(FANOUT_DESIGN)
    names = ["en", "sel", *(f"b[{i}]" for i in range(256)), *(f"q[{i}]" for i in range(256))]
    activity = Activity({name: rate for name in names}, source="test")
    report = AsicTarget().run(
        SynthJob("fan", {}, tmp_path / "fan.v", "fan", tmp_path, activity=activity)
    )
    assert "measured on 514 of 514 source nets" in report.power.activity
    d_internal, d_switching, _ = _sta_total((tmp_path / "sta_default.log").read_text())
    default = d_internal + d_switching  # every source at 0.1 toggles per cycle
    assert (report.power.dynamic_w - default) * (rate - 0.1) > 0
    assert report.energy_per_frame_j is None  # no frames known


def test_buffer_fanout_keeps_every_sink_on_its_net():
    buf = LibCell("buf", 1.0, 0.0, ("A",), ("X",), {"X": "A"})
    sink = LibCell("sink", 1.0, 0.0, ("A",), ("Y",), {"Y": "!A"})
    cells = {
        f"s{i}": {"type": "sink", "connections": {"A": [2], "Y": [100 + i]}} for i in range(300)
    }
    netlist = Netlist(
        "t",
        {"a": {"direction": "input", "bits": [2]}, "y": {"direction": "output", "bits": [2, 2]}},
        cells,
        {},
        {"buf": buf, "sink": sink},
        _next_bit=1000,
    )
    added = netlist.buffer_fanout(16, buf)
    sinks = netlist.sinks()
    assert max(len(s) for s in sinks.values()) <= 16
    assert added == sum(1 for c in netlist.cells.values() if c["type"] == "buf")
    buffers = [c["connections"] for c in netlist.cells.values() if c["type"] == "buf"]
    driver = {pins["X"][0]: pins["A"][0] for pins in buffers}

    def root(bit: int) -> int:
        while bit in driver:
            bit = driver[bit]
        return bit

    assert all(root(netlist.cells[f"s{i}"]["connections"]["A"][0]) == 2 for i in range(300))
    assert [root(b) for b in netlist.ports["y"]["bits"]] == [2, 2]
    with pytest.raises(ValueError, match="max_fanout"):
        netlist.buffer_fanout(1, buf)


def test_missing_and_failing_tools_are_one_line_errors(tmp_path, monkeypatch):
    job = SynthJob("bad", {}, tmp_path / "bad.v", "bad", tmp_path)
    (tmp_path / "bad.v").write_text("module bad (input a; endmodule\n")
    with pytest.raises(SynthToolError, match=r"^yosys failed .*see .*yosys.out$"):
        get_target("asic").run(job)
    monkeypatch.setenv("PATH", str(tmp_path))
    with pytest.raises(ToolchainError, match="yosys not found"):
        get_target("asic").run(job)
    with pytest.raises(ValueError, match="clock_mhz"):
        get_target("asic").run(SynthJob("bad", {}, job.verilog, "bad", tmp_path, clock_mhz=0))


def test_the_fanout_buffer_is_a_strong_one_with_a_light_input():
    from prunesim.synth.cells import buffer_cell

    def buf(name: str, area: float, cap: float | None) -> LibCell:
        caps = {} if cap is None else {"A": cap}
        return LibCell(name, area, 0.0, ("A",), ("X",), {"X": "A"}, capacitance=caps)

    inv = LibCell("inv", 1.0, 0.0, ("A",), ("Y",), {"Y": "!A"}, capacitance={"A": 0.001})
    cells = {
        "inv": inv,
        "buf_1": buf("buf_1", 3.75, 0.0021),
        "buf_4": buf("buf_4", 7.5, 0.0024),
        "buf_16": buf("buf_16", 20.0, 0.0087),
    }
    assert buffer_cell(cells).name == "buf_4"
    no_caps = {name: buf(name, c.area, None) for name, c in cells.items() if name != "inv"}
    assert buffer_cell(no_caps).name == "buf_16"
    with pytest.raises(ValueError, match="no buffer"):
        buffer_cell({"inv": inv})
