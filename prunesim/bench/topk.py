"""``prunesim bench topk``: cycles per frame of the top-k engine's RTL, measured on HDL simulators.

For every ``lanes`` in the grid, the engine (``width`` 16, ``max_n`` 1024) is built on each
simulator and the ``bench`` test of :mod:`prunesim.verif.topk_tb` streams frames of uniform random
16-bit scores through it, with no input gaps and the output always ready, for every ``(n, k)`` of
the grid (``k = n // 2`` and ``n // 5``). Each frame is still checked against the golden models.
Cycles count from the frame's last input beat being accepted to its last output beat being
transferred.

The table reports mean, p95 and max cycles, ``mean / (n / lanes)`` (cycles per input beat) and the
mean number of quick-select rounds, then the target check at ``n = 1024, k = 512, lanes = 16``:
``mean <= 4 n / lanes + k / lanes + 32``. The simulators must agree cycle for cycle. Results also
go to ``<build_dir>/topk_bench.json``.
"""

from __future__ import annotations

import argparse
import math
import os
import sys
from dataclasses import asdict, dataclass, field
from typing import Any, TextIO

from prunesim.bench import Bench, add_rtl_arguments, register_bench

__all__ = [
    "WIDTH",
    "MAX_N",
    "TARGET",
    "CaseResult",
    "BenchRun",
    "BenchResult",
    "bench_grid",
    "target_cycles",
    "run_bench",
    "format_report",
    "main",
]

WIDTH = 16
MAX_N = 1024
GRID_NS = (128, 256, 512, 1024)
GRID_LANES = (4, 8, 16)
QUICK_NS = (128, 1024)
QUICK_LANES = (16,)
#: The (n, k, lanes) of the latency target.
TARGET = (1024, 512, 16)


def target_cycles(n: int, k: int, lanes: int) -> float:
    """The latency target: ``4 n / lanes + k / lanes + 32`` cycles."""
    return 4 * n / lanes + k / lanes + 32


