"""LVLM workloads: a vision encoder, a projector and an LLM, with what a method leaves.

:func:`lvlm_workload` builds the workload of an :class:`~prunesim.models.lvlm.LVLMConfig` for a
:class:`~prunesim.sim.workload.Prefill` or :class:`~prunesim.sim.workload.Decode` stage from

* a :class:`~prunesim.sim.methods.lvlm.VisualSchedule` (visual tokens entering the LLM and alive
  at each LLM layer: CATP, VFlowOpt, AIM, or dense), and
* optionally a SpAtten plan for the LLM part (cascade token/head pruning and quantization on the
  LLM's tokens and KV cache), which replaces the schedule's per-layer counts.

Prefill: the vision encoder runs in full on every image (its attention once per image, its
linear layers and patch embedding on all images' tokens at once, weights read once), the
projector on every image's ``projector_tokens_per_image`` tokens (before any pooling), the
method's overheads (merging, scoring) as extra matrix products, then the LLM on text plus
surviving visual tokens (end-to-end mode adds its linear layers and the LM head for the last
token). Decode: the LLM only, step ``t`` attending over the KV cache the prefill left at each
layer plus ``t + 1`` generated tokens. Elements are 16-bit (the models are served in half
precision) unless a method quantizes them; weights are ``weight_bits`` wide in DRAM.
"""

from __future__ import annotations

import numpy as np

from prunesim.models.lvlm import LVLMConfig
from prunesim.sim.methods.base import (
    TransformerPlan,
    concat_workloads,
    transformer_workload,
)
from prunesim.sim.workload import (
    AttentionRows,
    Decode,
    Generate,
    LinearRows,
    Prefill,
    Summarize,
    Workload,
)

__all__ = [
    "SERVING",
    "SERVING_BITS",
    "check_context",
    "check_llm_context",
    "check_lvlm_stage",
    "llm_stage",
    "lvlm_workload",
]

#: Bits of an element of an LVLM served in half precision (fp16/bf16).
SERVING_BITS = 16
#: The precision LVLMs are served in: ``transformer_workload``'s ``serving``.
SERVING = ("fp16", SERVING_BITS)


def check_lvlm_stage(model: LVLMConfig, stage: object) -> None:
    """ValueError (one line) unless ``stage`` is a :class:`Prefill` or :class:`Decode`."""
    if not isinstance(stage, Prefill | Decode):
        raise ValueError(
            f"{model.name} takes a prefill or decode stage (images and text tokens), "
            f"not {stage.describe()}"
        )


def check_context(
    model: LVLMConfig, stage: Prefill | Decode, tokens_in: int, parts: str, *, who: str = ""
) -> None:
    """ValueError (one line) unless ``tokens_in`` tokens entering the LLM, plus the generated
    ones when ``stage`` decodes (the KV cache grows to that), fit its context
    (``model.max_positions``). ``parts`` spells how ``tokens_in`` adds up; ``who`` (a method's
    name) leads the message when given: ``aim: 10000 visual + 64 text tokens = 10064 tokens
    exceed llava-1.5-7b's context of 4096 positions (vicuna-7b-v1.5)``."""
    total = tokens_in
    if isinstance(stage, Decode):
        total += stage.generate
        parts += f" + generate {stage.generate}"
    if total > model.max_positions:
        lead = f"{who}: " if who else ""
        raise ValueError(
            f"{lead}{parts} = {total} tokens exceed {model.name}'s context of "
            f"{model.max_positions} positions ({model.llm.name})"
        )


def check_llm_context(model: LVLMConfig, stage: Prefill | Decode, schedule, *, method: str) -> None:
    """ValueError (one line, naming ``method``) unless the LLM's input under ``schedule`` fits
    its context (:func:`check_context`): the visual tokens without pruning (``images x
    tokens_per_image``, which a method's ``tokens_per_image`` option may change; ``visual_in``
    where the schedule does not state it), the text tokens, and the generated tokens when
    decoding. The stage's own input (the model's tokens per image) is the family's check."""
    visual = schedule.visual_in
    if schedule.tokens_per_image is not None:
        visual = max(visual, schedule.dense_visual)
    parts = f"{visual} visual + {schedule.text_tokens} text tokens"
    check_context(model, stage, visual + schedule.text_tokens, parts, who=method)


def llm_stage(stage: Prefill | Decode, visual_in: int) -> Summarize | Generate:
    """The LLM's own stage: prefill of the tokens entering it, or generation after them."""
    tokens = stage.text_tokens + visual_in
    if isinstance(stage, Prefill):
        return Summarize(tokens)
    return Generate(prompt=tokens, generate=stage.generate)


def _dense_plan(layers: int, prompt_tokens: list[int] | None = None) -> TransformerPlan:
    return TransformerPlan(
        token_keep=[1.0] * layers, head_keep=[1.0] * layers, prompt_tokens=prompt_tokens
    )


def _overhead_rows(overheads, vision_hidden: int, weight_bits: int) -> LinearRows:
    """The method's extra work as matrix products of ``d``-wide token matrices.

    An overhead of ``m`` MACs is priced as ``(m / d^2)`` tokens times a ``d x d`` product (both
    operands activations of the vision width ``d``), so its traffic is that of the activations.
    """
    rows = [(name, macs) for name, macs in overheads if macs > 0]
    d = vision_hidden
    n = len(rows)
    return LinearRows(
        step=np.zeros(n, np.int64),
        layer=np.zeros(n, np.int64),
        tokens=np.array([max(1, round(macs / (d * d))) for _, macs in rows], np.int64),
        in_features=np.full(n, d),
        out_features=np.full(n, d),
        w_bits=np.full(n, SERVING_BITS),
        a_bits=np.full(n, SERVING_BITS),
    )


