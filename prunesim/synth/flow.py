"""One block through one synthesis target, cached: :func:`synthesize_block`.

The flow checks everything it is given before any tool runs (the block's name and parameters
against :mod:`prunesim.rtl.blocks`, the target against :mod:`prunesim.synth.targets`, the
clock), asks the target for its tools' versions (a missing tool fails here, in one line),
writes the block's Verilog into a work folder ``<build_dir>/synth/<block>-<target>-<hash>/``
and asks the target to run there. The report is written last, as ``report.json`` in the work
folder, whole or not at all: a run that fails leaves none, and the next call runs again.

The cache key is everything that decides the result: the block, every parameter (defaults
included), the target, the clock, each tool's version as the tool itself reports it, the
sha256 of the Verilog text and the sha256 of the switching activity. ``<hash>`` is the first
12 hex digits of the key's sha256; ``report.json`` holds the whole key beside the report, and a
report is reused only when its key equals the new one.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import math
import os
import shutil
import time
from collections.abc import Callable, Iterator, Mapping
from pathlib import Path
from typing import Any

from prunesim.synth.report import SynthReport
from prunesim.synth.targets import SynthJob, get_target

__all__ = [
    "MAX_CLOCK_MHZ",
    "REPORT_FILE",
    "YOWASP_CACHE_ENV",
    "cache_key",
    "check_clock",
    "resolve_params",
    "synthesize_block",
    "verilog_sha256",
    "work_folder",
]

#: The highest clock constraint accepted, in MHz (no target here closes timing near it).
MAX_CLOCK_MHZ = 5000.0

#: The file in a work folder that holds a finished run's report and its cache key.
REPORT_FILE = "report.json"

#: The environment variable that says where the YoWASP tools keep their compiled code.
YOWASP_CACHE_ENV = "YOWASP_CACHE_DIR"


def check_clock(clock_mhz: float | None) -> float | None:
    """``clock_mhz`` as a float, or None; ``ValueError`` unless it is a number in
    ``(0, MAX_CLOCK_MHZ]``."""
    if clock_mhz is None:
        return None
    if isinstance(clock_mhz, bool) or not isinstance(clock_mhz, int | float):
        raise TypeError(f"clock_mhz must be a number of MHz, not {clock_mhz!r}")
    value = float(clock_mhz)
    if not (math.isfinite(value) and 0 < value <= MAX_CLOCK_MHZ):
        raise ValueError(
            f"clock_mhz must be a number of MHz in (0, {MAX_CLOCK_MHZ:g}], not {clock_mhz!r}"
        )
    return value


def resolve_params(block: str, params: Mapping[str, Any] | None) -> tuple[Any, dict[str, Any]]:
    """The registry's block called ``block`` and every exposed parameter in effect (its
    defaults overlaid by ``params``), in the block's order. ``ValueError`` for an unknown block
    or parameter name; the values' ranges are checked by the block's constructor
    (:meth:`prunesim.rtl.blocks.Block.build`)."""
    from prunesim.rtl.blocks import get_block

    spec = get_block(block)
    defaults = spec.defaults()
    given = dict(params or {})
    unknown = [name for name in given if name not in defaults]
    if unknown:
        raise ValueError(
            f"unknown parameter {unknown[0]!r} of block {block!r} "
            f"(choose from {', '.join(defaults)})"
        )
    return spec, {**defaults, **given}


def _sha256(text: str) -> str:
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


def activity_sha256(activity: Mapping[str, float] | None) -> str | None:
    """The sha256 of ``activity`` (net -> toggles per cycle) in a canonical JSON form; None for
    no activity."""
    if activity is None:
        return None
    return _sha256(json.dumps({str(k): float(v) for k, v in activity.items()}, sort_keys=True))


def cache_key(
    *,
    block: str,
    params: Mapping[str, Any],
    target: str,
    clock_mhz: float,
    tools: Mapping[str, str],
    verilog: str,
    activity: Mapping[str, float] | None = None,
) -> dict[str, Any]:
    """The record that decides a run's result (the module docstring lists it), JSON-ready."""
    return {
        "block": block,
        "params": dict(params),
        "target": target,
        "clock_mhz": clock_mhz,
        "tools": dict(tools),
        "verilog_sha256": _sha256(verilog),
        "activity_sha256": activity_sha256(activity),
    }


def verilog_sha256(block: str, params: Mapping[str, Any] | None = None) -> str:
    """The sha256 of the Verilog that :func:`synthesize_block` writes for ``block`` with
    ``params`` (the cache key's ``verilog_sha256``): a record of a run is of today's RTL exactly
    when they match."""
    from prunesim.rtl.verilog import to_verilog

    spec, values = resolve_params(block, params)
    return _sha256(to_verilog(spec.build(**values), name=spec.name))


def work_folder(build_dir: str | os.PathLike[str], key: Mapping[str, Any]) -> Path:
    """``<build_dir>/synth/<block>-<target>-<first 12 hex digits of the key's sha256>``."""
    digest = _sha256(json.dumps(key, sort_keys=True))[:12]
    return Path(build_dir) / "synth" / f"{key['block']}-{key['target']}-{digest}"


