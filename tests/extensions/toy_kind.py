"""A toy kind of hardware, as a user would add one: ``roofline``, a device known by its peak
compute, its memory bandwidth and its power; every row of a workload costs
``max(ops / peak, bytes / bandwidth)``. This module and a YAML file (``toy-roofline.yaml``) are
the whole kind; ``tests/test_extending.py`` loads the file and prices workloads on it.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import ClassVar

import numpy as np

from prunesim.sim.costs import register_kind
from prunesim.sim.costs.common import build_result, layer_results, per_layer
from prunesim.sim.hwfile import Field, Layout
from prunesim.sim.result import SimResult
from prunesim.sim.workload import Workload


@register_kind
@dataclass(frozen=True)
class Roofline:
    """A roofline device (kind ``roofline``)."""

    name: str
    description: str
    clock_ghz: float
    peak_tops: float
    memory_gb_per_s: float
    power_w: float
    sources: dict[str, str] = field(default_factory=dict)
    kind: str = "roofline"

    LAYOUT: ClassVar[Layout] = {
        "clock_ghz": Field("clock_ghz", "float"),
        "peak_tops": Field("peak_tops", "float"),
        "memory_gb_per_s": Field("memory_gb_per_s", "float"),
        "power_w": Field("power_w", "float"),
    }
    BASELINE: ClassVar[bool] = True

    @property
    def peak_ops_per_s(self) -> float:
        return self.peak_tops * 1e12

    def unsupported(self, workload: Workload) -> str | None:
        if workload.streams:
            return f"{self.name} prices matrix products only, not memory passes"
        return None

    def price(self, workload: Workload) -> SimResult:
        att, lin, conv = workload.attention, workload.linear, workload.conv
        rows = [
            (att.layer, 2.0 * att.macs, att.keys * att.d * (att.k_msb_bits + att.v_bits) / 8),
            (lin.layer, 2.0 * lin.macs, lin.in_features * lin.out_features * lin.w_bits / 8),
            (conv.layer, 2.0 * conv.macs, conv.weight_elements * conv.w_bits / 8),
        ]
        layers = workload.layers
        seconds = np.zeros(layers)
        dram = np.zeros(layers)
        macs = np.zeros(layers)
        for layer, ops, traffic in rows:
            time = np.maximum(ops / self.peak_ops_per_s, traffic / (self.memory_gb_per_s * 1e9))
            seconds += per_layer(layers, layer, time)
            dram += per_layer(layers, layer, traffic.astype(np.float64))
            macs += per_layer(layers, layer, ops / 2)
        total = float(seconds.sum())
        cycles_per_second = self.clock_ghz * 1e9
        return build_result(
            workload,
            self,
            cycles=total * cycles_per_second,
            seconds=total,
            dram_bytes=float(dram.sum()),
            dram_bytes_by_tensor={"all": float(dram.sum())},
            macs=workload.macs,
            energy_j=total * self.power_w,
            energy_breakdown_j={"device": total * self.power_w},
            bound_cycles=total * cycles_per_second,
            layers=layer_results(
                workload,
                seconds * cycles_per_second,
                1 / cycles_per_second,
                dram,
                macs,
                seconds * self.power_w,
            ),
            notes=[f"{self.name}: a roofline per row"],
        )
