"""Hardware targets, described in data files (``sim/hardware/*.yaml``) and loaded into dataclasses.

Four kinds, chosen by the file's ``kind`` field:

* ``accelerator`` (:class:`Accelerator`): a SpAtten-class attention accelerator: multiplier
  arrays, softmax lanes, top-k engines, K/V SRAM, DRAM channels, energy per access/operation.
* ``processor`` (:class:`Processor`): a GPU or CPU running eager PyTorch, priced by a roofline per
  kernel (peak compute per precision, memory bandwidth, a per-kernel overhead).
* ``published`` (:class:`Published`): an accelerator known only by its published throughput and
  energy efficiency (A3, MNNFast): time = ops / throughput, energy = ops / efficiency.
* ``systolic`` (:class:`Systolic`): a CNN accelerator built around a systolic array (rows,
  columns, a dataflow), input/filter/output SRAM buffers and DRAM, with optional sparse support
  (zero-skipping compute, compressed weights): SCALE-Sim's machine model, cross-checked against it.

Every number carries its unit in its name; every energy entry and every datasheet figure names its
source in the file (``source:`` beside the value). :func:`load_hardware` takes a preset name or a
path and validates every field, naming the file, line and field of a bad one.

File format
-----------
A YAML mapping. Every file has ``name`` (text), ``kind`` (one of the three above),
``description`` (text) and may have ``sources`` (a mapping of notes, each a text: facts kept for
comparison, e.g. a paper's reported power). The other fields depend on the kind; the YAML path of
each and the dataclass field it fills (units are in the names):

=====================================  ======================================================
``accelerator``                        :class:`Accelerator` field
=====================================  ======================================================
``clock_ghz``                          ``clock_ghz``
``multipliers.qk`` / ``.pv``           ``qk_multipliers`` / ``pv_multipliers``
``multipliers.bits``                   ``multiplier_bits``
``softmax.lanes`` / ``.pipelined``     ``softmax_lanes`` / ``softmax_pipelined`` (true/false)
``topk.comparators``                   ``topk_comparators``
``sram.k_kb`` / ``.v_kb``              ``k_sram_kb`` / ``v_sram_kb``
``sram.word_bits``                     ``sram_word_bits``
``dram.channels``                      ``dram_channels``
``dram.channel_gb_per_s``              ``dram_channel_gb_per_s``
``dram.transaction_bytes``             ``dram_transaction_bytes``
``latency_cycles.<step>``              ``latency_cycles[step]``, steps ``qk``, ``softmax``,
                                       ``pv`` (required), ``requant``, ``topk`` (optional)
``energy.dram_pj_per_bit``             ``dram_pj_per_bit``, its source ``dram_source``
``energy.sram_read_bits``              ``sram_read_bits``
``energy.sram_pj_per_read``            ``sram_pj_per_read`` (an energy table, by KB)
``energy.mult_pj`` / ``.add_pj``       ``mult_pj`` / ``add_pj`` (energy tables, by bits)
=====================================  ======================================================

``systolic``: ``clock_ghz``; ``array.rows``, ``.columns``, ``.dataflow`` (``ws``, ``os``,
``is``), ``.bits`` (operand width); ``sram.ifmap_kb``, ``.filter_kb``, ``.ofmap_kb``;
``dram.channels``, ``.channel_gb_per_s``, ``.transaction_bytes``; ``sparse.zero_skipping``
(true/false), ``.weight_format`` (``dense``, ``bitmask``, ``csr``), ``.index_bits``,
``.pointer_bits`` (CSR); ``energy`` as for an accelerator: the :class:`Systolic` fields
``rows``, ``columns``, ``dataflow``, ``multiplier_bits``, ``ifmap_sram_kb`` ... of the same
meaning.

``processor``: ``clock_ghz``, ``peak_tflops.<precision>`` (precisions ``fp64``, ``fp32``,
``tf32``, ``fp16``, ``bf16``, ``fp8``, ``int8``, ``int4``; integer ones in tera-ops),
``dtype`` (a key of ``peak_tflops``, one of ``fp32``, ``tf32``, ``fp16``, ``bf16``, ``int8``),
``memory_gb_per_s``, ``kernel_overhead_us``, ``power_w``: the :class:`Processor` fields of the same
names. ``published``: ``clock_ghz``, ``gops``, ``gops_per_j``.

Values and sources. A number may be written plain (``channels: 16``) or with its source
(``channels: {value: 16, source: "..."}``); a group (``dram:``, ``sram:`` ...) may carry one
``source:`` for all its fields. An energy table is ``{points: {size: pJ, ...}, scaling:
quadratic|linear|log, source: "..."}`` and ``energy.dram_pj_per_bit`` must be written with its
source: energy entries without a source are refused. Every source given ends up in the
dataclass's ``sources`` mapping, keyed by dataclass field name (``dram_channels``, and
``latency_cycles.qk``, ``peak_tflops.fp32`` for entries of a mapping), beside the notes of the
file's own ``sources:``.

Validation. Every field must be present and of its type; numbers positive and finite (latency
cycles may be zero); integers integral; unknown fields are refused with a suggestion (typos);
nothing is evaluated (YAML is composed with the safe loader, which knows no Python tags). Errors
are :class:`HardwareError` with the message ``file:line: field: problem``.
"""

