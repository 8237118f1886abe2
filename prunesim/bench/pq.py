# amaranth: UnusedElaboratable=no
"""``prunesim bench pq``: cycles per frame of the progressive-quantization datapath's RTL, measured
on HDL simulators.

The block with its default parameters (``d`` 64, ``q_bits`` 12, 8 + 4 bit keys, ``prob_bits`` 12,
``max_n`` 1024, ``scale_shift`` 32) is built on each simulator, and the ``bench`` test of
:mod:`prunesim.verif.pq_tb` streams frames through it with no input gaps and the outputs always
ready, for ``n`` in {64, 256, 1024}, without and with the LSB pass (forced by the frame: a random
frame with threshold 0 never asks for the LSBs, a flat frame with the maximum threshold always
does). Every frame is still checked against the golden model. Cycles count from the query beat
being accepted to the frame's last probability being transferred.

The table gives the measured cycles per frame next to
:meth:`~prunesim.rtl.pq.ProgressiveAttention.frame_cycles` (``3 n + 42 + R`` without the LSB
pass, ``5 n + 63 + R`` with it, ``R = prob_bits + LOGN + 5``); then the line ``a n + b`` fitted
to the measurements (least squares over ``n``) per case, and the RTL simulation speed per
simulator. The simulators must agree cycle for cycle. Results also go to
``<build_dir>/pq_bench.json``.
"""

from __future__ import annotations

import argparse
import os
import sys
from dataclasses import asdict, dataclass, field
from typing import Any, TextIO

from prunesim.bench import Bench, add_rtl_arguments, register_bench

__all__ = [
    "PARAMS",
    "QUICK_PARAMS",
    "CaseResult",
    "BenchRun",
    "BenchResult",
    "bench_grid",
    "fit_line",
    "run_bench",
    "format_report",
    "main",
]

#: The benchmarked block: ProgressiveAttention's defaults (d 64, 8 + 4 bits, max_n 1024).
PARAMS: dict[str, int] = {}
GRID_NS = (64, 256, 1024)
#: ``--quick``: a small block and grid, for smoke tests.
QUICK_PARAMS = {"d": 4, "msb_bits": 4, "lsb_bits": 4, "max_n": 16, "scale_shift": 8}
QUICK_NS = (8, 16)


def bench_grid(quick: bool = False) -> tuple[dict[str, int], list[tuple[int, bool]]]:
    """``(design parameters, [(n, need_lsb), ...])``."""
    params, ns = (QUICK_PARAMS, QUICK_NS) if quick else (PARAMS, GRID_NS)
    return dict(params), [(n, need) for need in (False, True) for n in ns]


def fit_line(points: list[tuple[float, float]]) -> tuple[float, float]:
    """Least-squares ``(a, b)`` of ``y = a x + b`` (``a = 0`` when all ``x`` are equal)."""
    if not points:
        raise ValueError("no points to fit")
    count = len(points)
    mean_x = sum(x for x, _ in points) / count
    mean_y = sum(y for _, y in points) / count
    var = sum((x - mean_x) ** 2 for x, _ in points)
    if var == 0:
        return 0.0, mean_y
    a = sum((x - mean_x) * (y - mean_y) for x, y in points) / var
    return a, mean_y - a * mean_x


@dataclass
class CaseResult:
    """Per-frame cycles of one ``(n, need_lsb)`` on one simulator, and the formula's value."""

    n: int
    need_lsb: bool
    cycles: list[int]
    formula: int

    @property
    def mean(self) -> float:
        return sum(self.cycles) / len(self.cycles)

    @property
    def match(self) -> bool:
        return all(c == self.formula for c in self.cycles)

    def to_dict(self) -> dict[str, Any]:
        out = asdict(self)
        out.update(mean=self.mean, match=self.match)
        return out


@dataclass
class BenchRun:
    """One simulator launch: every case of the grid."""

    sim: str
    built: bool
    build_seconds: float
    launch_seconds: float  # the whole simulator process, start-up included
    bench_seconds: float  # wall time of the bench test itself
    prepare_seconds: float  # of which preparing frames (golden model, packing)
    sim_cycles: int  # clock cycles simulated by the bench test
    waves: str | None = None  # the VCD of this launch (--waves, Verilator runs)

    @property
    def rate(self) -> float:
        """Simulated cycles per second of simulation (frame preparation left out)."""
        return self.sim_cycles / max(self.bench_seconds - self.prepare_seconds, 1e-9)

    def to_dict(self) -> dict[str, Any]:
        out = asdict(self)
        out["cycles_per_second"] = self.rate
        return out


