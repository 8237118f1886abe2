"""The ``prunesim`` commands: one module each, registered by name (the way Glasgow's applets are).

A command (:class:`Command`) declares its name, one-line help, its place in ``prunesim --help``
(``order``), an ``add_arguments(parser)`` that fills its sub-parser (and may set its
description) and a ``run(args) -> int`` that does the work and returns the exit status (bad input
raises :class:`~prunesim.argtypes.CLIError`). The top level (:mod:`prunesim.cli`) lists every
command found in this package but fills only the sub-parser of the command being run, so that
``prunesim --help`` imports no command's dependencies. A command module imports only the standard
library at module level; what it needs it imports inside ``add_arguments`` and ``run``.

:class:`Formatter` is the help formatter every parser of the CLI uses; :class:`LazySubcommands`
fills a sub-parser only when its name is chosen.
"""

from __future__ import annotations

import argparse
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from prunesim.registry import Registry

__all__ = ["COMMANDS", "Command", "Formatter", "LazySubcommands", "register_command"]


class Formatter(argparse.RawDescriptionHelpFormatter, argparse.ArgumentDefaultsHelpFormatter):
    """Raw descriptions, and each option's default after its help unless it is None (then the
    help says what happens, e.g. "default: the model's")."""

    def _get_help_string(self, action: argparse.Action) -> str | None:
        if action.default is None:
            return action.help
        return super()._get_help_string(action)


class LazySubcommands(argparse._SubParsersAction):
    """Sub-parsers whose arguments are added only when their command is chosen: each entry
    waits in :attr:`pending` (sub-parser, the function that fills it) until then."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.pending: dict[str, tuple[argparse.ArgumentParser, Any]] = {}

    def add_lazy(self, name: str, fill: Any, **kwargs: Any) -> argparse.ArgumentParser:
        """Add sub-command ``name`` (``kwargs`` as for ``add_parser``: help, description ...);
        ``fill(parser)`` adds its arguments when it is chosen."""
        sub = self.add_parser(name, formatter_class=Formatter, **kwargs)
        self.pending[name] = (sub, fill)
        return sub

    def __call__(self, parser, namespace, values, option_string=None) -> None:  # noqa: ANN001
        name = values[0] if values else None
        if name in self.pending:
            sub, fill = self.pending.pop(name)
            fill(sub)
        super().__call__(parser, namespace, values, option_string)


@dataclass(frozen=True)
class Command:
    """A ``prunesim`` command; see the module docstring."""

    name: str
    help: str
    order: float
    add_arguments: Callable[[argparse.ArgumentParser], None]
    run: Callable[[argparse.Namespace], int]


def _command_order(command: Command) -> float:
    return command.order


#: Every command by name, in ``prunesim --help`` order.
COMMANDS: Registry[Command] = Registry("prunesim.commands", "command", _command_order)


def register_command(command: Command) -> Command:
    """Add ``command`` to :data:`COMMANDS`; returns it."""
    return COMMANDS.register(command.name, command)
