"""What the RTL benchmarks share: running a block's cocotb ``bench`` test and reading its record."""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any

from prunesim.verif.runner import build_and_run

__all__ = ["run_bench_testcase"]


def run_bench_testcase(
    design: Any,
    *,
    block: str,
    sim: str,
    test_module: str,
    params: dict[str, Any],
    settings: dict[str, Any],
    bench_env: str,
    out_env: str,
    build_dir: str | os.PathLike[str],
    out_name: str,
) -> tuple[Any, dict[str, Any]]:
    """Run the ``bench`` cocotb test of ``test_module`` on ``sim`` and return ``(run, record)``.

    ``settings`` reach the test as JSON in the environment variable ``bench_env``; the test
    writes its record (JSON) to the file named in ``out_env``:
    ``<build_dir>/<block>/<out_name>``. That file is deleted before and after the run, so a stale
    record is never read. ``run`` is what :func:`prunesim.verif.runner.build_and_run` returns
    (it raises if the test fails or does not run).
    """
    out_path = Path(build_dir).resolve() / block / out_name
    out_path.parent.mkdir(parents=True, exist_ok=True)
    out_path.unlink(missing_ok=True)
    try:
        run = build_and_run(
            design,
            block=block,
            sim=sim,
            test_module=test_module,
            params=params,
            testcase="bench",
            build_root=build_dir,
            extra_env={bench_env: json.dumps(settings), out_env: str(out_path)},
        )
        record = json.loads(out_path.read_text())
    finally:
        out_path.unlink(missing_ok=True)
    return run, record
