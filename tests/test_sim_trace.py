"""Tests of :mod:`prunesim.sim.trace`: the SpAtten authors' five released traces, bad copies of
one, traces that do not fit the model, counts at the limits, and memory."""

from __future__ import annotations

import dataclasses
import math
import pickle
import tracemalloc
from collections.abc import Callable
from pathlib import Path

import numpy as np
import pytest
from cli_helpers import assert_one_line_error, run_cli
from trace_counts import trace_totals

import prunesim.sim.trace as trace_module
from prunesim.models import TransformerConfig, get_model
from prunesim.sim import load_hardware, simulate
from prunesim.sim.trace import COLUMNS, MAX_D, MAX_ID, MAX_LENGTH, Trace, TraceError, load_trace

DATA = Path(__file__).parent / "data" / "spatten"
#: The authors' released traces (MIT, see LICENSE and README.md beside them), each with the model
#: it was made on (``small.csv`` is the first row of the GPT-2-medium PTB trace) and its rows.
RELEASED_FILES = {
    "gpt2-small-wikitext2-per8.csv": ("gpt2-small", 4608),
    "gpt2-small-wikitext2-per8-step1+dedic.csv": ("gpt2-small", 4608),
    "gpt2-medium-ptb-per0.csv": ("gpt2-medium", 12288),
    "gpt2-medium-wikitext2-per0-hp-step5+dedic+glob_p+local_p+hp+topk+quant.csv": (
        "gpt2-medium",
        11328,
    ),
    "small.csv": ("gpt2-medium", 1),
}
RELEASED = DATA / "gpt2-small-wikitext2-per8.csv"
TEXT = RELEASED.read_text(encoding="utf-8")
LINES = TEXT.splitlines()  # LINES[0] is line 1 (the header); the last one is the config line
HEADER = LINES[0].split(",")


@pytest.fixture(scope="module")
def released() -> Trace:
    return load_trace(RELEASED)


# --- the released trace: the facts stated in tests/data/spatten/README.md -------------------------


def test_released_shape(released: Trace) -> None:
    rows = released.rows
    assert len(rows) == 4608
    assert (released.iterations, released.layers, released.heads) == (32, 12, 12)
    assert released.path == RELEASED
    assert released.config is not None
    assert released.config.startswith("configs/gpt2/wikitext2/gpt2_pp11")
    assert released.config.endswith(".yml")
    assert np.all(rows.d == 64)
    assert np.all(rows.queries == 1)
    assert not rows.kv_reuse.any()
    # File order is kept: iteration-major, then layer, then head.
    assert list(rows.step[:3]) == [0, 0, 0] and list(rows.head[:3]) == [0, 1, 2]
    expected = np.lexsort((rows.head, rows.layer, rows.step))
    assert np.array_equal(expected, np.arange(len(rows)))


def test_released_topk(released: Trace) -> None:
    # The README pairs layers 0/1/5/11 with 921/716/204/102 in order; the data pair them as
    # below: the top-k after the last layer (921) feeds the next iteration's first layer.
    assert released.topk == {0: 716, 1: 204, 5: 102, 11: 921}
    assert sorted(released.topk.values(), reverse=True) == [921, 716, 204, 102]
    rows = released.rows
    later = rows.step >= 1
    kept_before = {0: 921, 1: 716, 2: 204, 3: 204, 4: 204, 5: 204}
    kept_before |= {layer: 102 for layer in range(6, 12)}
    for layer, kept in kept_before.items():
        assert np.all(rows.keys[later & (rows.layer == layer)] == kept), layer
    assert np.all(rows.keys[rows.step == 0] == 993)  # the first iteration is not pruned


def test_released_quantization(released: Trace) -> None:
    rows = released.rows
    assert np.all(rows.k_msb_bits == 6) and np.all(rows.v_bits == 6)
    assert np.all(rows.q_bits == 16)
    assert np.all(rows.k_lsb_bits == 4)
    assert set(np.unique(rows.lsb_fraction)) == {0.0, 1.0}
    assert rows.lsb_fraction.mean() == pytest.approx(0.070, abs=0.0005)
    assert int(rows.lsb_fraction.sum()) == 323
    assert rows.values.sum() / rows.keys.sum() == pytest.approx(0.20, abs=0.01)
    assert np.all(rows.values <= rows.keys)


