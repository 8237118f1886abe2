"""The hardware file format: YAML read node by node, every problem reported as ``file:line``.

This module knows the *format* and no kind of hardware: a kind (a cost model of
:mod:`prunesim.sim.costs`) declares its fields as a :data:`Layout` of :class:`Field` and
:class:`MappingField` entries, and :func:`read_hardware` fills that kind's dataclass from a file.
:mod:`prunesim.sim.hardware` finds the files and the kinds.

File format
-----------
A YAML mapping. Every file has ``name`` (text), ``kind`` (one of the registered kinds),
``description`` (text) and may have ``sources`` (a mapping of notes, each a text: facts kept for
comparison, e.g. a paper's reported power). The other fields are the kind's layout: a YAML key
maps to a scalar field (:class:`Field`), a group of fields (a nested layout) or a mapping of
named numbers (:class:`MappingField`, e.g. ``latency_cycles.qk``).

Values and sources. A number may be written plain (``channels: 16``) or with its source
(``channels: {value: 16, source: "..."}``); a group (``dram:``, ``sram:`` ...) may carry one
``source:`` for all its fields. An energy table is ``{points: {size: pJ, ...}, scaling:
quadratic|linear|log, source: "..."}``, and a ``cited`` field (``energy.dram_pj_per_bit``) must
be written with its source: energy entries without a source are refused. Every source given ends
up in the dataclass's ``sources`` mapping, keyed by dataclass field name (``dram_channels``, and
``latency_cycles.qk``, ``peak_tflops.fp32`` for entries of a mapping), beside the notes of the
file's own ``sources:``.

Numbers. YAML 1.1 (PyYAML's) reads a number with an exponent as a number only when it has a
decimal point and a signed exponent: ``1.0e+9``, ``1.e+9``, ``2.5e-3`` are numbers, ``1e9``,
``1.0e9``, ``1e+9`` are text (refused, with the spelling that reads as a number).

Ranges. Every number of a layout declares its physical range with its field (a :class:`Range`,
one per unit below): wide enough for any real device, with headroom, and narrow enough that every
cost model gives finite results at every corner of the ranges (a test prices workloads at their
ends; a bandwidth of 1e-300 GB/s would give infinite cycles, a 10^20-row array overflow int64):

=======================  ======================  ==================================================
unit (field names)       range                   why these ends
=======================  ======================  ==================================================
``_ghz`` clock           0.001 .. 100            1 MHz (a microcontroller) .. about 15x the fastest
                                                 CMOS clocks (about 6 GHz)
``_gb_per_s`` bandwidth  0.001 .. 1e8            1 MB/s (serial flash) .. 100 PB/s (5x a wafer-scale
                                                 chip's 21 PB/s on-chip SRAM bandwidth)
counts (multipliers,     1 .. 2**20 (1048576)    one unit .. a million units per array or memory
softmax lanes, array
rows and columns, DRAM
channels)
``_bits`` widths         1 .. 4096               one bit .. a 512-byte SRAM read
``_bytes`` (transaction) 1 .. 2**20              one byte .. 1 MiB per DRAM transaction
``_kb`` SRAM capacity    0.001 .. 1e8            one byte .. 100 GB (2x a wafer-scale chip's 44 GB)
``_pj`` energy           1e-6 .. 1e6             1 aJ (350x the Landauer limit at 300 K) .. 1 uJ
                                                 per bit or operation
``latency_cycles``       0 .. 2**20              no fill .. a million cycles of pipeline fill
``_us`` overhead         0.001 .. 1e6            1 ns .. 1 s per kernel
``_w`` power             0.001 .. 1e6            1 mW .. 1 MW
``_tflops`` peak         1e-6 .. 1e6             1 MFLOP/s .. 1 EFLOP/s
``gops`` throughput      0.001 .. 1e9            1 MOP/s .. 1 EOP/s
``gops_per_j``           0.001 .. 1e9            1 uJ .. 1 aJ per operation (the ``_pj`` range)
``_um2`` area of a unit  0.001 .. 1e9            a thousandth of a 40 nm SRAM bit cell .. 1000 mm^2
                                                 (more than a reticle, about 850 mm^2)
``_mm2`` area            0.001 .. 1e5            a few gates .. 2x a wafer-scale chip's 46,225 mm^2
``_mm2_per_kb``          1e-6 .. 1               SRAM density: 1 GB/mm^2 .. 1 KB/mm^2 (6T SRAM at
                                                 40 nm is about 0.005-0.01 mm^2 per KB)
``_uw`` static power     1e-6 .. 1e9             1 pW .. 1 kW per unit or per KB
``_mw`` static power     1e-6 .. 1e9             1 nW .. 1 MW (a fixed part)
=======================  ======================  ==================================================

A kind may declare a narrower range where its model needs one (the accelerator's
``topk.comparators``: 1 .. 1024, its latency model costing O(comparators)). An energy table's
points are bounded too: sizes by their unit (``_bits`` for multiply and add widths, ``_kb`` for
SRAM capacities), energies by ``_pj``. A field that declares no range (a kind written
elsewhere) gets :data:`ANY` (1e-6 .. 1e9).

Optional groups and fields. A kind may declare a group of its layout optional
(:class:`OptionalGroup`, e.g. the ``area:`` and ``static:`` figures): a file without it loads,
and every field of the group is None; a file with it must give all its fields. A scalar field
may be optional on its own (``Field(..., optional=True)``, e.g. the accelerator's
``energy.softmax_pj_per_score``), at any depth: a file without it loads with the field None; a
file with it is checked as for any field (a ``cited`` one must name its source).

Validation. Every field must be present and of its type; numbers positive and finite (a mapping
field may allow zero), within their range; integers integral; unknown fields are refused with a
suggestion (typos); collections nest at most :data:`MAX_DEPTH` levels (checked while composing,
whatever the interpreter's recursion limit); nothing is evaluated (YAML is composed with the safe
loader, which knows no Python tags). Errors are :class:`HardwareError` with the message
``file:line: field: problem``, e.g. ``file:line: field: must be between LOW and HIGH, not VALUE``.
"""

