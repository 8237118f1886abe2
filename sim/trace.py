"""Import of the SpAtten authors' per-query attention trace (CSV) as :class:`AttentionRows`.

The format is the one of ``spatten_hardware/hardware/workloads/summary-*.csv`` in
mit-han-lab/spatten: a header, then one row per (generation iteration, layer, head) query, then
optionally one line that names the training config (its first field, all other fields empty).
See ``tests/data/spatten/README.md`` for the columns.

:func:`load_trace` validates every field of every row and raises :class:`TraceError` naming the
file, line and column of the first bad field (the earliest line in the file; on one line, the
leftmost column). Rows keep the file order; they need not be sorted.

Mapping of a row to an attention row (generation: one query per row, no K/V reuse):

=================  ===========================================================================
attention row      trace column
=================  ===========================================================================
``step``           ``iteration_id``
``layer``          ``layer_id``
``head``           ``head_id``
``d``              ``embedding_length_D`` (written ``64.0`` by the authors' tool)
``queries``        1
``keys``           ``key_fetch_num`` (keys left after cascade token pruning)
``values``         ``value_fetch_num`` (values left after local V pruning)
``q_bits``         ``quant_query_bit`` (-1, "not quantized", becomes 32: float32)
``k_msb_bits``     ``quant_key_bit`` (same)
``k_lsb_bits``     ``auto_requant_incre``
``v_bits``         ``quant_value_bit`` (same)
``lsb_fraction``   1.0 if ``if_requant`` else 0.0
``kv_reuse``       False
=================  ===========================================================================
"""

from __future__ import annotations

import csv
import difflib
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from prunesim.sim.workload import AttentionRows, Generate, Workload

__all__ = ["COLUMNS", "Trace", "TraceError", "format_trace", "load_trace"]

#: The columns of the trace format, in the authors' order (files may order them differently).
COLUMNS: tuple[str, ...] = (
    "iteration_id",
    "layer_id",
    "head_id",
    "embedding_length_D",
    "sentence_length_L",
    "key_fetch_num",
    "quant_key_bit",
    "quant_query_bit",
    "auto_requant_thres",
    "if_requant",
    "auto_requant_incre",
    "value_fetch_num",
    "quant_value_bit",
    "if_accumulate_importance",
    "if_rescale_previous_importance",
    "if_topk",
    "topk",
)

_BOOLEANS = (
    "if_requant",
    "if_accumulate_importance",
    "if_rescale_previous_importance",
    "if_topk",
)
_BITS = ("quant_key_bit", "quant_query_bit", "quant_value_bit")
#: Bits taken for a tensor the trace marks as not quantized (-1): float32.
UNQUANTIZED_BITS = 32
_MAX_BITS = 32
_MAX_D = 2**31


class TraceError(ValueError):
    """A trace that cannot be imported.

    The message is ``FILE:LINE: FIELD: problem`` for a bad field, ``FILE:LINE: problem`` for a bad
    line and ``FILE: problem`` for the whole file (not found, not UTF-8, not CSV, empty). The parts
    are also attributes: ``path``, ``line`` (1-based, or None), ``field`` (a column name, or None)
    and ``problem``.
    """

    def __init__(
        self, path: str | Path, problem: str, line: int | None = None, field: str | None = None
    ) -> None:
        self.path = str(path)
        self.problem = problem
        self.line = line
        self.field = field
        where = self.path if line is None else f"{self.path}:{line}"
        super().__init__(f"{where}: {problem}" if field is None else f"{where}: {field}: {problem}")

    def __reduce__(self) -> tuple[Any, ...]:
        return (type(self), (self.path, self.problem, self.line, self.field))


