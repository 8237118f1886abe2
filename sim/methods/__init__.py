"""Pruning methods: each turns a model and a stage into a workload, never seeing hardware.

:data:`METHODS` maps a method name to a :class:`Method`: its options (a frozen dataclass whose
fields are the knobs, with the paper's values as defaults) and its planner. ``dense`` and the
SpAtten variants (``spatten-token`` ... ``spatten``) share SpAtten's planner with techniques
switched off, so the ablation is one ``prunesim compare`` command; they also prune an LVLM's
LLM part. ``catp``, ``vflowopt`` and ``aim`` prune an LVLM's visual tokens
(:mod:`prunesim.sim.methods.lvlm`). ``lapp``, ``fedtiny``, ``supertickets``, ``ofa`` and ``sara``
prune convolutional networks (or fine-tune the SD UNet) and build their workloads with
:mod:`prunesim.sim.methods.network`; ``dense`` runs any model as it is. A later method is one
module here and one entry in :data:`METHODS`.
"""

from __future__ import annotations

import dataclasses
import types
import typing
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

from prunesim.models import TransformerConfig
from prunesim.sim.methods import (
    aim,
    catp,
    fedtiny,
    lapp,
    ofa,
    sara,
    spatten,
    supertickets,
    vflowopt,
)
from prunesim.sim.methods.base import TransformerPlan, transformer_workload
from prunesim.sim.workload import Stage, Workload

__all__ = ["METHODS", "Method", "get_method", "method_names", "parse_option"]


@dataclass(frozen=True)
class Method:
    """A named method: ``options`` (a dataclass instance holding the defaults) and what it does.

    A transformer method has a ``planner`` (model, stage, options -> :class:`TransformerPlan`);
    an LVLM method has a ``visual`` schedule (model, images, text tokens, options ->
    :class:`~prunesim.sim.methods.lvlm.VisualSchedule`) and the model names it ``supports``.
    SpAtten's planner also applies to an LVLM's LLM part (its vision part then runs dense).
    A network method (CNNs, the SD UNet) has a ``network`` builder (model, stage, options ->
    :class:`Workload`) and the model names it ``supports``. ``dense`` runs every model; the
    SpAtten variants prune transformers and LVLMs only.
    """

    name: str
    summary: str
    options: Any
    planner: Callable[[TransformerConfig, Stage, Any], TransformerPlan] | None = None
    visual: Callable[..., Any] | None = None
    network: Callable[[Any, Stage, Any], Workload] | None = None
    supports: tuple[str, ...] | None = None  # None: every model it can plan

    def option_fields(self) -> dict[str, dataclasses.Field]:
        return {f.name: f for f in dataclasses.fields(self.options) if f.name != "notes"}

    def check_model(self, model: Any) -> None:
        """Raise ValueError (one line naming the models it supports) if it cannot prune
        ``model``."""
        from prunesim.models import is_network
        from prunesim.models.lvlm import LVLMConfig

        name = getattr(model, "name", model)
        if self.supports is not None and (
            name not in self.supports
            or (self.visual is not None and not isinstance(model, LVLMConfig))
            or (self.network is not None and not is_network(model))
        ):
            raise ValueError(f"{self.name} supports {', '.join(self.supports)}, not {name!r}")
        if self.network is None and self.visual is None and is_network(model):
            if self.name != "dense":
                raise ValueError(
                    f"{self.name} prunes transformers and multimodal LLMs, not {name!r} "
                    "(a convolutional network: try lapp, fedtiny, supertickets, ofa or sara)"
                )

    def can_prune(self, model: Any) -> bool:
        try:
            self.check_model(model)
        except ValueError:
            return False
        return True

    def with_options(self, overrides: Mapping[str, Any]) -> Any:
        """The default options with ``overrides``; ValueError names an unknown or bad option."""
        fields = self.option_fields()
        unknown = sorted(set(overrides) - set(fields))
        if unknown:
            raise ValueError(
                f"unknown option {unknown[0]!r} for method {self.name} "
                f"(choose from {', '.join(fields)})"
            )
        hints = typing.get_type_hints(type(self.options))
        values = {
            name: parse_option(name, value, hints[name]) if isinstance(value, str) else value
            for name, value in overrides.items()
        }
        options = dataclasses.replace(self.options, **values)
        if hasattr(options, "validate"):
            options.validate()
        return options

    def workload(
        self,
        model: Any,
        stage: Stage,
        *,
        mode: str = "attention",
        weight_bits: int = 8,
        **overrides: Any,
    ) -> Workload:
        """The workload of ``model`` in ``stage`` under this method with ``overrides``."""
        from prunesim.models import is_network
        from prunesim.models.lvlm import LVLMConfig

        self.check_model(model)
        options = self.with_options(overrides)
        if is_network(model):
            from prunesim.sim.methods.network import dense_network_workload

            if self.network is not None:
                return self.network(model, stage, options)
            return dense_network_workload(model, stage)
        if isinstance(model, LVLMConfig):
            return self._lvlm_workload(model, stage, options, mode, weight_bits)
        plan = self.planner(model, stage, options)
        return transformer_workload(
            model, stage, plan, method=self.name, mode=mode, weight_bits=weight_bits
        )

    def _lvlm_workload(self, model, stage, options, mode, weight_bits) -> Workload:
        from prunesim.sim.methods.lvlm import dense_schedule
        from prunesim.sim.methods.multimodal import llm_stage, lvlm_workload
        from prunesim.sim.workload import Decode, Prefill

        if not isinstance(stage, Prefill | Decode):
            raise ValueError(
                f"{model.name} takes a prefill or decode stage (images and text tokens), "
                f"not {stage.describe()}"
            )
        if self.visual is not None:
            schedule = self.visual(model, stage.images, stage.text_tokens, options)
            llm_plan = None
        else:
            schedule = dense_schedule(model, stage.images, stage.text_tokens)
            llm_plan = self.planner(model.llm, llm_stage(stage, schedule.visual_in), options)
        return lvlm_workload(
            model,
            stage,
            schedule,
            method=self.name,
            llm_plan=llm_plan,
            mode=mode,
            weight_bits=weight_bits,
        )


