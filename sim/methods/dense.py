"""``dense``: any model as it is, the reference every method is compared with.

On the families that take a transformer plan (text transformers, LVLMs) dense is SpAtten's
planner with every technique off (:data:`~prunesim.sim.methods.spatten.ALL_OFF`), so its options
are SpAtten's: switching one on (``--set token_pruning=true``) gives that technique alone, which
the ablation and the paper reproduction use. On the other families (CNNs, the UNet) it is the
family's dense workload and the options do not apply.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from prunesim.sim.families import family_of
from prunesim.sim.methods import register_method
from prunesim.sim.methods.common import PlannerMethod
from prunesim.sim.methods.spatten import ALL_OFF, SpAttenOptions, plan
from prunesim.sim.workload import Stage, Workload

__all__ = ["DENSE", "DenseMethod"]


@dataclass(frozen=True)
class DenseMethod(PlannerMethod):
    """Every model; see the module docstring."""

    def unsupported(self, model: Any) -> str | None:
        return None

    def build(
        self, model: Any, stage: Stage, options: Any, *, mode: str, weight_bits: int
    ) -> Workload:
        family = family_of(model)
        if family.takes_plans:
            return super().build(model, stage, options, mode=mode, weight_bits=weight_bits)
        return family.dense_workload(model, stage, mode=mode, weight_bits=weight_bits)


DENSE = register_method(
    DenseMethod(
        "dense", "no pruning, 32-bit float Q/K/V", SpAttenOptions(**ALL_OFF), order=0, planner=plan
    )
)
