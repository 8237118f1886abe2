"""What produced an output: the ``"inputs"`` record at the top of every JSON document that
``prunesim simulate --json``, ``prunesim compare --json``, ``prunesim synth --json`` and the
benches write.

The record holds the values *in effect*, defaults included, so that the run can be repeated
from it alone:

* ``prunesim``: :func:`version_record`: the package version, the Python version and, when the
  package is imported from a git checkout, the commit and whether tracked files differ from it;
* a simulation (:func:`simulate_inputs`, :func:`compare_inputs`): the model, the method(s) with
  every option (the method's defaults overlaid by the overrides), the hardware (its name, the
  file behind it and the sha256 of that file's bytes), the stage (its kind and fields), the mode,
  the weight bits, and a trace's file and sha256 when one gives the work;
* a sweep (:func:`sweep_inputs`): the models, methods, hardware records, stage, grid,
  samples, seed, Pareto objectives, the spec file's record, and how many points were priced;
* a bench (:func:`bench_inputs`): its name and every parameter its command line accepts;
* a synthesis run (:func:`synth_inputs`): the block, every parameter, the target, the clock.

Everything here only reads; nothing it finds missing (git, a checkout) is an error.
"""

from __future__ import annotations

import argparse
import dataclasses
import functools
import hashlib
import os
import platform
import subprocess
from collections.abc import Iterable, Mapping, Sequence
from pathlib import Path
from typing import Any

__all__ = [
    "bench_inputs",
    "compare_inputs",
    "file_sha256",
    "git_record",
    "hardware_record",
    "jsonable",
    "method_record",
    "simulate_inputs",
    "stage_record",
    "sweep_inputs",
    "synth_inputs",
    "version_record",
]

#: Seconds each git command may take before the commit is left out.
GIT_TIMEOUT = 5.0


def _git(folder: Path, *args: str) -> subprocess.CompletedProcess[str] | None:
    """``git ARGS`` run in ``folder`` (the caller's ``GIT_*`` variables dropped so that they
    cannot point it at another repository); None when git is missing, fails to start or times
    out."""
    env = {key: value for key, value in os.environ.items() if not key.startswith("GIT_")}
    try:
        return subprocess.run(
            ["git", *args],
            cwd=folder,
            env=env,
            capture_output=True,
            text=True,
            timeout=GIT_TIMEOUT,
            check=False,
        )
    except (OSError, subprocess.SubprocessError):
        return None


@functools.cache
def git_record(folder: Path | None = None) -> Mapping[str, Any]:
    """``{"git_commit": sha, "git_dirty": bool}`` when ``folder`` (default: this package's
    source folder) is tracked in a git checkout, else ``{}``. ``git_dirty``: a tracked file of
    the checkout differs from the commit (untracked files are not looked at). Cached per
    process; read-only."""
    folder = Path(__file__).resolve().parent if folder is None else folder
    tracked = _git(folder, "ls-files", "--error-unmatch", "--", "__init__.py")
    if tracked is None or tracked.returncode != 0:  # no git, no checkout, or not ours (a venv)
        return {}
    head = _git(folder, "rev-parse", "--verify", "HEAD")
    status = _git(folder, "status", "--porcelain", "--untracked-files=no")
    if head is None or head.returncode != 0 or status is None or status.returncode != 0:
        return {}
    return {"git_commit": head.stdout.strip(), "git_dirty": bool(status.stdout.strip())}


def version_record() -> dict[str, Any]:
    """``{"version", ["git_commit", "git_dirty",] "python"}``: what ran (see :func:`git_record`)."""
    from prunesim import __version__

    return {"version": __version__, **git_record(), "python": platform.python_version()}


