"""Writing generated files: whole or not at all.

For tests only: when the environment variable ``PRUNESIM_TEST_PAUSE_BEFORE_RENAME`` holds a number
of seconds, :func:`write_bytes_atomic` sleeps that long between writing its temporary file and
renaming it, so that a test can interrupt it there.
"""

from __future__ import annotations

import contextlib
import os
import tempfile
import time
from pathlib import Path

__all__ = ["PAUSE_BEFORE_RENAME", "write_bytes_atomic", "write_text_atomic"]

#: The test-only environment variable: seconds to sleep just before the rename.
PAUSE_BEFORE_RENAME = "PRUNESIM_TEST_PAUSE_BEFORE_RENAME"


def write_bytes_atomic(path: str | os.PathLike[str], content: bytes) -> None:
    """Write ``content`` to ``path`` whole or not at all: a temporary file in the same folder,
    then a rename. Creates the parent folders; the file gets the usual permissions (``0o666``
    less the umask). Raises ``OSError`` if it cannot be written, leaving no temporary file; an
    exception raised while it writes (such as :class:`KeyboardInterrupt` on SIGINT, or
    :class:`prunesim.cli.Terminated` on SIGTERM under ``prunesim``) removes the temporary
    file too, and leaves ``path`` as it was or, if the rename was done, whole."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp_name = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    try:
        with os.fdopen(fd, "wb") as file:
            file.write(content)
        umask = os.umask(0)
        os.umask(umask)
        os.chmod(tmp_name, 0o666 & ~umask)  # mkstemp makes 0600
        pause = os.environ.get(PAUSE_BEFORE_RENAME)
        if pause:
            time.sleep(float(pause))
        os.replace(tmp_name, path)
    except BaseException:
        with contextlib.suppress(OSError):
            os.unlink(tmp_name)
        raise


def write_text_atomic(path: str | os.PathLike[str], text: str) -> None:
    """:func:`write_bytes_atomic` of ``text`` encoded as UTF-8."""
    write_bytes_atomic(path, text.encode("utf-8"))
