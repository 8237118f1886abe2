"""``prunesim sweep``: the VALUES parser, the Pareto front, the command end to end (Parquet, CSV,
the pareto column, the plot), the spec file, one-line errors, interrupts."""

from __future__ import annotations

import io
import json
import math
import signal
import subprocess
import sys
import time

import numpy as np
import pandas as pd
import pytest
from cli_helpers import assert_one_line_error, run_cli
from hypothesis import given, settings
from hypothesis import strategies as st

from prunesim.cli import main
from prunesim.commands.sweep import CSV_COMMENT, parquet_bytes, read_outputs
from prunesim.sim import sweep
from prunesim.sim.grid import MAX_COUNT, grid_size, parse_values
from prunesim.sim.pareto import MAX_ROWS_3, OBJECTIVES, check_objectives, pareto_mask

# ------------------------------------------------------------------------------------------------
# VALUES


@pytest.mark.parametrize(
    ("spec", "integer", "expected"),
    [
        ("4,8,16", False, [4, 8, 16]),
        ("0.5, 1e9 ,2", False, [0.5, 1e9, 2]),
        ("true,int8", False, ["true", "int8"]),
        ("1:5:5", False, [1, 2, 3, 4, 5]),
        ("0:1:3", False, [0.0, 0.5, 1.0]),
        ("0.1:0.9:9", False, [0.1, 0.2, 0.3, 0.4, 0.5, 0.6, 0.7, 0.8, 0.9]),
        ("64:1024:5:log", True, [64, 128, 256, 512, 1024]),
        ("1:1000:4:LOG", False, [1, 10, 100, 1000]),
        ("0.01:1:3:log", False, [0.01, 0.1, 1.0]),
        ("7:7:1", True, [7]),
        ("10:2:5", True, [10, 8, 6, 4, 2]),
        ("4.0,8", True, [4, 8]),
        (32, True, [32]),
        (0.25, False, [0.25]),
        ([1, "2", "x"], False, [1, 2, "x"]),
        ([True, False], False, ["true", "false"]),
    ],
)
def test_values(spec, integer, expected):
    values = parse_values(spec, name="f", integer=integer)
    assert values == expected
    assert [type(v) for v in values] == [type(v) for v in expected]


@pytest.mark.parametrize(
    ("spec", "integer", "message"),
    [
        ("16:512:4:log", True, "grid f: 16:512:4:log gives 50.7968, not an integer"),
        ("1:2:3", True, "gives 1.5, not an integer"),
        ("0.5,2", True, "0.5 is not an integer"),
        ("0:10:3:log", False, "log range needs start and stop > 0"),
        ("1:2:0", False, "count '0'"),
        (f"1:2:{MAX_COUNT + 1}", False, f"integer 1..{MAX_COUNT}"),
        ("1:2:x", False, "count 'x'"),
        ("1:2:1", False, "count 1"),
        ("a:2:3", False, "range end 'a'"),
        ("1:2", False, "no range"),
        ("1:2:3:lin", False, "no range"),
        ("1,,2", False, "empty value"),
        ("4,8,4", False, "4 appears twice"),
        ("", False, "no values"),
        ([], False, "no values"),
        ({"a": 1}, False, "expected VALUES"),
        (float("nan"), False, "not a finite number"),
        ([[1]], False, "not a number or a name"),
    ],
)
def test_values_errors(spec, integer, message):
    with pytest.raises(ValueError) as info:
        parse_values(spec, name="f", integer=integer)
    text = str(info.value)
    assert "\n" not in text and text.startswith("grid f: ")
    assert message in text


def test_grid_size():
    assert grid_size({}) == 1
    assert grid_size({"a": [1, 2], "b": [1, 2, 3]}) == 6


# ------------------------------------------------------------------------------------------------
# Pareto front


def brute_force(points: np.ndarray) -> np.ndarray:
    """The front by definition: a known row no known row dominates."""
    known = ~np.isnan(points).any(axis=1)
    mask = np.zeros(len(points), dtype=bool)
    for i in np.flatnonzero(known):
        mask[i] = not any(
            known[j] and (points[j] <= points[i]).all() and (points[j] < points[i]).any()
            for j in range(len(points))
        )
    return mask


