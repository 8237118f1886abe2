"""SaRA (Hu et al., ICLR 2025, arXiv 2409.06633): one fine-tuning step on the SD 1.5 UNet, beside
LoRA and full fine-tuning: what it keeps in GPU memory, its DRAM traffic and its time.

Paper facts [paper] (Hu et al., ICLR 2025): SaRA fine-tunes Stable Diffusion
1.5 / 2.0 / 3.0 (860M / 866M / 2085M parameters) by training only the weights with
``|w| < 2e-3`` (the smallest 10-20%); gradients and AdamW state exist only for those (trainable
budgets 50M / 20M / 5M) plus a 1-byte mask per weight; the selection is redone once, at half the
iterations; a nuclear-norm loss keeps the update low-rank. Inference is unchanged. The paper
claims more than 40-52% less GPU memory than LoRA at larger batch sizes.

What SaRA's released code does (github.com/sjtuplayer/SaRA, commit ea21192, ``optim/adamw.py``,
read, not run), and what we take from it:

* every parameter of the UNet (convolutions, linears, biases, norms) gets a ``torch.bool`` mask
  ``|w| < threshold``: 1 byte per parameter, all 859,520,964 of them. After the progressive
  re-selection the first mask is kept beside the new one (``param_mask_groups`` and
  ``param_mask_groups_adaptive``): 2 bytes per parameter (option ``reselected``).
* the selected values are gathered into their own tensors (``param[mask].clone()``): a second,
  sparse copy of the budget, with AdamW's two moments of the same size; the dense weights stay
  (one copy: the gathered values are scattered back into them after each update).
* "unstructural backpropagation": a custom autograd function scatters the selected values into
  the dense weight in the forward direction and, backward, receives the *dense* gradient of
  each weight and gathers ``grad[mask]``. So every layer's weight-gradient product runs in full
  (the same MACs as full fine-tuning) and one layer's dense gradient exists at a time: the
  transient peak is the largest layer's (``dense_grad_transient``: its fp32 gradient, the
  gathered values and the int64 indices boolean indexing makes). The gather (backward) and the
  scatter (after the update) each read the mask and write int64 indices: streams
  ``mask_gather`` and ``mask_scatter``.
* without it (``unstructured_backprop=false``, the repository's ``optim/adamw2.py``,
  ``--disable_ub``) the gradients and AdamW state are dense: full fine-tuning's memory plus the
  mask, and an update that, layer by layer, casts the mask to int32, copies the weights and
  restores the unselected ones (``dense_mask_transient``, stream ``mask_apply``).
* the nuclear-norm loss runs an SVD of one random 2-D weight (every linear: both sides > 64) in
  each optimizer step, after the backward pass (not at the memory peak). Its time is not priced
  (the engine has no SVD model). Its ``backward()`` accumulates a dense gradient into the
  original parameter, which the optimizer's ``zero_grad`` never clears (it holds only the
  gathered tensors): over a run every linear ends up holding one. Option ``rank_grad_leak``
  counts them (part ``rank_loss_grads``); off by default, as the paper describes the method.
* the split of the budget over layers depends on the real weights, which are not loaded here:
  each layer is taken to hold ``budget / params`` of its own weights selected.

The other two tuners, as the scripts they come from set them up:

* ``full``: ``torch.optim.AdamW`` over every UNet parameter (SaRA's ``finetune.py`` with
  ``--threshold=-1``; diffusers' ``train_text_to_image.py``).
* ``lora``: diffusers' ``train_text_to_image_lora.py``: rank ``--rank`` (default 4) adapters on
  ``to_q``, ``to_k``, ``to_v`` and ``to_out.0`` of every attention (self and cross; 797,184
  parameters at rank 4), AdamW over them only, the frozen UNet cast to the mixed-precision type.
  Each adapted linear adds ``x @ A`` (tokens x in x r) and ``(x A) @ B`` (tokens x r x out)
  forward, their gradients backward. Inference merges the adapters (unchanged cost).

Conventions of this model (our choices, stated):

* precision (``mixed_precision``): ``"no"`` (default of both scripts: fp32 weights, gradients,
  activations; the rows priced at fp32) or ``"fp16"``/``"bf16"`` (accelerate's autocast:
  activations saved at 2 bytes; fp32 weights kept and, for full fine-tuning and SaRA, a 2-byte
  copy of every weight saved for the backward pass, ``autocast_weights``; LoRA's frozen UNet
  stored at 2 bytes, its adapters fp32). The rows are priced at that type.
* attention (``attention``): ``"sdpa"`` (default: SaRA's requirements pin torch 2.1.2 and
  diffusers 0.30.2, whose default processor calls ``F.scaled_dot_product_attention``; its fused
  kernels keep q, k, v, the output and a log-sum-exp per query for the backward pass, no score
  matrix) or ``"eager"`` (diffusers' ``AttnProcessor``: the probabilities are kept, queries x
  keys per head). This changes the memory only: the engine prices every attention as eager
  kernels on a GPU (its one attention model), which over-counts fused attention's traffic.
* rows: a training step is the forward rows (step 0), the input-gradient rows (step 1) and the
  weight-gradient rows (step 2) of :mod:`prunesim.sim.methods.network`, kept only where the
  gradient is needed: no input gradient for ``conv_in`` (the latents), the cross-attention
  ``to_k``/``to_v`` (the frozen text encoder's embeddings) and ``time_embedding.linear_1``; for
  LoRA none either for the time-embedding path or before the first adapter's attention, and no
  weight gradient for any frozen weight. Attention cores keep their two backward copies (the
  backward costs twice the forward) from the first trainable layer on.
* activations: what :func:`~prunesim.sim.methods.network.saved_activation_elements` counts
  (each conv's input and output, each linear's input), only for layers the backward pass goes
  through, plus the attention's saved tensors above and LoRA's ``x A`` per adapted layer.
* not counted: gradient checkpointing (off in both scripts), the VAE and text encoder the scripts
  also keep on the GPU, PyTorch's CUDA context and allocator slack, the SVD's workspace.
"""

