"""The names of what a run can change: ``hw.<path>``, ``stage.<field>``, ``<method>.<option>``.

A sweep's grid (:func:`prunesim.sim.sweep`) and the ``--set NAME=VALUE`` of ``prunesim
simulate`` and ``prunesim compare`` name what they change in one namespace:

* ``hw.<path>``: a value of the hardware file, by its dotted path in the file (``hw.clock_ghz``,
  ``hw.multipliers.qk``, ``hw.dram.channels``, ``hw.latency_cycles.qk``): every value of the
  target's kind's layout, applied by :func:`prunesim.sim.hardware.variant` (checked as the
  file's value would be; the target is renamed after it, ``spatten[multipliers.qk=256]``).
* ``stage.<field>``: a field of the stage (:data:`STAGE_FIELDS`: ``stage.tokens``,
  ``stage.prompt``, ``stage.generate``, ``stage.images``, ``stage.text_tokens``,
  ``stage.batch``), replacing it in the stage a run takes (:func:`with_stage`); the model's
  family checks the result (``check_stage``) before any work.
* ``<method>.<option>``: an option of that method only (``spatten.token_keep``,
  ``catp.ratio``), resolved by the method's typed options
  (:func:`prunesim.sim.methods.options.resolve`: type, range, rules across options).
* ``<option>`` (no dot): an option of every method of the run that has it, except ``dense``
  (the reference runs as it is unless named: ``dense.token_pruning``), as ``--set`` always did.

Values may be given as text (what a command line holds): a hardware value is read as YAML reads
a file's (``"256"`` is 256), a stage field as an integer, an option as ``--set`` reads it.
:func:`parse_name` takes a name apart; :func:`split_settings` sorts a mapping of names to
values by namespace; every problem is a one-line ValueError naming the name.
"""

from __future__ import annotations

import dataclasses
import difflib
import typing
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

from prunesim.sim.methods import get_method, method_names
from prunesim.sim.methods.options import option_name
from prunesim.sim.workload import Stage

__all__ = [
    "DENSE",
    "HW",
    "OPTION",
    "STAGE",
    "STAGE_FIELDS",
    "Name",
    "Settings",
    "check_methods",
    "method_options",
    "parse_name",
    "split_settings",
    "stage_value",
    "with_stage",
]

#: The namespaces of :class:`Name`.
HW, STAGE, OPTION = "hw", "stage", "option"
#: The method an unprefixed option name leaves alone (the reference of every comparison).
DENSE = "dense"
#: Every field a stage of some family has (``stage.<field>``), in a stable order.
STAGE_FIELDS: tuple[str, ...] = tuple(
    dict.fromkeys(f.name for cls in typing.get_args(Stage) for f in dataclasses.fields(cls))
)


@dataclass(frozen=True)
class Name:
    """A name taken apart: ``text`` as given, its ``space`` (:data:`HW`, :data:`STAGE` or
    :data:`OPTION`), its ``key`` (the hardware path, the stage field, the option with dashes as
    underscores) and, for a method-prefixed option, its ``method`` (None: every method)."""

    text: str
    space: str
    key: str
    method: str | None = None

    def applies_to_method(self, method: str) -> bool:
        """Whether this option name changes ``method``'s options: a prefixed name its own
        method's; an unprefixed one every method's but dense's that has the option."""
        if self.space != OPTION:
            return False
        if self.method is not None:
            return self.method == method
        return method != DENSE and self.key in get_method(method).option_fields()


def parse_name(text: str) -> Name:
    """``text`` taken apart (the module docstring lists the forms); ValueError (one line)
    naming it when it is none of them: an empty part, a prefix that is no namespace nor method
    (``unknown name 'spaten.token_keep': ...; did you mean 'spatten'?``), a stage field no stage
    has. Whether a hardware path or an option exists is asked of the target and the method."""
    if not isinstance(text, str):
        raise TypeError(f"names must be text, not {type(text).__name__}")
    prefix, dot, rest = text.partition(".")
    if not dot:
        if not text.strip():
            raise ValueError("a name must not be empty")
        return Name(text, OPTION, option_name(text))
    if not prefix or not rest:
        raise ValueError(f"name {text!r} has an empty part")
    if prefix == HW:
        return Name(text, HW, rest)
    if prefix == STAGE:
        if rest not in STAGE_FIELDS:
            close = difflib.get_close_matches(rest, STAGE_FIELDS, n=1)
            hint = f"; did you mean 'stage.{close[0]}'?" if close else ""
            raise ValueError(
                f"unknown stage field in {text!r} (stage fields: {', '.join(STAGE_FIELDS)}){hint}"
            )
        return Name(text, STAGE, rest)
    methods = method_names()
    if prefix in methods:
        return Name(text, OPTION, option_name(rest), prefix)
    close = difflib.get_close_matches(prefix, [HW, STAGE, *methods], n=1)
    hint = f"; did you mean {close[0]!r}?" if close else ""
    raise ValueError(
        f"unknown name {text!r}: a name is hw.<field>, stage.<field>, <method>.<option> or an "
        f"option of the methods{hint}"
    )