from __future__ import annotations

import difflib
import math
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any, NoReturn

import yaml

__all__ = [
    "ANY",
    "BITS",
    "BYTES",
    "CLOCK_GHZ",
    "COUNT",
    "CYCLES",
    "GB_PER_S",
    "GOPS",
    "GOPS_PER_J",
    "AREA_MM2",
    "AREA_UM2",
    "MAX_DEPTH",
    "MM2_PER_KB",
    "STATIC_MW",
    "STATIC_UW",
    "OVERHEAD_US",
    "PJ",
    "POWER_W",
    "SRAM_KB",
    "TFLOPS",
    "EnergyTable",
    "Field",
    "HardwareError",
    "Layout",
    "MappingField",
    "OptionalGroup",
    "Range",
    "Reader",
    "ValueProblem",
    "boolean_value",
    "choice_value",
    "field_value",
    "layout_paths",
    "number_value",
    "read_hardware",
    "scalar_text",
]


_SCALINGS = ("quadratic", "linear", "log")
_PLAIN_TAGS = ("tag:yaml.org,2002:map", "tag:yaml.org,2002:seq")


class HardwareError(ValueError):
    """A hardware file or name that cannot be used; the message names the file, line and field."""


@dataclass(frozen=True)
class Range:
    """The closed interval ``[low, high]`` a number of a hardware file must lie in."""

    low: float
    high: float

    def __contains__(self, value: float) -> bool:
        return self.low <= value <= self.high

    def describe(self) -> str:
        """``"LOW and HIGH"`` as messages show it (integers in full up to 2**24)."""
        return f"{_bound(self.low)} and {_bound(self.high)}"


def _bound(value: float) -> str:
    if float(value).is_integer() and abs(value) <= 2**24:
        return str(int(value))
    return f"{value:g}"


