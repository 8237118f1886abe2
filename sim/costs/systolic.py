"""Systolic-array CNN accelerators (kind ``systolic``): the hardware and its cost model.

SCALE-Sim's machine model, cross-checked against it (``prunesim bench scalesim``). A file
(``sim/hardware/systolic-32.yaml``) gives ``clock_ghz``; ``array.rows``, ``.columns``,
``.dataflow`` (``ws``, ``os``, ``is``), ``.bits`` (operand width); ``sram.ifmap_kb``,
``.filter_kb``, ``.ofmap_kb``; ``dram.channels``, ``.channel_gb_per_s``, ``.transaction_bytes``;
``sparse.zero_skipping`` (true/false), ``.weight_format`` (``dense``, ``bitmask``, ``csr``),
``.index_bits``, ``.pointer_bits`` (CSR); ``energy`` as for an accelerator; optionally
``area.pe_um2`` (one processing element at ``array.bits``), ``.sram_mm2_per_kb``,
``.fixed_mm2`` and ``static.pe_uw``, ``.sram_uw_per_kb``, ``.fixed_mw`` (dataclass fields
``area_pe_um2`` ... ``static_fixed_mw``): the design's area by unit is
``array`` (rows x columns x ``pe_um2``), ``sram`` (the three buffers' KB x ``sram_mm2_per_kb``)
and ``fixed``, its static power likewise, and ``static_w x seconds`` is added to the energy
(breakdown entry ``static``); without those groups area and static power are None. The model
(formulas in :mod:`prunesim.sim.systolic`):

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
* What bounds the time (``LayerResult.cycles_by_unit``, ``bound``, ``bound_share``, the run's
  ``time_by_unit``): each product's cycles go to ``compute`` (the array, wide-operand passes
  included) where its compute cycles reach its DRAM cycles, else to ``dram`` (ties to
  ``compute``: :data:`UNITS` order); the memory passes (``streams``) are DRAM time in no layer.
  So a layer's units add up to its cycles. (The array's size also sets the re-fetches of an
  operand that does not fit its buffer, and a small or depthwise product only gains fill time on
  a bigger array: ``compute`` says the array's cycles set the time, not that a bigger array is
  always faster.) A layer's roofline label compares ``2 x macs`` (the table's dense MACs) per
  DRAM byte with the ridge point ``peak_ops_per_s / dram_bytes_per_s``.
* Energy: DRAM bits; SRAM reads of every element the array consumes (per fold pass) and every
  partial-sum update at ``2 x bits``, priced by each buffer's capacity; every multiply-accumulate
  executed (non-zero ones only when zeros are skipped).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import ClassVar

import numpy as np

from prunesim.sim.costs import register_kind
from prunesim.sim.costs.common import (
    DRAM_LAYOUT,
    ENERGY_LAYOUT,
    DramChannels,
    Unit,
    add_static,
    apply_bounds,
    build_result,
    design_figures,
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
    MM2_PER_KB,
    SRAM_KB,
    STATIC_MW,
    STATIC_UW,
    EnergyTable,
    Field,
    Layout,
    OptionalGroup,
)
from prunesim.sim.result import LayerResult, SimResult
from prunesim.sim.systolic import compute_cycles, effective_window, weight_bytes
from prunesim.sim.workload import AttentionRows, ConvRows, LinearRows, Workload

__all__ = ["UNITS", "Systolic"]

#: The units a systolic array's cycles are attributed to (module docstring), in the order that
#: breaks ties: the array, then DRAM.
UNITS = ("compute", "dram")


@register_kind
@dataclass(frozen=True)
class Systolic(DramChannels):
    """A systolic-array CNN accelerator (kind ``systolic``). See ``sim/hardware/systolic-32.yaml``
    and :mod:`prunesim.sim.systolic` for the formulas its cost model uses."""

    name: str
    description: str
    clock_ghz: float
    rows: int  # processing elements per column (the reduction side in ws/is)
    columns: int
    dataflow: str  # "ws", "os" or "is"
    multiplier_bits: int  # operand width of a processing element
    ifmap_sram_kb: float  # each buffer double-buffered: half is filled while half is read
    filter_sram_kb: float
    ofmap_sram_kb: float
    dram_channels: int
    dram_channel_gb_per_s: float
    dram_transaction_bytes: int
    zero_skipping: bool  # processing elements skip zero weights (compressed reduction)
    weight_format: str  # "dense", "bitmask" or "csr": how weights are stored in DRAM
    index_bits: int  # CSR column index per non-zero
    pointer_bits: int  # CSR row pointer per filter
    dram_pj_per_bit: float
    sram_pj_per_read: EnergyTable
    sram_read_bits: int
    mult_pj: EnergyTable
    add_pj: EnergyTable
    sources: dict[str, str] = field(default_factory=dict)
    kind: str = "systolic"
    # area: and static: (optional groups; None when the file has none)
    area_pe_um2: float | None = None
    area_sram_mm2_per_kb: float | None = None
    area_fixed_mm2: float | None = None
    static_pe_uw: float | None = None
    static_sram_uw_per_kb: float | None = None
    static_fixed_mw: float | None = None

    LAYOUT: ClassVar[Layout] = {
        "clock_ghz": Field("clock_ghz", "float", bounds=CLOCK_GHZ),
        "array": {
            "rows": Field("rows", "int", bounds=COUNT),
            "columns": Field("columns", "int", bounds=COUNT),
            "dataflow": Field("dataflow", "choice", ("ws", "os", "is")),
            "bits": Field("multiplier_bits", "int", bounds=BITS),
        },
        "sram": {
            "ifmap_kb": Field("ifmap_sram_kb", "float", bounds=SRAM_KB),
            "filter_kb": Field("filter_sram_kb", "float", bounds=SRAM_KB),
            "ofmap_kb": Field("ofmap_sram_kb", "float", bounds=SRAM_KB),
        },
        "dram": DRAM_LAYOUT,
        "sparse": {
            "zero_skipping": Field("zero_skipping", "bool"),
            "weight_format": Field("weight_format", "choice", ("dense", "bitmask", "csr")),
            "index_bits": Field("index_bits", "int", bounds=BITS),
            "pointer_bits": Field("pointer_bits", "int", bounds=BITS),
        },
        "energy": ENERGY_LAYOUT,
        "area": OptionalGroup(
            {
                "pe_um2": Field("area_pe_um2", "float", bounds=AREA_UM2),
                "sram_mm2_per_kb": Field("area_sram_mm2_per_kb", "float", bounds=MM2_PER_KB),
                "fixed_mm2": Field("area_fixed_mm2", "float", bounds=AREA_MM2),
            }
        ),
        "static": OptionalGroup(
            {
                "pe_uw": Field("static_pe_uw", "float", bounds=STATIC_UW),
                "sram_uw_per_kb": Field("static_sram_uw_per_kb", "float", bounds=STATIC_UW),
                "fixed_mw": Field("static_fixed_mw", "float", bounds=STATIC_MW),
            }
        ),
    }
    BASELINE: ClassVar[bool] = False

    @property
    def peak_ops_per_s(self) -> float:
        """2 ops per MAC on every processing element each cycle."""
        return 2 * self.rows * self.columns * self.clock_ghz * 1e9

    def units(self) -> list[Unit]:
        """The design's units with their area (mm^2) and static power (W) each (module
        docstring); figures are None where the file has no ``area:`` / ``static:``."""

        def scaled(value: float | None, scale: float) -> float | None:
            return None if value is None else value * scale

        kb = self.ifmap_sram_kb + self.filter_sram_kb + self.ofmap_sram_kb
        return [
            Unit(
                "array",
                self.rows * self.columns,
                scaled(self.area_pe_um2, 1e-6),
                scaled(self.static_pe_uw, 1e-6),
            ),
            Unit("sram", kb, self.area_sram_mm2_per_kb, scaled(self.static_sram_uw_per_kb, 1e-6)),
            Unit("fixed", 1, self.area_fixed_mm2, scaled(self.static_fixed_mw, 1e-3)),
        ]

    def unsupported(self, workload: Workload) -> str | None:
        """None: every row becomes matrix products on the array."""
        return None

    def price(self, workload: Workload) -> SimResult:
        """The cost of ``workload`` (module docstring)."""
        return _price(workload, self)


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


def _conv_gemms(conv: ConvRows) -> _Gemms:
    """A conv row's ``groups`` im2col products: ``batch x out_h x out_w`` pixels by a
    ``kernel**2 x in/groups`` window by ``out/groups`` filters."""
    count, pixels, window, filters = conv.gemm()
    return _Gemms(
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
    )


def _linear_gemms(lin: LinearRows) -> _Gemms:
    """A linear row's product: ``tokens x in`` by ``in x out`` (dense weights)."""
    return _Gemms(
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
    )


