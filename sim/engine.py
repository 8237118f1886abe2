"""The cost model: a :class:`~prunesim.sim.workload.Workload` priced on a hardware target.

:func:`evaluate` returns a :class:`SimResult` (totals, per-tensor DRAM bytes, an energy breakdown
and a per-layer table). Everything is vectorised over the workload's rows (numpy); nothing loops
per query in Python.

SpAtten-class accelerators (:class:`~prunesim.sim.hardware.Accelerator`)
-------------------------------------------------------------------------
One head and one query at a time, as in SpAtten. Per attention row (``queries`` queries of one
head sharing ``keys`` keys and ``values`` values):

DRAM bytes, per tensor. Every fetch of a tensor is rounded up to whole DRAM transactions
(``dram_transaction_bytes``), spread evenly over the channels (peak bandwidth, no bank conflicts).

* ``q``: ``queries x d x q_bits / 8``.
* ``k_msb``: ``keys x d x k_msb_bits / 8`` per *load* of the keys; ``v``:
  ``values x d x v_bits / 8`` per load of the values. Without reuse (generation) every query
  loads them (one query per row).
  With reuse (summarization) the row's keys and values are loaded once into the K/V SRAM and every
  query reads them there; then *all* the row's values are loaded (each query keeps different ones
  after local V pruning, so it saves compute, not DRAM). If the keys do not fit in half of the
  K SRAM (the other half is the double buffer being filled), they are streamed again for every
  query (no reuse).
* ``k_lsb``: the LSB plane, ``keys x d x k_lsb_bits / 8`` for each query that needs it
  (``lsb_fraction`` of them); with reuse, once per row with the probability that at least one of
  its queries needs it, ``1 - (1 - lsb_fraction) ** queries``.

Cycles. The modules form a pipeline with FIFOs between them, so consecutive queries (and heads)
overlap; one query occupies each module for:

* fetch: its DRAM bytes / (bytes per cycle of all channels); with reuse the row's loads overlap
  the previous row's compute (double-buffered SRAM), so a row costs ``max(fetch, compute)``;
* Q.K: ``ceil(keys / (qk_multipliers // d))`` (``keys x ceil(d / qk_multipliers)`` when ``d`` is
  wider than the array), once more for the fraction ``lsb_fraction`` that recompute with the LSBs;
* softmax: ``ceil(keys / softmax_lanes)``, likewise repeated on a recompute. When the accelerator's
  softmax is not pipelined (``softmax_pipelined: false``, a single unit that runs score, exp and
  normalize passes one after another as :mod:`prunesim.rtl.pq` does), Q.K and softmax are one
  module costing :func:`prunesim.sim.blocks.pq_cycles`;
* local-V top-k (only when ``values < keys``): the engine takes the probabilities in
  ``ceil(keys / topk_comparators)`` beats, then :func:`prunesim.sim.blocks.topk_cycles` until its
  last output: it holds one frame at a time;
* prob.V: ``ceil(values / (pv_multipliers // d))``.

A row costs ``queries x max(those)`` (or ``max(fetch, queries x max(compute))`` with reuse), and
each (step, layer) adds the pipeline's fill latency once (the sum of ``latency_cycles``). The
cascade token/head top-k engine and the importance accumulators run beside the critical path and
cost no cycles. Linear rows (end-to-end mode) reuse all the multipliers: ``max(weight and
activation bytes / bandwidth, MACs / multipliers)`` per row.

Energy (picojoule tables of the hardware file, each with its source): DRAM bits x pJ/bit; SRAM:
every element written into and read out of the K/V SRAM at ``sram_word_bits`` per element, priced
per ``sram_read_bits`` read at the SRAM's capacity; compute: every multiply at
``multiplier_bits``, every add at twice that (the accumulators), recomputes included, and the
softmax's exponential as 5 multiply-adds per score (5th-order Taylor, as SpAtten computes it).

GPUs and CPUs (:class:`~prunesim.sim.hardware.Processor`)
--------------------------------------------------------
Eager PyTorch: per (step, layer), attention runs as 6 kernels batched over the heads (Q.K^T
matmul, scale, mask, softmax, prob.V matmul, merging the heads), plus 2 in generation that append
the new key and value to the cache (``torch.cat`` copies it, as Hugging Face's GPT-2 of the
paper's time did), each costing
``max(flops / peak, bytes / bandwidth) + kernel_overhead_us``; tensors are read and written at the
device's ``dtype``, whatever their bits in the workload (low-bit storage needs custom kernels).
Each linear row is one matmul kernel; end-to-end mode adds 5 elementwise kernels per layer (two
layer norms, two residual adds, the activation) whose traffic is neglected. Energy is
``power_w x seconds``; cycles are ``seconds x clock_ghz``.

Conv rows (CNNs, the UNet) on a GPU/CPU are one convolution kernel each (cuDNN's, zeros
multiplied like any weight: unstructured sparsity buys nothing there) reading the input, the
weights and the output once at the device's precision, followed by ``post_kernels`` elementwise
kernels each reading and writing the output. A workload's ``streams`` (an optimizer update) are
one memory-bound kernel each, outside the per-layer table.

Systolic arrays (:class:`~prunesim.sim.hardware.Systolic`)
---------------------------------------------------------
Every row becomes matrix products (:func:`prunesim.sim.systolic.compute_cycles`): a conv row
``groups`` products of ``batch x out_h x out_w`` pixels by a ``kernel**2 x in/groups`` window by
``out/groups`` filters (im2col; a depthwise convolution is ``groups`` products of one filter
each, which is why it uses a systolic array badly); a linear row ``tokens x in x out``; an
attention row Q.K^T (``queries x d x keys``) and prob.V (``queries x values x d``) with the
keys/values where weights would be. The softmax runs beside the array (not priced).

* Cycles per product: SCALE-Sim's fold formula, with each filter's reduction compressed to its
  non-zero weights when the array skips zeros
  (:func:`~prunesim.sim.systolic.effective_window`); then ``max(compute, DRAM bytes /
  bandwidth)``, the buffers being double-buffered. Products run one after another.
* DRAM bytes, in whole transactions: the input feature map (as stored, not im2col'ed), the
  weights (:func:`~prunesim.sim.systolic.weight_bytes`: ``dense``, ``bitmask`` or ``csr`` for
  sparse ones, or dense where the format would take more bytes) and the output, each once when
  it fits in half its buffer; otherwise the operand that is not stationary is fetched again per
  fold of the other dimension (``ws``: the input once per column fold; ``os``: the input per
  column fold and the weights per row fold; ``is``: the weights per column fold of the pixels).
  Partial sums stay in the output buffer.
* Operands wider than the processing elements (``multiplier_bits``) take
  ``ceil(w_bits / bits) x ceil(a_bits / bits)`` passes of the array (bit-serial decomposition,
  as Bit Fusion composes wide products from narrow ones): 16-bit UNet inference on an 8-bit
  array takes 4 passes, fp32 training 16 (an integer stand-in for float arithmetic: stated, a
  systolic int8 array has no float datapath).
* Energy: DRAM bits; SRAM reads of every element the array consumes (per fold pass) and every
  partial-sum update at ``2 x bits``, priced by each buffer's capacity; every multiply-accumulate
  executed (non-zero ones only when zeros are skipped).

Published accelerators (:class:`~prunesim.sim.hardware.Published`)
-----------------------------------------------------------------
``seconds = ops / gops``, ``energy = ops / gops_per_j`` with ``ops = 2 x MACs`` of the attention
rows; their DRAM traffic is not published, so ``dram_bytes`` is None.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import numpy as np

from prunesim.sim.blocks import pq_cycles, topk_cycles
from prunesim.sim.hardware import (
    DTYPE_BYTES,
    Accelerator,
    Hardware,
    Processor,
    Published,
    Systolic,
)
from prunesim.sim.systolic import compute_cycles, effective_window, weight_bytes
from prunesim.sim.workload import AttentionRows, LinearRows, Workload

__all__ = [
    "ATTENTION_TENSORS",
    "EAGER_ATTENTION_KERNELS",
    "EAGER_CACHE_KERNELS",
    "EAGER_ELEMENTWISE_KERNELS",
    "EXP_MACS_PER_SCORE",
    "LayerResult",
    "SimResult",
    "evaluate",
]

#: DRAM tensors of the per-tensor byte counts, in table order.
ATTENTION_TENSORS = ("q", "k_msb", "k_lsb", "v", "weights", "activations")
#: Kernels of one eager-PyTorch attention layer (batched over heads).
EAGER_ATTENTION_KERNELS = ("qk_matmul", "scale", "mask", "softmax", "pv_matmul", "merge_heads")
#: Kernels that generation adds per layer: appending to the key and value caches.
EAGER_CACHE_KERNELS = ("cat_past_key", "cat_past_value")
#: Elementwise kernels per layer in end-to-end mode (2 layer norms, 2 residual adds, activation).
EAGER_ELEMENTWISE_KERNELS = 5
#: Multiply-adds per softmax score: SpAtten's exponential is a 5th-order Taylor series on FMAs.
EXP_MACS_PER_SCORE = 5


@dataclass
class LayerResult:
    """Costs of one layer, summed over the stage's steps and the layer's heads."""

    layer: int
    name: str
    cycles: float
    seconds: float
    dram_bytes: float | None
    macs: int
    energy_j: float
    tokens: float | None = None  # keys per query, averaged over the rows (from the schedule)
    heads: float | None = None
    channels: float | None = None  # output channels (a network's schedule)
    density: float | None = None  # non-zero weight fraction (a network's schedule)

    def to_dict(self) -> dict[str, Any]:
        return dict(self.__dict__)


@dataclass
class SimResult:
    """A workload's cost on one hardware target.

    ``cycles`` are the target's clock cycles (``seconds x clock``); ``ops = 2 x macs``;
    ``dram_bytes`` counts whole transactions and equals the sum of ``dram_bytes_by_tensor``
    (None where the target's traffic is not modelled); ``energy_j`` equals the sum of
    ``energy_breakdown_j``; ``bound_cycles`` is the roofline bound ``max(ops / peak, bytes /
    bandwidth)`` in cycles, which ``cycles`` never beats.
    """

    model: str
    method: str
    hardware: str
    stage: str
    mode: str
    cycles: float
    seconds: float
    dram_bytes: float | None
    dram_bytes_by_tensor: dict[str, float] | None
    macs: int
    energy_j: float
    energy_breakdown_j: dict[str, float]
    bound_cycles: float
    layers: list[LayerResult] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)
    kv_cache_bytes: float | None = None  # the decoder's K/V cache at the end (the workload's)
    memory_bytes: dict[str, float] | None = None  # the stage's memory footprint by part
    extras: dict[str, float] = field(default_factory=dict)  # the method's other figures

    @property
    def ops(self) -> int:
        return 2 * self.macs

    @property
    def ops_per_s(self) -> float:
        return self.ops / self.seconds if self.seconds > 0 else 0.0

    @property
    def memory_total_bytes(self) -> float | None:
        """The sum of :attr:`memory_bytes` (None where the stage's memory is not modelled)."""
        return None if self.memory_bytes is None else float(sum(self.memory_bytes.values()))

    def to_dict(self) -> dict[str, Any]:
        """A JSON-ready dict; its top level has ``cycles``, ``seconds``, ``dram_bytes``, ``macs``,
        ``energy_j``, ``energy_breakdown_j`` and ``layers``."""
        return {
            "model": self.model,
            "method": self.method,
            "hardware": self.hardware,
            "stage": self.stage,
            "mode": self.mode,
            "cycles": self.cycles,
            "seconds": self.seconds,
            "dram_bytes": self.dram_bytes,
            "dram_bytes_by_tensor": self.dram_bytes_by_tensor,
            "macs": self.macs,
            "ops": self.ops,
            "ops_per_s": self.ops_per_s,
            "energy_j": self.energy_j,
            "energy_breakdown_j": self.energy_breakdown_j,
            "bound_cycles": self.bound_cycles,
            "kv_cache_bytes": self.kv_cache_bytes,
            "memory_bytes": self.memory_bytes,
            "extras": dict(self.extras),
            "layers": [layer.to_dict() for layer in self.layers],
            "notes": list(self.notes),
        }


# ---------------------------------------------------------------------------------------------
# Shared helpers.


def _group_ids(step: np.ndarray, layer: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Dense ids of the rows' distinct (step, layer) pairs, and each pair's layer."""
    if len(step) == 0:
        return np.zeros(0, np.int64), np.zeros(0, np.int64)
    key = step.astype(np.int64) * (int(layer.max()) + 1) + layer
    _, first, ids = np.unique(key, return_index=True, return_inverse=True)
    return ids.reshape(-1), layer[first]


def _per_layer(layers: int, layer: np.ndarray, values: np.ndarray) -> np.ndarray:
    return np.bincount(layer, weights=values, minlength=layers)[:layers]


def _txn_bytes(bytes_per_load: np.ndarray, loads: np.ndarray, txn: int) -> np.ndarray:
    """Bytes moved for ``loads`` fetches of ``bytes_per_load`` each, in whole transactions."""
    return np.ceil(bytes_per_load / txn) * txn * loads


def _layer_results(
    workload: Workload,
    cycles: np.ndarray,
    seconds_per_cycle: float,
    dram: np.ndarray | None,
    macs: np.ndarray,
    energy: np.ndarray,
) -> list[LayerResult]:
    schedule = workload.schedule
    results = []
    for layer in range(workload.layers):
        results.append(
            LayerResult(
                layer=layer,
                name=workload.layer_name(layer),
                cycles=float(cycles[layer]),
                seconds=float(cycles[layer] * seconds_per_cycle),
                dram_bytes=None if dram is None else float(dram[layer]),
                macs=int(macs[layer]),
                energy_j=float(energy[layer]),
                tokens=_schedule_value(schedule, "tokens", layer),
                heads=_schedule_value(schedule, "heads", layer),
                channels=_schedule_value(schedule, "channels", layer),
                density=_schedule_value(schedule, "density", layer),
            )
        )
    return results


def _result(
    workload: Workload, hw: Hardware, *, notes: tuple[str, ...] | list[str] = (), **fields: Any
) -> SimResult:
    """A :class:`SimResult` of ``workload`` on ``hw``: names, stage, mode and the workload's notes
    filled in, then ``notes`` and the cost ``fields``."""
    return SimResult(
        model=workload.model,
        method=workload.method,
        hardware=hw.name,
        stage=workload.stage.describe(),
        mode=_mode(workload),
        notes=[*workload.notes, *notes],
        kv_cache_bytes=workload.kv_cache_bytes,
        memory_bytes=None if workload.memory_bytes is None else dict(workload.memory_bytes),
        extras=dict(workload.extras),
        **fields,
    )


def _mode(workload: Workload) -> str:
    if len(workload.conv) or workload.stage.name in ("infer", "train"):
        return "network"
    return "end-to-end" if len(workload.linear) else "attention"


def _refuse_conv(workload: Workload, hw: Hardware, what: str) -> None:
    if len(workload.conv) or workload.streams:
        raise ValueError(
            f"{hw.name} prices {what}; this workload has {len(workload.conv)} convolutions"
            + (f" and {len(workload.streams)} memory passes" if workload.streams else "")
        )


def _schedule_value(schedule: dict[str, list[float]], key: str, layer: int) -> float | None:
    values = schedule.get(key)
    if values is None or layer >= len(values) or values[layer] != values[layer]:  # NaN: none
        return None
    return float(values[layer])


def _row_macs(workload: Workload) -> tuple[np.ndarray, np.ndarray]:
    """Per-layer MACs of the attention rows and of the linear and conv rows (dense counts)."""
    att, lin, conv = workload.attention, workload.linear, workload.conv
    return (
        _per_layer(workload.layers, att.layer, att.macs.astype(np.float64)),
        _per_layer(workload.layers, lin.layer, lin.macs.astype(np.float64))
        + _per_layer(workload.layers, conv.layer, conv.macs.astype(np.float64)),
    )


# ---------------------------------------------------------------------------------------------
# SpAtten-class accelerators.


def _units_per_query(count: np.ndarray, d: np.ndarray, multipliers: int) -> np.ndarray:
    """Cycles for ``count`` d-element dot products on ``multipliers`` multipliers."""
    per_cycle = multipliers // d
    wide = per_cycle == 0
    safe = np.where(wide, 1, per_cycle)
    return np.where(wide, count * np.ceil(d / multipliers), np.ceil(count / safe))


def _accelerator(workload: Workload, hw: Accelerator) -> SimResult:
    _refuse_conv(workload, hw, "attention and linear layers (SpAtten's datapath)")
    att: AttentionRows = workload.attention
    lin: LinearRows = workload.linear
    txn = hw.dram_transaction_bytes
    bpc = hw.dram_bytes_per_cycle
    q, d, k, v = att.queries, att.d, att.keys, att.values
    f = att.lsb_fraction

    # Reuse of K/V from SRAM, where they fit in half the K buffer (the other half double-buffers).
    half_k_sram_bits = hw.k_sram_kb * 1024 * 8 / 2
    fits = k * d * hw.sram_word_bits <= half_k_sram_bits
    reuse = att.kv_reuse & fits
    loads = np.where(reuse, 1, q)
    v_loaded = np.where(reuse, k, v)  # with reuse every value of the row is loaded once
    lsb_loads = np.where(reuse, 1.0 - (1.0 - f) ** q, q * f)

    share = att.kv_share  # a K/V head fetched once serves its group's query heads
    by_tensor_rows = {
        "q": _txn_bytes(q * d * att.q_bits / 8, np.ones_like(q), txn),
        "k_msb": _txn_bytes(k * d * att.k_msb_bits / 8, loads, txn) / share,
        "k_lsb": _txn_bytes(k * d * att.k_lsb_bits / 8, lsb_loads, txn) / share,
        "v": _txn_bytes(v_loaded * d * att.v_bits / 8, loads, txn) / share,
    }
    row_bytes = sum(by_tensor_rows.values())

    # Module occupancy per query (cycles).
    qk = _units_per_query(k, d, hw.qk_multipliers)
    if hw.softmax_pipelined:
        softmax = np.ceil(k / hw.softmax_lanes)
        scoring = np.maximum(qk, softmax) * (1.0 + f)
    else:
        keys_per_cycle = max(1, min(hw.qk_multipliers // int(d.max(initial=1)), hw.softmax_lanes))
        # The datapath is sized for the longest row (its reciprocal grows with log2(max_n)).
        max_n = max(1024, int(k.max(initial=1)))
        scoring = pq_cycles(k, f, keys_per_cycle=keys_per_cycle, max_n=max_n)
    pruned_v = v < k
    topk = np.where(
        pruned_v,
        np.ceil(k / hw.topk_comparators) + topk_cycles(k, v, hw.topk_comparators),
        0.0,
    )
    pv = _units_per_query(v, d, hw.pv_multipliers)
    compute = np.maximum.reduce([scoring, topk, pv])
    fetch = row_bytes / bpc
    row_cycles = np.where(reuse, np.maximum(fetch, q * compute), q * np.maximum(fetch / q, compute))

    # Pipeline fill once per (step, layer) with attention rows.
    _, fill_layer = _group_ids(att.step, att.layer)
    fill = np.full(len(fill_layer), float(sum(hw.latency_cycles.values())))

    # Linear rows: all multipliers, weights and activations from DRAM.
    multipliers = hw.qk_multipliers + hw.pv_multipliers
    w_bytes = _txn_bytes(lin.in_features * lin.out_features * lin.w_bits / 8, 1, txn)
    a_bytes = _txn_bytes(lin.tokens * (lin.in_features + lin.out_features) * lin.a_bits / 8, 1, txn)
    lin_cycles = np.maximum((w_bytes + a_bytes) / bpc, np.ceil(lin.macs / multipliers))

    # Energy (pJ).
    word = hw.sram_word_bits
    read = hw.sram_read_bits
    k_reads = q * k * d * (1.0 + f) * word / read  # every query reads its keys (twice on recompute)
    v_reads = q * v * d * word / read
    k_writes = (k * d * word / read) * (loads + lsb_loads) / share
    v_writes = v_loaded * d * word / read * loads / share
    sram_pj = (k_reads + k_writes) * hw.sram_pj_per_read(hw.k_sram_kb) + (
        v_reads + v_writes
    ) * hw.sram_pj_per_read(hw.v_sram_kb)
    mac_pj = hw.mult_pj(hw.multiplier_bits) + hw.add_pj(2 * hw.multiplier_bits)
    qk_macs = q * k * d * (1.0 + f)
    softmax_macs = q * k * (1.0 + f) * EXP_MACS_PER_SCORE
    pv_macs = q * v * d
    dram_pj_att = row_bytes * 8 * hw.dram_pj_per_bit
    lin_bytes = w_bytes + a_bytes
    dram_pj_lin = lin_bytes * 8 * hw.dram_pj_per_bit
    compute_pj_att = (qk_macs + softmax_macs + pv_macs) * mac_pj
    compute_pj_lin = lin.macs * mac_pj

    layers = workload.layers
    cyc_layer = (
        _per_layer(layers, att.layer, row_cycles) + _per_layer(layers, fill_layer, fill)
    ) + _per_layer(layers, lin.layer, lin_cycles)
    dram_layer = _per_layer(layers, att.layer, row_bytes) + _per_layer(layers, lin.layer, lin_bytes)
    energy_layer = (
        _per_layer(layers, att.layer, dram_pj_att + sram_pj + compute_pj_att)
        + _per_layer(layers, lin.layer, dram_pj_lin + compute_pj_lin)
    ) * 1e-12
    att_macs, lin_macs = _row_macs(workload)

    total_cycles = float(row_cycles.sum() + fill.sum() + lin_cycles.sum())
    total_bytes = float(row_bytes.sum() + lin_bytes.sum())
    by_tensor = {name: float(value.sum()) for name, value in by_tensor_rows.items()}
    by_tensor["weights"] = float(w_bytes.sum())
    by_tensor["activations"] = float(a_bytes.sum())
    breakdown = {
        "dram": float((dram_pj_att.sum() + dram_pj_lin.sum()) * 1e-12),
        "sram": float(sram_pj.sum() * 1e-12),
        "compute_qk": float(qk_macs.sum() * mac_pj * 1e-12),
        "compute_softmax": float(softmax_macs.sum() * mac_pj * 1e-12),
        "compute_pv": float(pv_macs.sum() * mac_pj * 1e-12),
        "compute_linear": float(compute_pj_lin.sum() * 1e-12),
    }
    macs = workload.macs
    bound = max(2 * macs / (2 * multipliers), total_bytes / bpc)
    seconds_per_cycle = 1e-9 / hw.clock_ghz
    return _result(
        workload,
        hw,
        cycles=total_cycles,
        seconds=total_cycles * seconds_per_cycle,
        dram_bytes=total_bytes,
        dram_bytes_by_tensor=by_tensor,
        macs=macs,
        energy_j=float(sum(breakdown.values())),
        energy_breakdown_j=breakdown,
        bound_cycles=float(bound),
        layers=_layer_results(
            workload, cyc_layer, seconds_per_cycle, dram_layer, att_macs + lin_macs, energy_layer
        ),
    )


# ---------------------------------------------------------------------------------------------
# GPUs and CPUs running eager PyTorch.


def _processor(workload: Workload, hw: Processor) -> SimResult:
    att, lin = workload.attention, workload.linear
    dtype = workload.precision if workload.precision in hw.peak_tflops else hw.dtype
    e = DTYPE_BYTES[dtype]
    peak = hw.peak_tflops[dtype] * 1e12
    bw = hw.dram_bytes_per_s
    overhead = hw.kernel_overhead_us * 1e-6

    # Attention: sums per (step, layer) over the heads (kernels are batched over heads).
    group, group_layer = _group_ids(att.step, att.layer)
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
    kernel_seconds = [np.maximum(fl / peak, by / bw) + overhead for fl, by in kernels]
    kernel_seconds[-2:] = [np.where(generating, ks, 0.0) for ks in kernel_seconds[-2:]]
    att_group_seconds = sum(kernel_seconds)
    att_group_bytes = sum(by for _, by in kernels)

    # Linear rows: one matmul kernel each, reading the weights and activations at dtype.
    lin_flops = 2.0 * lin.macs
    lin_bytes = (
        lin.in_features * lin.out_features + lin.tokens * (lin.in_features + lin.out_features)
    ) * e
    lin_seconds = np.maximum(lin_flops / peak, lin_bytes / bw) + overhead
    # End-to-end mode: the elementwise kernels of each (step, layer) with linear rows.
    _, lin_group_layer = _group_ids(lin.step, lin.layer)
    elementwise_seconds = np.full(len(lin_group_layer), EAGER_ELEMENTWISE_KERNELS * overhead)

    # Conv rows: one convolution kernel each (zeros multiplied like any weight: dense kernels),
    # then its elementwise kernels, each reading and writing the output once.
    conv = workload.conv
    conv_bytes = (conv.input_elements + conv.weight_elements + conv.output_elements) * e
    conv_seconds = np.maximum(2.0 * conv.macs / peak, conv_bytes / bw) + overhead
    post_bytes = conv.post_kernels * 2.0 * conv.output_elements * e
    conv_seconds = conv_seconds + conv.post_kernels * overhead + post_bytes / bw
    conv_bytes = conv_bytes + post_bytes
    # Memory passes (an optimizer update): one memory-bound kernel each, in no layer.
    stream_bytes = float(sum(workload.streams.values()))
    stream_seconds = stream_bytes / bw + len(workload.streams) * overhead

    layers = workload.layers
    sec_layer = (
        _per_layer(layers, group_layer, att_group_seconds)
        + _per_layer(layers, lin.layer, lin_seconds)
        + _per_layer(layers, lin_group_layer, elementwise_seconds)
        + _per_layer(layers, conv.layer, conv_seconds)
    )
    bytes_layer = (
        _per_layer(layers, group_layer, att_group_bytes)
        + _per_layer(layers, lin.layer, lin_bytes.astype(np.float64))
        + _per_layer(layers, conv.layer, conv_bytes.astype(np.float64))
    )
    total_seconds = float(
        att_group_seconds.sum()
        + lin_seconds.sum()
        + elementwise_seconds.sum()
        + conv_seconds.sum()
        + stream_seconds
    )
    energy_j = total_seconds * hw.power_w
    att_macs, lin_macs = _row_macs(workload)
    cycles_per_second = hw.clock_ghz * 1e9
    total_bytes = float(att_group_bytes.sum() + lin_bytes.sum() + conv_bytes.sum() + stream_bytes)
    macs = workload.macs
    bound_seconds = max(2 * macs / peak, total_bytes / bw)
    share = sec_layer / total_seconds if total_seconds > 0 else sec_layer * 0
    return _result(
        workload,
        hw,
        cycles=total_seconds * cycles_per_second,
        seconds=total_seconds,
        dram_bytes=total_bytes,
        dram_bytes_by_tensor={
            "attention": float(att_group_bytes.sum()),
            "weights_and_activations": float(lin_bytes.sum() + conv_bytes.sum()),
            **({"streams": stream_bytes} if workload.streams else {}),
        },
        macs=macs,
        energy_j=energy_j,
        energy_breakdown_j={"device": energy_j},
        bound_cycles=bound_seconds * cycles_per_second,
        layers=_layer_results(
            workload,
            sec_layer * cycles_per_second,
            1 / cycles_per_second,
            bytes_layer,
            att_macs + lin_macs,
            share * energy_j,
        ),
        notes=[f"{hw.name}: eager PyTorch at {dtype}, {hw.kernel_overhead_us} us per kernel"],
    )


# ---------------------------------------------------------------------------------------------
# Accelerators known by their published figures.


def _published(workload: Workload, hw: Published) -> SimResult:
    _refuse_conv(workload, hw, "attention only (its published throughput)")
    if len(workload.linear):
        raise ValueError(
            f"{hw.name} prices attention only (its published throughput); this workload also "
            f"has {len(workload.linear)} matrix products (end-to-end layers, or a method's "
            "merging and scoring)"
        )
    att_macs, _ = _row_macs(workload)
    macs = workload.macs
    seconds = 2 * macs / (hw.gops * 1e9)
    energy = 2 * macs / (hw.gops_per_j * 1e9)
    cycles_per_second = hw.clock_ghz * 1e9
    share = att_macs / macs if macs else att_macs * 0
    return _result(
        workload,
        hw,
        cycles=seconds * cycles_per_second,
        seconds=seconds,
        dram_bytes=None,
        dram_bytes_by_tensor=None,
        macs=macs,
        energy_j=energy,
        energy_breakdown_j={"device": energy},
        bound_cycles=seconds * cycles_per_second,
        layers=_layer_results(
            workload,
            share * seconds * cycles_per_second,
            1 / cycles_per_second,
            None,
            att_macs,
            share * energy,
        ),
        notes=[f"{hw.name}: published throughput and efficiency"],
    )


# ---------------------------------------------------------------------------------------------
# Systolic-array CNN accelerators.


@dataclass
class _Gemms:
    """Matrix products for a systolic array, one entry per workload row (numpy arrays)."""

    layer: np.ndarray
    count: np.ndarray  # independent products (groups)
    pixels: np.ndarray  # rows of the input operand
    window: np.ndarray  # reduction
    filters: np.ndarray  # columns of the weight operand
    density: np.ndarray  # non-zero fraction of the weight operand
    compressible: np.ndarray  # the weight operand is a model weight (zero-skipping, formats)
    in_bytes: np.ndarray  # the input tensor as it sits in DRAM (not im2col'ed), all products
    w_elements: np.ndarray  # weight operand elements, all products
    w_bits: np.ndarray
    out_bytes: np.ndarray
    a_bits: np.ndarray

    @staticmethod
    def concat(parts: list[_Gemms]) -> _Gemms:
        return _Gemms(
            **{
                name: np.concatenate([getattr(p, name) for p in parts])
                for name in _Gemms.__dataclass_fields__
            }
        )


def _gemms(workload: Workload) -> _Gemms:
    conv, lin, att = workload.conv, workload.linear, workload.attention
    count, pixels, window, filters = conv.gemm()
    parts = [
        _Gemms(
            layer=conv.layer,
            count=count,
            pixels=pixels,
            window=window,
            filters=filters,
            density=conv.weight_density,
            compressible=np.ones(len(conv), bool),
            in_bytes=conv.input_elements * conv.a_bits / 8,
            w_elements=conv.weight_elements,
            w_bits=conv.w_bits,
            out_bytes=conv.output_elements * conv.a_bits / 8,
            a_bits=conv.a_bits,
        ),
        _Gemms(
            layer=lin.layer,
            count=np.ones(len(lin), np.int64),
            pixels=lin.tokens,
            window=lin.in_features,
            filters=lin.out_features,
            density=np.ones(len(lin)),
            compressible=np.ones(len(lin), bool),
            in_bytes=lin.tokens * lin.in_features * lin.a_bits / 8,
            w_elements=lin.in_features * lin.out_features,
            w_bits=lin.w_bits,
            out_bytes=lin.tokens * lin.out_features * lin.a_bits / 8,
            a_bits=lin.a_bits,
        ),
    ]
    if len(att):
        q, d, k, v, share = att.queries, att.d, att.keys, att.values, att.kv_share
        ones = np.ones(len(att), np.int64)
        # Q.K^T: queries x d by d x keys (the keys stand where the weights would); prob.V:
        # queries x values by values x d. K/V fetched once per group of kv_share heads.
        parts += [
            _Gemms(
                layer=att.layer,
                count=ones,
                pixels=q,
                window=d,
                filters=k,
                density=np.ones(len(att)),
                compressible=np.zeros(len(att), bool),
                in_bytes=q * d * att.q_bits / 8,
                w_elements=k * d / share,
                w_bits=att.k_msb_bits,
                out_bytes=np.zeros(len(att)),  # the scores stay on chip for the softmax
                a_bits=att.q_bits,
            ),
            _Gemms(
                layer=att.layer,
                count=ones,
                pixels=q,
                window=np.maximum(v, 1),
                filters=d,
                density=np.ones(len(att)),
                compressible=np.zeros(len(att), bool),
                in_bytes=np.zeros(len(att)),  # the probabilities come from the softmax, on chip
                w_elements=v * d / share,
                w_bits=att.v_bits,
                out_bytes=q * d * att.q_bits / 8,
                a_bits=att.q_bits,
            ),
        ]
    return _Gemms.concat(parts)


def _systolic(workload: Workload, hw: Systolic) -> SimResult:
    g = _gemms(workload)
    rows, cols, flow = hw.rows, hw.columns, hw.dataflow
    txn = hw.dram_transaction_bytes
    bpc = hw.dram_bytes_per_cycle

    sparse = g.compressible & (g.density < 1)
    skip = sparse & hw.zero_skipping
    lockstep = np.minimum(g.filters, cols)  # filters side by side in a fold
    window_eff = np.where(skip, effective_window(g.window, g.density, lockstep), g.window)
    bits = hw.multiplier_bits
    passes = -(-g.w_bits // bits) * -(-g.a_bits // bits)  # operands wider than the PEs
    compute = (
        passes
        * g.count
        * compute_cycles(g.pixels, window_eff.astype(np.int64), g.filters, rows, cols, flow)
    )

    # Sparse weights in the hardware's format, unless that is larger than storing them dense
    # (CSR at a moderate density): the compiler picks the smaller, layer by layer.
    dense_w_bytes = weight_bytes(g.w_elements, g.filters * g.count, g.density, g.w_bits, "dense")
    packed_w_bytes = weight_bytes(
        g.w_elements,
        g.filters * g.count,
        g.density,
        g.w_bits,
        hw.weight_format,
        index_bits=hw.index_bits,
        pointer_bits=hw.pointer_bits,
    )
    w_bytes = np.where(sparse, np.minimum(dense_w_bytes, packed_w_bytes), dense_w_bytes)
    # Reuse: a tensor that fits in half its buffer (the other half is being filled) is fetched
    # once; otherwise once per fold of the dimension it is not stationary in.
    in_fits = g.in_bytes <= hw.ifmap_sram_kb * 1024 / 2
    w_fits = w_bytes <= hw.filter_sram_kb * 1024 / 2
    col_folds = -(-g.filters // cols)
    if flow == "ws":
        in_loads, w_loads = np.where(in_fits, 1, col_folds), np.ones_like(col_folds)
    elif flow == "os":
        in_loads = np.where(in_fits, 1, col_folds)
        w_loads = np.where(w_fits, 1, -(-g.pixels // rows))
    else:  # is: the inputs stay; the weights stream once per fold of the pixels
        in_loads, w_loads = np.ones_like(col_folds), np.where(w_fits, 1, -(-g.pixels // cols))
    by_tensor_rows = {
        "inputs": _txn_bytes(g.in_bytes, in_loads, txn),
        "weights": _txn_bytes(w_bytes, w_loads, txn),
        "outputs": _txn_bytes(g.out_bytes, 1, txn),
    }
    row_bytes = sum(by_tensor_rows.values())
    row_cycles = np.maximum(compute, row_bytes / bpc)  # double-buffered: fetch overlaps compute

    # Energy (pJ): DRAM bits; SRAM reads of every element the array consumes or accumulates;
    # the multiply-accumulates executed (only the non-zero ones when zeros are skipped).
    read = hw.sram_read_bits
    macs_dense = g.count * g.pixels * g.window * g.filters
    macs_run = np.where(skip, macs_dense * g.density, macs_dense)
    row_folds = -(-window_eff // rows)
    in_reads = g.count * g.pixels * window_eff * (col_folds if flow != "is" else 1)
    w_stored = np.where(skip, g.w_elements * g.density, g.w_elements)
    w_passes = {"ws": 1, "os": -(-g.pixels // rows), "is": -(-g.pixels // cols)}[flow]
    w_reads = w_stored * w_passes
    out_updates = g.count * g.pixels * g.filters * (row_folds if flow != "os" else 1)
    sram_pj = (
        in_reads * g.a_bits / read * hw.sram_pj_per_read(hw.ifmap_sram_kb)
        + w_reads * g.w_bits / read * hw.sram_pj_per_read(hw.filter_sram_kb)
        + out_updates * 2 * bits / read * hw.sram_pj_per_read(hw.ofmap_sram_kb)
    )
    mac_pj = hw.mult_pj(bits) + hw.add_pj(2 * bits)
    compute_pj = macs_run * passes * mac_pj
    dram_pj = row_bytes * 8 * hw.dram_pj_per_bit
    stream_bytes = float(sum(workload.streams.values()))
    stream_cycles = stream_bytes / bpc

    layers = workload.layers
    cyc_layer = _per_layer(layers, g.layer, row_cycles.astype(np.float64))
    dram_layer = _per_layer(layers, g.layer, row_bytes)
    energy_layer = _per_layer(layers, g.layer, dram_pj + sram_pj + compute_pj) * 1e-12
    att_macs, other_macs = _row_macs(workload)
    total_cycles = float(row_cycles.sum() + stream_cycles)
    total_bytes = float(row_bytes.sum() + stream_bytes)
    by_tensor = {name: float(value.sum()) for name, value in by_tensor_rows.items()}
    if workload.streams:
        by_tensor["streams"] = stream_bytes
    breakdown = {
        "dram": float(dram_pj.sum() + stream_bytes * 8 * hw.dram_pj_per_bit) * 1e-12,
        "sram": float(sram_pj.sum()) * 1e-12,
        "compute": float(compute_pj.sum()) * 1e-12,
    }
    macs = workload.macs
    bound = max(float(macs_run.sum()) / (rows * cols), total_bytes / bpc)
    seconds_per_cycle = 1e-9 / hw.clock_ghz
    utilisation = float(macs_run.sum()) / (rows * cols * total_cycles) if total_cycles else 0.0
    return _result(
        workload,
        hw,
        cycles=total_cycles,
        seconds=total_cycles * seconds_per_cycle,
        dram_bytes=total_bytes,
        dram_bytes_by_tensor=by_tensor,
        macs=macs,
        energy_j=float(sum(breakdown.values())),
        energy_breakdown_j=breakdown,
        bound_cycles=float(bound),
        layers=_layer_results(
            workload,
            cyc_layer,
            seconds_per_cycle,
            dram_layer,
            att_macs + other_macs,
            energy_layer,
        ),
        notes=[
            f"{hw.name}: {rows}x{cols} {flow} array, {utilisation:.1%} of its MACs busy"
            + (", zero weights skipped" if hw.zero_skipping else "")
            + (f", sparse weights as {hw.weight_format}" if hw.weight_format != "dense" else "")
        ],
    )


def evaluate(workload: Workload, hardware: Hardware) -> SimResult:
    """Price ``workload`` on ``hardware`` (see the module docstring for the model)."""
    if isinstance(hardware, Systolic):
        return _systolic(workload, hardware)
    if isinstance(hardware, Accelerator):
        return _accelerator(workload, hardware)
    if isinstance(hardware, Processor):
        return _processor(workload, hardware)
    if isinstance(hardware, Published):
        return _published(workload, hardware)
    raise TypeError(f"unknown hardware type {type(hardware).__name__}")