# The physical ranges, one per unit (the module docstring's table says why each end).
#: Clock frequency in GHz: 1 MHz .. 100 GHz.
CLOCK_GHZ = Range(1e-3, 100.0)
#: Bandwidth in GB/s (10^9 bytes/s): 1 MB/s .. 100 PB/s.
GB_PER_S = Range(1e-3, 1e8)
#: A count of units (multipliers, lanes, comparators, array rows and columns, DRAM channels).
COUNT = Range(1, 2**20)
#: A width in bits (operands, SRAM words and reads, CSR indices and pointers; table sizes).
BITS = Range(1, 4096)
#: A size in bytes (a DRAM transaction).
BYTES = Range(1, 2**20)
#: An SRAM capacity in KB: one byte .. 100 GB (also the sizes of an SRAM energy table).
SRAM_KB = Range(1e-3, 1e8)
#: Energy per bit or operation in pJ: 1 aJ .. 1 uJ.
PJ = Range(1e-6, 1e6)
#: Pipeline fill in cycles (zero allowed).
CYCLES = Range(0, 2**20)
#: A per-kernel overhead in microseconds: 1 ns .. 1 s.
OVERHEAD_US = Range(1e-3, 1e6)
#: Power in watts: 1 mW .. 1 MW.
POWER_W = Range(1e-3, 1e6)
#: Peak compute in TFLOP/s (tera-ops for integers): 1 MFLOP/s .. 1 EFLOP/s.
TFLOPS = Range(1e-6, 1e6)
#: Throughput in GOP/s: 1 MOP/s .. 1 EOP/s.
GOPS = Range(1e-3, 1e9)
#: Energy efficiency in GOP/J: 1 uJ .. 1 aJ per operation (the range of :data:`PJ`).
GOPS_PER_J = Range(1e-3, 1e9)
#: The area of one unit (a multiplier, a processing element) in um^2: 0.001 um^2 .. 1000 mm^2.
AREA_UM2 = Range(1e-3, 1e9)
#: An area in mm^2 (a design's fixed part).
AREA_MM2 = Range(1e-3, 1e5)
#: SRAM area per KB in mm^2: 1 GB/mm^2 .. 1 KB/mm^2.
MM2_PER_KB = Range(1e-6, 1.0)
#: Static power of one unit (or one KB of SRAM) in uW: 1 pW .. 1 kW.
STATIC_UW = Range(1e-6, 1e9)
#: Static power of a fixed part in mW: 1 nW .. 1 MW.
STATIC_MW = Range(1e-6, 1e9)
#: The range of a number whose field declares none.
ANY = Range(1e-6, 1e9)
#: The deepest nesting of collections (mappings, lists) a file may have; the format needs 4
#: (``energy.mult_pj.points``, a value with its source one more).
MAX_DEPTH = 32


@dataclass(frozen=True)
class EnergyTable:
    """Energy of one operation as a function of a size, interpolated between cited points.

    ``points`` maps a size (bits of an operand, or KB of an SRAM) to picojoules; ``scaling`` says
    how to interpolate and extrapolate: ``"quadratic"`` (energy proportional to size squared, for
    multipliers: fitted to the nearest point), ``"linear"`` (proportional to size, for adders),
    ``"log"`` (linear in log(size), for SRAM reads by capacity). ``source`` cites the points.

    Contract of a call: a size that is a point returns that point exactly. ``quadratic`` and
    ``linear`` scale the point nearest in ratio (``|log(point / size)|``, the smaller point on a
    tie). ``log`` interpolates between the two points around the size and extrapolates the last
    segment above the largest point; below the smallest point it returns the smallest point's
    energy (an upper bound; extrapolating the first segment would reach zero and go negative).
    Sizes must be positive.
    """

    points: dict[float, float]
    scaling: str
    source: str

    def __call__(self, size: float) -> float:
        """Picojoules per operation at ``size`` (> 0)."""
        if not size > 0:
            raise ValueError(f"energy table size must be positive, not {size!r}")
        if size in self.points:
            return self.points[size]
        sizes = sorted(self.points)
        if self.scaling in ("quadratic", "linear"):
            power = 2 if self.scaling == "quadratic" else 1
            nearest = min(sizes, key=lambda s: abs(math.log(s / size)))
            return self.points[nearest] * (size / nearest) ** power
        if self.scaling != "log":
            raise ValueError(f"unknown energy table scaling {self.scaling!r}")
        # log: piecewise linear in log(size); held below the smallest point, extrapolated above
        if len(sizes) == 1 or size < sizes[0]:
            return self.points[sizes[0]]
        lo, hi = sizes[-2], sizes[-1]
        for a, b in zip(sizes, sizes[1:], strict=False):
            if size <= b:
                lo, hi = a, b
                break
        t = math.log(size / lo) / math.log(hi / lo)
        return self.points[lo] + t * (self.points[hi] - self.points[lo])


@dataclass(frozen=True)
class Field:
    """One scalar field of a layout: the dataclass field it fills and its value type.

    ``kind``: ``"int"`` (positive integer), ``"float"`` (positive finite number), ``"bool"``,
    ``"table"`` (an :class:`EnergyTable`), ``"cited"`` (a positive number that must carry its
    source), ``"choice"`` (one of the texts ``choices``). ``bounds``: the :class:`Range` of a
    number (of a table: its energies; ``sizes``: the range of its sizes); :data:`ANY` if None.
    ``check``, if given, is called with the value read and the values read before it (earlier
    fields of the layout) and returns a problem to report at this field, or None.
    ``optional``: a file may leave the field out (it is None then; the dataclass field must
    default to None).
    """

    attr: str
    kind: str
    choices: tuple[str, ...] = ()
    check: Callable[[Any, Mapping[str, Any]], str | None] | None = None
    bounds: Range | None = None
    sizes: Range | None = None
    optional: bool = False