from __future__ import annotations

import dataclasses
import functools
import math
import typing
from dataclasses import dataclass
from typing import Any, Literal

import numpy as np

from prunesim.models.cnn import Conv2d
from prunesim.sim.methods import register_method
from prunesim.sim.methods.common import NetworkMethod
from prunesim.sim.methods.network import (
    check_network_stage,
    dense_network_workload,
    training_footprint,
    unet_workload,
)
from prunesim.sim.methods.options import TypedOptions, format_value
from prunesim.sim.workload import (
    AttentionRows,
    ConvRows,
    Infer,
    LinearRows,
    Stage,
    Train,
    Workload,
)

__all__ = [
    "LORA_TARGETS",
    "MIXED_PRECISION",
    "PAPER",
    "SUPPORTED",
    "TUNERS",
    "SaRAOptions",
    "build",
    "lora_params",
    "memory",
]

#: The model SaRA's memory is modelled for (the paper's SD 1.5 UNet).
SUPPORTED: tuple[str, ...] = ("sd15-unet",)
#: The fine-tuning schemes compared.
Tuner = Literal["sara", "lora", "full"]
TUNERS: tuple[str, ...] = typing.get_args(Tuner)
#: ``mixed_precision`` values (the keys of :data:`MIXED_PRECISION`).
MixedPrecision = Literal["no", "fp16", "bf16"]
#: ``mixed_precision`` values -> (row precision, activation bytes).
MIXED_PRECISION: dict[str, tuple[str, int]] = {
    "no": ("fp32", 4),
    "fp16": ("fp16", 2),
    "bf16": ("bf16", 2),
}
#: diffusers' LoRA targets in ``train_text_to_image_lora.py``.
LORA_TARGETS: tuple[str, ...] = ("to_q", "to_k", "to_v", "to_out.0")
#: Figures of the paper [paper] (Hu et al., ICLR 2025): trainable budgets by model (parameters of
#: the model, budget) and the memory saving over LoRA claimed at larger batch sizes.
PAPER: dict[str, Any] = {
    "budgets": {
        "SD 1.5": (860e6, 50e6),
        "SD 2.0": (866e6, 20e6),
        "SD 3.0": (2085e6, 5e6),
    },
    "threshold": 2e-3,
    "memory_saving_vs_lora": (0.40, 0.52),
}

#: ``attention`` values: fused (``scaled_dot_product_attention``) or eager.
Attention = Literal["sdpa", "eager"]
_INDEX_BYTES = 8  # torch's nonzero() indices of a boolean mask: int64
_MASK_BYTES = 1  # torch.bool
_STATE_BYTES = 8  # AdamW's two fp32 moments


