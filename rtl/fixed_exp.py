"""Fixed-point exponential of the softmax: ``2**EB * exp(-v / 2**scale_shift)``, pipelined."""

from __future__ import annotations

from amaranth.hdl import Module, Mux, Signal, unsigned
from amaranth.lib import wiring
from amaranth.lib.wiring import In, Out

__all__ = ["ExpUnit"]


class ExpUnit(wiring.Component):
    """The softmax's exponential, bit-exact with :func:`prunesim.golden.pq.fixed_exp`.

    For ``v = (s_max - s) * scale`` it computes ``e ~ 2**EB * exp(-v / 2**scale_shift)`` as a
    power of two: ``u = (v * C) >> SH`` is ``v * log2(e) / 2**scale_shift`` with ``F`` fraction
    bits; its fraction's top 6 bits index a 65-entry table of ``2**EB * 2**(-j/64)``, its low
    ``F - 6`` bits interpolate linearly between two entries, and its integer part shifts the
    result right. ``v >= V_SAT`` gives 0 (the result would be below one unit). The constants come
    from :class:`prunesim.golden.pq.PQParams`.

    Three register stages, all advancing when ``en`` is high: ``v`` given with ``i_valid`` in a
    cycle where ``en`` is high comes out with ``o_valid`` three ``en`` cycles later.

    Parameters
    ----------
    params : :class:`prunesim.golden.pq.PQParams`
        The block's parameters (``EB``, ``F``, ``SH``, ``C``, ``V_SAT``, the table).
    v_width : int
        Width of ``i_v``.

    Members
    -------
    en : ``In(1)``
        The pipeline advances.
    i_valid, i_last : ``In(1)``
        A value is given; a tag that travels with it.
    i_v : ``In(unsigned(v_width))``
        The scaled distance to the maximum score.
    o_valid, o_last : ``Out(1)``
        The result and its tag.
    o_exp : ``Out(unsigned(EB + 1))``
        The exponential, ``2**EB`` for ``v = 0``.
    busy : ``Out(1)``
        A value given in an earlier cycle has not come out yet (or is out now).
    """

    LATENCY = 3

    def __init__(self, params, v_width: int) -> None:
        self.params = params
        self.v_width = v_width
        super().__init__(
            {
                "en": In(1),
                "i_valid": In(1),
                "i_last": In(1),
                "i_v": In(unsigned(v_width)),
                "o_valid": Out(1),
                "o_last": Out(1),
                "o_exp": Out(unsigned(params.EB + 1)),
                "busy": Out(1),
            }
        )

    def elaborate(self, platform):
        m = Module()
        p = self.params
        eb, frac = p.EB, p.F
        low = frac - 6  # interpolation bits
        table = p.exp_table()

        # Stage 1: the exponent u, integer part and fraction (v is bounded by V_SAT here).
        s1_valid, s1_last, s1_sat = Signal(), Signal(), Signal()
        s1_int = Signal(range(eb + 2))
        s1_frac = Signal(frac)
        v_bits = max(1, (p.V_SAT - 1).bit_length())
        u = (self.i_v[:v_bits] * p.C) >> p.SH
        # Stage 2: the two table entries around the fraction.
        s2_valid, s2_last, s2_sat = Signal(), Signal(), Signal()
        s2_int = Signal(range(eb + 2))
        s2_base, s2_step = Signal(eb + 1), Signal(eb + 1)
        s2_low = Signal(low)
        base, following = Signal(eb + 1), Signal(eb + 1)
        with m.Switch(s1_frac[low:]):
            for index in range(64):
                with m.Case(index):
                    m.d.comb += [base.eq(table[index]), following.eq(table[index + 1])]
        # Stage 3: interpolate, shift by the integer part.
        interpolated = s2_base - ((s2_step * s2_low) >> low)

        m.d.comb += self.busy.eq(s1_valid | s2_valid | self.o_valid)
        with m.If(self.en):
            m.d.sync += [
                s1_valid.eq(self.i_valid),
                s1_last.eq(self.i_last),
                s1_sat.eq(self.i_v >= p.V_SAT),
                s1_int.eq(u >> frac),
                s1_frac.eq(u[:frac]),
                s2_valid.eq(s1_valid),
                s2_last.eq(s1_last),
                s2_sat.eq(s1_sat),
                s2_int.eq(s1_int),
                s2_base.eq(base),
                s2_step.eq(base - following),
                s2_low.eq(s1_frac[:low]),
                self.o_valid.eq(s2_valid),
                self.o_last.eq(s2_last),
                self.o_exp.eq(Mux(s2_sat, 0, interpolated >> s2_int)),
            ]
        return m