def test_released_summary(released: Trace) -> None:
    summary = released.summary()
    assert summary["rows"] == 4608
    assert (summary["iterations"], summary["layers"], summary["heads"]) == (32, 12, 12)
    assert summary["d"] == "64"
    assert summary["bits"] == "q16 k6+4 v6"
    assert summary["lsb_fraction"] == pytest.approx(0.0701, abs=0.0001)
    assert summary["mean_keys"] == pytest.approx(released.rows.keys.mean())
    assert summary["mean_values"] == pytest.approx(released.rows.values.mean())
    assert summary["values_per_key"] == pytest.approx(0.199, abs=0.001)
    assert summary["topk"] == {0: 716, 1: 204, 5: 102, 11: 921}
    assert summary["config"] == released.config


# --- good variants --------------------------------------------------------------------------------


def _write(tmp_path: Path, lines: list[str], name: str = "t.csv") -> Path:
    path = tmp_path / name
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return path


def _set(line: str, field: str, text: str) -> str:
    fields = line.split(",")
    fields[HEADER.index(field)] = text
    return ",".join(fields)


def test_unquantized_bits_are_float32(tmp_path: Path) -> None:
    lines = [LINES[0], _set(_set(_set(LINES[1], "quant_key_bit", "-1"), "quant_value_bit", "-1"),
                            "quant_query_bit", "-1")]  # fmt: skip
    rows = load_trace(_write(tmp_path, lines)).rows
    assert (rows.k_msb_bits[0], rows.v_bits[0], rows.q_bits[0]) == (32, 32, 32)


def test_variants_accepted(tmp_path: Path) -> None:
    """No config line, "64" for D, blank lines, reordered rows and columns."""
    order = [HEADER.index(name) for name in reversed(COLUMNS)]
    body = [LINES[5], "", _set(LINES[2], "embedding_length_D", "64"), LINES[3]]
    lines = [
        ",".join(line.split(",")[i] for i in order) if line else "" for line in LINES[:1] + body
    ]
    trace = load_trace(_write(tmp_path, lines + [""]))
    assert trace.config is None
    assert list(trace.rows.head) == [4, 1, 2]  # file order
    assert np.all(trace.rows.d == 64)
    assert (trace.iterations, trace.layers, trace.heads) == (1, 1, 3)
    assert trace.topk == {}


def test_error_pickles() -> None:
    error = TraceError("t.csv", "must be True or False, not 'x'", 3, "if_topk")
    again = pickle.loads(pickle.dumps(error))
    assert str(again) == str(error) == "t.csv:3: if_topk: must be True or False, not 'x'"
    assert (again.path, again.line, again.field) == ("t.csv", 3, "if_topk")
    assert isinstance(again, ValueError)


# --- bad copies: each names the file, line and field ----------------------------------------------


def _edit(line_no: int, field: str, text: str) -> Callable[[list[str]], list[str]]:
    """A mutation that sets ``field`` of file line ``line_no`` (1-based) to ``text``."""

    def mutate(lines: list[str]) -> list[str]:
        lines[line_no - 1] = _set(lines[line_no - 1], field, text)
        return lines

    return mutate


def _rename_column(lines: list[str]) -> list[str]:
    lines[0] = lines[0].replace("key_fetch_num", "key_fetch_nm")
    return lines


def _drop_column(lines: list[str]) -> list[str]:
    i = HEADER.index("topk")
    return [",".join(f for j, f in enumerate(line.split(",")) if j != i) for line in lines]


def _duplicate_column(lines: list[str]) -> list[str]:
    lines[0] = lines[0].replace("if_topk", "if_requant")
    return lines


def _duplicate_row(lines: list[str]) -> list[str]:
    lines[9] = lines[2]  # line 10 repeats line 3
    return lines


def _config_in_middle(lines: list[str]) -> list[str]:
    return lines[:100] + [lines[-1]] + lines[100:]  # the config line becomes line 101


def _short_row(lines: list[str]) -> list[str]:
    lines[40] = ",".join(lines[40].split(",")[:15])
    return lines


def _long_row(lines: list[str]) -> list[str]:
    lines[40] += ",1"
    return lines


def _two_errors(lines: list[str]) -> list[str]:
    lines = _edit(50, "layer_id", "x")(lines)
    return _edit(20, "quant_value_bit", "40")(lines)


