"""The ``prunesim`` command line, run as a subprocess (``python -m prunesim``)."""

import re
from pathlib import Path

import pytest
from cli_helpers import assert_one_line_error, run_cli


@pytest.mark.parametrize(
    ("command", "explains"),
    [
        ([], "pruned neural networks"),
        (["verilog"], "Verilog"),
        (["verilog", "topk"], "--max-n"),
        (["report"], "summary"),
        (["bench"], "Icarus Verilog"),
        (["bench", "topk"], "--quick"),
        (["verilog", "pq"], "--scale-shift"),
        (["synth"], "YOWASP_CACHE_DIR"),
        (["synth", "pq"], "--clock-mhz"),
        (["bench", "pq"], "LSB pass"),
        (["bench", "sim"], "compare"),
        (["list"], "blocks"),
    ],
    ids=lambda value: " ".join(value) if isinstance(value, list) else None,
)
def test_help(tmp_path, command, explains):
    result = run_cli(*command, "--help", cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    assert result.stdout.startswith("usage: prunesim")
    assert explains in result.stdout
    assert result.stderr == ""


def test_list_blocks(tmp_path):
    result = run_cli("list", "blocks", cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    assert re.search(r"^topk\s", result.stdout, re.MULTILINE)
    assert re.search(r"^pq\s", result.stdout, re.MULTILINE)
    assert re.search(r"^sorter\s+Batcher odd-even merge sorter", result.stdout, re.MULTILINE)
    assert "--max-n 1024" in result.stdout


def test_list_all_sections(tmp_path):
    result = run_cli("list", cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    for title in ("RTL blocks", "models", "methods", "hardware presets"):
        assert re.search(rf"^{title}\b.*:$", result.stdout, re.MULTILINE), title
    for name in ("topk", "gpt2-small", "spatten-pq", "titan-xp"):
        assert re.search(rf"^  {name}\s", result.stdout, re.MULTILINE), name


def test_no_command(tmp_path):
    assert_one_line_error(run_cli(cwd=tmp_path), "required")


@pytest.mark.parametrize(
    ("options", "names"),
    [
        (["--lanes", "3"], r"lanes"),
        (["--lanes", "0"], r"lanes"),
        (["--width", "0"], r"width"),
        (["--lanes", "16", "--max-n", "8"], r"max[_-]n"),
        (["--width", "abc"], r"--width.*'abc'"),
        (["--lanes", "2.5"], r"--lanes.*'2\.5'"),
        (["--max-n", ""], r"--max-n"),
    ],
    ids=lambda value: " ".join(value) if isinstance(value, list) else None,
)
def test_verilog_topk_bad_values(tmp_path, options, names):
    output = tmp_path / "out" / "topk.v"
    result = run_cli("verilog", "topk", *options, "--output", str(output), cwd=tmp_path)
    assert_one_line_error(result, names)
    assert not output.exists()
    assert not output.parent.exists() or not any(output.parent.iterdir())
    assert not (tmp_path / "build").exists()


@pytest.mark.parametrize(
    ("options", "names"),
    [
        (["--d", "0"], r"\bd must be"),
        (["--prob-bits", "20"], r"prob_bits"),
        (["--scale-shift", "40"], r"scale_shift"),
        (["--lsb-bits", "0"], r"lsb_bits"),
        (["--q-bits", "x"], r"--q-bits.*'x'"),
    ],
    ids=lambda value: " ".join(value) if isinstance(value, list) else None,
)
def test_verilog_pq_bad_values(tmp_path, options, names):
    output = tmp_path / "pq.v"
    result = run_cli("verilog", "pq", *options, "--output", str(output), cwd=tmp_path)
    assert_one_line_error(result, names)
    assert list(tmp_path.iterdir()) == []


def test_verilog_pq(tmp_path):
    output = tmp_path / "pq.v"
    result = run_cli(
        "verilog", "pq", "--d", "4", "--max-n", "16", "--output", str(output), cwd=tmp_path
    )
    assert result.returncode == 0, result.stderr
    text = output.read_text()
    assert "module pq(" in text
    for port in (
        "threshold",
        "scale",
        "i_query__payload",
        "i_key_msb__valid",
        "o_decision__ready",
        "i_key_lsb__payload",
        "o_prob__payload",
    ):
        assert re.search(rf"^\s*(input|output)\s.*\b{port};", text, re.MULTILINE), port


def test_verilog_topk(tmp_path):
    output = tmp_path / "out" / "topk.v"
    result = run_cli(
        "verilog",
        "topk",
        "--width",
        "8",
        "--lanes",
        "4",
        "--max-n",
        "64",
        "--output",
        str(output),
        cwd=tmp_path,
    )
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == f"wrote {output} (topk: width=8 lanes=4 max_n=64)"
    assert "module topk(" in output.read_text()
    assert [path.name for path in output.parent.iterdir()] == ["topk.v"]  # no temporary left


def test_verilog_sorter(tmp_path):
    output = tmp_path / "sorter.v"
    options = ["--width", "8", "--lanes", "4", "--max-n", "64", "--output", str(output)]
    result = run_cli("verilog", "sorter", *options, cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == f"wrote {output} (sorter: width=8 lanes=4 max_n=64)"
    assert "module sorter(" in output.read_text()
    bad = run_cli("verilog", "sorter", "--lanes", "64", "--output", str(output), cwd=tmp_path)
    assert_one_line_error(bad, r"lanes must be a power of two in 1\.\.32, not 64")


def test_verilog_topk_defaults(tmp_path):
    result = run_cli("verilog", "topk", cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    output = Path("build/verilog/topk.v")
    assert result.stdout.strip() == f"wrote {output} (topk: width=16 lanes=16 max_n=1024)"
    assert "module topk(" in (tmp_path / output).read_text()


def test_verilog_topk_replaces_whole_file(tmp_path):
    output = tmp_path / "topk.v"
    output.write_text("stale\n")
    result = run_cli(
        "verilog", "topk", "--lanes", "4", "--max-n", "16", "-o", str(output), cwd=tmp_path
    )
    assert result.returncode == 0, result.stderr
    text = output.read_text()
    assert "stale" not in text and "module topk(" in text
    assert sorted(path.name for path in tmp_path.iterdir()) == ["topk.v"]


def test_verilog_output_is_a_folder(tmp_path):
    folder = tmp_path / "here"
    folder.mkdir()
    result = run_cli("verilog", "topk", "--output", str(folder), cwd=tmp_path)
    assert_one_line_error(result, r"cannot write .*here")
    assert list(folder.iterdir()) == []
    assert sorted(path.name for path in tmp_path.iterdir()) == ["here"]


def test_report_rtl_section(tmp_path):
    result = run_cli("report", "--out", "out", "--build", "gen", "--sections", "rtl", cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    report = (tmp_path / "out" / "report.md").read_text()
    expected = {
        "topk": "topk: width=16 lanes=16 max_n=1024",
        "pq": "pq: d=64 q_bits=12 msb_bits=8 lsb_bits=4 prob_bits=12 max_n=1024 scale_shift=32",
    }
    for block, description in expected.items():
        verilog = tmp_path / "gen" / "verilog" / f"{block}.v"
        text = verilog.read_text()
        assert f"module {block}(" in text
        assert str(Path("gen/verilog") / f"{block}.v") in result.stdout
        header = f"`{Path('gen/verilog') / (block + '.v')}`, {len(text.splitlines())} lines; "
        header += description
        assert header in report
        table = report.split(header, 1)[1].split("\n\n", 2)[1]
        ports = {}
        for line in table.splitlines()[2:]:
            name, direction, width = (cell.strip(" `") for cell in line.strip("|").split("|"))
            ports[name] = (direction, int(width))
        assert ports["clk"] == ("input", 1)
        assert ports["rst"] == ("input", 1)
        # Every port listed is a port of the generated module, with that width.
        for name, (direction, width) in ports.items():
            bits = rf"\[{width - 1}:0\]\s+" if width > 1 else ""
            assert re.search(
                rf"^\s*{direction}\s+(?:wire\s+|reg\s+)?{bits}{name}\s*;", text, re.MULTILINE
            ), name


def test_report_whole(tmp_path):
    result = run_cli("report", "--out", "out", "--build", "gen", cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    out = tmp_path / "out"
    report = (out / "report.md").read_text()
    from prunesim.report import SECTIONS

    for section in SECTIONS:
        assert f"## {section.title}" in report
    figures = sorted(path.name for path in (out / "figures").iterdir())
    assert figures == [
        "ablation.png",
        "aim.png",
        "catp.png",
        "energy.png",
        "fedtiny_density.png",
        "lapp.png",
        "ofa_sweep.png",
        "roofline.png",
        "sara_memory.png",
        "schedule.png",
        "supertickets.png",
        "vflowopt.png",
    ]
    for name in figures:
        assert f"](figures/{name})" in report
        assert (out / "figures" / name).read_bytes().startswith(b"\x89PNG")
    # Deterministic: a second run writes the same bytes.
    again = run_cli("report", "--out", "again", "--build", "gen", cwd=tmp_path)
    assert again.returncode == 0, again.stderr
    for path in sorted(out.rglob("*")):
        if path.is_file():
            twin = tmp_path / "again" / path.relative_to(out)
            assert twin.read_bytes() == path.read_bytes(), path


def test_report_unknown_section_writes_nothing(tmp_path):
    result = run_cli("report", "--out", "out", "--sections", "rtl,nosuch", cwd=tmp_path)
    assert_one_line_error(result, r"unknown section 'nosuch'.*paper")
    assert list(tmp_path.iterdir()) == []


@pytest.mark.parametrize(
    ("options", "names"),
    [
        (["--sims", "modelsim"], r"--sims.*modelsim"),
        (["--sims", ","], r"--sims"),
        (["--frames", "0"], r"--frames"),
        (["--seed", "x"], r"--seed"),
    ],
    ids=lambda value: " ".join(value) if isinstance(value, list) else None,
)
def test_bench_topk_bad_values(tmp_path, options, names):
    result = run_cli("bench", "topk", *options, cwd=tmp_path)
    assert_one_line_error(result, names)
    assert list(tmp_path.iterdir()) == []


def test_bench_sim(tmp_path):
    result = run_cli("bench", "sim", "--repeat", "1", cwd=tmp_path)
    assert result.returncode in (0, 1), result.stderr
    lines = result.stdout.splitlines()
    assert lines[0].split()[:2] == ["what", "size"]
    # trace load, evaluate, both (with a target); the compare matrices (with targets)
    assert [" ".join(line.split()[:2]) for line in lines[1:]] == [
        "trace load",
        "trace evaluate",
        "trace load",
        "compare 2",
        "compare lvlm",
        "compare cnn",
        "compare sara",
    ]
    verdicts = [line.split()[-1] for line in lines[1:] if "<" in line]
    assert len(verdicts) == 5 and set(verdicts) <= {"PASS", "FAIL"}
    assert (result.returncode == 0) == (set(verdicts) == {"PASS"})
    assert list(tmp_path.iterdir()) == []
