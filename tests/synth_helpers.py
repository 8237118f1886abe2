"""Shared by the synthesis tests: a tiny top-k engine, its Verilog and a bench waveform of it.

Builds go to ``build/tests/synth/<xdist worker>`` (reused across test modules and runs while
their inputs are unchanged, as :func:`prunesim.verif.runner.build_and_run` reuses builds; one
folder per pytest-xdist worker, since test modules on two workers would otherwise build and
write the same bench files at once).
"""

from __future__ import annotations

import functools
import os
from pathlib import Path

#: The tiny top-k engine of the synthesis tests: 8-bit scores, 2 lanes, frames up to 16.
TOPK_PARAMS = {"width": 8, "lanes": 2, "max_n": 16}
#: The bench frames the waveform holds: ``FRAMES`` frames of ``n = 16, k = 8``.
FRAMES = 4
BUILD_ROOT = (
    Path(__file__).resolve().parent.parent
    / "build"
    / "tests"
    / "synth"
    / os.environ.get("PYTEST_XDIST_WORKER", "main")
)


@functools.cache
def topk_waves() -> tuple[Path, int]:
    """The VCD of the ``bench`` test on Verilator (``FRAMES`` frames of ``n = 16, k = 8``) and
    the frames it holds."""
    from prunesim.bench.common import run_bench_testcase
    from prunesim.rtl.topk import TopK
    from prunesim.verif.topk_tb import BENCH_ENV, BENCH_OUT_ENV

    run, record = run_bench_testcase(
        TopK,
        block="topk",
        sim="verilator",
        test_module="prunesim.verif.topk_tb",
        params=TOPK_PARAMS,
        settings={"cases": [[16, 8]], "frames": FRAMES, "seed": 1},
        bench_env=BENCH_ENV,
        out_env=BENCH_OUT_ENV,
        build_dir=BUILD_ROOT,
        out_name="bench-waves.json",
        waves=True,
    )
    assert run.waves is not None and run.waves.is_file()
    return run.waves, FRAMES
