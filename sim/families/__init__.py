"""Model families: what the simulator needs to know about a kind of model, one module each.

A *family* (:class:`Family`) recognises its models (``matches``), gives their defaults (stage,
mode, weight bits), builds a stage from what the user asked (:class:`StageRequest`, the command
line's ``--stage``, ``--tokens`` ...), checks that a stage fits a model (``check_stage``: its
positions or context length; the one place those limits are checked, for the command line and
the Python API alike, before any workload is built), builds the dense workload, and describes a
model in one line (``prunesim list models``). :func:`family_of` is the one question the rest of
the simulator asks about a model's kind; nothing else switches on model types. Families that
take a transformer's per-layer plan (``takes_plans``: text transformers and the LLM part of
LVLMs) also turn one into a workload (:meth:`Family.plan_workload`), which is how SpAtten's
techniques run on them.

Families today: ``transformer`` (:mod:`~prunesim.sim.families.transformer`: BERT, GPT-2),
``lvlm`` (:mod:`~prunesim.sim.families.lvlm`: LLaVA models), ``cnn`` and ``unet``
(:mod:`~prunesim.sim.families.network`: CNNs and the SD UNet, with inference and training
stages). A new family is one module here that registers itself with :func:`register_family`.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Protocol

from prunesim.registry import Registry

if TYPE_CHECKING:
    from prunesim.sim.methods.base import TransformerPlan
    from prunesim.sim.workload import Stage, Workload

__all__ = [
    "FAMILIES",
    "STAGE_NAMES",
    "Family",
    "StageRequest",
    "family_of",
    "register_family",
]

#: Every ``--stage`` value some family takes (``auto``: the family's default).
STAGE_NAMES = ("auto", "summarize", "generate", "prefill", "decode", "infer", "train")


@dataclass(frozen=True)
class StageRequest:
    """What the user asked of a stage: the command line's workload options, None where not
    given. ``stage`` is one of :data:`STAGE_NAMES`; the others are counts (``tokens`` to
    summarize, a ``prompt`` and tokens to ``generate``, ``images`` and ``text_tokens`` of an
    LVLM, a ``batch`` of a network) and the ``mode`` and ``weight_bits`` of the workload."""

    stage: str = "auto"
    tokens: int | None = None
    prompt: int | None = None
    generate: int | None = None
    images: int | None = None
    text_tokens: int | None = None
    batch: int | None = None
    mode: str | None = None
    weight_bits: int | None = None


#: A transformer method's planner: (the transformer, its stage, the method's options) -> plan.
Planner = Callable[[Any, "Stage", Any], "TransformerPlan"]


class Family(Protocol):
    """A kind of model. ``name`` names it; ``noun`` says what such a model is in messages
    (``"a convolutional network"``); ``takes_plans``: whether :meth:`plan_workload` exists;
    ``order`` sorts the families for listings."""

    name: str
    noun: str
    takes_plans: bool
    order: float

    def matches(self, model: Any) -> bool:
        """Whether ``model`` (any model object) is of this family."""
        ...

    def default_stage(self, model: Any) -> Stage:
        """The stage a run of ``model`` takes when none is given."""
        ...

    def default_mode(self, model: Any) -> str:
        """``"attention"``, ``"e2e"`` or ``"network"``: what a run covers by default."""
        ...

    def default_weight_bits(self, model: Any) -> int:
        """Bits per weight in DRAM when a run prices linear layers and none are given."""
        ...

    def stage(self, model: Any, request: StageRequest) -> Stage:
        """The stage ``request`` asks of ``model``; ValueError (one line) for options this
        family does not take or values that do not fit the model (:meth:`check_stage`)."""
        ...

    def check_stage(self, model: Any, stage: Stage) -> None:
        """ValueError (one line, naming the stage's fields) unless ``model`` runs ``stage``: a
        kind of stage this family takes, within the model's limits (a transformer's positions,
        an LVLM's context length). Cheap: called before any workload is built."""
        ...

    def dense_workload(self, model: Any, stage: Stage, *, mode: str, weight_bits: int) -> Workload:
        """``model`` run as it is (no pruning) in ``stage``."""
        ...

    def plan_workload(
        self,
        model: Any,
        stage: Stage,
        planner: Planner,
        options: Any,
        *,
        method: str,
        mode: str,
        weight_bits: int,
    ) -> Workload:
        """The workload of a transformer plan (``planner(transformer, stage, options)``) on
        ``model``; only where ``takes_plans``."""
        ...

    def describe(self, model: Any) -> str:
        """``model`` in one line: its kind and sizes (``prunesim list models``)."""
        ...


def _family_order(family: Family) -> float:
    return family.order


#: Every family by name, in ``order``.
FAMILIES: Registry[Family] = Registry("prunesim.sim.families", "model family", _family_order)


def register_family(family: Family) -> Family:
    """Add ``family`` to :data:`FAMILIES` under its name; returns it."""
    return FAMILIES.register(family.name, family)


def family_of(model: Any) -> Family:
    """The family of ``model``; ValueError (one line) for an object no family matches."""
    for _, family in FAMILIES.items():
        if family.matches(model):
            return family
    shown = getattr(model, "name", type(model).__name__)
    raise ValueError(f"{shown!r} is not a model of a known family ({', '.join(FAMILIES.names())})")
