"""What the RTL benchmarks share: running a block's cocotb ``bench`` test and reading its record."""

from __future__ import annotations

import json
import os
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

from prunesim.files import write_text_atomic
from prunesim.verif.runner import build_and_run

__all__ = ["report_problems", "run_and_report", "run_bench_testcase"]


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
    waves: bool = False,
) -> tuple[Any, dict[str, Any]]:
    """Run the ``bench`` cocotb test of ``test_module`` on ``sim`` and return ``(run, record)``.

    ``settings`` reach the test as JSON in the environment variable ``bench_env``; the test
    writes its record (JSON) to the file named in ``out_env``:
    ``<build_dir>/<block>/<out_name>``. That file is deleted before and after the run, so a stale
    record is never read. ``run`` is what :func:`prunesim.verif.runner.build_and_run` returns
    (it raises if the test fails or does not run); with ``waves`` the simulator dumps a waveform
    (``run.waves``).
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
            waves=waves,
        )
        record = json.loads(out_path.read_text())
    finally:
        out_path.unlink(missing_ok=True)
    return run, record


def run_and_report(
    args: Any,
    block: str,
    run_bench: Callable[..., Any],
    format_report: Callable[[Any], str],
) -> Any | None:
    """The common part of ``prunesim bench <block>``: run, print the report, save the JSON.

    Calls ``run_bench(sims, frames, seed, quick, build_dir)`` with the CLI's ``args`` (``sims``
    comma-separated, ``frames``, ``seed``, ``quick``, ``build_dir``; and ``waves=True`` when
    ``args.waves``: then ``sims`` must include ``verilator``, whose runs dump the VCD), prints
    ``format_report(result)`` and writes ``result.to_dict()`` to ``<build_dir>/<block>_bench.json``
    under an ``"inputs"`` record (:func:`prunesim.provenance.bench_inputs` of the bench ``block``).
    Returns the result, or ``None`` after a one-line error on stderr when a simulator is missing
    or the run fails (a build error, a mismatch with the golden model); raises
    :class:`~prunesim.argtypes.CLIError` (exit status 2) for ``--waves`` without Verilator,
    before any run.
    """
    from prunesim.argtypes import CLIError
    from prunesim.bench import BENCHES
    from prunesim.provenance import bench_inputs
    from prunesim.toolchain import ToolchainError

    sims = [name.strip() for name in str(args.sims).split(",") if name.strip()]
    build_dir = Path(args.build_dir)
    waves = {"waves": True} if getattr(args, "waves", False) else {}
    if waves and "verilator" not in sims:
        raise CLIError(
            f"--waves dumps Verilator's VCD: add verilator to --sims (not {','.join(sims)!r})"
        )
    try:
        result = run_bench(
            sims, int(args.frames), int(args.seed), bool(args.quick), build_dir, **waves
        )
    except ToolchainError as exc:
        print(f"prunesim: error: {exc}", file=sys.stderr)
        return None
    except (AssertionError, RuntimeError) as exc:
        print(f"prunesim: error: benchmark run failed:\n{exc}", file=sys.stderr)
        return None
    print(format_report(result))
    json_path = build_dir / f"{block}_bench.json"
    document = {"inputs": bench_inputs(BENCHES.get(block), args), **result.to_dict()}
    write_text_atomic(json_path, json.dumps(document, indent=1))
    print(f"results: {json_path}")
    return result


def report_problems(title: str, problems: list[str]) -> int:
    """Print ``problems`` under ``title`` on stderr; return 1 if there are any, else 0."""
    if not problems:
        return 0
    print(f"prunesim: error: {title}:", file=sys.stderr)
    for line in problems:
        print(f"  {line}", file=sys.stderr)
    return 1
