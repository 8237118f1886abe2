"""Pipelined arithmetic: an adder tree registered every few levels, and a wide unsigned multiplier
split into DSP-sized partial products."""

from __future__ import annotations

from amaranth.hdl import Module, Signal, Value, unsigned
from amaranth.lib import wiring
from amaranth.lib.wiring import In, Out

from .params import check_int

__all__ = ["Multiplier", "adder_tree"]


def adder_tree(
    m: Module, terms: list[Value], stages: int, name: str, en: Value | None = None
) -> Value:
    """The sum of ``terms`` through a balanced adder tree, registered ``stages`` times.

    The ``ceil(log2(len(terms)))`` levels are spread over the stages, ``ceil(levels / stages)``
    per stage; stages with no level left are plain registers, so the sum of the terms given in a
    cycle comes out exactly ``stages`` cycles later (``stages`` cycles where ``en`` is high, when
    ``en`` is given: every register then holds while ``en`` is low). Exact: every adder is as wide
    as its result. Returns the last stage's register.
    """
    check_int("stages", stages, 1)
    levels = (len(terms) - 1).bit_length()
    per_stage = -(-levels // stages)
    domain = m.d.sync
    level = 0
    for stage in range(stages):
        for _ in range(per_stage):
            if len(terms) == 1:
                break
            paired = []
            for i in range(0, len(terms) - 1, 2):
                total = terms[i] + terms[i + 1]
                wire = Signal(total.shape(), name=f"{name}_l{level}_{i // 2}")
                m.d.comb += wire.eq(total)
                paired.append(wire)
            if len(terms) % 2:
                paired.append(terms[-1])
            terms = paired
            level += 1
        registered = []
        for i, value in enumerate(terms):
            reg = Signal(value.shape(), name=f"{name}_s{stage}_{i}")
            if en is None:
                domain += reg.eq(value)
            else:
                with m.If(en):
                    domain += reg.eq(value)
            registered.append(reg)
        terms = registered
    return terms[0]


class Multiplier(wiring.Component):
    """``o_p = i_a * i_b`` for unsigned operands, pipelined: ``stages`` register stages.

    The operands are cut into ``chunk``-bit pieces (18: one ECP5 ``MULT18X18D`` or one DSP of
    most FPGAs per pair of pieces); the first stage registers the pieces' products, the others
    their sum through :func:`adder_tree` (``stages - 1`` stages). A product given in a cycle where
    ``en`` is high comes out ``stages`` cycles later (cycles where ``en`` is high: every register
    holds while ``en`` is low). Exact.

    Parameters
    ----------
    a_width, b_width : int
        Operand widths, >= 1.
    stages : int
        Register stages, >= 2.
    chunk : int
        Width of an operand piece, >= 1 (default 18).

    Members
    -------
    en : ``In(1)``
        The pipeline advances.
    i_a, i_b : ``In(unsigned(a_width))``, ``In(unsigned(b_width))``
        The operands.
    o_p : ``Out(unsigned(a_width + b_width))``
        The product of the operands given ``stages`` advances before.
    """

    def __init__(self, a_width: int, b_width: int, stages: int = 3, chunk: int = 18) -> None:
        self.a_width = check_int("a_width", a_width, 1)
        self.b_width = check_int("b_width", b_width, 1)
        self.stages = check_int("stages", stages, 2)
        self.chunk = check_int("chunk", chunk, 1)
        super().__init__(
            {
                "en": In(1),
                "i_a": In(unsigned(a_width)),
                "i_b": In(unsigned(b_width)),
                "o_p": Out(unsigned(a_width + b_width)),
            }
        )

    def elaborate(self, platform):
        m = Module()
        c = self.chunk
        terms = []
        for i in range(0, self.a_width, c):
            for j in range(0, self.b_width, c):
                piece = self.i_a[i : i + c] * self.i_b[j : j + c]
                reg = Signal(piece.shape(), name=f"pp_{i // c}_{j // c}")
                with m.If(self.en):
                    m.d.sync += reg.eq(piece)
                terms.append(reg << (i + j) if i + j else reg)
        total = adder_tree(m, terms, self.stages - 1, "pp_sum", self.en)
        m.d.comb += self.o_p.eq(total)
        return m
