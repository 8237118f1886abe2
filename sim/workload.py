"""The per-layer workload record: where a pruning method and a hardware model meet.

A method (:mod:`prunesim.sim.methods`) turns a model and a stage into a :class:`Workload`; the cost
model (:mod:`prunesim.sim.engine`) prices a workload on a hardware target. Neither side knows the
other: everything the hardware needs is in these arrays, and nothing in them names a device.

Attention work is a table of *attention rows*, struct-of-arrays (numpy), one row per (step, layer,
head) in the order the hardware processes them. A row is ``queries`` queries of one head that share
the same ``keys`` keys and ``values`` values:

* summarization / prefill: one row per (layer, head), ``queries`` = tokens alive at that layer,
  ``kv_reuse`` true (the keys and values are loaded once and reused by every query);
* generation: one row per (step, layer, head), ``queries`` = 1, ``kv_reuse`` false.

With grouped-query attention ``kv_share`` query heads share one K/V head: each of their rows
carries ``1 / kv_share`` of the K/V traffic (the hardware runs a group's heads back to back on
the K/V it fetched once).

Bit widths are per element as stored in DRAM (32 = unquantized float). ``k_lsb_bits`` is the LSB
plane that progressive quantization fetches for the fraction ``lsb_fraction`` of the row's queries
(0 when progressive quantization is off).

Linear work (QKV, output projection, FFN, LM head) is a table of *linear rows*, one per (step,
layer, matrix): ``tokens`` rows times a ``in_features x out_features`` weight at ``w_bits``.

Convolutional work (CNNs, the SD UNet) is a table of *conv rows*, one per (step, layer): a
``batch`` of ``in_channels x in_height x in_width`` inputs convolved with ``out_channels``
filters of ``kernel x kernel x in_channels / groups`` weights ("same" padding: the output is
``out_height x out_width``), of which the fraction ``weight_density`` is non-zero (unstructured
pruning; 1: dense). A fully connected layer is a 1x1 convolution on a 1x1 input. Each row is
``groups`` independent matrix products (:meth:`ConvRows.gemm`): ``batch x out_height x out_width``
output pixels, a reduction over the ``kernel**2 x in_channels / groups`` window, ``out_channels /
groups`` filters. ``post_kernels`` counts the elementwise passes over the output that follow the
convolution (batch norm, activation), which general-purpose hardware runs as separate kernels.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from numbers import Integral
from typing import Any

import numpy as np

__all__ = [
    "ATTENTION_FIELDS",
    "CONV_FIELDS",
    "LINEAR_FIELDS",
    "AttentionRows",
    "ConvRows",
    "LinearRows",
    "MAX_BATCH",
    "Decode",
    "Generate",
    "Infer",
    "OPTIONAL_DEFAULTS",
    "Train",
    "Prefill",
    "Stage",
    "Summarize",
    "Workload",
]


#: The largest ``batch`` of :class:`Infer` and :class:`Train`: 65536 (2**16), the largest
#: mini-batch of large-batch ImageNet training (Jia et al. 2018, ResNet-50 at 64K); it keeps the
#: int64 MAC counts of the largest network here (the SD UNet, 4.0e11 MACs per input) 350x from
#: overflow.
MAX_BATCH = 65536


def _check_count(stage: object, name: str, minimum: int, maximum: int | None = None) -> None:
    """Check the field ``name`` of ``stage`` (a frozen dataclass) and store it as a plain int:
    TypeError unless an integer (bool and float are not), ValueError outside
    ``minimum .. maximum``; both messages name the stage class and the field."""
    value = getattr(stage, name)
    owner = type(stage).__name__
    if isinstance(value, bool) or not isinstance(value, Integral):
        raise TypeError(f"{owner} {name} must be an integer, not {value!r}")
    value = int(value)
    if value < minimum or (maximum is not None and value > maximum):
        span = f"at least {minimum}" if maximum is None else f"in {minimum}..{maximum}"
        raise ValueError(f"{owner} {name} must be {span}, not {value}")
    object.__setattr__(stage, name, value)


@dataclass(frozen=True)
class Summarize:
    """Summarization (BERT) or a prompt's prefill: ``tokens`` tokens processed at once.

    ``tokens`` >= 1 (TypeError for a non-integer, ValueError below 1); that they fit a model's
    positions is the model's family's check (:meth:`Family.check_stage
    <prunesim.sim.families.Family.check_stage>`)."""

    tokens: int

    def __post_init__(self) -> None:
        _check_count(self, "tokens", 1)

    @property
    def name(self) -> str:
        return "summarize"

    def describe(self) -> str:
        return f"summarize {self.tokens} tokens"


@dataclass(frozen=True)
class Generate:
    """Generation: ``generate`` tokens one at a time after a ``prompt``-token prompt.

    Step ``t`` (0-based) attends over ``prompt + t + 1`` tokens (the prompt, the tokens generated
    so far and itself), the convention of the SpAtten authors' trace (993 keys at step 0 of a
    992-token prompt). The prompt's own prefill is not part of this stage.

    ``prompt`` >= 0, ``generate`` >= 1 (TypeError for a non-integer, ValueError out of range);
    that ``prompt + generate`` fits a model's positions is its family's check.
    """

    prompt: int
    generate: int

    def __post_init__(self) -> None:
        _check_count(self, "prompt", 0)
        _check_count(self, "generate", 1)

    @property
    def name(self) -> str:
        return "generate"

    def describe(self) -> str:
        return f"generate {self.generate} tokens after a {self.prompt}-token prompt"


def _images(count: int) -> str:
    return f"{count} image" + ("" if count == 1 else "s")


@dataclass(frozen=True)
class Prefill:
    """An LVLM's prefill: ``images`` images (crops, frames) and ``text_tokens`` text tokens.

    The vision encoder runs on every image, the projector maps its tokens, and the LLM processes
    the visual and text tokens at once (the method decides how many visual tokens survive).

    ``images`` >= 1, ``text_tokens`` >= 0 (TypeError for a non-integer, ValueError out of
    range); that the input fits the LLM's context is the model's family's check.
    """

    images: int
    text_tokens: int

    def __post_init__(self) -> None:
        _check_count(self, "images", 1)
        _check_count(self, "text_tokens", 0)

    @property
    def name(self) -> str:
        return "prefill"

    def describe(self) -> str:
        return f"prefill {_images(self.images)} + {self.text_tokens} text tokens"


@dataclass(frozen=True)
class Decode:
    """An LVLM's decoding: ``generate`` tokens after the prefill of ``images`` and ``text_tokens``.

    Step ``t`` attends over the KV cache the prefill left at each layer (visual tokens pruned
    there stay pruned) plus ``t + 1`` generated tokens.

    ``images`` >= 1, ``text_tokens`` >= 0, ``generate`` >= 1 (TypeError for a non-integer,
    ValueError out of range); that the prefill and the generated tokens fit the LLM's context is
    the model's family's check.
    """

    images: int
    text_tokens: int
    generate: int

    def __post_init__(self) -> None:
        _check_count(self, "images", 1)
        _check_count(self, "text_tokens", 0)
        _check_count(self, "generate", 1)

    @property
    def name(self) -> str:
        return "decode"

    def describe(self) -> str:
        return (
            f"decode {self.generate} tokens after {_images(self.images)} + {self.text_tokens} "
            "text tokens"
        )


def _batch(batch: int) -> str:
    return f"a batch of {batch} image" + ("" if batch == 1 else "s")


@dataclass(frozen=True)
class Infer:
    """Inference of a convolutional network (or one UNet denoising step) on ``batch`` inputs,
    1 .. :data:`MAX_BATCH` (TypeError for a non-integer, ValueError out of range)."""

    batch: int

    def __post_init__(self) -> None:
        _check_count(self, "batch", 1, MAX_BATCH)

    @property
    def name(self) -> str:
        return "infer"

    def describe(self) -> str:
        return f"infer {_batch(self.batch)}"


@dataclass(frozen=True)
class Train:
    """One training (fine-tuning) step on ``batch`` inputs: forward, backward, optimizer update.

    Methods that train (SaRA, FedTiny's clients) state in the workload what the step keeps in
    memory (:attr:`Workload.memory_bytes`) and which passes over memory it adds
    (:attr:`Workload.streams`). ``batch``: 1 .. :data:`MAX_BATCH` (TypeError for a
    non-integer, ValueError out of range).
    """

    batch: int

    def __post_init__(self) -> None:
        _check_count(self, "batch", 1, MAX_BATCH)

    @property
    def name(self) -> str:
        return "train"

    def describe(self) -> str:
        return f"one training step on {_batch(self.batch)}"


Stage = Summarize | Generate | Prefill | Decode | Infer | Train

#: Attention row columns -> numpy dtype.
ATTENTION_FIELDS: dict[str, type] = {
    "step": np.int64,
    "layer": np.int64,
    "head": np.int64,
    "d": np.int64,  # head dimension
    "queries": np.int64,  # queries in this row (all share the keys/values below)
    "keys": np.int64,  # keys each query attends to (after token pruning)
    "values": np.int64,  # values each query reads (after local V pruning)
    "q_bits": np.int64,
    "k_msb_bits": np.int64,  # key bits fetched first (all of them without progressive quant.)
    "k_lsb_bits": np.int64,  # key LSB bits fetched on a recompute (0: none)
    "v_bits": np.int64,
    "lsb_fraction": np.float64,  # fraction of the queries that fetch the LSBs, 0..1
    "kv_reuse": np.bool_,  # keys/values loaded once per row and reused by its queries
    "kv_share": np.int64,  # query heads sharing this row's K/V (grouped-query attention; 1: MHA)
}

#: Columns that may be left out, with their value then.
OPTIONAL_DEFAULTS: dict[str, int] = {"kv_share": 1}

#: Linear row columns -> numpy dtype.
LINEAR_FIELDS: dict[str, type] = {
    "step": np.int64,
    "layer": np.int64,
    "tokens": np.int64,  # activations rows multiplied by the weight
    "in_features": np.int64,
    "out_features": np.int64,
    "w_bits": np.int64,  # weight bits in DRAM
    "a_bits": np.int64,  # activation bits
}


#: Conv row columns -> numpy dtype.
CONV_FIELDS: dict[str, type] = {
    "step": np.int64,
    "layer": np.int64,
    "batch": np.int64,  # inputs (images) convolved with the same weights
    "in_channels": np.int64,
    "out_channels": np.int64,
    "kernel": np.int64,  # square kernel side
    "stride": np.int64,
    "groups": np.int64,  # 1: dense convolution; in_channels: depthwise
    "in_height": np.int64,
    "in_width": np.int64,
    "out_height": np.int64,
    "out_width": np.int64,
    "weight_density": np.float64,  # fraction of non-zero weights, (0, 1]
    "w_bits": np.int64,  # weight bits in DRAM (of a non-zero value)
    "a_bits": np.int64,  # activation bits
    "post_kernels": np.int64,  # elementwise passes over the output after it (BN, activation)
}


def _columns(fields: dict[str, type], data: dict[str, Any], what: str) -> dict[str, np.ndarray]:
    length = len(np.asarray(next(iter(data.values())))) if data else 0
    data = {
        **{k: np.full(length, v) for k, v in OPTIONAL_DEFAULTS.items() if k in fields},
        **data,
    }
    missing = sorted(set(fields) - set(data))
    extra = sorted(set(data) - set(fields))
    if missing or extra:
        raise ValueError(f"{what}: missing columns {missing}, unknown columns {extra}")
    columns = {
        name: np.asarray(data[name], dtype=dtype).reshape(-1) for name, dtype in fields.items()
    }
    lengths = {len(column) for column in columns.values()}
    if len(lengths) > 1:
        raise ValueError(f"{what}: columns of different lengths {sorted(lengths)}")
    return columns


class _Rows:
    _fields: dict[str, type] = {}
    _what = "rows"

    def __init__(self, **columns: Any) -> None:
        for name, column in _columns(self._fields, columns, self._what).items():
            column.setflags(write=False)
            setattr(self, name, column)

    def __len__(self) -> int:
        return len(getattr(self, next(iter(self._fields))))

    @classmethod
    def empty(cls):
        return cls(**{name: np.zeros(0, dtype) for name, dtype in cls._fields.items()})

    @classmethod
    def concat(cls, parts: list[_Rows]):
        if not parts:
            return cls.empty()
        return cls(
            **{name: np.concatenate([getattr(p, name) for p in parts]) for name in cls._fields}
        )

    def columns(self) -> dict[str, np.ndarray]:
        return {name: getattr(self, name) for name in self._fields}


class AttentionRows(_Rows):
    """Attention rows (see the module docstring); every column a read-only 1-D numpy array.

    Invariants (checked): ``d, queries >= 1``; ``1 <= values <= keys``... except that a row may
    read no values (``values == 0``) only when it has no keys; bit widths >= 1 (LSB bits >= 0);
    ``0 <= lsb_fraction <= 1``.
    """

    _fields = ATTENTION_FIELDS
    _what = "attention rows"

    step: np.ndarray
    layer: np.ndarray
    head: np.ndarray
    d: np.ndarray
    queries: np.ndarray
    keys: np.ndarray
    values: np.ndarray
    q_bits: np.ndarray
    k_msb_bits: np.ndarray
    k_lsb_bits: np.ndarray
    v_bits: np.ndarray
    lsb_fraction: np.ndarray
    kv_reuse: np.ndarray
    kv_share: np.ndarray

    def __init__(self, **columns: Any) -> None:
        super().__init__(**columns)
        checks = {
            "d >= 1": self.d >= 1,
            "queries >= 1": self.queries >= 1,
            "keys >= 1": self.keys >= 1,
            "0 <= values <= keys": (self.values >= 0) & (self.values <= self.keys),
            "q_bits >= 1": self.q_bits >= 1,
            "k_msb_bits >= 1": self.k_msb_bits >= 1,
            "k_lsb_bits >= 0": self.k_lsb_bits >= 0,
            "v_bits >= 1": self.v_bits >= 1,
            "0 <= lsb_fraction <= 1": (self.lsb_fraction >= 0) & (self.lsb_fraction <= 1),
            "kv_share >= 1": self.kv_share >= 1,
        }
        for rule, ok in checks.items():
            if not np.all(ok):
                row = int(np.argmin(ok))
                raise ValueError(f"attention row {row} breaks {rule}")

    @property
    def macs(self) -> np.ndarray:
        """Multiply-accumulates per row: ``queries * d * (keys + values)`` (Q.K and prob.V)."""
        return self.queries * self.d * (self.keys + self.values)


class LinearRows(_Rows):
    """Linear rows (see the module docstring); every column a read-only 1-D numpy array."""

    _fields = LINEAR_FIELDS
    _what = "linear rows"

    step: np.ndarray
    layer: np.ndarray
    tokens: np.ndarray
    in_features: np.ndarray
    out_features: np.ndarray
    w_bits: np.ndarray
    a_bits: np.ndarray

    def __init__(self, **columns: Any) -> None:
        super().__init__(**columns)
        for name in self._fields:
            if name in ("step", "layer"):
                continue
            column = getattr(self, name)
            if np.any(column < 1):
                raise ValueError(f"linear row {int(np.argmin(column >= 1))} has {name} < 1")

    @property
    def macs(self) -> np.ndarray:
        """Multiply-accumulates per row: ``tokens * in_features * out_features``."""
        return self.tokens * self.in_features * self.out_features


class ConvRows(_Rows):
    """Conv rows (see the module docstring); every column a read-only 1-D numpy array.

    Invariants (checked): sizes >= 1, ``groups`` divides both channel counts, ``0 <
    weight_density <= 1``, ``post_kernels >= 0``.
    """

    _fields = CONV_FIELDS
    _what = "conv rows"

    step: np.ndarray
    layer: np.ndarray
    batch: np.ndarray
    in_channels: np.ndarray
    out_channels: np.ndarray
    kernel: np.ndarray
    stride: np.ndarray
    groups: np.ndarray
    in_height: np.ndarray
    in_width: np.ndarray
    out_height: np.ndarray
    out_width: np.ndarray
    weight_density: np.ndarray
    w_bits: np.ndarray
    a_bits: np.ndarray
    post_kernels: np.ndarray

    def __init__(self, **columns: Any) -> None:
        super().__init__(**columns)
        checks = {
            name + " >= 1": getattr(self, name) >= 1
            for name in self._fields
            if name not in ("step", "layer", "weight_density", "post_kernels")
        }
        checks.update(
            {
                "groups divides in_channels": self.in_channels % self.groups == 0,
                "groups divides out_channels": self.out_channels % self.groups == 0,
                "0 < weight_density <= 1": (self.weight_density > 0) & (self.weight_density <= 1),
                "post_kernels >= 0": self.post_kernels >= 0,
            }
        )
        for rule, ok in checks.items():
            if not np.all(ok):
                row = int(np.argmin(ok))
                raise ValueError(f"conv row {row} breaks {rule}")

    def gemm(self) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
        """Each row as ``(count, pixels, window, filters)``: ``count`` independent matrix
        products (the groups) of a ``pixels x window`` input by a ``window x filters`` weight."""
        pixels = self.batch * self.out_height * self.out_width
        window = self.kernel**2 * (self.in_channels // self.groups)
        return self.groups, pixels, window, self.out_channels // self.groups

    @property
    def weight_elements(self) -> np.ndarray:
        """Weights per row, zeros included: ``out_channels * kernel**2 * in_channels / groups``."""
        return self.out_channels * self.kernel**2 * (self.in_channels // self.groups)

    @property
    def input_elements(self) -> np.ndarray:
        return self.batch * self.in_channels * self.in_height * self.in_width

    @property
    def output_elements(self) -> np.ndarray:
        return self.batch * self.out_channels * self.out_height * self.out_width

    @property
    def macs(self) -> np.ndarray:
        """Dense multiply-accumulates per row (zeros included): ``groups x pixels x window x
        filters``; :attr:`nonzero_macs` counts those with a non-zero weight."""
        count, pixels, window, filters = self.gemm()
        return count * pixels * window * filters

    @property
    def nonzero_macs(self) -> np.ndarray:
        return self.macs * self.weight_density


@dataclass
class Workload:
    """What a method asks of the hardware for one model and stage.

    ``schedule`` holds per-layer facts for tables and plots (e.g. ``"tokens"``, ``"heads"``: one
    value per layer, averaged over steps); the engine does not read it. ``layer_names`` names
    the layers when they are not one model's ``0 .. layers-1`` (an LVLM's ``vision.0``, ...,
    ``projector``, ``llm.0``, ...). ``precision`` is the format the model is served in on
    general-purpose hardware (``"fp32"``, ``"fp16"``...; None: the device's default).
    """

    model: str
    method: str
    stage: Stage
    layers: int
    attention: AttentionRows = field(default_factory=AttentionRows.empty)
    linear: LinearRows = field(default_factory=LinearRows.empty)
    conv: ConvRows = field(default_factory=ConvRows.empty)
    schedule: dict[str, list[float]] = field(default_factory=dict)
    notes: list[str] = field(default_factory=list)
    layer_names: list[str] | None = None
    precision: str | None = None
    kv_cache_bytes: float | None = None
    """Bytes of the K/V cache a decoder needs at the end of the stage: the K and V of the tokens
    and heads still alive at each layer (pruned ones can be freed); None: no cache."""
    memory_bytes: dict[str, float] | None = None
    """What the stage keeps in memory, by part (``weights``, ``gradients``, ``optimizer``,
    ``activations``, ``mask`` ...); None: not modelled (inference)."""
    streams: dict[str, float] = field(default_factory=dict)
    """DRAM passes that are not matrix products, name -> bytes read and written (an optimizer
    update over its state); each is one memory-bound kernel on a GPU/CPU."""
    extras: dict[str, float] = field(default_factory=dict)
    """Other figures of the method, name -> value with the unit in the name (a federated
    client's ``upload_bytes_per_round``); reported, not priced."""

    def layer_name(self, layer: int) -> str:
        return self.layer_names[layer] if self.layer_names else str(layer)

    @property
    def mode(self) -> str:
        """What the rows cover, as ``--mode`` spells it: ``"network"`` (a network's every
        layer: conv rows, or an infer/train stage), ``"e2e"`` (linear layers beside attention)
        or ``"attention"``."""
        if len(self.conv) or self.stage.name in ("infer", "train"):
            return "network"
        return "e2e" if len(self.linear) else "attention"

    @property
    def macs(self) -> int:
        """Multiply-accumulates of every row, zero weights included (the dense count)."""
        return int(self.attention.macs.sum() + self.linear.macs.sum() + self.conv.macs.sum())
