"""GPUs and CPUs running eager PyTorch (kind ``processor``): the hardware and its cost model.

See ``sim/hardware/titan-xp.yaml`` for a file: ``clock_ghz``, ``peak_tflops.<precision>``
(precisions ``fp64``, ``fp32``, ``tf32``, ``fp16``, ``bf16``, ``fp8``, ``int8``, ``int4``;
integer ones in tera-ops), ``dtype`` (a key of ``peak_tflops``, one of ``fp32``, ``tf32``,
``fp16``, ``bf16``, ``int8``), ``memory_gb_per_s``, ``kernel_overhead_us``, ``power_w``. The
model:

Eager PyTorch: per (step, layer), attention runs as 6 kernels batched over the heads (Q.K^T
matmul, scale, mask, softmax, prob.V matmul, merging the heads), plus 2 in generation that append
the new key and value to the cache (``torch.cat`` copies it, as Hugging Face's GPT-2 of the
paper's time did), each costing
``max(flops / peak, bytes / bandwidth) + kernel_overhead_us``; tensors are read and written at the
device's ``dtype``, whatever their bits in the workload (low-bit storage needs custom kernels).
Each linear row is one matmul kernel; end-to-end mode adds 5 elementwise kernels per layer (two
layer norms, two residual adds, the activation) whose traffic is neglected. Energy is
``power_w x seconds``; cycles are ``seconds x clock_ghz``.

Area and idle power (the optional groups ``area: {die_mm2}`` and ``static: {idle_w}``, from
datasheets or cited measurements; a file gives either, both or neither). The area is the die's
(``area_breakdown_mm2 == {"die": die_mm2}``). ``power_w`` is the busy power and already includes
the idle power, so the energy stays ``power_w x seconds``: where ``idle_w`` is known, the
breakdown splits it into ``device`` = ``(power_w - idle_w) x seconds`` (dynamic) and ``static`` =
``idle_w x seconds`` (nothing counted twice), ``static_w`` is ``idle_w``, and the per-layer
energies are unchanged. ``idle_w`` must be below ``power_w``.

Conv rows (CNNs, the UNet) on a GPU/CPU are one convolution kernel each (cuDNN's, zeros
multiplied like any weight: unstructured sparsity buys nothing there) reading the input, the
weights and the output once at the device's precision, followed by ``post_kernels`` elementwise
kernels each reading and writing the output. A workload's ``streams`` (an optimizer update) are
one memory-bound kernel each, outside the per-layer table.

What bounds the time (``LayerResult.cycles_by_unit``, ``bound``, ``bound_share``, the run's
``time_by_unit``): each kernel's ``max(flops / peak, bytes / bandwidth)`` goes to ``compute`` or
``dram``, whichever sets it (``dram`` on a tie: :data:`UNITS` order), its launch overhead to
``kernel_overhead``; the elementwise kernels are overhead only; a conv row's post kernels are
``dram`` (their traffic) and ``kernel_overhead``. So a layer's units add up to its cycles. The
memory passes (``streams``) are in no layer: their traffic is ``dram`` time and their launches
``kernel_overhead`` in the run's ``time_by_unit``. A layer's roofline label compares its
``2 x macs`` per DRAM byte with the ridge point ``peak / bandwidth`` at the precision it ran in
(as LLM-Viewer labels an operator).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any, ClassVar

import numpy as np

from prunesim.sim.costs import register_kind
from prunesim.sim.costs.common import (
    Unit,
    add_static,
    apply_bounds,
    build_result,
    design_figures,
    group_ids,
    layer_results,
    per_layer,
    roofline_labels,
    row_macs,
    time_shares,
    unit_cycles,
)
from prunesim.sim.hwfile import (
    AREA_MM2,
    CLOCK_GHZ,
    GB_PER_S,
    OVERHEAD_US,
    POWER_W,
    TFLOPS,
    Field,
    Layout,
    MappingField,
    OptionalGroup,
)
from prunesim.sim.result import LayerResult, SimResult
from prunesim.sim.workload import AttentionRows, ConvRows, LinearRows, Workload

__all__ = [
    "DTYPE_BYTES",
    "EAGER_ATTENTION_KERNELS",
    "EAGER_CACHE_KERNELS",
    "EAGER_ELEMENTWISE_KERNELS",
    "PRECISIONS",
    "Processor",
    "UNITS",
]

#: Bytes per element of each precision eager PyTorch can run a model in (Processor.dtype).
DTYPE_BYTES = {"fp32": 4, "tf32": 4, "fp16": 2, "bf16": 2, "int8": 1}
#: Precisions a processor may list a peak for (peak_tflops keys); integer ones are tera-ops.
PRECISIONS = ("fp64", "fp32", "tf32", "fp16", "bf16", "fp8", "int8", "int4")
#: Kernels of one eager-PyTorch attention layer (batched over heads).
EAGER_ATTENTION_KERNELS = ("qk_matmul", "scale", "mask", "softmax", "pv_matmul", "merge_heads")
#: Kernels that generation adds per layer: appending to the key and value caches.
EAGER_CACHE_KERNELS = ("cat_past_key", "cat_past_value")
#: Elementwise kernels per layer in end-to-end mode (2 layer norms, 2 residual adds, activation).
EAGER_ELEMENTWISE_KERNELS = 5
#: The units a processor's time is attributed to (module docstring), in the order that breaks
#: ties.
UNITS = ("dram", "compute", "kernel_overhead")
_DRAM = UNITS.index("dram")


def _dtype_has_peak(dtype: str, fields: Mapping[str, Any]) -> str | None:
    peaks = fields["peak_tflops"]
    if dtype not in peaks:
        return f"{dtype!r} has no peak in peak_tflops (it lists {', '.join(peaks)})"
    return None


def _idle_below_busy(idle_w: float, fields: Mapping[str, Any]) -> str | None:
    if idle_w >= fields["power_w"]:
        return f"must be below power_w ({fields['power_w']:g} W, the busy power that includes it)"
    return None


@register_kind
@dataclass(frozen=True)
class Processor:
    """A GPU or CPU running eager PyTorch (kind ``processor``). See ``sim/hardware/titan-xp.yaml``.

    A kernel takes ``max(flops / peak, bytes / bandwidth) + kernel_overhead_us``; tensors are read
    and written at ``dtype`` (what eager PyTorch computes in; low-bit storage buys nothing here).
    """

    name: str
    description: str
    clock_ghz: float  # to report cycles: seconds x clock
    peak_tflops: dict[str, float]  # by precision ("fp32", "fp16", "int8" ...)
    dtype: str  # the precision eager PyTorch runs the model in, a key of peak_tflops
    memory_gb_per_s: float
    kernel_overhead_us: float
    power_w: float  # board/package power while busy: energy = power x time
    sources: dict[str, str] = field(default_factory=dict)  # field -> source
    kind: str = "processor"
    # area: and static: (optional groups; None when the file has none)
    area_die_mm2: float | None = None  # the die's area
    static_idle_w: float | None = None  # idle power, part of power_w

    LAYOUT: ClassVar[Layout] = {
        "clock_ghz": Field("clock_ghz", "float", bounds=CLOCK_GHZ),
        "memory_gb_per_s": Field("memory_gb_per_s", "float", bounds=GB_PER_S),
        "kernel_overhead_us": Field("kernel_overhead_us", "float", bounds=OVERHEAD_US),
        "power_w": Field("power_w", "float", bounds=POWER_W),
        "peak_tflops": MappingField(
            "peak_tflops",
            "float",
            optional=PRECISIONS,
            what="precision",
            empty="must list the peak of at least one precision",
            bounds=TFLOPS,
        ),
        "dtype": Field("dtype", "choice", tuple(DTYPE_BYTES), check=_dtype_has_peak),
        "area": OptionalGroup({"die_mm2": Field("area_die_mm2", "float", bounds=AREA_MM2)}),
        "static": OptionalGroup(
            {"idle_w": Field("static_idle_w", "float", bounds=POWER_W, check=_idle_below_busy)}
        ),
    }
    BASELINE: ClassVar[bool] = True

    @property
    def dtype_bytes(self) -> int:
        return DTYPE_BYTES[self.dtype]

    @property
    def peak_ops_per_s(self) -> float:
        return self.peak_tflops[self.dtype] * 1e12

    @property
    def dram_bytes_per_s(self) -> float:
        return self.memory_gb_per_s * 1e9

    def units(self) -> list[Unit]:
        """The die, with its area (mm^2) and idle power (W); either None where the file has no
        figure (module docstring)."""
        return [Unit("die", 1, self.area_die_mm2, self.static_idle_w)]

    def unsupported(self, workload: Workload) -> str | None:
        """None: eager PyTorch runs every kind of row."""
        return None

    def price(self, workload: Workload) -> SimResult:
        """The cost of ``workload`` (module docstring)."""
        return _price(workload, self)


@dataclass(frozen=True)
class _Rates:
    """What a kernel costs on the device at the precision the workload runs in."""

    dtype: str  # the workload's precision where the device has a peak for it, else hw.dtype
    e: int  # bytes per element
    peak: float  # flop/s
    bw: float  # bytes/s
    overhead: float  # seconds per kernel launch


@dataclass(frozen=True)
class _Kernels:
    """Seconds and DRAM bytes of a set of kernels, one entry per group (a (step, layer), a
    row), with each group's layer."""

    layer: np.ndarray
    seconds: np.ndarray
    bytes: np.ndarray
    units: np.ndarray  # seconds per unit of UNITS, shape (len(UNITS), groups); sums to seconds