@settings(max_examples=150, deadline=None)
@given(
    st.integers(2, 3),
    st.lists(
        st.tuples(
            st.sampled_from([0.0, 1.0, 2.0, 3.0, math.nan]),
            st.integers(0, 4),
            st.integers(0, 4),
        ),
        max_size=40,
    ),
)
def test_pareto_matches_brute_force(dimensions, rows):
    names = ["latency", "energy", "area"][:dimensions]
    points = np.array([list(row)[:dimensions] for row in rows], dtype=float).reshape(-1, dimensions)
    frame = pd.DataFrame({OBJECTIVES[n]: points[:, k] for k, n in enumerate(names)})
    mask = pareto_mask(frame, names)
    assert mask.dtype == bool
    assert mask.tolist() == brute_force(points).tolist()


def test_pareto_ties_and_missing():
    frame = pd.DataFrame(
        {
            "seconds": [1.0, 1.0, 2.0, None, 0.5, 1.0],
            "energy_j": [2.0, 2.0, 1.0, 0.0, np.nan, 3.0],
        }
    )
    # the two duplicates of (1, 2) are both on the front; None/NaN rows never are (and the
    # (None, 0) row does not knock out (2, 1)); (1, 3) is dominated by (1, 2)
    assert pareto_mask(frame, "latency,energy").tolist() == [True, True, True, False, False, False]


@pytest.mark.parametrize(
    ("objectives", "message"),
    [
        ("latency", "2 or 3 objectives"),
        ("latency,energy,area,dram", "2 or 3 objectives"),
        ("latency,latency", "given twice"),
        ("latency,speed", "unknown Pareto objective 'speed'"),
    ],
)
def test_pareto_objectives_checked(objectives, message):
    with pytest.raises(ValueError, match=message):
        check_objectives(objectives)


def test_pareto_three_objectives_limit():
    frame = pd.DataFrame({c: np.zeros(MAX_ROWS_3 + 1) for c in OBJECTIVES.values()})
    with pytest.raises(ValueError, match=f"at most {MAX_ROWS_3} rows"):
        pareto_mask(frame, ["latency", "energy", "area"])
    assert pareto_mask(frame, ["latency", "energy"]).all()  # two objectives: no such limit


# ------------------------------------------------------------------------------------------------
# The command end to end


GRID = {"hw.multipliers.qk": "64:256:3:log", "spatten.token_keep": "0.3,0.6"}
FLAGS = [
    "--model", "bert-base", "--method", "spatten", "--hw", "spatten,systolic-32",
    "--grid", "hw.multipliers.qk=64:256:3:log", "--grid", "spatten.token_keep=0.3,0.6",
]  # fmt: skip


def api_frame() -> pd.DataFrame:
    grid = {name: parse_values(values, name=name) for name, values in GRID.items()}
    return sweep("bert-base", "spatten", ["spatten", "systolic-32"], grid=grid)


def comparable(frame: pd.DataFrame) -> pd.DataFrame:
    """Object columns of None as pandas reads them back from Parquet (None) and CSV (NaN)."""
    return frame.astype(object).where(frame.notna(), None).reset_index(drop=True)


def test_sweep_end_to_end(tmp_path):
    out, csv, plot = tmp_path / "s.parquet", tmp_path / "s.csv", tmp_path / "f.svg"
    result = run_cli(
        "sweep", *FLAGS, "--out", out, "--csv", csv, "--pareto", "latency,energy",
        "--plot", plot, cwd=tmp_path,
    )  # fmt: skip
    assert result.returncode == 0, result.stderr
    assert result.stderr == ""
    expected = api_frame()
    assert len(expected) == 8  # spatten: 3 x 2 points; systolic-32: no multipliers.qk, 1 x 2
    frame, record = read_outputs(out)
    assert list(frame.columns) == [*expected.columns, "pareto"]
    pd.testing.assert_frame_equal(
        comparable(frame.drop(columns="pareto")), comparable(expected), check_dtype=False
    )
    assert frame["pareto"].dtype == bool
    assert frame["pareto"].tolist() == pareto_mask(expected, ["latency", "energy"]).tolist()
    assert frame["pareto"].any()
    assert record["models"] == ["bert-base"] and record["methods"] == ["spatten"]
    assert [h["name"] for h in record["hardware"]] == ["spatten", "systolic-32"]
    assert all(len(h["sha256"]) == 64 for h in record["hardware"])
    assert record["grid"] == {"hw.multipliers.qk": [64, 128, 256], "spatten.token_keep": [0.3, 0.6]}
    assert record["points"] == record["priced"] == 8
    assert record["pareto"] == ["latency", "energy"]

    lines = csv.read_text().splitlines()
    assert lines[0].startswith(CSV_COMMENT)
    assert json.loads(lines[0].removeprefix(CSV_COMMENT)) == record
    from_csv = pd.read_csv(csv, skiprows=1)
    assert list(from_csv.columns) == list(frame.columns)
    assert from_csv["hardware"].tolist() == frame["hardware"].tolist()
    assert np.allclose(from_csv["energy_j"], frame["energy_j"], rtol=1e-15, equal_nan=True)
    assert from_csv["pareto"].tolist() == frame["pareto"].tolist()

    svg = plot.read_text()
    assert svg.startswith("<?xml") and "<svg" in svg
    assert "latency (s)" in svg and "energy (J)" in svg
    assert not [p for p in tmp_path.iterdir() if p.name.startswith(".")]  # no temporary left