@dataclass(frozen=True)
class SaRAOptions(TypedOptions):
    """The knobs of a fine-tuning step (defaults: SaRA on SD 1.5 as the paper and its code run it).

    * ``tuner``: ``"sara"``, ``"lora"`` or ``"full"``.
    * ``budget``: SaRA's trainable parameters (50M: the paper's SD 1.5 budget); what sizes its
      gradients and AdamW state.
    * ``threshold``: SaRA's selection ``|w| < threshold`` (2e-3); documented, not used: the
      selected count depends on the real weights, so ``budget`` sizes the memory.
    * ``unstructured_backprop``: SaRA's gathered gradients (True) or dense masked gradients and
      state (False, ``optim/adamw2.py``).
    * ``reselected``: the step after the progressive re-selection (a second mask kept).
    * ``rank_grad_leak``: count the dense gradients SaRA's nuclear-norm loss leaves on linears.
    * ``lora_rank``: LoRA's rank r (4, diffusers' default).
    * ``lora_targets``: module names LoRA adapts (linears whose module path equals one or ends
      in ``.<name>``; as text, comma-separated; default ``to_q,to_k,to_v,to_out.0``).
    * ``mixed_precision``: ``"no"`` (fp32), ``"fp16"`` or ``"bf16"``.
    * ``attention``: ``"sdpa"`` (fused, no score matrix kept) or ``"eager"``.
    """

    tuner: Tuner = "sara"
    budget: int = 50_000_000
    threshold: float = 2e-3
    unstructured_backprop: bool = True
    reselected: bool = False
    rank_grad_leak: bool = False
    lora_rank: int = 4
    lora_targets: tuple[str, ...] = LORA_TARGETS
    mixed_precision: MixedPrecision = "no"
    attention: Attention = "sdpa"

    def validate(self) -> SaRAOptions:
        """Raise ValueError naming the first bad option; return self (types and choices are
        checked on construction)."""
        for name in ("budget", "lora_rank"):
            value = getattr(self, name)
            if value < 1:
                raise ValueError(f"{name} must be a positive integer, not {value!r}")
        if not 0 < self.threshold < math.inf:
            raise ValueError(f"threshold must be a positive number, not {self.threshold!r}")
        if not self.lora_targets or not all(t.strip() for t in self.lora_targets):
            raise ValueError(
                "lora_targets must be comma-separated module names, "
                f"not {format_value(self.lora_targets)!r}"
            )
        return self


# ---------------------------------------------------------------------------------------------
# Which layers are adapted, which need gradients.


@functools.cache
def _ops(unet: Any) -> tuple[Any, ...]:
    """``unet.layers()``, built once per config (a frozen, hashable dataclass)."""
    return unet.layers()


def _lora_layers(unet: Any, options: SaRAOptions) -> list[int]:
    """Indices (in ``unet.layers()``) of the linears LoRA adapts; ValueError for a target that
    names none."""
    from prunesim.models.unet import UNetLinear

    ops = _ops(unet)
    chosen: list[int] = []
    for target in options.lora_targets:
        hits = [
            i
            for i, op in enumerate(ops)
            if isinstance(op, UNetLinear) and (op.name == target or op.name.endswith("." + target))
        ]
        if not hits:
            raise ValueError(f"lora_targets names no linear of {unet.name}: {target!r}")
        chosen += hits
    return sorted(set(chosen))


def lora_params(unet: Any, options: SaRAOptions | None = None) -> int:
    """LoRA's trainable parameters: ``rank x (in + out)`` for each adapted linear (797,184 for
    SD 1.5 at rank 4 on ``to_q, to_k, to_v, to_out.0``)."""
    options = (options or SaRAOptions()).validate()
    ops = _ops(unet)
    return sum(
        options.lora_rank * (ops[i].in_features + ops[i].out_features)
        for i in _lora_layers(unet, options)
    )


def _is_time_path(name: str) -> bool:
    return name.startswith("time_embedding.") or name.endswith(".time_emb_proj")


def _is_text_input(name: str) -> bool:
    return name.endswith(".attn2.to_k") or name.endswith(".attn2.to_v")


