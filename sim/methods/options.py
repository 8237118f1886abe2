"""Typed method options: a method's knobs are the fields of a frozen dataclass whose annotations
say what each accepts; this module reads them from text and checks them, so that no method
parses a comma-separated string by hand.

Annotations understood (each may be ``X | None``, where ``none``, ``auto`` or an empty text
give None):

* ``bool`` (``true``/``false``, ``yes``/``no``, ``on``/``off``, ``1``/``0``), ``int``,
  ``float``, ``str``;
* ``Literal["a", "b"]``: one of the texts (or numbers) listed;
* ``tuple[T, ...]``: a comma-separated list of ``T`` (``"3,5,7"``; ``""`` is the empty tuple);
* ``tuple[tuple[str, T], ...]``: ``NAME=VALUE`` pairs (``"a=12,b=0"``), names unique;
* ``tuple[tuple[str, T], ...] | tuple[U, ...]``: either form, told apart by the ``=``
  (``"a=0.5,b=0.4"`` or ``"0.5,0.4"``; a mix is refused);
* ``Annotated[T, Range(...)]``: ``T`` within a range (``Range(0, 1, low_open=True)`` is
  ``(0, 1]``), checked for values from text and from Python alike.

:func:`resolve` is the one entry point: a method's default options, overrides by name (text from
the command line or values from Python), the options that result, checked field by field and
then by the dataclass's own ``validate()`` (rules across fields). Every problem is a one-line
ValueError naming the option. An options dataclass that derives from :class:`TypedOptions`
also parses and checks its fields when it is constructed directly (``LAPPOptions(keep="a=0.5")``
holds the pairs, not the text).
"""

from __future__ import annotations

import dataclasses
import functools
import math
import types
import typing
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Annotated, Any, Literal

__all__ = [
    "Range",
    "TypedOptions",
    "check",
    "describe",
    "field_names",
    "format_value",
    "json_values",
    "option_name",
    "parse",
    "resolve",
]

_NONE_WORDS = ("none", "auto", "")
_TRUE = ("1", "true", "yes", "on")
_FALSE = ("0", "false", "no", "off")


@dataclass(frozen=True)
class Range:
    """A closed or half-open interval for ``Annotated[float, Range(...)]`` (or ``int``)."""

    low: float | None = None
    high: float | None = None
    low_open: bool = False
    high_open: bool = False

    def __str__(self) -> str:
        low = "-inf" if self.low is None else f"{self.low:g}"
        high = "inf" if self.high is None else f"{self.high:g}"
        return f"{'(' if self.low_open else '['}{low}, {high}{')' if self.high_open else ']'}"

    def contains(self, value: float) -> bool:
        if isinstance(value, float) and math.isnan(value):
            return False
        if self.low is not None and (value <= self.low if self.low_open else value < self.low):
            return False
        if self.high is not None and (value >= self.high if self.high_open else value > self.high):
            return False
        return True


# ---------------------------------------------------------------------------------------------
# Annotations.


@dataclass(frozen=True)
class _Type:
    """An annotation taken apart: its base ``kind``, whether None is allowed, its range, the
    literal ``choices``, the ``item`` type of a tuple (``pairs``: of NAME=VALUE pairs), and for
    ``kind == "either"`` the two tuple forms (pairs first)."""

    kind: Any  # bool, int, float, str, "literal", "tuple"
    optional: bool = False
    range: Range | None = None
    choices: tuple[Any, ...] = ()
    item: _Type | None = None
    pairs: bool = False
    forms: tuple[_Type, ...] = ()


