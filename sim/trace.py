"""Import of the SpAtten authors' per-query attention trace (CSV) as :class:`AttentionRows`.

The format is the one of ``spatten_hardware/hardware/workloads/*.csv`` in mit-han-lab/spatten: a
header, then one row per (generation iteration, layer, head) query, then optionally one line that
is not a row: the authors end their files with the path of the training config (its first field,
all other fields empty). That line is skipped and reported in :attr:`Trace.notes` (the authors'
own model skips every line whose ``iteration_id`` is not an integer). See
``tests/data/spatten/README.md`` for the columns and the five released files.

:func:`load_trace` validates every field of every row and raises :class:`TraceError` naming the
file, line and column of the first bad field (the earliest line in the file; on one line, the
leftmost column). Rows keep the file order; they need not be sorted. The file is read in chunks
of rows, each validated and packed into narrow columns, so memory stays a small multiple of the
file's size (a 2,000,000-row, 133 MB trace loads in about 0.4 GB).

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
``k_lsb_bits``     ``auto_requant_incre``; 0 where progressive quantization is off
                   (``auto_requant_thres`` or ``auto_requant_incre`` is -1)
``v_bits``         ``quant_value_bit`` (same)
``lsb_fraction``   1.0 if ``if_requant`` else 0.0
``kv_reuse``       False
=================  ===========================================================================

``auto_requant_thres`` and ``auto_requant_incre`` are -1 in the authors' traces made without
progressive quantization ("off"); their hardware model never reads these two columns and fetches
the LSBs exactly for the rows with ``if_requant``, which those traces never set.

:meth:`Trace.check_model` checks a trace against the model it is simulated on (a decoder, the
head dimension, the largest layer and head ids, the positions; with two or more iterations the
layer and head counts); :func:`prunesim.sim.api.trace_rows_workload` calls it.
"""

from __future__ import annotations

import csv
import difflib
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from prunesim.sim.workload import AttentionRows, Generate, Workload

if TYPE_CHECKING:
    from prunesim.models import TransformerConfig

__all__ = [
    "COLUMNS",
    "MAX_D",
    "MAX_ID",
    "MAX_LENGTH",
    "Trace",
    "TraceError",
    "format_trace",
    "load_trace",
]

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
#: The largest ``sentence_length_L`` read (so also ``key_fetch_num``, ``value_fetch_num``,
#: ``topk``). With :data:`MAX_D` and 32-bit widths no count a cost model multiplies out of a row
#: can wrap around in int64: keys x d x bits <= 2**45, MACs d x (keys + values) <= 2**41.
MAX_LENGTH = 2**24
#: The largest ``embedding_length_D`` (head dimension) read.
MAX_D = 2**16
#: The largest ``iteration_id``, ``layer_id`` and ``head_id`` read.
MAX_ID = 2**31 - 1
#: Rows parsed and validated at a time.
_CHUNK_ROWS = 1 << 12
_INT64 = np.iinfo(np.int64)

#: The packed columns kept per row (the validated ranges fit these types).
_PACKED: dict[str, type] = {
    "iteration_id": np.int32,
    "layer_id": np.int32,
    "head_id": np.int32,
    "embedding_length_D": np.int32,
    "sentence_length_L": np.int32,
    "key_fetch_num": np.int32,
    "value_fetch_num": np.int32,
    "quant_query_bit": np.int8,
    "quant_key_bit": np.int8,
    "quant_value_bit": np.int8,
    "lsb_bits": np.int8,
    "if_requant": np.bool_,
    "if_topk": np.bool_,
    "topk": np.int32,
}