from __future__ import annotations

import difflib
import math
import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, NoReturn

import yaml

__all__ = [
    "DTYPE_BYTES",
    "Accelerator",
    "EnergyTable",
    "Hardware",
    "HardwareError",
    "Processor",
    "Published",
    "Systolic",
    "hardware_names",
    "load_hardware",
]


class HardwareError(ValueError):
    """A hardware file or name that cannot be used; the message names the file, line and field."""


@dataclass(frozen=True)
class EnergyTable:
    """Energy of one operation as a function of a size, interpolated between cited points.

    ``points`` maps a size (bits of an operand, or KB of an SRAM) to picojoules; ``scaling`` says
    how to interpolate and extrapolate: ``"quadratic"`` (energy proportional to size squared, for
    multipliers: fitted to the nearest point), ``"linear"`` (proportional to size, for adders),
    ``"log"`` (linear in log(size), for SRAM reads by capacity). ``source`` cites the points.

    Contract of a call: a size that is a point returns that point exactly. ``quadratic`` and
    ``linear`` scale the point nearest in ratio (``|log(point / size)|``, the smaller point on a
    tie). ``log`` interpolates between the two points around the size and extrapolates the last
    segment above the largest point; below the smallest point it returns the smallest point's
    energy (an upper bound; extrapolating the first segment would reach zero and go negative).
    Sizes must be positive.
    """

    points: dict[float, float]
    scaling: str
    source: str

    def __call__(self, size: float) -> float:
        """Picojoules per operation at ``size`` (> 0)."""
        if not size > 0:
            raise ValueError(f"energy table size must be positive, not {size!r}")
        if size in self.points:
            return self.points[size]
        sizes = sorted(self.points)
        if self.scaling in ("quadratic", "linear"):
            power = 2 if self.scaling == "quadratic" else 1
            nearest = min(sizes, key=lambda s: abs(math.log(s / size)))
            return self.points[nearest] * (size / nearest) ** power
        if self.scaling != "log":
            raise ValueError(f"unknown energy table scaling {self.scaling!r}")
        # log: piecewise linear in log(size); held below the smallest point, extrapolated above
        if len(sizes) == 1 or size < sizes[0]:
            return self.points[sizes[0]]
        lo, hi = sizes[-2], sizes[-1]
        for a, b in zip(sizes, sizes[1:], strict=False):
            if size <= b:
                lo, hi = a, b
                break
        t = math.log(size / lo) / math.log(hi / lo)
        return self.points[lo] + t * (self.points[hi] - self.points[lo])