def _analyse(annotation: Any) -> _Type:
    optional = False
    origin = typing.get_origin(annotation)
    if isinstance(annotation, types.UnionType) or origin is typing.Union:
        args = [a for a in typing.get_args(annotation) if a is not type(None)]
        optional = len(args) < len(typing.get_args(annotation))
        if len(args) == 2:
            forms = sorted((_analyse(a) for a in args), key=lambda t: not t.pairs)
            if [t.kind for t in forms] != ["tuple", "tuple"] or [t.pairs for t in forms] != [
                True,
                False,
            ]:
                raise TypeError(
                    f"option annotation {annotation!r}: two types only as pairs | a list"
                )
            return _Type("either", optional, forms=tuple(forms))
        if len(args) != 1:
            raise TypeError(f"option annotation {annotation!r}: one type (or it | None) only")
        annotation, origin = args[0], typing.get_origin(args[0])
    bounds = None
    if origin is Annotated:
        annotation, *extras = typing.get_args(annotation)
        bounds = next((e for e in extras if isinstance(e, Range)), None)
        origin = typing.get_origin(annotation)
    if origin is Literal:
        return _Type("literal", optional, bounds, choices=typing.get_args(annotation))
    if origin is tuple:
        args = typing.get_args(annotation)
        if len(args) != 2 or args[1] is not Ellipsis:
            raise TypeError(f"option annotation {annotation!r}: use tuple[T, ...]")
        item = args[0]
        if typing.get_origin(item) is tuple:  # tuple[tuple[str, T], ...]: NAME=VALUE pairs
            key, value = typing.get_args(item)
            if key is not str:
                raise TypeError(f"option annotation {annotation!r}: pairs are (str, T)")
            return _Type("tuple", optional, bounds, item=_analyse(value), pairs=True)
        return _Type("tuple", optional, bounds, item=_analyse(item))
    if annotation in (bool, int, float, str):
        return _Type(annotation, optional, bounds)
    raise TypeError(f"option annotation {annotation!r} is not one prunesim options understand")


@functools.lru_cache(maxsize=None)
def _types(options_type: type) -> Mapping[str, _Type]:
    """Each field's analysed annotation, once per options class (read-only: immutable
    metadata of a class, like its annotations)."""
    hints = typing.get_type_hints(options_type, include_extras=True)
    return types.MappingProxyType(
        {f.name: _analyse(hints[f.name]) for f in dataclasses.fields(options_type)}
    )


def field_names(options: Any) -> list[str]:
    """The option names of an options dataclass (instance or class), in declaration order
    (``notes``, a method's own annotations, is not an option)."""
    return [f.name for f in dataclasses.fields(options) if f.name != "notes"]


# ---------------------------------------------------------------------------------------------
# Text in.


def _expected(t: _Type) -> str:
    if t.kind == "either":
        return " or ".join(_expected(form) for form in t.forms)
    if t.kind is bool:
        return "true or false"
    if t.kind is int:
        return "an integer"
    if t.kind is float:
        return "a number"
    if t.kind == "literal":
        return "one of " + ", ".join(str(c) for c in t.choices)
    if t.kind == "tuple":
        inner = _expected(t.item) if t.item else "values"
        return f"NAME=VALUE pairs of {inner}" if t.pairs else f"a comma-separated list of {inner}"
    return "text"


def _parse_scalar(name: str, text: str, t: _Type) -> Any:
    lowered = text.strip().lower()
    try:
        if t.kind is bool:
            if lowered in _TRUE:
                return True
            if lowered in _FALSE:
                return False
            raise ValueError
        if t.kind is int:
            return int(text)
        if t.kind is float:
            return float(text)
        if t.kind == "literal":  # a text that is none of them: check() names the choices
            return next((c for c in t.choices if str(c) == text.strip()), text)
        return text
    except ValueError:
        raise ValueError(f"option {name} must be {_expected(t)}, not {text!r}") from None


def _parse_tuple(name: str, text: str, t: _Type) -> tuple[Any, ...]:
    assert t.item is not None
    if not text.strip():
        return ()
    items = [item.strip() for item in text.split(",")]
    if any(not item for item in items):
        raise ValueError(f"option {name} must be {_expected(t)} with no empty item, not {text!r}")
    if not t.pairs:
        return tuple(_parse_scalar(f"{name}[{i}]", item, t.item) for i, item in enumerate(items))
    pairs: list[tuple[str, Any]] = []
    for item in items:
        key, sep, value = item.partition("=")
        if not sep or not key.strip():
            raise ValueError(f"option {name} must be {_expected(t)}, not {item!r}")
        pairs.append((key.strip(), _parse_scalar(f"{name} {key.strip()}", value, t.item)))
    return tuple(pairs)


def _parse_either(name: str, text: str, t: _Type) -> tuple[Any, ...]:
    pairs, values = t.forms
    named = ["=" in item for item in text.split(",")]
    if all(named):
        return _parse_tuple(name, text, pairs)
    if not any(named):
        return _parse_tuple(name, text, values)
    raise ValueError(
        f"option {name} must be all NAME=VALUE pairs or all values, not a mix: {text!r}"
    )


