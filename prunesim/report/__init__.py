"""``prunesim report``: a markdown page with tables and figures, built from independent sections.

A section is a function ``build(ctx) -> str`` that returns its markdown and saves its figures
and data through the :class:`ReportContext`; :data:`SECTIONS` lists them in page order. A
section prices through ``ctx.runs`` (one memo of simulations per report, nothing cached at
module level) and draws with :func:`prunesim.report.figures.pyplot`. A later method adds its
own module with its own section(s) and one entry in :data:`SECTIONS`, touching no other
section. Output is deterministic (no dates, fixed figure metadata) and written all or nothing
(:func:`write_report`).
"""

from __future__ import annotations

import importlib
import json
from collections.abc import Callable, Hashable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any, TypeVar

from prunesim.files import recover_staged, staged_dirs

if TYPE_CHECKING:
    from prunesim.sim.runs import Runs

__all__ = ["OWNED", "SECTIONS", "ReportContext", "Section", "check_sections", "write_report"]

T = TypeVar("T")


@dataclass(frozen=True)
class Section:
    """A report section: ``module:function`` is imported only when the section is built."""

    key: str
    title: str
    target: str  # "prunesim.report.spatten:ablation"
    summary: str

    def build(self, ctx: ReportContext) -> str:
        module, _, function = self.target.partition(":")
        return getattr(importlib.import_module(module), function)(ctx)


#: Sections in page order (``prunesim report --sections`` picks some).
SECTIONS: tuple[Section, ...] = (
    Section("rtl", "RTL blocks", "prunesim.report.rtl:blocks", "Verilog of the default blocks"),
    Section(
        "synth",
        "RTL: area, Fmax, power",
        "prunesim.report.rtl:synthesis",
        "the blocks synthesized (ECP5, sky130 ASIC), the SpAtten file's units from them, "
        "Batcher sorter vs top-k engine",
    ),
    Section(
        "paper",
        "SpAtten: ours beside the paper",
        "prunesim.report.spatten:paper",
        "each published figure of SpAtten beside the simulator's",
    ),
    Section(
        "ablation",
        "SpAtten: each technique's own gain",
        "prunesim.report.spatten:ablation",
        "DRAM, speed and energy of each technique alone, on BERT and GPT-2",
    ),
    Section(
        "energy",
        "SpAtten: where the energy goes",
        "prunesim.report.spatten:energy",
        "energy breakdown of dense and SpAtten",
    ),
    Section(
        "schedule",
        "SpAtten: per-layer token and head schedule",
        "prunesim.report.spatten:schedule",
        "tokens and heads kept per layer, schedule and released trace",
    ),
    Section(
        "baselines",
        "SpAtten against GPUs, CPUs and other accelerators",
        "prunesim.report.spatten:baselines",
        "speedup and energy saving over every baseline",
    ),
    Section(
        "roofline",
        "Roofline",
        "prunesim.report.spatten:roofline",
        "every workload on the rooflines of SpAtten and the TITAN Xp",
    ),
    Section(
        "catp",
        "CATP: image tokens of in-context demonstrations",
        "prunesim.report.lvlm:catp",
        "CATP's schedule, its gains per hardware, ours beside the paper",
    ),
    Section(
        "vflowopt",
        "VFlowOpt: three-stage visual token pruning",
        "prunesim.report.lvlm:vflowopt",
        "VFlowOpt's released schedules, gains per hardware, mean retention beside the paper",
    ),
    Section(
        "aim",
        "AIM: token merging and in-LLM pruning",
        "prunesim.report.lvlm:aim",
        "AIM's schedule, gains per hardware, ours beside the paper",
    ),
    Section(
        "lapp",
        "LAPP: output channels under a FLOPs budget",
        "prunesim.report.lapp:lapp",
        "LAPP's per-layer channels, gains per hardware, its FLOPs cut beside the paper",
    ),
    Section(
        "fedtiny",
        "FedTiny: sparse CNNs for federated clients",
        "prunesim.report.fedtiny:fedtiny",
        "ERK and uniform densities, what sparse support buys, a client's round",
    ),
    Section(
        "supertickets",
        "SuperTickets: a slimmed, sparse HR-NAS supernet",
        "prunesim.report.supertickets:supertickets",
        "slimmed widths and densities, gains per hardware, a sparsity sweep",
    ),
    Section(
        "ofa",
        "Once-for-All: sub-nets of the MobileNetV3 supernet",
        "prunesim.report.ofa:ofa",
        "published sub-nets' MACs beside ours, their latency per hardware, MACs vs latency",
    ),
    Section(
        "sara",
        "SaRA: the memory of fine-tuning the SD 1.5 UNet",
        "prunesim.report.sara:sara",
        "memory by part and step time of full fine-tuning, LoRA and SaRA",
    ),
)


def _fresh_runs() -> Runs:
    from prunesim.sim.runs import Runs  # the simulator is imported when a section needs it

    return Runs()


