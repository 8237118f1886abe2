"""The ``"inputs"`` record of every JSON output (:mod:`prunesim.provenance`): ``simulate --json``,
``compare --json``, the RTL benches' ``<block>_bench.json`` and ``bench scalesim --json``."""

from __future__ import annotations

import argparse
import hashlib
import json
import platform
import shutil
import subprocess
from pathlib import Path

import pytest

import prunesim
from prunesim.bench import BENCHES
from prunesim.bench import scalesim as scalesim_bench
from prunesim.bench.common import run_and_report
from prunesim.cli import main
from prunesim.provenance import git_record
from prunesim.sim import simulate
from prunesim.sim.methods import get_method
from prunesim.sim.methods.options import json_values
from prunesim.sim.workload import Summarize

ROOT = Path(__file__).resolve().parents[1]
PACKAGE = Path(prunesim.__file__).resolve().parent
PRESETS = ROOT / "sim" / "hardware"
TRACE = Path(__file__).parent / "data" / "spatten" / "gpt2-small-wikitext2-per8.csv"


def sha256(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def git(folder: Path, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(["git", *args], cwd=folder, capture_output=True, text=True, check=False)


def expected_version() -> dict:
    """What the record must say of this run, asked of git here independently."""
    record = {"version": prunesim.__version__}
    head = git(PACKAGE, "rev-parse", "HEAD") if shutil.which("git") else None
    if head is not None and head.returncode == 0:
        status = git(PACKAGE, "status", "--porcelain", "--untracked-files=no")
        record.update(git_commit=head.stdout.strip(), git_dirty=bool(status.stdout.strip()))
    record["python"] = platform.python_version()
    return record


def run_json(capsys, *argv: str) -> object:
    assert main([*argv, "--json"]) == 0
    captured = capsys.readouterr()
    assert captured.err == ""
    return json.loads(captured.out)


def defaults(method: str) -> dict:
    return json_values(get_method(method).options)


# ---------------------------------------------------------------------------------------------
# simulate


def test_simulate_records_its_inputs(capsys):
    data = run_json(
        capsys, "simulate", "--model", "bert-base", "--tokens", "64", "--set", "token_keep=0.3"
    )
    assert next(iter(data)) == "inputs"  # first, at the top
    inputs = data["inputs"]
    assert inputs["prunesim"] == expected_version()
    assert inputs["prunesim"]["version"] == prunesim.__version__
    assert (inputs["model"], inputs["method"]) == ("bert-base", "spatten")
    options = inputs["options"]
    assert options["token_keep"] == 0.3
    assert options == {**defaults("spatten"), "token_keep": 0.3}
    assert list(options) == list(defaults("spatten"))  # every option, in declaration order
    assert inputs["hardware"] == {
        "name": "spatten",
        "file": "spatten.yaml",
        "sha256": sha256(PRESETS / "spatten.yaml"),
    }
    assert inputs["stage"] == {"kind": "summarize", "tokens": 64}
    assert inputs["mode"] == "attention"
    assert inputs["weight_bits"] == 8  # BERT's default
    assert "trace" not in inputs
    # The rest is the result as it was, key for key.
    expected = simulate("bert-base", "spatten", "spatten", stage=Summarize(64), token_keep=0.3)
    rest = {key: value for key, value in data.items() if key != "inputs"}
    assert rest == json.loads(json.dumps(expected.to_dict()))


def test_simulate_records_a_hardware_file_and_the_options_given(capsys, tmp_path):
    copy = tmp_path / "my accelerator.yaml"
    copy.write_bytes((PRESETS / "spatten.yaml").read_bytes())
    inputs = run_json(
        capsys,
        "simulate",
        "--model", "gpt2-small",
        "--hw", str(copy),
        "--prompt", "8",
        "--generate", "2",
        "--mode", "e2e",
        "--weight-bits", "4",
    )["inputs"]  # fmt: skip
    assert inputs["hardware"] == {
        "name": "spatten",  # the file's own name
        "file": str(copy),
        "sha256": sha256(PRESETS / "spatten.yaml"),
    }
    assert inputs["stage"] == {"kind": "generate", "prompt": 8, "generate": 2}
    assert (inputs["mode"], inputs["weight_bits"]) == ("e2e", 4)
    assert inputs["options"] == defaults("spatten")


def test_simulate_records_the_trace(capsys):
    inputs = run_json(capsys, "simulate", "--trace", str(TRACE))["inputs"]
    assert inputs["trace"] == {"file": str(TRACE), "sha256": sha256(TRACE)}
    assert inputs["options"] == {}  # a trace fixes the work
    assert inputs["stage"] == {"kind": "generate", "prompt": 992, "generate": 32}


def test_simulate_records_pairs_and_lists_as_json(capsys):
    inputs = run_json(
        capsys, "simulate", "--model", "resnet20", "--method", "lapp", "--hw", "systolic-32",
        "--set", "keep=layer1.0.conv1=0.5,layer2.0.conv1=0.25",
    )["inputs"]  # fmt: skip
    assert inputs["options"]["keep"] == {"layer1.0.conv1": 0.5, "layer2.0.conv1": 0.25}
    assert inputs["stage"] == {"kind": "infer", "batch": 1}
    assert inputs["mode"] == "network"


def test_json_values_of_each_option_form():
    from prunesim.sim.methods.lapp import LAPPOptions
    from prunesim.sim.methods.ofa import OFAOptions

    pairs = json_values(LAPPOptions(keep="a=0.5,b=1"))
    assert pairs["keep"] == {"a": 0.5, "b": 1.0}
    assert json_values(LAPPOptions(keep="0.5,0.25"))["keep"] == [0.5, 0.25]
    assert json_values(LAPPOptions())["keep"] is None
    ofa = json_values(OFAOptions(ks="3,5", resolution=160))
    assert ofa == {"net": None, "spec": None, "ks": [3, 5], "e": None, "d": None, "resolution": 160}
    assert json.loads(json.dumps(pairs)) == pairs


# ---------------------------------------------------------------------------------------------
# compare


def test_compare_records_each_models_inputs(capsys):
    data = run_json(
        capsys,
        "compare",
        "--model", "gpt2-small,bert-base",
        "--method", "spatten-token",
        "--hw", "spatten,titan-xp",
        "--set", "token_keep=0.5",
    )  # fmt: skip
    assert [matrix["model"] for matrix in data] == ["gpt2-small", "bert-base"]
    hardware = [
        {"name": name, "file": f"{name}.yaml", "sha256": sha256(PRESETS / f"{name}.yaml")}
        for name in ("spatten", "titan-xp")
    ]
    stages = [
        {"kind": "generate", "prompt": 992, "generate": 32},
        {"kind": "summarize", "tokens": 128},
    ]
    for matrix, stage in zip(data, stages, strict=True):
        assert next(iter(matrix)) == "inputs"
        inputs = matrix["inputs"]
        assert inputs["prunesim"] == expected_version()
        assert inputs["model"] == matrix["model"]
        assert inputs["methods"] == [
            {"name": "dense", "options": defaults("dense")},  # the reference: no overrides
            {"name": "spatten-token", "options": {**defaults("spatten-token"), "token_keep": 0.5}},
        ]
        assert inputs["hardware"] == hardware
        assert inputs["stage"] == stage
        assert (inputs["mode"], inputs["weight_bits"]) == ("attention", 8)


def test_compare_records_a_file_given_twice_once(capsys):
    """A preset by name and by path is one target (``load_targets``), so one record: the
    record follows the targets that ran (it used to zip the names given with the targets and
    fail: 'zip() argument 2 is shorter than argument 1')."""
    data = run_json(
        capsys,
        "compare",
        "--model", "bert-base",
        "--method", "spatten",
        "--hw", f"a100,{PRESETS / 'a100.yaml'},titan-xp",
    )  # fmt: skip
    (matrix,) = data
    assert matrix["hardware"] == ["a100", "titan-xp"]
    assert matrix["inputs"]["hardware"] == [
        {"name": name, "file": f"{name}.yaml", "sha256": sha256(PRESETS / f"{name}.yaml")}
        for name in ("a100", "titan-xp")
    ]


# ---------------------------------------------------------------------------------------------
# benches


class _FakeResult:
    def to_dict(self) -> dict:
        return {"sims": ["icarus"], "frames": 2, "cases": []}


@pytest.mark.parametrize("block", ["topk", "pq"])
def test_rtl_bench_json_records_its_parameters(capsys, tmp_path, block):
    parser = argparse.ArgumentParser()
    BENCHES.get(block).add_arguments(parser)
    args = parser.parse_args(["--sims", "icarus", "--frames", "2", "--build-dir", str(tmp_path)])
    assert run_and_report(args, block, lambda *_: _FakeResult(), lambda _: "report") is not None
    capsys.readouterr()
    data = json.loads((tmp_path / f"{block}_bench.json").read_text())
    assert list(data) == ["inputs", "sims", "frames", "cases"]
    assert data["inputs"] == {
        "prunesim": expected_version(),
        "bench": block,
        "parameters": {
            "sims": "icarus",
            "frames": 2,
            "seed": 1,
            "quick": False,
            "build_dir": str(tmp_path),
            "waves": False,
        },
    }


def test_scalesim_json_records_its_parameters(capsys, tmp_path, monkeypatch):
    row = scalesim_bench.CrosscheckRow(
        "resnet20:layer1.0.conv1", "16x32x32", "ws", 1024, 16, 144, 1200, 0, 50.0, 1201, 1, 1, 0.1
    )
    monkeypatch.setattr(scalesim_bench, "crosscheck", lambda layers, **kwargs: [row])
    out = tmp_path / "rows.json"
    argv = ["--dataflow", "ws", "--layers", "resnet20:layer1.0.conv1", "--sparsity", "2:4"]
    assert scalesim_bench.main([*argv, "--json", str(out)]) == 0
    capsys.readouterr()
    (data,) = json.loads(out.read_text())
    assert {key: value for key, value in data.items() if key != "inputs"} == row.to_dict()
    assert data["inputs"] == {
        "prunesim": expected_version(),
        "bench": "scalesim",
        "parameters": {
            "dataflow": "ws",
            "rows": 32,
            "columns": 32,
            "layers": "resnet20:layer1.0.conv1",
            "sram_kb": 64,
            "bandwidth": None,
            "sparsity": [2, 4],
            "venv": None,
            "jobs": None,
            "json": str(out),
        },
    }


# ---------------------------------------------------------------------------------------------
# The version record's git part


def _commit(repo: Path) -> None:
    git(repo, "add", "-A")
    result = git(repo, "-c", "user.name=t", "-c", "user.email=t@t", "commit", "-qm", "c")
    assert result.returncode == 0, result.stderr


def test_git_record_of_a_checkout(tmp_path):
    assert git(tmp_path, "init", "-q").returncode == 0
    package = tmp_path / "pkg"
    package.mkdir()
    (package / "__init__.py").write_text("")
    assert git_record.__wrapped__(package) == {}  # not tracked (a venv inside a checkout)
    _commit(tmp_path)
    head = git(tmp_path, "rev-parse", "HEAD").stdout.strip()
    assert git_record.__wrapped__(package) == {"git_commit": head, "git_dirty": False}
    (tmp_path / "untracked.txt").write_text("x")
    assert git_record.__wrapped__(package)["git_dirty"] is False
    (package / "__init__.py").write_text("x = 1\n")
    assert git_record.__wrapped__(package) == {"git_commit": head, "git_dirty": True}


def test_git_record_without_a_checkout_or_git(tmp_path, monkeypatch):
    assert git_record.__wrapped__(tmp_path) == {}  # tmp_path is in no checkout
    monkeypatch.setenv("PATH", str(tmp_path))  # no git to run
    assert git_record.__wrapped__(PACKAGE) == {}