BAD = {
    "wrong column name": (_rename_column, 1, "key_fetch_nm", "unknown column (did you mean key_fe"),
    "missing column": (_drop_column, 1, "topk", "missing column"),
    "duplicated column": (_duplicate_column, 1, "if_requant", "duplicated column"),
    "non-integer": (_edit(17, "key_fetch_num", "abc"), 17, "key_fetch_num",
                    "must be a positive integer, not 'abc'"),
    "key_fetch_num > L": (_edit(5, "key_fetch_num", "2000"), 5, "key_fetch_num",
                          "must be at most sentence_length_L (993), not 2000"),
    "key_fetch_num 0": (_edit(5, "key_fetch_num", "0"), 5, "key_fetch_num", "positive integer"),
    "values > keys": (_edit(8, "value_fetch_num", "994"), 8, "value_fetch_num",
                      "must be at most key_fetch_num (993), not 994"),
    "negative id": (_edit(9, "head_id", "-1"), 9, "head_id", "non-negative integer, not '-1'"),
    "fractional D": (_edit(9, "embedding_length_D", "64.5"), 9, "embedding_length_D",
                     "positive integer, not '64.5'"),
    "L 0": (_edit(9, "sentence_length_L", "0"), 9, "sentence_length_L", "positive integer"),
    "bits 0": (_edit(30, "quant_key_bit", "0"), 30, "quant_key_bit",
               "must be -1 (not quantized) or 1..32 bits, not '0'"),
    "bits 33": (_edit(30, "quant_query_bit", "33"), 30, "quant_query_bit", "not '33'"),
    "bad boolean": (_edit(12, "if_requant", "true"), 12, "if_requant",
                    "must be True or False, not 'true'"),
    "threshold > 1": (_edit(12, "auto_requant_thres", "1.5"), 12, "auto_requant_thres",
                      "must be -1 (off) or a number in [0, 1], not '1.5'"),
    "threshold nan": (_edit(12, "auto_requant_thres", "nan"), 12, "auto_requant_thres", "'nan'"),
    "negative LSB bits": (_edit(12, "auto_requant_incre", "-4"), 12, "auto_requant_incre",
                          "non-negative"),
    "topk without if_topk": (_edit(7, "topk", "500"), 7, "topk", "must be -1 where not if_topk"),
    "if_topk without topk": (_edit(7, "if_topk", "True"), 7, "topk",
                             "must be in 1..sentence_length_L (993) where if_topk, not '-1'"),
    "duplicate row": (_duplicate_row, 10, "iteration_id/layer_id/head_id",
                      "iteration 0, layer 0, head 1 is already at line 3"),
    "config line in the middle": (_config_in_middle, 101, "iteration_id",
                                  "must be the last line (line 102 follows it)"),
    "short row": (_short_row, 41, "if_topk", "missing (the line has 15 fields, the header 17)"),
    "long row": (_long_row, 41, None, "18 fields, the header names 17"),
    "earliest line first": (_two_errors, 20, "quant_value_bit", "not '40'"),
}  # fmt: skip


@pytest.mark.parametrize("chunk", [None, 5], ids=["one chunk", "chunks of 5 rows"])
@pytest.mark.parametrize("case", BAD, ids=list(BAD))
def test_bad_field(tmp_path: Path, case: str, chunk: int | None, monkeypatch) -> None:
    """The same first error, line and field whether the file is read in one chunk or in many
    (then the two errors of "earliest line first" and the repeated row's two lines are in
    different chunks)."""
    if chunk is not None:
        monkeypatch.setattr(trace_module, "_CHUNK_ROWS", chunk)
    mutate, line, field, problem = BAD[case]
    path = _write(tmp_path, mutate(list(LINES)))
    with pytest.raises(TraceError) as caught:
        load_trace(path)
    error = caught.value
    where = f"{path}:{line}: " if field is None else f"{path}:{line}: {field}: "
    assert str(error).startswith(where), str(error)
    assert problem in str(error)
    assert (error.path, error.line, error.field) == (str(path), line, field)


def test_exact_message(tmp_path: Path) -> None:
    path = _write(tmp_path, _edit(17, "key_fetch_num", "abc")(list(LINES)))
    with pytest.raises(TraceError) as caught:
        load_trace(path)
    assert str(caught.value) == f"{path}:17: key_fetch_num: must be a positive integer, not 'abc'"


