"""The ``transformer`` family: text transformers (BERT, GPT-2; :class:`TransformerConfig`).

Stages: summarization of ``tokens`` tokens at once (encoders, and a decoder's prefill) or
generation of ``generate`` tokens after a ``prompt`` (decoders). Defaults: SpAtten's settings,
attention only, 8-bit weights in end-to-end mode.
"""

from __future__ import annotations

from typing import Any

from prunesim.models.transformer import TransformerConfig
from prunesim.sim.families import Planner, StageRequest, register_family
from prunesim.sim.families.network import refuse_network_options
from prunesim.sim.methods.base import TransformerPlan, transformer_workload
from prunesim.sim.workload import Generate, Stage, Summarize, Workload

__all__ = ["DEFAULT_GENERATION", "DEFAULT_SUMMARIZATION_TOKENS", "TRANSFORMER"]

#: GPT-2's generation setting in SpAtten: a 992-token prompt, then 32 generated tokens.
DEFAULT_GENERATION = Generate(prompt=992, generate=32)
#: Tokens of a summarization (BERT). The paper's GLUE/SQuAD averages are under 100 tokens and
#: not published per task; 128 (a usual fine-tuning sequence length) is our default, a parameter.
DEFAULT_SUMMARIZATION_TOKENS = 128


class TransformerFamily:
    """BERT- and GPT-2-like models; see the module docstring."""

    name = "transformer"
    noun = "a text transformer"
    takes_plans = True
    order = 0

    def matches(self, model: Any) -> bool:
        return isinstance(model, TransformerConfig)

    def default_stage(self, model: TransformerConfig) -> Stage:
        """Generation (992 + 32) for decoders, summarization of 128 tokens (at most the
        model's positions) for encoders."""
        if model.decoder:
            return DEFAULT_GENERATION
        return Summarize(min(DEFAULT_SUMMARIZATION_TOKENS, model.max_positions))

    def default_mode(self, model: TransformerConfig) -> str:
        """Attention only: SpAtten's setting."""
        return "attention"

    def default_weight_bits(self, model: TransformerConfig) -> int:
        """8: SpAtten's end-to-end setting."""
        return 8

    def stage(self, model: TransformerConfig, request: StageRequest) -> Stage:
        refuse_network_options(model, request)
        if request.stage in ("prefill", "decode") or request.images or request.text_tokens:
            raise ValueError(
                f"{model.name} is not multimodal: --stage prefill|decode, --images and "
                "--text-tokens are for LVLMs"
            )
        stage_name = request.stage
        if stage_name == "auto":
            if request.tokens is not None:
                stage_name = "summarize"
            elif request.prompt is not None or request.generate is not None:
                stage_name = "generate"
            else:
                return self.default_stage(model)
        if stage_name == "summarize":
            return self._summarize(model, request)
        return self._generate(model, request)

    def _summarize(self, model: TransformerConfig, request: StageRequest) -> Summarize:
        if request.prompt is not None or request.generate is not None:
            raise ValueError("--prompt and --generate are for --stage generate")
        stage = Summarize(request.tokens or DEFAULT_SUMMARIZATION_TOKENS)
        self.check_stage(model, stage)
        return stage

    def _generate(self, model: TransformerConfig, request: StageRequest) -> Generate:
        if request.tokens is not None:
            raise ValueError("--tokens is for --stage summarize")
        prompt = DEFAULT_GENERATION.prompt if request.prompt is None else request.prompt
        generate = DEFAULT_GENERATION.generate if request.generate is None else request.generate
        stage = Generate(prompt, generate)
        self.check_stage(model, stage)
        return stage

    def check_stage(self, model: TransformerConfig, stage: Stage) -> None:
        """A summarization of at most ``max_positions`` tokens, or (decoders only) a generation
        whose ``prompt + generate`` tokens fit them; ValueError (one line) otherwise."""
        if isinstance(stage, Summarize):
            if stage.tokens > model.max_positions:
                raise ValueError(
                    f"tokens {stage.tokens} exceeds {model.name}'s {model.max_positions} positions"
                )
        elif isinstance(stage, Generate):
            if not model.decoder:
                raise ValueError(
                    f"{model.name} is an encoder: it cannot generate (summarize instead: "
                    "--stage summarize)"
                )
            total = stage.prompt + stage.generate
            if total > model.max_positions:
                raise ValueError(
                    f"prompt {stage.prompt} + generate {stage.generate} = {total} tokens exceed "
                    f"{model.name}'s {model.max_positions} positions"
                )
        else:
            raise ValueError(
                f"{model.name} is {self.noun}: it takes a summarize or generate stage, "
                f"not {stage.describe()}"
            )

    def dense_workload(
        self, model: TransformerConfig, stage: Stage, *, mode: str, weight_bits: int
    ) -> Workload:
        dense = TransformerPlan(token_keep=[1.0] * model.layers, head_keep=[1.0] * model.layers)
        return transformer_workload(
            model, stage, dense, method="dense", mode=mode, weight_bits=weight_bits
        )

    def plan_workload(
        self,
        model: TransformerConfig,
        stage: Stage,
        planner: Planner,
        options: Any,
        *,
        method: str,
        mode: str,
        weight_bits: int,
    ) -> Workload:
        plan = planner(model, stage, options)
        return transformer_workload(
            model, stage, plan, method=method, mode=mode, weight_bits=weight_bits
        )

    def describe(self, model: TransformerConfig) -> str:
        kind = "decoder" if model.decoder else "encoder"
        return (
            f"{kind}, {model.layers} layers, hidden {model.hidden}, {model.heads} heads "
            f"(d {model.d}), FFN {model.ffn}, {model.params() / 1e6:.1f}M params"
        )


TRANSFORMER = register_family(TransformerFamily())
