"""Interrupts as exceptions: what ``prunesim`` does on SIGINT and SIGTERM.

Python turns SIGINT into :class:`KeyboardInterrupt`; :func:`sigterm_raises` turns SIGTERM into
:class:`Terminated`, a subclass of it, for as long as it is active (the command line's ``main``
holds it around every command). So inside a command both signals surface as exceptions where the
program is, and the code that cleans up on an interrupt (``except KeyboardInterrupt``, ``finally``,
:func:`prunesim.files.write_bytes_atomic`'s removal of its temporary file) runs for both.

Importing this module imports only the standard library.
"""

from __future__ import annotations

import signal
import sys
import threading
import warnings
from collections.abc import Iterator
from contextlib import contextmanager

__all__ = ["Terminated", "quiet_after_interrupt", "sigterm_raises"]


class Terminated(KeyboardInterrupt):
    """Raised in the main thread when the process receives SIGTERM under :func:`sigterm_raises`.

    A :class:`KeyboardInterrupt`, so that whatever cleans up on Ctrl-C cleans up on SIGTERM too.
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
        signal.signal(signal.SIGTERM, previous)


def quiet_after_interrupt() -> None:
    """Silence, from now on, Amaranth's ``UnusedElaboratable`` warnings.

    Amaranth warns about every component that is garbage-collected without having been elaborated
    ("created but never used"); an elaboration cut short by an interrupt leaves a score of them,
    which only bury the one-line message. The command line calls this on an interrupt, just before
    it exits (the filter stays for the rest of the process). Imports nothing that is not loaded.
    """
    amaranth_hdl = sys.modules.get("amaranth.hdl")
    unused = getattr(amaranth_hdl, "UnusedElaboratable", None)
    if isinstance(unused, type) and issubclass(unused, Warning):
        warnings.simplefilter("ignore", unused)
