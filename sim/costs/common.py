"""What the cost models share: the result builder, per-layer sums, DRAM transactions, the
file layouts of DRAM and energy that several kinds use, and a design's area and static power.

Area and static power. A kind with ``area:`` and ``static:`` groups (optional in its files: see
:class:`~prunesim.sim.hwfile.OptionalGroup`) lists its units as :class:`Unit` entries (a count
and the area and static power of one); :func:`design_figures` sums them into the design's area
by unit and static power, and :func:`add_static` adds ``static_w x seconds`` to a run's energy
(the breakdown's ``"static"`` entry, and each layer's share by its time). A file without the
groups has area and static power None and its energy is the dynamic energy alone.

:func:`build_result` is the one place a :class:`~prunesim.sim.result.SimResult` is assembled:
a cost model computes its totals and per-layer arrays, this fills in the names, stage, mode,
notes and the workload's own figures. Everything here is vectorised over a workload's rows.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np

from prunesim.sim.hwfile import BITS, BYTES, COUNT, GB_PER_S, PJ, SRAM_KB, Field, Layout
from prunesim.sim.result import LayerResult, SimResult
from prunesim.sim.workload import Workload

__all__ = [
    "DRAM_LAYOUT",
    "DramChannels",
    "ENERGY_LAYOUT",
    "DesignFigures",
    "Unit",
    "add_static",
    "apply_bounds",
    "build_result",
    "design_figures",
    "conv_refusal",
    "group_ids",
    "layer_results",
    "per_layer",
    "roofline_labels",
    "row_macs",
    "time_shares",
    "txn_bytes",
    "unit_cycles",
]

#: ``dram:`` of a file: channels, bandwidth per channel, transaction size.
DRAM_LAYOUT: Layout = {
    "channels": Field("dram_channels", "int", bounds=COUNT),
    "channel_gb_per_s": Field("dram_channel_gb_per_s", "float", bounds=GB_PER_S),
    "transaction_bytes": Field("dram_transaction_bytes", "int", bounds=BYTES),
}
#: ``energy:`` of a file: DRAM pJ/bit (with its source), SRAM reads by capacity, multiplies and
#: adds by width (energy tables).
ENERGY_LAYOUT: Layout = {
    "dram_pj_per_bit": Field("dram_pj_per_bit", "cited", bounds=PJ),
    "sram_read_bits": Field("sram_read_bits", "int", bounds=BITS),
    "sram_pj_per_read": Field("sram_pj_per_read", "table", bounds=PJ, sizes=SRAM_KB),
    "mult_pj": Field("mult_pj", "table", bounds=PJ, sizes=BITS),
    "add_pj": Field("add_pj", "table", bounds=PJ, sizes=BITS),
}


@dataclass(frozen=True)
class Unit:
    """``count`` identical units of a design (multipliers, KB of SRAM, one fixed part), each of
    ``area_mm2`` and ``static_w``; either is None where the file gives no figure."""

    name: str
    count: float
    area_mm2: float | None
    static_w: float | None


@dataclass(frozen=True)
class DesignFigures:
    """A design's area by unit (mm^2; sums to ``area_mm2``) and static power (W, leakage and
    whatever the file's figures include), each None where the file gives no figures."""

    area_breakdown_mm2: dict[str, float] | None
    static_w: float | None

    @property
    def area_mm2(self) -> float | None:
        if self.area_breakdown_mm2 is None:
            return None
        return float(sum(self.area_breakdown_mm2.values()))

    def result_fields(self) -> dict[str, Any]:
        """The :class:`~prunesim.sim.result.SimResult` fields ``area_mm2``,
        ``area_breakdown_mm2`` and ``static_w``."""
        return {
            "area_mm2": self.area_mm2,
            "area_breakdown_mm2": dict(self.area_breakdown_mm2 or {}),
            "static_w": self.static_w,
        }


