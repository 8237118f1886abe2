"""The registry of synthesis targets.

A target turns a block's Verilog into a :class:`~prunesim.synth.report.SynthReport`. Each lives
in its own module (``prunesim.synth.fpga`` registers ``fpga-ecp5`` and ``fpga-ice40``,
``prunesim.synth.asic`` registers ``asic``) and calls :func:`register_target` at import;
:func:`get_target` imports the module that owns a name on first use, so listing the names needs
no tool.

Contract of :meth:`Target.run`: given a :class:`SynthJob` (the Verilog already written into the
job's work folder), run the tools with the work folder as their current directory and relative
file names (the YoWASP tools cannot see absolute ``/tmp`` paths), write each step's log into
the work folder, call ``job.progress(step)`` once per step (one line each, e.g.
``"synth_ecp5"``), and return the report. A tool that is missing raises
:class:`~prunesim.toolchain.ToolchainError` naming it; one that fails raises
:class:`SynthToolError` naming the tool and its log file. Nothing else may be written outside
the work folder.
"""

from __future__ import annotations

import importlib
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Protocol

from prunesim.synth.report import SynthReport

__all__ = [
    "TARGET_MODULES",
    "SynthJob",
    "SynthToolError",
    "Target",
    "get_target",
    "register_target",
    "target_names",
]


class SynthToolError(RuntimeError):
    """A synthesis tool ran and failed; the message is one line naming the tool and its log."""


@dataclass(frozen=True)
class SynthJob:
    """One block to synthesize: its registry name and parameters, the Verilog file (inside
    ``workdir``), its top module, the clock constraint (``None``: the target's default), and
    optionally per-net switching activity for the power analysis (``activity``: net name ->
    toggles per clock cycle, from :mod:`prunesim.synth.activity`)."""

    block: str
    params: Mapping[str, Any]
    verilog: Path
    top: str
    workdir: Path
    clock_mhz: float | None = None
    activity: Mapping[str, float] | None = None
    activity_source: str | None = None
    progress: Callable[[str], None] = field(default=lambda step: None, compare=False)


class Target(Protocol):
    """A synthesis target: ``name`` (``"fpga-ecp5"``), ``summary`` (one line for ``--help``),
    ``default_clock_mhz``, :meth:`tool_versions` (each tool and its version: the cache key)
    and :meth:`run` (the module docstring states its contract)."""

    name: str
    summary: str
    default_clock_mhz: float

    def tool_versions(self) -> dict[str, str]: ...

    def run(self, job: SynthJob) -> SynthReport: ...


# Which module registers each target: imported on first use of the name.
TARGET_MODULES: dict[str, str] = {
    "fpga-ecp5": "prunesim.synth.fpga",
    "fpga-ice40": "prunesim.synth.fpga",
    "asic": "prunesim.synth.asic",
}

_TARGETS: dict[str, Target] = {}


def register_target(target: Target) -> Target:
    """Add ``target`` to the registry under ``target.name`` (which :data:`TARGET_MODULES` must
    list); returns it."""
    if target.name not in TARGET_MODULES:
        raise ValueError(f"target {target.name!r} is not listed in TARGET_MODULES")
    _TARGETS[target.name] = target
    return target


def target_names() -> list[str]:
    """The targets' names, the default (``fpga-ecp5``) first."""
    return list(TARGET_MODULES)


def get_target(name: str) -> Target:
    """The target called ``name``; ``ValueError`` naming it and the choices if there is none."""
    if name not in TARGET_MODULES:
        choices = ", ".join(TARGET_MODULES)
        raise ValueError(f"unknown synthesis target {name!r} (choose from {choices})")
    if name not in _TARGETS:
        importlib.import_module(TARGET_MODULES[name])
    return _TARGETS[name]


def targets() -> Mapping[str, Target]:
    """Every target, each module imported."""
    return {name: get_target(name) for name in TARGET_MODULES}
