"""``prunesim synth``: one-line errors before any tool runs, the report as a table and as JSON
under its ``inputs`` record, the cache hit, a missing tool.

One real run (a small PQ datapath on iCE40, the quickest target) is shared by the tests that
need one; :mod:`tests.test_synth_fpga` checks the figures against the tools' reports.
"""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
from pathlib import Path

import pytest
from cli_helpers import assert_one_line_error, run_cli

from prunesim.synth.targets import target_names

ROOT = Path(__file__).resolve().parents[1]
SMALL_PQ = ["--d", "1", "--q-bits", "2", "--msb-bits", "2", "--lsb-bits", "1"]
SMALL_PQ += ["--prob-bits", "2", "--max-n", "2", "--scale-shift", "4"]


def _env(**changes: str) -> dict[str, str]:
    env = dict(os.environ)
    env.setdefault("YOWASP_CACHE_DIR", str(ROOT / "build" / "yowasp-cache"))
    env.update(changes)
    return env


def _synth(*args: str, cwd: Path, **env: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "prunesim", "synth", *args],
        cwd=cwd,
        env=_env(**env),
        capture_output=True,
        text=True,
        timeout=900,
    )


@pytest.fixture(scope="module")
def ice40_runs(tmp_path_factory):
    """The small PQ on iCE40 twice: as a table, then (a cache hit) as JSON."""
    cwd = tmp_path_factory.mktemp("cli")
    first = _synth("pq", *SMALL_PQ, "--target", "fpga-ice40", cwd=cwd)
    second = _synth("pq", *SMALL_PQ, "--target", "fpga-ice40", "--json", cwd=cwd)
    return cwd, first, second


def test_targets_offered_are_the_registrys(tmp_path):
    result = run_cli("synth", "topk", "--help", cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    assert "{" + ",".join(target_names()) + "}" in result.stdout
    assert "0 < F <= 5000" in result.stdout
    for option in ("--width", "--lanes", "--max-n", "--json", "--build-dir", "--no-cache"):
        assert option in result.stdout
    result = run_cli("synth", "--help", cwd=tmp_path)
    assert "exit status" in result.stdout and "YOWASP_CACHE_DIR" in result.stdout


@pytest.mark.parametrize(
    ("args", "pattern"),
    [
        (["topk", "--target", "fpga-xyz"], r"--target: invalid choice: 'fpga-xyz'"),
        (["topk", "--clock-mhz", "0"], r"--clock-mhz: .*\(0, 5000\]"),
        (["topk", "--clock-mhz", "-5"], r"--clock-mhz"),
        (["topk", "--clock-mhz", "1e9"], r"--clock-mhz: .*\(0, 5000\]"),
        (["topk", "--clock-mhz", "nan"], r"--clock-mhz"),
        (["topk", "--clock-mhz", "fast"], r"--clock-mhz: must be a number of MHz, not 'fast'"),
        (["topk", "--lanes", "3"], r"lanes must be a power of two"),
        (["pq", "--d", "0"], r"\bd\b.*1\.\.256"),
        (["nope"], r"invalid choice: 'nope'"),
    ],
)
def test_bad_input_is_one_line_and_writes_nothing(tmp_path, args, pattern):
    result = _synth(*args, cwd=tmp_path)
    assert_one_line_error(result, pattern)
    assert list(tmp_path.iterdir()) == []


def test_missing_tool_is_one_line_exit_1(tmp_path):
    result = _synth("pq", *SMALL_PQ, "--target", "fpga-ice40", cwd=tmp_path, PATH=str(tmp_path))
    assert result.returncode == 1, result.stderr
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and "Traceback" not in result.stderr
    assert lines[0].startswith("prunesim: error: nextpnr-ice40 not found")
    assert "apt-get install -y nextpnr-ice40" in lines[0]
    assert not (tmp_path / "build" / "synth").exists()


def test_table_names_every_figure(ice40_runs):
    _, first, _ = ice40_runs
    assert first.returncode == 0, first.stderr
    steps = [line.split(":")[1].strip() for line in first.stderr.strip().splitlines()]
    assert steps == ["verilog", "synth", "pnr"]
    for row in ("resources", "Fmax", "critical path", "through", "power", "tool", "log"):
        assert re.search(rf"^\s*{row}\s", first.stdout, re.MULTILINE), row
    assert "estimate no power" in first.stdout


def test_json_is_the_cached_report_under_inputs(ice40_runs):
    cwd, first, second = ice40_runs
    assert second.returncode == 0, second.stderr
    progress = second.stderr.strip().splitlines()
    assert len(progress) == 1 and "cached:" in progress[0] and "no tool run" in progress[0]
    document = json.loads(second.stdout)
    assert list(document)[0] == "inputs"
    inputs = document["inputs"]
    assert inputs["block"] == "pq" and inputs["target"] == "fpga-ice40"
    assert inputs["params"] == {
        "d": 1,
        "q_bits": 2,
        "msb_bits": 2,
        "lsb_bits": 1,
        "prob_bits": 2,
        "max_n": 2,
        "scale_shift": 4,
    }
    assert inputs["clock_mhz"] == 100.0 and "version" in inputs["prunesim"]
    (workdir,) = (cwd / "build" / "synth").iterdir()
    saved = json.loads((workdir / "report.json").read_text())
    assert {k: v for k, v in document.items() if k != "inputs"} == saved["report"]
    # the table printed the same Fmax
    assert re.search(rf"^Fmax\s+{document['fmax_mhz']:.1f} MHz$", first.stdout, re.MULTILINE)
