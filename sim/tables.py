"""Text and markdown tables of simulation results (what the CLI prints, what reports embed)."""

from __future__ import annotations

from collections.abc import Sequence

from prunesim.sim.compare import CompareResult
from prunesim.sim.engine import SimResult

__all__ = ["format_compare", "format_result", "markdown_table", "text_table", "si"]


def si(value: float | None, unit: str = "", digits: int = 3) -> str:
    """``value`` with an SI prefix (``12.3 k``, ``4.56 m``); ``n/a`` for None."""
    if value is None:
        return "n/a"
    prefixes = [
        (1e12, "T"),
        (1e9, "G"),
        (1e6, "M"),
        (1e3, "k"),
        (1, ""),
        (1e-3, "m"),
        (1e-6, "u"),
        (1e-9, "n"),
        (1e-12, "p"),
    ]
    magnitude = abs(value)
    if magnitude == 0:
        return f"0 {unit}".rstrip()
    for scale, prefix in prefixes:
        if magnitude >= scale:
            return f"{value / scale:.{digits}g} {prefix}{unit}".rstrip()
    return f"{value:.{digits}g} {unit}".rstrip()


def ratio(value: float | None) -> str:
    return "n/a" if value is None else f"{value:.3g}x"


def text_table(header: Sequence[str], rows: Sequence[Sequence[str]], right: bool = True) -> str:
    """A fixed-width table; the first column is left-aligned, the others right-aligned."""
    widths = [max(len(str(row[i])) for row in [header, *rows]) for i in range(len(header))]

    def line(cells: Sequence[str]) -> str:
        parts = [
            str(cell).ljust(width) if i == 0 or not right else str(cell).rjust(width)
            for i, (cell, width) in enumerate(zip(cells, widths, strict=True))
        ]
        return "  ".join(parts).rstrip()

    return "\n".join([line(header), *(line(row) for row in rows)])


def markdown_table(header: Sequence[str], rows: Sequence[Sequence[str]]) -> str:
    lines = ["| " + " | ".join(header) + " |", "|" + "|".join("---" for _ in header) + "|"]
    lines += ["| " + " | ".join(str(cell) for cell in row) + " |" for row in rows]
    return "\n".join(lines)


def _count(value: float | None) -> str:
    return "n/a" if value is None else f"{value:.1f}".rstrip("0").rstrip(".")


def _density(value: float | None) -> str:
    return "n/a" if value is None else f"{value:.3g}"


def area(value: float | None) -> str:
    """An area in mm^2 (``18.7 mm^2``); ``n/a`` for None."""
    return "n/a" if value is None else f"{value:.3g} mm^2"


def _area_line(result: SimResult) -> list[str]:
    """``area ... static ...`` and the area by unit, when the target has the figures."""
    if result.area_mm2 is None and result.static_w is None:
        return []
    line = f"  area        {area(result.area_mm2)}, static power {si(result.static_w, 'W')}"
    lines = [line]
    if result.area_breakdown_mm2:
        parts = ", ".join(f"{name} {area(v)}" for name, v in result.area_breakdown_mm2.items())
        lines.append(f"              {parts}")
    return lines


def _percent(share: float | None) -> str:
    """A share as a whole percentage (``61%``); ``<1%`` for a small non-zero one."""
    if share is None:
        return "n/a"
    return "<1%" if 0 < share < 0.005 else f"{share:.0%}"


def bound_summary(time_by_unit: dict[str, float]) -> str:
    """``dram 61%, softmax 30%, ...``: the run's share of time per unit, largest first."""
    ranked = sorted(time_by_unit.items(), key=lambda item: -item[1])
    return ", ".join(f"{unit} {_percent(share)}" for unit, share in ranked)


def _roofline(label: str | None) -> str:
    return "n/a" if label is None else label.removesuffix("-bound")


