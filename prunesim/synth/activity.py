"""Switching activity of a simulation, from its VCD waveform: toggles per clock cycle per net.

:func:`activity_from_vcd` reads a VCD file (Verilator's ``--trace``, what ``prunesim bench
topk|pq --waves`` leaves, or Icarus' ``$dumpvars``) in one streaming pass and returns an
:class:`Activity`: for every bit of every dumped variable, its toggles per clock cycle (0 -> 1
and 1 -> 0 transitions between known values; changes to or from ``x``/``z`` are not toggles)
and the fraction of the time it was 1, over the whole dump (reset and idle cycles included), and
the clock cycles (rising edges of ``clock``).

Names are the RTL hierarchy below the design's top scope (of the scopes that declare the clock,
the one with the most variables below it), joined by ``.``, with the bit index for vectors:
``keep_elim.o_sums[3]``, as Yosys names the flattened design's nets
(:class:`prunesim.synth.netlist.Netlist`), so a synthesized netlist's register outputs and ports
find theirs.
"""

from __future__ import annotations

import re
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from pathlib import Path

__all__ = ["Activity", "activity_from_vcd"]


@dataclass(frozen=True)
class Activity(Mapping[str, float]):
    """Per-bit switching activity: a read-only mapping RTL bit name -> toggles per clock cycle
    (``rates``), with ``duty`` (name -> fraction of the time at 1), ``cycles`` (clock cycles
    dumped), ``source`` (``"vcd: <file>"``) and ``frames`` (the frames the simulation ran,
    when known: then ``cycles / frames`` is the cycles per frame)."""

    rates: dict[str, float]
    duty: dict[str, float] = field(default_factory=dict)
    cycles: int = 0
    source: str = ""
    frames: int | None = None

    def __getitem__(self, name: str) -> float:
        return self.rates[name]

    def __iter__(self) -> Iterator[str]:
        return iter(self.rates)

    def __len__(self) -> int:
        return len(self.rates)

    def with_frames(self, frames: int) -> Activity:
        """The same activity with ``frames`` set; ``ValueError`` unless it is positive."""
        if not isinstance(frames, int) or frames < 1:
            raise ValueError(f"frames must be a positive integer, not {frames!r}")
        return Activity(self.rates, self.duty, self.cycles, self.source, frames)


@dataclass
class _Var:
    """One VCD identifier: its bit names (index 0 = least significant bit) and its running
    state."""

    names: list[list[str]]  # per bit (LSB first), every name the bit has
    width: int
    value: int = 0
    known: int = 0
    toggles: list[int] = field(default_factory=list)
    ones: list[int] = field(default_factory=list)
    since: list[int] = field(default_factory=list)


_RANGE = re.compile(r"^\[(-?\d+)(?::(-?\d+))?\]$")


def _bit_names(name: str, width: int, rng: str | None) -> list[str]:
    """Names of a variable's bits, LSB first: ``name`` for one bit without a range, else
    ``name[i]`` with ``i`` from the declared range (``[7:0]`` by default)."""
    if rng is None:
        if width == 1:
            return [name]
        msb, lsb = width - 1, 0
    else:
        match = _RANGE.match(rng)
        if match is None:
            raise ValueError(f"bad VCD range {rng!r} of {name}")
        msb = int(match[1])
        lsb = int(match[2]) if match[2] is not None else msb
    step = 1 if msb >= lsb else -1
    indices = list(range(lsb, msb + step, step))
    if len(indices) != width:
        raise ValueError(f"VCD variable {name}: range {rng} does not match width {width}")
    return [f"{name}[{i}]" for i in indices]


def _parse_vector(text: str, width: int) -> tuple[int, int]:
    """``(value, known mask)`` of a VCD vector value (MSB first; padded on the left with 0, or
    with ``x``/``z`` when the leftmost digit is one)."""
    if len(text) < width:
        pad = text[0] if text[0] in "xXzZ" else "0"
        text = pad * (width - len(text)) + text
    text = text[-width:]
    value = int(text.translate(_TO_VALUE), 2)
    known = int(text.translate(_TO_KNOWN), 2)
    return value, known


_TO_VALUE = str.maketrans("01xXzZ", "010000")
_TO_KNOWN = str.maketrans("01xXzZ", "110000")