@dataclass(frozen=True)
class MappingField:
    """A mapping of named numbers (``latency_cycles: {qk: 3, ...}``) filling one dict field.

    ``required`` and ``optional`` are the names allowed (``what`` names one in messages, e.g.
    ``"pipeline step"``); each value is a number of ``kind`` (``"int"`` or ``"float"``),
    positive, or non-negative with ``zero_ok``, within ``bounds`` (:data:`ANY` if None).
    ``empty``: the problem to report when an all-optional mapping lists nothing (None: an empty
    mapping is fine). Each value may carry its source, kept as ``<path>.<name>``.
    """

    attr: str
    kind: str
    required: tuple[str, ...] = ()
    optional: tuple[str, ...] = ()
    what: str = "field"
    zero_ok: bool = False
    empty: str | None = None
    bounds: Range | None = None


#: A layout maps a YAML key to a scalar :class:`Field`, a :class:`MappingField` or a group (a
#: nested layout).
Layout = dict[str, "Field | MappingField | Layout"]


class OptionalGroup(dict):
    """A group of a layout (a nested layout, as a plain ``dict`` is) that a file may leave out:
    then every field under it is None. When the group is there, all its fields must be."""


def _optional(spec: Field | MappingField | Layout) -> bool:
    """Whether a file may leave ``spec`` out (an :class:`OptionalGroup`, an optional field)."""
    return isinstance(spec, OptionalGroup) or (isinstance(spec, Field) and spec.optional)


def _split(layout: Layout) -> tuple[list[str], list[str]]:
    """The keys of ``layout`` a file must give, and those it may leave out."""
    return (
        [k for k, v in layout.items() if not _optional(v)],
        [k for k, v in layout.items() if _optional(v)],
    )


def _attrs(layout: Layout) -> list[str]:
    """The dataclass fields that ``layout`` fills, in order."""
    attrs: list[str] = []
    for spec in layout.values():
        attrs += _attrs(spec) if isinstance(spec, dict) else [spec.attr]
    return attrs


def read_hardware(label: str, text: str, kinds: Mapping[str, Any]) -> Any:
    """The dataclass that the file ``text`` describes; ``kinds`` maps a ``kind`` to its class
    (with a ``LAYOUT`` class attribute). ``label`` names the file in messages. Raises
    :class:`HardwareError` at the first problem."""
    return Reader(label).read(text, kinds)


# ---------------------------------------------------------------------------------------------
# ---------------------------------------------------------------------------------------------
# The reader: walks the composed node tree, so that every value keeps its line.


def _line(node: yaml.Node) -> int:
    return node.start_mark.line + 1


def _join(prefix: str, key: str) -> str:
    return f"{prefix}.{key}" if prefix else key


def _show(value: Any) -> str:
    """A value as the message shows it: YAML spelling for scalars, a kind for collections."""
    if value is None:
        return "empty (null)"
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, str):
        return repr(value)
    return str(value)


class _Shape:
    """Stands for a mapping or a list where a scalar was expected; shown by its description."""

    def __init__(self, description: str) -> None:
        self.description = description

    def __str__(self) -> str:
        return self.description


_MAPPING = _Shape("a mapping")
_SEQUENCE = _Shape("a list")


def _is_number(value: Any) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool)


def _as_number(text: str) -> str | None:
    """How to write ``text``, a number that YAML 1.1 reads as text (``1e9``, ``3.2e1``), so
    that it reads as that number (``1.0e+9``, ``3.2e+1``: a decimal point and a signed
    exponent); None if ``text`` is no finite number."""
    try:
        number = float(text)
    except ValueError:
        return None
    if not math.isfinite(number):
        return None
    mantissa, e, exponent = text.strip().lower().partition("e")
    if e:
        if "." not in mantissa:
            mantissa += ".0"
        if exponent[:1] not in ("+", "-"):
            exponent = "+" + exponent
        spelling = f"{mantissa}e{exponent}"
    else:
        spelling = repr(number)
    try:
        reread = yaml.safe_load(spelling)
    except yaml.YAMLError:
        return None
    return spelling if _is_number(reread) and reread == number else None


class _TooDeep(Exception):
    """Raised by :class:`_Loader` at the first collection nested deeper than MAX_DEPTH."""

    def __init__(self, mark: yaml.Mark) -> None:
        super().__init__(mark)
        self.mark = mark


class _Loader(yaml.SafeLoader):
    """The safe loader, refusing collections nested deeper than :data:`MAX_DEPTH` before it
    composes them (composing recurses a few frames per level: this bounds the recursion, so no
    input reaches the interpreter's recursion limit)."""

    def __init__(self, stream: str) -> None:
        super().__init__(stream)
        self._depth = 0

    def compose_node(self, parent: yaml.Node | None, index: Any) -> yaml.Node:
        event = self.peek_event()
        nests = isinstance(event, yaml.SequenceStartEvent | yaml.MappingStartEvent)
        if nests:
            self._depth += 1
            if self._depth > MAX_DEPTH:
                raise _TooDeep(event.start_mark)
        try:
            return super().compose_node(parent, index)
        finally:
            if nests:
                self._depth -= 1