def format_result(result: SimResult) -> str:
    """The totals, per-tensor bytes, energy breakdown, area and static power (where the target
    has them), the units that bound the run and the per-layer table (with each layer's bounding
    unit, its share of the layer's time and, where the target models DRAM bytes, the layer's
    roofline side) of one result."""
    lines = [
        f"{result.model} / {result.method} on {result.hardware}: {result.stage}, {result.mode}",
        f"  time        {si(result.seconds, 's')}  ({result.cycles:,.0f} cycles; roofline bound "
        f"{result.bound_cycles:,.0f})",
        f"  work        {si(result.macs)}MAC = {si(result.ops)}op, {si(result.ops_per_s, 'op/s')}",
        f"  DRAM        {si(result.dram_bytes, 'B')}",
    ]
    if result.dram_bytes_by_tensor:
        parts = ", ".join(
            f"{name} {si(value, 'B')}"
            for name, value in result.dram_bytes_by_tensor.items()
            if value
        )
        lines.append(f"              {parts}")
    if result.kv_cache_bytes is not None:
        lines.append(f"  KV cache    {si(result.kv_cache_bytes, 'B')} at the end of the stage")
    if result.memory_bytes is not None:
        lines.append(f"  memory      {si(result.memory_total_bytes, 'B')} kept by the stage")
        parts = ", ".join(f"{name} {si(value, 'B')}" for name, value in result.memory_bytes.items())
        lines.append(f"              {parts}")
    for name, value in result.extras.items():
        lines.append(f"  {name.replace('_', ' ')}: {value:,.6g}")
    lines.append(f"  energy      {si(result.energy_j, 'J')}")
    parts = ", ".join(
        f"{name} {si(value, 'J')}" for name, value in result.energy_breakdown_j.items() if value
    )
    lines.append(f"              {parts}")
    lines += _area_line(result)
    if result.time_by_unit:
        lines.append(f"  bound by    {bound_summary(result.time_by_unit)}")
    for note in result.notes:
        lines.append(f"  note: {note}")
    network = result.mode == "network"
    first = ["channels", "density"] if network else ["keys/query", "heads"]
    roofline = any(layer.roofline is not None for layer in result.layers)
    header = ["layer", *first, "cycles", "time", "DRAM", "MACs", "energy", "bound", "share"]
    header += ["roofline"] if roofline else []
    rows = [
        [
            layer.name,
            *(
                (_count(layer.channels), _density(layer.density))
                if network
                else (_count(layer.tokens), _count(layer.heads))
            ),
            f"{layer.cycles:,.0f}",
            si(layer.seconds, "s"),
            si(layer.dram_bytes, "B"),
            si(layer.macs),
            si(layer.energy_j, "J"),
            layer.bound or "n/a",
            _percent(layer.bound_share),
            *([_roofline(layer.roofline)] if roofline else []),
        ]
        for layer in result.layers
    ]
    lines += ["", text_table(header, rows)]
    return "\n".join(lines)


def compare_rows(cr: CompareResult) -> tuple[list[str], list[list[str]]]:
    """The matrix as rows; an ``area`` column when any target has one, a ``memory`` column
    (what a training step keeps) when any result models it."""
    header = ["method", "hardware", "time", "speedup", "DRAM", "DRAM cut", "energy", "energy cut"]
    with_area = any(e.result.area_mm2 is not None for e in cr.entries.values())
    if with_area:
        header.append("area")
    with_memory = any(e.result.memory_bytes is not None for e in cr.entries.values())
    if with_memory:
        header.append("memory")
    rows = []
    for (method, hardware), entry in cr.entries.items():
        r = entry.result
        row = [
            method,
            hardware,
            si(r.seconds, "s"),
            ratio(entry.speedup),
            si(r.dram_bytes, "B"),
            ratio(entry.dram_reduction),
            si(r.energy_j, "J"),
            ratio(entry.energy_saving),
        ]
        if with_area:
            row.append(area(r.area_mm2))
        if with_memory:
            row.append(si(r.memory_total_bytes, "B"))
        rows.append(row)
    return header, rows


def baseline_rows(
    cr: CompareResult, accelerators: Sequence[str]
) -> tuple[list[str], list[list[str]]]:
    header = ["method", "hardware"] + [f"vs {b}" for b in cr.baselines]
    rows = []
    for (method, hardware), entry in cr.entries.items():
        if hardware not in accelerators:
            continue
        cells = [method, hardware]
        for base in cr.baselines:
            vs = entry.vs_baselines[base]
            cells.append(f"{ratio(vs['speedup'])} / {ratio(vs['energy_saving'])}")
        rows.append(cells)
    return header, rows


def format_compare(cr: CompareResult, accelerators: Sequence[str]) -> str:
    """The techniques x hardware matrix, then the accelerators against every baseline."""
    header, rows = compare_rows(cr)
    lines = [
        f"{cr.model}: {cr.stage}, {cr.mode}",
        "speedup, DRAM cut and energy cut are against dense on the same hardware",
        "",
        text_table(header, rows),
    ]
    if cr.skipped:
        lines += ["", "left out: " + "; ".join(cr.skipped)]
    if cr.baselines and accelerators:
        header, rows = baseline_rows(cr, accelerators)
        lines += [
            "",
            "speedup / energy saving against the dense model on each baseline",
            "",
            text_table(header, rows),
        ]
    return "\n".join(lines)
