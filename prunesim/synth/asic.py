"""The ``asic`` target: standard cells of sky130_fd_sc_hd (tt corner), static timing, power.

Steps, each with its log in the work folder (the names are ``job.progress`` steps):

1. ``yosys`` (Debian's 0.23): ``synth`` up to its ``fine`` stage (memories stay whole,
   ``memory -nomap``; read-only ones, tables, become logic), generic gates, ``dfflibmap``
   and ``abc -D <period>`` with the Liberty (:data:`prunesim.synth.liberty.LIBERTY_PATH`),
   module by module, then ``flatten`` (cell
   names keep the sub-block: the critical path's ``through``), ``stat -liberty``,
   ``write_json``.
2. ``netlist`` (here): every memory is cut out as a macro (:meth:`Netlist.cut_memories`: its pins
   become the netlist's ports, so they start and end timing paths as an ideal register would:
   no access time, no setup), its area estimated by :data:`SRAM_UM2_PER_BIT`; then the fanout
   step (:meth:`Netlist.buffer_fanout`, at most :data:`MAX_FANOUT` sinks per net: nothing in this
   Yosys or OpenSTA repairs fanout, and one memory-address flop driving a thousand pins makes a
   path several times longer); structural Verilog out.
3. ``sta`` (Debian's OpenSTA 2019): the clock on ``clk``, input and output delays 0 (a port is
   an ideal register of the same clock), ``report_checks -path_delay max`` (the critical path,
   Fmax = 1 / its delay) and ``report_power`` with per-net activity computed here
   (:func:`prunesim.synth.netlist.propagate_activity`, because this OpenSTA does not propagate
   activity annotated by the user): from the bench's measured rates where ``job.activity`` gives
   them (flip-flop outputs and ports keep their RTL names), else :data:`DEFAULT_ACTIVITY`;
   then ``report_power -instances``, summed by RTL sub-block into the report's
   ``power_by_block`` (``area_by_block`` likewise from the Liberty's cell areas).

Figures are estimates: typical corner, no wires (no placement or routing), memories as macros
of an assumed density.
"""

from __future__ import annotations

import re
import shutil
import subprocess
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

from prunesim.synth.cells import LibCell, buffer_cell, read_cells
from prunesim.synth.netlist import Netlist, cell_block, propagate_activity
from prunesim.synth.report import CriticalPath, Memory, Power, SynthReport
from prunesim.synth.targets import SynthJob, SynthToolError, register_target
from prunesim.toolchain import ToolchainError

__all__ = [
    "BUFFERS_KEY",
    "DEFAULT_ACTIVITY",
    "MAX_FANOUT",
    "SRAM_UM2_PER_BIT",
    "AsicTarget",
    "parse_critical_path",
    "parse_instance_power",
    "parse_power",
]

#: Most sinks per net after the fanout step.
MAX_FANOUT = 16
#: Toggles per clock cycle and probability of 1 of every register output and input port when
#: no measured activity is given.
DEFAULT_ACTIVITY = (0.1, 0.5)
#: Estimated SRAM macro area per bit, periphery included: OpenRAM's sky130 macro
#: ``sky130_sram_1kbyte_1rw1r_32x256_8`` (the sky130 PDK's ``sky130_sram_macros``) is
#: 479.78 um x 397.5 um (its LEF ``SIZE``) for 8192 bits = 23.3 um^2 per bit. Applied to every
#: memory whatever its shape and ports: an estimate.
SRAM_UM2_PER_BIT = 479.78 * 397.5 / 8192
SRAM_SOURCE = (
    "OpenRAM sky130_sram_1kbyte_1rw1r_32x256_8 (sky130 PDK sky130_sram_macros): "
    "LEF SIZE 479.78 x 397.5 um for 8192 bits"
)

_TIMEOUT_S = 3600


def _tool(name: str) -> str:
    path = shutil.which(name)
    if path is None:
        raise ToolchainError(f"{name} not found: run `sudo apt-get install -y {_APT[name]}`")
    return path


