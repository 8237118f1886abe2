"""A toy pruning method, as a user would add one: ``uniform-keep`` keeps the same fraction of
the tokens at every layer of a transformer (or of an LVLM's LLM). This one module is the whole
method; ``tests/test_extending.py`` imports it and runs it through ``simulate`` and ``compare``.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Annotated, Any

from prunesim.sim.methods import register_method
from prunesim.sim.methods.base import TransformerPlan
from prunesim.sim.methods.common import PlannerMethod
from prunesim.sim.methods.options import Range, TypedOptions


@dataclass(frozen=True)
class UniformKeepOptions(TypedOptions):
    """``keep``: the fraction of tokens every layer keeps, in (0, 1]."""

    keep: Annotated[float, Range(0, 1, low_open=True)] = 0.5


def plan(model: Any, stage: Any, options: UniformKeepOptions) -> TransformerPlan:
    """The same keep ratio at every layer, every head kept, 32-bit data."""
    return TransformerPlan(token_keep=[options.keep] * model.layers, head_keep=[1.0] * model.layers)


METHOD = register_method(
    PlannerMethod(
        "uniform-keep",
        "toy: the same share of tokens kept at every layer",
        UniformKeepOptions(),
        order=90,
        planner=plan,
    )
)
