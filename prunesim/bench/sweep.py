"""``prunesim bench sweep``: design points priced per second by :func:`prunesim.sim.sweep`.

Three sweeps (issue 13: at least 1,000 points/s on one core for (a), aim for 10,000):

* (a) ``bert-base x spatten``: a 4-field hardware grid (``hw.multipliers.qk``,
  ``hw.multipliers.pv``, ``hw.topk.comparators``, ``hw.dram.channels``: 3 values each, 81
  designs) x 8 ``spatten.token_keep`` values = 648 points;
* (b) ``llava-onevision-7b x aim`` (video prefill, its default stage) on 4 targets (a100, h100,
  h200, spatten-e2e) x 16 ``aim.merged_per_image`` values = 64 points;
* (c) ``resnet18 x fedtiny`` on a systolic grid (``hw.array.rows``, ``hw.array.columns``: 4
  values each, ``hw.sram.filter_kb``: 3) = 48 points.

Each runs in this process (one core; the best of ``--repeat`` runs, after one warm-up run that
fills the caches a fresh process fills once: imports, model graphs), and so does (a) with 8x the
token-keep values. With ``--workers N`` (N > 1) each also runs on a local Dask cluster of N
single-threaded worker processes, started once for the bench (its start-up time is printed
apart: ``--scheduler processes`` pays it on every sweep, an address of a running cluster does
not).
"""

from __future__ import annotations

import argparse
import math
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from prunesim.argtypes import positive_int
from prunesim.bench import Bench, register_bench

__all__ = ["BENCH", "CASES", "TARGET_POINTS_PER_S", "format_table", "main", "run_bench"]

#: Points per second the issue asks of sweep (a) on one core.
TARGET_POINTS_PER_S = 1_000.0


@dataclass(frozen=True)
class Case:
    """One benchmark sweep: the arguments of :func:`prunesim.sim.sweep`."""

    name: str
    model: str
    method: str
    hardware: tuple[str, ...]
    grid: dict[str, list[Any]]
    target: float | None  # points per second asked on one core, or None


CASES = (
    Case(
        "(a) bert-base x spatten",
        "bert-base",
        "spatten",
        ("spatten",),
        {
            "hw.multipliers.qk": [256, 512, 1024],
            "hw.multipliers.pv": [256, 512, 1024],
            "hw.topk.comparators": [8, 16, 32],
            "hw.dram.channels": [8, 16, 32],
            "spatten.token_keep": [0.2, 0.3, 0.4, 0.5, 0.6, 0.7, 0.8, 0.9],
        },
        TARGET_POINTS_PER_S,
    ),
    Case(
        "(b) llava-onevision-7b x aim",
        "llava-onevision-7b",
        "aim",
        ("a100", "h100", "h200", "spatten-e2e"),
        {"aim.merged_per_image": [12 * i for i in range(1, 17)]},
        None,
    ),
    Case(
        "(c) resnet18 x fedtiny",
        "resnet18",
        "fedtiny",
        ("systolic-32",),
        {
            "hw.array.rows": [8, 16, 32, 64],
            "hw.array.columns": [8, 16, 32, 64],
            "hw.sram.filter_kb": [32, 64, 128],
        },
        None,
    ),
)


def _timed(function: Callable[[], Any], repeat: int) -> tuple[float, Any]:
    """The best of ``repeat`` timed calls of ``function`` and the last call's result."""
    best = float("inf")
    result = None
    for _ in range(repeat):
        start = time.perf_counter()
        result = function()
        best = min(best, time.perf_counter() - start)
    return best, result


def _sweep(case: Case, **kwargs: Any) -> Any:
    from prunesim.sim import sweep

    return sweep(case.model, case.method, list(case.hardware), grid=case.grid, **kwargs)