_APT = {"yosys": "yosys", "sta": "opensta"}


def _version(cmd: list[str], pattern: str) -> str:
    try:
        proc = subprocess.run(cmd, capture_output=True, text=True, timeout=60, check=False)
    except OSError:
        return "unknown"
    match = re.search(pattern, proc.stdout + proc.stderr)
    return match[0] if match else "unknown"


def _run(tool: str, args: list[str], workdir: Path, log: str, stdin: str | None = None) -> str:
    """Run ``tool`` in ``workdir``, its output into ``log``; :class:`SynthToolError` naming the
    tool and the log when it fails."""
    exe = _tool(tool)
    log_path = workdir / log
    with open(log_path, "w") as out:
        proc = subprocess.run(
            [exe, *args],
            cwd=workdir,
            input=stdin,
            stdout=out,
            stderr=subprocess.STDOUT,
            text=True,
            timeout=_TIMEOUT_S,
            check=False,
        )
    text = log_path.read_text(errors="replace")
    if proc.returncode != 0 or re.search(r"^Error:", text, re.M):
        raise SynthToolError(f"{tool} failed (exit {proc.returncode}): see {log_path}")
    return text


_PATH_LINE = re.compile(
    r"^\s*(-?[\d.]+)\s+(-?[\d.]+)\s+[\^v]\s+(\S+)\s+\((\S+)\)\s*$"
)  # delay time edge pin (cell)


def parse_critical_path(
    text: str,
    blocks: Mapping[str, str] | None = None,
    labels: Mapping[str, str] | None = None,
) -> CriticalPath | None:
    """The first path of OpenSTA's ``report_checks`` in ``text``: start and end points, the data
    arrival time as the delay (clock at 0, ideal), the cells on it (one per output pin after the
    start point, the end point's cell not counted) and the RTL sub-blocks its cells belong to
    (``blocks``: instance -> its sub-block, ``""`` for the top), in order, repeats merged.
    ``labels`` (instance -> the RTL name of its output) make start and end read
    ``"u12 (filter.acc[3])"``. ``None`` when the text has no path."""
    blocks, labels = blocks or {}, labels or {}
    start = re.search(r"^Startpoint: (\S+)", text, re.M)
    end = re.search(r"^Endpoint: (\S+)", text, re.M)
    arrival = re.search(r"^\s*(-?[\d.]+)\s+data arrival time", text, re.M)
    if not (start and end and arrival):
        return None
    body = text[start.start() : arrival.start()]
    pins = [m[3] for m in map(_PATH_LINE.match, body.splitlines()) if m]
    # pins: the start point's clock pin and output, then each cell's output, then the end pin
    levels = max(0, len(pins) - 3)
    through: list[str] = []
    for pin in pins:
        block = blocks.get(pin.split("/")[0], "")
        if block and (not through or through[-1] != block):
            through.append(block)

    def label(point: str) -> str:
        return f"{point} ({labels[point]})" if labels.get(point) else point

    return CriticalPath(
        start=label(start[1]),
        end=label(end[1]),
        delay_ns=float(arrival[1]),
        logic_levels=levels,
        through=tuple(through),
    )


_POWER_TOTAL = re.compile(r"^Total\s+(\S+)\s+(\S+)\s+(\S+)\s+(\S+)", re.M)


def parse_power(text: str) -> tuple[float, float, float]:
    """``(internal, switching, leakage)`` watts of the last ``report_power`` in ``text``;
    ``ValueError`` when there is none."""
    totals = _POWER_TOTAL.findall(text)
    if not totals:
        raise ValueError("no report_power table in the OpenSTA output")
    internal, switching, leakage, _ = (float(x) for x in totals[-1])
    return internal, switching, leakage


@dataclass(frozen=True)
class _Design:
    """What the netlist step leaves for OpenSTA."""

    netlist: Netlist
    buffers: int
    clock_bits: frozenset[int]


