"""The block latency models of :mod:`prunesim.sim.blocks` against cycles measured on the RTL.

Runs the configurations of the RTL benchmarks (``prunesim bench topk`` and ``prunesim bench pq``:
the same designs, grids and stimulus, seed 1) on Verilator and compares each configuration's mean
cycles with the model: :func:`~prunesim.sim.blocks.topk_cycles` within 10 % (it is an expectation;
the cycles of one frame vary by about 30 %, so 200 frames leave a sampling error near 2 %), and
:func:`~prunesim.sim.blocks.pq_cycles` exactly. The tables of measured against modelled cycles go
to stdout (``pytest -s``) and to the junit report (``record_property``). Builds are kept under
``build/sim-blocks/`` and reused while the Verilog is unchanged (about 25 s per design otherwise).
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from prunesim.sim.blocks import pq_cycles, topk_cycles

BUILD_ROOT = Path(__file__).resolve().parents[1] / "build" / "sim-blocks"
SEED = 1
#: Frames per (lanes, n, k): enough to bring the sampling error of a mean near 2 %.
TOPK_FRAMES = 200
#: The datapath's cycles do not depend on the data: a couple of frames per case suffice.
PQ_FRAMES = 2
TOLERANCE = 0.10


@pytest.mark.rtl
def test_topk_cycles_matches_rtl(record_property) -> None:
    from prunesim.bench.topk import run_bench

    result = run_bench(
        ["verilator"], TOPK_FRAMES, SEED, quick=False, build_dir=BUILD_ROOT, progress=None
    )
    rows = []
    for case in result.cases["verilator"]:
        model = float(topk_cycles(case.n, case.k, case.lanes))
        rows.append(
            {
                "lanes": case.lanes,
                "n": case.n,
                "k": case.k,
                "frames": len(case.cycles),
                "measured_mean": round(case.mean, 2),
                "model": round(model, 2),
                "relative_error": round(model / case.mean - 1, 4),
            }
        )
    assert len(rows) == 24 and all(row["frames"] == TOPK_FRAMES for row in rows)
    worst = max(abs(row["relative_error"]) for row in rows)
    table = "\n".join(
        [f"top-k engine on Verilator, {TOPK_FRAMES} frames per row, seed {SEED}"]
        + [f"{'lanes':>5} {'n':>5} {'k':>5} {'measured':>9} {'model':>8} {'error':>7}"]
        + [
            f"{r['lanes']:>5} {r['n']:>5} {r['k']:>5} {r['measured_mean']:>9.1f} "
            f"{r['model']:>8.1f} {100 * r['relative_error']:>6.1f}%"
            for r in rows
        ]
        + [f"worst relative error {100 * worst:.1f} %"]
    )
    print(table)
    record_property("topk_model_vs_rtl", json.dumps(rows))
    record_property("topk_worst_relative_error", worst)
    record_property(
        "build_and_run_seconds", sum(r.build_seconds + r.launch_seconds for r in result.runs)
    )
    bad = [r for r in rows if abs(r["relative_error"]) > TOLERANCE]
    assert not bad, f"topk_cycles off by more than {TOLERANCE:.0%}:\n{table}"


@pytest.mark.rtl
def test_pq_cycles_matches_rtl(record_property) -> None:
    from prunesim.bench.pq import run_bench

    result = run_bench(
        ["verilator"], PQ_FRAMES, SEED, quick=False, build_dir=BUILD_ROOT, progress=None
    )
    params = result.params
    rows = []
    for case in result.cases["verilator"]:
        model = float(
            pq_cycles(case.n, case.need_lsb, prob_bits=params["prob_bits"], max_n=params["max_n"])
        )
        rows.append(
            {
                "n": case.n,
                "need_lsb": case.need_lsb,
                "measured": sorted(set(case.cycles)),
                "model": model,
            }
        )
    assert len(rows) == 6
    table = "\n".join(
        [f"progressive-quantization datapath on Verilator, {PQ_FRAMES} frames per row"]
        + [f"{'n':>5} {'need_lsb':>8} {'measured':>10} {'model':>8}"]
        + [
            f"{r['n']:>5} {int(r['need_lsb']):>8} {str(r['measured']):>10} {r['model']:>8.0f}"
            for r in rows
        ]
    )
    print(table)
    record_property("pq_model_vs_rtl", json.dumps(rows))
    bad = [r for r in rows if r["measured"] != [r["model"]]]
    assert not bad, f"pq_cycles differs from the measured cycles:\n{table}"