def _gradient_plan(unet: Any, options: SaRAOptions) -> tuple[np.ndarray, np.ndarray, int]:
    """Per layer of ``unet.layers()``: whether its input gradient is computed, whether its weight
    gradient is, and the first layer whose backward runs (the attention cores from it on)."""
    from prunesim.models.unet import UNetAttention

    ops = _ops(unet)
    names = [op.name for op in ops]
    n = len(ops)
    no_input = np.array(
        [name in ("conv_in", "time_embedding.linear_1") or _is_text_input(name) for name in names]
    )
    if options.tuner != "lora":
        weight = np.array([not isinstance(op, UNetAttention) for op in ops])
        return ~no_input & weight, weight, 0
    # LoRA: the gradient enters the main path at the first adapter's output (at the attention
    # core that follows it, for a query/key/value projection).
    entries = []
    for i in _lora_layers(unet, options):
        if names[i].rsplit(".", 1)[-1] in ("to_q", "to_k", "to_v"):
            i = next(j for j in range(i, n) if isinstance(ops[j], UNetAttention))
        if not _is_time_path(names[i]):
            entries.append(i)
    entry = min(entries) if entries else n
    after = np.arange(n) > entry
    time_path = np.array([_is_time_path(name) for name in names])
    is_core = np.array([isinstance(op, UNetAttention) for op in ops])
    input_grad = after & ~no_input & ~time_path & ~is_core
    return input_grad, np.zeros(n, bool), entry


# ---------------------------------------------------------------------------------------------
# The rows of one step.


def _take(rows: Any, keep: np.ndarray) -> dict[str, np.ndarray]:
    return {name: column[keep] for name, column in rows.columns().items()}


def _keep(step: np.ndarray, layer: np.ndarray, input_grad, weight_grad) -> np.ndarray:
    return (step == 0) | ((step == 1) & input_grad[layer]) | ((step == 2) & weight_grad[layer])


def _adapter_rows(unet: Any, batch: int, options: SaRAOptions, input_grad, bits: int):
    """LoRA's adapter products as linear rows: forward ``x A``, ``(x A) B`` (step 0); backward
    the gradient of ``x A`` and, where needed, of ``x`` (step 1); the gradients of ``B`` and
    ``A`` (step 2), each as a matrix product of its own shape."""
    ops = _ops(unet)
    r = options.lora_rank
    rows: list[tuple[int, int, int, int, int]] = []  # step, layer, tokens, in, out
    for i in _lora_layers(unet, options):
        op = ops[i]
        t, cin, cout = op.tokens * batch, op.in_features, op.out_features
        rows += [(0, i, t, cin, r), (0, i, t, r, cout), (1, i, t, cout, r)]
        if input_grad[i]:
            rows.append((1, i, t, r, cin))
        rows += [(2, i, r, t, cout), (2, i, cin, t, r)]
    cols = np.asarray(rows, np.int64).reshape(-1, 5)
    return {
        "step": cols[:, 0],
        "layer": cols[:, 1],
        "tokens": cols[:, 2],
        "in_features": cols[:, 3],
        "out_features": cols[:, 4],
        "w_bits": np.full(len(cols), bits),
        "a_bits": np.full(len(cols), bits),
    }


def _rows(unet: Any, stage: Train, options: SaRAOptions) -> Workload:
    precision, _ = MIXED_PRECISION[options.mixed_precision]
    bits = 32 if precision == "fp32" else 16
    full = unet_workload(unet, stage, method="sara", w_bits=bits, a_bits=bits)
    input_grad, weight_grad, entry = _gradient_plan(unet, options)
    conv = _take(full.conv, _keep(full.conv.step, full.conv.layer, input_grad, weight_grad))
    lin = _take(full.linear, _keep(full.linear.step, full.linear.layer, input_grad, weight_grad))
    att = full.attention
    attention = _take(att, (att.step == 0) | (att.layer >= entry))
    if options.tuner == "lora":
        adapters = _adapter_rows(unet, stage.batch, options, input_grad, bits)
        lin = {name: np.concatenate([lin[name], adapters[name]]) for name in lin}
    full.conv, full.linear = ConvRows(**conv), LinearRows(**lin)
    full.attention = AttentionRows(**attention)
    full.precision = precision
    return full