@dataclass(frozen=True)
class _Streams:
    """The memory passes' DRAM bytes and seconds, in total."""

    bytes: float
    seconds: float
    dram_seconds: float  # of which the traffic
    launch_seconds: float  # and the launches' overhead


def _rates(workload: Workload, hw: Processor) -> _Rates:
    """The device's rates at the workload's precision (``hw.dtype`` where it has no peak)."""
    dtype = workload.precision if workload.precision in hw.peak_tflops else hw.dtype
    return _Rates(
        dtype=dtype,
        e=DTYPE_BYTES[dtype],
        peak=hw.peak_tflops[dtype] * 1e12,
        bw=hw.dram_bytes_per_s,
        overhead=hw.kernel_overhead_us * 1e-6,
    )


def _attention_kernels(att: AttentionRows, r: _Rates) -> _Kernels:
    """The eager attention kernels of each (step, layer), batched over its heads (module
    docstring): 6 per group, plus the 2 cache appends where it generates."""
    e, peak, bw, overhead = r.e, r.peak, r.bw, r.overhead
    group, group_layer = group_ids(att.step, att.layer)
    groups = len(group_layer)
    q, d, k, v = (x.astype(np.float64) for x in (att.queries, att.d, att.keys, att.values))

    def per_group(values: np.ndarray) -> np.ndarray:
        return np.bincount(group, weights=values, minlength=groups)

    q_elems = per_group(q * d)
    share = att.kv_share.astype(np.float64)  # grouped-query attention reads a K/V head once
    k_elems = per_group(k * d / share)
    v_elems = per_group(v * d / share)
    s_elems = per_group(q * k)  # score matrix
    p_elems = per_group(q * v)  # probabilities multiplied by V (after local V pruning)
    o_elems = q_elems
    qk_flops = per_group(2 * q * k * d)
    pv_flops = per_group(2 * q * v * d)
    kernels = [
        (qk_flops, (q_elems + k_elems + s_elems) * e),  # Q.K^T
        (s_elems, 2 * s_elems * e),  # scale
        (s_elems, 2 * s_elems * e),  # mask
        (5 * s_elems, 2 * s_elems * e),  # softmax: max, sub, exp, sum, div
        (pv_flops, (p_elems + v_elems + o_elems) * e),  # prob.V
        (0 * o_elems, 2 * o_elems * e),  # merge heads (a copy)
    ]
    # Generation appends the new key and value to the cache: torch.cat copies the whole cache.
    cache_elems = per_group(np.where(att.kv_reuse, 0.0, k * d / share))
    generating = cache_elems > 0
    kernels += [
        (0 * cache_elems, 2 * cache_elems * e),  # cat past keys
        (0 * cache_elems, 2 * cache_elems * e),  # cat past values
    ]
    roofs = [(fl / peak, by / bw) for fl, by in kernels]
    kernel_seconds = [np.maximum(compute, memory) + overhead for compute, memory in roofs]
    kernel_seconds[-2:] = [np.where(generating, ks, 0.0) for ks in kernel_seconds[-2:]]
    # A cache append moves nothing where the group does not generate: only its launch is masked.
    launches = len(EAGER_ATTENTION_KERNELS) + len(EAGER_CACHE_KERNELS) * generating
    units = _split(np.stack([c for c, _ in roofs]), np.stack([m for _, m in roofs]), r, launches)
    return _Kernels(group_layer, sum(kernel_seconds), sum(by for _, by in kernels), units)