class ValueProblem(ValueError):
    """What is wrong with one value (no file, line or field: the caller adds them)."""


def number_value(
    value: Any, kind: str, *, zero_ok: bool = False, bounds: Range | None = None
) -> Any:
    """``value`` (as YAML read it) checked as a field's number: positive (or non-negative with
    ``zero_ok``) and finite, within ``bounds`` (:data:`ANY` if None), integral for ``kind``
    ``"int"`` (returned as an int; otherwise as a float). :class:`ValueProblem` says what is
    wrong, in the words a file's message uses (``must be between 1 and 1048576, not 0``)."""
    sign = "non-negative" if zero_ok else "positive"
    want = f"a {sign} integer" if kind == "int" else f"a {sign} number"
    if not _is_number(value):
        hint = ""
        spelling = _as_number(value) if isinstance(value, str) else None
        if spelling is not None:
            why = "; a number with an exponent needs a decimal point and a signed exponent"
            hint = f" (YAML reads it as text: write {spelling}{why if 'e' in spelling else ''})"
        raise ValueProblem(f"must be {want}, not {_show(value)}{hint}")
    if not math.isfinite(value):
        raise ValueProblem(f"must be {want}, not {_show(value)}")
    if kind == "int":
        if isinstance(value, float):
            if not value.is_integer():
                raise ValueProblem(f"must be {want}, not {_show(value)}")
            value = int(value)
    if value < 0 or (value == 0 and not zero_ok):
        raise ValueProblem(f"must be {want}, not {_show(value)}")
    bounds = bounds or ANY
    if value not in bounds and not (zero_ok and value == 0):
        raise ValueProblem(f"must be between {bounds.describe()}, not {_show(value)}")
    return value if kind == "int" else float(value)


def boolean_value(value: Any) -> bool:
    """``value`` checked as a true/false field; :class:`ValueProblem` otherwise."""
    if not isinstance(value, bool):
        raise ValueProblem(f"must be true or false, not {_show(value)}")
    return value


def choice_value(value: Any, choices: tuple[str, ...]) -> str:
    """``value`` checked as one of the texts ``choices``; :class:`ValueProblem` otherwise."""
    if value not in choices:
        raise ValueProblem(f"must be one of {', '.join(choices)}, not {_show(value)}")
    return value


