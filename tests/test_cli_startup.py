"""What the command line imports: ``prunesim --help`` only the command modules (no numpy, no
simulator, no Amaranth), ``prunesim verilog topk`` only the RTL it builds (no torch, no
simulator); and the docs that list registered things list them all."""

from __future__ import annotations

import json
import subprocess
import sys

import prunesim.sim.hardware as hardware_module
from prunesim.sim.hardware import hardware_kinds

HEAVY = ("numpy", "torch", "amaranth", "yaml", "matplotlib", "cocotb")


def _modules_after(argv: list[str], tmp_path) -> dict[str, list[str]]:
    """Run ``main(argv)`` in a fresh interpreter; the prunesim and heavy modules it imported."""
    code = (
        "import json, sys\n"
        "from prunesim.cli import main\n"
        f"status = main({argv!r})\n"
        "print(json.dumps({'status': [str(status)],"
        " 'prunesim': sorted(m for m in sys.modules if m.startswith('prunesim')),"
        f" 'heavy': sorted(m for m in {HEAVY!r} if m in sys.modules)}}))\n"
    )
    out = subprocess.run(
        [sys.executable, "-I", "-c", code],
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=300,
        check=True,
    )
    return json.loads(out.stdout.strip().splitlines()[-1])


def test_help_imports_only_the_command_modules(tmp_path) -> None:
    found = _modules_after(["--help"], tmp_path)
    assert found["status"] == ["0"]
    assert found["heavy"] == []
    outside = [
        m
        for m in found["prunesim"]
        if m not in ("prunesim", "prunesim.cli", "prunesim.argtypes", "prunesim.registry")
        and not m.startswith("prunesim.commands")
    ]
    assert outside == []


def test_verilog_imports_the_rtl_it_builds_only(tmp_path) -> None:
    out = tmp_path / "t.v"
    found = _modules_after(
        ["verilog", "topk", "--lanes", "2", "--max-n", "4", "--output", str(out)], tmp_path
    )
    assert found["status"] == ["0"] and out.read_text().startswith("/*")
    assert found["heavy"] == ["amaranth"]
    assert "prunesim.rtl.topk" in found["prunesim"]
    assert not [m for m in found["prunesim"] if m.startswith(("prunesim.sim", "prunesim.models"))]
    assert "prunesim.rtl.pq" not in found["prunesim"]  # the other block is not built


def test_the_hardware_docs_list_every_kind() -> None:
    assert hardware_kinds() == ["accelerator", "processor", "published", "systolic"]
    for kind in hardware_kinds():
        assert f"``{kind}``" in hardware_module.__doc__
