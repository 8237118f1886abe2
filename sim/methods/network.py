"""Workloads of convolutional networks and the SD UNet: layer graphs to conv/linear/attention rows.

:func:`network_workload` is what every CNN method ends in: it takes the (possibly slimmed)
network a method produced, per-layer weight densities, and the stage, and writes one workload
layer per weight layer of the network, in execution order.

Conventions (stated once here, used by every CNN method):

* inference (:class:`~prunesim.sim.workload.Infer`): one pass over ``batch`` inputs; weights at
  ``w_bits`` and activations at ``a_bits`` on an accelerator (8 and 8 by default: int8 inference,
  as the TPU and SCALE-Sim's one-byte words); a GPU/CPU runs the model at the workload's
  ``precision`` (None: the device's default, fp32 for eager PyTorch).
* training (:class:`~prunesim.sim.workload.Train`): each weight layer costs three products of its
  shape: the forward pass, the gradient of its input and the gradient of its weights (the usual
  3x rule; the first layer's input gradient is counted too). Rows of the three passes are steps
  0, 1 and 2. Training runs in fp32 (32-bit weights and activations, also on an accelerator,
  unless a method says otherwise). The forward and input-gradient passes multiply the pruned
  weights (a zero-skipping array skips their zeros); the weight-gradient pass computes every
  weight's gradient (dense) unless the method trains only the non-zeros
  (``sparse_weight_gradient``). The memory a step keeps is the method's to state
  (``memory_bytes``; :func:`training_footprint` helps).
* a convolution followed by batch norm is followed by 2 elementwise kernels on a GPU (batch norm,
  activation); one without batch norm (SE's, the UNet's) by 1 (its activation or bias); a fully
  connected layer by none. The input-gradient pass runs as many (their backward kernels); the
  weight-gradient pass none. Residual adds, pooling and SE gating are not priced (their traffic
  is small next to the convolutions'; stated, not measured).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np

from prunesim.models.cnn import CNNConfig, Conv2d, Dense
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
    "TRAIN_PASSES",
    "saved_activation_elements",
    "check_network_stage",
    "conv_columns",
    "dense_network_workload",
    "OPTIMIZER_STATE_BYTES",
    "training_footprint",
    "network_workload",
    "unet_workload",
]

#: The passes of a training step, in step order.
TRAIN_PASSES = ("forward", "input gradient", "weight gradient")


#: Optimizer state per trainable parameter (fp32): SGD with momentum keeps one buffer, AdamW two
#: (first and second moments); PyTorch's torch.optim implementations.
OPTIMIZER_STATE_BYTES = {"sgd": 4, "adamw": 8}


def training_footprint(
    *,
    params: float,
    trainable: float,
    activation_elements: float,
    optimizer: str,
    param_bytes: int = 4,
    activation_bytes: int = 4,
    extra: Mapping[str, float] | None = None,
) -> tuple[dict[str, float], dict[str, float]]:
    """Memory a training step keeps and the optimizer's pass over memory, as
    ``(memory_bytes, streams)``.

    Memory: every weight (``params x param_bytes``), a gradient for each ``trainable`` one, the
    optimizer state of each trainable one (:data:`OPTIMIZER_STATE_BYTES`), the activations the
    backward pass needs (``activation_elements x activation_bytes``), plus ``extra`` parts
    (a mask, adapters). The optimizer update reads and writes each trainable weight and its state
    and reads its gradient: one memory pass of ``trainable x (2 param_bytes + param_bytes + 2
    state)`` bytes. Raises ValueError for an unknown optimizer or trainable > params.
    """
    if optimizer not in OPTIMIZER_STATE_BYTES:
        raise ValueError(
            f"optimizer must be one of {', '.join(OPTIMIZER_STATE_BYTES)}, not {optimizer!r}"
        )
    if not 0 <= trainable <= params:
        raise ValueError(f"trainable parameters must be in 0..{params:g}, not {trainable:g}")
    state = OPTIMIZER_STATE_BYTES[optimizer]
    memory = {
        "weights": params * param_bytes,
        "gradients": trainable * param_bytes,
        "optimizer": trainable * state,
        "activations": activation_elements * activation_bytes,
        **dict(extra or {}),
    }
    streams = {"optimizer_update": trainable * (3 * param_bytes + 2 * state)}
    return memory, streams


def check_network_stage(model_name: str, stage: Stage) -> None:
    """Raise ValueError (one line) unless ``stage`` is an inference or training stage."""
    if not isinstance(stage, Infer | Train):
        raise ValueError(
            f"{model_name} takes an infer or train stage (--stage infer|train, --batch N), "
            f"not {stage.describe()}"
        )


def conv_columns(
    layers: Sequence[Conv2d | Dense],
    batch: int,
    *,
    density: Mapping[str, float] | None = None,
    w_bits: int = 8,
    a_bits: int = 8,
) -> dict[str, np.ndarray]:
    """The :class:`ConvRows` columns of ``layers`` (one row each, layer ``i`` = position ``i``,
    step 0): a dense layer becomes a 1x1 convolution on a 1x1 input. ``density`` maps a layer
    name to its non-zero weight fraction (absent: 1). Raises ValueError for a density outside
    (0, 1] or a name that is not a layer."""
    density = dict(density or {})
    names = {layer.name for layer in layers}
    unknown = sorted(set(density) - names)
    if unknown:
        raise ValueError(f"density names a layer the network does not have: {unknown[0]!r}")
    for name, value in density.items():
        if not 0 < value <= 1:
            raise ValueError(f"density of {name} must be in (0, 1], not {value!r}")
    n = len(layers)
    cols: dict[str, list[Any]] = {name: [0] * n for name in ConvRows._fields}
    for i, layer in enumerate(layers):
        if isinstance(layer, Conv2d):
            values = (
                layer.in_channels,
                layer.out_channels,
                layer.kernel,
                layer.stride,
                layer.groups,
                layer.in_height,
                layer.in_width,
                layer.out_height,
                layer.out_width,
                2 if layer.bn else 1,
            )
        else:
            values = (layer.in_features, layer.out_features, 1, 1, 1, 1, 1, 1, 1, 0)
        for key, value in zip(
            (
                "in_channels",
                "out_channels",
                "kernel",
                "stride",
                "groups",
                "in_height",
                "in_width",
                "out_height",
                "out_width",
                "post_kernels",
            ),
            values,
            strict=True,
        ):
            cols[key][i] = value
        cols["layer"][i] = i
        cols["batch"][i] = batch
        cols["weight_density"][i] = density.get(layer.name, 1.0)
        cols["w_bits"][i] = w_bits
        cols["a_bits"][i] = a_bits
    return {name: np.asarray(values) for name, values in cols.items()}


def _train_steps(
    columns: dict[str, np.ndarray], stage: Stage, *, sparse_weight_gradient: bool = False
) -> dict[str, np.ndarray]:
    """Three copies of the rows (steps 0, 1, 2) for a training stage; the rows as they are for
    inference. The weight-gradient pass (step 2) runs no elementwise kernels and, unless
    ``sparse_weight_gradient``, is dense (module docstring)."""
    if not isinstance(stage, Train):
        return columns
    parts = []
    rows = len(columns["step"])
    for step in range(len(TRAIN_PASSES)):
        part = dict(columns)
        part["step"] = np.full(rows, step)
        if step == 2 and "post_kernels" in part:
            part["post_kernels"] = np.zeros(rows, np.int64)
        if step == 2 and "weight_density" in part and not sparse_weight_gradient:
            part["weight_density"] = np.ones(rows)
        parts.append(part)
    return {name: np.concatenate([p[name] for p in parts]) for name in columns}


def network_workload(
    network: CNNConfig,
    stage: Stage,
    *,
    model: str | None = None,
    method: str = "dense",
    density: Mapping[str, float] | None = None,
    w_bits: int | None = None,
    a_bits: int | None = None,
    sparse_weight_gradient: bool = False,
    schedule: dict[str, list[float]] | None = None,
    notes: Sequence[str] = (),
    precision: str | None = None,
    memory_bytes: dict[str, float] | None = None,
    streams: dict[str, float] | None = None,
    extras: dict[str, float] | None = None,
) -> Workload:
    """The workload of ``network`` (as a method left it) in ``stage``: one workload layer per
    weight layer, named as in the network. ``model`` names the model it came from (default the
    network's name). ``w_bits``/``a_bits``: None is 8 for inference, 32 for training (module
    docstring). The schedule gets ``channels`` (output channels per layer) and ``density``
    (non-zero weight fraction per layer) beside the method's own entries."""
    name = model or network.name
    check_network_stage(name, stage)
    layers = network.layers
    default_bits = 32 if isinstance(stage, Train) else 8
    columns = conv_columns(
        layers,
        stage.batch,
        density=density,
        w_bits=default_bits if w_bits is None else w_bits,
        a_bits=default_bits if a_bits is None else a_bits,
    )
    rows = ConvRows(**_train_steps(columns, stage, sparse_weight_gradient=sparse_weight_gradient))
    base_schedule = {
        "channels": [float(_out_channels(layer)) for layer in layers],
        "density": [float(d) for d in columns["weight_density"]],
    }
    return Workload(
        model=name,
        method=method,
        stage=stage,
        layers=len(layers),
        conv=rows,
        schedule={**base_schedule, **(schedule or {})},
        notes=list(notes),
        layer_names=[layer.name for layer in layers],
        precision=precision,
        memory_bytes=memory_bytes,
        streams=dict(streams or {}),
        extras=dict(extras or {}),
    )