@dataclass
class BenchResult:
    sims: list[str]
    frames: int
    seed: int
    params: dict[str, int]  # every parameter, defaults filled in
    constants: dict[str, int]  # R, LOGN, the formula's offsets
    cases: dict[str, list[CaseResult]] = field(default_factory=dict)  # by simulator
    runs: list[BenchRun] = field(default_factory=list)

    def mismatches(self) -> list[str]:
        """Cases where the simulators disagree on any frame's cycles."""
        if len(self.sims) < 2:
            return []
        reference = {(c.n, c.need_lsb): c for c in self.cases[self.sims[0]]}
        problems = []
        for sim in self.sims[1:]:
            for case in self.cases[sim]:
                ref = reference.get((case.n, case.need_lsb))
                if ref is None or ref.cycles != case.cycles:
                    problems.append(
                        f"n={case.n} need_lsb={int(case.need_lsb)}: {sim} cycles {case.cycles} "
                        f"!= {self.sims[0]} {None if ref is None else ref.cycles}"
                    )
        return problems

    def formula_misses(self) -> list[str]:
        return [
            f"{sim} n={c.n} need_lsb={int(c.need_lsb)}: cycles {c.cycles} != formula {c.formula}"
            for sim, cases in self.cases.items()
            for c in cases
            if not c.match
        ]

    def fits(self, sim: str) -> dict[bool, tuple[float, float]]:
        """``need_lsb -> (a, b)`` fitted to the per-frame cycles of ``sim``."""
        out = {}
        for need in (False, True):
            points = [(c.n, y) for c in self.cases[sim] if c.need_lsb == need for y in c.cycles]
            if points:
                out[need] = fit_line(points)
        return out

    def to_dict(self) -> dict[str, Any]:
        return {
            "sims": self.sims,
            "frames": self.frames,
            "seed": self.seed,
            "params": self.params,
            "constants": self.constants,
            "cases": {sim: [c.to_dict() for c in cases] for sim, cases in self.cases.items()},
            "fits": {
                sim: {("lsb" if need else "msb_only"): ab for need, ab in self.fits(sim).items()}
                for sim in self.cases
            },
            "runs": [r.to_dict() for r in self.runs],
        }


def _constants(params: dict[str, int]) -> tuple[dict[str, int], dict[str, int]]:
    """Every parameter (defaults filled in) and the formula's constants."""
    from prunesim.rtl.pq import ProgressiveAttention

    dut = ProgressiveAttention(**params)  # for frame_cycles() only (see the comment on line 1)
    p = dut.params
    full = {
        name: getattr(p, name)
        for name in ("d", "q_bits", "msb_bits", "lsb_bits", "prob_bits", "max_n", "scale_shift")
    }
    r = p.prob_bits + p.G + 1
    constants = {
        "LOGN": p.LOGN,
        "R": r,
        "b_msb_only": dut.frame_cycles(0, False),
        "b_lsb": dut.frame_cycles(0, True),
    }
    return full, constants


def run_bench(
    sims: list[str],
    frames: int,
    seed: int,
    quick: bool,
    build_dir: str | os.PathLike[str],
    progress: TextIO | None = sys.stderr,
    waves: bool = False,
) -> BenchResult:
    """Run the grid on every simulator; with ``waves``, the Verilator runs dump a VCD (each
    run's ``waves``: every case and frame of that launch, reset included). Raises what
    :func:`build_and_run` raises."""
    from prunesim.bench.common import run_bench_testcase
    from prunesim.rtl.pq import ProgressiveAttention
    from prunesim.verif.pq_tb import BENCH_ENV, BENCH_OUT_ENV
    from prunesim.verif.runner import param_tag

    params, cases = bench_grid(quick)
    full, constants = _constants(params)
    result = BenchResult(
        sims=list(sims), frames=frames, seed=seed, params=full, constants=constants
    )
    for step, sim in enumerate(sims, 1):
        label = f"[{step}/{len(sims)}] {sim} pq {param_tag(params)}"
        if progress is not None:
            print(f"{label}: {len(cases)} (n, need_lsb) x {frames} frames ...", file=progress)
        run, record = run_bench_testcase(
            ProgressiveAttention,
            block="pq",
            sim=sim,
            test_module="prunesim.verif.pq_tb",
            params=params,
            settings={"cases": [[n, need] for n, need in cases], "frames": frames, "seed": seed},
            bench_env=BENCH_ENV,
            out_env=BENCH_OUT_ENV,
            build_dir=build_dir,
            waves=waves and sim == "verilator",
            out_name=f"bench-{sim}-{param_tag(params)}.json",
        )
        result.cases[sim] = [
            CaseResult(case["n"], bool(case["need_lsb"]), case["cycles"], case["formula"])
            for case in record["cases"]
        ]
        bench_run = BenchRun(
            sim=sim,
            built=run.built,
            build_seconds=run.build_seconds,
            launch_seconds=run.run_seconds,
            bench_seconds=record["wall_seconds"],
            prepare_seconds=record["prepare_seconds"],
            sim_cycles=record["total_cycles"],
            waves=None if run.waves is None else str(run.waves),
        )
        result.runs.append(bench_run)
        if progress is not None:
            built = f"build {bench_run.build_seconds:.1f} s" if run.built else "build reused"
            print(
                f"{label}: {built}, {bench_run.sim_cycles} cycles in "
                f"{bench_run.bench_seconds:.1f} s ({bench_run.rate:,.0f} cycles/s without the "
                f"{bench_run.prepare_seconds:.1f} s of frame preparation), "
                f"launch {bench_run.launch_seconds:.1f} s",
                file=progress,
            )
    return result


