"""The simulator's commands, run as a subprocess: ``prunesim simulate``, ``compare``, ``list``."""

from __future__ import annotations

import json
import re
import subprocess
from pathlib import Path

import pytest
from cli_helpers import assert_one_line_error, run_cli

from prunesim.models import model_names
from prunesim.sim import Summarize, hardware_names, method_names, simulate

DATA = Path(__file__).parent / "data" / "spatten"
TRACE = DATA / "gpt2-small-wikitext2-per8.csv"
SPATTEN_YAML = Path(__file__).parent.parent / "sim" / "hardware" / "spatten.yaml"
TOP_LEVEL = ("cycles", "seconds", "dram_bytes", "macs", "energy_j", "energy_breakdown_j", "layers")


def assert_ok(result: subprocess.CompletedProcess[str]) -> str:
    assert result.returncode == 0, result.stderr
    assert result.stderr == ""
    return result.stdout


# ---------------------------------------------------------------------------------------------
# simulate


def test_simulate_prints_a_table(tmp_path):
    out = assert_ok(run_cli("simulate", cwd=tmp_path))
    lines = out.splitlines()
    assert lines[0].startswith("gpt2-small / spatten on spatten: generate 32 tokens")
    assert re.search(r"^\s+time\s.*cycles", out, re.MULTILINE)
    assert re.search(r"^\s+DRAM\s", out, re.MULTILINE)
    assert re.search(r"^\s+energy\s", out, re.MULTILINE)
    header = next(i for i, line in enumerate(lines) if line.startswith("layer "))
    for column in ("cycles", "DRAM", "MACs", "energy"):
        assert column in lines[header]
    layer_rows = [line.split()[0] for line in lines[header + 1 :] if line.strip()]
    assert layer_rows == [str(layer) for layer in range(12)]
    assert list(tmp_path.iterdir()) == []  # nothing written


def test_simulate_json_equals_the_api(tmp_path):
    out = assert_ok(run_cli("simulate", "--json", cwd=tmp_path))
    data = json.loads(out)
    for key in TOP_LEVEL:
        assert key in data, key
    expected = simulate("gpt2-small", "spatten", "spatten")
    assert data["cycles"] == expected.cycles
    assert data["dram_bytes"] == expected.dram_bytes
    assert data["macs"] == expected.macs
    assert data["energy_j"] == expected.energy_j
    assert data["energy_breakdown_j"] == expected.energy_breakdown_j
    assert [layer["layer"] for layer in data["layers"]] == list(range(12))
    assert sum(layer["macs"] for layer in data["layers"]) == data["macs"]


def test_simulate_options_and_stage_reach_the_workload(tmp_path):
    args = ("simulate", "--model", "bert-base", "--tokens", "64", "--json")
    default = json.loads(assert_ok(run_cli(*args, cwd=tmp_path)))
    unpruned = json.loads(assert_ok(run_cli(*args, "--set", "token_keep=1", cwd=tmp_path)))
    assert default["stage"] == unpruned["stage"] == "summarize 64 tokens"
    expected = simulate("bert-base", "spatten", "spatten", stage=Summarize(64), token_keep=1.0)
    assert unpruned["cycles"] == expected.cycles
    assert unpruned["dram_bytes"] > default["dram_bytes"]


def test_simulate_trace(tmp_path):
    data = json.loads(assert_ok(run_cli("simulate", "--trace", TRACE, "--json", cwd=tmp_path)))
    assert data["method"] == "spatten (trace)"
    assert data["stage"] == "generate 32 tokens after a 992-token prompt"
    expected = simulate("gpt2-small", "spatten", "spatten", trace=TRACE)
    assert data["dram_bytes_by_tensor"] == expected.dram_bytes_by_tensor
    assert data["cycles"] == expected.cycles
    table = assert_ok(run_cli("simulate", "--trace", TRACE, cwd=tmp_path))
    assert table.startswith("gpt2-small / spatten (trace) on spatten")