def bench_grid(quick: bool = False) -> list[tuple[int, list[tuple[int, int]]]]:
    """``[(lanes, [(n, k), ...]), ...]``: ``k`` is ``n // 2`` and ``n // 5`` for each ``n``."""
    ns, lanes_list = (QUICK_NS, QUICK_LANES) if quick else (GRID_NS, GRID_LANES)
    return [(lanes, [(n, k) for n in ns for k in (n // 2, n // 5)]) for lanes in lanes_list]


def _p95(values: list[int]) -> int:
    ordered = sorted(values)
    return ordered[max(0, math.ceil(0.95 * len(ordered)) - 1)]


@dataclass
class CaseResult:
    """Per-frame cycles and quick-select rounds of one ``(lanes, n, k)`` on one simulator."""

    lanes: int
    n: int
    k: int
    cycles: list[int]
    rounds: list[int]

    @property
    def mean(self) -> float:
        return sum(self.cycles) / len(self.cycles)

    @property
    def p95(self) -> int:
        return _p95(self.cycles)

    @property
    def max(self) -> int:
        return max(self.cycles)

    @property
    def per_beat(self) -> float:
        """Mean cycles per input beat, ``mean / (n / lanes)``."""
        return self.mean / (self.n / self.lanes)

    @property
    def mean_rounds(self) -> float:
        return sum(self.rounds) / len(self.rounds)

    def to_dict(self) -> dict[str, Any]:
        out = asdict(self)
        out.update(mean=self.mean, p95=self.p95, max=self.max, per_beat=self.per_beat)
        out["mean_rounds"] = self.mean_rounds
        return out


@dataclass
class BenchRun:
    """One simulator launch: one ``lanes`` value, all its ``(n, k)``."""

    sim: str
    lanes: int
    built: bool
    build_seconds: float
    launch_seconds: float  # the whole simulator process, start-up included
    bench_seconds: float  # wall time of the bench test itself
    sim_cycles: int  # clock cycles simulated by the bench test
    waves: str | None = None  # the VCD of this launch (--waves, Verilator runs)

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


@dataclass
class BenchResult:
    sims: list[str]
    frames: int
    seed: int
    cases: dict[str, list[CaseResult]] = field(default_factory=dict)  # by simulator
    runs: list[BenchRun] = field(default_factory=list)

    def speed(self, sim: str) -> tuple[int, float, float, float]:
        """``(cycles, bench seconds, launch seconds, build seconds)`` summed over ``sim``'s runs."""
        runs = [r for r in self.runs if r.sim == sim]
        return (
            sum(r.sim_cycles for r in runs),
            sum(r.bench_seconds for r in runs),
            sum(r.launch_seconds for r in runs),
            sum(r.build_seconds for r in runs),
        )

    def mismatches(self) -> list[str]:
        """Cases where the simulators disagree on any frame's cycles or rounds."""
        if len(self.sims) < 2:
            return []
        reference = {(c.lanes, c.n, c.k): c for c in self.cases[self.sims[0]]}
        problems = []
        for sim in self.sims[1:]:
            for case in self.cases[sim]:
                ref = reference.get((case.lanes, case.n, case.k))
                if ref is None or ref.cycles != case.cycles or ref.rounds != case.rounds:
                    problems.append(
                        f"lanes={case.lanes} n={case.n} k={case.k}: {sim} cycles {case.cycles} "
                        f"rounds {case.rounds} != {self.sims[0]} "
                        f"{None if ref is None else (ref.cycles, ref.rounds)}"
                    )
        return problems

    def target(self) -> CaseResult | None:
        n, k, lanes = TARGET
        for case in self.cases.get(self.sims[0], []):
            if (case.n, case.k, case.lanes) == (n, k, lanes):
                return case
        return None

    def to_dict(self) -> dict[str, Any]:
        return {
            "sims": self.sims,
            "frames": self.frames,
            "seed": self.seed,
            "width": WIDTH,
            "max_n": MAX_N,
            "cases": {sim: [c.to_dict() for c in cases] for sim, cases in self.cases.items()},
            "runs": [r.to_dict() for r in self.runs],
        }


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
    from prunesim.rtl.topk import TopK
    from prunesim.verif.topk_tb import BENCH_ENV, BENCH_OUT_ENV

    result = BenchResult(sims=list(sims), frames=frames, seed=seed)
    grid = bench_grid(quick)
    total = len(grid) * len(sims)
    step = 0
    for sim in sims:
        result.cases[sim] = []
        for lanes, cases in grid:
            step += 1
            params = {"width": WIDTH, "lanes": lanes, "max_n": MAX_N}
            label = f"[{step}/{total}] {sim} lanes={lanes}"
            if progress is not None:
                print(f"{label}: {len(cases)} (n, k) x {frames} frames ...", file=progress)
            run, record = run_bench_testcase(
                TopK,
                block="topk",
                sim=sim,
                test_module="prunesim.verif.topk_tb",
                params=params,
                settings={"cases": cases, "frames": frames, "seed": seed},
                bench_env=BENCH_ENV,
                out_env=BENCH_OUT_ENV,
                build_dir=build_dir,
                waves=waves and sim == "verilator",
                out_name=f"bench-{sim}-lanes{lanes}.json",
            )
            for case in record["cases"]:
                result.cases[sim].append(
                    CaseResult(lanes, case["n"], case["k"], case["cycles"], case["rounds"])
                )
            bench_run = BenchRun(
                sim=sim,
                lanes=lanes,
                built=run.built,
                build_seconds=run.build_seconds,
                launch_seconds=run.run_seconds,
                bench_seconds=record["wall_seconds"],
                sim_cycles=record["total_cycles"],
                waves=None if run.waves is None else str(run.waves),
            )
            result.runs.append(bench_run)
            if progress is not None:
                rate = bench_run.sim_cycles / max(bench_run.bench_seconds, 1e-9)
                built = f"build {bench_run.build_seconds:.1f} s" if run.built else "build reused"
                print(
                    f"{label}: {built}, {bench_run.sim_cycles} cycles in "
                    f"{bench_run.bench_seconds:.1f} s ({rate:,.0f} cycles/s), "
                    f"launch {bench_run.launch_seconds:.1f} s",
                    file=progress,
                )
    return result


def format_report(result: BenchResult) -> str:
    """The table, the target check and the simulation speed, as text."""
    lines = []
    sim = result.sims[0]
    lines.append(
        f"top-k engine, width {WIDTH}, max_n {MAX_N}: cycles from the last input beat accepted "
        f"to the last output beat ({result.frames} frames per row, uniform random scores, "
        f"no input gaps, output always ready; seed {result.seed})"
    )
    header = (
        f"{'lanes':>5} {'n':>5} {'k':>5} {'mean':>8} {'p95':>6} {'max':>6} "
        f"{'mean/(n/lanes)':>14} {'rounds':>7}"
    )
    lines.append(header)
    lines.append("-" * len(header))
    for case in result.cases[sim]:
        lines.append(
            f"{case.lanes:>5} {case.n:>5} {case.k:>5} {case.mean:>8.1f} {case.p95:>6} "
            f"{case.max:>6} {case.per_beat:>14.2f} {case.mean_rounds:>7.2f}"
        )
    if len(result.sims) > 1:
        agree = "identical" if not result.mismatches() else "DIFFERENT"
        lines.append(f"cycle counts on {', '.join(result.sims)}: {agree}")

    n, k, lanes = TARGET
    bound = target_cycles(n, k, lanes)
    case = result.target()
    if case is None:
        lines.append(f"target n={n} k={k} lanes={lanes}: not measured by this grid")
    else:
        verdict = "PASS" if case.mean <= bound else "FAIL"
        lines.append(
            f"target n={n} k={k} lanes={lanes}: mean {case.mean:.1f} cycles <= "
            f"4*n/lanes + k/lanes + 32 = {bound:.0f}: {verdict}"
        )

    lines.append("RTL simulation speed (bench test only; builds and start-up separate):")
    for sim in result.sims:
        cycles, seconds, launch, build = result.speed(sim)
        rate = cycles / max(seconds, 1e-9)
        lines.append(
            f"  {sim:<9} {cycles} cycles in {seconds:.1f} s = {rate:,.0f} cycles/s; "
            f"simulator launches {launch:.1f} s in all; build {build:.1f} s"
        )
    return "\n".join(lines)


def main(args: argparse.Namespace) -> int:
    """Run the benchmark for ``prunesim bench topk``; print the report; return the exit status.

    ``args`` has ``sims`` (comma-separated), ``frames``, ``seed``, ``quick`` and ``build_dir``.
    Returns 0 when every frame matched the golden models, the simulators agree and the target
    holds; 1 otherwise (a missing simulator, a failed build or check, a mismatch, a FAIL).
    """
    from prunesim.bench.common import report_problems, run_and_report

    result = run_and_report(args, "topk", run_bench, format_report)
    if result is None:
        return 1
    status = report_problems("the simulators disagree on cycle counts", result.mismatches())
    case = result.target()
    if case is not None and case.mean > target_cycles(*TARGET):
        status = 1
    return status


BENCH = register_bench(
    Bench(
        name="topk",
        help="benchmark the top-k engine",
        description=(
            "Benchmark the top-k engine: for a grid of parameter sets, build the Verilog,\n"
            "stream random frames through it on each simulator, compare each result with\n"
            "the golden model and report the cycles per frame.\n\n"
            "example:\n"
            "  prunesim bench topk --sims icarus --frames 8 --quick"
        ),
        order=10,
        add_arguments=lambda parser: add_rtl_arguments(parser, frames=32),
        main=main,
    )
)