class TraceError(ValueError):
    """A trace that cannot be imported, or that does not fit the model it is run on.

    The message is ``FILE:LINE: FIELD: problem`` for a bad field, ``FILE:LINE: problem`` for a bad
    line and ``FILE: problem`` for the whole file (not found, not UTF-8, not CSV, empty, not the
    model's shape). The parts are also attributes: ``path``, ``line`` (1-based, or None), ``field``
    (a column name, or None) and ``problem``.
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

    ``rows`` holds one attention row per trace row, in file order; ``lines`` the file line of
    each. ``iterations``, ``layers`` and ``heads`` count the distinct ids. ``topk`` maps a layer
    to the tokens that the cascade token top-k after that layer keeps (rows with ``if_topk``); the
    authors' tool applies the top-k of the last layer to the next iteration's first layer. Should
    a layer's top-k differ between rows, ``topk`` holds the last one in file order. ``config`` is
    the trailing line's first field (the training config the trace was made with), or None;
    ``notes`` say what was skipped (``FILE:LINE: skipped a line that is not a row: '...'``).
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
    lines: np.ndarray = field(default_factory=lambda: np.zeros(0, np.int64))
    notes: list[str] = field(default_factory=list)

    @property
    def stage(self) -> Generate:
        """The generation the trace records: prompt = the first row's length - 1."""
        first = int(self.lengths[np.argmin(self.rows.step)]) if len(self.lengths) else 1
        return Generate(prompt=first - 1, generate=self.iterations)

    def id_counts(self) -> tuple[int, int]:
        """``(layers, heads)``: one more than the largest layer id and head id (a trace with
        rows)."""
        return int(self.rows.layer.max()) + 1, int(self.rows.head.max()) + 1

    def shape(self) -> str:
        """``"12 layers x 12 heads of 64"``: one more than the largest layer and head id, and the
        head dimension (a range where it varies)."""
        rows = self.rows
        if not len(rows):
            return "no rows"
        lo, hi = int(rows.d.min()), int(rows.d.max())
        d = f"{lo}" if lo == hi else f"{lo}..{hi}"
        layers, heads = self.id_counts()
        return f"{layers} layer{'s' * (layers != 1)} x {heads} head{'s' * (heads != 1)} of {d}"

    def check_model(self, model: TransformerConfig) -> None:
        """Raise :class:`TraceError` naming the trace and ``model`` unless the trace fits it.

        A trace records a decoder's generation, so ``model`` must be a decoder; every row's head
        dimension must be ``model.d``; the largest layer id and head id must be below
        ``model.layers`` and ``model.heads``; every ``sentence_length_L``, and the stage's prompt
        plus generated tokens, at most ``model.max_positions``. A trace of two or more
        iterations holds whole iterations, so its layer and head counts (largest id + 1) must
        equal the model's; one iteration may be a sample (the authors' ``small.csv`` is one
        row), whose ids need only fit. A row-specific problem names its line.
        """
        rows = self.rows
        shape = self.shape()
        theirs = (
            f"{model.name} ({model.layers} layers x {model.heads} heads of {model.d}, "
            f"{model.max_positions} positions)"
        )
        if not model.decoder:
            raise TraceError(
                self.path,
                f"a trace records a decoder's generation ({shape}); {theirs} is an encoder",
            )
        row_checks: tuple[tuple[str, np.ndarray, Callable[[int], str]], ...] = (
            (
                "embedding_length_D",
                rows.d != model.d,
                lambda i: f"head dimension {rows.d[i]} is not that of {theirs}; the trace: {shape}",
            ),
            (
                "layer_id",
                rows.layer >= model.layers,
                lambda i: f"layer {rows.layer[i]} is past the last of {theirs}; the trace: {shape}",
            ),
            (
                "head_id",
                rows.head >= model.heads,
                lambda i: f"head {rows.head[i]} is past the last of {theirs}; the trace: {shape}",
            ),
            (
                "sentence_length_L",
                self.lengths > model.max_positions,
                lambda i: f"{self.lengths[i]} tokens are more than the positions of {theirs}",
            ),
        )
        for name, bad, problem in row_checks:
            if bad.any():
                i = int(np.argmax(bad))
                raise TraceError(self.path, problem(i), int(self.lines[i]), name)
        stage = self.stage
        if stage.prompt + stage.generate > model.max_positions:
            raise TraceError(
                self.path,
                f"a {stage.prompt}-token prompt and {stage.generate} generated tokens (one per "
                f"iteration) are more than the positions of {theirs}",
            )
        if self.iterations >= 2 and self.id_counts() != (model.layers, model.heads):
            raise TraceError(
                self.path,
                f"the trace ({shape}) is not of {theirs}: its {self.iterations} iterations are "
                "whole, so its layer and head counts must be the model's",
            )

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
    * ``iteration_id``, ``layer_id``, ``head_id``: integers in 0..:data:`MAX_ID`;
      ``embedding_length_D``: an integer in 1..:data:`MAX_D`, possibly written as a float
      (``64.0``); ``sentence_length_L`` in 1..:data:`MAX_LENGTH`; ``key_fetch_num`` in 1..L;
      ``value_fetch_num`` in 0..key_fetch_num; bit widths -1 (not quantized) or 1..32;
      ``auto_requant_thres`` -1 (off) or a number in [0, 1]; ``auto_requant_incre`` -1 (off)
      or 0..32; booleans exactly ``True`` or ``False``; ``if_requant`` False where either
      ``auto_requant_*`` is -1; ``topk`` in 1..L where ``if_topk``, else -1;
    * no (iteration, layer, head) appears twice (the message names both lines);
    * a line that is not a row (a non-numeric first field, all others empty: the authors' config
      path) comes only last; it is skipped with a note in :attr:`Trace.notes`. Any other line is
      a row and is checked as one.

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