def test_sweep_png_and_samples(tmp_path):
    out, plot = tmp_path / "s.parquet", tmp_path / "f.png"
    status = main(
        ["sweep", *FLAGS, "--samples", "3", "--seed", "5", "--out", str(out), "--plot", str(plot)]
    )
    assert status == 0
    assert plot.read_bytes().startswith(b"\x89PNG\r\n\x1a\n")
    frame, record = read_outputs(out)
    assert len(frame) == 3 and record["samples"] == 3 and record["seed"] == 5
    assert "pareto" not in frame.columns  # no --pareto: the plot draws latency,energy only


def test_sweep_on_local_processes_writes_the_same_rows(tmp_path):
    out = tmp_path / "s.parquet"
    status = main(
        ["sweep", *FLAGS, "--scheduler", "processes", "--workers", "2", "--out", str(out)]
    )
    assert status == 0
    frame, record = read_outputs(out)
    pd.testing.assert_frame_equal(comparable(frame), comparable(api_frame()), check_dtype=False)
    assert record["priced"] == 8


SPEC = """\
model: bert-base
method: [spatten]
hw: spatten, systolic-32
grid:
  hw.multipliers.qk: "64:256:3:log"
  spatten.token_keep: [0.3, 0.6]
out: from-spec.parquet
pareto: latency,energy
"""


def test_spec_file_equals_flags(tmp_path):
    (tmp_path / "spec.yaml").write_text(SPEC)
    assert main(["sweep", str(tmp_path / "spec.yaml"), "--out", str(tmp_path / "a.parquet")]) == 0
    flags = main(
        ["sweep", *FLAGS, "--pareto", "latency,energy", "--out", str(tmp_path / "b.parquet")]
    )
    assert flags == 0
    from_spec, spec_record = read_outputs(tmp_path / "a.parquet")
    from_flags, flags_record = read_outputs(tmp_path / "b.parquet")
    pd.testing.assert_frame_equal(from_spec, from_flags)
    assert spec_record["spec"]["file"] == str(tmp_path / "spec.yaml")
    assert {k: v for k, v in spec_record.items() if k != "spec"} == flags_record
    assert not (tmp_path / "from-spec.parquet").exists()  # --out overrode the file's out


def test_spec_file_grid_overridden_by_flag(tmp_path):
    (tmp_path / "spec.yaml").write_text(SPEC)
    out = tmp_path / "s.parquet"
    argv = ["sweep", str(tmp_path / "spec.yaml"), "--out", str(out)]
    assert main([*argv, "--grid", "spatten.token_keep=0.5"]) == 0
    frame, record = read_outputs(out)
    assert record["grid"]["spatten.token_keep"] == [0.5]
    assert list(record["grid"]) == ["hw.multipliers.qk", "spatten.token_keep"]
    assert len(frame) == 4