@contextlib.contextmanager
def _yowasp_cache(build_dir: Path) -> Iterator[None]:
    """``YOWASP_CACHE_DIR`` set to ``<build_dir>/yowasp-cache`` (absolute: the tools run in the
    work folder) for the duration, unless the environment already sets it."""
    if os.environ.get(YOWASP_CACHE_ENV):
        yield
        return
    os.environ[YOWASP_CACHE_ENV] = str((build_dir / "yowasp-cache").resolve())
    try:
        yield
    finally:
        os.environ.pop(YOWASP_CACHE_ENV, None)


def _read_cached(path: Path, key: Mapping[str, Any]) -> SynthReport | None:
    try:
        record = json.loads(path.read_text(encoding="utf-8"))
        if record.get("key") != json.loads(json.dumps(key)):
            return None
        return SynthReport.from_dict(record["report"])
    except (OSError, ValueError, KeyError, TypeError):
        return None


def synthesize_block(
    block: str,
    params: Mapping[str, Any] | None = None,
    *,
    target: str = "fpga-ecp5",
    clock_mhz: float | None = None,
    build_dir: str | os.PathLike[str] = Path("build"),
    activity: Mapping[str, float] | None = None,
    activity_source: str | None = None,
    progress: Callable[[str], None] | None = None,
    cache: bool = True,
) -> SynthReport:
    """Synthesize the registry's block ``block`` with ``params`` on ``target``; the report.

    ``params`` overrides the block's defaults (``prunesim verilog <block> --help`` states each
    range); ``target`` is a name of :func:`prunesim.synth.targets.target_names`
    (``fpga-ecp5``, ``fpga-ice40``, ``asic``); ``clock_mhz`` the clock constraint in
    ``(0, 5000]`` MHz (None: the target's default, 100 MHz on the FPGAs); ``activity`` per-net
    toggles per cycle for the power analysis of targets that do one (``activity_source`` says
    where it came from). ``progress`` is called with one line per step (the cache hit is one:
    ``"cached: <work folder>/report.json, no tool run"``).

    Files go to ``<build_dir>/synth/<block>-<target>-<hash>/`` (the module docstring says what
    the hash covers); with ``cache`` (the default) a finished run with the same key is returned
    without running a tool; ``cache=False`` runs again and replaces it. The YoWASP tools keep
    their compiled code in ``$YOWASP_CACHE_DIR``; when the environment does not set it, it is
    ``<build_dir>/yowasp-cache`` during the call (the first use compiles them, about 2 minutes).

    Raises ``ValueError``/``TypeError`` naming the bad argument (unknown block, target or
    parameter, a parameter out of its range, a clock outside its range) before anything is
    written or run, and ``ValueError`` when the block does not fit the target (found by the
    target, before place and route; its work folder is removed);
    :class:`~prunesim.toolchain.ToolchainError` when a tool is missing (the message says how to
    install it); :class:`~prunesim.synth.targets.SynthToolError` when a
    tool fails (the message names the tool and its log file; no ``report.json`` is written).
    """
    try:
        chosen = get_target(target)
    except ModuleNotFoundError as exc:  # a listed target whose module this checkout lacks
        raise ValueError(f"synthesis target {target!r} is not available here ({exc})") from None
    clock = check_clock(clock_mhz)
    clock = chosen.default_clock_mhz if clock is None else clock
    if activity is not None and not isinstance(activity, Mapping):
        raise TypeError(f"activity must be a mapping of net names to toggles, not {activity!r}")
    spec, values = resolve_params(block, params)
    component = spec.build(**values)  # checks every range before any tool runs
    say = progress or (lambda step: None)
    build = Path(build_dir)

    from prunesim.rtl.verilog import to_verilog

    with _yowasp_cache(build):
        tools = chosen.tool_versions()
        verilog = to_verilog(component, name=spec.name)
        key = cache_key(
            block=spec.name,
            params=values,
            target=chosen.name,
            clock_mhz=clock,
            tools=tools,
            verilog=verilog,
            activity=activity,
        )
        workdir = work_folder(build, key)
        report_path = workdir / REPORT_FILE
        if cache:
            cached = _read_cached(report_path, key)
            if cached is not None:
                say(f"cached: {report_path}, no tool run")
                return cached
        from prunesim.files import write_text_atomic

        if workdir.exists():  # an earlier run's leftovers (failed, or replaced by cache=False)
            shutil.rmtree(workdir)
        workdir.mkdir(parents=True)
        verilog_path = workdir / f"{spec.name}.v"
        write_text_atomic(verilog_path, verilog)
        say(f"verilog: {verilog_path} ({spec.describe(values)})")
        job = SynthJob(
            block=spec.name,
            params=values,
            verilog=verilog_path,
            top=spec.name,
            workdir=workdir,
            clock_mhz=clock,
            activity=activity,
            activity_source=activity_source,
            progress=say,
        )
        started = time.monotonic()
        try:
            report = chosen.run(job)
        except ValueError:  # the block does not fit the target: bad input, nothing kept
            shutil.rmtree(workdir, ignore_errors=True)
            raise
        report.runtimes_s.setdefault("total", round(time.monotonic() - started, 1))
        write_text_atomic(
            report_path, json.dumps({"key": key, "report": report.to_dict()}, indent=2) + "\n"
        )
    return report