def _activation_elements(unet: Any, batch: int, options: SaRAOptions) -> float:
    """Elements the backward pass keeps (see the module docstring) for ``batch`` latents: of
    every layer the backward pass goes through, a convolution's input and output, a linear's
    input, an attention's saved tensors; LoRA's ``x A`` per adapted linear."""
    from prunesim.models.unet import UNetAttention

    input_grad, weight_grad, entry = _gradient_plan(unet, options)
    adapted = _lora_layers(unet, options) if options.tuner == "lora" else []
    elements = sum(_ops(unet)[i].tokens * options.lora_rank for i in adapted)
    for i, op in enumerate(_ops(unet)):
        if isinstance(op, UNetAttention):
            if i < entry:
                continue
            q, k, d = op.queries, op.keys, op.head_dim
            if options.attention == "eager":  # probabilities, q, k, v
                elements += op.heads * (q * k + q * d + 2 * k * d)
            else:  # q, k, v, the output, a log-sum-exp per query
                elements += op.heads * (2 * q * d + 2 * k * d + q)
        elif input_grad[i] or weight_grad[i] or i in adapted:
            if isinstance(op, Conv2d):
                elements += op.input_elements + op.output_elements
            else:
                elements += op.input_elements
    return float(elements * batch)


# ---------------------------------------------------------------------------------------------
# Memory.


def _weight_sizes(unet: Any) -> list[int]:
    return [op.weight_elements for op in _ops(unet) if hasattr(op, "weight_elements")]


def _footprint(
    unet: Any, batch: int, options: SaRAOptions
) -> tuple[dict[str, float], dict[str, float], float]:
    """(memory_bytes, streams, trainable parameters) of one step of ``options.tuner``."""
    from prunesim.models.unet import UNetLinear

    params = float(unet.params())
    _, act_bytes = MIXED_PRECISION[options.mixed_precision]
    mixed = options.mixed_precision != "no"
    activations = _activation_elements(unet, batch, options)
    common = {
        "activation_elements": activations,
        "optimizer": "adamw",
        "activation_bytes": act_bytes,
    }
    if options.tuner == "full":
        trainable = params
        mem, streams = training_footprint(params=params, trainable=params, **common)
        if mixed:
            mem["autocast_weights"] = 2 * params
        return mem, streams, trainable
    if options.tuner == "lora":
        trainable = float(lora_params(unet, options))
        mem, streams = training_footprint(
            params=params, trainable=trainable, extra={"adapters": 4 * trainable}, **common
        )
        mem["weights"] = params * (2 if mixed else 4)
        return mem, streams, trainable
    budget = float(options.budget)
    if budget > params:
        raise ValueError(
            f"budget must be at most {unet.name}'s {params:.0f} parameters, not {budget:.0f}"
        )
    masks = 2 if options.reselected else 1
    extra: dict[str, float] = {"mask": masks * _MASK_BYTES * params}
    largest = max(_weight_sizes(unet))
    if options.unstructured_backprop:
        # One layer's dense fp32 gradient at a time, gathered with int64 indices.
        extra["selected"] = 4 * budget
        extra["dense_grad_transient"] = largest * (4 + budget / params * (4 + _INDEX_BYTES))
        mem, streams = training_footprint(params=params, trainable=budget, extra=extra, **common)
        # The gather (backward) reads each dense gradient and the mask and writes the gathered
        # values and int64 indices (read back); the scatter after the update reads the mask and
        # the values and writes them into the weights, with its own indices.
        streams["mask_gather"] = params * (4 + _MASK_BYTES) + budget * (4 + 2 * _INDEX_BYTES)
        streams["mask_scatter"] = params * _MASK_BYTES + budget * (8 + 2 * _INDEX_BYTES)
    else:
        # optim/adamw2.py: dense gradients and AdamW state; per layer the update keeps the mask
        # as int32, a copy of the weights and two temporaries (16 bytes per weight of the
        # largest layer) and restores the unselected weights: mask cast (1 + 4 bytes), copy
        # (4 + 4), w * mask (12), 1 - mask (8), copy * (1 - mask) (12), add (12) per weight.
        extra["dense_mask_transient"] = 16.0 * largest
        mem, streams = training_footprint(params=params, trainable=params, extra=extra, **common)
        streams["mask_apply"] = 57.0 * params
    if options.rank_grad_leak:
        mem["rank_loss_grads"] = 4.0 * sum(
            op.weight_elements
            for op in _ops(unet)
            if isinstance(op, UNetLinear) and min(op.in_features, op.out_features) > 64
        )
    if mixed:
        mem["autocast_weights"] = 2 * params
    return mem, streams, budget