def test_simulate_hardware_file(tmp_path):
    copy = tmp_path / "copy.yaml"
    copy.write_text(SPATTEN_YAML.read_text())
    preset = json.loads(assert_ok(run_cli("simulate", "--json", cwd=tmp_path)))
    same = json.loads(assert_ok(run_cli("simulate", "--hw", copy, "--json", cwd=tmp_path)))
    assert same["cycles"] == preset["cycles"]
    assert same["energy_j"] == preset["energy_j"]
    # The file is what is read: half the DRAM channels, half the bandwidth roof.
    text = SPATTEN_YAML.read_text()
    assert text.count("\n  channels: 16\n") == 1
    halved = tmp_path / "halved.yaml"
    halved.write_text(text.replace("\n  channels: 16\n", "\n  channels: 8\n"))
    halved_run = json.loads(
        assert_ok(run_cli("simulate", "--hw", "halved.yaml", "--json", cwd=tmp_path))
    )
    assert halved_run["bound_cycles"] == 2 * preset["bound_cycles"]  # generation is memory-bound
    assert halved_run["cycles"] >= preset["cycles"]
    assert halved_run["dram_bytes"] == preset["dram_bytes"]


# ---------------------------------------------------------------------------------------------
# compare and list

COMPARE = ("compare", "--model", "gpt2-small", "--method", "spatten", "--hw", "spatten,titan-xp")


def test_compare_prints_the_matrix(tmp_path):
    out = assert_ok(run_cli(*COMPARE, cwd=tmp_path))
    assert out.startswith("gpt2-small: generate 32 tokens")
    for column in ("speedup", "DRAM", "energy"):
        assert column in out
    rows = [line.split() for line in out.splitlines() if line.startswith("spatten ")]
    assert [row[1] for row in rows[:2]] == ["spatten", "titan-xp"]
    assert "vs titan-xp" in out


def test_compare_json(tmp_path):
    data = json.loads(assert_ok(run_cli(*COMPARE, "--json", cwd=tmp_path)))
    assert len(data) == 1
    matrix = data[0]
    assert matrix["model"] == "gpt2-small"
    assert matrix["hardware"] == ["spatten", "titan-xp"]
    assert matrix["baselines"] == ["titan-xp"]
    entries = {(e["method"], e["hardware"]): e for e in matrix["entries"]}
    assert set(entries) == {("spatten", "spatten"), ("spatten", "titan-xp")}
    on_spatten = entries[("spatten", "spatten")]
    assert on_spatten["seconds"] == simulate("gpt2-small", "spatten", "spatten").seconds
    assert on_spatten["speedup"] > 1 and on_spatten["dram_reduction"] > 1
    assert on_spatten["vs_baselines"]["titan-xp"]["speedup"] > 1


def test_list_shows_every_section(tmp_path):
    out = assert_ok(run_cli("list", cwd=tmp_path))
    for title in ("models (--model):", "methods (--method)", "hardware presets (--hw"):
        assert re.search(rf"^{re.escape(title)}", out, re.MULTILINE), title
    for name in [*model_names(), *method_names(), *hardware_names()]:
        assert re.search(rf"^  {re.escape(name)}\s", out, re.MULTILINE), name


@pytest.mark.parametrize(
    ("section", "names", "other"),
    [
        ("models", model_names(), "spatten-token"),
        ("methods", method_names(), "gpt2-small"),
        ("hardware", hardware_names(), "bert-base"),
    ],
)
def test_list_one_section(tmp_path, section, names, other):
    out = assert_ok(run_cli("list", section, cwd=tmp_path))
    first = [line.split()[0] for line in out.splitlines() if line and not line[0].isspace()]
    assert first == names
    assert other not in out


def test_list_methods_shows_the_options(tmp_path):
    out = assert_ok(run_cli("list", "methods", cwd=tmp_path))
    assert "token_keep=" in out and "v_keep=" in out and "lsb_bits=" in out


@pytest.mark.parametrize(
    ("command", "explains"),
    [
        ("simulate", ["--trace", "--set NAME=VALUE", "--hw", "--json", "prunesim list"]),
        ("compare", ["comma-separated", "dense", "baseline", "--json"]),
    ],
)
def test_help(tmp_path, command, explains):
    out = assert_ok(run_cli(command, "--help", cwd=tmp_path))
    assert out.startswith(f"usage: prunesim {command}")
    for text in explains:
        assert text in out, text