class _Packed:
    """The validated rows read so far, as packed column chunks (see :data:`_PACKED`)."""

    def __init__(self, path: Path, header: list[str]) -> None:
        self.path = path
        self.header = header
        self.position = {name: i for i, name in enumerate(header)}
        self.chunks: dict[str, list[np.ndarray]] = {name: [] for name in (*_PACKED, "line")}
        self.error: TraceError | None = None  # the first bad field; nothing is kept after it

    def add(self, records: list[list[str]], lines: list[int]) -> None:
        """Validate ``records`` (file lines ``lines``) and keep them, or keep the first error."""
        if self.error is not None or not records:
            return
        columns = dict(zip(self.header, zip(*records, strict=True), strict=True))
        parsed, first_bad = _validate(columns, self.position)
        if first_bad is not None:
            index, name, problem = first_bad
            self.error = TraceError(self.path, problem, lines[index], name)
            return
        for name, dtype in _PACKED.items():
            self.chunks[name].append(parsed[name].astype(dtype))
        self.chunks["line"].append(np.array(lines, np.int64))

    def columns(self) -> dict[str, np.ndarray]:
        """The kept rows, one array per column (the chunks are released)."""
        out = {}
        for name in list(self.chunks):
            parts = self.chunks.pop(name)
            dtype = _PACKED.get(name, np.int64)
            out[name] = np.concatenate(parts) if parts else np.zeros(0, dtype)
        return out


def _parse(path: Path, file: Any) -> Trace:
    reader = csv.reader(file, strict=True)
    header: list[str] | None = None
    packed: _Packed | None = None
    records: list[list[str]] = []
    lines: list[int] = []
    # The line that is not a row: (line, fields). Only the last line may be one.
    skipped: tuple[int, list[str]] | None = None
    # The first error found while reading (a bad field count, a non-row line before the end); a
    # bad field on an earlier line is reported instead.
    late: TraceError | None = None
    width = len(COLUMNS)
    try:
        for row in reader:
            # The common case, decided quickly: a row of the header's width after the header,
            # whose last field makes it no blank line and no config line.
            common = len(row) == width and row[-1].strip() and skipped is None
            if not common or packed is None:
                if not "".join(row).strip():
                    continue
                line = reader.line_num
                if header is None:
                    header = [text.strip() for text in row]
                    _check_header(path, header, line)
                    packed = _Packed(path, header)
                    continue
                if skipped is not None:
                    late = TraceError(
                        path,
                        f"config line {skipped[1][0].strip()!r} must be the last line "
                        f"(line {line} follows it)",
                        skipped[0],
                        header[0],
                    )
                    break
                if not _is_number(row[0]) and not "".join(row[1:]).strip():
                    skipped = (line, row)
                    continue
                if len(row) != len(header):
                    late = _width_error(path, header, row, line)
                    break
            records.append(row)
            lines.append(reader.line_num)
            if len(records) == _CHUNK_ROWS:
                packed.add(records, lines)
                records, lines = [], []
    except csv.Error as error:
        raise TraceError(path, f"not CSV (line {reader.line_num}): {error}") from None
    if header is None or packed is None:
        raise TraceError(path, "empty file (no header)")
    packed.add(records, lines)
    del records, lines
    if packed.error is not None:
        raise packed.error
    columns = packed.columns()
    if late is not None:
        _check_repeats(path, columns)  # a repeated row before the bad line comes first
        raise late
    if not len(columns["line"]):
        raise TraceError(path, "no data rows")
    notes = []
    config = None
    if skipped is not None:
        config = skipped[1][0].strip()
        text = ",".join(skipped[1])
        notes.append(f"{path.name}:{skipped[0]}: skipped a line that is not a row: {text[:40]!r}")
    return _build(path, columns, config, notes)