@dataclass
class Trace:
    """A loaded trace.

    ``rows`` holds one attention row per trace row, in file order. ``iterations``, ``layers`` and
    ``heads`` count the distinct ids. ``topk`` maps a layer to the tokens that the cascade token
    top-k after that layer keeps (rows with ``if_topk``); the authors' tool applies the top-k of
    the last layer to the next iteration's first layer. Should a layer's top-k differ between
    rows, ``topk`` holds the last one in file order. ``config`` is the trailing config line (the
    training config the trace was made with), or None.
    """

    path: Path
    rows: AttentionRows
    config: str | None
    iterations: int
    layers: int
    heads: int
    topk: dict[int, int] = field(default_factory=dict)
    lengths: np.ndarray = field(default_factory=lambda: np.zeros(0, np.int64))
    """``sentence_length_L`` of every row: the tokens in the sequence before pruning."""

    @property
    def stage(self) -> Generate:
        """The generation the trace records: prompt = the first row's length - 1."""
        first = int(self.lengths[np.argmin(self.rows.step)]) if len(self.lengths) else 1
        return Generate(prompt=first - 1, generate=self.iterations)

    def summary(self) -> dict[str, Any]:
        """Facts for display: counts, mean keys/values per query, LSB fraction, bit widths.

        ``bits`` reads e.g. ``"q16 k6+4 v6"`` (query, key MSB + LSB, value bits); a width that
        varies between rows is written as a range (``k4..8``).
        """
        rows = self.rows
        n = len(rows)

        def span(column: np.ndarray) -> str:
            lo, hi = int(column.min()), int(column.max())
            return f"{lo}" if lo == hi else f"{lo}..{hi}"

        keys = rows.keys.sum()
        bits = (
            f"q{span(rows.q_bits)} k{span(rows.k_msb_bits)}+{span(rows.k_lsb_bits)}"
            f" v{span(rows.v_bits)}"
        )
        return {
            "path": str(self.path),
            "config": self.config,
            "rows": n,
            "iterations": self.iterations,
            "layers": self.layers,
            "heads": self.heads,
            "d": span(rows.d),
            "mean_keys": float(rows.keys.mean()),
            "mean_values": float(rows.values.mean()),
            "values_per_key": float(rows.values.sum() / keys),
            "lsb_fraction": float(rows.lsb_fraction.mean()),
            "bits": bits,
            "topk": dict(sorted(self.topk.items())),
        }


def load_trace(path: str | Path) -> Trace:
    """Load and validate a SpAtten trace CSV (see the module docstring).

    Rules checked, each naming the file, line and column of the first bad field:

    * the header names every column of :data:`COLUMNS` once, and no other (surrounding spaces
      ignored); every data row has one field per column;
    * ``iteration_id``, ``layer_id``, ``head_id``, ``auto_requant_incre``: integers >= 0;
      ``embedding_length_D``: a positive integer, possibly written as a float (``64.0``);
      ``sentence_length_L`` >= 1; ``key_fetch_num`` in 1..L; ``value_fetch_num`` in
      0..key_fetch_num; bit widths -1 (not quantized) or 1..32; ``auto_requant_thres`` a number in
      [0, 1]; booleans exactly ``True`` or ``False``; ``topk`` in 1..L where ``if_topk``, else -1;
    * no (iteration, layer, head) appears twice (the message names both lines);
    * a config line (a non-numeric first field, all others empty) comes only last.

    Blank lines are skipped. Raises :class:`TraceError` (a ValueError) on a bad file.
    """
    path = Path(path)
    try:
        with path.open(encoding="utf-8-sig", newline="") as file:
            return _parse(path, file)
    except FileNotFoundError:
        raise TraceError(path, "file not found") from None
    except UnicodeDecodeError as error:
        raise TraceError(
            path, f"not UTF-8 text (byte {error.object[error.start]:#04x} at offset {error.start})"
        ) from None
    except OSError as error:
        raise TraceError(path, f"cannot read: {error.strerror or error}") from None


def _is_number(text: str) -> bool:
    try:
        float(text)
    except ValueError:
        return False
    return True