def activity_from_vcd(
    path: str | Path, clock: str = "clk", frames: int | None = None, top: str | None = None
) -> Activity:
    """The switching activity of the VCD file ``path`` (module docstring); ``clock``: the clock's
    name in the top scope; ``frames``: the frames the simulation ran, if known; ``top``: the
    design's top scope name (default: of the scopes that declare ``clock``, the one with the
    most variables below it: Verilator puts the design beside a ``$rootio`` scope of its ports).

    ``ValueError`` naming the file when it declares no variable ``clock``, when the clock never
    rises, or when it is not a VCD file."""
    path = Path(path)
    with open(path, errors="replace") as stream:
        variables, clock_id = _read_header(stream, path, clock, top)
        cycles, first, last = _read_changes(stream, variables, clock_id)
    if cycles == 0:
        raise ValueError(f"{path}: the clock {clock!r} never rises")
    span = max(last - first, 1)
    rates: dict[str, float] = {}
    duty: dict[str, float] = {}
    for var in variables.values():
        for i in range(var.width):
            ones = var.ones[i]
            if (var.value >> i) & 1 and (var.known >> i) & 1:
                ones += last - var.since[i]
            for name in var.names[i]:
                rates[name] = var.toggles[i] / cycles
                duty[name] = ones / span
    return Activity(rates, duty, cycles, f"vcd: {path}", frames)


def _tokens(stream) -> Iterator[str]:
    for line in stream:
        yield from line.split()


def _read_header(stream, path: Path, clock: str, top: str | None) -> tuple[dict[str, _Var], str]:
    """Read declarations up to ``$enddefinitions``: the variables by identifier (names relative
    to the top scope) and the clock's identifier."""
    scopes: list[str] = []
    declared: list[tuple[list[str], str, int, str, str | None]] = []
    tokens = _tokens(stream)
    for token in tokens:
        if token == "$scope":
            _kind, name = next(tokens), next(tokens)
            scopes.append(name.lstrip("\\"))
        elif token == "$upscope":
            scopes.pop()
        elif token == "$var":
            words = []
            for word in tokens:
                if word == "$end":
                    break
                words.append(word)
            if len(words) < 4:
                raise ValueError(f"{path}: bad $var declaration {' '.join(words)!r}")
            _kind, width, ident, name, *rest = words
            rng = "".join(rest) or None
            declared.append((list(scopes), ident, int(width), name.lstrip("\\"), rng))
            continue
        elif token == "$enddefinitions":
            break
        if token.startswith("$") and token not in ("$scope", "$upscope", "$var"):
            # skip the body of $date, $version, $timescale, $comment ...
            if token != "$end":
                for word in tokens:
                    if word == "$end":
                        break
        elif token in ("$scope", "$upscope"):
            for word in tokens:
                if word == "$end":
                    break
    else:
        raise ValueError(f"{path}: no $enddefinitions (not a VCD file?)")
    clocks = [d for d in declared if d[3] == clock and d[2] == 1]
    if top is not None:
        clocks = [d for d in clocks if d[0] and d[0][-1] == top]
    if not clocks:
        where = "" if top is None else f" in a scope {top!r}"
        raise ValueError(f"{path}: no 1-bit variable named {clock!r} (the clock){where}")

    def below(scope: list[str]) -> int:
        return sum(1 for d in declared if d[0][: len(scope)] == scope)

    chosen = min(clocks, key=lambda d: (-below(d[0]), len(d[0])))
    root, clock_id = chosen[0], chosen[1]
    variables: dict[str, _Var] = {}
    for scope, ident, width, name, rng in declared:
        if scope[: len(root)] != root:
            continue
        prefix = ".".join(scope[len(root) :])
        full = f"{prefix}.{name}" if prefix else name
        bits = _bit_names(full, width, rng)
        var = variables.get(ident)
        if var is None:
            variables[ident] = _Var(
                names=[[b] for b in bits],
                width=width,
                toggles=[0] * width,
                ones=[0] * width,
                since=[0] * width,
            )
        else:
            for i, b in enumerate(bits[: var.width]):
                var.names[i].append(b)
    return variables, clock_id


def _read_changes(stream, variables: dict[str, _Var], clock_id: str) -> tuple[int, int, int]:
    """Apply every value change; return ``(rising clock edges, first time, last time)``."""
    now = first = 0
    seen_time = False
    cycles = 0
    clock = variables[clock_id]
    for line in stream:
        line = line.strip()
        if not line:
            continue
        head = line[0]
        if head == "#":
            now = int(line[1:])
            if not seen_time:
                first, seen_time = now, True
            continue
        if head in "bB":
            text, _, ident = line[1:].partition(" ")
            var = variables.get(ident.strip())
            if var is None:
                continue
            value, known = _parse_vector(text, var.width)
        elif head in "01xXzZ":
            var = variables.get(line[1:].strip())
            if var is None:
                continue
            value = 1 if head == "1" else 0
            known = 1 if head in "01" else 0
        else:  # $dumpvars, $end, real values ...
            continue
        if var is clock and value & known and not (clock.value & clock.known):
            cycles += 1
        changed = (var.value ^ value) | (var.known ^ known)
        toggled = (var.value ^ value) & var.known & known
        while changed:
            low = changed & -changed
            i = low.bit_length() - 1
            if (var.value >> i) & 1 and (var.known >> i) & 1:
                var.ones[i] += now - var.since[i]
            var.since[i] = now
            if toggled & low:
                var.toggles[i] += 1
            changed ^= low
        var.value, var.known = value, known
    return cycles, first, now