def _parse(name: str, text: str, t: _Type) -> Any:
    if t.optional and text.strip().lower() in _NONE_WORDS:
        return None
    if t.kind == "either":
        return _parse_either(name, text, t)
    if t.kind == "tuple":
        return _parse_tuple(name, text, t)
    return _parse_scalar(name, text, t)


def parse(name: str, text: str, annotation: Any) -> Any:
    """The value of option ``name`` written as ``text`` (the command line's ``--set``);
    ValueError (one line) naming both when it is not of the annotation's type."""
    return _parse(name, text, _analyse(annotation))


# ---------------------------------------------------------------------------------------------
# Values checked.


def _is_int(value: Any) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


def _check_scalar(name: str, value: Any, t: _Type) -> Any:
    if t.kind is bool:
        ok = isinstance(value, bool)
    elif t.kind is int:
        ok = _is_int(value)
    elif t.kind is float:
        ok = _is_int(value) or isinstance(value, float)
        value = float(value) if ok else value
    elif t.kind == "literal":
        if value not in t.choices or isinstance(value, bool) != any(
            isinstance(c, bool) for c in t.choices
        ):
            choices = ", ".join(str(c) for c in t.choices)
            raise ValueError(f"{name} must be one of {choices}, not {value!r}")
        return value
    else:
        ok = isinstance(value, str)
    if not ok:
        raise ValueError(f"{name} must be {_expected(t)}, not {value!r}")
    if t.range is not None and not t.range.contains(value):
        raise ValueError(f"{name} must be {_within(t)}, not {value!r}")
    return value


def _within(t: _Type) -> str:
    """``in [0, 1]``; for an integer ``an integer 1..32`` (or ``>= 1``, ``<= 8``)."""
    bounds = t.range
    assert bounds is not None
    if t.kind is not int or bounds.low_open or bounds.high_open:
        return f"in {bounds}"
    if bounds.high is None:
        return f"an integer >= {bounds.low:g}" if bounds.low is not None else "an integer"
    if bounds.low is None:
        return f"an integer <= {bounds.high:g}"
    return f"an integer {bounds.low:g}..{bounds.high:g}"


def _is_pair(item: Any) -> bool:
    return isinstance(item, tuple | list) and len(item) == 2 and isinstance(item[0], str)


def check(name: str, value: Any, annotation: Any) -> Any:
    """``value`` of option ``name`` checked against its annotation (type, choices, range) and
    normalised (an int where a float is wanted becomes a float; a list or a mapping where a
    tuple is wanted becomes a tuple); ValueError (one line) naming the option."""
    return _check(name, value, _analyse(annotation))


def _check(name: str, value: Any, t: _Type) -> Any:
    if value is None:
        if t.optional:
            return None
        raise ValueError(f"{name} must be {_expected(t)}, not None")
    if t.kind == "either":
        pairs, values = t.forms
        is_pairs = isinstance(value, Mapping) or (
            isinstance(value, tuple | list) and len(value) > 0 and all(map(_is_pair, value))
        )
        return _check(name, value, pairs if is_pairs else values)
    if t.kind != "tuple":
        return _check_scalar(name, value, t)
    assert t.item is not None
    if t.pairs and isinstance(value, Mapping):
        value = tuple(value.items())
    if isinstance(value, str | bytes) or not isinstance(value, tuple | list):
        raise ValueError(f"{name} must be {_expected(t)}, not {value!r}")
    if not t.pairs:
        return tuple(_check_scalar(f"{name}[{i}]", v, t.item) for i, v in enumerate(value))
    pairs = []
    seen: set[str] = set()
    for pair in value:
        if not (isinstance(pair, tuple | list) and len(pair) == 2 and isinstance(pair[0], str)):
            raise ValueError(f"{name} must be {_expected(t)}, not {value!r}")
        key, item = pair
        if key in seen:
            raise ValueError(f"{name} names {key!r} twice")
        seen.add(key)
        pairs.append((key, _check_scalar(f"{name} {key}", item, t.item)))
    return tuple(pairs)