def _parse(path: Path, file: Any) -> Trace:
    reader = csv.reader(file, strict=True)
    records: list[list[str]] = []
    lines: list[int] = []
    header: list[str] | None = None
    header_line = 0
    config: str | None = None
    config_line = 0
    # The first error found while reading (a bad field count, a config line before the end); a
    # bad field on an earlier line, found after reading, is reported instead.
    late: TraceError | None = None
    try:
        for row in reader:
            if not "".join(row).strip():
                continue
            line = reader.line_num
            if header is None:
                header, header_line = [text.strip() for text in row], line
                _check_header(path, header, header_line)
                continue
            if config is not None:
                late = TraceError(
                    path,
                    f"config line {config!r} must be the last line (line {line} follows it)",
                    config_line,
                    header[0],
                )
                break
            if not _is_number(row[0]) and not "".join(row[1:]).strip():
                config, config_line = row[0].strip(), line
                continue
            if len(row) != len(header):
                if len(row) < len(header):
                    late = TraceError(
                        path,
                        f"missing (the line has {len(row)} fields, the header {len(header)})",
                        line,
                        header[len(row)],
                    )
                else:
                    late = TraceError(
                        path, f"{len(row)} fields, the header names {len(header)}", line
                    )
                break
            records.append(row)
            lines.append(line)
    except csv.Error as error:
        raise TraceError(path, f"not CSV (line {reader.line_num}): {error}") from None
    if header is None:
        raise TraceError(path, "empty file (no header)")

    transposed = zip(*records, strict=True) if records else ([] for _ in header)
    columns = dict(zip(header, transposed, strict=True))
    position = {name: i for i, name in enumerate(header)}
    parsed, first_bad = _validate(columns, position)
    if first_bad is not None:
        index, name, problem = first_bad
        raise TraceError(path, problem, lines[index], name)
    if late is not None:
        _check_repeats(path, parsed, lines)  # a repeated row before the bad line comes first
        raise late
    if not records:
        raise TraceError(path, "no data rows")
    return _build(path, parsed, lines, config)


def _check_header(path: Path, header: list[str], line: int) -> None:
    seen: set[str] = set()
    for name in header:
        if name in seen:
            raise TraceError(path, "duplicated column", line, name)
        seen.add(name)
        if name not in COLUMNS:
            close = difflib.get_close_matches(name, [c for c in COLUMNS if c not in header], n=1)
            hint = f" (did you mean {close[0]}?)" if close else ""
            raise TraceError(path, f"unknown column{hint}", line, name)
    for name in COLUMNS:
        if name not in seen:
            raise TraceError(path, "missing column in the header", line, name)


def _ints(texts: Sequence[str]) -> tuple[np.ndarray, np.ndarray]:
    """Integers and a mask of the texts that parse (0 in place of the others)."""
    n = len(texts)
    try:
        return np.fromiter(map(int, texts), np.int64, n), np.ones(n, np.bool_)
    except (ValueError, OverflowError):
        pass
    values = np.zeros(n, np.int64)
    ok = np.ones(n, np.bool_)
    for i, text in enumerate(texts):
        try:
            values[i] = int(text)
        except (ValueError, OverflowError):
            ok[i] = False
    return values, ok


def _floats(texts: Sequence[str]) -> tuple[np.ndarray, np.ndarray]:
    """Floats and a mask of the texts that parse to a finite number (nan in place of others)."""
    n = len(texts)
    try:
        values = np.fromiter(map(float, texts), np.float64, n)
    except ValueError:
        values = np.full(n, np.nan)
        for i, text in enumerate(texts):
            try:
                values[i] = float(text)
            except ValueError:
                pass
    return values, np.isfinite(values)


# A check: the column it reports, a mask of good rows, the problem at a bad row.
_Check = tuple[str, np.ndarray, Callable[[int], str]]