@dataclass(frozen=True)
class Accelerator:
    """A SpAtten-class accelerator (kind ``accelerator``). See ``sim/hardware/spatten.yaml``."""

    name: str
    description: str
    clock_ghz: float
    qk_multipliers: int  # Q.K multipliers; keys per cycle = qk_multipliers // d
    pv_multipliers: int  # prob.V multipliers; values per cycle = pv_multipliers // d
    multiplier_bits: int  # operand width of the on-chip datapath
    softmax_lanes: int  # probabilities per cycle
    softmax_pipelined: bool  # Q.K, exp and normalize in separate units overlapping across
    # queries (SpAtten); false: one unit runs the passes one after another (prunesim.rtl.pq)
    topk_comparators: int  # comparators per array of the top-k engine (its lanes)
    k_sram_kb: float  # K buffer (double-buffered halves included)
    v_sram_kb: float
    sram_word_bits: int  # on-chip word per element (K/V are widened to it)
    dram_channels: int
    dram_channel_gb_per_s: float
    dram_transaction_bytes: int
    latency_cycles: dict[str, int]  # pipeline fill per (step, layer): "qk", "softmax", "pv", ...
    dram_pj_per_bit: float
    dram_source: str
    sram_pj_per_read: EnergyTable  # per sram_read_bits-bit read, by capacity in KB
    sram_read_bits: int
    mult_pj: EnergyTable  # per multiply, by operand bits
    add_pj: EnergyTable  # per add, by operand bits
    sources: dict[str, str] = field(default_factory=dict)  # other cited facts, field -> source
    kind: str = "accelerator"

    @property
    def dram_bytes_per_cycle(self) -> float:
        return self.dram_channels * self.dram_channel_gb_per_s / self.clock_ghz

    @property
    def peak_ops_per_s(self) -> float:
        """2 ops per MAC on every multiplier each cycle."""
        return 2 * (self.qk_multipliers + self.pv_multipliers) * self.clock_ghz * 1e9

    @property
    def dram_bytes_per_s(self) -> float:
        return self.dram_channels * self.dram_channel_gb_per_s * 1e9


@dataclass(frozen=True)
class Processor:
    """A GPU or CPU running eager PyTorch (kind ``processor``). See ``sim/hardware/titan-xp.yaml``.

    A kernel takes ``max(flops / peak, bytes / bandwidth) + kernel_overhead_us``; tensors are read
    and written at ``dtype`` (what eager PyTorch computes in; low-bit storage buys nothing here).
    """

    name: str
    description: str
    clock_ghz: float  # to report cycles: seconds x clock
    peak_tflops: dict[str, float]  # by precision ("fp32", "fp16", "int8" ...)
    dtype: str  # the precision eager PyTorch runs the model in, a key of peak_tflops
    memory_gb_per_s: float
    kernel_overhead_us: float
    power_w: float  # board/package power while busy: energy = power x time
    sources: dict[str, str] = field(default_factory=dict)  # field -> source
    kind: str = "processor"

    @property
    def dtype_bytes(self) -> int:
        return _DTYPE_BYTES[self.dtype]

    @property
    def peak_ops_per_s(self) -> float:
        return self.peak_tflops[self.dtype] * 1e12

    @property
    def dram_bytes_per_s(self) -> float:
        return self.memory_gb_per_s * 1e9


@dataclass(frozen=True)
class Published:
    """An accelerator known by its published figures only (kind ``published``)."""

    name: str
    description: str
    clock_ghz: float
    gops: float  # attention throughput, giga-ops per second (2 ops per MAC)
    gops_per_j: float  # energy efficiency
    sources: dict[str, str] = field(default_factory=dict)
    kind: str = "published"

    @property
    def peak_ops_per_s(self) -> float:
        return self.gops * 1e9


@dataclass(frozen=True)
class Systolic:
    """A systolic-array CNN accelerator (kind ``systolic``). See ``sim/hardware/systolic-32.yaml``
    and :mod:`prunesim.sim.systolic` for the formulas its cost model uses."""

    name: str
    description: str
    clock_ghz: float
    rows: int  # processing elements per column (the reduction side in ws/is)
    columns: int
    dataflow: str  # "ws", "os" or "is"
    multiplier_bits: int  # operand width of a processing element
    ifmap_sram_kb: float  # each buffer double-buffered: half is filled while half is read
    filter_sram_kb: float
    ofmap_sram_kb: float
    dram_channels: int
    dram_channel_gb_per_s: float
    dram_transaction_bytes: int
    zero_skipping: bool  # processing elements skip zero weights (compressed reduction)
    weight_format: str  # "dense", "bitmask" or "csr": how weights are stored in DRAM
    index_bits: int  # CSR column index per non-zero
    pointer_bits: int  # CSR row pointer per filter
    dram_pj_per_bit: float
    dram_source: str
    sram_pj_per_read: EnergyTable
    sram_read_bits: int
    mult_pj: EnergyTable
    add_pj: EnergyTable
    sources: dict[str, str] = field(default_factory=dict)
    kind: str = "systolic"

    @property
    def dram_bytes_per_cycle(self) -> float:
        return self.dram_channels * self.dram_channel_gb_per_s / self.clock_ghz

    @property
    def peak_ops_per_s(self) -> float:
        """2 ops per MAC on every processing element each cycle."""
        return 2 * self.rows * self.columns * self.clock_ghz * 1e9

    @property
    def dram_bytes_per_s(self) -> float:
        return self.dram_channels * self.dram_channel_gb_per_s * 1e9


