"""What one synthesis run of one block on one target reports (:class:`SynthReport`).

Every figure comes from a tool's own report (Yosys ``stat``, nextpnr's ``--report`` JSON,
OpenSTA's ``report_checks``/``report_power``) or is computed from such figures by a rule stated
where it is computed; a figure a target cannot give is ``None`` and a note says why (for
instance: the FPGA tools estimate no power).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import asdict, dataclass, field
from typing import Any

__all__ = ["CriticalPath", "Memory", "Power", "SynthReport"]


@dataclass(frozen=True)
class CriticalPath:
    """The slowest register-to-register (or port) path.

    ``start`` and ``end`` are the tool's names of the path's start and end points, ``delay_ns``
    its delay (logic and routing/wire where the target models wires), ``logic_levels`` the
    cells on it where the tool says, ``through`` the RTL sub-blocks it runs through, in order
    (names of the Amaranth hierarchy, e.g. ``["filter", "prefix_sum"]``; empty when not known).
    """

    start: str
    end: str
    delay_ns: float
    logic_levels: int | None = None
    through: tuple[str, ...] = ()


@dataclass(frozen=True)
class Memory:
    """A memory of the design: ``name`` (Yosys' name of the memory), ``depth`` words of
    ``width`` bits, and what it became: ``mapped_to`` is a primitive name and count on an FPGA
    (``"DP16KD x 4"``), ``"macro"`` on the ASIC target (reported separately, not synthesized
    into flip-flops), ``"flip-flops"`` when a target had to build it from registers."""

    name: str
    depth: int
    width: int
    mapped_to: str
    area_um2: float | None = None

    @property
    def bits(self) -> int:
        return self.depth * self.width


@dataclass(frozen=True)
class Power:
    """Power at the reported clock, in watts: ``dynamic_w`` (switching + internal), ``leakage_w``,
    and where the activity came from (``"vcd: <file>"`` for a bench's waveform, or
    ``"default: <rate>"`` for a uniform toggle rate)."""

    dynamic_w: float
    leakage_w: float
    activity: str

    @property
    def total_w(self) -> float:
        return self.dynamic_w + self.leakage_w


@dataclass
class SynthReport:
    """The result of synthesizing one block with one set of parameters on one target.

    Members
    -------
    block, params:
        The block's registry name (:mod:`prunesim.rtl.blocks`) and every constructor parameter.
    target:
        The target's registry name (:mod:`prunesim.synth.targets`).
    clock_mhz:
        The clock constraint the tools were given (``None``: none).
    cells:
        Cells by type after technology mapping (``{"LUT4": 18812, "TRELLIS_FF": 4301, ...}`` or
        standard cells ``{"sky130_fd_sc_hd__nand2_1": 812, ...}``).
    resources:
        The target's headline counts (FPGA: ``LUT4``, ``FF``, ``BRAM``, ``DSP`` as the P&R tool
        reports them used; ASIC: ``cells``, ``flip_flops``).
    area_um2:
        ASIC only: standard-cell area from the Liberty (memories excluded, see ``memories``).
    area_by_block:
        ASIC only: ``area_um2`` split by the RTL's first-level sub-blocks (``{"dot": ...,
        "exp": ..., "pq": <the top module's own cells>, "(fanout buffers)": ...}``); the parts
        add up to ``area_um2``.
    memories:
        Every memory and what it was mapped to.
    critical_path, fmax_mhz:
        The slowest path and the clock it allows (FPGA: nextpnr's estimate after routing;
        ASIC: static timing at the Liberty's corner, no wires).
    power:
        ``None`` where the target estimates none (``notes`` says so).
    power_by_block:
        ASIC only: ``power``'s total split the same way (OpenSTA's power per instance, summed);
        the parts add up to the total within the report's rounding.
    energy_per_frame_j:
        Energy of one frame of the block (power x cycles of a bench frame / clock), where both
        are known.
    tools:
        Each tool's name and version, as the cache key records them.
    logs:
        Each step's log file.
    runtimes_s:
        Each step's wall-clock time in seconds (``"total"``: the whole run), as measured when
        the report was made (a cached report keeps the times of the run that made it).
    notes:
        The limits of these figures, in words (corner, no wires, memories as macros ...).
    """

    block: str
    params: dict[str, Any]
    target: str
    clock_mhz: float | None = None
    cells: dict[str, int] = field(default_factory=dict)
    resources: dict[str, int] = field(default_factory=dict)
    area_um2: float | None = None
    area_by_block: dict[str, float] = field(default_factory=dict)
    memories: list[Memory] = field(default_factory=list)
    critical_path: CriticalPath | None = None
    fmax_mhz: float | None = None
    power: Power | None = None
    power_by_block: dict[str, float] = field(default_factory=dict)
    energy_per_frame_j: float | None = None
    tools: dict[str, str] = field(default_factory=dict)
    logs: dict[str, str] = field(default_factory=dict)
    runtimes_s: dict[str, float] = field(default_factory=dict)
    notes: list[str] = field(default_factory=list)

    @property
    def memory_area_um2(self) -> float:
        """The memories' estimated area, summed (0 where none has one: FPGA, or no memory)."""
        return sum(m.area_um2 or 0.0 for m in self.memories)

    def to_dict(self) -> dict[str, Any]:
        """A JSON-ready dict: every member; ``power`` gains ``total_w``, each memory ``bits``."""
        out = asdict(self)
        out["memories"] = [{**asdict(m), "bits": m.bits} for m in self.memories]
        if self.power is not None:
            out["power"] = {**asdict(self.power), "total_w": self.power.total_w}
        if self.critical_path is not None:
            out["critical_path"]["through"] = list(self.critical_path.through)
        return out

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> SynthReport:
        """The report that :meth:`to_dict` gave ``data`` (its derived ``bits`` and ``total_w``
        dropped); ``TypeError``/``KeyError`` if ``data`` is not such a dict."""
        values = dict(data)
        values["memories"] = [
            Memory(**{k: v for k, v in memory.items() if k != "bits"})
            for memory in values.get("memories", [])
        ]
        path = values.get("critical_path")
        if path is not None:
            values["critical_path"] = CriticalPath(**{**path, "through": tuple(path["through"])})
        power = values.get("power")
        if power is not None:
            values["power"] = Power(**{k: v for k, v in power.items() if k != "total_w"})
        return cls(**values)