def test_bad_files(tmp_path: Path) -> None:
    cases: dict[str, tuple[bytes | None, str]] = {
        "missing.csv": (None, "file not found"),
        "empty.csv": (b"", "empty file"),
        "blank.csv": (b"\n\n", "empty file"),
        "latin1.csv": (LINES[0].encode() + b"\n\xe9t\xe9\n", "not UTF-8"),
        "header.csv": ((LINES[0] + "\n" + LINES[-1] + "\n").encode(), "no data rows"),
        "quote.csv": ((LINES[0] + '\n"0,0,0\n').encode(), "not CSV"),
    }
    for name, (data, problem) in cases.items():
        path = tmp_path / name
        if data is not None:
            path.write_bytes(data)
        with pytest.raises(TraceError) as caught:
            load_trace(path)
        assert str(caught.value) == f"{path}: {caught.value.problem}", name
        assert problem in caught.value.problem, (name, str(caught.value))
        assert caught.value.line is None


# --- the five released traces, as published -------------------------------------------------------


def _independent_totals(path: Path) -> dict:
    """:func:`trace_counts.trace_totals` on the SpAtten preset's DRAM transaction."""
    return trace_totals(path, load_hardware("spatten").dram_transaction_bytes)


@pytest.mark.parametrize("name", RELEASED_FILES)
def test_released_trace_loads_as_published(name: str) -> None:
    """Every released file loads (-1 in auto_requant_* is "off"); its totals are the file's."""
    path = DATA / name
    expected = _independent_totals(path)
    assert expected["rows"] == RELEASED_FILES[name][1]
    trace = load_trace(path)
    rows = trace.rows
    assert len(rows) == expected["rows"]
    assert int(rows.keys.sum()) == expected["keys"]
    assert int(rows.values.sum()) == expected["values"]
    assert int(rows.lsb_fraction.sum()) == expected["lsb_rows"]
    assert int(rows.macs.sum()) == expected["macs"]
    assert (trace.stage.prompt, trace.stage.generate) == (expected["prompt"], expected["generate"])
    assert trace.notes == [expected["note"]]
    if expected["lsb_rows"] == 0:  # progressive quantization off: no LSB plane
        assert not rows.k_lsb_bits.any()


@pytest.mark.parametrize("name", RELEASED_FILES)
def test_released_trace_simulates(name: str) -> None:
    """Each released trace on the model it was made on: DRAM bytes per tensor and MACs equal the
    count from the file, and the skipped config line is a note of the result."""
    path = DATA / name
    expected = _independent_totals(path)
    result = simulate(RELEASED_FILES[name][0], "spatten", "spatten", trace=path)
    assert result.dram_bytes_by_tensor == {**expected["dram"], "weights": 0, "activations": 0}
    assert result.dram_bytes == sum(expected["dram"].values())
    assert result.macs == expected["macs"]
    assert result.cycles >= result.bound_cycles > 0
    assert result.energy_j > 0
    assert expected["note"] in result.notes
    assert result.stage == (
        f"generate {expected['generate']} tokens after a {expected['prompt']}-token prompt"
    )


def test_skipped_line_note_in_the_cli(tmp_path: Path) -> None:
    note = (
        "small.csv:3: skipped a line that is not a row: 'configs/gpt2/ptb/medium_baseline_train+e'"
    )
    small = DATA / "small.csv"
    table = run_cli("simulate", "--trace", small, "--model", "gpt2-medium", cwd=tmp_path)
    assert table.returncode == 0, table.stderr
    assert f"  note: {note}\n" in table.stdout
    data = run_cli("simulate", "--trace", small, "--model", "gpt2-medium", "--json", cwd=tmp_path)
    assert data.returncode == 0, data.stderr
    assert note in data.stdout


def _off(line: str) -> str:
    return _set(_set(_set(line, "auto_requant_thres", "-1"), "auto_requant_incre", "-1"),
                "if_requant", "False")  # fmt: skip


def test_progressive_quantization_off(tmp_path: Path) -> None:
    """-1 in either auto_requant_* column: no LSB plane; if_requant must then be False."""
    lines = [LINES[0], _off(LINES[1]), _set(_off(LINES[2]), "auto_requant_incre", "4"),
             _set(_off(LINES[3]), "auto_requant_thres", "0.05")]  # fmt: skip
    rows = load_trace(_write(tmp_path, lines)).rows
    assert list(rows.k_lsb_bits) == [0, 0, 0]
    assert list(rows.lsb_fraction) == [0.0, 0.0, 0.0]
    for field, line in (("auto_requant_incre", 3), ("auto_requant_thres", 4)):
        bad = list(lines)
        bad[line - 1] = _set(bad[line - 1], "if_requant", "True")
        path = _write(tmp_path, bad)
        with pytest.raises(TraceError) as caught:
            load_trace(path)
        assert (caught.value.line, caught.value.field) == (line, "if_requant"), field
        assert "must be False where auto_requant_thres or auto_requant_incre is -1" in str(
            caught.value
        )