@dataclass
class AsicTarget:
    """The ``asic`` target (module docstring). ``liberty``: the Liberty file (default the
    package's); ``max_fanout``: the fanout step's limit (``None``: no fanout step)."""

    liberty: Path | None = None
    max_fanout: int | None = MAX_FANOUT
    name: str = "asic"
    summary: str = (
        "sky130_fd_sc_hd standard cells (tt corner, no wires), memories as macros: "
        "Yosys + OpenSTA, an estimate"
    )
    #: 200 MHz: the unpipelined blocks' paths are several ns in this library (the issue measured
    #: 8.7 ns for the default top-k); the report gives the slack and Fmax whatever the clock.
    default_clock_mhz: float = 200.0

    def liberty_path(self) -> Path:
        if self.liberty is not None:
            return Path(self.liberty)
        from prunesim.synth.liberty import LIBERTY_PATH

        return LIBERTY_PATH

    def tool_versions(self) -> dict[str, str]:
        import hashlib

        lib = self.liberty_path()
        digest = hashlib.sha256(lib.read_bytes()).hexdigest()[:16] if lib.is_file() else "missing"
        return {
            "yosys": _version([_tool("yosys"), "-V"], r"Yosys \S+"),
            "sta": _version([_tool("sta"), "-version"], r"\S+") if shutil.which("sta") else "",
            "liberty": f"{lib.name} sha256:{digest}",
            # the flow's own version: a change of what the report holds re-runs cached jobs
            "flow": f"asic v2 max_fanout={self.max_fanout}",
        }

    # ---- steps ----

    def _synthesize(self, job: SynthJob, lib_path: Path, period_ps: float) -> str:
        lib = lib_path.resolve()
        script = "\n".join(
            [
                f"read_verilog -sv {job.verilog.name}",
                f"hierarchy -check -top {job.top}",
                # mapped module by module, then flattened: the cells keep their sub-block
                # in their names (abc's own names say nothing)
                f"synth -top {job.top} -run begin:fine",
                # read-only memories (tables) become logic; memories written to stay macros
                "memory_map t:$mem_v2 r:WR_PORTS=0 %i",
                "opt -fast -full",
                "techmap",
                "opt -fast",
                f"dfflibmap -liberty {lib}",
                f"abc -liberty {lib} -D {period_ps:.0f}",
                "flatten",
                "setundef -zero",
                "opt_clean -purge",
                f"stat -liberty {lib}",
                "write_json netlist.json",
                "",
            ]
        )
        (job.workdir / "synth.ys").write_text(script)
        job.progress("yosys")
        return _run("yosys", ["-q", "-l", "yosys.log", "synth.ys"], job.workdir, "yosys.out")

    def _netlist(self, job: SynthJob, cells: dict[str, LibCell]) -> _Design:
        job.progress("netlist")
        netlist = Netlist.from_json(job.workdir / "netlist.json", job.top, cells)
        netlist.cut_memories()
        netlist.fold_constants()
        clock = frozenset(b for b in netlist.ports.get("clk", {}).get("bits", []))
        buffer = buffer_cell(cells)
        before = set(netlist.cells)
        buffers = 0
        if self.max_fanout is not None:
            buffers = netlist.buffer_fanout(self.max_fanout, buffer, skip=clock)
        verilog = netlist.to_verilog(buffer)
        buffers = sum(1 for c in netlist.cells.values() if c["type"] == buffer.name) - sum(
            1 for n, c in netlist.cells.items() if c["type"] == buffer.name and n in before
        )
        (job.workdir / "netlist.v").write_text(verilog)
        return _Design(netlist, buffers, clock)

    def _sta(
        self,
        job: SynthJob,
        design: _Design,
        lib_path: Path,
        period_ns: float,
        stats: dict[int, tuple[float, float]],
        tag: str,
    ) -> str:
        names = _driver_pins(design.netlist)
        ports, pins = [], []
        for bit, (is_port, name) in names.items():
            if bit not in stats:
                continue
            rate, duty = stats[bit][0], min(max(stats[bit][1], 0.0), 1.0)
            if is_port:
                ports.append(
                    f"set_power_activity -input_ports {{{name}}} -activity {rate:.6g} "
                    f"-duty {duty:.6g}"
                )
            else:
                pins.append(
                    f"sta::set_power_pin_activity [get_pins {{{name}}}] {rate:.6g} {duty:.6g}"
                )
        (job.workdir / f"ports_{tag}.tcl").write_text("\n".join(ports) + "\n")
        (job.workdir / f"activity_{tag}.tcl").write_text("\n".join(pins) + "\n")
        clock = "[get_ports clk]" if "clk" in design.netlist.ports else ""
        inputs = "[all_inputs]"
        if clock:
            inputs = f"[delete_from_list [all_inputs] {clock}]"
        script = "\n".join(
            [
                f"read_liberty {lib_path.resolve()}",
                "read_verilog netlist.v",
                f"link_design {job.top}",
                f"create_clock -name clk -period {period_ns:.6g} {clock}",
                f"set_input_delay 0 -clock clk {inputs}",
                "set_output_delay 0 -clock clk [all_outputs]",
                *(
                    f"set_case_analysis {int(level == 'hi')} [get_ports prunesim_tie_{level}]"
                    for level in ("lo", "hi")
                    if f"prunesim_tie_{level}" in design.netlist.ports
                ),
                "report_checks -path_delay max -fields {nets} -digits 4",
                f"source ports_{tag}.tcl",
                # OpenSTA 2019 initialises the activities at the first power report (from the
                # input ports' activities set before it) and ignores pin activities set before
                # it; those set after it are used as given.
                "report_power",
                f"source activity_{tag}.tcl",
                "puts PRUNESIM_POWER",
                "report_power -digits 6",
                "puts PRUNESIM_INSTANCES",
                "report_power -instances [get_cells *] -digits 6",
                "exit",
                "",
            ]
        )
        (job.workdir / f"sta_{tag}.tcl").write_text(script)
        job.progress(f"sta ({tag} activity)")
        return _run("sta", [f"sta_{tag}.tcl"], job.workdir, f"sta_{tag}.log")

    def run(self, job: SynthJob) -> SynthReport:
        lib_path = self.liberty_path()
        if not lib_path.is_file():
            raise ToolchainError(f"the Liberty file {lib_path} is missing")
        clock_mhz = job.clock_mhz if job.clock_mhz is not None else self.default_clock_mhz
        if not clock_mhz > 0:
            raise ValueError(f"clock_mhz must be positive, not {clock_mhz}")
        period_ns = 1000.0 / clock_mhz
        cells = read_cells(lib_path)
        self._synthesize(job, lib_path, period_ns * 1000)
        yosys_log = (job.workdir / "yosys.log").read_text(errors="replace")
        design = self._netlist(job, cells)
        netlist = design.netlist

        ties = {bit: (0.0, float(value)) for bit, value in netlist.tie_bits().items()}
        default_stats = propagate_activity(netlist, ties, DEFAULT_ACTIVITY, skip=design.clock_bits)
        sta_default = self._sta(job, design, lib_path, period_ns, default_stats, "default")
        path = parse_critical_path(sta_default, _instance_blocks(netlist), _instance_names(netlist))
        rate, duty = DEFAULT_ACTIVITY
        sta_used = sta_default
        power = _power(
            sta_default,
            f"default: {rate} toggles/cycle, P(1) = {duty} at every register output and input, "
            "propagated (inputs independent)",
        )
        notes = [
            "estimate: sky130_fd_sc_hd at the tt corner (25 C, 1.80 V) from the Liberty "
            f"{lib_path.name}; no wires (no placement or routing); memories as macros",
            f"memories: cut out as macros, area = bits x {SRAM_UM2_PER_BIT:.1f} um^2/bit "
            f"({SRAM_SOURCE}); their pins are ideal registers for timing (no access time, "
            "no setup) and their power is not included",
            "timing: input and output delays 0 (ports are ideal registers of clk), ideal clock",
            f"fanout step: at most {self.max_fanout} sinks per net, {design.buffers} buffers "
            f"({buffer_cell(cells).name}) added (fanout and ports sharing a net)"
            if self.max_fanout is not None
            else "fanout step: off",
        ]
        logs = {
            "yosys": str(job.workdir / "yosys.log"),
            "sta": str(job.workdir / "sta_default.log"),
        }
        if job.activity is not None:
            seeds, measured, total = _seeds(netlist, job.activity, design.clock_bits)
            mean = sum(rate for rate, _ in seeds.values()) / max(len(seeds), 1)
            bench_stats = propagate_activity(
                netlist, {**seeds, **ties}, DEFAULT_ACTIVITY, design.clock_bits
            )
            sta_bench = self._sta(job, design, lib_path, period_ns, bench_stats, "bench")
            notes.append(
                f"power at default activity: dynamic {power.dynamic_w:.4g} W, "
                f"leakage {power.leakage_w:.4g} W ({power.activity})"
            )
            source = job.activity_source or getattr(job.activity, "source", "measured")
            power = _power(
                sta_bench,
                f"{source}: measured on {measured} of {total} source nets (register outputs "
                f"and ports; mean {mean:.4g} toggles/cycle), the rest at the default "
                f"{DEFAULT_ACTIVITY[0]}, propagated",
            )
            logs["sta_bench"] = str(job.workdir / "sta_bench.log")
            sta_used = sta_bench

        area = sum(cells[c["type"]].area for c in netlist.cells.values())
        cell_area = {f"u{k}": cells[c["type"]].area for k, c in enumerate(netlist.cells.values())}
        power_by_block = _by_block(
            netlist, parse_instance_power(sta_used.split("PRUNESIM_INSTANCES")[-1])
        )
        memories = [
            Memory(m.name, m.depth, m.width, "macro", area_um2=m.depth * m.width * SRAM_UM2_PER_BIT)
            for m in netlist.memories
        ]
        counts = netlist.cell_counts()
        flops = sum(n for name, n in counts.items() if cells[name].sequential)
        yosys_area = re.findall(r"Chip area for module .*?: ([\d.]+)", yosys_log)
        if yosys_area:
            notes.append(
                f"area before the fanout step: {float(yosys_area[-1]):.1f} um^2 (Yosys stat)"
            )
        report = SynthReport(
            block=job.block,
            params=dict(job.params),
            target=self.name,
            clock_mhz=clock_mhz,
            cells=counts,
            resources={"cells": sum(counts.values()), "flip_flops": flops},
            area_um2=area,
            area_by_block=_by_block(netlist, cell_area),
            memories=memories,
            critical_path=path,
            fmax_mhz=None if path is None or path.delay_ns <= 0 else 1000.0 / path.delay_ns,
            power=power,
            power_by_block=power_by_block,
            tools=self.tool_versions(),
            logs=logs,
            notes=notes,
        )
        frames = getattr(job.activity, "frames", None)
        cycles = getattr(job.activity, "cycles", None)
        if job.activity is not None and frames and cycles:
            report.energy_per_frame_j = power.total_w * (cycles / frames) / (clock_mhz * 1e6)
            notes.append(
                f"energy per frame = total power x {cycles / frames:.1f} cycles per frame "
                f"(the bench's {cycles} cycles / {frames} frames) / {clock_mhz:g} MHz"
            )
        return report


