"""The registry of RTL blocks: what ``prunesim verilog``, ``prunesim list blocks``,
``prunesim bench`` and the report build.

A :class:`Block` names the component class (module and class name, imported only when the block
is built or its parameters are asked for) and the integer constructor parameters exposed as
command-line options, each with its help text; the defaults are read from the constructor's
signature and the ranges from the class's ``LIMITS`` (a :class:`prunesim.rtl.params.Limit` per
exposed parameter, which the constructor checks), so both are written once, in the RTL.
Importing this module loads only the standard library: listing the blocks' names and summaries
needs neither Amaranth nor PyTorch.

Adding a block is one more :data:`BLOCKS` entry; ``verilog``, ``list`` and ``report`` pick it up.
"""

from __future__ import annotations

import importlib
import inspect
import itertools
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from types import MappingProxyType
from typing import Any

__all__ = [
    "BLOCKS",
    "REPORT_BLOCKS",
    "Block",
    "Parameter",
    "Port",
    "block_names",
    "get_block",
    "port_table",
]


@dataclass(frozen=True)
class Parameter:
    """An integer constructor parameter of a block, exposed as a command-line option.

    ``name`` is the constructor's keyword (e.g. ``"max_n"``), ``default`` its default in the
    constructor's signature, ``help`` the option's help text, ``limit`` its range (a
    :class:`prunesim.rtl.params.Limit` from the class's ``LIMITS``, which the constructor checks).
    """

    name: str
    default: int
    help: str
    limit: Any = None

    @property
    def help_text(self) -> str:
        """:attr:`help`, then the range and why it ends there:
        ``"bits per score; 1..64 (...)"``."""
        if self.limit is None:
            return self.help
        why = f" ({self.limit.why})" if self.limit.why else ""
        return f"{self.help}; {self.limit.text()}{why}"

    @property
    def flag(self) -> str:
        """The command-line option: ``"--max-n"`` for ``max_n``."""
        return "--" + self.name.replace("_", "-")


@dataclass(frozen=True)
class Block:
    """An RTL block: where its component class lives and which parameters the CLI exposes.

    ``summary`` is one line (``prunesim list``), ``description`` the text of
    ``prunesim verilog <name> --help``; ``module`` and ``cls`` locate the component class
    (``"prunesim.rtl.topk"``, ``"TopK"``), imported only by :meth:`component_class` and what calls
    it. ``help`` maps each exposed constructor parameter to its help text; its keys *are* the
    exposed parameters, in command-line order, and each must be a keyword parameter of the
    constructor with an integer default and an entry in the class's ``LIMITS`` mapping
    (:meth:`parameters` checks).
    """

    name: str
    summary: str
    description: str
    module: str
    cls: str
    help: Mapping[str, str] = field(hash=False)

    def __post_init__(self) -> None:
        object.__setattr__(self, "help", MappingProxyType(dict(self.help)))

    def component_class(self) -> type:
        """Import and return the component class (this loads Amaranth)."""
        component_class = getattr(importlib.import_module(self.module), self.cls)
        if not isinstance(component_class, type):
            raise TypeError(f"{self.module}.{self.cls} is not a class, but {component_class!r}")
        return component_class

    def parameters(self) -> tuple[Parameter, ...]:
        """The exposed parameters in :attr:`help` order, defaults from the constructor's signature,
        limits from the class's ``LIMITS``.

        Raises ``TypeError`` if a key of :attr:`help` is not a keyword parameter of the
        constructor, its default is not an integer, or ``LIMITS`` has no limit for it.
        """
        where = f"{self.module}.{self.cls}"
        component_class = self.component_class()
        signature = inspect.signature(component_class)
        limits = getattr(component_class, "LIMITS", {})
        keyword_kinds = (inspect.Parameter.POSITIONAL_OR_KEYWORD, inspect.Parameter.KEYWORD_ONLY)
        parameters = []
        for name, text in self.help.items():
            parameter = signature.parameters.get(name)
            if parameter is None or parameter.kind not in keyword_kinds:
                raise TypeError(f"block {self.name!r}: {where} has no keyword parameter {name!r}")
            default = parameter.default
            if default is inspect.Parameter.empty:
                raise TypeError(
                    f"block {self.name!r}: parameter {name!r} of {where} needs an integer default"
                )
            if not isinstance(default, int) or isinstance(default, bool):
                raise TypeError(
                    f"block {self.name!r}: parameter {name!r} of {where} must have an integer "
                    f"default, not {default!r}"
                )
            limit = limits.get(name)
            if limit is None:
                raise TypeError(f"block {self.name!r}: {where}.LIMITS has no limit for {name!r}")
            parameters.append(Parameter(name, default, text, limit))
        return tuple(parameters)

    def defaults(self) -> dict[str, int]:
        """Parameter name -> default, in :attr:`help` order."""
        return {parameter.name: parameter.default for parameter in self.parameters()}

    def build(self, **params: Any) -> Any:
        """Construct the component; its constructor raises ValueError/TypeError for bad values,
        out-of-range ones included (before any elaboration)."""
        return self.component_class()(**params)

    def describe(self, params: Mapping[str, Any]) -> str:
        """One line naming the block and ``params``: ``"topk: width=16 lanes=16 max_n=1024"``."""
        return f"{self.name}: " + " ".join(f"{key}={value}" for key, value in params.items())

    def to_verilog(self, params: Mapping[str, Any]) -> tuple[Any, str]:
        """Build the block with ``params`` and return ``(component, Verilog text)``.

        The top module is named after the block (:func:`prunesim.rtl.verilog.to_verilog`). Bad
        parameter values raise the constructor's ``ValueError``/``TypeError``.
        """
        component = self.build(**params)
        from prunesim.rtl.verilog import to_verilog

        return component, to_verilog(component, name=self.name)