def _base_type(annotation: Any) -> tuple[type, bool]:
    """(the scalar type, whether None is allowed) of a dataclass field annotation."""
    args = typing.get_args(annotation)
    if isinstance(annotation, types.UnionType) or typing.get_origin(annotation) is typing.Union:
        scalars = [a for a in args if a is not type(None)]
        return scalars[0], type(None) in args
    return annotation, False


def parse_option(name: str, text: str, annotation: Any) -> Any:
    """Parse the command-line value ``text`` of option ``name``; ValueError names both."""
    kind, optional = _base_type(annotation)
    lowered = text.strip().lower()
    if optional and lowered in ("none", "auto", ""):
        return None
    try:
        if kind is bool:
            if lowered in ("1", "true", "yes", "on"):
                return True
            if lowered in ("0", "false", "no", "off"):
                return False
            raise ValueError
        if kind is int:
            return int(text)
        if kind is float:
            return float(text)
        return text
    except ValueError:
        expected = {bool: "true or false", int: "an integer", float: "a number"}.get(kind, "text")
        raise ValueError(f"option {name} must be {expected}, not {text!r}") from None


METHODS: dict[str, Method] = {
    name: Method(name, summary, options, planner=spatten.plan)
    for name, (summary, options) in spatten.VARIANTS.items()
}
METHODS.update(
    {
        "catp": Method(
            "catp",
            "CATP: image tokens of in-context demonstrations, before the decoder and at layer K",
            catp.CATPOptions(),
            visual=catp.schedule,
            supports=catp.SUPPORTED,
        ),
        "vflowopt": Method(
            "vflowopt",
            "VFlowOpt: visual tokens in three stages (before the LLM, two LLM layers), recycled",
            vflowopt.VFlowOptOptions(),
            visual=vflowopt.schedule,
            supports=vflowopt.SUPPORTED,
        ),
        "aim": Method(
            "aim",
            "AIM: visual tokens merged before the LLM, then pruned layer by layer",
            aim.AIMOptions(),
            visual=aim.schedule,
            supports=aim.SUPPORTED,
        ),
    }
)


# Network methods (CNNs, the SD UNet), in the order of the issue that brought them.
_NETWORK_METHODS = (
    (
        lapp,
        "LAPP: output channels per width group under a FLOPs budget, low-rank bypass per pruned "
        "conv",
        lapp.LAPPOptions(),
    ),
    (
        fedtiny,
        "FedTiny: unstructured ERK/uniform layer densities; a federated client's memory and "
        "traffic",
        fedtiny.FedTinyOptions(),
    ),
    (
        supertickets,
        "SuperTickets: HR-NAS supernet slimmed (released widths) + global magnitude sparsity",
        supertickets.SuperTicketsOptions(),
    ),
    (
        ofa,
        "Once-for-All: a sub-net (kernels, expand ratios, depths, resolution) of the "
        "MobileNetV3 supernet",
        ofa.OFAOptions(),
    ),
    (
        sara,
        "SaRA: one SD UNet fine-tuning step (SaRA's sparse budget + mask, LoRA or full): memory",
        sara.SaRAOptions(),
    ),
)
for _module, _summary, _options in _NETWORK_METHODS:
    _name = _module.__name__.rsplit(".", 1)[1]
    METHODS[_name] = Method(
        _name, _summary, _options, network=_module.build, supports=_module.SUPPORTED
    )


def method_names() -> list[str]:
    return list(METHODS)


def get_method(name: str) -> Method:
    """The method called ``name``; ValueError lists the valid names."""
    try:
        return METHODS[name]
    except KeyError:
        raise ValueError(f"unknown method {name!r} (choose from {', '.join(METHODS)})") from None