def _split(compute: np.ndarray, memory: np.ndarray, r: _Rates, launches: Any) -> np.ndarray:
    """Seconds per unit of :data:`UNITS` of kernels, shape ``(len(UNITS), groups)``, from their
    ``flops / peak`` and ``bytes / bandwidth`` (each ``(kernels, groups)`` or ``(groups,)``):
    each kernel's roof, the larger, to ``compute`` or ``dram`` (``dram`` on a tie), summed over
    the kernels; ``launches`` per group (a number or an array) times the launch overhead to
    ``kernel_overhead``."""
    if not memory.size:
        return np.zeros((len(UNITS), memory.shape[-1]))
    memory_sets = memory >= compute
    dram = np.where(memory_sets, memory, 0.0)
    busy = np.where(memory_sets, 0.0, compute)
    if dram.ndim == 2:
        dram, busy = dram.sum(axis=0), busy.sum(axis=0)
    return np.stack([dram, busy, np.broadcast_to(launches * r.overhead, dram.shape)])


def _linear_kernels(lin: LinearRows, r: _Rates) -> tuple[_Kernels, _Kernels]:
    """One matmul kernel per linear row (weights and activations read at the precision), and
    the end-to-end elementwise kernels of each (step, layer) with linear rows (no traffic)."""
    lin_flops = 2.0 * lin.macs
    lin_bytes = (
        lin.in_features * lin.out_features + lin.tokens * (lin.in_features + lin.out_features)
    ) * r.e
    lin_compute, lin_memory = lin_flops / r.peak, lin_bytes / r.bw
    lin_seconds = np.maximum(lin_compute, lin_memory) + r.overhead
    _, lin_group_layer = group_ids(lin.step, lin.layer)
    elementwise_seconds = np.full(len(lin_group_layer), EAGER_ELEMENTWISE_KERNELS * r.overhead)
    none = np.zeros(len(lin_group_layer))
    return (
        _Kernels(lin.layer, lin_seconds, lin_bytes, _split(lin_compute, lin_memory, r, 1)),
        _Kernels(
            lin_group_layer, elementwise_seconds, none, np.stack([none, none, elementwise_seconds])
        ),
    )