def _width_error(path: Path, header: list[str], row: list[str], line: int) -> TraceError:
    """The error of a row with fewer or more fields than the header."""
    if len(row) < len(header):
        return TraceError(
            path,
            f"missing (the line has {len(row)} fields, the header {len(header)})",
            line,
            header[len(row)],
        )
    return TraceError(path, f"{len(row)} fields, the header names {len(header)}", line)


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
    """Integers and a mask of the texts that parse (0 in place of the others). An integer beyond
    int64 is clamped to int64's range, so that a range check names it as too large."""
    n = len(texts)
    try:
        return np.fromiter(map(int, texts), np.int64, n), np.ones(n, np.bool_)
    except (ValueError, OverflowError):
        pass
    values = np.zeros(n, np.int64)
    ok = np.ones(n, np.bool_)
    for i, text in enumerate(texts):
        try:
            values[i] = min(max(int(text), _INT64.min), _INT64.max)
        except ValueError:
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
    """Parsed columns (the keys of :data:`_PACKED`) and the first bad field as (row index,
    column, problem), or None.

    "First" is the earliest row, then the leftmost column in the file; on one field, the check
    appended first.
    """
    checks: list[_Check] = []
    parsed: dict[str, np.ndarray] = {}
    good: dict[str, np.ndarray] = {}

    def raw(name: str) -> Callable[[int], str]:
        return lambda i: repr(columns[name][i])

    def bounded(name: str, low: int, high: int, what: str) -> tuple[np.ndarray, np.ndarray]:
        """An integer column in ``low..high``: its values and mask of good rows."""
        values, parses = _ints(columns[name])
        parses &= values >= low
        ok = parses & (values <= high)

        def problem(i: int) -> str:
            if not parses[i]:
                return f"must be {what}, not {raw(name)(i)}"
            return f"must be at most {high}, not {raw(name)(i)}"

        checks.append((name, ok, problem))
        parsed[name] = values
        return values, ok

    for name in ("iteration_id", "layer_id", "head_id"):
        bounded(name, 0, MAX_ID, "a non-negative integer")

    d, d_parses = _floats(columns["embedding_length_D"])
    d_parses &= d >= 1
    d_parses[d_parses] &= d[d_parses] == np.floor(d[d_parses])
    d_ok = d_parses & (d <= MAX_D)

    def d_problem(i: int) -> str:
        text = raw("embedding_length_D")(i)
        if not d_parses[i]:
            return f"must be a positive integer, not {text}"
        return f"must be at most {MAX_D}, not {text}"

    checks.append(("embedding_length_D", d_ok, d_problem))
    parsed["embedding_length_D"] = np.where(d_ok, d, 0).astype(np.int64)

    length, length_ok = bounded("sentence_length_L", 1, MAX_LENGTH, "a positive integer")

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

    threshold, threshold_ok = _floats(columns["auto_requant_thres"])
    threshold_ok &= (threshold == -1) | ((threshold >= 0) & (threshold <= 1))
    checks.append(
        (
            "auto_requant_thres",
            threshold_ok,
            lambda i: f"must be -1 (off) or a number in [0, 1], not {raw('auto_requant_thres')(i)}",
        )
    )

    increment, increment_ok = _ints(columns["auto_requant_incre"])
    increment_ok &= (increment == -1) | ((increment >= 0) & (increment <= _MAX_BITS))
    checks.append(
        (
            "auto_requant_incre",
            increment_ok,
            lambda i: (
                f"must be -1 (off) or a non-negative integer up to {_MAX_BITS}, "
                f"not {raw('auto_requant_incre')(i)}"
            ),
        )
    )
    off = (threshold_ok & (threshold == -1)) | (increment_ok & (increment == -1))
    parsed["lsb_bits"] = np.where(off, 0, increment)

    flags: dict[str, np.ndarray] = {}
    for name in _BOOLEANS:
        texts = np.asarray(columns[name], dtype=str)
        flags[name] = texts == "True"
        ok = flags[name] | (texts == "False")
        good[name] = ok
        checks.append((name, ok, lambda i, n=name: f"must be True or False, not {raw(n)(i)}"))
    checks.append(
        (
            "if_requant",
            ~(flags["if_requant"] & off),
            lambda i: (
                "must be False where auto_requant_thres or auto_requant_incre is -1 "
                "(progressive quantization off), not 'True'"
            ),
        )
    )

    topk, topk_parsed = _ints(columns["topk"])
    on = flags["if_topk"] & good["if_topk"]
    topk_ok = topk_parsed & np.where(
        on, (topk >= 1) & ~(length_ok & (topk > length)), ~good["if_topk"] | (topk == -1)
    )
    parsed["topk"] = np.where(on, topk, -1)
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