def design_figures(units: list[Unit]) -> DesignFigures:
    """The area by unit (``count x area_mm2`` per unit name) and the static power (the sum of
    ``count x static_w``) of a design; each None when any unit lacks its figure."""
    area = None
    if all(u.area_mm2 is not None for u in units):
        area = {u.name: float(u.count * u.area_mm2) for u in units}
    static = None
    if all(u.static_w is not None for u in units):
        static = float(sum(u.count * u.static_w for u in units))
    return DesignFigures(area, static)


def add_static(
    breakdown: dict[str, float],
    layer_energy_j: np.ndarray,
    static_w: float | None,
    seconds: float,
    layer_seconds: np.ndarray,
) -> tuple[dict[str, float], np.ndarray]:
    """The energy breakdown with ``"static": static_w x seconds`` added, and each layer's energy
    with ``static_w x`` its seconds; both unchanged when ``static_w`` is None."""
    if static_w is None:
        return breakdown, layer_energy_j
    return (
        {**breakdown, "static": static_w * seconds},
        layer_energy_j + static_w * np.asarray(layer_seconds, dtype=np.float64),
    )


class DramChannels:
    """Mixin of a kind with ``dram_channels`` of ``dram_channel_gb_per_s`` each, a ``clock_ghz``
    and an energy entry ``dram_pj_per_bit`` that cites its source."""

    @property
    def dram_bytes_per_s(self) -> float:
        return self.dram_channels * self.dram_channel_gb_per_s * 1e9

    @property
    def dram_bytes_per_cycle(self) -> float:
        return self.dram_channels * self.dram_channel_gb_per_s / self.clock_ghz

    @property
    def dram_source(self) -> str:
        """The source of ``dram_pj_per_bit`` (every file must cite one)."""
        return self.sources["dram_pj_per_bit"]