@pytest.mark.parametrize(
    ("field", "text", "problem"),
    [
        ("auto_requant_incre", "-2", "must be -1 (off) or a non-negative integer up to 32"),
        ("auto_requant_incre", "33", "must be -1 (off) or a non-negative integer up to 32"),
        ("auto_requant_thres", "-0.5", "must be -1 (off) or a number in [0, 1]"),
    ],
)
def test_off_is_only_minus_one(tmp_path: Path, field: str, text: str, problem: str) -> None:
    path = _write(tmp_path, [LINES[0], _set(LINES[1], field, text)])
    with pytest.raises(TraceError) as caught:
        load_trace(path)
    assert str(caught.value) == f"{path}:2: {field}: {problem}, not {text!r}"


def test_trailing_line_that_is_neither(tmp_path: Path) -> None:
    """A last line that is neither a row nor a config line (a short row) is still an error."""
    path = _write(tmp_path, LINES[:5] + ["0,0,0"])
    with pytest.raises(TraceError) as caught:
        load_trace(path)
    assert (caught.value.line, caught.value.field) == (6, "embedding_length_D")
    assert "missing (the line has 3 fields, the header 17)" in str(caught.value)


# --- the trace against the model ------------------------------------------------------------------


def _rows(*edits: dict[str, str]) -> list[str]:
    """A header and one row per edit: LINES[1] (iteration 0, layer 0, head 0) with the edit."""
    lines = [LINES[0]]
    for edit in edits:
        line = LINES[1]
        for field, text in edit.items():
            line = _set(line, field, text)
        lines.append(line)
    return lines


MISFITS = {
    "decoder trace on an encoder": (
        RELEASED, "bert-base", None, None,
        "a trace records a decoder's generation (12 layers x 12 heads of 64); bert-base "
        "(12 layers x 12 heads of 64, 512 positions) is an encoder",
    ),
    "gpt2-small trace on gpt2-medium": (
        RELEASED, "gpt2-medium", None, None,
        "the trace (12 layers x 12 heads of 64) is not of gpt2-medium (24 layers x 16 heads of 64, "
        "1024 positions): its 32 iterations are whole",
    ),
    "gpt2-medium trace on gpt2-small": (
        DATA / "gpt2-medium-ptb-per0.csv", "gpt2-small", 194, "layer_id",
        "layer 12 is past the last of gpt2-small (12 layers x 12 heads of 64, 1024 positions); "
        "the trace: 24 layers x 16 heads of 64",
    ),
    # Two distinct layer ids fit a count of 12, the largest does not.
    "largest layer id": (
        _rows({}, {"layer_id": "12"}), "gpt2-small", 3, "layer_id", "layer 12 is past the last",
    ),
    "largest head id": (
        _rows({"head_id": "3"}, {"head_id": "12"}), "gpt2-small", 3, "head_id",
        "head 12 is past the last of gpt2-small",
    ),
    "head dimension": (
        _rows({}, {"head_id": "1", "embedding_length_D": "128.0"}), "gpt2-small", 3,
        "embedding_length_D", "head dimension 128 is not that of gpt2-small",
    ),
    "sequence past the positions": (
        _rows({}, {"head_id": "1", "sentence_length_L": "1025"}), "gpt2-small", 3,
        "sentence_length_L", "1025 tokens are more than the positions of gpt2-small",
    ),
    "prompt + generated past the positions": (
        _rows(*({"iteration_id": str(i), "sentence_length_L": "1000"} for i in range(30))),
        "gpt2-small", None, None,
        "a 999-token prompt and 30 generated tokens (one per iteration) are more than the "
        "positions of gpt2-small",
    ),
}  # fmt: skip


@pytest.mark.parametrize("case", MISFITS, ids=list(MISFITS))
def test_trace_must_fit_the_model(tmp_path: Path, case: str) -> None:
    source, model, line, field, problem = MISFITS[case]
    path = source if isinstance(source, Path) else _write(tmp_path, source)
    with pytest.raises(TraceError) as caught:
        simulate(model, "spatten", "spatten", trace=path)
    error = caught.value
    assert (error.path, error.line, error.field) == (str(path), line, field)
    assert problem in error.problem, str(error)
    assert isinstance(error, ValueError)


def test_one_iteration_is_a_sample() -> None:
    """A one-iteration trace need only fit: small.csv runs on either GPT-2."""
    for model in ("gpt2-small", "gpt2-medium"):
        assert simulate(model, "spatten", "spatten", trace=DATA / "small.csv").macs == 64 * 1986