Hardware = Accelerator | Processor | Published | Systolic

# ---------------------------------------------------------------------------------------------
# The file format.

_PRESET_DIR = Path(__file__).parent / "hardware"

_KINDS = ("accelerator", "processor", "published", "systolic")
#: Bytes per element of each precision eager PyTorch can run a model in (Processor.dtype).
DTYPE_BYTES = {"fp32": 4, "tf32": 4, "fp16": 2, "bf16": 2, "int8": 1}
_DTYPE_BYTES = DTYPE_BYTES
# Precisions a processor may list a peak for (peak_tflops keys); integer ones are tera-ops.
_PRECISIONS = ("fp64", "fp32", "tf32", "fp16", "bf16", "fp8", "int8", "int4")
_SCALINGS = ("quadratic", "linear", "log")
_LATENCY_REQUIRED = ("qk", "softmax", "pv")
_LATENCY_OPTIONAL = ("requant", "topk")
_PLAIN_TAGS = ("tag:yaml.org,2002:map", "tag:yaml.org,2002:seq")


@dataclass(frozen=True)
class _F:
    """One scalar field of a layout: the dataclass field it fills and its value type.

    ``kind``: ``"int"`` (positive integer), ``"float"`` (positive finite number), ``"bool"``,
    ``"table"`` (an energy table), ``"cited"`` (a positive number that must carry its source),
    ``"choice"`` (one of the texts ``choices``).
    """

    attr: str
    kind: str
    choices: tuple[str, ...] = ()


# A layout maps a YAML key to a scalar field (_F) or to a group (a nested layout). Special
# mappings (latency_cycles, peak_tflops) and the common fields are read by hand.
_Layout = dict[str, "_F | _Layout"]

_ACCELERATOR_LAYOUT: _Layout = {
    "clock_ghz": _F("clock_ghz", "float"),
    "multipliers": {
        "qk": _F("qk_multipliers", "int"),
        "pv": _F("pv_multipliers", "int"),
        "bits": _F("multiplier_bits", "int"),
    },
    "softmax": {
        "lanes": _F("softmax_lanes", "int"),
        "pipelined": _F("softmax_pipelined", "bool"),
    },
    "topk": {"comparators": _F("topk_comparators", "int")},
    "sram": {
        "k_kb": _F("k_sram_kb", "float"),
        "v_kb": _F("v_sram_kb", "float"),
        "word_bits": _F("sram_word_bits", "int"),
    },
    "dram": {
        "channels": _F("dram_channels", "int"),
        "channel_gb_per_s": _F("dram_channel_gb_per_s", "float"),
        "transaction_bytes": _F("dram_transaction_bytes", "int"),
    },
    "energy": {
        "dram_pj_per_bit": _F("dram_pj_per_bit", "cited"),
        "sram_read_bits": _F("sram_read_bits", "int"),
        "sram_pj_per_read": _F("sram_pj_per_read", "table"),
        "mult_pj": _F("mult_pj", "table"),
        "add_pj": _F("add_pj", "table"),
    },
}
_PROCESSOR_LAYOUT: _Layout = {
    "clock_ghz": _F("clock_ghz", "float"),
    "memory_gb_per_s": _F("memory_gb_per_s", "float"),
    "kernel_overhead_us": _F("kernel_overhead_us", "float"),
    "power_w": _F("power_w", "float"),
}
_PUBLISHED_LAYOUT: _Layout = {
    "clock_ghz": _F("clock_ghz", "float"),
    "gops": _F("gops", "float"),
    "gops_per_j": _F("gops_per_j", "float"),
}
_SYSTOLIC_LAYOUT: _Layout = {
    "clock_ghz": _F("clock_ghz", "float"),
    "array": {
        "rows": _F("rows", "int"),
        "columns": _F("columns", "int"),
        "dataflow": _F("dataflow", "choice", ("ws", "os", "is")),
        "bits": _F("multiplier_bits", "int"),
    },
    "sram": {
        "ifmap_kb": _F("ifmap_sram_kb", "float"),
        "filter_kb": _F("filter_sram_kb", "float"),
        "ofmap_kb": _F("ofmap_sram_kb", "float"),
    },
    "dram": _ACCELERATOR_LAYOUT["dram"],
    "sparse": {
        "zero_skipping": _F("zero_skipping", "bool"),
        "weight_format": _F("weight_format", "choice", ("dense", "bitmask", "csr")),
        "index_bits": _F("index_bits", "int"),
        "pointer_bits": _F("pointer_bits", "int"),
    },
    "energy": _ACCELERATOR_LAYOUT["energy"],
}
_SPECIAL_KEYS = {
    "accelerator": ("latency_cycles",),
    "processor": ("peak_tflops", "dtype"),
    "published": (),
    "systolic": (),
}
_LAYOUTS = {
    "accelerator": _ACCELERATOR_LAYOUT,
    "processor": _PROCESSOR_LAYOUT,
    "published": _PUBLISHED_LAYOUT,
    "systolic": _SYSTOLIC_LAYOUT,
}
_CLASSES = {
    "accelerator": Accelerator,
    "processor": Processor,
    "published": Published,
    "systolic": Systolic,
}


