"""The ``lvlm`` family: multimodal LLMs (:class:`~prunesim.models.lvlm.LVLMConfig`: LLaVA).

Stages: the prefill of ``images`` images and ``text_tokens`` text tokens, or decoding
``generate`` tokens after it (defaults: the model's images and text). Runs are end to end by
default (the papers time the whole model) with 16-bit weights (served in half precision). A
transformer plan applies to the LLM part, the vision encoder running dense
(:func:`~prunesim.sim.methods.multimodal.lvlm_workload`).
"""

from __future__ import annotations

from typing import Any

from prunesim.models.lvlm import LVLMConfig
from prunesim.sim.families import Planner, StageRequest, register_family
from prunesim.sim.families.network import refuse_network_options
from prunesim.sim.families.transformer import DEFAULT_GENERATION
from prunesim.sim.methods.base import TransformerPlan
from prunesim.sim.methods.lvlm import dense_schedule
from prunesim.sim.methods.multimodal import (
    check_context,
    check_lvlm_stage,
    llm_stage,
    lvlm_workload,
)
from prunesim.sim.workload import Decode, Prefill, Stage, Workload

__all__ = ["LVLM"]


def _dense_plan(llm: Any, stage: Stage, options: Any) -> TransformerPlan:
    return TransformerPlan(token_keep=[1.0] * llm.layers, head_keep=[1.0] * llm.layers)


class LVLMFamily:
    """LLaVA-like models; see the module docstring."""

    name = "lvlm"
    noun = "a multimodal LLM"
    takes_plans = True
    order = 1

    def matches(self, model: Any) -> bool:
        return isinstance(model, LVLMConfig)

    def default_stage(self, model: LVLMConfig) -> Stage:
        """The prefill of the model's default images and text tokens."""
        return Prefill(model.default_images, model.default_text_tokens)

    def default_mode(self, model: LVLMConfig) -> str:
        """``"e2e"``: the papers time the whole model."""
        return "e2e"

    def default_weight_bits(self, model: LVLMConfig) -> int:
        """16: LVLMs are served in half precision."""
        return 16

    def stage(self, model: LVLMConfig, request: StageRequest) -> Stage:
        refuse_network_options(model, request)
        if (
            request.stage in ("summarize", "generate")
            or request.tokens is not None
            or request.prompt is not None
        ):
            raise ValueError(
                f"{model.name} is multimodal: use --stage prefill|decode with --images, "
                "--text-tokens and --generate"
            )
        images = request.images or model.default_images
        text = request.text_tokens or model.default_text_tokens
        if request.stage == "decode" or (request.stage == "auto" and request.generate is not None):
            stage: Stage = Decode(images, text, request.generate or DEFAULT_GENERATION.generate)
        elif request.generate is not None:
            raise ValueError("--generate is for --stage decode")
        else:
            stage = Prefill(images, text)
        self.check_stage(model, stage)
        return stage

    def check_stage(self, model: LVLMConfig, stage: Stage) -> None:
        """A prefill or decode stage whose tokens fit the LLM's context (``max_positions``):
        ``images x visual_tokens_per_image + text_tokens`` (the input without pruning, which
        the LLM must accept), plus ``generate`` when decoding (the KV cache grows to that);
        ValueError (one line) otherwise."""
        check_lvlm_stage(model, stage)
        per_image = model.visual_tokens_per_image
        parts = f"images {stage.images} x {per_image} visual + text_tokens {stage.text_tokens}"
        check_context(model, stage, stage.images * per_image + stage.text_tokens, parts)

    def dense_workload(
        self, model: LVLMConfig, stage: Stage, *, mode: str, weight_bits: int
    ) -> Workload:
        """No pruning anywhere: the LLM's plan keeps every token and head."""
        return self.plan_workload(
            model, stage, _dense_plan, None, method="dense", mode=mode, weight_bits=weight_bits
        )

    def plan_workload(
        self,
        model: LVLMConfig,
        stage: Stage,
        planner: Planner,
        options: Any,
        *,
        method: str,
        mode: str,
        weight_bits: int,
    ) -> Workload:
        """The vision encoder dense, ``planner``'s plan on the LLM part."""
        check_lvlm_stage(model, stage)
        schedule = dense_schedule(model, stage.images, stage.text_tokens)
        llm_plan = planner(model.llm, llm_stage(stage, schedule.visual_in), options)
        return lvlm_workload(
            model,
            stage,
            schedule,
            method=method,
            llm_plan=llm_plan,
            mode=mode,
            weight_bits=weight_bits,
        )

    def describe(self, model: LVLMConfig) -> str:
        return (
            f"multimodal: {model.vision.name} ({model.vision.tokens} tokens per image) + "
            f"{model.llm.name} ({model.llm.layers} layers, {model.llm.heads} heads, "
            f"{model.llm.kv_heads} KV heads); {model.visual_tokens_per_image} visual tokens per "
            f"image; default {model.default_images} images + {model.default_text_tokens} text; "
            f"{model.params() / 1e9:.2f}B params"
        )


LVLM = register_family(LVLMFamily())
