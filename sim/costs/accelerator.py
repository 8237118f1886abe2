"""SpAtten-class attention accelerators (kind ``accelerator``): the hardware and its cost model.

See ``sim/hardware/spatten.yaml`` for a file. Its fields (the format is
:mod:`prunesim.sim.hwfile`'s), each YAML path with the dataclass field it fills (units are in
the names):

=====================================  ======================================================
``accelerator``                        :class:`Accelerator` field
=====================================  ======================================================
``clock_ghz``                          ``clock_ghz``
``multipliers.qk`` / ``.pv``           ``qk_multipliers`` / ``pv_multipliers``
``multipliers.bits``                   ``multiplier_bits``
``softmax.lanes`` / ``.pipelined``     ``softmax_lanes`` / ``softmax_pipelined`` (true/false)
``topk.comparators``                   ``topk_comparators``
``sram.k_kb`` / ``.v_kb``              ``k_sram_kb`` / ``v_sram_kb``
``sram.word_bits``                     ``sram_word_bits``
``dram.channels``                      ``dram_channels``
``dram.channel_gb_per_s``              ``dram_channel_gb_per_s``
``dram.transaction_bytes``             ``dram_transaction_bytes``
``latency_cycles.<step>``              ``latency_cycles[step]``, steps ``qk``, ``softmax``,
                                       ``pv`` (required), ``requant``, ``topk`` (optional)
``energy.dram_pj_per_bit``             ``dram_pj_per_bit``, its source ``dram_source``
``energy.sram_read_bits``              ``sram_read_bits``
``energy.sram_pj_per_read``            ``sram_pj_per_read`` (an energy table, by KB)
``energy.mult_pj`` / ``.add_pj``       ``mult_pj`` / ``add_pj`` (energy tables, by bits)
``energy.softmax_pj_per_score``        ``softmax_pj_per_score`` (optional, with its source):
                                       one score through the softmax unit (exponential,
                                       accumulation, normalisation)
``energy.topk_pj_per_key``             ``topk_pj_per_key`` (optional, with its source): one
                                       key of a local-V top-k frame through the top-k engine
                                       (its load, quick-select rounds and filter, per key)
``area.multiplier_um2``                ``area_multiplier_um2``: one multiplier with its adder
                                       (reduction tree or accumulator), at ``multipliers.bits``
``area.softmax_lane_um2``              ``area_softmax_lane_um2``: one softmax lane
``area.comparator_um2``                ``area_comparator_um2``: one top-k comparator lane
``area.sram_mm2_per_kb``               ``area_sram_mm2_per_kb``: K/V SRAM per KB
``area.fixed_mm2``                     ``area_fixed_mm2``: the rest (control, crossbar, FIFOs,
                                       accumulators ...)
``static.multiplier_uw``               ``static_multiplier_uw`` (and ``softmax_lane_uw``,
``/ .softmax_lane_uw / .comparator_uw``  ``comparator_uw``): static power of one unit
``static.sram_uw_per_kb``              ``static_sram_uw_per_kb``
``static.fixed_mw``                    ``static_fixed_mw``
=====================================  ======================================================

``area:`` and ``static:`` are optional (a file without them has no area, no static power and
its energy is the dynamic energy alone); with them, the design's area by unit is ``qk`` and
``pv`` (multipliers x ``multiplier_um2``), ``softmax`` (lanes x ``softmax_lane_um2``), ``topk``
(:data:`TOPK_ARRAYS` x ``topk.comparators`` x ``comparator_um2``), ``sram`` ((``k_kb`` +
``v_kb``) x ``sram_mm2_per_kb``) and ``fixed``; static power likewise from ``static:``. The DRAM
channels add no area here (no per-channel PHY/controller figure is cited; the HBM2 PHY is in the
fixed part of SpAtten's calibrated area). The per-unit figures are at the file's widths:
changing ``multipliers.bits`` does not rescale them.

The model:

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
  last output, with SpAtten's engine's overheads (3 cycles per quick-select round and 3 for the
  filter, :data:`~prunesim.sim.blocks.SPATTEN_ROUND_CYCLES`; prunesim's RTL, pipelined for FPGA
  clocks, takes 6 and 7): it holds one frame at a time;
* prob.V: ``ceil(values / (pv_multipliers // d))``.

A row costs ``queries x max(those)`` (or ``max(fetch, queries x max(compute))`` with reuse), and
each (step, layer) adds the pipeline's fill latency once (the sum of ``latency_cycles``). The
cascade token/head top-k engine and the importance accumulators run beside the critical path and
cost no cycles. Linear rows (end-to-end mode) reuse all the multipliers: ``max(weight and
activation bytes / bandwidth, MACs / multipliers)`` per row.

What bounds the time (``LayerResult.cycles_by_unit``, ``bound``, ``bound_share`` and the
run's ``time_by_unit``): every cycle above is attributed to exactly one unit, so a layer's units
add up to its cycles. An attention row's cycles go to ``dram`` where the fetch sets them (its
fetch is at least ``queries x`` the compute per query, the max above); otherwise to the compute
module with the most cycles per query: ``qk`` or ``softmax`` (the larger, recomputes included;
``qk_softmax`` for the single score unit when the softmax is not pipelined), ``topk`` or ``pv``.
Each (step, layer)'s fill goes to ``pipeline_fill``; a linear row's cycles to ``dram`` or to
``compute`` (the multipliers), whichever sets its max. Ties go to the unit listed first in
:data:`UNITS` (SpAtten's preset is balanced: Q.K, softmax and prob.V each take 8 keys a cycle at
``d`` 64, so a summarization ties them and reports ``qk``; doubling one alone gains nothing). A
layer's roofline label compares ``2 x macs`` per DRAM byte with the ridge point
:attr:`~Accelerator.peak_ops_per_s` / :attr:`~Accelerator.dram_bytes_per_s`.

Energy (picojoule tables of the hardware file, each with its source): DRAM bits x pJ/bit; SRAM:
every element written into and read out of the K/V SRAM at ``sram_word_bits`` per element, priced
per ``sram_read_bits`` read at the SRAM's capacity; compute: every multiply at
``multiplier_bits``, every add at twice that (the accumulators), recomputes included (breakdown
entries ``compute_qk``, ``compute_pv``, and ``compute_linear`` for linear rows). The softmax
(``compute_softmax``): every score through it, ``queries x keys`` per row and again for the
fraction ``lsb_fraction`` that recompute with the LSBs, each at ``energy.softmax_pj_per_score``
where the file gives it; without it, as :data:`EXP_MACS_PER_SCORE` (5) multiply-adds per score
(SpAtten's 5th-order Taylor exponential; its accumulation and division are not priced). The
local-V top-k engine (``compute_topk``, only where the file gives ``energy.topk_pj_per_key``; 0
when no row prunes values): one frame of the row's ``keys`` per query of each row that keeps
fewer values than keys (the rows whose top-k cycles are counted above), each key at that figure;
without it the engine costs no dynamic energy and the breakdown has no ``compute_topk``. The
cascade token/head top-k engine is not priced (nor, as above, timed): it runs once per layer
over the surviving keys (heads), not per query, and the attention rows record neither where
the method prunes tokens or heads nor the frame it selects from (only the keys that survive),
so its frames cannot be counted from a workload. Nor are the importance accumulators. With
``static:`` figures, ``static_w x seconds`` is added (breakdown entry ``static``; each layer its
share by time).

Batches. The arithmetic runs on P targets of this kind at once: the hardware's numbers are
``(P, 1)`` arrays against the workload's rows (``(R,)``), every per-row figure a ``(P, R)``
array, summed over the row axis per target; what does not broadcast is computed once per
distinct value (the top-k latency per comparator count, the single score unit's cycles per keys
per cycle, each energy table per size) and gathered. :meth:`Accelerator.price` is a batch of
one; :meth:`Accelerator.price_many` (a sweep's variants) the same functions on many, so the
two give the same numbers.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import ClassVar

import numpy as np

from prunesim.sim.blocks import (
    SPATTEN_FILTER_CYCLES,
    SPATTEN_ROUND_CYCLES,
    pq_cycles,
    topk_cycles,
)
from prunesim.sim.costs import register_kind
from prunesim.sim.costs.common import (
    DRAM_LAYOUT,
    ENERGY_LAYOUT,
    DesignFigures,
    DramChannels,
    Unit,
    add_static,
    apply_bounds,
    build_result,
    conv_refusal,
    design_figures,
    group_ids,
    layer_results,
    per_layer,
    roofline_labels,
    row_macs,
    time_shares,
    txn_bytes,
    unit_cycles,
)
from prunesim.sim.hwfile import (
    AREA_MM2,
    AREA_UM2,
    BITS,
    CLOCK_GHZ,
    COUNT,
    CYCLES,
    MM2_PER_KB,
    PJ,
    SRAM_KB,
    STATIC_MW,
    STATIC_UW,
    EnergyTable,
    Field,
    Layout,
    MappingField,
    OptionalGroup,
    Range,
)
from prunesim.sim.result import LayerResult, PointCost, SimResult
from prunesim.sim.workload import AttentionRows, LinearRows, Workload

__all__ = [
    "BATCH_ENTRIES",
    "EXP_MACS_PER_SCORE",
    "TOPK_ARRAYS",
    "TOPK_COMPARATORS",
    "UNITS",
    "Accelerator",
]

#: Multiply-adds per softmax score: SpAtten's exponential is a 5th-order Taylor series on FMAs.
EXP_MACS_PER_SCORE = 5
#: The range of ``topk.comparators``, narrower than a count's: 64x SpAtten's 16 (and as many as
#: the RTL engine's default frame of 1024 scores); the latency model
#: (:func:`prunesim.sim.blocks.topk_cycles`) costs O(comparators) array operations.
TOPK_COMPARATORS = Range(1, 1024)
#: Comparator arrays of ``topk.comparators`` each: two per engine, two engines (SpAtten's token
#: and head engine, and its local-V engine); the area and static power of the top-k count them.
TOPK_ARRAYS = 4
#: The units an accelerator's cycles are attributed to (module docstring), in the order that
#: breaks ties: the fetch, the score modules (``qk_softmax`` when the softmax is not pipelined),
#: the local-V top-k engine, prob.V, the pipeline fill, the linear rows on the multipliers.
UNITS = ("dram", "qk", "softmax", "qk_softmax", "topk", "pv", "pipeline_fill", "compute")
_DRAM, _QK, _SOFTMAX, _QK_SOFTMAX, _TOPK, _PV, _FILL, _COMPUTE = range(len(UNITS))
#: The most entries (targets x rows) of one batch of :meth:`Accelerator.price_many`: its
#: arrays are (targets, rows) of float64, a few MB each at this size; a longer workload is priced
#: on fewer targets at once (at least one).
BATCH_ENTRIES = 1 << 18


@register_kind
@dataclass(frozen=True)
class Accelerator(DramChannels):
    """A SpAtten-class accelerator (kind ``accelerator``). See ``sim/hardware/spatten.yaml``."""

    name: str
    description: str
    clock_ghz: float
    qk_multipliers: int  # Q.K multipliers; keys per cycle = qk_multipliers // d
    pv_multipliers: int  # prob.V multipliers; values per cycle = pv_multipliers // d
    multiplier_bits: int  # operand width of the on-chip datapath
    softmax_lanes: int  # probabilities per cycle
    softmax_pipelined: bool  # Q.K, exp and normalize in separate units overlapping across
    # queries (SpAtten); false: one unit runs the passes one after another (prunesim.rtl.pq)
    topk_comparators: int  # comparators per array of the top-k engine (its lanes)
    k_sram_kb: float  # K buffer (double-buffered halves included)
    v_sram_kb: float
    sram_word_bits: int  # on-chip word per element (K/V are widened to it)
    dram_channels: int
    dram_channel_gb_per_s: float
    dram_transaction_bytes: int
    latency_cycles: dict[str, int]  # pipeline fill per (step, layer): "qk", "softmax", "pv", ...
    dram_pj_per_bit: float
    sram_pj_per_read: EnergyTable  # per sram_read_bits-bit read, by capacity in KB
    sram_read_bits: int
    mult_pj: EnergyTable  # per multiply, by operand bits
    add_pj: EnergyTable  # per add, by operand bits
    sources: dict[str, str] = field(default_factory=dict)  # other cited facts, field -> source
    kind: str = "accelerator"
    # area: and static: (optional groups; None when the file has none)
    area_multiplier_um2: float | None = None  # a multiplier with its adder
    area_softmax_lane_um2: float | None = None
    area_comparator_um2: float | None = None
    area_sram_mm2_per_kb: float | None = None
    area_fixed_mm2: float | None = None
    static_multiplier_uw: float | None = None
    static_softmax_lane_uw: float | None = None
    static_comparator_uw: float | None = None
    static_sram_uw_per_kb: float | None = None
    static_fixed_mw: float | None = None
    # energy.softmax_pj_per_score and energy.topk_pj_per_key (optional; None when the file has
    # none: the softmax is priced as EXP_MACS_PER_SCORE multiply-adds, the top-k engine as free)
    softmax_pj_per_score: float | None = None
    topk_pj_per_key: float | None = None

    LAYOUT: ClassVar[Layout] = {
        "clock_ghz": Field("clock_ghz", "float", bounds=CLOCK_GHZ),
        "multipliers": {
            "qk": Field("qk_multipliers", "int", bounds=COUNT),
            "pv": Field("pv_multipliers", "int", bounds=COUNT),
            "bits": Field("multiplier_bits", "int", bounds=BITS),
        },
        "softmax": {
            "lanes": Field("softmax_lanes", "int", bounds=COUNT),
            "pipelined": Field("softmax_pipelined", "bool"),
        },
        "topk": {"comparators": Field("topk_comparators", "int", bounds=TOPK_COMPARATORS)},
        "sram": {
            "k_kb": Field("k_sram_kb", "float", bounds=SRAM_KB),
            "v_kb": Field("v_sram_kb", "float", bounds=SRAM_KB),
            "word_bits": Field("sram_word_bits", "int", bounds=BITS),
        },
        "dram": DRAM_LAYOUT,
        "energy": {
            **ENERGY_LAYOUT,
            "softmax_pj_per_score": Field(
                "softmax_pj_per_score", "cited", bounds=PJ, optional=True
            ),
            "topk_pj_per_key": Field("topk_pj_per_key", "cited", bounds=PJ, optional=True),
        },
        "latency_cycles": MappingField(
            "latency_cycles",
            "int",
            required=("qk", "softmax", "pv"),
            optional=("requant", "topk"),
            what="pipeline step",
            zero_ok=True,
            bounds=CYCLES,
        ),
        "area": OptionalGroup(
            {
                "multiplier_um2": Field("area_multiplier_um2", "float", bounds=AREA_UM2),
                "softmax_lane_um2": Field("area_softmax_lane_um2", "float", bounds=AREA_UM2),
                "comparator_um2": Field("area_comparator_um2", "float", bounds=AREA_UM2),
                "sram_mm2_per_kb": Field("area_sram_mm2_per_kb", "float", bounds=MM2_PER_KB),
                "fixed_mm2": Field("area_fixed_mm2", "float", bounds=AREA_MM2),
            }
        ),
        "static": OptionalGroup(
            {
                "multiplier_uw": Field("static_multiplier_uw", "float", bounds=STATIC_UW),
                "softmax_lane_uw": Field("static_softmax_lane_uw", "float", bounds=STATIC_UW),
                "comparator_uw": Field("static_comparator_uw", "float", bounds=STATIC_UW),
                "sram_uw_per_kb": Field("static_sram_uw_per_kb", "float", bounds=STATIC_UW),
                "fixed_mw": Field("static_fixed_mw", "float", bounds=STATIC_MW),
            }
        ),
    }
    BASELINE: ClassVar[bool] = False

    @property
    def peak_ops_per_s(self) -> float:
        """2 ops per MAC on every multiplier each cycle."""
        return 2 * (self.qk_multipliers + self.pv_multipliers) * self.clock_ghz * 1e9

    def units(self) -> list[Unit]:
        """The design's units with their area (mm^2) and static power (W) each (module
        docstring); figures are None where the file has no ``area:`` / ``static:``."""

        def mm2(um2: float | None) -> float | None:
            return None if um2 is None else um2 * 1e-6

        def watts(value: float | None, scale: float) -> float | None:
            return None if value is None else value * scale

        mult = (mm2(self.area_multiplier_um2), watts(self.static_multiplier_uw, 1e-6))
        return [
            Unit("qk", self.qk_multipliers, *mult),
            Unit("pv", self.pv_multipliers, *mult),
            Unit(
                "softmax",
                self.softmax_lanes,
                mm2(self.area_softmax_lane_um2),
                watts(self.static_softmax_lane_uw, 1e-6),
            ),
            Unit(
                "topk",
                TOPK_ARRAYS * self.topk_comparators,
                mm2(self.area_comparator_um2),
                watts(self.static_comparator_uw, 1e-6),
            ),
            Unit(
                "sram",
                self.k_sram_kb + self.v_sram_kb,
                self.area_sram_mm2_per_kb,
                watts(self.static_sram_uw_per_kb, 1e-6),
            ),
            Unit("fixed", 1, self.area_fixed_mm2, watts(self.static_fixed_mw, 1e-3)),
        ]

    def unsupported(self, workload: Workload) -> str | None:
        """Convolutions and memory passes: SpAtten's datapath runs attention and linear layers."""
        return conv_refusal(workload, self, "attention and linear layers (SpAtten's datapath)")

    def price(self, workload: Workload) -> SimResult:
        """The cost of ``workload`` (module docstring): :meth:`price_many`'s arithmetic on a
        batch of one, with the per-layer table and its bounds."""
        return _result(workload, _cost(workload, [self]), 0)

    @classmethod
    def price_many(cls, workload: Workload, targets: Sequence[Accelerator]) -> list[PointCost]:
        """The cost of ``workload`` on each of ``targets`` (accelerators that can all run it,
        :meth:`unsupported` None), in order: for each the figures of :meth:`price`'s
        :class:`SimResult` that a sweep row needs (:class:`~prunesim.sim.result.PointCost`:
        the same numbers, from the same functions), without building the per-layer table.

        The targets are priced together, the hardware's numbers as arrays of one row per target
        against the workload's rows, in batches of at most :data:`BATCH_ENTRIES` (targets x
        attention or linear rows) entries. TypeError if a target is not an accelerator."""
        targets = list(targets)
        for target in targets:
            if not isinstance(target, cls):
                raise TypeError(
                    f"targets must be accelerators (kind {cls.kind}), not {type(target).__name__}"
                )
        rows = max(len(workload.attention), len(workload.linear), 1)
        size = max(1, BATCH_ENTRIES // rows)
        costs: list[PointCost] = []
        for start in range(0, len(targets), size):
            costs += _price_many(workload, targets[start : start + size])
        return costs


@dataclass(frozen=True)
class _Designs:
    """The fields of P accelerators that the arithmetic reads: numbers as ``(P, 1)`` arrays (one
    row per target; against a workload's rows, shape ``(R,)``, they give ``(P, R)`` arrays), each
    computed per target as a scalar first, so that a target's numbers do not depend on the batch
    it is priced in; what does not broadcast (the softmax's kind, the top-k lanes, the units'
    area and static power) per target."""

    targets: tuple[Accelerator, ...]
    txn: np.ndarray  # dram_transaction_bytes
    word_bits: np.ndarray  # sram_word_bits
    read_bits: np.ndarray  # sram_read_bits
    qk_multipliers: np.ndarray
    pv_multipliers: np.ndarray
    softmax_lanes: np.ndarray
    half_k_sram_bits: np.ndarray  # the K buffer's half that holds a row's keys
    bytes_per_cycle: np.ndarray  # dram_bytes_per_cycle
    fill: np.ndarray  # the pipeline fill per (step, layer): the sum of latency_cycles
    k_read_pj: np.ndarray  # sram_pj_per_read at k_sram_kb
    v_read_pj: np.ndarray  # sram_pj_per_read at v_sram_kb
    mac_pj: np.ndarray  # a multiply at multiplier_bits and an add at twice that
    dram_pj_per_bit: np.ndarray
    seconds_per_cycle: np.ndarray  # shape (P,)
    softmax_pj: np.ndarray  # softmax_pj_per_score, 0 where the target has none
    topk_pj: np.ndarray  # topk_pj_per_key, 0 where the target has none
    has_softmax_pj: np.ndarray  # (P, 1) booleans: the target has softmax_pj_per_score
    has_topk_pj: np.ndarray  # (P, 1) booleans: the target has topk_pj_per_key
    pipelined: list[bool]  # softmax_pipelined
    comparators: list[int]  # topk_comparators

    @classmethod
    def of(cls, targets: Sequence[Accelerator]) -> _Designs:
        """The fields of ``targets`` (energy tables asked once per distinct table and size)."""
        asked: dict[tuple[int, float], float] = {}

        def pj(table: EnergyTable, size: float) -> float:
            key = (id(table), size)
            if key not in asked:
                asked[key] = table(size)
            return asked[key]

        ts = tuple(targets)
        counts = np.array(
            [
                (
                    t.dram_transaction_bytes,
                    t.sram_word_bits,
                    t.sram_read_bits,
                    t.qk_multipliers,
                    t.pv_multipliers,
                    t.softmax_lanes,
                )
                for t in ts
            ],
            dtype=np.int64,
        ).reshape(len(ts), 6)
        numbers = np.array(
            [
                (
                    t.k_sram_kb * 1024 * 8 / 2,
                    t.dram_bytes_per_cycle,
                    float(sum(t.latency_cycles.values())),
                    pj(t.sram_pj_per_read, t.k_sram_kb),
                    pj(t.sram_pj_per_read, t.v_sram_kb),
                    pj(t.mult_pj, t.multiplier_bits) + pj(t.add_pj, 2 * t.multiplier_bits),
                    t.dram_pj_per_bit,
                    1e-9 / t.clock_ghz,
                )
                for t in ts
            ],
            dtype=np.float64,
        ).reshape(len(ts), 8)
        columns = [counts[:, i : i + 1] for i in range(6)]
        columns += [numbers[:, i : i + 1] for i in range(7)]
        units = [(t.softmax_pj_per_score, t.topk_pj_per_key) for t in ts]
        has = np.array([[pj is not None for pj in u] for u in units], dtype=bool)
        unit_pj = np.array([[pj or 0.0 for pj in u] for u in units], dtype=np.float64)
        has, unit_pj = has.reshape(len(ts), 2), unit_pj.reshape(len(ts), 2)
        return cls(
            ts,
            *columns,
            seconds_per_cycle=numbers[:, 7],
            softmax_pj=unit_pj[:, 0:1],
            topk_pj=unit_pj[:, 1:2],
            has_softmax_pj=has[:, 0:1],
            has_topk_pj=has[:, 1:2],
            pipelined=[bool(t.softmax_pipelined) for t in ts],
            comparators=[int(t.topk_comparators) for t in ts],
        )


def _units_per_query(count: np.ndarray, d: np.ndarray, multipliers: np.ndarray) -> np.ndarray:
    """Cycles for ``count`` d-element dot products on ``multipliers`` multipliers (``(P, 1)``)."""
    per_cycle = multipliers // d
    wide = per_cycle == 0
    safe = np.where(wide, 1, per_cycle)
    return np.where(wide, count * np.ceil(d / multipliers), np.ceil(count / safe))


@dataclass(frozen=True)
class _Traffic:
    """DRAM traffic of the attention rows (``(P, R)`` arrays: per target and row): how often
    K/V are loaded, and the bytes per tensor."""

    reuse: np.ndarray  # the row's K/V are loaded once into SRAM and read there by every query
    loads: np.ndarray  # loads of the keys (and values) per row
    v_loaded: np.ndarray  # values per load (all the row's keys with reuse)
    lsb_loads: np.ndarray  # (expected) loads of the keys' LSB plane per row
    by_tensor: dict[str, np.ndarray]  # "q", "k_msb", "k_lsb", "v": bytes per row
    row_bytes: np.ndarray  # their sum


@dataclass(frozen=True)
class _Cycles:
    """Cycles of the attention (per target and row), and the pipeline fill per target and
    (step, layer)."""

    rows: np.ndarray
    fill: np.ndarray
    fill_layer: np.ndarray  # the layer of each fill (one per (step, layer), all targets)
    row_unit: np.ndarray  # the index in UNITS of the unit that sets each row's cycles


@dataclass(frozen=True)
class _Linear:
    """Cost of the linear rows (``(P, R)`` arrays): DRAM bytes and cycles."""

    w_bytes: np.ndarray
    a_bytes: np.ndarray
    row_bytes: np.ndarray  # w_bytes + a_bytes
    cycles: np.ndarray
    unit: np.ndarray  # the index in UNITS of the unit that sets each row's cycles


@dataclass(frozen=True)
class _Energy:
    """Energy in pJ per target and attention row and per target and linear row, with the MAC
    counts it prices (per row: they do not depend on the hardware)."""

    mac_pj: np.ndarray  # one multiply and one accumulate, (P, 1)
    qk_macs: np.ndarray  # per attention row, recomputes included
    scores: np.ndarray  # per attention row: scores through the softmax, recomputes included
    softmax_macs: np.ndarray  # scores x EXP_MACS_PER_SCORE
    topk_keys: np.ndarray  # per attention row: keys through the local-V top-k engine
    pv_macs: np.ndarray
    sram_pj: np.ndarray  # per target and attention row
    dram_pj_att: np.ndarray
    compute_pj_att: np.ndarray
    dram_pj_lin: np.ndarray  # per target and linear row
    compute_pj_lin: np.ndarray


@dataclass(frozen=True)
class _Totals:
    """A batch's totals, one entry per target (shape ``(P,)``): cycles, seconds, DRAM bytes,
    energy by component (J; ``"static"`` NaN for a target without static power) and in all,
    the roofline bound in cycles; and the workload's MACs (the same on every target)."""

    macs: int
    cycles: np.ndarray
    seconds: np.ndarray
    dram_bytes: np.ndarray
    breakdown: dict[str, np.ndarray]
    energy_j: np.ndarray
    bound_cycles: np.ndarray


@dataclass(frozen=True)
class _Cost:
    """Everything the arithmetic gives for a batch of targets."""

    hw: _Designs
    traffic: _Traffic
    cycles: _Cycles
    linear: _Linear
    energy: _Energy
    design: list[DesignFigures]  # per target: area by unit and static power
    totals: _Totals


def _attention_traffic(att: AttentionRows, hw: _Designs) -> _Traffic:
    """K/V reuse and the DRAM bytes per tensor of each attention row, in whole transactions
    (module docstring: DRAM bytes)."""
    txn = hw.txn
    q, d, k, v = att.queries, att.d, att.keys, att.values
    f = att.lsb_fraction

    # Reuse of K/V from SRAM, where they fit in half the K buffer (the other half double-buffers).
    fits = k * d * hw.word_bits <= hw.half_k_sram_bits
    reuse = att.kv_reuse & fits
    loads = np.where(reuse, 1, q)
    v_loaded = np.where(reuse, k, v)  # with reuse every value of the row is loaded once
    lsb_loads = np.where(reuse, 1.0 - (1.0 - f) ** q, q * f)

    share = att.kv_share  # a K/V head fetched once serves its group's query heads
    by_tensor = {
        "q": txn_bytes(q * d * att.q_bits / 8, np.ones_like(q), txn),
        "k_msb": txn_bytes(k * d * att.k_msb_bits / 8, loads, txn) / share,
        "k_lsb": txn_bytes(k * d * att.k_lsb_bits / 8, lsb_loads, txn) / share,
        "v": txn_bytes(v_loaded * d * att.v_bits / 8, loads, txn) / share,
    }
    return _Traffic(reuse, loads, v_loaded, lsb_loads, by_tensor, sum(by_tensor.values()))


def _scoring(att: AttentionRows, hw: _Designs) -> tuple[np.ndarray, np.ndarray]:
    """Cycles one query of each attention row occupies the score modules (Q.K and softmax,
    recomputes included) and the index in :data:`UNITS` of the one that sets them: the larger
    of Q.K and softmax where the softmax is pipelined; the single unit
    (:func:`~prunesim.sim.blocks.pq_cycles`, once per distinct keys per cycle) where not."""
    d, k, f = att.d, att.keys, att.lsb_fraction
    qk = _units_per_query(k, d, hw.qk_multipliers)
    softmax = np.ceil(k / hw.softmax_lanes)
    scoring = np.maximum(qk, softmax) * (1.0 + f)
    scoring_unit = np.where(qk >= softmax, _QK, _SOFTMAX)
    serial = [p for p, pipelined in enumerate(hw.pipelined) if not pipelined]
    if serial:
        widest = int(d.max(initial=1))
        # The datapath is sized for the longest row (its reciprocal grows with log2(max_n)).
        max_n = max(1024, int(k.max(initial=1)))
        cycles: dict[int, np.ndarray] = {}
        for p in serial:
            target = hw.targets[p]
            keys_per_cycle = max(1, min(target.qk_multipliers // widest, target.softmax_lanes))
            if keys_per_cycle not in cycles:
                cycles[keys_per_cycle] = pq_cycles(k, f, keys_per_cycle=keys_per_cycle, max_n=max_n)
            scoring[p] = cycles[keys_per_cycle]
            scoring_unit[p] = _QK_SOFTMAX
    return scoring, scoring_unit


def _topk(att: AttentionRows, hw: _Designs) -> np.ndarray:
    """Cycles one query of each attention row occupies the local-V top-k engine (0 where it
    keeps every value): :func:`~prunesim.sim.blocks.topk_cycles` once per distinct lane count."""
    k, v = att.keys, att.values
    pruned_v = v < k
    if not pruned_v.any():
        return np.zeros((len(hw.targets), len(k)))
    distinct = {count: i for i, count in enumerate(dict.fromkeys(hw.comparators))}
    latency = np.stack(
        [
            topk_cycles(
                k,
                v,
                count,
                round_cycles=SPATTEN_ROUND_CYCLES,
                filter_cycles=SPATTEN_FILTER_CYCLES,
            )
            for count in distinct
        ]
    )
    latency = latency[[distinct[count] for count in hw.comparators]]
    lanes = np.array(hw.comparators, dtype=np.int64).reshape(-1, 1)
    return np.where(pruned_v, np.ceil(k / lanes) + latency, 0.0)


def _query_cycles(att: AttentionRows, hw: _Designs) -> tuple[np.ndarray, np.ndarray]:
    """Cycles one query of each attention row occupies the slowest compute module: Q.K and
    softmax (recomputes included), local-V top-k, prob.V (module docstring: Cycles); and the
    index in :data:`UNITS` of that module (module docstring: What bounds the time)."""
    scoring, scoring_unit = _scoring(att, hw)
    topk = _topk(att, hw)
    pv = _units_per_query(att.values, att.d, hw.pv_multipliers)
    compute = np.maximum(np.maximum(scoring, topk), pv)
    return compute, _slowest(scoring, scoring_unit, topk, pv)


def _slowest(
    scoring: np.ndarray, scoring_unit: np.ndarray, topk: np.ndarray, pv: np.ndarray
) -> np.ndarray:
    """The index in :data:`UNITS` of the compute module with the most cycles per query (the
    score unit, then top-k, then prob.V on a tie)."""
    later = np.where(topk >= pv, _TOPK, _PV)
    return np.where(scoring >= np.maximum(topk, pv), scoring_unit, later)


def _attention_cycles(att: AttentionRows, hw: _Designs, traffic: _Traffic) -> _Cycles:
    """Cycles of each attention row (its queries through the pipeline; with reuse the row's
    fetch overlaps the previous row's compute) and the pipeline fill, once per (step, layer)."""
    q = att.queries
    compute, compute_unit = _query_cycles(att, hw)
    fetch = traffic.row_bytes / hw.bytes_per_cycle
    rows = np.where(
        traffic.reuse, np.maximum(fetch, q * compute), q * np.maximum(fetch / q, compute)
    )
    fetch_sets = fetch >= q * compute
    _, fill_layer = group_ids(att.step, att.layer)
    fill = hw.fill + np.zeros(len(fill_layer))
    return _Cycles(rows, fill, fill_layer, np.where(fetch_sets, _DRAM, compute_unit))


def _linear(lin: LinearRows, hw: _Designs) -> _Linear:
    """Linear rows on all the multipliers, weights and activations from DRAM: ``max(bytes /
    bandwidth, MACs / multipliers)`` cycles per row."""
    txn = hw.txn
    multipliers = hw.qk_multipliers + hw.pv_multipliers
    w_bytes = txn_bytes(lin.in_features * lin.out_features * lin.w_bits / 8, 1, txn)
    a_bytes = txn_bytes(lin.tokens * (lin.in_features + lin.out_features) * lin.a_bits / 8, 1, txn)
    fetch = (w_bytes + a_bytes) / hw.bytes_per_cycle
    compute = np.ceil(lin.macs / multipliers)
    cycles = np.maximum(fetch, compute)
    unit = np.where(fetch >= compute, _DRAM, _COMPUTE)
    return _Linear(w_bytes, a_bytes, w_bytes + a_bytes, cycles, unit)


def _energy(
    att: AttentionRows, lin: LinearRows, hw: _Designs, traffic: _Traffic, linear: _Linear
) -> _Energy:
    """Energy (pJ) of every row: DRAM bits, K/V SRAM writes and reads at ``sram_word_bits`` per
    element, multiply-adds (module docstring: Energy)."""
    q, d, k, v = att.queries, att.d, att.keys, att.values
    f = att.lsb_fraction
    share = att.kv_share
    loads, lsb_loads = traffic.loads, traffic.lsb_loads
    word = hw.word_bits
    read = hw.read_bits
    k_reads = q * k * d * (1.0 + f) * word / read  # every query reads its keys (twice on recompute)
    v_reads = q * v * d * word / read
    k_writes = (k * d * word / read) * (loads + lsb_loads) / share
    v_writes = traffic.v_loaded * d * word / read * loads / share
    sram_pj = (k_reads + k_writes) * hw.k_read_pj + (v_reads + v_writes) * hw.v_read_pj
    mac_pj = hw.mac_pj
    qk_macs = q * k * d * (1.0 + f)
    scores = q * k * (1.0 + f)
    softmax_macs = scores * EXP_MACS_PER_SCORE
    topk_keys = np.where(v < k, q * k, 0)  # one frame of the row's keys per query (as _topk)
    pv_macs = q * v * d
    # With softmax_pj_per_score the softmax is priced per score instead of as multiply-adds; with
    # topk_pj_per_key the local-V engine per key. Without them, the MAC-only figures as they are.
    compute_pj_att = np.where(
        hw.has_softmax_pj,
        (qk_macs + pv_macs) * mac_pj + scores * hw.softmax_pj,
        (qk_macs + softmax_macs + pv_macs) * mac_pj,
    )
    compute_pj_att = np.where(
        hw.has_topk_pj, compute_pj_att + topk_keys * hw.topk_pj, compute_pj_att
    )
    return _Energy(
        mac_pj=mac_pj,
        qk_macs=qk_macs,
        scores=scores,
        softmax_macs=softmax_macs,
        topk_keys=topk_keys,
        pv_macs=pv_macs,
        sram_pj=sram_pj,
        dram_pj_att=traffic.row_bytes * 8 * hw.dram_pj_per_bit,
        compute_pj_att=compute_pj_att,
        dram_pj_lin=linear.row_bytes * 8 * hw.dram_pj_per_bit,
        compute_pj_lin=lin.macs * mac_pj,
    )


def _totals(
    workload: Workload,
    hw: _Designs,
    traffic: _Traffic,
    cycles: _Cycles,
    linear: _Linear,
    energy: _Energy,
    design: list[DesignFigures],
) -> _Totals:
    """Each target's totals: the rows summed (over the row axis), energy by component, static
    energy where the target has static power."""
    total_cycles = cycles.rows.sum(axis=1) + cycles.fill.sum(axis=1) + linear.cycles.sum(axis=1)
    total_bytes = traffic.row_bytes.sum(axis=1) + linear.row_bytes.sum(axis=1)
    mac_pj = energy.mac_pj[:, 0]
    has_softmax_pj, has_topk_pj = hw.has_softmax_pj[:, 0], hw.has_topk_pj[:, 0]
    breakdown = {
        "dram": (energy.dram_pj_att.sum(axis=1) + energy.dram_pj_lin.sum(axis=1)) * 1e-12,
        "sram": energy.sram_pj.sum(axis=1) * 1e-12,
        "compute_qk": energy.qk_macs.sum() * mac_pj * 1e-12,
        "compute_softmax": np.where(
            has_softmax_pj,
            energy.scores.sum() * hw.softmax_pj[:, 0] * 1e-12,
            energy.softmax_macs.sum() * mac_pj * 1e-12,
        ),
        # 0 where the target has no topk_pj_per_key (adding it changes no sum; the result
        # leaves the entry out)
        "compute_topk": np.where(
            has_topk_pj, energy.topk_keys.sum() * hw.topk_pj[:, 0] * 1e-12, 0.0
        ),
        "compute_pv": energy.pv_macs.sum() * mac_pj * 1e-12,
        "compute_linear": energy.compute_pj_lin.sum(axis=1) * 1e-12,
    }
    seconds = total_cycles * hw.seconds_per_cycle
    dynamic = sum(breakdown.values())  # in the breakdown's order, as a result sums it
    static_w = np.array([np.nan if d.static_w is None else d.static_w for d in design])
    breakdown["static"] = static_w * seconds
    energy_j = np.where(np.isnan(static_w), dynamic, dynamic + breakdown["static"])
    macs = workload.macs
    multipliers = (hw.qk_multipliers + hw.pv_multipliers)[:, 0]
    bound = np.maximum(2 * macs / (2 * multipliers), total_bytes / hw.bytes_per_cycle[:, 0])
    return _Totals(macs, total_cycles, seconds, total_bytes, breakdown, energy_j, bound)


def _cost(workload: Workload, targets: Sequence[Accelerator]) -> _Cost:
    """The arithmetic of ``workload`` on a batch of ``targets`` (module docstring)."""
    hw = _Designs.of(targets)
    att: AttentionRows = workload.attention
    lin: LinearRows = workload.linear
    traffic = _attention_traffic(att, hw)
    cycles = _attention_cycles(att, hw, traffic)
    linear = _linear(lin, hw)
    energy = _energy(att, lin, hw, traffic, linear)
    design = [design_figures(target.units()) for target in hw.targets]
    totals = _totals(workload, hw, traffic, cycles, linear, energy, design)
    return _Cost(hw, traffic, cycles, linear, energy, design, totals)


def _unit_cycles(workload: Workload, cost: _Cost) -> np.ndarray:
    """Cycles per target, layer and unit of :data:`UNITS`, a ``(P, layers, units)`` array
    (module docstring: What bounds the time)."""
    att, lin = workload.attention, workload.linear
    cycles, linear = cost.cycles, cost.linear
    layers, batch = workload.layers, len(cost.hw.targets)
    layer = _target_layers(layers, np.concatenate([att.layer, lin.layer]), batch)
    unit = np.concatenate([cycles.row_unit, linear.unit], axis=1)
    values = np.concatenate([cycles.rows, linear.cycles], axis=1)
    by_unit = unit_cycles(batch * layers, len(UNITS), layer, unit, values)
    by_unit = by_unit.reshape(batch, layers, len(UNITS))
    fill_layer = _target_layers(layers, cycles.fill_layer, batch)
    fills = per_layer(batch * layers, fill_layer.reshape(-1), cycles.fill.reshape(-1))
    by_unit[:, :, _FILL] = fills.reshape(batch, layers)
    return by_unit


def _target_layers(layers: int, layer: np.ndarray, batch: int) -> np.ndarray:
    """A ``(batch, rows)`` array of layer ids, target ``p``'s offset by ``p x layers``: one
    ``bincount`` over them sums each target's layers apart (in the same order as alone)."""
    return layer + layers * np.arange(batch)[:, None]


def _price_many(workload: Workload, targets: Sequence[Accelerator]) -> list[PointCost]:
    """:meth:`Accelerator.price_many` of one batch."""
    cost = _cost(workload, targets)
    totals = cost.totals
    by_unit = _unit_cycles(workload, cost)
    columns = (
        totals.cycles.tolist(),
        totals.seconds.tolist(),
        totals.dram_bytes.tolist(),
        totals.energy_j.tolist(),
    )
    macs = totals.macs
    return [
        PointCost(
            cycles=cycles,
            seconds=seconds,
            dram_bytes=dram_bytes,
            macs=macs,
            energy_j=energy_j,
            area_mm2=design.area_mm2,
            static_w=design.static_w,
            time_by_unit=time_shares(UNITS, shares),
        )
        for cycles, seconds, dram_bytes, energy_j, design, shares in zip(
            *columns, cost.design, by_unit, strict=True
        )
    ]


def _layers(workload: Workload, cost: _Cost, p: int) -> list[LayerResult]:
    """The per-layer table of target ``p``: cycles, DRAM bytes, MACs and energy summed over each
    layer's rows."""
    att, lin = workload.attention, workload.linear
    cycles, linear, traffic, energy = cost.cycles, cost.linear, cost.traffic, cost.energy
    layers = workload.layers
    cyc_layer = (
        per_layer(layers, att.layer, cycles.rows[p])
        + per_layer(layers, cycles.fill_layer, cycles.fill[p])
    ) + per_layer(layers, lin.layer, linear.cycles[p])
    dram_layer = per_layer(layers, att.layer, traffic.row_bytes[p]) + per_layer(
        layers, lin.layer, linear.row_bytes[p]
    )
    energy_layer = (
        per_layer(
            layers,
            att.layer,
            energy.dram_pj_att[p] + energy.sram_pj[p] + energy.compute_pj_att[p],
        )
        + per_layer(layers, lin.layer, energy.dram_pj_lin[p] + energy.compute_pj_lin[p])
    ) * 1e-12
    att_macs, lin_macs = row_macs(workload)
    seconds_per_cycle = float(cost.hw.seconds_per_cycle[p])
    static_w = cost.design[p].static_w
    _, energy_layer = add_static({}, energy_layer, static_w, 0.0, cyc_layer * seconds_per_cycle)
    return layer_results(
        workload, cyc_layer, seconds_per_cycle, dram_layer, att_macs + lin_macs, energy_layer
    )


def _result(workload: Workload, cost: _Cost, p: int) -> SimResult:
    """The :class:`SimResult` of target ``p``: totals, bytes per tensor, energy per component,
    the roofline bound, the per-layer table and its bounds."""
    hw = cost.hw.targets[p]
    totals, traffic, linear = cost.totals, cost.traffic, cost.linear
    by_tensor = {name: float(value[p].sum()) for name, value in traffic.by_tensor.items()}
    by_tensor["weights"] = float(linear.w_bytes[p].sum())
    by_tensor["activations"] = float(linear.a_bytes[p].sum())
    design = cost.design[p]
    absent = {"static": design.static_w is None, "compute_topk": hw.topk_pj_per_key is None}
    breakdown = {
        name: float(value[p])
        for name, value in totals.breakdown.items()
        if not absent.get(name, False)
    }
    layers = _layers(workload, cost, p)
    apply_bounds(layers, UNITS, by_unit := _unit_cycles(workload, cost)[p])
    roofline_labels(layers, hw.peak_ops_per_s, hw.dram_bytes_per_s)
    return build_result(
        workload,
        hw,
        cycles=float(totals.cycles[p]),
        seconds=float(totals.seconds[p]),
        dram_bytes=float(totals.dram_bytes[p]),
        dram_bytes_by_tensor=by_tensor,
        macs=totals.macs,
        energy_j=float(totals.energy_j[p]),
        energy_breakdown_j=breakdown,
        bound_cycles=float(totals.bound_cycles[p]),
        layers=layers,
        time_by_unit=time_shares(UNITS, by_unit),
        **design.result_fields(),
    )
