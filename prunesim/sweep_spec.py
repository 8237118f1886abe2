"""The sweep spec file of ``prunesim sweep SPEC.yaml``: the command's options as a YAML mapping.

Format: a YAML mapping whose keys are the options of ``prunesim sweep`` without their dashes
(``text_tokens`` for ``--text-tokens``); the command lists them (:func:`read_spec`'s
``fields``) with the converter of each. A list option (``model``, ``method``, ``hw``,
``pareto``) may be comma-separated text or a YAML list of names; ``grid`` is a mapping of names
to VALUES (:func:`prunesim.sim.grid.parse_values`: text such as ``"64:1024:5:log"``, one
number, or a YAML list). Unknown keys, keys given twice, wrong types and bad values are errors
``FILE:LINE: key: problem`` (one line, a ValueError), found before any work. The file is read
with the safe loader (:class:`prunesim.sim.hwfile.Reader`: nesting is bounded, no Python
tags); nothing in it is evaluated.
"""

from __future__ import annotations

import difflib
import os
from collections.abc import Callable, Mapping
from typing import Any

__all__ = ["read_spec"]

#: A converter takes the value read from the file and returns the option's value, or raises
#: ValueError / argparse.ArgumentTypeError with the problem.
Converter = Callable[[Any], Any]


def read_spec(path: str | os.PathLike[str], fields: Mapping[str, Converter]) -> dict[str, Any]:
    """The options a spec file gives: ``{key: value}`` for the keys of ``fields`` the file
    has (each value through its converter) and ``grid``: ``{name: [values]}`` in the file's
    order when it has one. ValueError ``FILE:LINE: key: problem`` at the first problem
    (``FILE:1: ...`` when the file cannot be read)."""
    import argparse

    import yaml

    from prunesim.sim.grid import parse_values
    from prunesim.sim.hwfile import HardwareError, Reader

    label = os.fspath(path)
    try:
        with open(path, encoding="utf-8") as file:
            text = file.read()
    except (OSError, UnicodeDecodeError) as exc:
        problem = getattr(exc, "strerror", None) or exc
        raise ValueError(f"{label}: cannot read the spec file: {problem}") from None
    reader = Reader(label)
    try:
        root = reader.compose(text)
        if not isinstance(root, yaml.MappingNode):
            reader.fail(root, "", "a spec file is a mapping of option: value")
        reader.check_tag(root, "")
        allowed = [*fields, "grid"]
        found: dict[str, Any] = {}
        for key_node, value_node in root.value:
            key = reader.scalar(key_node, "")
            if not isinstance(key, str):
                reader.fail(key_node, "", f"a key must be a name, not {key!r}")
            if key in found:
                reader.fail(key_node, key, "given twice")
            if key not in allowed:
                close = difflib.get_close_matches(key, allowed, n=1)
                hint = f"; did you mean {close[0]!r}?" if close else ""
                reader.fail(
                    key_node, key, f"unknown key (keys: {', '.join(sorted(allowed))}){hint}"
                )
            if key == "grid":
                found[key] = _grid(reader, value_node, parse_values)
                continue
            value = _plain(reader, value_node, key)
            try:
                found[key] = fields[key](value)
            except (ValueError, TypeError, argparse.ArgumentTypeError) as exc:
                reader.fail(value_node, key, str(exc))
        return found
    except HardwareError as exc:  # the reader's file:line errors, as a plain ValueError
        raise ValueError(str(exc)) from None


def _plain(reader: Any, node: Any, key: str) -> Any:
    """A scalar, or a list of scalars (a list option); a mapping or a nested list: an error."""
    import yaml

    reader.check_tag(node, key)
    if isinstance(node, yaml.MappingNode):
        reader.fail(node, key, "expected a value or a list, not a mapping")
    if isinstance(node, yaml.SequenceNode):
        items = []
        for item in node.value:
            if not isinstance(item, yaml.ScalarNode):
                reader.fail(item, key, "a list of values only (no nested lists or mappings)")
            items.append(reader.scalar(item, key))
        return items
    return reader.scalar(node, key)


def _grid(reader: Any, node: Any, parse_values: Callable[..., list[Any]]) -> dict[str, list]:
    import yaml

    reader.check_tag(node, "grid")
    if not isinstance(node, yaml.MappingNode):
        reader.fail(node, "grid", "expected a mapping of name: VALUES")
    grid: dict[str, list] = {}
    for key_node, value_node in node.value:
        name = reader.scalar(key_node, "grid")
        if not isinstance(name, str) or not name.strip():
            reader.fail(key_node, "grid", f"a grid name must be text, not {name!r}")
        name = name.strip()
        if name in grid:
            reader.fail(key_node, f"grid.{name}", "given twice")
        value = _plain(reader, value_node, f"grid.{name}")
        if value is None:
            reader.fail(value_node, f"grid.{name}", "no values")
        try:
            grid[name] = parse_values(value, name=name)
        except ValueError as exc:
            reader.fail(value_node, f"grid.{name}", str(exc).removeprefix(f"grid {name}: "))
    return grid
