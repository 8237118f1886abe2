"""The shapes a method takes, each a :class:`~prunesim.sim.methods.Method`.

* :class:`MethodBase`: what every method shares: resolving options (typed, checked:
  :func:`~prunesim.sim.methods.options.resolve`) and the one entry point :meth:`MethodBase.workload`
  (check the model, resolve the options, build).
* :class:`PlannerMethod`: a per-layer transformer plan (token/head keep ratios, bit widths),
  applied by the model's family wherever one applies (text transformers, an LVLM's LLM part).
* :class:`VisualMethod`: an LVLM's visual-token schedule, for the models its paper evaluates.
* :class:`NetworkMethod`: a builder of a network's workload (CNNs, the SD UNet), for the
  models it is made for.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

from prunesim.sim.families import family_of
from prunesim.sim.methods import METHODS
from prunesim.sim.methods.multimodal import check_lvlm_stage, lvlm_workload
from prunesim.sim.methods.options import field_names, resolve
from prunesim.sim.workload import Stage, Workload

__all__ = ["MethodBase", "NetworkMethod", "PlannerMethod", "VisualMethod", "supported_error"]


def supported_error(method: str, supported: tuple[str, ...], model: Any) -> str:
    """``catp supports llava-next-7b, llava-next-13b, not 'gpt2-small'``."""
    return f"{method} supports {', '.join(supported)}, not {getattr(model, 'name', model)!r}"


@dataclass(frozen=True)
class MethodBase:
    """A method's name, summary, default ``options`` and listing ``order``; subclasses give
    :meth:`unsupported` and :meth:`build`."""

    name: str
    summary: str
    options: Any
    order: float

    supports: tuple[str, ...] | None = None

    def option_fields(self) -> list[str]:
        """The option names, in declaration order."""
        return field_names(self.options)

    def with_options(self, overrides: Mapping[str, Any]) -> Any:
        """The default options with ``overrides`` (text or values); ValueError names an
        unknown or bad option."""
        return resolve(self.options, overrides, owner=self.name)

    def unsupported(self, model: Any) -> str | None:
        raise NotImplementedError

    def check_model(self, model: Any) -> None:
        """Raise ValueError (:meth:`unsupported`'s reason) if this method cannot prune
        ``model``."""
        reason = self.unsupported(model)
        if reason is not None:
            raise ValueError(reason)

    def can_prune(self, model: Any) -> bool:
        return self.unsupported(model) is None

    def build(
        self, model: Any, stage: Stage, options: Any, *, mode: str, weight_bits: int
    ) -> Workload:
        raise NotImplementedError

    def workload(
        self,
        model: Any,
        stage: Stage,
        *,
        mode: str = "attention",
        weight_bits: int = 8,
        **overrides: Any,
    ) -> Workload:
        """The workload of ``model`` in ``stage`` under this method with ``overrides``;
        ValueError (one line) for a model it cannot prune or a bad option."""
        self.check_model(model)
        options = self.with_options(overrides)
        return self.build(model, stage, options, mode=mode, weight_bits=weight_bits)


def _one_of(names: list[str]) -> str:
    return names[0] if len(names) == 1 else f"{', '.join(names[:-1])} or {names[-1]}"


@dataclass(frozen=True)
class PlannerMethod(MethodBase):
    """A transformer plan: ``planner(transformer, stage, options)`` gives the per-layer plan;
    the model's family turns it into a workload (an LVLM's vision encoder runs dense)."""

    planner: Callable[[Any, Stage, Any], Any] | None = None

    def unsupported(self, model: Any) -> str | None:
        family = family_of(model)
        if family.takes_plans:
            return None
        others = [
            name
            for name, method in METHODS.items()
            if method.supports is not None and method.unsupported(model) is None
        ]
        hint = f": try {_one_of(others)}" if others else ""
        return (
            f"{self.name} prunes transformers and multimodal LLMs, not {model.name!r} "
            f"({family.noun}{hint})"
        )

    def build(
        self, model: Any, stage: Stage, options: Any, *, mode: str, weight_bits: int
    ) -> Workload:
        return family_of(model).plan_workload(
            model,
            stage,
            self.planner,
            options,
            method=self.name,
            mode=mode,
            weight_bits=weight_bits,
        )


@dataclass(frozen=True)
class VisualMethod(MethodBase):
    """An LVLM's visual-token schedule: ``schedule(model, images, text_tokens, options)`` gives a
    :class:`~prunesim.sim.methods.lvlm.VisualSchedule` for the models in ``supports``."""

    schedule: Callable[..., Any] | None = None

    def unsupported(self, model: Any) -> str | None:
        assert self.supports is not None
        if getattr(model, "name", None) not in self.supports or family_of(model).name != "lvlm":
            return supported_error(self.name, self.supports, model)
        return None

    def build(
        self, model: Any, stage: Stage, options: Any, *, mode: str, weight_bits: int
    ) -> Workload:
        check_lvlm_stage(model, stage)
        schedule = self.schedule(model, stage.images, stage.text_tokens, options)
        return lvlm_workload(
            model, stage, schedule, method=self.name, mode=mode, weight_bits=weight_bits
        )


@dataclass(frozen=True)
class NetworkMethod(MethodBase):
    """A network's workload: ``builder(model, stage, options)``, for the models in
    ``supports`` (networks of the family ``family``)."""

    builder: Callable[[Any, Stage, Any], Workload] | None = None
    family: str = "cnn"

    def unsupported(self, model: Any) -> str | None:
        assert self.supports is not None
        if getattr(model, "name", None) not in self.supports:
            return supported_error(self.name, self.supports, model)
        if family_of(model).name != self.family:
            return supported_error(self.name, self.supports, model)
        return None

    def build(
        self, model: Any, stage: Stage, options: Any, *, mode: str, weight_bits: int
    ) -> Workload:
        return self.builder(model, stage, options)