def memory(unet: Any, stage: Train, options: SaRAOptions | None = None) -> dict[str, float]:
    """What one training step of ``options.tuner`` keeps in GPU memory, by part (bytes)."""
    options = (options or SaRAOptions()).validate()
    check_network_stage(unet.name, stage)
    if not isinstance(stage, Train):
        raise ValueError(f"memory is modelled for a train stage, not {stage.describe()}")
    return _footprint(unet, stage.batch, options)[0]


# ---------------------------------------------------------------------------------------------
# The workload.


def build(model: Any, stage: Stage, options: SaRAOptions | None = None) -> Workload:
    """The workload of one fine-tuning step (``Train``) of ``options.tuner`` on ``model`` (the SD
    1.5 UNet), or of inference (``Infer``: exactly the dense UNet, adapters merged).

    Train: the rows of :func:`_rows`; ``memory_bytes`` by part; ``streams``: the AdamW update
    over the trainable parameters (SaRA: plus its mask gather and scatter); ``extras``:
    ``trainable_params``, ``memory_total_bytes`` and the totals of all three tuners at the same
    batch and options (``memory_full_bytes``, ``memory_lora_bytes``, ``memory_sara_bytes``).
    Raises ValueError for an unsupported model or stage or a bad option (naming it).
    """
    options = (options or SaRAOptions()).validate()
    name = getattr(model, "name", model)
    if name not in SUPPORTED:
        raise ValueError(f"sara supports {', '.join(SUPPORTED)}, not {name!r}")
    check_network_stage(name, stage)
    if isinstance(stage, Infer):
        workload = dense_network_workload(model, stage)
        workload.method = "sara"
        workload.notes.append(
            f"sara ({options.tuner}): inference unchanged: SaRA's update lands in the dense "
            "weights, LoRA's adapters are merged"
        )
        return workload
    assert isinstance(stage, Train)
    workload = _rows(model, stage, options)
    mem, streams, trainable = _footprint(model, stage.batch, options)
    totals = {}
    for tuner in TUNERS:
        other = options if tuner == options.tuner else dataclasses.replace(options, tuner=tuner)
        parts = mem if tuner == options.tuner else memory(model, stage, other)
        totals[f"memory_{tuner}_bytes"] = float(sum(parts.values()))
    workload.memory_bytes, workload.streams = mem, streams
    workload.extras = {
        "trainable_params": trainable,
        "memory_total_bytes": float(sum(mem.values())),
        **totals,
    }
    precision = workload.precision
    attention = "fused (sdpa)" if options.attention == "sdpa" else "eager"
    notes = [
        f"one fine-tuning step on {stage.batch} latent(s) of {model.latent}x{model.latent} "
        f"({model.latent * 8}x{model.latent * 8} images), {precision} rows, AdamW, "
        f"{attention} attention in memory (priced as eager kernels)",
    ]
    if options.tuner == "sara":
        notes.append(
            f"sara: {options.budget:,} trainable of {model.params():,} (|w| < {options.threshold:g}"
            f"; the budget sizes memory), 1-byte mask on every parameter"
            + (" (two after the re-selection)" if options.reselected else "")
            + (
                "; dense weight gradients gathered layer by layer"
                if options.unstructured_backprop
                else "; dense masked gradients and AdamW state (no unstructured backprop)"
            )
        )
        notes.append(
            "sara: the nuclear-norm loss's SVD of one linear weight per step is not priced"
        )
    elif options.tuner == "lora":
        notes.append(
            f"lora: rank {options.lora_rank} on {format_value(options.lora_targets)} "
            f"({len(_lora_layers(model, options))} linears, {trainable:,.0f} parameters), "
            "no weight gradient for the frozen UNet"
        )
    else:
        notes.append("full: every UNet parameter trainable")
    workload.notes = notes
    return workload


register_method(
    NetworkMethod(
        "sara",
        "SaRA: one SD UNet fine-tuning step (SaRA's sparse budget + mask, LoRA or full): memory",
        SaRAOptions(),
        order=34,
        supports=SUPPORTED,
        builder=build,
        family="unet",
    )
)
