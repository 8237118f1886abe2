"""Sweeps: many design points priced at once, beside the engine (a method never prices).

:func:`ofa_sweep` prices thousands of Once-for-All sub-nets on many targets: the method builds one
workload whose layer ``i`` is sub-net ``i`` (:func:`prunesim.sim.methods.ofa.sweep_workload`),
which each target prices once; a sub-net's seconds are its layer's.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any, NamedTuple

from prunesim.models import get_model
from prunesim.models.ofa import OFASpec, ofa_macs
from prunesim.sim.api import make_workload
from prunesim.sim.engine import evaluate
from prunesim.sim.hardware import as_target
from prunesim.sim.methods.ofa import (
    DEFAULT_STAGE,
    WIDTH,
    BlockRows,
    spec_options,
    sweep_workload,
)
from prunesim.sim.workload import Infer, Stage

__all__ = ["SweepPoint", "ofa_sweep"]


class SweepPoint(NamedTuple):
    """One sub-net of a sweep: its spec, MACs and seconds per target name."""

    spec: OFASpec
    macs: int
    seconds: dict[str, float]


def ofa_sweep(
    specs: Iterable[OFASpec],
    hardware: Iterable[Any],
    stage: Stage = DEFAULT_STAGE,
    cache: BlockRows | None = None,
) -> list[SweepPoint]:
    """MACs and seconds of each sub-net in ``specs`` on each target in ``hardware`` (preset
    names, paths or loaded targets).

    Inference: one batched evaluation per target (module docstring); the seconds equal
    ``evaluate(make_workload(model, "ofa", stage=stage, ...), hw).seconds`` to float rounding.
    ``cache`` keeps the block rows between sweeps (None: a fresh one). Other stages are priced
    one sub-net at a time. Raises ValueError for a target that cannot price convolutions (the
    SpAtten-class accelerators, published ones)."""
    specs = list(specs)
    targets = [as_target(h) for h in hardware]
    seconds: dict[str, list[float]] = {}
    if isinstance(stage, Infer):
        workload = sweep_workload(specs, stage, cache)
        for hw in targets:
            result = evaluate(workload, hw)
            seconds[hw.name] = [layer.seconds for layer in result.layers]
    else:
        for hw in targets:
            seconds[hw.name] = []
        for spec in specs:
            model = get_model(next(name for name, w in WIDTH.items() if w == spec.w))
            workload = make_workload(model, "ofa", stage=stage, **spec_options(spec))
            for hw in targets:
                seconds[hw.name].append(evaluate(workload, hw).seconds)
    return [
        SweepPoint(spec, ofa_macs(spec), {name: values[i] for name, values in seconds.items()})
        for i, spec in enumerate(specs)
    ]
