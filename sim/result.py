"""What pricing a workload gives: :class:`SimResult`, with one :class:`LayerResult` per layer.

Every cost model (:mod:`prunesim.sim.costs`) returns a :class:`SimResult`; ``compare``, the
tables and the report read it. ``to_dict()`` gives the JSON of ``prunesim simulate --json``.
"""

from __future__ import annotations

from dataclasses import dataclass, field, fields
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    import pandas

__all__ = ["LayerResult", "PointCost", "SimResult"]


@dataclass
class LayerResult:
    """Costs of one layer, summed over the stage's steps and the layer's heads.

    ``cycles_by_unit`` attributes the layer's cycles to the units of the target that set them
    (its cost model's docstring defines how); they add up to ``cycles`` (to rounding). ``bound``
    is the unit with the most of them and ``bound_share`` their share of ``cycles``.
    """

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
    bound: str | None = None  # the unit whose occupancy sets most of the layer's time
    bound_share: float | None = None  # that unit's share of the layer's time, 0..1
    roofline: str | None = None  # "compute-bound" or "memory-bound" (ops per byte vs the ridge)
    cycles_by_unit: dict[str, float] = field(default_factory=dict)  # adds up to ``cycles``

    def to_dict(self) -> dict[str, Any]:
        return dict(self.__dict__)


@dataclass
class SimResult:
    """A workload's cost on one hardware target.

    ``cycles`` are the target's clock cycles (``seconds x clock``); ``ops = 2 x macs``;
    ``dram_bytes`` counts whole transactions and equals the sum of ``dram_bytes_by_tensor``
    (None where the target's traffic is not modelled); ``energy_j`` equals the sum of
    ``energy_breakdown_j``; ``bound_cycles`` is the roofline bound ``max(ops / peak, bytes /
    bandwidth)`` in cycles, which ``cycles`` never beats. ``area_mm2`` is the design's area (the
    sum of ``area_breakdown_mm2``) and ``static_w`` its static (leakage and clock) power, None
    where the target's file gives none; ``time_by_unit`` is the share of ``cycles`` each unit
    bounds (it sums to 1 when not empty) and :attr:`bound` the unit with the largest share.
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
    area_mm2: float | None = None
    area_breakdown_mm2: dict[str, float] | None = None
    static_w: float | None = None
    time_by_unit: dict[str, float] = field(default_factory=dict)

    @property
    def bound(self) -> str | None:
        """The unit that bounds the largest share of the run's time (None when not modelled)."""
        return _largest_share(self.time_by_unit)

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

    def to_frame(self) -> pandas.DataFrame:
        """One row per layer as a pandas DataFrame: the run's ``model``, ``method``,
        ``hardware``, ``stage`` and ``mode`` columns, then every :class:`LayerResult` field in
        declaration order (``layer``, ``name``, ``cycles``, ...). A run without layers gives an
        empty frame with those columns. pandas is imported on the first call."""
        import pandas

        run = {
            "model": self.model,
            "method": self.method,
            "hardware": self.hardware,
            "stage": self.stage,
            "mode": self.mode,
        }
        names = [*run, *(f.name for f in fields(LayerResult))]
        records = [{**run, **layer.to_dict()} for layer in self.layers]
        return pandas.DataFrame.from_records(records, columns=names)

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
            "area_mm2": self.area_mm2,
            "area_breakdown_mm2": self.area_breakdown_mm2,
            "static_w": self.static_w,
            "bound": self.bound,
            "time_by_unit": dict(self.time_by_unit),
            "kv_cache_bytes": self.kv_cache_bytes,
            "memory_bytes": self.memory_bytes,
            "extras": dict(self.extras),
            "layers": [layer.to_dict() for layer in self.layers],
            "notes": list(self.notes),
        }


def _largest_share(time_by_unit: dict[str, float]) -> str | None:
    """The unit with the largest share (the first of equal ones), None when there is none."""
    if not time_by_unit:
        return None
    return max(time_by_unit.items(), key=lambda item: item[1])[0]


@dataclass(frozen=True)
class PointCost:
    """A workload's cost on one target as a sweep row needs it: the :class:`SimResult` figures
    of the same names (the same numbers), without the per-layer table, bytes by tensor or
    energy by component. What a kind's optional ``price_many`` returns
    (:class:`~prunesim.sim.costs.Hardware`)."""

    cycles: float
    seconds: float
    dram_bytes: float | None
    macs: int
    energy_j: float
    area_mm2: float | None
    static_w: float | None
    time_by_unit: dict[str, float] = field(default_factory=dict)

    @property
    def bound(self) -> str | None:
        """The unit that bounds the largest share of the run's time (:attr:`SimResult.bound`)."""
        return _largest_share(self.time_by_unit)
