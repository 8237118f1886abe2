"""Pricing: a :class:`~prunesim.sim.workload.Workload` on a hardware target.

:func:`evaluate` asks the target's cost model (its kind, :mod:`prunesim.sim.costs`) whether it
can run the workload, then for its cost: a :class:`~prunesim.sim.result.SimResult` (totals,
per-tensor DRAM bytes, an energy breakdown and a per-layer table). Each kind's module states its
model in its docstring: :mod:`~prunesim.sim.costs.accelerator` (SpAtten-class accelerators),
:mod:`~prunesim.sim.costs.processor` (GPUs and CPUs running eager PyTorch),
:mod:`~prunesim.sim.costs.systolic` (systolic arrays) and :mod:`~prunesim.sim.costs.published`
(accelerators known by their published figures).
"""

from __future__ import annotations

from prunesim.sim.costs import Hardware
from prunesim.sim.result import LayerResult, SimResult
from prunesim.sim.workload import Workload

__all__ = ["LayerResult", "SimResult", "evaluate", "unsupported"]


def unsupported(workload: Workload, hardware: Hardware) -> str | None:
    """Why ``hardware`` cannot price ``workload`` (one line), or None when it can."""
    return hardware.unsupported(workload)


def evaluate(workload: Workload, hardware: Hardware) -> SimResult:
    """Price ``workload`` on ``hardware``; ValueError (the reason, one line) when the target
    cannot run it (:func:`unsupported`)."""
    reason = hardware.unsupported(workload)
    if reason is not None:
        raise ValueError(reason)
    return hardware.price(workload)
