"""Committed synthesis records of the default blocks, and the unit figures derived from them.

The simulator cannot run synthesis when it prices a design (the default top-k engine takes
minutes on the ASIC target and tens of minutes on the ECP5), so the reports of the blocks at
their defaults are kept in the repository, in :data:`RECORD_DIR` (``<block>-<target>.json``),
and the SpAtten hardware files' top-k and softmax figures are derived from them by
:func:`unit_figures`. A record holds the :class:`~prunesim.synth.report.SynthReport` (its
``logs`` dropped: they are paths of the machine that ran it), the sha256 of the Verilog it was
made from, the bench whose activity and cycles it used, and the command that made it:
``python -m prunesim.bench.synth_records`` (which runs ``prunesim bench synth``'s steps:
the cocotb bench on Verilator for cycles and switching activity, then
:func:`~prunesim.synth.flow.synthesize_block`). A test checks every record's Verilog sha256
against today's RTL (:func:`~prunesim.synth.flow.verilog_sha256`): a change of a block's
Verilog fails it until the records are made again.

Node scaling (:data:`SKY130_TO_40NM`): our ASIC figures are sky130 (130 nm, 1.8 V, tt);
SpAtten is TSMC 40 nm. Constant-field (Dennard) scaling: area as the square of the feature
size, (40/130)^2 = 0.0947; switched energy C V^2 with C as the feature size and V from the
Liberty's 1.8 V to 0.9 V (the supply of Horowitz's 45 nm figures that the SpAtten files' other
energies use), (40/130) x (0.9/1.8)^2 = 0.0769. Real 130 -> 40 nm libraries scale by less than
this ideal (wires and SRAM periphery shrink less): a stated estimate, not a measurement.
"""

from __future__ import annotations

import json
import math
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from prunesim.synth.report import SynthReport

__all__ = [
    "RECORD_DIR",
    "SKY130_TO_40NM",
    "NodeScaling",
    "Record",
    "UnitFigures",
    "load_record",
    "record_path",
    "record_names",
    "unit_figures",
]

#: Where the committed records live (shipped with the package).
RECORD_DIR = Path(__file__).resolve().parent / "records"


@dataclass(frozen=True)
class Record:
    """One committed synthesis run (module docstring).

    ``bench``: ``frames`` (per case), ``cases`` (the bench's cases), ``cycles`` (mean per frame;
    PQ: without the LSB pass), ``cycles_lsb`` (PQ: with it; else None), ``operation`` (what
    one operation is: ``"key"`` for the top-k engine and the sorter, ``"score"`` for the PQ
    datapath) and ``operations_per_frame`` (the mean over the bench's frames: the top-k engine
    takes ``n`` keys a frame; the PQ datapath scores ``n`` keys, twice with the LSB pass)."""

    report: SynthReport
    verilog_sha256: str
    bench: dict[str, Any]
    command: str
    prunesim_version: str = ""
    extra: dict[str, Any] = field(default_factory=dict)

    def to_dict(self) -> dict[str, Any]:
        report = self.report.to_dict()
        report["logs"] = {}
        return {
            "command": self.command,
            "prunesim_version": self.prunesim_version,
            "verilog_sha256": self.verilog_sha256,
            "bench": dict(self.bench),
            **({"extra": dict(self.extra)} if self.extra else {}),
            "report": report,
        }

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> Record:
        return cls(
            report=SynthReport.from_dict(data["report"]),
            verilog_sha256=str(data["verilog_sha256"]),
            bench=dict(data["bench"]),
            command=str(data["command"]),
            prunesim_version=str(data.get("prunesim_version", "")),
            extra=dict(data.get("extra", {})),
        )

    @property
    def tools(self) -> str:
        """The tools that made it, in one line (``Yosys 0.23, sta 2.0.17, ...``)."""
        return ", ".join(f"{name} {version}" for name, version in self.report.tools.items())

    @property
    def source(self) -> str:
        """``synthesized: prunesim synth <block> --target <target> (<tools>)``."""
        return (
            f"synthesized: prunesim synth {self.report.block} --target {self.report.target} "
            f"at its defaults ({self.tools})"
        )


def record_path(block: str, target: str, directory: Path | None = None) -> Path:
    """``<directory>/<block>-<target>.json`` (default :data:`RECORD_DIR`)."""
    return (directory or RECORD_DIR) / f"{block}-{target}.json"


def record_names(directory: Path | None = None) -> list[tuple[str, str]]:
    """``(block, target)`` of every record in ``directory`` (default :data:`RECORD_DIR`)."""
    out = []
    for path in sorted((directory or RECORD_DIR).glob("*.json")):
        data = json.loads(path.read_text(encoding="utf-8"))
        out.append((data["report"]["block"], data["report"]["target"]))
    return out


def load_record(block: str, target: str, directory: Path | None = None) -> Record:
    """The committed record of ``block`` at its defaults on ``target``; ``ValueError`` naming
    the file when there is none."""
    path = record_path(block, target, directory)
    if not path.is_file():
        raise ValueError(
            f"no synthesis record {path} (make it with python -m prunesim.bench.synth_records "
            f"--blocks {block} --targets {target})"
        )
    return Record.from_dict(json.loads(path.read_text(encoding="utf-8")))


@dataclass(frozen=True)
class NodeScaling:
    """Scaling of figures from one process node and supply to another (module docstring):
    area x ``(to_nm / from_nm)^2``, switched energy x ``(to_nm / from_nm) x (to_v / from_v)^2``."""

    from_nm: float
    to_nm: float
    from_v: float
    to_v: float
    source: str

    @property
    def area(self) -> float:
        return (self.to_nm / self.from_nm) ** 2

    @property
    def energy(self) -> float:
        return (self.to_nm / self.from_nm) * (self.to_v / self.from_v) ** 2


