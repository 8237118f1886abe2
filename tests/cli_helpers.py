"""Helpers of the command-line tests: run ``python -m prunesim`` and check its one-line errors."""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path


def run_cli(*args: object, cwd: Path) -> subprocess.CompletedProcess[str]:
    """Run ``python -m prunesim ARGS`` in ``cwd`` with this interpreter; capture its output."""
    return subprocess.run(
        [sys.executable, "-m", "prunesim", *(str(arg) for arg in args)],
        cwd=cwd,
        capture_output=True,
        text=True,
        timeout=600,
    )


def assert_one_line_error(result: subprocess.CompletedProcess[str], pattern: str) -> None:
    """Exit status 2, one line ``prunesim: error: ...`` matching ``pattern``, no traceback,
    nothing on stdout."""
    assert result.returncode == 2, result.stderr
    assert "Traceback" not in result.stderr
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1, result.stderr
    assert lines[0].startswith("prunesim: error: "), lines[0]
    assert re.search(pattern, lines[0], re.IGNORECASE), lines[0]
    assert result.stdout == ""