def _power(sta_text: str, activity: str) -> Power:
    internal, switching, leakage = parse_power(
        sta_text.split("PRUNESIM_POWER")[-1].split("PRUNESIM_INSTANCES")[0]
    )
    return Power(dynamic_w=internal + switching, leakage_w=leakage, activity=activity)


_INSTANCE_POWER = re.compile(r"^\s*(\S+)\s+(\S+)\s+(\S+)\s+(\S+)\s+(u\d+)\s*$", re.M)


def parse_instance_power(text: str) -> dict[str, float]:
    """Each instance's total power (W) from ``report_power -instances`` in ``text`` (the lines
    ``internal switching leakage total u<k>``); empty when there are none."""
    return {m.group(5): float(m.group(4)) for m in _INSTANCE_POWER.finditer(text)}


#: The ``area_by_block``/``power_by_block`` key of the cells the fanout step added.
BUFFERS_KEY = "(fanout buffers)"


def _by_block(netlist: Netlist, per_instance: Mapping[str, float]) -> dict[str, float]:
    """``per_instance`` (``u<k>`` -> a figure) summed by the instance's first-level RTL
    sub-block (the top module's own cells under the top's name, the fanout step's buffers under
    :data:`BUFFERS_KEY`), largest first."""
    out: dict[str, float] = {}
    for inst, block in _instance_blocks(netlist).items():
        key = BUFFERS_KEY if not block else block.split(".")[0]
        out[key] = out.get(key, 0.0) + per_instance.get(inst, 0.0)
    return dict(sorted(out.items(), key=lambda kv: -kv[1]))