def _conv_kernels(conv: ConvRows, r: _Rates) -> _Kernels:
    """One dense convolution kernel per conv row (zeros multiplied like any weight), then its
    ``post_kernels`` elementwise kernels, each reading and writing the output once."""
    e, bw, overhead = r.e, r.bw, r.overhead
    conv_bytes = (conv.input_elements + conv.weight_elements + conv.output_elements) * e
    conv_compute, conv_memory = 2.0 * conv.macs / r.peak, conv_bytes / bw
    conv_seconds = np.maximum(conv_compute, conv_memory) + overhead
    post_bytes = conv.post_kernels * 2.0 * conv.output_elements * e
    post_memory = post_bytes / bw
    conv_seconds = conv_seconds + conv.post_kernels * overhead + post_memory
    units = _split(conv_compute, conv_memory, r, 1 + conv.post_kernels)
    units[_DRAM] += post_memory
    conv_bytes = conv_bytes + post_bytes
    return _Kernels(conv.layer, conv_seconds, conv_bytes, units)


def _stream_kernels(streams: dict[str, float], r: _Rates) -> _Streams:
    """The memory passes (an optimizer update): one memory-bound kernel each, in no layer."""
    stream_bytes = float(sum(streams.values()))
    dram, launches = stream_bytes / r.bw, len(streams) * r.overhead
    return _Streams(stream_bytes, stream_bytes / r.bw + len(streams) * r.overhead, dram, launches)


def _price(workload: Workload, hw: Processor) -> SimResult:
    """The cost of ``workload`` on ``hw`` (module docstring)."""
    r = _rates(workload, hw)
    att = _attention_kernels(workload.attention, r)
    lin, elementwise = _linear_kernels(workload.linear, r)
    conv = _conv_kernels(workload.conv, r)
    streams = _stream_kernels(workload.streams, r)
    return _result(workload, hw, r, att, lin, elementwise, conv, streams)