def _validate(
    columns: dict[str, Sequence[str]], position: dict[str, int]
) -> tuple[dict[str, np.ndarray], tuple[int, str, str] | None]:
    """Parsed columns and the first bad field as (row index, column, problem), or None.

    "First" is the earliest row, then the leftmost column in the file.
    """
    checks: list[_Check] = []
    parsed: dict[str, np.ndarray] = {}
    good: dict[str, np.ndarray] = {}

    def raw(name: str) -> Callable[[int], str]:
        return lambda i: repr(columns[name][i])

    for name in ("iteration_id", "layer_id", "head_id", "auto_requant_incre"):
        values, ok = _ints(columns[name])
        ok &= values >= 0
        parsed[name] = values
        checks.append(
            (name, ok, lambda i, n=name: f"must be a non-negative integer, not {raw(n)(i)}")
        )

    d, d_ok = _floats(columns["embedding_length_D"])
    d_ok &= (d >= 1) & (d <= _MAX_D)
    d_ok[d_ok] &= d[d_ok] == np.floor(d[d_ok])
    checks.append(
        (
            "embedding_length_D",
            d_ok,
            lambda i: f"must be a positive integer, not {raw('embedding_length_D')(i)}",
        )
    )
    parsed["embedding_length_D"] = np.where(d_ok, d, 0).astype(np.int64)

    length, length_ok = _ints(columns["sentence_length_L"])
    length_ok &= length >= 1
    parsed["sentence_length_L"] = length
    checks.append(
        (
            "sentence_length_L",
            length_ok,
            lambda i: f"must be a positive integer, not {raw('sentence_length_L')(i)}",
        )
    )

    keys, keys_parsed = _ints(columns["key_fetch_num"])
    keys_parsed &= keys >= 1
    keys_ok = keys_parsed & ~(length_ok & (keys > length))
    parsed["key_fetch_num"] = keys

    def keys_problem(i: int) -> str:
        if not keys_parsed[i]:
            return f"must be a positive integer, not {raw('key_fetch_num')(i)}"
        return f"must be at most sentence_length_L ({length[i]}), not {keys[i]}"

    checks.append(("key_fetch_num", keys_ok, keys_problem))

    values, values_parsed = _ints(columns["value_fetch_num"])
    values_parsed &= values >= 0
    values_ok = values_parsed & ~(keys_parsed & (values > keys))
    parsed["value_fetch_num"] = values

    def values_problem(i: int) -> str:
        if not values_parsed[i]:
            return f"must be a non-negative integer, not {raw('value_fetch_num')(i)}"
        return f"must be at most key_fetch_num ({keys[i]}), not {values[i]}"

    checks.append(("value_fetch_num", values_ok, values_problem))

    for name in _BITS:
        bits, ok = _ints(columns[name])
        ok &= (bits == -1) | ((bits >= 1) & (bits <= _MAX_BITS))
        parsed[name] = np.where(bits == -1, UNQUANTIZED_BITS, bits)
        checks.append(
            (
                name,
                ok,
                lambda i, n=name: (
                    f"must be -1 (not quantized) or 1..{_MAX_BITS} bits, not {raw(n)(i)}"
                ),
            )
        )

    threshold, ok = _floats(columns["auto_requant_thres"])
    ok &= (threshold >= 0) & (threshold <= 1)
    checks.append(
        (
            "auto_requant_thres",
            ok,
            lambda i: f"must be a number in [0, 1], not {raw('auto_requant_thres')(i)}",
        )
    )

    flags: dict[str, np.ndarray] = {}
    for name in _BOOLEANS:
        texts = np.asarray(columns[name], dtype=str)
        flags[name] = texts == "True"
        ok = flags[name] | (texts == "False")
        good[name] = ok
        checks.append((name, ok, lambda i, n=name: f"must be True or False, not {raw(n)(i)}"))

    topk, topk_parsed = _ints(columns["topk"])
    on = flags["if_topk"] & good["if_topk"]
    topk_ok = topk_parsed & np.where(
        on, (topk >= 1) & ~(length_ok & (topk > length)), ~good["if_topk"] | (topk == -1)
    )
    parsed["topk"] = topk
    parsed["if_topk"] = on

    def topk_problem(i: int) -> str:
        text = raw("topk")(i)
        if on[i]:
            return f"must be in 1..sentence_length_L ({length[i]}) where if_topk, not {text}"
        return f"must be -1 where not if_topk, not {text}"

    checks.append(("topk", topk_ok, topk_problem))

    parsed["if_requant"] = flags["if_requant"]

    first: tuple[int, int, str, str] | None = None
    for name, ok, problem in checks:
        if ok.all():
            continue
        index = int(np.argmin(ok))
        key = (index, position[name], name, "")
        if first is None or key[:2] < first[:2]:
            first = (index, position[name], name, problem(index))
    if first is None:
        return parsed, None
    return parsed, (first[0], first[2], first[3])


