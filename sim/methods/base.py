"""What every transformer method shares: from a per-layer plan to a :class:`Workload`.

A method decides, per layer, which fraction of the tokens and heads survive, how many values each
query keeps and the bits of every tensor (a :class:`TransformerPlan`); :func:`transformer_workload`
turns the plan into attention rows (and linear rows in end-to-end mode) for a stage. Methods never
see hardware.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Annotated

import numpy as np

from prunesim.models import TransformerConfig
from prunesim.sim.methods.options import Range
from prunesim.sim.workload import AttentionRows, Generate, LinearRows, Stage, Summarize, Workload

__all__ = [
    "BITS",
    "Bits",
    "MODES",
    "WIRE_BITS",
    "WireBits",
    "TransformerPlan",
    "UNQUANTIZED_BITS",
    "check_fraction",
    "concat_workloads",
    "kv_cache_bytes",
    "transformer_workload",
]

#: Bits of an unquantized element: 32-bit float.
UNQUANTIZED_BITS = 32
#: The range of every bit width of an element in memory (each method's ``*_bits`` option, the
#: simulator's ``weight_bits``, ``--weight-bits``): 1 (binary) to 32, the unquantized fp32
#: element (:data:`UNQUANTIZED_BITS`), the widest any model here is stored or computed in.
BITS = Range(1, UNQUANTIZED_BITS)
#: An option's type of a bit width in memory (:data:`BITS`).
Bits = Annotated[int, BITS]
#: The range of a bit width of what is sent over a network rather than stored for compute (a
#: federated client's ``value_bits``, ``index_bits``): 1 to 64, fp64 values and int64 indices
#: (PyTorch's sparse tensors hold int64 indices).
WIRE_BITS = Range(1, 64)
#: An option's type of a bit width on the wire (:data:`WIRE_BITS`).
WireBits = Annotated[int, WIRE_BITS]
#: Workload modes: attention only, or end to end (QKV, projection, FFN, LM head as well).
MODES = ("attention", "e2e")


def check_fraction(name: str, value: float, *, allow_zero: bool = False) -> float:
    """Return ``value`` if it is in (0, 1] (or [0, 1]), else raise ValueError naming ``name``."""
    low_ok = value >= 0 if allow_zero else value > 0
    if not isinstance(value, int | float) or math.isnan(value) or not low_ok or value > 1:
        interval = "[0, 1]" if allow_zero else "(0, 1]"
        raise ValueError(f"{name} must be in {interval}, not {value!r}")
    return float(value)


@dataclass
class TransformerPlan:
    """Per-layer decisions of a method (lists have one entry per layer).

    ``token_keep[l]``: fraction of the sequence's tokens alive at layer ``l`` (cascade: never
    increasing); ``head_keep[l]``: fraction of the heads computed at layer ``l``; ``v_keep``:
    fraction of each query's keys whose values are read (local V pruning); bits per element of
    Q, K (the MSB plane when ``k_lsb_bits > 0``), V in DRAM; ``lsb_fraction``: fraction of the
    queries that fetch the ``k_lsb_bits`` LSB plane and recompute.
    """

    token_keep: list[float]
    head_keep: list[float]
    v_keep: float = 1.0
    q_bits: int = UNQUANTIZED_BITS
    k_bits: int = UNQUANTIZED_BITS
    k_lsb_bits: int = 0
    v_bits: int = UNQUANTIZED_BITS
    lsb_fraction: float = 0.0
    notes: list[str] = field(default_factory=list)
    prompt_tokens: list[int] | None = None
    """Absolute tokens alive at each layer for the stage's prompt (replaces ``token_keep``): a
    method that prunes only some tokens (an LVLM's visual ones) says how many are left; in
    generation the tokens generated so far come on top, unpruned."""


def kv_cache_bytes(attention: AttentionRows) -> float:
    """Bytes of the K/V cache after the rows' last step: every row of that step holds its keys'
    K (MSB and LSB planes) and V, shared by ``kv_share`` query heads."""
    if len(attention) == 0:
        return 0.0
    last = attention.step == attention.step.max()
    bits = attention.k_msb_bits + attention.k_lsb_bits + attention.v_bits
    per_row = attention.keys * attention.d * bits / 8 / attention.kv_share
    return float(per_row[last].sum())


def _count(total: np.ndarray | int, keep: np.ndarray) -> np.ndarray:
    """Survivors of ``total`` at fraction ``keep``: rounded, at least 1."""
    return np.maximum(1, np.rint(np.asarray(total) * keep)).astype(np.int64)


def _stage_lengths(stage: Stage) -> tuple[np.ndarray, np.ndarray, bool]:
    """The stage's steps, the sequence length each attends over, and whether K/V are reused
    across queries: summarization is one step of ``tokens`` (reuse); generation step ``t``
    attends over ``prompt + t + 1`` tokens (no reuse). The stages check their own counts on
    construction; TypeError for a stage of another kind."""
    if isinstance(stage, Summarize):
        steps = np.zeros(1, dtype=np.int64)
        lengths = np.array([stage.tokens], dtype=np.int64)
        reuse = True
    elif isinstance(stage, Generate):
        steps = np.arange(stage.generate, dtype=np.int64)
        lengths = stage.prompt + steps + 1
        reuse = False
    else:
        raise TypeError(f"unknown stage {stage!r}")
    return steps, lengths, reuse


def _alive_keys(
    model: TransformerConfig,
    stage: Summarize | Generate,
    plan: TransformerPlan,
    token_keep: np.ndarray,
    lengths: np.ndarray,
) -> np.ndarray:
    """``keys[s, l]``: tokens alive at layer ``l`` of step ``s``: the plan's absolute prompt
    counts plus the tokens generated so far, or the lengths at the plan's keep ratios."""
    layers = model.layers
    if plan.prompt_tokens is not None:
        prompt_tokens = np.asarray(plan.prompt_tokens, dtype=np.int64)
        if prompt_tokens.shape != (layers,) or np.any(prompt_tokens < 1):
            raise ValueError(f"a plan for {model.name} needs {layers} positive token counts")
        prompt = stage.tokens if isinstance(stage, Summarize) else stage.prompt
        return prompt_tokens[None, :] + (lengths - prompt)[:, None]
    return _count(lengths[:, None], token_keep[None, :])


def _stored_bits(bits: int, serving: tuple[str, int] | None) -> int:
    """Bits of an element in DRAM: unquantized ones at the serving precision."""
    return serving[1] if serving is not None and bits >= UNQUANTIZED_BITS else bits


def _attention_rows(
    model: TransformerConfig,
    plan: TransformerPlan,
    heads: np.ndarray,
    steps: np.ndarray,
    keys: np.ndarray,
    values: np.ndarray,
    reuse: bool,
    serving: tuple[str, int] | None,
) -> AttentionRows:
    """One row per (step, layer, surviving head) with ``keys[s, l]`` keys and ``values[s, l]``
    values: every key is a query with reuse (summarization), else one query."""
    layers = model.layers
    rows_per = np.broadcast_to(heads[None, :], keys.shape).reshape(-1)
    step_col = np.repeat(np.repeat(steps, layers), rows_per)
    layer_col = np.repeat(np.tile(np.arange(layers), len(steps)), rows_per)
    head_col = np.concatenate([np.arange(h) for h in rows_per]) if len(rows_per) else rows_per
    keys_col = np.repeat(keys.reshape(-1), rows_per)
    values_col = np.repeat(values.reshape(-1), rows_per)
    n = len(keys_col)
    queries_col = keys_col if reuse else np.ones(n, dtype=np.int64)
    return AttentionRows(
        step=step_col,
        layer=layer_col,
        head=head_col,
        d=np.full(n, model.d),
        queries=queries_col,
        keys=keys_col,
        values=values_col,
        q_bits=np.full(n, _stored_bits(plan.q_bits, serving)),
        k_msb_bits=np.full(n, _stored_bits(plan.k_bits, serving)),
        k_lsb_bits=np.full(n, plan.k_lsb_bits),
        v_bits=np.full(n, _stored_bits(plan.v_bits, serving)),
        lsb_fraction=np.full(n, plan.lsb_fraction if plan.k_lsb_bits else 0.0),
        kv_reuse=np.full(n, reuse),
        kv_share=np.full(n, model.heads // model.kv_heads),
    )


def _linear_rows(
    model: TransformerConfig,
    steps: np.ndarray,
    keys: np.ndarray,
    reuse: bool,
    weight_bits: int,
    activation_bits: int,
) -> LinearRows:
    """End-to-end mode's linear rows: each layer's linear layers for the tokens alive (with
    reuse) or the one new token, and a decoder's LM head (as layer ``layers-1``) once per step."""
    layers = model.layers
    linears = model.linears()
    tokens = keys if reuse else np.ones_like(keys)
    per_layer = len(linears)
    step_l = np.repeat(np.repeat(steps, layers), per_layer)
    layer_l = np.repeat(np.tile(np.arange(layers), len(steps)), per_layer)
    tokens_l = np.repeat(tokens.reshape(-1), per_layer)
    in_l = np.tile([lin.in_features for lin in linears], len(steps) * layers)
    out_l = np.tile([lin.out_features for lin in linears], len(steps) * layers)
    if not reuse or model.decoder:
        # The LM head: once per generated token, or for a decoder's prefill once for the
        # last token (the logits of the next one).
        head = model.lm_head()
        step_l = np.concatenate([step_l, steps])
        layer_l = np.concatenate([layer_l, np.full(len(steps), layers - 1)])
        tokens_l = np.concatenate([tokens_l, np.ones(len(steps), dtype=np.int64)])
        in_l = np.concatenate([in_l, np.full(len(steps), head.in_features)])
        out_l = np.concatenate([out_l, np.full(len(steps), head.out_features)])
    m = len(step_l)
    return LinearRows(
        step=step_l,
        layer=layer_l,
        tokens=tokens_l,
        in_features=in_l,
        out_features=out_l,
        w_bits=np.full(m, weight_bits),
        a_bits=np.full(m, activation_bits),
    )


def _schedule(
    keys: np.ndarray,
    heads: np.ndarray,
    values: np.ndarray,
    token_keep: np.ndarray,
    head_keep: np.ndarray,
) -> dict[str, list[float]]:
    """The per-layer schedule for tables and plots: tokens and values averaged over the steps,
    heads, and the plan's keep ratios."""
    return {
        "tokens": keys.mean(axis=0).tolist(),
        "heads": heads.astype(float).tolist(),
        "values": values.mean(axis=0).tolist(),
        "token_keep": token_keep.tolist(),
        "head_keep": head_keep.tolist(),
    }


def transformer_workload(
    model: TransformerConfig,
    stage: Stage,
    plan: TransformerPlan,
    *,
    method: str,
    mode: str = "attention",
    weight_bits: int = 8,
    activation_bits: int = 16,
    serving: tuple[str, int] | None = None,
) -> Workload:
    """Attention rows (and linear rows when ``mode == "e2e"``) of ``model`` under ``plan``.

    ``serving``: the precision the model is served in, e.g. ``("fp16", 16)``: unquantized
    (32-bit) Q/K/V elements are stored at that many bits and the workload's ``precision`` says
    it (None: 32-bit float, no stated precision).

    Summarization of ``T`` tokens: one row per (layer, surviving head) with
    ``queries = keys = round(T x token_keep[l])`` (pruned tokens leave as queries too) and K/V
    reuse. A decoder's prefill is counted like an encoder's (every query against every key; a
    causal mask would skip about half of the Q.K work on hardware that exploits it).
    Generation: step ``t`` attends over ``L_t = prompt + t + 1`` tokens; one row per (step,
    layer, surviving head), one query, ``keys = round(L_t x token_keep[l])``, no reuse.
    Values per query: ``round(keys x v_keep)``, at least 1. In end-to-end mode each layer adds
    its linear layers for the tokens alive (summarization) or the one new token (generation),
    weights at ``weight_bits``; a decoder adds the LM head (as layer ``layers-1``) once per
    generated token, or once for the last token of a prefill.
    """
    if mode not in MODES:
        raise ValueError(f"unknown mode {mode!r} (choose from {', '.join(MODES)})")
    layers = model.layers
    token_keep = np.asarray(plan.token_keep, dtype=np.float64)
    head_keep = np.asarray(plan.head_keep, dtype=np.float64)
    if token_keep.shape != (layers,) or head_keep.shape != (layers,):
        raise ValueError(f"a plan for {model.name} needs {layers} token and head keep ratios")
    heads = _count(model.heads, head_keep)
    steps, lengths, reuse = _stage_lengths(stage)
    keys = _alive_keys(model, stage, plan, token_keep, lengths)
    values = _count(keys, plan.v_keep)
    attention = _attention_rows(model, plan, heads, steps, keys, values, reuse, serving)
    linear = LinearRows.empty()
    if mode == "e2e":
        linear = _linear_rows(model, steps, keys, reuse, weight_bits, activation_bits)
    return Workload(
        model=model.name,
        method=method,
        stage=stage,
        layers=layers,
        attention=attention,
        linear=linear,
        schedule=_schedule(keys, heads, values, token_keep, head_keep),
        notes=list(plan.notes),
        kv_cache_bytes=kv_cache_bytes(attention) if model.decoder else None,
        precision=None if serving is None else serving[0],
    )


def concat_workloads(
    parts: list[tuple[str, Workload]], *, model: str, method: str, stage: Stage
) -> Workload:
    """One workload of several models' parts (an LVLM's vision encoder, projector, LLM).

    Each part's layers are renumbered after the previous parts' and named ``<prefix>.<layer>``
    (or ``<prefix>`` for a one-layer part); schedules are joined per layer, notes appended.
    """
    attention, linear, names, notes = [], [], [], []
    schedule: dict[str, list[float]] = {}
    offset = 0
    for prefix, part in parts:
        columns = part.attention.columns()
        columns["layer"] = columns["layer"] + offset
        attention.append(AttentionRows(**columns))
        columns = part.linear.columns()
        columns["layer"] = columns["layer"] + offset
        linear.append(LinearRows(**columns))
        if part.layers == 1:
            names.append(prefix)
        else:
            names += [f"{prefix}.{i}" for i in range(part.layers)]
        for key in set(schedule) | set(part.schedule):
            before = schedule.get(key, [float("nan")] * offset)
            values = part.schedule.get(key, [float("nan")] * part.layers)
            schedule[key] = list(before) + list(values)
        notes += [note for note in part.notes if note not in notes]
        offset += part.layers
    caches = [part.kv_cache_bytes for _, part in parts if part.kv_cache_bytes is not None]
    return Workload(
        model=model,
        method=method,
        stage=stage,
        kv_cache_bytes=sum(caches) if caches else None,
        layers=offset,
        attention=AttentionRows.concat(attention),
        linear=LinearRows.concat(linear),
        schedule=schedule,
        notes=notes,
        layer_names=names,
    )