# ---------------------------------------------------------------------------------------------
# Bad input: exit status 2, one line on stderr naming the bad value, nothing on stdout.


@pytest.mark.parametrize(
    ("args", "pattern"),
    [
        (["simulate", "--model", "nosuch"], r"unknown model 'nosuch' \(choose from .*gpt2-small"),
        (["simulate", "--method", "nosuch"], r"unknown method 'nosuch' \(choose from .*dense"),
        (["simulate", "--hw", "nosuch"], r"unknown hardware 'nosuch' \(choose from .*spatten"),
        (
            ["compare", "--model", "nosuch", "--method", "spatten", "--hw", "spatten"],
            r"unknown model 'nosuch'",
        ),
        (
            ["compare", "--model", "gpt2-small", "--method", "nosuch", "--hw", "spatten"],
            r"unknown method 'nosuch'",
        ),
        (
            ["compare", "--model", "gpt2-small", "--method", "spatten", "--hw", "spatten,nosuch"],
            r"unknown hardware 'nosuch'",
        ),
        (["simulate", "--set", "token_keep=1.5"], r"token_keep must be in \(0, 1\], not 1\.5"),
        (["simulate", "--set", "token_keep=0"], r"token_keep must be in \(0, 1\], not 0"),
        (["simulate", "--set", "token_keep=abc"], r"token_keep.*'abc'"),
        (["simulate", "--set", "nosuch=1"], r"unknown option 'nosuch'"),
        (["simulate", "--tokens", "0"], r"--tokens.*'0'"),
        (
            ["simulate", "--model", "bert-base", "--stage", "generate"],
            r"bert-base is an encoder.*generate",
        ),
        (["simulate", "--trace", TRACE, "--method", "dense"], r"method must be spatten.*'dense'"),
    ],
    ids=lambda value: " ".join(map(str, value)) if isinstance(value, list) else None,
)
def test_bad_input(tmp_path, args, pattern):
    assert_one_line_error(run_cli(*args, cwd=tmp_path), pattern)


def _spatten_yaml_line(text: str) -> int:
    return SPATTEN_YAML.read_text().splitlines().index(text) + 1


@pytest.mark.parametrize(
    ("name", "edit", "pattern"),
    [
        ("zero.yaml", "  channels: 0", r"must be a positive integer, not 0$"),
        ("negative.yaml", "  channels: -4", r"must be a positive integer, not -4$"),
        ("missing.yaml", None, r"missing"),
    ],
)
def test_bad_hardware_file_names_file_line_and_field(tmp_path, name, edit, pattern):
    lines = SPATTEN_YAML.read_text().splitlines()
    at = lines.index("  channels: 16")
    if edit is None:
        del lines[at]
        line = _spatten_yaml_line("dram:                         # HBM2")  # the group
    else:
        lines[at] = edit
        line = at + 1
    (tmp_path / name).write_text("\n".join(lines) + "\n")
    result = run_cli("simulate", "--hw", name, cwd=tmp_path)
    assert_one_line_error(result, rf"error: {re.escape(name)}:{line}: dram\.channels: {pattern}")


def test_bad_trace_column(tmp_path):
    text = TRACE.read_text()
    (tmp_path / "column.csv").write_text(text.replace("key_fetch_num", "key_fetch_nmu", 1))
    result = run_cli("simulate", "--trace", "column.csv", cwd=tmp_path)
    assert_one_line_error(result, r"column\.csv:1: key_fetch_nmu: unknown column")


def test_bad_trace_row(tmp_path):
    lines = TRACE.read_text().splitlines()
    assert lines[4].startswith("0,0,3,64.0,993,993,")
    lines[4] = lines[4].replace(",993,993,", ",993,99x,", 1)
    (tmp_path / "row.csv").write_text("\n".join(lines) + "\n")
    result = run_cli("simulate", "--trace", "row.csv", cwd=tmp_path)
    assert_one_line_error(result, r"row\.csv:5: key_fetch_num: .*'99x'")
