"""A small reader of Liberty files: enough to check and query the generated library.

:func:`parse_liberty` turns the text into a tree of :class:`Group` (``cell (name) { ... }``)
with simple attributes (``area : 3.75 ;`` -> ``attrs["area"] == "3.75"``) and complex ones
(``index_1 ("0.1, 0.2");`` -> ``complex["index_1"] == ["0.1, 0.2"]``). Comments and line
continuations are dropped; strings lose their quotes. A syntax error raises
:class:`ValueError` naming the line.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import dataclass, field

__all__ = ["Group", "parse_liberty"]


@dataclass
class Group:
    """A Liberty group: its kind (``cell``), its arguments (``["sky130_fd_sc_hd__inv_1"]``),
    simple attributes, complex attributes and subgroups, in file order."""

    kind: str
    args: list[str]
    attrs: dict[str, str] = field(default_factory=dict)
    complex: dict[str, list[str]] = field(default_factory=dict)
    groups: list[Group] = field(default_factory=list)

    @property
    def name(self) -> str:
        return self.args[0] if self.args else ""

    def all(self, kind: str) -> list[Group]:
        """The subgroups of one kind (``cell``, ``pin``, ``timing``)."""
        return [g for g in self.groups if g.kind == kind]

    def get(self, kind: str, name: str) -> Group:
        """The subgroup of one kind and name; :class:`KeyError` if absent."""
        for g in self.groups:
            if g.kind == kind and g.name == name:
                return g
        raise KeyError(f"no {kind} ({name}) in {self.kind} ({self.name})")

    def floats(self, attr: str) -> list[float]:
        """A complex attribute of numbers (``index_1``) as one flat list."""
        return [float(x) for s in self.complex[attr] for x in s.replace(",", " ").split()]

    def table(self) -> list[list[float]]:
        """The ``values`` of a table group, one list per row."""
        return [[float(x) for x in row.split(",")] for row in self.complex["values"]]


_TOKEN = re.compile(
    r'\s*(?:(?P<str>"(?:[^"\\]|\\.)*")|(?P<punct>[(){};:,])|(?P<word>[^\s(){};:,"]+))'
)


def _tokens(text: str) -> Iterator[tuple[str, int]]:
    text = re.sub(r"/\*.*?\*/", lambda m: "\n" * m.group(0).count("\n"), text, flags=re.S)
    text = re.sub(r"\\\r?\n", " \n", text)
    line, pos = 1, 0
    while pos < len(text):
        m = _TOKEN.match(text, pos)
        if m is None or m.end() == pos:
            if text[pos:].strip() == "":
                return
            raise ValueError(f"liberty line {line}: cannot read {text[pos : pos + 20]!r}")
        line += text.count("\n", pos, m.end())
        pos = m.end()
        tok = m.group("str") or m.group("punct") or m.group("word")
        if tok is not None:
            yield tok, line


def parse_liberty(text: str) -> Group:
    """The top ``library`` group of a Liberty text."""
    toks = list(_tokens(text))
    pos = 0

    def expect(tok: str) -> None:
        nonlocal pos
        if pos >= len(toks) or toks[pos][0] != tok:
            where = toks[pos][1] if pos < len(toks) else "end"
            got = toks[pos][0] if pos < len(toks) else "end of file"
            raise ValueError(f"liberty line {where}: expected {tok!r}, got {got!r}")
        pos += 1

    def unquote(tok: str) -> str:
        return tok[1:-1] if tok.startswith('"') else tok

    def body(group: Group) -> None:
        nonlocal pos
        while pos < len(toks) and toks[pos][0] != "}":
            name = toks[pos][0]
            pos += 1
            if pos < len(toks) and toks[pos][0] == ":":
                pos += 1
                value = []
                while pos < len(toks) and toks[pos][0] not in (";", "}"):
                    value.append(unquote(toks[pos][0]))
                    pos += 1
                if pos < len(toks) and toks[pos][0] == ";":
                    pos += 1
                group.attrs[name] = " ".join(value)
                continue
            expect("(")
            args = []
            while pos < len(toks) and toks[pos][0] != ")":
                if toks[pos][0] != ",":
                    args.append(unquote(toks[pos][0]))
                pos += 1
            expect(")")
            if pos < len(toks) and toks[pos][0] == "{":
                pos += 1
                sub = Group(name, args)
                body(sub)
                expect("}")
                group.groups.append(sub)
            else:
                if pos < len(toks) and toks[pos][0] == ";":
                    pos += 1
                group.complex[name] = args

    root = Group("", [])
    body(root)
    if pos != len(toks):
        raise ValueError(f"liberty line {toks[pos][1]}: unexpected {toks[pos][0]!r}")
    libs = root.all("library")
    if len(libs) != 1:
        raise ValueError("liberty: expected one library group")
    return libs[0]