class Reader:
    """Reads one file; ``label`` names it in messages. :meth:`read` is the entry point."""

    def __init__(self, label: str) -> None:
        self.label = label
        self._constructor = yaml.SafeLoader("")
        self.sources: dict[str, str] = {}

    # -- errors --------------------------------------------------------------------------------

    def fail(self, node: yaml.Node | int, path: str, problem: str) -> NoReturn:
        line = node if isinstance(node, int) else _line(node)
        where = f"{path}: " if path else ""
        raise HardwareError(f"{self.label}:{line}: {where}{problem}")

    # -- YAML nodes ----------------------------------------------------------------------------

    def compose(self, text: str) -> yaml.Node:
        try:
            node = yaml.compose(text, Loader=_Loader)
        except _TooDeep as exc:
            line = exc.mark.line + 1
            raise HardwareError(
                f"{self.label}:{line}: nesting deeper than {MAX_DEPTH} levels"
            ) from None
        except yaml.MarkedYAMLError as exc:
            mark = exc.problem_mark or exc.context_mark
            line = mark.line + 1 if mark is not None else 1
            problem = " ".join(p for p in (exc.context, exc.problem) if p)
            raise HardwareError(f"{self.label}:{line}: not valid YAML: {problem}") from exc
        except yaml.YAMLError as exc:
            raise HardwareError(f"{self.label}:1: not valid YAML: {exc}") from exc
        if node is None:
            raise HardwareError(f"{self.label}:1: the file is empty")
        return node

    def scalar(self, node: yaml.Node, path: str) -> Any:
        """The Python value of a scalar node (safe tags only)."""
        self.check_tag(node, path)
        if isinstance(node, yaml.MappingNode):
            return _MAPPING
        if isinstance(node, yaml.SequenceNode):
            return _SEQUENCE
        try:
            return self._constructor.construct_object(node, deep=True)
        except yaml.YAMLError as exc:
            problem = getattr(exc, "problem", None) or str(exc)
            self.fail(node, path, f"cannot read this value: {problem}")

    def check_tag(self, node: yaml.Node, path: str) -> None:
        """Refuse a collection with an explicit tag (``!!python/...``): nothing is constructed."""
        if isinstance(node, yaml.MappingNode | yaml.SequenceNode) and node.tag not in _PLAIN_TAGS:
            self.fail(node, path, f"cannot read this value: the tag {node.tag!r} is not allowed")

    def mapping(self, node: yaml.Node, path: str) -> dict[str, tuple[yaml.Node, yaml.Node]]:
        """The entries of a mapping node by key, each as (key node, value node)."""
        self.check_tag(node, path)
        if not isinstance(node, yaml.MappingNode):
            what = _show(self.scalar(node, path))
            self.fail(node, path, f"must be a mapping (indented fields), not {what}")
        entries: dict[str, tuple[yaml.Node, yaml.Node]] = {}
        for key_node, value_node in node.value:
            if key_node.tag == "tag:yaml.org,2002:merge":
                self.fail(key_node, path, "YAML merge keys (<<) are not supported")
            key = self.scalar(key_node, path)
            if not isinstance(key, str):
                self.fail(key_node, path, f"field names must be text, not {_show(key)}")
            if key in entries:
                first = _line(entries[key][0])
                self.fail(key_node, _join(path, key), f"given twice (first on line {first})")
            entries[key] = (key_node, value_node)
        return entries

    def check_keys(
        self,
        entries: dict[str, tuple[yaml.Node, yaml.Node]],
        path: str,
        node: yaml.Node,
        required: tuple[str, ...] | list[str],
        optional: tuple[str, ...] | list[str] = (),
        what: str = "field",
    ) -> None:
        """Refuse unknown keys (with a suggestion), then missing ones (at the mapping's line)."""
        allowed = list(required) + list(optional)
        for key, (key_node, _) in entries.items():
            if key not in allowed:
                close = difflib.get_close_matches(key, allowed, n=1)
                hint = f"; did you mean {close[0]!r}?" if close else ""
                self.fail(
                    key_node,
                    _join(path, key),
                    f"unknown {what} (expected one of {', '.join(allowed)}){hint}",
                )
        missing = [key for key in required if key not in entries]
        if missing:
            also = f" (also missing: {', '.join(missing[1:])})" if missing[1:] else ""
            self.fail(node, _join(path, missing[0]), f"missing{also}")

    # -- values --------------------------------------------------------------------------------

    def text(self, node: yaml.Node, path: str) -> str:
        value = self.scalar(node, path)
        if not isinstance(value, str) or not value.strip():
            self.fail(node, path, f"must be a non-empty text, not {_show(value)}")
        return value.strip()

    def number(
        self,
        node: yaml.Node,
        path: str,
        kind: str,
        *,
        zero_ok: bool = False,
        bounds: Range | None = None,
    ) -> Any:
        """A positive (or non-negative) finite number within ``bounds`` (:data:`ANY` if None);
        ``kind`` ``"int"`` wants an integer (:func:`number_value`)."""
        try:
            return number_value(self.scalar(node, path), kind, zero_ok=zero_ok, bounds=bounds)
        except ValueProblem as exc:
            self.fail(node, path, str(exc))

    def boolean(self, node: yaml.Node, path: str) -> bool:
        try:
            return boolean_value(self.scalar(node, path))
        except ValueProblem as exc:
            self.fail(node, path, str(exc))

    def cited(
        self, key_node: yaml.Node, node: yaml.Node, path: str
    ) -> tuple[yaml.Node, str | None]:
        """Unwrap ``{value: ..., source: ...}``: the value node and the source (None if plain)."""
        if not isinstance(node, yaml.MappingNode):
            return node, None
        entries = self.mapping(node, path)
        self.check_keys(entries, path, key_node, ("value", "source"))
        source = self.text(entries["source"][1], _join(path, "source"))
        return entries["value"][1], source

    def group(
        self,
        key_node: yaml.Node,
        node: yaml.Node,
        path: str,
        required: tuple[str, ...] | list[str],
        optional: tuple[str, ...] | list[str] = (),
        what: str = "field",
    ) -> tuple[dict[str, tuple[yaml.Node, yaml.Node]], str | None]:
        """A mapping of fields that may carry one ``source:`` for all: (fields, that source)."""
        entries = self.mapping(node, path)
        fields = {k: v for k, v in entries.items() if k != "source"}
        self.check_keys(fields, path, key_node, required, (*optional, "source"), what)
        source = None
        if "source" in entries:
            source = self.text(entries["source"][1], _join(path, "source"))
        return fields, source

    def table(
        self,
        key_node: yaml.Node,
        node: yaml.Node,
        path: str,
        energies: Range | None = None,
        sizes: Range | None = None,
    ) -> EnergyTable:
        """An :class:`EnergyTable`, its energies within ``energies`` and its sizes within
        ``sizes`` (:data:`ANY` for None)."""
        entries = self.mapping(node, path)
        self.check_keys(entries, path, key_node, ("points", "scaling", "source"))
        source = self.text(entries["source"][1], _join(path, "source"))
        scaling_node = entries["scaling"][1]
        scaling = self.scalar(scaling_node, _join(path, "scaling"))
        if scaling not in _SCALINGS:
            self.fail(
                scaling_node,
                _join(path, "scaling"),
                f"must be one of {', '.join(_SCALINGS)}, not {_show(scaling)}",
            )
        points_path = _join(path, "points")
        points_node = entries["points"][1]
        if not isinstance(points_node, yaml.MappingNode):
            what = _show(self.scalar(points_node, points_path))
            self.fail(points_node, points_path, f"must be a mapping of size: pJ, not {what}")
        points: dict[float, float] = {}
        for size_node, energy_node in points_node.value:
            size = self.number(size_node, f"{points_path} (a size)", "float", bounds=sizes)
            size_path = _join(points_path, f"{size:g}")
            if size in points:
                self.fail(size_node, size_path, "given twice")
            points[size] = self.number(energy_node, size_path, "float", bounds=energies)
        if not points:
            self.fail(points_node, points_path, "must have at least one point")
        if scaling == "log":
            if len(points) < 2:
                self.fail(points_node, points_path, "log scaling needs at least two points")
            energies = [points[s] for s in sorted(points)]
            if any(b < a for a, b in zip(energies, energies[1:], strict=False)):
                self.fail(points_node, points_path, "energy must not decrease as size grows")
        return EnergyTable(points=points, scaling=scaling, source=source)

    # -- the document --------------------------------------------------------------------------

    def read(self, text: str, kinds: Mapping[str, Any]) -> Any:
        """Validate a whole file and build the dataclass of its ``kind``."""
        root = self.compose(text)
        entries = self.mapping(root, "")
        names = list(kinds)
        if "kind" not in entries:
            close = difflib.get_close_matches("kind", list(entries), n=1)
            if close:
                self.fail(entries[close[0]][0], close[0], "unknown field; did you mean 'kind'?")
            self.fail(root, "kind", f"missing (one of {', '.join(names)})")
        kind_node = entries["kind"][1]
        kind = self.scalar(kind_node, "kind")
        if kind not in kinds:
            self.fail(kind_node, "kind", f"must be one of {', '.join(names)}, not {_show(kind)}")
        cls = kinds[kind]
        layout = cls.LAYOUT
        required, optional = _split(layout)
        required = ["name", "kind", "description", *required]
        self.check_keys(entries, "", root, required, (*optional, "sources"))

        values: dict[str, Any] = {
            "kind": kind,
            "name": self.text(entries["name"][1], "name"),
            "description": self.text(entries["description"][1], "description"),
        }
        self.read_layout(entries, layout, "", None, values)
        if "sources" in entries:
            self.notes(entries["sources"][1])
        values["sources"] = dict(self.sources)
        return cls(**values)

    def read_layout(
        self,
        entries: dict[str, tuple[yaml.Node, yaml.Node]],
        layout: Layout,
        prefix: str,
        group_source: str | None,
        values: dict[str, Any],
    ) -> None:
        """Read the fields of ``layout`` from ``entries`` (already checked: all there, no other)."""
        for key, spec in layout.items():
            path = _join(prefix, key)
            if key not in entries:  # an optional group or field the file leaves out
                values.update(dict.fromkeys(_attrs({key: spec})))
                continue
            key_node, value_node = entries[key]
            if isinstance(spec, dict):
                fields, source = self.group(key_node, value_node, path, *_split(spec))
                self.read_layout(fields, spec, path, source or group_source, values)
            elif isinstance(spec, MappingField):
                values[spec.attr] = self.named_numbers(key_node, value_node, path, spec)
            elif spec.kind == "table":
                table = self.table(key_node, value_node, path, spec.bounds, spec.sizes)
                self.sources[spec.attr] = table.source
                values[spec.attr] = table
            else:
                self.scalar_field(key_node, value_node, path, spec, group_source, values)

    def scalar_field(
        self,
        key_node: yaml.Node,
        value_node: yaml.Node,
        path: str,
        spec: Field,
        group_source: str | None,
        values: dict[str, Any],
    ) -> None:
        """Read one :class:`Field` (plain or ``{value, source}``) into ``values``."""
        inner, source = self.cited(key_node, value_node, path)
        if spec.kind == "cited" and source is None:
            self.fail(
                value_node,
                path,
                'must name its source, as {value: ..., source: "..."} '
                "(every energy entry cites one)",
            )
        if spec.kind == "bool":
            value = self.boolean(inner, path)
        elif spec.kind == "choice":
            try:
                value = choice_value(self.scalar(inner, path), spec.choices)
            except ValueProblem as exc:
                self.fail(inner, path, str(exc))
        else:
            value = self.number(inner, path, spec.kind, bounds=spec.bounds)
        if spec.check is not None:
            problem = spec.check(value, values)
            if problem is not None:
                self.fail(inner, path, problem)
        values[spec.attr] = value
        if source or group_source:
            self.sources[spec.attr] = source or group_source

    def named_numbers(
        self, key_node: yaml.Node, node: yaml.Node, path: str, spec: MappingField
    ) -> dict[str, Any]:
        """Read a :class:`MappingField`: ``{name: number or {value, source}, ...}``."""
        fields, group_source = self.group(
            key_node, node, path, spec.required, spec.optional, spec.what
        )
        if not fields and spec.empty is not None:
            self.fail(key_node, path, spec.empty)
        numbers: dict[str, Any] = {}
        for name, (name_key, name_node) in fields.items():
            name_path = _join(path, name)
            inner, source = self.cited(name_key, name_node, name_path)
            numbers[name] = self.number(
                inner, name_path, spec.kind, zero_ok=spec.zero_ok, bounds=spec.bounds
            )
            if source or group_source:
                self.sources[name_path] = source or group_source
        return numbers

    def notes(self, node: yaml.Node) -> None:
        """The file's own ``sources:``: notes by any name, each a text."""
        for key, (key_node, value_node) in self.mapping(node, "sources").items():
            path = _join("sources", key)
            if key in self.sources:
                self.fail(key_node, path, f"{key!r} already has a source beside its value")
            self.sources[key] = self.text(value_node, path)


