"""The ``prunesim`` command line.

``main(argv)`` returns the exit status: 0 on success, 2 for bad input (a one-line
``prunesim: error: ...`` message on stderr, no traceback, no file written), 1 when something the
command needs is missing, 130 on SIGINT and 143 on SIGTERM (one line, see :func:`main`). The
commands are the modules of :mod:`prunesim.commands`; this module only dispatches. Generated files
are written whole or not at all (a temporary file in the same folder, then a rename).
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence
from typing import Any, NoReturn

from prunesim import __version__
from prunesim.argtypes import CLIError, one_line
from prunesim.commands import COMMANDS, Command, Formatter, LazySubcommands
from prunesim.interrupts import Terminated, quiet_after_interrupt, sigterm_raises

__all__ = ["PROG", "build_parser", "main"]

PROG = "prunesim"


class Parser(argparse.ArgumentParser):
    """An ArgumentParser whose errors are one line: ``prunesim: error: ...``."""

    def error(self, message: str) -> NoReturn:
        self.exit(2, f"{PROG}: error: {one_line(message)} (see `{self.prog} --help`)\n")


def _filler(command: Command) -> Any:
    def fill(sub: argparse.ArgumentParser) -> None:
        command.add_arguments(sub)
        sub.set_defaults(handler=command.run)

    return fill


def build_parser() -> Parser:
    """The top-level parser: every command of :mod:`prunesim.commands`, each filled on use."""
    parser = Parser(
        prog=PROG,
        formatter_class=Formatter,
        description=(
            "Co-design toolkit for accelerators of pruned neural networks: generates the\n"
            "Verilog of the RTL blocks, benchmarks them on HDL simulators, estimates the\n"
            "latency, DRAM traffic and energy each pruning method buys on accelerators,\n"
            "GPUs and CPUs (analytic simulator), writes reports."
        ),
        epilog="Run `prunesim <command> --help` for a command's options.",
    )
    parser.add_argument("--version", action="version", version=f"%(prog)s {__version__}")
    commands = parser.add_subparsers(
        dest="command", metavar="command", required=True, action=LazySubcommands
    )
    for name, command in COMMANDS.items():
        commands.add_lazy(name, _filler(command), help=command.help)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """Run the ``prunesim`` command line; return the exit status.

    SIGINT and SIGTERM surface inside the command as exceptions (:class:`KeyboardInterrupt` and
    its subclass :class:`prunesim.interrupts.Terminated`), so what the command has half-written
    is removed; then one line on stderr, ``prunesim: interrupted`` (exit status 130) or
    ``prunesim: terminated`` (143), with Amaranth's warnings about the components an interrupted
    elaboration left unused silenced.
    """
    with sigterm_raises():
        try:
            return _run(argv)
        except Terminated:
            quiet_after_interrupt()
            print(f"{PROG}: terminated", file=sys.stderr)
            return 143
        except KeyboardInterrupt:
            quiet_after_interrupt()
            print(f"{PROG}: interrupted", file=sys.stderr)
            return 130


def _run(argv: Sequence[str] | None) -> int:
    parser = build_parser()
    try:
        args = parser.parse_args(argv)
    except SystemExit as exc:  # --help, --version, usage errors
        return exc.code if isinstance(exc.code, int) else 2
    try:
        return args.handler(args)
    except CLIError as exc:
        print(f"{PROG}: error: {exc}", file=sys.stderr)
        return exc.status
    except BrokenPipeError:  # e.g. `prunesim simulate --json | head`: the reader has gone
        import os

        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        return 0