def test_misfit_in_the_cli(tmp_path: Path) -> None:
    result = run_cli("simulate", "--trace", RELEASED, "--model", "gpt2-medium", cwd=tmp_path)
    assert_one_line_error(result, r"the trace \(12 layers x 12 heads of 64\) is not of gpt2-medium")
    result = run_cli("simulate", "--trace", RELEASED, "--model", "bert-base", cwd=tmp_path)
    assert_one_line_error(result, r"bert-base \(12 layers .*\) is an encoder")


# --- counts that could wrap around in int64 -------------------------------------------------------


@pytest.mark.parametrize(
    ("edit", "field", "problem"),
    [
        # 9e18 keys and values were read, and priced as negative bytes and energy.
        ({"sentence_length_L": "9000000000000000000", "key_fetch_num": "9000000000000000000",
          "value_fetch_num": "9000000000000000000"},
         "sentence_length_L", f"must be at most {MAX_LENGTH}, not '9000000000000000000'"),
        ({"sentence_length_L": "99999999999999999999999"}, "sentence_length_L",
         f"must be at most {MAX_LENGTH}, not '99999999999999999999999'"),
        ({"sentence_length_L": str(MAX_LENGTH + 1)}, "sentence_length_L",
         f"must be at most {MAX_LENGTH}, not '{MAX_LENGTH + 1}'"),
        ({"embedding_length_D": f"{MAX_D + 1}.0"}, "embedding_length_D",
         f"must be at most {MAX_D}, not '{MAX_D + 1}.0'"),
        ({"head_id": str(MAX_ID + 1)}, "head_id", f"must be at most {MAX_ID}, not '{MAX_ID + 1}'"),
    ],
)  # fmt: skip
def test_counts_past_the_limits(tmp_path: Path, edit: dict, field: str, problem: str) -> None:
    path = _write(tmp_path, _rows(edit))
    with pytest.raises(TraceError) as caught:
        load_trace(path)
    assert str(caught.value) == f"{path}:2: {field}: {problem}"


def test_counts_at_the_limits_do_not_wrap(tmp_path: Path) -> None:
    """One row at every limit (the longest sequence, the widest head, 32-bit everything, a
    requant) on a model that admits it: bytes, MACs and energy are exact and positive."""
    n, d = MAX_LENGTH, MAX_D
    edit = {"embedding_length_D": f"{d}.0", "sentence_length_L": str(n), "key_fetch_num": str(n),
            "value_fetch_num": str(n), "quant_key_bit": "32", "quant_query_bit": "32",
            "quant_value_bit": "32", "if_requant": "True", "auto_requant_incre": "32"}  # fmt: skip
    path = _write(tmp_path, _rows(edit))
    model = dataclasses.replace(
        get_model("gpt2-small"), name="wide", layers=1, heads=1, kv_heads=1, hidden=d,
        max_positions=n,
    )  # fmt: skip
    assert isinstance(model, TransformerConfig) and model.d == d
    result = simulate(model, "spatten", "spatten", trace=path)
    plane = n * d * 32 // 8  # 2**42 bytes, a whole number of transactions
    assert result.dram_bytes_by_tensor == {
        "q": d * 32 // 8, "k_msb": plane, "k_lsb": plane, "v": plane, "weights": 0,
        "activations": 0,
    }  # fmt: skip
    assert result.macs == d * 2 * n
    assert result.energy_j > 0 and math.isfinite(result.energy_j)
    assert all(value >= 0 for value in result.energy_breakdown_j.values())


# --- memory ---------------------------------------------------------------------------------------


def test_memory_is_a_small_multiple_of_the_file(tmp_path: Path) -> None:
    """A 40,000-row trace (the released rows again and again, later iterations) loads within 5x
    its size in allocated memory (the whole file as Python strings took 21x)."""
    body = [line for line in LINES[1:] if line[0].isdigit()]
    path = tmp_path / "long.csv"
    with path.open("w", encoding="utf-8") as file:
        file.write(LINES[0] + "\n")
        for i in range(40_000):
            step, rest = body[i % len(body)].split(",", 1)
            file.write(f"{int(step) + 32 * (i // len(body))},{rest}\n")
    size = path.stat().st_size
    tracemalloc.start()
    try:
        trace = load_trace(path)
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert len(trace.rows) == 40_000
    assert peak < 5 * size, (peak, size)
