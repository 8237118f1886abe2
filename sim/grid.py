"""The VALUES of a sweep's grid: one parser for ``prunesim sweep --grid NAME=VALUES``, the sweep
spec file and Python.

Syntax (:func:`parse_values`):

* ``a,b,c``: the values listed, in order: numbers (``4``, ``0.5``, ``1e9``) or names
  (``true``, ``int8``); each at most once;
* ``start:stop:count``: ``count`` values evenly spaced from ``start`` to ``stop``, both included;
* ``start:stop:count:log``: ``count`` values in geometric progression from ``start`` to
  ``stop``, both included (``start`` and ``stop`` > 0).

A range's count is 1 .. :data:`MAX_COUNT` (1 only when ``start == stop``); its values are
rounded to 12 significant digits, so that ``0.1:0.9:9`` gives ``0.3``, not
``0.30000000000000004``. In a spec file a YAML list of values, or one number, is accepted as
well. For an *integer* field (``integer=True``) every number must be integral: a range whose
values are not all integers (``16:512:4:log`` gives 50.8) is an error naming the field and the
first such value, never rounded silently (list the values, or choose ends and a count that give
integers: ``16:512:6:log`` gives 16, 32, ..., 512).

Every problem is a one-line ``ValueError`` naming the field (``name``) and the bad text. Integers
come back as ``int``, other numbers as ``float``, names as ``str``; nothing else is interpreted
here (the sweep's own check decides whether a name or a number suits the field).
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping, Sequence
from typing import Any

__all__ = ["MAX_COUNT", "grid_size", "parse_values"]

#: The most values one range may give.
MAX_COUNT = 1_000_000
#: Significant digits a range's values are rounded to.
DIGITS = 12

Value = int | float | str


def _number(text: str) -> int | float | None:
    """``text`` as an int (integer spelling) or a finite float; None if it is no number."""
    try:
        return int(text)
    except ValueError:
        pass
    try:
        number = float(text)
    except ValueError:
        return None
    return number if math.isfinite(number) else None


def _integral(value: float, name: str, spec: str) -> int:
    rounded = round(value)
    if abs(value - rounded) > 1e-9 * max(1.0, abs(value)):
        raise ValueError(
            f"grid {name}: {spec} gives {value:.6g}, not an integer, and {name} takes integers "
            "(list the values, or choose ends and a count that give integers)"
        )
    return int(rounded)


def _range(text: str, name: str, integer: bool) -> list[Value]:
    parts = [part.strip() for part in text.split(":")]
    log = len(parts) == 4 and parts[3].lower() == "log"
    if len(parts) not in (3, 4) or (len(parts) == 4 and not log):
        raise ValueError(
            f"grid {name}: {text!r} is no range (start:stop:count or start:stop:count:log)"
        )
    start, stop = _number(parts[0]), _number(parts[1])
    for part, number in ((parts[0], start), (parts[1], stop)):
        if number is None:
            raise ValueError(f"grid {name}: range end {part!r} in {text!r} is not a number")
    try:
        count = int(parts[2])
    except ValueError:
        count = 0
    if not 1 <= count <= MAX_COUNT:
        raise ValueError(
            f"grid {name}: the count {parts[2]!r} in {text!r} must be an integer 1..{MAX_COUNT}"
        )
    assert start is not None and stop is not None
    if count == 1 and start != stop:
        raise ValueError(f"grid {name}: {text!r} has count 1 but start != stop (count >= 2)")
    if log and not (start > 0 and stop > 0):
        raise ValueError(f"grid {name}: a log range needs start and stop > 0, not {text!r}")
    values: list[float] = []
    for i in range(count):
        t = i / (count - 1) if count > 1 else 0.0
        if log:
            value = start * (stop / start) ** t
        else:
            value = start + (stop - start) * t
        values.append(float(f"{value:.{DIGITS}g}"))
    values[0], values[-1] = float(start), float(stop)
    if integer:
        out: list[Value] = [_integral(value, name, text) for value in values]
    elif isinstance(start, int) and isinstance(stop, int) and all(v.is_integer() for v in values):
        out = [int(v) for v in values]
    else:
        out = list(values)
    _check_unique(out, name, text)
    return out


def _check_unique(values: Sequence[Value], name: str, spec: str) -> None:
    seen: set[Any] = set()
    for value in values:
        key = (type(value) is str, value)
        if key in seen:
            raise ValueError(f"grid {name}: {value!r} appears twice in {spec!r}")
        seen.add(key)


def _item(value: Any, name: str, integer: bool, spec: str) -> Value:
    """One listed value: text is read as a number when it is one, else kept as a name."""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, str):
        text = value.strip()
        if not text:
            raise ValueError(f"grid {name}: an empty value in {spec!r}")
        number = _number(text)
        value = text if number is None else number
    elif isinstance(value, int):
        value = int(value)
    elif isinstance(value, float):
        if not math.isfinite(value):
            raise ValueError(f"grid {name}: {value!r} is not a finite number")
    else:
        raise ValueError(
            f"grid {name}: {value!r} is not a number or a name ({type(value).__name__})"
        )
    if integer and isinstance(value, float):
        if not value.is_integer():
            raise ValueError(f"grid {name}: {value:g} is not an integer, and {name} takes integers")
        value = int(value)
    return value


def parse_values(
    spec: str | int | float | Iterable[Any], *, name: str, integer: bool = False
) -> list[Value]:
    """The values ``spec`` gives field ``name`` (see the module docstring): a text (``a,b,c``,
    ``start:stop:count`` or ``start:stop:count:log``), one number, or a list of numbers and
    names (a spec file's YAML list). ``integer``: the field takes integers. ValueError (one
    line, naming ``name``) for anything else; at least one value, each once."""
    if isinstance(spec, bool):
        return [_item(spec, name, integer, str(spec))]
    if isinstance(spec, int | float):
        return [_item(spec, name, integer, str(spec))]
    if isinstance(spec, str):
        text = spec.strip()
        if not text:
            raise ValueError(f"grid {name}: no values")
        if ":" in text:
            return _range(text, name, integer)
        values = [_item(item, name, integer, text) for item in text.split(",")]
        _check_unique(values, name, text)
        return values
    if isinstance(spec, Mapping) or not isinstance(spec, Iterable):
        raise ValueError(f"grid {name}: expected VALUES text or a list, not {type(spec).__name__}")
    items = list(spec)
    if not items:
        raise ValueError(f"grid {name}: no values")
    shown = ",".join(str(item) for item in items)
    values = [_item(item, name, integer, shown) for item in items]
    _check_unique(values, name, shown)
    return values


def grid_size(grid: Mapping[str, Sequence[Any]]) -> int:
    """The number of points of ``grid`` (name -> values): the product of the value counts (1
    for an empty grid). Python's integers do not overflow, so a huge grid gives its true size
    (:data:`prunesim.sim.dse.MAX_POINTS` bounds the points priced at once)."""
    return math.prod(len(values) for values in grid.values())