def group_ids(step: np.ndarray, layer: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Dense ids of the rows' distinct (step, layer) pairs, and each pair's layer."""
    if len(step) == 0:
        return np.zeros(0, np.int64), np.zeros(0, np.int64)
    key = step.astype(np.int64) * (int(layer.max()) + 1) + layer
    _, first, ids = np.unique(key, return_index=True, return_inverse=True)
    return ids.reshape(-1), layer[first]


def per_layer(layers: int, layer: np.ndarray, values: np.ndarray) -> np.ndarray:
    """The sum of ``values`` per layer id (``layers`` entries)."""
    return np.bincount(layer, weights=values, minlength=layers)[:layers]


def txn_bytes(bytes_per_load: np.ndarray, loads: np.ndarray, txn: int) -> np.ndarray:
    """Bytes moved for ``loads`` fetches of ``bytes_per_load`` each, in whole transactions."""
    return np.ceil(bytes_per_load / txn) * txn * loads


def row_macs(workload: Workload) -> tuple[np.ndarray, np.ndarray]:
    """Per-layer MACs of the attention rows and of the linear and conv rows (dense counts)."""
    att, lin, conv = workload.attention, workload.linear, workload.conv
    return (
        per_layer(workload.layers, att.layer, att.macs.astype(np.float64)),
        per_layer(workload.layers, lin.layer, lin.macs.astype(np.float64))
        + per_layer(workload.layers, conv.layer, conv.macs.astype(np.float64)),
    )


def unit_cycles(
    layers: int, units: int, layer: np.ndarray, unit: np.ndarray | int, cycles: np.ndarray
) -> np.ndarray:
    """Cycles per layer and unit, a ``(layers, units)`` array: each entry of ``cycles`` added
    to its ``layer`` (row) and its ``unit`` (column; one index for all, or one per entry)."""
    key = layer.astype(np.int64) * units + unit
    sums = np.bincount(key.reshape(-1), weights=cycles.reshape(-1), minlength=layers * units)
    return sums[: layers * units].reshape(layers, units)


def apply_bounds(results: list[LayerResult], units: tuple[str, ...], cycles: np.ndarray) -> None:
    """Fill each layer's ``cycles_by_unit``, ``bound`` and ``bound_share`` from ``cycles``, its
    cycles per unit (a ``(layers, len(units))`` array that adds up to the layer's cycles).

    ``bound`` is the unit with the most cycles, the earlier in ``units`` on a tie; ``bound_share``
    its cycles over the row's sum (the layer's cycles, to rounding), in (0, 1]. A layer of zero
    cycles has neither (None)."""
    totals = cycles.sum(axis=1)
    best = cycles.argmax(axis=1)
    busy = totals > 0
    shares = cycles[np.arange(len(best)), best] / np.where(busy, totals, 1.0)
    columns = (cycles.tolist(), best.tolist(), busy.tolist(), shares.tolist())
    for layer, row, index, has_time, share in zip(results, *columns, strict=True):
        layer.cycles_by_unit = {unit: value for unit, value in zip(units, row) if value}  # noqa: B905
        if has_time:
            layer.bound, layer.bound_share = units[index], share


def time_shares(
    units: tuple[str, ...], cycles: np.ndarray, outside: dict[str, float] | None = None
) -> dict[str, float]:
    """A run's share of time per unit (:attr:`SimResult.time_by_unit`): the per-layer ``cycles``
    (a ``(layers, len(units))`` array) summed over the layers, plus ``outside`` (time in no
    layer, e.g. memory passes, in the same unit of time), over their sum; units with no time are
    left out, the others keep the order of ``units``. Empty when nothing takes time."""
    totals = dict(zip(units, cycles.sum(axis=0).tolist(), strict=True))
    for unit, value in (outside or {}).items():
        totals[unit] = totals.get(unit, 0.0) + value
    whole = sum(totals.values())
    if not whole > 0:
        return {}
    return {unit: value / whole for unit, value in totals.items() if value > 0}


def roofline_labels(
    results: list[LayerResult], peak_ops_per_s: float, dram_bytes_per_s: float
) -> None:
    """Fill each layer's ``roofline``, as LLM-Viewer labels an operator: ``"compute-bound"``
    where its arithmetic intensity (``2 x macs`` ops per DRAM byte) reaches the ridge point
    ``peak_ops_per_s / dram_bytes_per_s`` (or it moves no bytes), ``"memory-bound"`` below it;
    None where the layer's bytes are not modelled or it has neither ops nor bytes."""
    ridge = peak_ops_per_s / dram_bytes_per_s
    for layer in results:
        ops, dram = 2.0 * layer.macs, layer.dram_bytes
        if dram is None or not (ops or dram):
            continue
        compute = not dram or ops / dram >= ridge
        layer.roofline = "compute-bound" if compute else "memory-bound"


def conv_refusal(workload: Workload, hw: Any, what: str) -> str | None:
    """The reason a target that prices ``what`` only cannot run ``workload``'s convolutions or
    memory passes, or None when it has neither."""
    if len(workload.conv) or workload.streams:
        return f"{hw.name} prices {what}; this workload has {len(workload.conv)} convolutions" + (
            f" and {len(workload.streams)} memory passes" if workload.streams else ""
        )
    return None


def _schedule_value(schedule: dict[str, list[float]], key: str, layer: int) -> float | None:
    values = schedule.get(key)
    if values is None or layer >= len(values) or values[layer] != values[layer]:  # NaN: none
        return None
    return float(values[layer])


def layer_results(
    workload: Workload,
    cycles: np.ndarray,
    seconds_per_cycle: float,
    dram: np.ndarray | None,
    macs: np.ndarray,
    energy: np.ndarray,
) -> list[LayerResult]:
    """One :class:`LayerResult` per layer from per-layer arrays, with the workload's schedule
    (tokens, heads, channels, density) beside them."""
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


def build_result(
    workload: Workload, hw: Any, *, notes: tuple[str, ...] | list[str] = (), **fields: Any
) -> SimResult:
    """A :class:`SimResult` of ``workload`` on ``hw``: names, stage, mode and the workload's notes
    filled in, then ``notes`` and the cost ``fields``."""
    return SimResult(
        model=workload.model,
        method=workload.method,
        hardware=hw.name,
        stage=workload.stage.describe(),
        mode=workload.mode,
        notes=[*workload.notes, *notes],
        kv_cache_bytes=workload.kv_cache_bytes,
        memory_bytes=None if workload.memory_bytes is None else dict(workload.memory_bytes),
        extras=dict(workload.extras),
        **fields,
    )