def _out_channels(layer: Conv2d | Dense) -> int:
    return layer.out_channels if isinstance(layer, Conv2d) else layer.out_features


def unet_workload(
    unet: Any,
    stage: Stage,
    *,
    method: str = "dense",
    w_bits: int = 16,
    a_bits: int = 16,
    notes: Sequence[str] = (),
    memory_bytes: dict[str, float] | None = None,
    streams: dict[str, float] | None = None,
    extras: dict[str, float] | None = None,
) -> Workload:
    """The workload of one evaluation of the SD UNet ``unet`` (a
    :class:`~prunesim.models.unet.UNetConfig`) per input of ``stage`` (a denoising step at
    inference; forward and backward in training): every convolution a conv row, every matrix
    product a linear row, every attention one attention row per head (queries and keys of the
    whole latent; the keys stay on chip and are reused). Served in fp16 on GPUs; weights and
    activations at 16 bits on accelerators by default."""
    from prunesim.models.unet import UNetAttention, UNetLinear

    check_network_stage(unet.name, stage)
    ops = unet.layers()
    batch = stage.batch
    convs = [(i, op) for i, op in enumerate(ops) if isinstance(op, Conv2d)]
    linears = [(i, op) for i, op in enumerate(ops) if isinstance(op, UNetLinear)]
    attentions = [(i, op) for i, op in enumerate(ops) if isinstance(op, UNetAttention)]

    conv_cols = conv_columns([op for _, op in convs], batch, w_bits=w_bits, a_bits=a_bits)
    conv_cols["layer"] = np.asarray([i for i, _ in convs], np.int64)
    conv_cols["post_kernels"] = np.ones(len(convs), np.int64)
    lin_cols = {
        "step": np.zeros(len(linears), np.int64),
        "layer": np.asarray([i for i, _ in linears], np.int64),
        "tokens": np.asarray([op.tokens * batch for _, op in linears], np.int64),
        "in_features": np.asarray([op.in_features for _, op in linears], np.int64),
        "out_features": np.asarray([op.out_features for _, op in linears], np.int64),
        "w_bits": np.full(len(linears), w_bits),
        "a_bits": np.full(len(linears), a_bits),
    }
    heads = [(i, op, h) for i, op in attentions for h in range(op.heads) for _ in range(batch)]
    att_cols = {
        "step": np.zeros(len(heads), np.int64),
        "layer": np.asarray([i for i, _, _ in heads], np.int64),
        "head": np.asarray([h for _, _, h in heads], np.int64),
        "d": np.asarray([op.head_dim for _, op, _ in heads], np.int64),
        "queries": np.asarray([op.queries for _, op, _ in heads], np.int64),
        "keys": np.asarray([op.keys for _, op, _ in heads], np.int64),
        "values": np.asarray([op.keys for _, op, _ in heads], np.int64),
        "q_bits": np.full(len(heads), a_bits),
        "k_msb_bits": np.full(len(heads), a_bits),
        "k_lsb_bits": np.zeros(len(heads), np.int64),
        "v_bits": np.full(len(heads), a_bits),
        "lsb_fraction": np.zeros(len(heads)),
        "kv_reuse": np.ones(len(heads), bool),
    }
    conv_cols = _train_steps(conv_cols, stage)
    lin_cols = _train_steps(lin_cols, stage)
    att_cols = _train_steps(att_cols, stage)
    return Workload(
        model=unet.name,
        method=method,
        stage=stage,
        layers=len(ops),
        attention=AttentionRows(**att_cols),
        linear=LinearRows(**lin_cols),
        conv=ConvRows(**conv_cols),
        notes=list(notes),
        layer_names=[op.name for op in ops],
        precision="fp16",
        memory_bytes=memory_bytes,
        streams=dict(streams or {}),
        extras=dict(extras or {}),
    )