def _attention_gemms(att: AttentionRows) -> list[_Gemms]:
    """An attention row's two products, Q.K^T then prob.V (all rows' Q.K^T first)."""
    q, d, k, v, share = att.queries, att.d, att.keys, att.values, att.kv_share
    ones = np.ones(len(att), np.int64)
    # Q.K^T: queries x d by d x keys (the keys stand where the weights would); prob.V:
    # queries x values by values x d. K/V fetched once per group of kv_share heads.
    return [
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


def _gemms(workload: Workload) -> _Gemms:
    """The products of every row: conv rows, then linear rows, then attention rows."""
    conv, lin, att = workload.conv, workload.linear, workload.attention
    parts = [_conv_gemms(conv), _linear_gemms(lin)]
    if len(att):
        parts += _attention_gemms(att)
    return _Gemms.concat(parts)


@dataclass(frozen=True)
class _Compute:
    """How the array runs each product (one entry per product)."""

    sparse: np.ndarray  # a model weight with zeros
    skip: np.ndarray  # ... whose zeros the array skips
    window_eff: np.ndarray  # the reduction after skipping zeros
    passes: np.ndarray  # array passes for operands wider than the processing elements
    cycles: np.ndarray


@dataclass(frozen=True)
class _Energy:
    """Energy in pJ per product, with the MACs the array executes."""

    macs_run: np.ndarray  # non-zero ones only where zeros are skipped
    dram_pj: np.ndarray
    sram_pj: np.ndarray
    compute_pj: np.ndarray


def _compute(g: _Gemms, hw: Systolic) -> _Compute:
    """Compute cycles of each product: SCALE-Sim's fold formula on the reduction compressed to
    the non-zero weights where the array skips zeros, times the passes of wide operands."""
    rows, cols, flow = hw.rows, hw.columns, hw.dataflow
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
    return _Compute(sparse, skip, window_eff, passes, compute)


def _weight_bytes(g: _Gemms, hw: Systolic, sparse: np.ndarray) -> np.ndarray:
    """Bytes of each product's weights in DRAM: sparse ones in the hardware's format, unless
    that is larger than storing them dense (CSR at a moderate density)."""
    # The compiler picks the smaller, layer by layer.
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
    return np.where(sparse, np.minimum(dense_w_bytes, packed_w_bytes), dense_w_bytes)


def _traffic(g: _Gemms, hw: Systolic, w_bytes: np.ndarray) -> dict[str, np.ndarray]:
    """DRAM bytes per tensor (``inputs``, ``weights``, ``outputs``) of each product, in whole
    transactions: a tensor that fits in half its buffer (the other half is being filled) is
    fetched once; otherwise once per fold of the dimension it is not stationary in."""
    rows, cols, flow = hw.rows, hw.columns, hw.dataflow
    txn = hw.dram_transaction_bytes
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
    return {
        "inputs": txn_bytes(g.in_bytes, in_loads, txn),
        "weights": txn_bytes(w_bytes, w_loads, txn),
        "outputs": txn_bytes(g.out_bytes, 1, txn),
    }


def _energy(g: _Gemms, hw: Systolic, c: _Compute, row_bytes: np.ndarray) -> _Energy:
    """Energy (pJ) of each product: DRAM bits; SRAM reads of every element the array consumes
    or accumulates; the multiply-accumulates executed (only the non-zero ones when zeros are
    skipped)."""
    rows, cols, flow = hw.rows, hw.columns, hw.dataflow
    bits = hw.multiplier_bits
    read = hw.sram_read_bits
    window_eff, skip = c.window_eff, c.skip
    col_folds = -(-g.filters // cols)
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
    compute_pj = macs_run * c.passes * mac_pj
    dram_pj = row_bytes * 8 * hw.dram_pj_per_bit
    return _Energy(macs_run, dram_pj, sram_pj, compute_pj)


def _price(workload: Workload, hw: Systolic) -> SimResult:
    """The cost of ``workload`` on ``hw`` (module docstring)."""
    g = _gemms(workload)
    c = _compute(g, hw)
    by_tensor_rows = _traffic(g, hw, _weight_bytes(g, hw, c.sparse))
    row_bytes = sum(by_tensor_rows.values())
    # Double-buffered: the fetch overlaps the compute.
    row_cycles = np.maximum(c.cycles, row_bytes / hw.dram_bytes_per_cycle)
    energy = _energy(g, hw, c, row_bytes)
    result = _result(workload, hw, g, by_tensor_rows, row_bytes, row_cycles, energy)
    _bounds(result, workload, hw, g, c, row_cycles)
    return result


def _bounds(
    result: SimResult,
    workload: Workload,
    hw: Systolic,
    g: _Gemms,
    c: _Compute,
    row_cycles: np.ndarray,
) -> None:
    """Fill ``result``'s bounds: each product's cycles to ``compute`` where the array's cycles
    reach them, else to ``dram``; the memory passes to ``dram`` in no layer (module docstring)."""
    unit = np.where(c.cycles >= row_cycles, 0, 1)
    by_unit = unit_cycles(workload.layers, len(UNITS), g.layer, unit, row_cycles.astype(float))
    apply_bounds(result.layers, UNITS, by_unit)
    roofline_labels(result.layers, hw.peak_ops_per_s, hw.dram_bytes_per_s)
    stream_cycles = float(sum(workload.streams.values())) / hw.dram_bytes_per_cycle
    result.time_by_unit = time_shares(UNITS, by_unit, {"dram": stream_cycles})


def _layers(
    workload: Workload,
    hw: Systolic,
    g: _Gemms,
    row_bytes: np.ndarray,
    row_cycles: np.ndarray,
    energy: _Energy,
) -> list[LayerResult]:
    """The per-layer table: cycles, DRAM bytes, MACs and energy summed over each layer's
    products (the memory passes are in no layer)."""
    layers = workload.layers
    cyc_layer = per_layer(layers, g.layer, row_cycles.astype(np.float64))
    dram_layer = per_layer(layers, g.layer, row_bytes)
    energy_layer = (
        per_layer(layers, g.layer, energy.dram_pj + energy.sram_pj + energy.compute_pj) * 1e-12
    )
    att_macs, other_macs = row_macs(workload)
    seconds_per_cycle = 1e-9 / hw.clock_ghz
    static_w = design_figures(hw.units()).static_w
    _, energy_layer = add_static({}, energy_layer, static_w, 0.0, cyc_layer * seconds_per_cycle)
    return layer_results(
        workload, cyc_layer, seconds_per_cycle, dram_layer, att_macs + other_macs, energy_layer
    )


def _result(
    workload: Workload,
    hw: Systolic,
    g: _Gemms,
    by_tensor_rows: dict[str, np.ndarray],
    row_bytes: np.ndarray,
    row_cycles: np.ndarray,
    energy: _Energy,
) -> SimResult:
    """The :class:`SimResult`: the products' sums per layer and in total, the memory passes
    (``streams``: memory-bound, in no layer), the roofline bound and the array's utilisation."""
    rows, cols, flow = hw.rows, hw.columns, hw.dataflow
    bpc = hw.dram_bytes_per_cycle
    dram_pj, sram_pj, compute_pj = energy.dram_pj, energy.sram_pj, energy.compute_pj
    stream_bytes = float(sum(workload.streams.values()))
    stream_cycles = stream_bytes / bpc

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
    macs_run = energy.macs_run
    bound = max(float(macs_run.sum()) / (rows * cols), total_bytes / bpc)
    seconds_per_cycle = 1e-9 / hw.clock_ghz
    utilisation = float(macs_run.sum()) / (rows * cols * total_cycles) if total_cycles else 0.0
    seconds = total_cycles * seconds_per_cycle
    design = design_figures(hw.units())
    breakdown, _ = add_static(breakdown, np.zeros(0), design.static_w, seconds, np.zeros(0))
    return build_result(
        workload,
        hw,
        cycles=total_cycles,
        seconds=seconds,
        dram_bytes=total_bytes,
        dram_bytes_by_tensor=by_tensor,
        macs=macs,
        energy_j=float(sum(breakdown.values())),
        energy_breakdown_j=breakdown,
        bound_cycles=float(bound),
        layers=_layers(workload, hw, g, row_bytes, row_cycles, energy),
        **design.result_fields(),
        notes=[
            f"{hw.name}: {rows}x{cols} {flow} array, {utilisation:.1%} of its MACs busy"
            + (", zero weights skipped" if hw.zero_skipping else "")
            + (f", sparse weights as {hw.weight_format}" if hw.weight_format != "dense" else "")
        ],
    )