@pytest.mark.parametrize(
    ("text", "message"),
    [
        (SPEC + "colour: red\n", r"spec\.yaml:9: colour: unknown key"),
        (SPEC + "sample: 3\n", r"spec\.yaml:9: sample: unknown key .*did you mean 'samples'"),
        (SPEC.replace("model: bert-base", "model: 3"), r"spec\.yaml:1: model: must be text"),
        (SPEC + "samples: 0\n", r"spec\.yaml:9: samples: must be a positive integer"),
        (SPEC + "samples: true\n", r"spec\.yaml:9: samples: must be an integer"),
        (SPEC + "partial: 1\n", r"spec\.yaml:9: partial: must be true or false"),
        (SPEC + "stage: later\n", r"spec\.yaml:9: stage: must be one of"),
        (SPEC + "out: x.parquet\n", r"spec\.yaml:9: out: given twice"),
        (
            SPEC.replace('"64:256:3:log"', '"64:256:0"'),
            r"spec\.yaml:5: grid\.hw\.multipliers\.qk: the count '0'",
        ),
        (SPEC.replace("[0.3, 0.6]", "{a: 1}"), r"spec\.yaml:6: grid\.spatten\.token_keep: "),
        (SPEC.replace("grid:", "grid: 3\nx:"), r"spec\.yaml:4: grid: expected a mapping"),
        ("- a\n- b\n", r"spec\.yaml:1: a spec file is a mapping"),
        ("model: [\n", r"spec\.yaml:2: not valid YAML"),
        ("", r"spec\.yaml:1: the file is empty"),
    ],
)
def test_spec_file_errors(tmp_path, text, message):
    (tmp_path / "spec.yaml").write_text(text)
    result = run_cli("sweep", "spec.yaml", "--out", "o.parquet", cwd=tmp_path)
    assert_one_line_error(result, message)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["spec.yaml"]


@pytest.mark.parametrize(
    ("extra", "message"),
    [
        (["--grid", "hw.bogus=1,2"], r"'hw\.bogus': unknown hardware field 'bogus' of spatten"),
        (
            ["--grid", "hw.clock_ghz=0:1:3"],
            r"spatten: clock_ghz: must be a positive number, not 0\.0",
        ),
        (["--grid", "hw.topk.comparators=16:512:4:log"], r"topk\.comparators: .*not 50\.79"),
        (["--grid", "hw.dram.channels=1:2:x"], r"grid hw\.dram\.channels: the count 'x'"),
        (["--grid", "a=1", "--grid", "a=2"], r"--grid a is given twice"),
        (["--grid", "novalues"], r"expected NAME=VALUES"),
        (["--plot", "f.pdf"], r"--plot must end in \.svg or \.png, not 'f\.pdf'"),
        (["--pareto", "latency,speed"], r"unknown Pareto objective 'speed'"),
        (["--pareto", "latency"], r"2 or 3 objectives"),
        (
            ["--samples", "9"],
            r"samples must be 1\.\.8 \(the sweep has 8 points; at most 1,000,000 at once\), not 9",
        ),
        (["--csv", "o.parquet"], r"--out, --csv and --plot must be different files"),
        (["--scheduler", "nowhere"], r"scheduler must be local, processes or a Dask scheduler"),
        (["--workers", "2"], r"--workers needs --scheduler processes"),
        (["--scheduler", "processes", "--partial"], r"--partial works with --scheduler local"),
        (
            ["--grid", "hw.dram.channels=1:100000:100000", "--grid", "stage.tokens=1:64:64"],
            r"the sweep has 51,200,000 points, more than 1,000,000 at once",
        ),
        (
            ["--grid", "hw.dram.channels=1:100000:100000", "--pareto", "latency,energy,area"],
            r"a Pareto front of 3 objectives takes at most 1,000,000 rows; this sweep has 1,2",
        ),
        (["--tokens", "0"], r"argument --tokens: must be a positive integer"),
    ],
)
def test_one_line_errors_before_work(tmp_path, extra, message):
    result = run_cli("sweep", *FLAGS, "--out", "o.parquet", *extra, cwd=tmp_path)
    assert_one_line_error(result, message)
    assert list(tmp_path.iterdir()) == []


@pytest.mark.parametrize(
    ("argv", "message"),
    [
        (["--method", "spatten", "--hw", "spatten", "--out", "o.parquet"], r"no model: give"),
        (["--model", "bert-base", "--method", "spatten", "--hw", "spatten"], r"no output: give"),
        (
            ["--model", "bert-base", "--method", "spatten", "--hw", "spatten", "--out", "o.csv"],
            r"--out is a Parquet file \(FILE\.parquet\), not 'o\.csv'",
        ),
    ],
)
def test_missing_options(tmp_path, argv, message):
    assert_one_line_error(run_cli("sweep", *argv, cwd=tmp_path), message)
    assert list(tmp_path.iterdir()) == []