def hardware_names() -> list[str]:
    """The presets shipped in ``sim/hardware/`` (file stems), sorted."""
    return sorted(p.stem for p in _PRESET_DIR.glob("*.yaml") if p.is_file())


def load_hardware(name_or_path: str | os.PathLike[str]) -> Hardware:
    """Load a preset by name or a YAML file by path; raise :class:`HardwareError` if invalid.

    A name from :func:`hardware_names` wins over a file of the same name in the working
    directory. Any other string must be the path of an existing file. The file is validated field
    by field (see the module docstring); the first problem found raises :class:`HardwareError`
    with ``file:line: field: problem`` (``file`` is ``<name>.yaml`` for a preset, the path as
    given otherwise). Returns a frozen :class:`Accelerator`, :class:`Processor` or
    :class:`Published`.
    """
    if not isinstance(name_or_path, str | os.PathLike):
        raise TypeError(
            f"hardware must be a preset name or a path, not {type(name_or_path).__name__}"
        )
    names = hardware_names()
    if isinstance(name_or_path, str) and name_or_path in names:
        path = _PRESET_DIR / f"{name_or_path}.yaml"
        label = path.name
    else:
        path = Path(name_or_path)
        label = os.fspath(name_or_path)
        if not path.is_file():
            raise HardwareError(
                f"unknown hardware {label!r} (choose from {', '.join(names)}; "
                "or give a path to a .yaml file)"
            )
    try:
        text = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        raise HardwareError(f"{label}: cannot read: {exc}") from exc
    return _Reader(label).read(text)


# ---------------------------------------------------------------------------------------------
# The reader: walks the composed node tree, so that every value keeps its line.


def _line(node: yaml.Node) -> int:
    return node.start_mark.line + 1


def _join(prefix: str, key: str) -> str:
    return f"{prefix}.{key}" if prefix else key


def _show(value: Any) -> str:
    """A value as the message shows it: YAML spelling for scalars, a kind for collections."""
    if value is None:
        return "empty (null)"
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, str):
        return repr(value)
    return str(value)


class _Shape:
    """Stands for a mapping or a list where a scalar was expected; shown by its description."""

    def __init__(self, description: str) -> None:
        self.description = description

    def __str__(self) -> str:
        return self.description


_MAPPING = _Shape("a mapping")
_SEQUENCE = _Shape("a list")


def _is_number(value: Any) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool)