def format_report(result: BenchResult) -> str:
    """The table, the formula and its fit, and the simulation speed, as text."""
    p, k = result.params, result.constants
    sim = result.sims[0]
    lines = [
        f"progressive-quantization datapath, d {p['d']}, q_bits {p['q_bits']}, keys "
        f"{p['msb_bits']} + {p['lsb_bits']} bits, prob_bits {p['prob_bits']}, max_n "
        f"{p['max_n']}, scale_shift {p['scale_shift']}: cycles from the query beat accepted to "
        f"the last probability transferred ({result.frames} frames per row, no input gaps, "
        f"outputs always ready; seed {result.seed}; {sim})",
    ]
    header = f"{'n':>5} {'need_lsb':>8} {'cycles':>8} {'formula':>8} {'match':>6}"
    lines += [header, "-" * len(header)]
    for case in result.cases[sim]:
        cycles = (
            f"{case.cycles[0]}"
            if len(set(case.cycles)) == 1
            else f"{min(case.cycles)}..{max(case.cycles)}"
        )
        lines.append(
            f"{case.n:>5} {int(case.need_lsb):>8} {cycles:>8} {case.formula:>8} "
            f"{'yes' if case.match else 'NO':>6}"
        )
    if len(result.sims) > 1:
        agree = "identical" if not result.mismatches() else "DIFFERENT"
        lines.append(f"cycle counts on {', '.join(result.sims)}: {agree}")
    lines.append(
        f"formula (ProgressiveAttention.frame_cycles): 3n + 42 + R without the LSB pass, "
        f"5n + 63 + R with it, R = prob_bits + LOGN + 5 = {p['prob_bits']} + {k['LOGN']} + 5 "
        f"= {k['R']}: 3n + {k['b_msb_only']} and 5n + {k['b_lsb']}"
    )
    for name in result.sims:
        fits = result.fits(name)
        parts = [
            f"{'with' if need else 'without'} LSBs {a:.3f} n + {b:.2f}"
            for need, (a, b) in sorted(fits.items())
        ]
        lines.append(f"least-squares fit on {name}: " + "; ".join(parts))
    lines.append(
        "RTL simulation speed (cocotb testbench included; frame preparation, simulator start-up "
        "and builds apart):"
    )
    for run in result.runs:
        built = f"build {run.build_seconds:.1f} s" if run.built else "build reused (up to date)"
        seconds = run.bench_seconds - run.prepare_seconds
        lines.append(
            f"  {run.sim:<9} {run.sim_cycles} cycles in {seconds:.1f} s = {run.rate:,.0f} "
            f"cycles/s (+ {run.prepare_seconds:.1f} s golden model and packing); simulator "
            f"launch {run.launch_seconds:.1f} s; {built}"
        )
    return "\n".join(lines)


def main(args: argparse.Namespace) -> int:
    """Run the benchmark for ``prunesim bench pq``; print the report; return the exit status.

    ``args`` has ``sims`` (comma-separated), ``frames``, ``seed``,
    ``quick`` and ``build_dir``. Returns 0 when every frame matched the golden model and the
    cycle formula and the simulators agree; 1 otherwise (a missing simulator, a failed build or
    check, a mismatch).
    """
    from prunesim.bench.common import report_problems, run_and_report

    result = run_and_report(args, "pq", run_bench, format_report)
    if result is None:
        return 1
    status = report_problems("the simulators disagree on cycle counts", result.mismatches())
    status |= report_problems("measured cycles differ from frame_cycles()", result.formula_misses())
    return status


BENCH = register_bench(
    Bench(
        name="pq",
        help="benchmark the progressive-quantization datapath",
        description=(
            "Benchmark the progressive-quantization datapath (d = 64): cycles per frame for\n"
            "n in {64, 256, 1024}, with and without the LSB pass, on each simulator, every\n"
            "result checked against the golden model, and the block's cycle formula.\n\n"
            "example:\n"
            "  prunesim bench pq --sims verilator --frames 2 --quick"
        ),
        order=20,
        add_arguments=lambda parser: add_rtl_arguments(parser, frames=3),
        main=main,
    )
)