def run_bench(repeat: int, workers: int | None) -> list[dict[str, Any]]:
    """One record per case: points, seconds and points/s in process; with ``workers`` > 1 the
    same on a local Dask cluster of ``workers`` processes (started once for the bench, its
    start-up time reported apart), the speed-up, and whether the two frames are equal."""
    records = []
    cluster = None
    startup = None
    if workers is not None and workers > 1:
        from distributed import LocalCluster

        start = time.perf_counter()
        cluster = LocalCluster(
            n_workers=workers, threads_per_worker=1, processes=True, dashboard_address=None
        )
        startup = time.perf_counter() - start
    try:
        for case in CASES + (_large(CASES[0]),):
            _sweep(case)  # warm-up: imports, model graphs, hardware files
            seconds, frame = _timed(lambda case=case: _sweep(case), repeat)
            record: dict[str, Any] = {
                "case": case.name,
                "points": len(frame),
                "seconds": seconds,
                "points_per_s": len(frame) / seconds,
                "target": case.target,
            }
            if cluster is not None:
                address = cluster.scheduler_address
                _sweep(case, scheduler=address)  # warm-up of the workers
                dask_seconds, dask_frame = _timed(
                    lambda case=case, address=address: _sweep(case, scheduler=address), repeat
                )
                record["dask_seconds"] = dask_seconds
                record["speedup"] = seconds / dask_seconds
                record["dask_equal"] = bool(dask_frame.equals(frame))
                record["startup_s"] = startup
            records.append(record)
    finally:
        if cluster is not None:
            cluster.close()
    return records


def _large(case: Case) -> Case:
    """``case`` with 8x the values of its last grid name: enough points that the cluster's
    per-sweep cost (scheduling, moving the rows back) is small beside the work."""
    name, values = list(case.grid.items())[-1]
    low, high = min(values), max(values)
    more = [low + (high - low) * i / (8 * len(values) - 1) for i in range(8 * len(values))]
    grid = {**case.grid, name: more}
    count = math.prod(len(v) for v in grid.values())
    return Case(
        f"{case.name}, {count:,} points", case.model, case.method, case.hardware, grid, None
    )


def format_table(records: list[dict[str, Any]], workers: int | None) -> str:
    """The bench's table (and the cluster's start-up time under it)."""
    from prunesim.sim.tables import text_table

    header = ["sweep", "points", "1 core", "points/s", "target"]
    if workers is not None and workers > 1:
        header += [f"{workers} workers", "points/s", "speed-up", "same rows"]
    rows = []
    for record in records:
        target = record["target"]
        verdict = "ok" if target is not None and record["points_per_s"] >= target else "MISSED"
        row = [
            record["case"],
            f"{record['points']:,}",
            f"{record['seconds'] * 1e3:,.1f} ms",
            f"{record['points_per_s']:,.0f}",
            "-" if target is None else f">= {target:,.0f} {verdict}",
        ]
        if "dask_seconds" in record:
            row += [
                f"{record['dask_seconds'] * 1e3:,.1f} ms",
                f"{record['points'] / record['dask_seconds']:,.0f}",
                f"{record['speedup']:.2f}x",
                "yes" if record["dask_equal"] else "NO",
            ]
        rows.append(row)
    table = text_table(header, rows, right=False)
    startup = next((r["startup_s"] for r in records if "startup_s" in r), None)
    if startup is not None:
        table += (
            f"\n(the {workers}-process Dask cluster took {startup:.1f} s to start, once; "
            "--scheduler processes pays it on every sweep)"
        )
    return table


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--repeat", type=positive_int, default=3, metavar="N", help="timed runs per sweep (best)"
    )
    parser.add_argument(
        "--workers",
        type=positive_int,
        default=2,
        metavar="N",
        help="also run each sweep on a local Dask cluster of N processes (1: skip; default 2)",
    )


def main(args: argparse.Namespace) -> int:
    records = run_bench(args.repeat, args.workers)
    print(format_table(records, args.workers))
    missed = [r for r in records if r["target"] is not None and r["points_per_s"] < r["target"]]
    unequal = [r for r in records if r.get("dask_equal") is False]
    return 1 if missed or unequal else 0


BENCH = register_bench(
    Bench(
        name="sweep",
        help="design points per second of prunesim sweep, in process and on Dask",
        description=__doc__.split("\n\n", 1)[1].strip() if __doc__ else "",
        order=45,
        add_arguments=add_arguments,
        main=main,
    )
)
