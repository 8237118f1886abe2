"""What the ASIC flow needs to know of a Liberty file's cells: area, leakage, pins, functions.

:func:`read_cells` reads the ``cell`` groups of a Liberty file (the subset of the format that
standard-cell libraries use: ``cell (name) { area : A; pin (P) { direction : D; function : "F";
... } ff (...) {...} }``); it is no general Liberty parser (no bus or bundle pins, no
``library``-level defaults). Tables are skipped unread.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from pathlib import Path

__all__ = ["BUFFER_LOAD_RATIO", "LibCell", "buffer_cell", "compile_function", "read_cells"]


@dataclass(frozen=True)
class LibCell:
    """A Liberty cell: ``area`` (the library's area unit, um^2 for sky130), ``leakage`` (the
    ``cell_leakage_power`` in the library's unit, ``None`` if absent), ``inputs`` and ``outputs``
    (pin names), ``functions`` (output pin -> its Boolean ``function``), ``sequential`` (the
    cell has an ``ff`` or ``latch`` group), ``capacitance`` (input pin -> its ``capacitance``,
    where given)."""

    name: str
    area: float
    leakage: float | None = None
    inputs: tuple[str, ...] = ()
    outputs: tuple[str, ...] = ()
    functions: dict[str, str] = field(default_factory=dict)
    sequential: bool = False
    capacitance: dict[str, float] = field(default_factory=dict)

    @property
    def is_buffer(self) -> bool:
        """One input, one output whose function is that input."""
        return (
            len(self.inputs) == 1
            and len(self.outputs) == 1
            and self.functions.get(self.outputs[0], "").strip().strip("()") == self.inputs[0]
        )


def read_cells(path: str | Path) -> dict[str, LibCell]:
    """The cells of the Liberty file ``path`` by name, read with
    :func:`prunesim.synth.liberty.parse.parse_liberty`. ``ValueError`` naming the file when it
    holds no cell or a cell has no ``area``."""
    from prunesim.synth.liberty.parse import parse_liberty

    library = parse_liberty(Path(path).read_text())
    cells: dict[str, LibCell] = {}
    for cell in library.all("cell"):
        if "area" not in cell.attrs:
            raise ValueError(f"{path}: cell {cell.name} has no area")
        pins = cell.all("pin")
        inputs = [pin for pin in pins if pin.attrs.get("direction") == "input"]
        outputs = [pin for pin in pins if pin.attrs.get("direction") == "output"]
        leakage = cell.attrs.get("cell_leakage_power")
        cells[cell.name] = LibCell(
            name=cell.name,
            area=float(cell.attrs["area"]),
            leakage=None if leakage is None else float(leakage),
            inputs=tuple(pin.name for pin in inputs),
            outputs=tuple(pin.name for pin in outputs),
            functions={p.name: p.attrs["function"] for p in outputs if "function" in p.attrs},
            sequential=any(g.kind in ("ff", "latch") for g in cell.groups),
            capacitance={
                p.name: float(p.attrs["capacitance"]) for p in inputs if "capacitance" in p.attrs
            },
        )
    if not cells:
        raise ValueError(f"{path}: no cell groups (not a Liberty file?)")
    return cells


#: The fanout step's buffer may load its driver with at most this many times the input
#: capacitance of the library's lightest buffer.
BUFFER_LOAD_RATIO = 2.0


def buffer_cell(cells: dict[str, LibCell]) -> LibCell:
    """The buffer the fanout step uses: the largest (strongest) buffer whose input capacitance
    is at most :data:`BUFFER_LOAD_RATIO` times the lightest buffer's (a tree of them loads each
    driver with ``max_fanout`` such inputs; sky130_fd_sc_hd: ``buf_4``, whose input stage is
    small, not ``buf_16``); the largest buffer when the library gives no capacitance.
    ``ValueError`` when the library has none."""
    buffers = [cell for cell in cells.values() if cell.is_buffer]
    if not buffers:
        raise ValueError("the Liberty file has no buffer cell (one input, function = input)")
    caps = {cell.name: cell.capacitance.get(cell.inputs[0]) for cell in buffers}
    if all(cap is not None for cap in caps.values()):
        lightest = min(caps.values())
        buffers = [c for c in buffers if caps[c.name] <= BUFFER_LOAD_RATIO * lightest]
    return max(buffers, key=lambda cell: (cell.area, cell.name))


_TOKEN = re.compile(r"\s*([A-Za-z_][A-Za-z0-9_\[\]]*|[01]|[!'&*|+^()]|\S)")


def compile_function(expr: str, inputs: tuple[str, ...]):
    """A Liberty ``function`` string as a Python function of a tuple of input values (in
    ``inputs`` order) returning 0 or 1. Operators: ``!`` and postfix ``'`` (not), ``&``, ``*``
    and juxtaposition (and), ``^`` (xor), ``|`` and ``+`` (or), in that precedence.
    ``ValueError`` naming the expression when it names an unknown pin or does not parse."""
    tokens = [t for t in _TOKEN.findall(expr) if t.strip()]
    pos = 0

    def peek() -> str | None:
        return tokens[pos] if pos < len(tokens) else None

    def take() -> str:
        nonlocal pos
        pos += 1
        return tokens[pos - 1]

    def primary():
        tok = take()
        if tok == "!":
            inner = primary()
            return lambda v: 1 - inner(v)
        if tok == "(":
            inner = parse_or()
            if take() != ")":
                raise ValueError(f"unbalanced parentheses in Liberty function {expr!r}")
            node = inner
        elif tok in ("0", "1"):
            const = int(tok)
            node = lambda v: const  # noqa: E731
        elif tok in inputs:
            index = inputs.index(tok)
            node = lambda v: v[index]  # noqa: E731
        else:
            raise ValueError(f"Liberty function {expr!r}: unknown pin or token {tok!r}")
        while peek() == "'":
            take()
            node = (lambda n: lambda v: 1 - n(v))(node)
        return node

    def parse_and():
        node = primary()
        while peek() is not None and peek() not in ("|", "+", "^", ")"):
            if peek() in ("&", "*"):
                take()
            right = primary()
            node = (lambda a, b: lambda v: a(v) & b(v))(node, right)
        return node

    def parse_xor():
        node = parse_and()
        while peek() == "^":
            take()
            right = parse_and()
            node = (lambda a, b: lambda v: a(v) ^ b(v))(node, right)
        return node

    def parse_or():
        node = parse_xor()
        while peek() in ("|", "+"):
            take()
            right = parse_xor()
            node = (lambda a, b: lambda v: a(v) | b(v))(node, right)
        return node

    if not tokens:
        raise ValueError(f"empty Liberty function {expr!r}")
    result = parse_or()
    if pos != len(tokens):
        raise ValueError(f"Liberty function {expr!r}: unexpected {tokens[pos]!r}")
    return result