def option_name(key: str) -> str:
    """The option a name spells: dashes are underscores (``token-keep`` is ``token_keep``, as
    the command line's ``--set`` takes it)."""
    return key.replace("-", "_")


def _by_name(overrides: Mapping[str, Any]) -> dict[str, Any]:
    """``overrides`` keyed by :func:`option_name`; ValueError naming an option given twice
    (``token_keep`` and ``token-keep`` in one mapping) or a name that is not text."""
    found: dict[str, Any] = {}
    spelt: dict[str, str] = {}
    for key, value in overrides.items():
        if not isinstance(key, str):
            raise TypeError(f"option names must be text, not {key!r}")
        name = option_name(key)
        if name in found:
            raise ValueError(f"option {name} given twice (as {spelt[name]!r} and {key!r})")
        found[name], spelt[name] = value, key
    return found


def resolve(defaults: Any, overrides: Mapping[str, Any], *, owner: str) -> Any:
    """The options ``defaults`` (a dataclass instance) with ``overrides`` applied: names are
    read with dashes as underscores (:func:`option_name`; one option spelt both ways is
    refused), text values are parsed (:func:`parse`), every value is checked (:func:`check`),
    then the dataclass's ``validate()`` checks the rules across fields. ``owner`` names the
    method in the message of an unknown option. Raises ValueError (one line) at the first
    problem."""
    overrides = _by_name(overrides)
    names = field_names(defaults)
    unknown = sorted(set(overrides) - set(names))
    if unknown:
        raise ValueError(
            f"unknown option {unknown[0]!r} for method {owner} (choose from {', '.join(names)})"
        )
    kinds = _types(type(defaults))
    values = {}
    for name, value in overrides.items():
        # Text is parsed where the option is not plain text: ``none`` is None for ``str | None``.
        if isinstance(value, str) and (kinds[name].kind is not str or kinds[name].optional):
            value = _parse(name, value, kinds[name])
        values[name] = _check(name, value, kinds[name])
    options = dataclasses.replace(defaults, **values)
    validate = getattr(options, "validate", None)
    if validate is not None:
        validate()
    return options


class TypedOptions:
    """Mixin of a frozen options dataclass: on construction every field given as text where its
    annotation is not ``str`` is parsed (:func:`parse`) and every field is checked and normalised
    (:func:`check`); ValueError (one line) names the first bad one. Rules across fields stay in
    the dataclass's ``validate()``."""

    def __post_init__(self) -> None:
        kinds = _types(type(self))
        for name in field_names(self):
            value = getattr(self, name)
            if isinstance(value, str) and kinds[name].kind is not str:
                value = _parse(name, value, kinds[name])
            object.__setattr__(self, name, _check(name, value, kinds[name]))


# ---------------------------------------------------------------------------------------------
# Values out.


def format_value(value: Any) -> str:
    """An option's value as ``--set`` would take it: tuples comma-joined, pairs as
    ``NAME=VALUE``, anything else as ``str``."""
    if isinstance(value, tuple):
        return ",".join(
            f"{item[0]}={format_value(item[1])}"
            if isinstance(item, tuple) and len(item) == 2 and isinstance(item[0], str)
            else format_value(item)
            for item in value
        )
    return str(value)


def describe(options: Any) -> str:
    """``name=value`` of every option, space-separated (what ``prunesim list methods`` shows)."""
    return " ".join(
        f"{name}={format_value(getattr(options, name))}" for name in field_names(options)
    )


def json_values(options: Any) -> dict[str, Any]:
    """Every option of ``options`` (an options dataclass instance) by name, in declaration
    order, as JSON-ready values: a list for ``tuple[T, ...]``, an object for NAME=VALUE pairs;
    None, bools, numbers and texts as they are (what ``--json`` outputs record as the options in
    effect)."""
    kinds = _types(type(options))
    return {name: _json_value(getattr(options, name), kinds[name]) for name in field_names(options)}


def _json_value(value: Any, t: _Type) -> Any:
    if value is None:
        return None
    if t.kind == "either":
        pairs, values = t.forms
        t = pairs if len(value) > 0 and all(map(_is_pair, value)) else values
    if t.kind != "tuple":
        return value
    assert t.item is not None
    if t.pairs:
        return {key: _json_value(item, t.item) for key, item in value}
    return [_json_value(item, t.item) for item in value]
