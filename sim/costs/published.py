"""Accelerators known only by their published figures (kind ``published``): A3, MNNFast.

A file gives ``clock_ghz``, ``gops`` (attention throughput, 2 ops per MAC) and ``gops_per_j``.
The model: ``seconds = ops / gops``, ``energy = ops / gops_per_j`` with ``ops = 2 x MACs`` of
the attention rows; their DRAM traffic is not published, so ``dram_bytes`` is None.

Area: the optional group ``area: {total_mm2}``, the design's published area where one is citeable
(``area_breakdown_mm2 == {"total": total_mm2}``). No static power is added: the published
efficiency (``gops_per_j``) is measured on the whole chip and already includes its static power,
so ``static_w`` stays None and the energy is ``ops / gops_per_j`` alone.

What bounds the time: the model has one unit, ``compute`` (the published throughput), which
takes every cycle of every layer (``bound_share`` 1); no roofline label (no bytes).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import ClassVar

from prunesim.sim.costs import register_kind
from prunesim.sim.costs.common import (
    Unit,
    apply_bounds,
    build_result,
    conv_refusal,
    design_figures,
    layer_results,
    row_macs,
    time_shares,
)
from prunesim.sim.hwfile import AREA_MM2, CLOCK_GHZ, GOPS, GOPS_PER_J, Field, Layout, OptionalGroup
from prunesim.sim.result import SimResult
from prunesim.sim.workload import Workload

__all__ = ["UNITS", "Published"]

#: The units a published accelerator's time is attributed to: its throughput, one unit.
UNITS = ("compute",)


@register_kind
@dataclass(frozen=True)
class Published:
    """An accelerator known by its published figures only (kind ``published``)."""

    name: str
    description: str
    clock_ghz: float
    gops: float  # attention throughput, giga-ops per second (2 ops per MAC)
    gops_per_j: float  # energy efficiency
    sources: dict[str, str] = field(default_factory=dict)
    kind: str = "published"
    area_total_mm2: float | None = None  # the published area (optional group area:)

    LAYOUT: ClassVar[Layout] = {
        "clock_ghz": Field("clock_ghz", "float", bounds=CLOCK_GHZ),
        "gops": Field("gops", "float", bounds=GOPS),
        "gops_per_j": Field("gops_per_j", "float", bounds=GOPS_PER_J),
        "area": OptionalGroup({"total_mm2": Field("area_total_mm2", "float", bounds=AREA_MM2)}),
    }
    BASELINE: ClassVar[bool] = True

    @property
    def peak_ops_per_s(self) -> float:
        return self.gops * 1e9

    def units(self) -> list[Unit]:
        """The whole design as one unit: its published area, no static power (module
        docstring: the published efficiency includes it)."""
        return [Unit("total", 1, self.area_total_mm2, None)]

    def unsupported(self, workload: Workload) -> str | None:
        """Anything but attention: the published figures are attention throughput."""
        refusal = conv_refusal(workload, self, "attention only (its published throughput)")
        if refusal is None and len(workload.linear):
            refusal = (
                f"{self.name} prices attention only (its published throughput); this workload "
                f"also has {len(workload.linear)} matrix products (end-to-end layers, or a "
                "method's merging and scoring)"
            )
        return refusal

    def price(self, workload: Workload) -> SimResult:
        """The cost of ``workload`` (module docstring)."""
        return _price(workload, self)


def _price(workload: Workload, hw: Published) -> SimResult:
    att_macs, _ = row_macs(workload)
    macs = workload.macs
    seconds = 2 * macs / (hw.gops * 1e9)
    energy = 2 * macs / (hw.gops_per_j * 1e9)
    cycles_per_second = hw.clock_ghz * 1e9
    share = att_macs / macs if macs else att_macs * 0
    layer_cycles = share * seconds * cycles_per_second
    layers = layer_results(
        workload, layer_cycles, 1 / cycles_per_second, None, att_macs, share * energy
    )
    by_unit = layer_cycles[:, None]
    apply_bounds(layers, UNITS, by_unit)
    return build_result(
        workload,
        hw,
        cycles=seconds * cycles_per_second,
        seconds=seconds,
        dram_bytes=None,
        dram_bytes_by_tensor=None,
        macs=macs,
        energy_j=energy,
        energy_breakdown_j={"device": energy},
        **design_figures(hw.units()).result_fields(),
        bound_cycles=seconds * cycles_per_second,
        layers=layers,
        time_by_unit=time_shares(UNITS, by_unit),
        notes=[f"{hw.name}: published throughput and efficiency"],
    )