def file_sha256(path: str | os.PathLike[str]) -> str:
    """The sha256 (hex) of the bytes of the file at ``path``; OSError if it cannot be read."""
    digest = hashlib.sha256()
    with open(path, "rb") as file:
        for block in iter(lambda: file.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def jsonable(value: Any) -> Any:
    """``value`` with paths as text, tuples and lists as lists, mappings as objects (their keys
    as text), everything else as it is."""
    if isinstance(value, os.PathLike):
        return os.fspath(value)
    if isinstance(value, Mapping):
        return {str(key): jsonable(item) for key, item in value.items()}
    if isinstance(value, tuple | list):
        return [jsonable(item) for item in value]
    return value


def hardware_record(hardware: str | os.PathLike[str], name: str | None = None) -> dict[str, Any]:
    """``{"name", "file", "sha256"}`` of a hardware preset name or file: ``name`` the target's
    own (its file's ``name``; default: what was given), ``file`` the label
    :func:`prunesim.sim.hardware.hardware_file` gives (``<preset>.yaml`` or the path as given),
    ``sha256`` of the file's bytes. HardwareError (a ValueError) for an unknown name or a
    missing file."""
    from prunesim.sim.hardware import hardware_file

    label, path = hardware_file(hardware)
    return {
        "name": os.fspath(hardware) if name is None else name,
        "file": label,
        "sha256": file_sha256(path),
    }


def stage_record(stage: Any) -> dict[str, Any]:
    """``{"kind": "generate", "prompt": 992, "generate": 32}``: a stage's kind and fields."""
    return {"kind": stage.name, **jsonable(dataclasses.asdict(stage))}


def method_record(method: str, overrides: Mapping[str, Any]) -> dict[str, Any]:
    """``{"name", "options"}``: every option of ``method`` in effect, its defaults overlaid by
    ``overrides`` (text as ``--set`` takes it, or values); ValueError as the method gives it."""
    from prunesim.sim.methods import get_method
    from prunesim.sim.methods.options import json_values, resolve

    chosen = get_method(method)
    return {
        "name": method,
        "options": json_values(resolve(chosen.options, overrides, owner=method)),
    }


def _weight_bits(model: str, weight_bits: int | None) -> int:
    from prunesim.models import get_model
    from prunesim.sim.api import default_weight_bits

    return weight_bits or default_weight_bits(get_model(model))


def simulate_inputs(
    *,
    model: str,
    method: str,
    overrides: Mapping[str, Any],
    hardware: str | os.PathLike[str],
    hardware_name: str,
    stage: Any,
    mode: str,
    weight_bits: int | None,
    trace: str | os.PathLike[str] | None = None,
) -> dict[str, Any]:
    """The record of one simulation (``prunesim simulate``): ``prunesim``
    (:func:`version_record`), ``model``, ``method``, ``options`` (every option in effect; none
    with a trace, which fixes the work), ``hardware`` (:func:`hardware_record` of ``hardware`` as
    given, named ``hardware_name``), ``stage`` (:func:`stage_record` of the stage run), ``mode``
    (the one run), ``weight_bits`` (the one given, else the model's default) and, with a trace,
    ``trace``: ``{"file", "sha256"}``."""
    record: dict[str, Any] = {
        "prunesim": version_record(),
        "model": model,
        "method": method,
        "options": {} if trace is not None else method_record(method, overrides)["options"],
        "hardware": hardware_record(hardware, hardware_name),
        "stage": stage_record(stage),
        "mode": mode,
        "weight_bits": _weight_bits(model, weight_bits),
    }
    if trace is not None:
        record["trace"] = {"file": os.fspath(trace), "sha256": file_sha256(trace)}
    return record


def compare_inputs(
    *,
    model: str,
    methods: Iterable[str],
    overrides: Mapping[str, Any],
    hardware: Sequence[Mapping[str, Any]],
    stage: Any,
    mode: str,
    weight_bits: int | None,
    per_method: Mapping[str, Mapping[str, Any]] | None = None,
) -> dict[str, Any]:
    """The record of one model's matrix (``prunesim compare``): what every point shares once
    (``prunesim``, ``model``, ``stage``, ``mode``, ``weight_bits``), ``methods``: each method run
    with its options in effect (``dense``, the reference, first and with its defaults: the
    overrides apply to the other methods; ``per_method[m]``, ``--set m.option=...``, to ``m``
    alone, dense included), and ``hardware``: the :func:`hardware_record` of each target asked,
    in order."""
    from prunesim.sim.compare import DENSE

    names = dict.fromkeys([DENSE, *methods])
    own = per_method or {}
    return {
        "prunesim": version_record(),
        "model": model,
        "methods": [
            method_record(m, {**({} if m == DENSE else overrides), **own.get(m, {})}) for m in names
        ],
        "hardware": [dict(target) for target in hardware],
        "stage": stage_record(stage),
        "mode": mode,
        "weight_bits": _weight_bits(model, weight_bits),
    }


def sweep_inputs(
    *,
    models: Sequence[str],
    methods: Sequence[str],
    hardware: Sequence[str | os.PathLike[str]],
    stage: Any,
    grid: Mapping[str, Sequence[Any]],
    samples: int | None,
    seed: int,
    pareto: Sequence[str] | None,
    points: int,
    priced: int,
    spec: str | os.PathLike[str] | None = None,
) -> dict[str, Any]:
    """The record of a sweep (``prunesim sweep``): ``prunesim`` (:func:`version_record`),
    ``models``, ``methods``, ``hardware`` (the :func:`hardware_record` of each target as given),
    ``stage`` (:func:`stage_record`; None: each model's family's default), ``grid`` (name ->
    values as given), ``samples``, ``seed``, ``pareto`` (the objectives, or None), ``points``
    (of the sweep), ``priced`` (rows written: fewer than ``points`` only when an interrupted
    sweep kept its finished rows) and, with a spec file, ``spec``: ``{"file", "sha256"}``.
    HardwareError (a ValueError) or OSError if a hardware file cannot be read again."""
    record: dict[str, Any] = {
        "prunesim": version_record(),
        "models": list(models),
        "methods": list(methods),
        "hardware": [hardware_record(item) for item in hardware],
        "stage": None if stage is None else stage_record(stage),
        "grid": jsonable({name: list(values) for name, values in grid.items()}),
        "samples": samples,
        "seed": seed,
        "pareto": None if pareto is None else list(pareto),
        "points": points,
        "priced": priced,
    }
    if spec is not None:
        record["spec"] = {"file": os.fspath(spec), "sha256": file_sha256(spec)}
    return record


def bench_inputs(bench: Any, args: argparse.Namespace) -> dict[str, Any]:
    """The record of a bench run: ``prunesim`` (:func:`version_record`), ``bench`` (its name)
    and ``parameters``: every option ``bench.add_arguments`` declares, by destination name, with
    its value in ``args`` (the default where ``args`` lacks it), JSON-ready."""
    parser = argparse.ArgumentParser(add_help=False)
    bench.add_arguments(parser)
    defaults = vars(parser.parse_args([]))
    parameters = {name: getattr(args, name, default) for name, default in defaults.items()}
    return {"prunesim": version_record(), "bench": bench.name, "parameters": jsonable(parameters)}


def synth_inputs(
    *, block: str, params: Mapping[str, Any], target: str, clock_mhz: float | None
) -> dict[str, Any]:
    """The record of a synthesis run (``prunesim synth``): ``prunesim``
    (:func:`version_record`), ``block``, ``params`` (every parameter in effect), ``target`` and
    ``clock_mhz`` (the constraint in effect: the target's default when none was given); the
    tools' versions are in the report itself."""
    return {
        "prunesim": version_record(),
        "block": block,
        "params": jsonable(params),
        "target": target,
        "clock_mhz": clock_mhz,
    }