def _driver_pins(netlist: Netlist) -> dict[int, tuple[bool, str]]:
    """Each net bit's driver as OpenSTA names it: ``(False, "u12/Y")`` for a cell output,
    ``(True, "x[3]")`` for an input port bit (cells are named ``u<k>`` in order, as
    :meth:`Netlist.to_verilog` writes them)."""
    out: dict[int, tuple[bool, str]] = {}
    for name, port in netlist.ports.items():
        if port["direction"] == "input":
            for i, bit in enumerate(port["bits"]):
                if isinstance(bit, int):
                    pin = f"{name}[{i}]" if len(port["bits"]) > 1 else name
                    out[bit] = (True, pin)
    for k, cell in enumerate(netlist.cells.values()):
        lib = netlist.lib[cell["type"]]
        for pin in lib.outputs:
            bits = cell["connections"].get(pin, [])
            if bits and isinstance(bits[0], int):
                out[bits[0]] = (False, f"u{k}/{pin}")
    return out


def _instance_blocks(netlist: Netlist) -> dict[str, str]:
    """Each instance (``u<k>``) -> its RTL sub-block (:func:`cell_block`; the top module's
    name for its own cells); buffers added here belong to no block."""
    return {
        f"u{k}": "" if name.startswith("prunesim_") else cell_block(name) or netlist.top
        for k, name in enumerate(netlist.cells)
    }