def _check_repeats(path: Path, columns: dict[str, np.ndarray]) -> None:
    """Raise on the first row repeating an earlier (iteration, layer, head), naming both lines."""
    step, layer, head = columns["iteration_id"], columns["layer_id"], columns["head_id"]
    if len(step) == 0:
        return
    # One int64 key per row (ids are below 2**31; the layer and head ranges are small in
    # practice), else rows of three ids.
    layers, heads = int(layer.max()) + 1, int(head.max()) + 1
    if (int(step.max()) + 1) * layers * heads < 2**63:
        ids = (step.astype(np.int64) * layers + layer) * heads + head
    else:
        ids = np.stack([step, layer, head], axis=1).astype(np.int64)
    _, first, inverse = np.unique(ids, axis=0, return_index=True, return_inverse=True)
    first_of_row = first[inverse.reshape(-1)]
    repeated = first_of_row != np.arange(len(step))
    if repeated.any():
        i = int(np.argmax(repeated))
        lines = columns["line"]
        raise TraceError(
            path,
            f"iteration {step[i]}, layer {layer[i]}, head {head[i]} is already at line "
            f"{lines[first_of_row[i]]}",
            int(lines[i]),
            "iteration_id/layer_id/head_id",
        )


def _build(
    path: Path, columns: dict[str, np.ndarray], config: str | None, notes: list[str]
) -> Trace:
    """The trace of validated, packed columns."""
    _check_repeats(path, columns)
    step, layer, head = columns["iteration_id"], columns["layer_id"], columns["head_id"]
    n = len(step)
    on = columns["if_topk"]
    topk = {int(k): int(v) for k, v in zip(layer[on], columns["topk"][on], strict=True)}
    rows = AttentionRows(
        step=columns.pop("iteration_id"),
        layer=columns.pop("layer_id"),
        head=columns.pop("head_id"),
        d=columns.pop("embedding_length_D"),
        queries=np.ones(n, np.int64),
        keys=columns.pop("key_fetch_num"),
        values=columns.pop("value_fetch_num"),
        q_bits=columns.pop("quant_query_bit"),
        k_msb_bits=columns.pop("quant_key_bit"),
        k_lsb_bits=columns.pop("lsb_bits"),
        v_bits=columns.pop("quant_value_bit"),
        lsb_fraction=columns.pop("if_requant").astype(np.float64),
        kv_reuse=np.zeros(n, np.bool_),
    )
    del step, layer, head
    return Trace(
        path=path,
        rows=rows,
        config=config,
        iterations=len(np.unique(rows.step)),
        layers=len(np.unique(rows.layer)),
        heads=len(np.unique(rows.head)),
        topk=topk,
        lengths=columns.pop("sentence_length_L").astype(np.int64),
        lines=columns.pop("line"),
        notes=notes,
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