def _per_layer(
    workload: Workload, att: _Kernels, lin: _Kernels, elementwise: _Kernels, conv: _Kernels
) -> tuple[np.ndarray, np.ndarray]:
    """Seconds and DRAM bytes per layer (the elementwise kernels' traffic is neglected)."""
    layers = workload.layers
    sec_layer = (
        per_layer(layers, att.layer, att.seconds)
        + per_layer(layers, lin.layer, lin.seconds)
        + per_layer(layers, elementwise.layer, elementwise.seconds)
        + per_layer(layers, conv.layer, conv.seconds)
    )
    bytes_layer = (
        per_layer(layers, att.layer, att.bytes)
        + per_layer(layers, lin.layer, lin.bytes.astype(np.float64))
        + per_layer(layers, conv.layer, conv.bytes.astype(np.float64))
    )
    return sec_layer, bytes_layer


def _result(
    workload: Workload,
    hw: Processor,
    r: _Rates,
    att: _Kernels,
    lin: _Kernels,
    elementwise: _Kernels,
    conv: _Kernels,
    streams: _Streams,
) -> SimResult:
    """The :class:`SimResult`: totals, bytes by kind of tensor, ``power_w x seconds`` of energy
    (shared out to the layers by their time; split into dynamic and static where the idle power
    is known), the die's area, the roofline bound and the per-layer table."""
    sec_layer, bytes_layer = _per_layer(workload, att, lin, elementwise, conv)
    total_seconds = float(
        att.seconds.sum()
        + lin.seconds.sum()
        + elementwise.seconds.sum()
        + conv.seconds.sum()
        + streams.seconds
    )
    energy_j = total_seconds * hw.power_w
    att_macs, lin_macs = row_macs(workload)
    cycles_per_second = hw.clock_ghz * 1e9
    total_bytes = float(att.bytes.sum() + lin.bytes.sum() + conv.bytes.sum() + streams.bytes)
    macs = workload.macs
    bound_seconds = max(2 * macs / r.peak, total_bytes / r.bw)
    share = sec_layer / total_seconds if total_seconds > 0 else sec_layer * 0
    design = design_figures(hw.units())
    if design.static_w is None:
        breakdown = {"device": energy_j}
    else:  # power_w includes the idle power: its dynamic part, then the static part
        dynamic = {"device": total_seconds * (hw.power_w - design.static_w)}
        breakdown, _ = add_static(dynamic, np.zeros(0), design.static_w, total_seconds, np.zeros(0))
    layers = layer_results(
        workload,
        sec_layer * cycles_per_second,
        1 / cycles_per_second,
        bytes_layer,
        att_macs + lin_macs,
        share * energy_j,
    )
    time_by_unit = _bounds(
        workload, r, layers, (att, lin, elementwise, conv), streams, cycles_per_second
    )
    return build_result(
        workload,
        hw,
        cycles=total_seconds * cycles_per_second,
        seconds=total_seconds,
        dram_bytes=total_bytes,
        dram_bytes_by_tensor={
            "attention": float(att.bytes.sum()),
            "weights_and_activations": float(lin.bytes.sum() + conv.bytes.sum()),
            **({"streams": streams.bytes} if workload.streams else {}),
        },
        macs=macs,
        energy_j=energy_j,
        energy_breakdown_j=breakdown,
        **design.result_fields(),
        bound_cycles=bound_seconds * cycles_per_second,
        layers=layers,
        time_by_unit=time_by_unit,
        notes=[f"{hw.name}: eager PyTorch at {r.dtype}, {hw.kernel_overhead_us} us per kernel"],
    )


def _bounds(
    workload: Workload,
    r: _Rates,
    layers: list[LayerResult],
    kernels: tuple[_Kernels, ...],
    streams: _Streams,
    cycles_per_second: float,
) -> dict[str, float]:
    """Fill the layers' bounds (in cycles) and roofline labels from the kernels' seconds per
    unit; the run's share of time per unit, the memory passes included (module docstring)."""
    layer = np.concatenate([k.layer for k in kernels])
    seconds = np.concatenate([k.units for k in kernels], axis=1)
    unit = np.arange(len(UNITS))[:, None]
    by_unit = unit_cycles(workload.layers, len(UNITS), layer[None, :], unit, seconds)
    apply_bounds(layers, UNITS, by_unit * cycles_per_second)
    roofline_labels(layers, r.peak, r.bw)
    outside = {"dram": streams.dram_seconds, "kernel_overhead": streams.launch_seconds}
    return time_shares(UNITS, by_unit, outside)