@dataclass
class ReportContext:
    """Where a section writes: ``out`` (the report folder) and ``build`` (generated sources),
    and what the sections of one report share.

    :meth:`figure` saves a matplotlib figure as ``figures/<name>.png`` and returns the markdown
    that shows it; :meth:`data` saves JSON as ``data/<name>.json``; :meth:`write` saves a
    generated source under ``build``. Files are kept in memory (:attr:`staged`) and put in place
    by :func:`write_report` once every section has succeeded.

    ``runs`` prices each simulation once for this report (sections ask it, never the simulator
    directly, for a result another section may also need); :meth:`memo` keeps any other value a
    report computes once (the paper reproduction). Both live and die with the context: two
    reports share nothing, and results handed out are to be read, not modified.
    """

    out: Path
    build: Path
    progress: Callable[[str], None] = lambda label: None
    staged: dict[Path, bytes] = field(default_factory=dict)
    runs: Runs = field(default_factory=_fresh_runs)
    memos: dict[Hashable, Any] = field(default_factory=dict)

    def memo(self, key: Hashable, compute: Callable[[], T]) -> T:
        """``compute()``, called the first time ``key`` is asked for, remembered after."""
        if key not in self.memos:
            self.memos[key] = compute()
        return self.memos[key]

    def figure(self, name: str, fig: Any, alt: str) -> str:
        import io

        import matplotlib.pyplot as plt

        buffer = io.BytesIO()
        fig.savefig(buffer, format="png", dpi=110, bbox_inches="tight", metadata={"Software": None})
        plt.close(fig)
        self.staged[self.out / "figures" / f"{name}.png"] = buffer.getvalue()
        return f"![{alt}](figures/{name}.png)"

    def data(self, name: str, value: Any) -> str:
        text = json.dumps(value, indent=1, sort_keys=True, default=float) + "\n"
        self.staged[self.out / "data" / f"{name}.json"] = text.encode()
        return f"data/{name}.json"

    def write(self, path: Path, text: str) -> None:
        """Stage ``text`` for ``path`` (e.g. generated Verilog under ``build``)."""
        self.staged[path] = text.encode()


#: The entries of the report folder that a report replaces whole (the rest is left alone).
OWNED: tuple[str, ...] = ("report.md", "figures", "data")


def check_sections(keys: Sequence[str] | None) -> list[Section]:
    """The sections named ``keys``, in that order (all for None).

    ValueError names the problem: no section at all, an empty name, an unknown one, one named
    twice."""
    if keys is None:
        return list(SECTIONS)
    known = {section.key: section for section in SECTIONS}
    choices = f"choose from {', '.join(known)}"
    keys = list(keys)
    if not keys:
        raise ValueError(f"no section chosen ({choices})")
    for key in keys:
        if not key:
            raise ValueError(f"empty section name ({choices})")
    unknown = [key for key in keys if key not in known]
    if unknown:
        raise ValueError(f"unknown section {unknown[0]!r} ({choices})")
    for index, key in enumerate(keys):
        if key in keys[:index]:
            raise ValueError(f"section {key!r} chosen twice")
    return [known[key] for key in keys]


def write_report(
    out: Path,
    build: Path,
    sections: Sequence[str] | None = None,
    on_section: Callable[[str], None] | None = None,
    on_step: Callable[[str], None] | None = None,
) -> list[Path]:
    """Build the sections, then write ``out/report.md``, its figures and data, and the generated
    sources under ``build``; return the paths written.

    ``on_section(title)`` is called before each section, ``on_step(label)`` for progress inside
    one. Raises ValueError for bad ``sections`` (:func:`check_sections`) before any work.

    All or nothing (:func:`prunesim.files.staged_dirs`): the report owns ``out``'s
    :data:`OWNED` entries and the files it writes under ``build`` (``verilog/<block>.v``). After
    success they are exactly the new ones: ``figures/`` and ``data/`` are replaced whole, so
    files of an earlier report that this one does not write are gone (a report whose sections
    draw no figure has no ``figures/``). On any exception (a failing
    section, an ``OSError``, ``KeyboardInterrupt``) they are exactly as before, and no temporary
    folder is left. Other files in ``out`` and ``build`` are never touched. What an earlier run
    left half-swapped by a crash is rolled back first (:func:`prunesim.files.recover_staged`).
    """
    chosen = check_sections(sections)
    for entry in OWNED:
        if build.resolve().is_relative_to((out / entry).resolve()):
            raise ValueError(
                f"the build folder {build} lies inside {out / entry}, which the report replaces"
            )
    recover_staged(out)
    recover_staged(build)
    ctx = ReportContext(out=out, build=build, progress=on_step or (lambda label: None))
    parts = [
        "# prunesim report",
        "",
        "Written by `prunesim report`. Every figure comes from the simulator's model "
        "(`prunesim.sim`), the hardware files it names (`sim/hardware/*.yaml`, each number with "
        "its source) and the figures the papers publish (SpAtten: Wang, Zhang, Han, HPCA 2021; "
        "each section names its paper); the commands under each table reproduce it.",
        "",
        "Contents: " + ", ".join(f"[{s.title}](#{_anchor(s.title)})" for s in chosen),
        "",
    ]
    for section in chosen:
        if on_section is not None:
            on_section(section.title)
        parts += [f"## {section.title}", "", section.build(ctx).rstrip(), ""]
    ctx.staged[out / "report.md"] = "\n".join(parts).encode()
    owned: dict[Path, list[str]] = {out: list(OWNED)}
    placed = {}  # staged path -> (folder, path in it)
    for path in ctx.staged:
        if _in_report(path, out):
            placed[path] = (out, path.relative_to(out).as_posix())
        elif path.is_relative_to(build):
            placed[path] = (build, path.relative_to(build).as_posix())
            owned.setdefault(build, []).append(placed[path][1])
        else:
            raise ValueError(f"a report section wrote {path}, outside {out} and {build}")
    with staged_dirs(owned) as stage:
        for path, (folder, entry) in placed.items():
            target = stage[folder] / entry
            target.parent.mkdir(parents=True, exist_ok=True)
            target.write_bytes(ctx.staged[path])
    return sorted(ctx.staged)


def _in_report(path: Path, out: Path) -> bool:
    """Whether ``path`` is one of the report's own files (under an :data:`OWNED` entry)."""
    return path.is_relative_to(out) and path.relative_to(out).parts[:1] in [(e,) for e in OWNED]


def _anchor(title: str) -> str:
    keep = "".join(c for c in title.lower() if c.isalnum() or c in " -")
    return keep.replace(" ", "-")