def _llm_part(
    model: LVLMConfig,
    stage: Prefill | Decode,
    schedule,
    *,
    method: str,
    llm_plan: TransformerPlan | None,
    mode: str,
    weight_bits: int,
) -> Workload:
    """The LLM on the text and surviving visual tokens (``llm_plan``, or the schedule's counts
    per layer), with the visual tokens per layer in its schedule. ValueError when a layer is
    left with no token."""
    llm = model.llm
    tokens = list(schedule.tokens_per_layer())
    if min(tokens) < 1:
        raise ValueError(
            f"{method} leaves no token at LLM layer {tokens.index(min(tokens))} of {model.name} "
            "(every visual token pruned and no text tokens)"
        )
    plan = llm_plan or _dense_plan(llm.layers, tokens)
    llm_part = transformer_workload(
        llm,
        llm_stage(stage, schedule.visual_in),
        plan,
        method=method,
        mode=mode,
        weight_bits=weight_bits,
        serving=SERVING,
    )
    llm_part.schedule["visual"] = [float(v) for v in schedule.visual_per_layer]
    return llm_part


def _vision_part(
    model: LVLMConfig, schedule, *, method: str, mode: str, weight_bits: int
) -> Workload:
    """The vision encoder, dense, on every image: its attention once per image (one step per
    image), its linear layers on all images' tokens at once, and in end-to-end mode the patch
    embedding (a convolution: one matrix product per patch)."""
    encoder = model.vision.transformer
    vision = transformer_workload(
        encoder,
        Summarize(schedule.encoder_tokens),
        _dense_plan(encoder.layers),
        method=method,
        mode=mode,
        weight_bits=weight_bits,
        serving=SERVING,
    )
    # Every image runs the encoder: attention once per image, linear layers batched.
    att = vision.attention.columns()
    images = schedule.images
    att = {k: np.tile(v, images) for k, v in att.items()}
    att["step"] = np.repeat(np.arange(images), len(vision.attention))
    vision.attention = AttentionRows(**att)
    lin = vision.linear.columns()
    lin["tokens"] = lin["tokens"] * images
    vision.linear = LinearRows(**lin)
    if mode == "e2e":  # the patch embedding (a convolution: one matrix product per patch)
        patch = model.vision.patch_embedding()
        vision.linear = LinearRows.concat(
            [
                vision.linear,
                LinearRows(
                    step=[0],
                    layer=[0],
                    tokens=[images * model.vision.patches],
                    in_features=[patch.in_features],
                    out_features=[patch.out_features],
                    w_bits=[weight_bits],
                    a_bits=[SERVING_BITS],
                ),
            ]
        )
    return vision


def _projector_part(
    model: LVLMConfig,
    stage: Prefill,
    schedule,
    *,
    method: str,
    mode: str,
    weight_bits: int,
) -> Workload:
    """One layer: the projector on every image's ``projector_tokens_per_image`` tokens (end-to-end
    mode only), then the method's overheads (:func:`_overhead_rows`)."""
    projector_tokens = schedule.images * model.projector_tokens_per_image
    n = len(model.projector)
    projector = Workload(
        model=model.name,
        method=method,
        stage=stage,
        layers=1,
        attention=AttentionRows.empty(),
        linear=LinearRows(
            step=np.zeros(n, np.int64),
            layer=np.zeros(n, np.int64),
            tokens=np.full(n, projector_tokens),
            in_features=[p.in_features for p in model.projector],
            out_features=[p.out_features for p in model.projector],
            w_bits=np.full(n, weight_bits),
            a_bits=np.full(n, SERVING_BITS),
        ),
    )
    overhead = _overhead_rows(schedule.overhead_macs, model.vision.hidden, weight_bits)
    # Attention-only mode keeps the method's own overheads, not the projector.
    kept = [overhead] if mode == "attention" else [projector.linear, overhead]
    projector.linear = LinearRows.concat(kept)
    return projector


def lvlm_workload(
    model: LVLMConfig,
    stage: Prefill | Decode,
    schedule,
    *,
    method: str,
    llm_plan: TransformerPlan | None = None,
    mode: str = "e2e",
    weight_bits: int = 16,
) -> Workload:
    """The workload of ``model`` in ``stage`` under ``schedule`` (see the module docstring);
    ValueError (one line) when the schedule's input does not fit the LLM's context
    (:func:`check_llm_context`)."""
    if not isinstance(stage, Prefill | Decode):
        raise ValueError(f"{model.name} takes a prefill or decode stage, not {stage.describe()}")
    check_llm_context(model, stage, schedule, method=method)
    llm_part = _llm_part(
        model,
        stage,
        schedule,
        method=method,
        llm_plan=llm_plan,
        mode=mode,
        weight_bits=weight_bits,
    )
    parts: list[tuple[str, Workload]] = []
    if isinstance(stage, Prefill):
        vision = _vision_part(model, schedule, method=method, mode=mode, weight_bits=weight_bits)
        parts.append(("vision", vision))
        projector = _projector_part(
            model, stage, schedule, method=method, mode=mode, weight_bits=weight_bits
        )
        parts.append(("projector", projector))
    parts.append(("llm", llm_part))
    workload = concat_workloads(parts, model=model.name, method=method, stage=stage)
    workload.precision = SERVING[0]
    workload.notes += list(schedule.notes) + [
        "ops are counted as 2 per MAC, like the papers",
        f"{schedule.visual_in} visual + {schedule.text_tokens} text tokens enter the LLM",
    ]
    return workload
