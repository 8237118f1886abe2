"""Tests of :mod:`prunesim.sim.trace`: the SpAtten authors' released trace and bad copies of it."""

from __future__ import annotations

import pickle
from collections.abc import Callable
from pathlib import Path

import numpy as np
import pytest

from prunesim.sim.trace import COLUMNS, Trace, TraceError, load_trace

#: The authors' released trace (MIT, see LICENSE and README.md beside it).
RELEASED = Path(__file__).parent / "data" / "spatten" / "gpt2-small-wikitext2-per8.csv"
TEXT = RELEASED.read_text(encoding="utf-8")
LINES = TEXT.splitlines()  # LINES[0] is line 1 (the header); the last one is the config line
HEADER = LINES[0].split(",")


@pytest.fixture(scope="module")
def released() -> Trace:
    return load_trace(RELEASED)


# --- the released trace: the facts stated in tests/data/spatten/README.md ----------------------


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


# --- good variants -------------------------------------------------------------------------------


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


# --- bad copies: each names the file, line and field ---------------------------------------------


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
                      "must be a number in [0, 1], not '1.5'"),
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


@pytest.mark.parametrize("case", BAD, ids=list(BAD))
def test_bad_field(tmp_path: Path, case: str) -> None:
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