@dataclass(frozen=True)
class Port:
    """A port of a generated Verilog module: ``direction`` is ``"input"`` or ``"output"``."""

    name: str
    direction: str
    width: int


def port_table(component: Any, verilog: str | None = None) -> list[Port]:
    """The ports of ``component`` as Verilog names them, from its signature.

    Stream members flatten to ``<port>__payload``/``__valid``/``__ready``; arrays to
    ``<port>__0``, ... . If ``verilog`` is given, the ``clk`` and ``rst`` inputs of the ``sync``
    domain that it declares come first.
    """
    from amaranth.hdl import Shape
    from amaranth.lib.wiring import In

    ports: list[Port] = []
    if verilog is not None:
        for name in ("clk", "rst"):
            if re.search(rf"^\s*input\s+(?:wire\s+)?{name}\s*;", verilog, re.MULTILINE):
                ports.append(Port(name, "input", 1))
    for path, member in component.signature.members.flatten():
        if not member.is_port:
            continue
        direction = "input" if member.flow == In else "output"
        width = Shape.cast(member.shape).width
        base = "__".join(str(part) for part in path)
        for index in itertools.product(*(range(n) for n in member.dimensions)):
            name = "__".join([base, *(str(i) for i in index)])
            ports.append(Port(name, direction, width))
    return ports


#: Block name -> block.
BLOCKS: dict[str, Block] = {
    "topk": Block(
        name="topk",
        summary="SpAtten's top-k engine: keeps the k largest of a frame of scores",
        description=(
            "SpAtten's top-k engine (prunesim.rtl.topk.TopK): takes a frame of up to MAX_N\n"
            "scores, LANES per beat, and emits the k largest with their indices, in index\n"
            "order.\n\n"
            "The ranges below keep generating the Verilog within about a minute of CPU\n"
            "and 600 MB (measurements in the TopK docstring); SpAtten's engine has 16\n"
            "lanes of 16-bit scores.\n\n"
            "example:\n"
            "  prunesim verilog topk --width 12 --lanes 8 --max-n 512 --output topk.v"
        ),
        module="prunesim.rtl.topk",
        cls="TopK",
        help={
            "width": "bits per score",
            "lanes": "scores per beat (the engine's parallelism)",
            "max_n": "largest frame, >= LANES (sizes the buffers)",
        },
    ),
    "pq": Block(
        name="pq",
        summary="SpAtten's progressive-quantization datapath: Q.K, softmax, LSB decision",
        description=(
            "SpAtten's progressive-quantization datapath (prunesim.rtl.pq.ProgressiveAttention):\n"
            "one query against up to MAX_N keys fetched MSB plane first; fixed-point softmax;\n"
            "asks for the keys' LSB planes when the attention is flat.\n\n"
            "The ranges below keep generating the Verilog within about 15 s of CPU and\n"
            "450 MB (measurements in the ProgressiveAttention docstring); SpAtten's heads\n"
            "have d = 64, 12-bit queries, 8-bit MSB and 4-bit LSB planes.\n\n"
            "example:\n"
            "  prunesim verilog pq --d 64 --msb-bits 6 --lsb-bits 4 --output pq.v"
        ),
        module="prunesim.rtl.pq",
        cls="ProgressiveAttention",
        help={
            "d": "head dimension (multipliers)",
            "q_bits": "bits per query element (signed)",
            "msb_bits": "bits of a key element's MSB plane (signed)",
            "lsb_bits": "bits of a key element's LSB plane (unsigned)",
            "prob_bits": "bits per output probability",
            "max_n": "most keys per query (sizes the score buffer)",
            "scale_shift": "logit = score * scale / 2**SCALE_SHIFT",
        },
    ),
    "sorter": Block(
        name="sorter",
        summary="Batcher odd-even merge sorter doing the top-k engine's job (SpAtten's baseline)",
        description=(
            "A Batcher odd-even merge sorter (prunesim.rtl.sorter.BatcherSorter) with the top-k\n"
            "engine's ports and stream contract: sorts a frame of up to MAX_N scores, LANES per\n"
            "beat (a sorting network per beat, then merge passes over a buffer), and emits the\n"
            "k largest with their indices, in index order. The baseline of SpAtten's claim that\n"
            "its top-k engine gives 1.4x the throughput at 3.5x less power.\n\n"
            "Generating the Verilog takes seconds at the defaults (measurements in the\n"
            "BatcherSorter docstring).\n\n"
            "example:\n"
            "  prunesim verilog sorter --width 12 --lanes 8 --max-n 512 --output sorter.v"
        ),
        module="prunesim.rtl.sorter",
        cls="BatcherSorter",
        help={
            "width": "bits per score",
            "lanes": "scores per beat (inputs of the beat-sorting network)",
            "max_n": "largest frame, >= LANES (sizes the buffers)",
        },
    ),
}

#: Blocks (with their default parameters) whose Verilog ``prunesim report`` writes. The sorter is
#: a baseline, not a SpAtten block: the report's RTL section leaves it out.
REPORT_BLOCKS: tuple[str, ...] = ("topk", "pq")


def block_names() -> list[str]:
    """The registered blocks' names, in registry order."""
    return list(BLOCKS)


def get_block(name: str) -> Block:
    """The block called ``name``; ``ValueError`` naming the choices if there is none."""
    try:
        return BLOCKS[name]
    except KeyError:
        raise ValueError(f"unknown block {name!r} (choose from {', '.join(BLOCKS)})") from None