#: sky130 (130 nm, the Liberty's 1.8 V) to SpAtten's 40 nm at 0.9 V.
SKY130_TO_40NM = NodeScaling(
    from_nm=130,
    to_nm=40,
    from_v=1.8,
    to_v=0.9,
    source=(
        "constant-field scaling from sky130 (130 nm, 1.8 V) to 40 nm at 0.9 V: area x "
        "(40/130)^2, energy x (40/130) x (0.9/1.8)^2 (an ideal-scaling estimate)"
    ),
)


@dataclass(frozen=True)
class UnitFigures:
    """The SpAtten files' synthesized unit figures (see :func:`unit_figures`), each with the
    words of its source."""

    comparator_um2: float
    softmax_lane_um2: float
    topk_pj_per_key: float
    softmax_pj_per_score: float
    sources: dict[str, str]


#: Comparator arrays per top-k engine of ours (the quick-select's two sides, ``lanes`` each).
ENGINE_ARRAYS = 2


def unit_figures(
    topk: Record,
    pq: Record,
    sram_mm2_per_kb: float,
    scaling: NodeScaling = SKY130_TO_40NM,
) -> UnitFigures:
    """SpAtten's per-unit figures from our ASIC records of the top-k engine and the PQ datapath.

    * ``comparator_um2``: one comparator lane = the top-k engine / (:data:`ENGINE_ARRAYS` x
      ``lanes``): its standard cells scaled by ``scaling.area`` plus its memories (frame buffer
      and FIFOs) priced at ``sram_mm2_per_kb`` (the hardware file's own SRAM density at the
      target node, rather than our sky130 macro estimate scaled).
    * ``softmax_lane_um2``: the PQ datapath computes one score a cycle, one softmax lane: its
      standard cells but the Q.K dot product's (``area_by_block["dot"]``; the fanout buffers
      stay in), scaled; its score buffer is left out (SpAtten's pipelined softmax keeps a
      128-deep FIFO, priced in the file's fixed part).
    * ``topk_pj_per_key``: the engine's energy per bench frame / keys per frame, scaled by
      ``scaling.energy`` (standard cells only: the report leaves the memories' power out).
    * ``softmax_pj_per_score``: the PQ datapath's energy per bench frame times the share of its
      power outside the dot product (``power_by_block``), per score, scaled.

    ``ValueError`` when a record is not an ASIC record with the figures needed."""
    for record, name in ((topk, "topk"), (pq, "pq")):
        rep = record.report
        if rep.block != name or rep.target != "asic":
            raise ValueError(
                f"the {name} record must be the asic target's, not {rep.block} on {rep.target}"
            )
        if rep.area_um2 is None or rep.energy_per_frame_j is None or rep.power is None:
            raise ValueError(f"the {name} record has no area, power or energy per frame")
    if not (math.isfinite(sram_mm2_per_kb) and sram_mm2_per_kb > 0):
        raise ValueError(f"sram_mm2_per_kb must be positive, not {sram_mm2_per_kb!r}")
    t, p = topk.report, pq.report
    lanes = ENGINE_ARRAYS * int(t.params["lanes"])
    memory_kb = sum(m.bits for m in t.memories) / 8 / 1024
    comparator = (t.area_um2 * scaling.area + memory_kb * sram_mm2_per_kb * 1e6) / lanes
    if "dot" not in p.area_by_block or "dot" not in p.power_by_block:
        raise ValueError("the pq record has no area or power of its 'dot' sub-block")
    softmax_lane = (p.area_um2 - p.area_by_block["dot"]) * scaling.area
    topk_pj = t.energy_per_frame_j * 1e12 * scaling.energy / topk.bench["operations_per_frame"]
    share = 1.0 - p.power_by_block["dot"] / sum(p.power_by_block.values())
    softmax_pj = (
        p.energy_per_frame_j * 1e12 * share * scaling.energy / pq.bench["operations_per_frame"]
    )
    tk = f"prunesim synth topk --target asic ({topk.tools})"
    pqs = f"prunesim synth pq --target asic ({pq.tools})"
    sources = {
        "comparator_um2": (
            f"synthesized: {tk}: {t.area_um2 / 1e6:.4f} mm^2 of standard cells x "
            f"{scaling.area:.4f} + {memory_kb:g} KB of buffers x {sram_mm2_per_kb} mm^2/KB, "
            f"/ {lanes} comparator lanes ({ENGINE_ARRAYS} arrays x {t.params['lanes']}); "
            f"{scaling.source}"
        ),
        "softmax_lane_um2": (
            f"synthesized: {pqs}: {p.area_um2 / 1e6:.4f} mm^2 of standard cells less the Q.K "
            f"dot product's {p.area_by_block['dot'] / 1e6:.4f}, x {scaling.area:.4f} (one "
            f"score a cycle: one lane; its score buffer left out); {scaling.source}"
        ),
        "topk_pj_per_key": (
            f"synthesized: {tk}, power from its bench's switching activity: "
            f"{t.energy_per_frame_j * 1e9:.3f} nJ per frame of "
            f"{topk.bench['operations_per_frame']:g} keys x {scaling.energy:.4f} (memories' "
            f"power left out); {scaling.source}"
        ),
        "softmax_pj_per_score": (
            f"synthesized: {pqs}, power from its bench's switching activity: "
            f"{p.energy_per_frame_j * 1e9:.3f} nJ per frame x {share:.3f} (the share outside "
            f"the dot product) / {pq.bench['operations_per_frame']:g} scores x "
            f"{scaling.energy:.4f}; {scaling.source}"
        ),
    }
    return UnitFigures(comparator, softmax_lane, topk_pj, softmax_pj, sources)