def test_help(tmp_path):
    result = run_cli("sweep", "--help", cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    for text in (
        "start:stop:count:log",
        "1,000,000 points priced at once",
        "--partial",
        "SPEC.yaml",
    ):
        assert text in result.stdout


# ------------------------------------------------------------------------------------------------
# Interrupts


def interrupt_on_chunk(monkeypatch, number: int) -> list[int]:
    """Make the ``number``-th chunk priced raise KeyboardInterrupt (as Ctrl-C would there)."""
    import prunesim.sim.dse as dse

    calls: list[int] = []
    original = dse.evaluate_chunk

    def evaluate(chunk):
        calls.append(1)
        if len(calls) == number:
            raise KeyboardInterrupt
        return original(chunk)

    monkeypatch.setattr(dse, "evaluate_chunk", evaluate)
    return calls


def test_interrupt_writes_nothing(tmp_path, monkeypatch, capsys):
    interrupt_on_chunk(monkeypatch, 2)
    out, csv = tmp_path / "s.parquet", tmp_path / "s.csv"
    assert main(["sweep", *FLAGS, "--out", str(out), "--csv", str(csv)]) == 130
    assert capsys.readouterr().err == "prunesim: interrupted\n"
    assert list(tmp_path.iterdir()) == []


def test_interrupt_with_partial_keeps_finished_rows(tmp_path, monkeypatch, capsys):
    interrupt_on_chunk(monkeypatch, 2)  # chunks: one per token_keep value and hardware kind
    out = tmp_path / "s.parquet"
    argv = ["sweep", *FLAGS, "--out", str(out), "--partial", "--pareto", "latency,dram"]
    assert main(argv) == 130
    captured = capsys.readouterr()
    assert captured.err == "prunesim: interrupted\n"
    frame, record = read_outputs(out)
    assert 0 < len(frame) < 8 and record["priced"] == len(frame) and record["points"] == 8
    assert f"{len(frame)} of 8 points written to {out}" in captured.out
    full = api_frame()
    for _, row in frame.iterrows():  # each kept row is the full sweep's row of that point
        same = full[(full["hardware"] == row["hardware"]) & (full["options"] == row["options"])]
        assert len(same) == 1 and same["energy_j"].iloc[0] == row["energy_j"]


#: ``python -m prunesim`` (see prunesim/__main__.py), saying "ready" once its modules and the
#: sweep's are imported, so that the signal lands in the command, not in Python's imports.
PROGRAM = """
import sys
from prunesim.cli import main
import prunesim.commands.sweep, prunesim.sim.dse, pandas, pyarrow.parquet
print("ready", flush=True)
sys.exit(main())
"""


@pytest.mark.parametrize(("signum", "status"), [(signal.SIGINT, 130), (signal.SIGTERM, 143)])
def test_signal_leaves_no_file(tmp_path, signum, status):
    """A real signal while a long sweep (100,000 points, a minute and more) is checked or
    priced: exit 130/143, one line, no output and no temporary file."""
    argv = [
        sys.executable, "-c", PROGRAM, "sweep", "--model", "bert-base", "--method", "spatten",
        "--hw", "spatten", "--grid", "hw.multipliers.qk=1:5000:5000",
        "--grid", "spatten.token_keep=0.2:0.9:20", "--out", "s.parquet", "--csv", "s.csv",
    ]  # fmt: skip
    process = subprocess.Popen(argv, cwd=tmp_path, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    try:
        assert process.stdout.readline() == b"ready\n"
        time.sleep(1.5)
        assert process.poll() is None  # still working
        process.send_signal(signum)
        out, err = process.communicate(timeout=60)
    finally:
        process.kill()
    assert process.returncode == status, err
    word = "interrupted" if signum == signal.SIGINT else "terminated"
    assert err.decode() == f"prunesim: {word}\n"
    assert out == b""
    assert list(tmp_path.iterdir()) == []


def test_parquet_metadata_survives_mixed_columns(tmp_path):
    """An object column pyarrow cannot type (mixed values) is stored as text, not an error."""
    frame = pd.DataFrame({"a": [1, "x", None], "seconds": [1.0, 2.0, 3.0]})
    data = parquet_bytes(frame, {"k": 1})
    table = pd.read_parquet(io.BytesIO(data))
    assert table["a"].tolist()[:2] == ["1", "x"] and table["a"].isna().tolist()[2]
