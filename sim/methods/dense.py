"""``dense``: any model as it is, the reference every method is compared with.

On the families that take a transformer plan (text transformers, LVLMs) dense is SpAtten's
planner with every technique off (:data:`~prunesim.sim.methods.spatten.ALL_OFF`), so its options
are SpAtten's: switching one on (``--set token_pruning=true``) gives that technique alone, which
the paper reproduction uses (:mod:`prunesim.sim.paper`). Such a run is labelled with what ran:
its workload's method is ``dense`` followed by every option that differs from dense's own
(``dense (token_pruning=True)``), never plain ``dense``. On the other families (CNNs, the UNet)
it is the family's dense workload, which takes no options: any given is refused.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from prunesim.sim.families import family_of
from prunesim.sim.methods import register_method
from prunesim.sim.methods.common import PlannerMethod
from prunesim.sim.methods.options import field_names, format_value
from prunesim.sim.methods.spatten import ALL_OFF, SpAttenOptions, plan
from prunesim.sim.workload import Stage, Workload

__all__ = ["DENSE", "DenseMethod"]


@dataclass(frozen=True)
class DenseMethod(PlannerMethod):
    """Every model; see the module docstring."""

    def unsupported(self, model: Any) -> str | None:
        return None

    def label(self, options: Any) -> str:
        """``dense``, or ``dense (NAME=VALUE, ...)`` naming each option of ``options`` that
        differs from dense's defaults, in declaration order."""
        changed = [
            f"{name}={format_value(getattr(options, name))}"
            for name in field_names(options)
            if getattr(options, name) != getattr(self.options, name)
        ]
        return f"{self.name} ({', '.join(changed)})" if changed else self.name

    def workload(
        self,
        model: Any,
        stage: Stage,
        *,
        mode: str = "attention",
        weight_bits: int = 8,
        **overrides: Any,
    ) -> Workload:
        """As every method's; ValueError (one line) for options on a model no transformer
        plan applies to (they would be ignored)."""
        family = family_of(model)
        if overrides and not family.takes_plans:
            raise ValueError(
                f"dense takes no options on {model.name} ({family.noun}): its options are "
                f"SpAtten's techniques, for transformers and multimodal LLMs; drop "
                f"{', '.join(sorted(overrides))}"
            )
        return super().workload(model, stage, mode=mode, weight_bits=weight_bits, **overrides)

    def build(
        self, model: Any, stage: Stage, options: Any, *, mode: str, weight_bits: int
    ) -> Workload:
        family = family_of(model)
        if not family.takes_plans:
            return family.dense_workload(model, stage, mode=mode, weight_bits=weight_bits)
        return family.plan_workload(
            model,
            stage,
            self.planner,
            options,
            method=self.label(options),
            mode=mode,
            weight_bits=weight_bits,
        )


DENSE = register_method(
    DenseMethod(
        "dense", "no pruning, 32-bit float Q/K/V", SpAttenOptions(**ALL_OFF), order=0, planner=plan
    )
)
