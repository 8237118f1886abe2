"""Argument types and the user-error type shared by every ``prunesim`` command.

Each ``*_int``/``int_in(low, high)``/``names``/``assignment`` function is an argparse ``type=``:
it returns the parsed value or raises :class:`argparse.ArgumentTypeError`, which argparse reports
as one line (``prunesim: error: argument --x: must be a positive integer, not '0'``, exit status
2). :class:`Assignments` is the action of a repeatable ``NAME=VALUE`` option (each name once).
:class:`CLIError` is what a command raises for bad input found after parsing; the top level
prints it as ``prunesim: error: <message>`` with its exit status. Importing this module imports
only the standard library.
"""

from __future__ import annotations

import argparse
from collections.abc import Callable

__all__ = [
    "Assignments",
    "CLIError",
    "assignment",
    "int_in",
    "names",
    "nonnegative_int",
    "one_line",
    "positive_int",
    "user_error",
]


class CLIError(Exception):
    """An error reported as one line ``prunesim: error: <message>``, exit status ``status``
    (2: bad input; 1: something the command needs is missing)."""

    def __init__(self, message: str, status: int = 2) -> None:
        super().__init__(message)
        self.status = status


def one_line(text: object) -> str:
    """``text`` as one line: every run of whitespace (newlines included) becomes one space."""
    return " ".join(str(text).split())


def user_error(exc: BaseException) -> CLIError:
    """A :class:`CLIError` (status 2) carrying ``exc``'s message on one line."""
    return CLIError(one_line(exc))


def positive_int(text: str) -> int:
    """An integer >= 1."""
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"must be a positive integer, not {text!r}") from None
    if value <= 0:
        raise argparse.ArgumentTypeError(f"must be a positive integer, not {text!r}")
    return value


def nonnegative_int(text: str) -> int:
    """An integer >= 0."""
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"must be an integer, not {text!r}") from None
    if value < 0:
        raise argparse.ArgumentTypeError(f"must be >= 0, not {text!r}")
    return value


def int_in(low: int, high: int) -> Callable[[str], int]:
    """An argparse ``type=`` for an integer ``low .. high`` (``must be an integer 1..32, not
    '40'``)."""

    def parse(text: str) -> int:
        try:
            value = int(text)
        except ValueError:
            value = None
        if value is None or not low <= value <= high:
            raise argparse.ArgumentTypeError(f"must be an integer {low}..{high}, not {text!r}")
        return value

    parse.__name__ = f"integer {low}..{high}"
    return parse


def names(text: str) -> list[str]:
    """A comma-separated list of names: blanks dropped, repeats removed, order kept; at least
    one."""
    found = [name.strip() for name in text.split(",") if name.strip()]
    if not found:
        raise argparse.ArgumentTypeError(f"no name in {text!r}")
    return list(dict.fromkeys(found))


def assignment(text: str) -> tuple[str, str]:
    """``NAME=VALUE`` as ``(name, value)``, both stripped; dashes in the name's last part
    become underscores (``--set token-keep=0.4`` is ``token_keep``,
    ``spatten-token.token-keep`` is ``spatten-token.token_keep``: a method's name keeps its)."""
    key, sep, value = text.partition("=")
    if not sep or not key.strip():
        raise argparse.ArgumentTypeError(f"expected NAME=VALUE, not {text!r}")
    prefix, dot, last = key.strip().rpartition(".")
    return prefix + dot + last.replace("-", "_"), value.strip()


class Assignments(argparse.Action):
    """An argparse action for a repeatable ``NAME=VALUE`` option (``type=assignment``): the
    values gather in a dict, name -> value; a name given twice (``--set token_keep=0.3 --set
    token-keep=0.9``) is an error naming it."""

    def __call__(
        self,
        parser: argparse.ArgumentParser,
        namespace: argparse.Namespace,
        values: object,
        option_string: str | None = None,
    ) -> None:
        name, value = values  # type: ignore[misc]
        found = dict(getattr(namespace, self.dest, None) or {})
        if name in found:
            raise argparse.ArgumentError(
                self, f"option {name} given twice ({found[name]!r}, then {value!r})"
            )
        found[name] = value
        setattr(namespace, self.dest, found)