# ---------------------------------------------------------------------------------------------
# Fields by name: what a sweep or ``--set hw.<path>=VALUE`` changes in a loaded target.


def layout_paths(layout: Layout, prefix: str = "") -> dict[str, Field | tuple[MappingField, str]]:
    """Every value of ``layout`` by its dotted YAML path, in layout order: a :class:`Field` at
    its path (``multipliers.qk``, ``clock_ghz``; an energy table too, as a whole), each name a
    :class:`MappingField` allows as ``(field, name)`` at ``<path>.<name>``
    (``latency_cycles.qk``, ``peak_tflops.fp16``). Groups nest their paths; nothing else is
    listed (``name``, ``kind``, ``description``, ``sources`` are not values of a design)."""
    paths: dict[str, Field | tuple[MappingField, str]] = {}
    for key, spec in layout.items():
        path = _join(prefix, key)
        if isinstance(spec, dict):
            paths.update(layout_paths(spec, path))
        elif isinstance(spec, MappingField):
            for name in (*spec.required, *spec.optional):
                paths[_join(path, name)] = (spec, name)
        else:
            paths[path] = spec
    return paths


def scalar_text(text: str) -> Any:
    """``text`` read as the YAML scalar a file would hold (``"256"`` is 256, ``"true"`` True,
    ``"fp16"`` and ``"1e9"`` texts); ``text`` itself where it is no valid YAML scalar."""
    try:
        value = yaml.load(text, Loader=yaml.SafeLoader)  # noqa: S506 (the safe loader)
    except yaml.YAMLError:
        return text
    return value if not isinstance(value, dict | list) and value is not None else text


def field_value(spec: Field | tuple[MappingField, str], value: Any) -> Any:
    """``value`` for the field ``spec`` (an entry of :func:`layout_paths`) checked as the file's
    value would be (type, sign, range, choices: the same words as a file's message), text read
    as a YAML scalar first (:func:`scalar_text`). Returns the value the dataclass holds (an int
    for an integer field, a float for a number); :class:`ValueProblem` says what is wrong. An
    energy table is refused (its points are a file's, not one value). Rules across fields
    (``Field.check``) are the caller's: they need the other fields."""
    if isinstance(value, str):
        value = scalar_text(value)
    if isinstance(spec, tuple):
        mapping, _ = spec
        return number_value(value, mapping.kind, zero_ok=mapping.zero_ok, bounds=mapping.bounds)
    if spec.kind == "table":
        raise ValueProblem("is an energy table (points by size); write a file to change it")
    if spec.kind == "bool":
        return boolean_value(value)
    if spec.kind == "choice":
        return choice_value(value, spec.choices)
    return number_value(value, "int" if spec.kind == "int" else "float", bounds=spec.bounds)