def _check_repeats(path: Path, parsed: dict[str, np.ndarray], lines: list[int]) -> None:
    """Raise on the first row repeating an earlier (iteration, layer, head), naming both lines."""
    step, layer, head = parsed["iteration_id"], parsed["layer_id"], parsed["head_id"]
    if len(step) == 0:
        return
    ids = np.stack([step, layer, head], axis=1)
    _, first, inverse = np.unique(ids, axis=0, return_index=True, return_inverse=True)
    first_of_row = first[inverse.reshape(-1)]
    repeated = first_of_row != np.arange(len(step))
    if repeated.any():
        i = int(np.argmax(repeated))
        raise TraceError(
            path,
            f"iteration {step[i]}, layer {layer[i]}, head {head[i]} is already at line "
            f"{lines[first_of_row[i]]}",
            lines[i],
            "iteration_id/layer_id/head_id",
        )


def _build(
    path: Path, parsed: dict[str, np.ndarray], lines: list[int], config: str | None
) -> Trace:
    """The trace of validated, unrepeated columns."""
    _check_repeats(path, parsed, lines)
    step, layer, head = parsed["iteration_id"], parsed["layer_id"], parsed["head_id"]
    n = len(step)
    rows = AttentionRows(
        step=step,
        layer=layer,
        head=head,
        d=parsed["embedding_length_D"],
        queries=np.ones(n, np.int64),
        keys=parsed["key_fetch_num"],
        values=parsed["value_fetch_num"],
        q_bits=parsed["quant_query_bit"],
        k_msb_bits=parsed["quant_key_bit"],
        k_lsb_bits=parsed["auto_requant_incre"],
        v_bits=parsed["quant_value_bit"],
        lsb_fraction=parsed["if_requant"].astype(np.float64),
        kv_reuse=np.zeros(n, np.bool_),
    )
    on = parsed["if_topk"]
    topk = {int(k): int(v) for k, v in zip(layer[on], parsed["topk"][on], strict=True)}
    return Trace(
        path=path,
        rows=rows,
        config=config,
        iterations=len(np.unique(step)),
        layers=len(np.unique(layer)),
        heads=len(np.unique(head)),
        topk=topk,
        lengths=parsed["sentence_length_L"],
    )


def format_trace(workload: Workload, threshold: float = 0.05) -> str:
    """A generation workload written in the trace format (what :func:`load_trace` reads back).

    Every attention row becomes a trace row; ``sentence_length_L`` is the stage's sequence
    length at the row's step. A row's ``lsb_fraction`` (0..1) becomes ``if_requant`` for the
    same fraction of the rows, spread evenly (a golden-ratio sequence), so the expected LSB
    traffic is kept; 32-bit widths are written as -1. No cascade top-k marks (``if_topk``
    False) and no importance bookkeeping flags. Raises ValueError for a summarization workload.
    """
    if not isinstance(workload.stage, Generate):
        raise ValueError("only a generation workload has the trace format's one query per row")
    rows = workload.attention
    n = len(rows)
    lengths = workload.stage.prompt + rows.step + 1
    spread = (np.arange(n) * 0.6180339887498949) % 1.0
    requant = spread < rows.lsb_fraction

    def bits(column: np.ndarray) -> np.ndarray:
        return np.where(column >= UNQUANTIZED_BITS, -1, column)

    columns = {
        "iteration_id": rows.step,
        "layer_id": rows.layer,
        "head_id": rows.head,
        "embedding_length_D": [f"{d}.0" for d in rows.d],
        "sentence_length_L": lengths,
        "key_fetch_num": rows.keys,
        "quant_key_bit": bits(rows.k_msb_bits),
        "quant_query_bit": bits(rows.q_bits),
        "auto_requant_thres": [threshold] * n,
        "if_requant": np.where(requant, "True", "False"),
        "auto_requant_incre": rows.k_lsb_bits,
        "value_fetch_num": rows.values,
        "quant_value_bit": bits(rows.v_bits),
        "if_accumulate_importance": ["False"] * n,
        "if_rescale_previous_importance": ["False"] * n,
        "if_topk": ["False"] * n,
        "topk": [-1] * n,
    }
    lines = [",".join(COLUMNS)]
    table = [[str(value) for value in columns[name]] for name in COLUMNS]
    lines += [",".join(cells) for cells in zip(*table, strict=True)]
    return "\n".join(lines) + "\n"