def dense_network_workload(model: Any, stage: Stage) -> Workload:
    """``model`` (a :class:`CNNConfig` or the SD UNet) run as it is, in ``stage``. Training is
    plain full training: every weight trainable, SGD with momentum for a CNN, AdamW for the
    UNet (its fine-tuning optimizer), fp32 weights and activations kept for the backward pass
    (the UNet is then priced in fp32 too, as diffusers trains it without mixed precision)."""
    if isinstance(model, CNNConfig):
        workload = network_workload(model, stage)
        optimizer, params = "sgd", float(model.params())
    elif isinstance(stage, Train):  # fine-tuning in fp32 (diffusers' default, no mixed precision)
        workload = unet_workload(model, stage, w_bits=32, a_bits=32)
        workload.precision = "fp32"
        optimizer, params = "adamw", float(model.params())
    else:
        workload = unet_workload(model, stage)
        optimizer, params = "adamw", float(model.params())
    if isinstance(stage, Train):
        memory, streams = training_footprint(
            params=params,
            trainable=params,
            activation_elements=saved_activation_elements(workload),
            optimizer=optimizer,
        )
        workload.memory_bytes, workload.streams = memory, streams
        workload.notes.append(f"full training: every weight trainable, {optimizer}")
    return workload


def saved_activation_elements(workload: Workload) -> float:
    """Activation elements a backward pass needs, from the forward rows (step 0) of ``workload``:
    each conv's and linear layer's input, each output of a conv followed by batch norm or an
    activation (``post_kernels`` of them), and each attention's q, k and v and its probabilities
    (eager attention keeps the score matrix)."""
    conv, lin, att = workload.conv, workload.linear, workload.attention
    fwd_c, fwd_l, fwd_a = conv.step == 0, lin.step == 0, att.step == 0
    return float(
        (conv.input_elements[fwd_c]).sum()
        + (conv.post_kernels * conv.output_elements)[fwd_c].sum()
        + (lin.tokens * lin.in_features)[fwd_l].sum()
        + (att.queries * att.keys)[fwd_a].sum()
        + (att.queries * att.d + (att.keys + att.values) * att.d / att.kv_share)[fwd_a].sum()
    )