def _instance_names(netlist: Netlist) -> dict[str, str]:
    """Each register instance (``u<k>``) -> the RTL name of its output, where it has one."""
    out = {}
    for k, cell in enumerate(netlist.cells.values()):
        lib = netlist.lib[cell["type"]]
        if not lib.sequential:
            continue
        for pin in lib.outputs:
            bits = cell["connections"].get(pin, [])
            if bits and bits[0] in netlist.names:
                out[f"u{k}"] = netlist.names[bits[0]]
                break
    return out


def _seeds(
    netlist: Netlist, activity: Mapping[str, float], clock: frozenset[int]
) -> tuple[dict[int, tuple[float, float]], int, int]:
    """Measured ``(rate, probability of 1)`` of the source nets (input ports but the clock,
    register outputs) whose RTL name the activity has; with how many got one, of how many."""
    duty = getattr(activity, "duty", {}) or {}
    sources = {b for p in netlist.ports.values() if p["direction"] == "input" for b in p["bits"]}
    for cell in netlist.cells.values():
        lib = netlist.lib[cell["type"]]
        if lib.sequential:
            sources |= {b for pin in lib.outputs for b in cell["connections"].get(pin, [])}
    ties = netlist.tie_bits()
    sources = {b for b in sources if isinstance(b, int) and b not in clock and b not in ties}
    seeds = {}
    for bit in sources:
        name = netlist.names.get(bit)
        if name is not None and name in activity:
            seeds[bit] = (float(activity[name]), float(duty.get(name, 0.5)))
    return seeds, len(seeds), len(sources)


register_target(AsicTarget())