@dataclass
class Settings:
    """Values by namespace: ``hw`` (path -> value), ``stage`` (field -> value) and ``options``
    (each option :class:`Name` -> value), each in the order given."""

    hw: dict[str, Any] = field(default_factory=dict)
    stage: dict[str, Any] = field(default_factory=dict)
    options: dict[Name, Any] = field(default_factory=dict)


def split_settings(settings: Mapping[str, Any]) -> Settings:
    """``settings`` (name -> value) sorted by namespace (:func:`parse_name`); ValueError (one
    line) for a bad name or one thing named twice (``token-keep`` and ``token_keep``)."""
    result = Settings()
    seen: dict[tuple[str, str, str | None], str] = {}
    for text, value in settings.items():
        name = parse_name(text)
        key = (name.space, name.key, name.method)
        if key in seen:
            raise ValueError(f"{text!r} names what {seen[key]!r} names; give it once")
        seen[key] = text
        if name.space == HW:
            result.hw[name.key] = value
        elif name.space == STAGE:
            result.stage[name.key] = value
        else:
            result.options[name] = value
    return result


def method_options(options: Mapping[Name, Any], method: str) -> dict[str, Any]:
    """The overrides of ``method`` among ``options`` (:class:`Settings.options`): the
    unprefixed names it has (not for dense) and the names prefixed with it, by option name;
    ValueError for one option given both ways (``token_keep`` and ``spatten.token_keep``)."""
    found: dict[str, Any] = {}
    spelt: dict[str, str] = {}
    for name, value in options.items():
        if name.applies_to_method(method):
            if name.key in found:
                raise ValueError(
                    f"{spelt[name.key]!r} and {name.text!r} both set {method}'s {name.key}"
                )
            found[name.key], spelt[name.key] = value, name.text
    return found


def check_methods(options: Iterable[Name], methods: Iterable[str]) -> None:
    """ValueError (one line) for an option name that changes none of ``methods``: one prefixed
    with a method not among them, or an unprefixed option that none of them (dense aside) has."""
    methods = list(methods)
    for name in options:
        if any(name.applies_to_method(m) for m in methods):
            continue
        if name.method is not None:
            raise ValueError(
                f"{name.text!r} names method {name.method}, which is not run here "
                f"(methods: {', '.join(methods)})"
            )
        known = sorted({o for m in methods if m != DENSE for o in get_method(m).option_fields()})
        close = difflib.get_close_matches(name.key, known, n=1)
        hint = f"; did you mean {close[0]!r}?" if close else ""
        raise ValueError(
            f"unknown option {name.text!r} for method{'s' if len(methods) > 1 else ''} "
            f"{', '.join(methods)}{hint}"
        )


def stage_value(name: str, value: Any) -> int:
    """A stage field's value: an integer, or text or an integral float that is one (``"128"``,
    ``128.0``); ValueError naming ``name`` otherwise."""
    if isinstance(value, str):
        try:
            return int(value.strip())
        except ValueError:
            raise ValueError(f"{name} must be an integer, not {value!r}") from None
    if isinstance(value, float) and value.is_integer():
        return int(value)
    if isinstance(value, bool) or not isinstance(value, int):
        raise ValueError(f"{name} must be an integer, not {value!r}")
    return value


def with_stage(stage: Stage, fields: Mapping[str, Any]) -> Stage:
    """``stage`` with ``fields`` (field -> value, :func:`stage_value`) replaced; ValueError
    naming ``stage.<field>`` for a field this kind of stage lacks or a value it refuses (the
    stage's own checks). Whether the result fits a model is its family's ``check_stage``."""
    if not fields:
        return stage
    own = [f.name for f in dataclasses.fields(stage)]
    values = {}
    for key, value in fields.items():
        if key not in own:
            raise ValueError(
                f"stage.{key}: a {stage.name} stage has no {key} (its fields: {', '.join(own)})"
            )
        values[key] = stage_value(f"stage.{key}", value)
    try:
        return dataclasses.replace(stage, **values)
    except (TypeError, ValueError) as exc:
        raise ValueError(f"stage: {exc}") from None
