"""The ``prunesim`` command line.

``main(argv)`` returns the exit status: 0 on success, 2 for bad input (a one-line
``prunesim: error: ...`` message on stderr, no traceback, no file written), 1 when something the
command needs is missing, 130 on SIGINT and 143 on SIGTERM (one line, see :func:`main`). The
commands are the modules of :mod:`prunesim.commands`; this module only dispatches. Generated files
are written whole or not at all (a temporary file in the same folder, then a rename).
"""

from __future__ import annotations

import argparse
import signal
import sys
import threading
import warnings
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from typing import Any, NoReturn

from prunesim import __version__
from prunesim.argtypes import CLIError, one_line
from prunesim.commands import COMMANDS, Command, Formatter, LazySubcommands

__all__ = ["PROG", "Terminated", "build_parser", "main", "sigterm_raises"]

PROG = "prunesim"


class Terminated(KeyboardInterrupt):
    """Raised in the main thread when the process receives SIGTERM under :func:`sigterm_raises`
    (which :func:`main` holds around every command).

    A :class:`KeyboardInterrupt`, so that whatever cleans up on Ctrl-C (``except
    KeyboardInterrupt``, ``finally``, :func:`prunesim.files.write_bytes_atomic`'s removal of its
    temporary file) cleans up on SIGTERM too; commands need not import it.
    """


def _raise_terminated(signum: int, frame: object) -> None:
    raise Terminated(f"received signal {signum} (SIGTERM)")


@contextmanager
def sigterm_raises() -> Iterator[None]:
    """Within the block, SIGTERM raises :class:`Terminated` in the main thread; the previous
    handler is restored after it. Does nothing outside the main thread (where Python cannot set
    signal handlers)."""
    if threading.current_thread() is not threading.main_thread():
        yield
        return
    previous = signal.signal(signal.SIGTERM, _raise_terminated)
    try:
        yield
    finally:
        if signal.getsignal(signal.SIGTERM) is _raise_terminated:  # else the block changed it
            signal.signal(signal.SIGTERM, previous)


def _quiet_after_interrupt() -> None:
    """Silence, from now on, Amaranth's ``UnusedElaboratable`` warnings.

    Amaranth warns about every component garbage-collected without having been elaborated
    ("created but never used"); an elaboration cut short by an interrupt leaves a score of them,
    which would bury the one-line message. Called on an interrupt, just before ``main`` returns
    (the filter stays for the rest of the process). Imports nothing that is not loaded.
    """
    amaranth_hdl = sys.modules.get("amaranth.hdl")
    unused = getattr(amaranth_hdl, "UnusedElaboratable", None)
    if isinstance(unused, type) and issubclass(unused, Warning):
        warnings.simplefilter("ignore", unused)


def _interrupt_handled() -> None:
    """Tell CPython that the interrupt just caught was handled, so that the process exits with
    ``main``'s status, not killed by SIGINT.

    CPython marks a KeyboardInterrupt as unhandled whenever one ends the evaluation of code
    compiled from a string (``exec`` of text: ``dataclasses`` and ``collections.namedtuple``
    build methods that way, and an interrupt lands there now and then while a command imports
    or elaborates), even when a caller catches it later. ``python -m prunesim`` checks that
    mark once the interpreter is finalised and then kills itself with SIGINT (exit status -2
    instead of 130). Every such evaluation clears the mark first, so evaluating one trivial
    text clears it.
    """
    exec("pass")


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
    its subclass :class:`Terminated`), so what the command has half-written is removed; then one
    line on stderr, ``prunesim: interrupted`` (exit status 130) or
    ``prunesim: terminated`` (143), with Amaranth's warnings about the components an interrupted
    elaboration left unused silenced. Signals that arrive before ``main`` starts (while Python
    imports it) get Python's default behaviour. When ``argv`` is ``None`` (``main`` is the
    program), SIGINT and SIGTERM are ignored once the command has finished, while the process
    exits: the work is done, and a signal then could only turn it into a traceback.
    """
    with sigterm_raises():
        try:
            status = _run(argv)
        except Terminated:
            _interrupt_handled()
            _quiet_after_interrupt()
            print(f"{PROG}: terminated", file=sys.stderr)
            status = 143
        except KeyboardInterrupt:
            _interrupt_handled()
            _quiet_after_interrupt()
            print(f"{PROG}: interrupted", file=sys.stderr)
            status = 130
        finally:
            is_main_thread = threading.current_thread() is threading.main_thread()
            if argv is None and is_main_thread:  # the program itself (`prunesim ...`), exiting
                for signum in (signal.SIGINT, signal.SIGTERM):
                    signal.signal(signum, signal.SIG_IGN)
    return status


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