class _Reader:
    """Reads one file; ``label`` names it in messages."""

    def __init__(self, label: str) -> None:
        self.label = label
        self._constructor = yaml.SafeLoader("")
        self.sources: dict[str, str] = {}

    # -- errors --------------------------------------------------------------------------------

    def fail(self, node: yaml.Node | int, path: str, problem: str) -> NoReturn:
        line = node if isinstance(node, int) else _line(node)
        where = f"{path}: " if path else ""
        raise HardwareError(f"{self.label}:{line}: {where}{problem}")

    # -- YAML nodes ----------------------------------------------------------------------------

    def compose(self, text: str) -> yaml.Node:
        try:
            node = yaml.compose(text, Loader=yaml.SafeLoader)
        except yaml.MarkedYAMLError as exc:
            mark = exc.problem_mark or exc.context_mark
            line = mark.line + 1 if mark is not None else 1
            problem = " ".join(p for p in (exc.context, exc.problem) if p)
            raise HardwareError(f"{self.label}:{line}: not valid YAML: {problem}") from exc
        except yaml.YAMLError as exc:
            raise HardwareError(f"{self.label}:1: not valid YAML: {exc}") from exc
        if node is None:
            raise HardwareError(f"{self.label}:1: the file is empty")
        return node

    def scalar(self, node: yaml.Node, path: str) -> Any:
        """The Python value of a scalar node (safe tags only)."""
        self.check_tag(node, path)
        if isinstance(node, yaml.MappingNode):
            return _MAPPING
        if isinstance(node, yaml.SequenceNode):
            return _SEQUENCE
        try:
            return self._constructor.construct_object(node, deep=True)
        except yaml.YAMLError as exc:
            problem = getattr(exc, "problem", None) or str(exc)
            self.fail(node, path, f"cannot read this value: {problem}")

    def check_tag(self, node: yaml.Node, path: str) -> None:
        """Refuse a collection with an explicit tag (``!!python/...``): nothing is constructed."""
        if isinstance(node, yaml.MappingNode | yaml.SequenceNode) and node.tag not in _PLAIN_TAGS:
            self.fail(node, path, f"cannot read this value: the tag {node.tag!r} is not allowed")

    def mapping(self, node: yaml.Node, path: str) -> dict[str, tuple[yaml.Node, yaml.Node]]:
        """The entries of a mapping node by key, each as (key node, value node)."""
        self.check_tag(node, path)
        if not isinstance(node, yaml.MappingNode):
            what = _show(self.scalar(node, path))
            self.fail(node, path, f"must be a mapping (indented fields), not {what}")
        entries: dict[str, tuple[yaml.Node, yaml.Node]] = {}
        for key_node, value_node in node.value:
            if key_node.tag == "tag:yaml.org,2002:merge":
                self.fail(key_node, path, "YAML merge keys (<<) are not supported")
            key = self.scalar(key_node, path)
            if not isinstance(key, str):
                self.fail(key_node, path, f"field names must be text, not {_show(key)}")
            if key in entries:
                first = _line(entries[key][0])
                self.fail(key_node, _join(path, key), f"given twice (first on line {first})")
            entries[key] = (key_node, value_node)
        return entries

    def check_keys(
        self,
        entries: dict[str, tuple[yaml.Node, yaml.Node]],
        path: str,
        node: yaml.Node,
        required: tuple[str, ...] | list[str],
        optional: tuple[str, ...] | list[str] = (),
        what: str = "field",
    ) -> None:
        """Refuse unknown keys (with a suggestion), then missing ones (at the mapping's line)."""
        allowed = list(required) + list(optional)
        for key, (key_node, _) in entries.items():
            if key not in allowed:
                close = difflib.get_close_matches(key, allowed, n=1)
                hint = f"; did you mean {close[0]!r}?" if close else ""
                self.fail(
                    key_node,
                    _join(path, key),
                    f"unknown {what} (expected one of {', '.join(allowed)}){hint}",
                )
        missing = [key for key in required if key not in entries]
        if missing:
            also = f" (also missing: {', '.join(missing[1:])})" if missing[1:] else ""
            self.fail(node, _join(path, missing[0]), f"missing{also}")

    # -- values --------------------------------------------------------------------------------

    def text(self, node: yaml.Node, path: str) -> str:
        value = self.scalar(node, path)
        if not isinstance(value, str) or not value.strip():
            self.fail(node, path, f"must be a non-empty text, not {_show(value)}")
        return value.strip()

    def number(self, node: yaml.Node, path: str, kind: str, *, zero_ok: bool = False) -> Any:
        """A positive (or non-negative) finite number; ``kind`` ``"int"`` wants an integer."""
        value = self.scalar(node, path)
        sign = "non-negative" if zero_ok else "positive"
        want = f"a {sign} integer" if kind == "int" else f"a {sign} number"
        if not _is_number(value):
            hint = ""
            if isinstance(value, str):
                try:
                    float(value)
                    hint = " (YAML reads it as text: write a decimal point, as in 1.0e9)"
                except ValueError:
                    pass
            self.fail(node, path, f"must be {want}, not {_show(value)}{hint}")
        if not math.isfinite(value):
            self.fail(node, path, f"must be {want}, not {_show(value)}")
        if kind == "int":
            if isinstance(value, float):
                if not value.is_integer():
                    self.fail(node, path, f"must be {want}, not {_show(value)}")
                value = int(value)
        if value < 0 or (value == 0 and not zero_ok):
            self.fail(node, path, f"must be {want}, not {_show(value)}")
        return value if kind == "int" else float(value)

    def boolean(self, node: yaml.Node, path: str) -> bool:
        value = self.scalar(node, path)
        if not isinstance(value, bool):
            self.fail(node, path, f"must be true or false, not {_show(value)}")
        return value

    def cited(
        self, key_node: yaml.Node, node: yaml.Node, path: str
    ) -> tuple[yaml.Node, str | None]:
        """Unwrap ``{value: ..., source: ...}``: the value node and the source (None if plain)."""
        if not isinstance(node, yaml.MappingNode):
            return node, None
        entries = self.mapping(node, path)
        self.check_keys(entries, path, key_node, ("value", "source"))
        source = self.text(entries["source"][1], _join(path, "source"))
        return entries["value"][1], source

    def group(
        self,
        key_node: yaml.Node,
        node: yaml.Node,
        path: str,
        required: tuple[str, ...] | list[str],
        optional: tuple[str, ...] | list[str] = (),
        what: str = "field",
    ) -> tuple[dict[str, tuple[yaml.Node, yaml.Node]], str | None]:
        """A mapping of fields that may carry one ``source:`` for all: (fields, that source)."""
        entries = self.mapping(node, path)
        fields = {k: v for k, v in entries.items() if k != "source"}
        self.check_keys(fields, path, key_node, required, (*optional, "source"), what)
        source = None
        if "source" in entries:
            source = self.text(entries["source"][1], _join(path, "source"))
        return fields, source

    def table(self, key_node: yaml.Node, node: yaml.Node, path: str) -> EnergyTable:
        entries = self.mapping(node, path)
        self.check_keys(entries, path, key_node, ("points", "scaling", "source"))
        source = self.text(entries["source"][1], _join(path, "source"))
        scaling_node = entries["scaling"][1]
        scaling = self.scalar(scaling_node, _join(path, "scaling"))
        if scaling not in _SCALINGS:
            self.fail(
                scaling_node,
                _join(path, "scaling"),
                f"must be one of {', '.join(_SCALINGS)}, not {_show(scaling)}",
            )
        points_path = _join(path, "points")
        points_node = entries["points"][1]
        if not isinstance(points_node, yaml.MappingNode):
            what = _show(self.scalar(points_node, points_path))
            self.fail(points_node, points_path, f"must be a mapping of size: pJ, not {what}")
        points: dict[float, float] = {}
        for size_node, energy_node in points_node.value:
            size = self.number(size_node, f"{points_path} (a size)", "float")
            size_path = _join(points_path, f"{size:g}")
            if size in points:
                self.fail(size_node, size_path, "given twice")
            points[size] = self.number(energy_node, size_path, "float")
        if not points:
            self.fail(points_node, points_path, "must have at least one point")
        if scaling == "log":
            if len(points) < 2:
                self.fail(points_node, points_path, "log scaling needs at least two points")
            energies = [points[s] for s in sorted(points)]
            if any(b < a for a, b in zip(energies, energies[1:], strict=False)):
                self.fail(points_node, points_path, "energy must not decrease as size grows")
        return EnergyTable(points=points, scaling=scaling, source=source)

    # -- the document --------------------------------------------------------------------------

    def read(self, text: str) -> Hardware:
        """Validate a whole file and build its dataclass."""
        root = self.compose(text)
        entries = self.mapping(root, "")
        if "kind" not in entries:
            close = difflib.get_close_matches("kind", list(entries), n=1)
            if close:
                self.fail(entries[close[0]][0], close[0], "unknown field; did you mean 'kind'?")
            self.fail(root, "kind", f"missing (one of {', '.join(_KINDS)})")
        kind_node = entries["kind"][1]
        kind = self.scalar(kind_node, "kind")
        if kind not in _KINDS:
            self.fail(kind_node, "kind", f"must be one of {', '.join(_KINDS)}, not {_show(kind)}")
        layout = _LAYOUTS[kind]
        required = ["name", "kind", "description", *layout, *_SPECIAL_KEYS[kind]]
        self.check_keys(entries, "", root, required, ("sources",))

        values: dict[str, Any] = {
            "kind": kind,
            "name": self.text(entries["name"][1], "name"),
            "description": self.text(entries["description"][1], "description"),
        }
        self.read_layout(entries, layout, "", None, values)
        if kind == "accelerator":
            values["latency_cycles"] = self.latency(*entries["latency_cycles"])
        if kind in ("accelerator", "systolic"):
            values["dram_source"] = self.sources["dram_pj_per_bit"]
        elif kind == "processor":
            peaks = self.peaks(*entries["peak_tflops"])
            values["peak_tflops"] = peaks
            values["dtype"] = self.dtype(*entries["dtype"], peaks)
        if "sources" in entries:
            self.notes(entries["sources"][1])
        values["sources"] = dict(self.sources)
        return _CLASSES[kind](**values)

    def read_layout(
        self,
        entries: dict[str, tuple[yaml.Node, yaml.Node]],
        layout: _Layout,
        prefix: str,
        group_source: str | None,
        values: dict[str, Any],
    ) -> None:
        """Read the fields of ``layout`` from ``entries`` (already checked: all there, no other)."""
        for key, spec in layout.items():
            path = _join(prefix, key)
            key_node, value_node = entries[key]
            if isinstance(spec, dict):
                fields, source = self.group(key_node, value_node, path, list(spec))
                self.read_layout(fields, spec, path, source or group_source, values)
            elif spec.kind == "table":
                table = self.table(key_node, value_node, path)
                self.sources[spec.attr] = table.source
                values[spec.attr] = table
            else:
                inner, source = self.cited(key_node, value_node, path)
                if spec.kind == "cited" and source is None:
                    self.fail(
                        value_node,
                        path,
                        'must name its source, as {value: ..., source: "..."} '
                        "(every energy entry cites one)",
                    )
                if spec.kind == "bool":
                    values[spec.attr] = self.boolean(inner, path)
                elif spec.kind == "choice":
                    value = self.scalar(inner, path)
                    if value not in spec.choices:
                        self.fail(
                            inner,
                            path,
                            f"must be one of {', '.join(spec.choices)}, not {_show(value)}",
                        )
                    values[spec.attr] = value
                else:
                    values[spec.attr] = self.number(inner, path, spec.kind)
                if source or group_source:
                    self.sources[spec.attr] = source or group_source

    def latency(self, key_node: yaml.Node, node: yaml.Node) -> dict[str, int]:
        path = "latency_cycles"
        fields, group_source = self.group(
            key_node, node, path, _LATENCY_REQUIRED, _LATENCY_OPTIONAL, "pipeline step"
        )
        cycles: dict[str, int] = {}
        for step, (step_key, step_node) in fields.items():
            step_path = _join(path, step)
            inner, source = self.cited(step_key, step_node, step_path)
            cycles[step] = self.number(inner, step_path, "int", zero_ok=True)
            if source or group_source:
                self.sources[step_path] = source or group_source
        return cycles

    def peaks(self, key_node: yaml.Node, node: yaml.Node) -> dict[str, float]:
        path = "peak_tflops"
        fields, group_source = self.group(key_node, node, path, (), _PRECISIONS, "precision")
        if not fields:
            self.fail(key_node, path, "must list the peak of at least one precision")
        peaks: dict[str, float] = {}
        for precision, (precision_key, precision_node) in fields.items():
            precision_path = _join(path, precision)
            inner, source = self.cited(precision_key, precision_node, precision_path)
            peaks[precision] = self.number(inner, precision_path, "float")
            if source or group_source:
                self.sources[precision_path] = source or group_source
        return peaks

    def dtype(self, key_node: yaml.Node, node: yaml.Node, peaks: dict[str, float]) -> str:
        inner, source = self.cited(key_node, node, "dtype")
        dtype = self.scalar(inner, "dtype")
        if dtype not in _DTYPE_BYTES:
            choices = ", ".join(_DTYPE_BYTES)
            self.fail(inner, "dtype", f"must be one of {choices}, not {_show(dtype)}")
        if dtype not in peaks:
            listed = ", ".join(peaks)
            self.fail(inner, "dtype", f"{dtype!r} has no peak in peak_tflops (it lists {listed})")
        if source:
            self.sources["dtype"] = source
        return dtype

    def notes(self, node: yaml.Node) -> None:
        """The file's own ``sources:``: notes by any name, each a text."""
        for key, (key_node, value_node) in self.mapping(node, "sources").items():
            path = _join("sources", key)
            if key in self.sources:
                self.fail(key_node, path, f"{key!r} already has a source beside its value")
            self.sources[key] = self.text(value_node, path)
