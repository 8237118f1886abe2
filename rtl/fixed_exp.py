"""Fixed-point exponential of the softmax: ``2**EB * exp(-v / 2**scale_shift)``, pipelined."""

from __future__ import annotations

from amaranth.hdl import Cat, Module, Mux, Signal, unsigned
from amaranth.lib import wiring
from amaranth.lib.wiring import In, Out

from .multiplier import Multiplier

__all__ = ["ExpUnit"]


class ExpUnit(wiring.Component):
    """The softmax's exponential, bit-exact with :func:`prunesim.golden.pq.fixed_exp`.

    For ``v = (s_max - s) * scale`` it computes ``e ~ 2**EB * exp(-v / 2**scale_shift)`` as a
    power of two: ``u = (v * C) >> SH`` is ``v * log2(e) / 2**scale_shift`` with ``F`` fraction
    bits; its fraction's top 6 bits index a 65-entry table of ``2**EB * 2**(-j/64)``, its low
    ``F - 6`` bits interpolate linearly between two entries, and its integer part shifts the
    result right. ``v >= V_SAT`` gives 0 (the result would be below one unit). The constants come
    from :class:`prunesim.golden.pq.PQParams`.

    Eight register stages, all advancing when ``en`` is high (``LATENCY``): ``v`` given with
    ``i_valid`` in a cycle where ``en`` is high comes out with ``o_valid`` eight ``en`` cycles
    later. The stages: three for ``v * C`` (a :class:`~prunesim.rtl.multiplier.Multiplier`), the
    table lookup (the entry and its difference to the next one, both from tables), two for the
    interpolation's multiply, the interpolation's subtraction, the shift.

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

    LATENCY = 8
    #: Stages of the ``v * C`` multiply and of the interpolation's multiply.
    _C_STAGES, _STEP_STAGES = 3, 2

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
        steps = [table[j] - table[j + 1] for j in range(64)]
        valids = []

        def delay(value, cycles: int, name: str):
            """``value`` through ``cycles`` registers that advance with ``en``."""
            for k in range(cycles):
                reg = Signal.like(value, name=f"{name}_d{k}")
                with m.If(self.en):
                    m.d.sync += reg.eq(value)
                value = reg
                if name == "valid":
                    valids.append(reg)
            return value

        # Stages 1-3: u = (v * C) >> SH (v is bounded by V_SAT here), and v >= V_SAT.
        v_bits = max(1, (p.V_SAT - 1).bit_length())
        m.submodules.mul_c = mul_c = Multiplier(v_bits, p.C.bit_length(), self._C_STAGES)
        m.d.comb += [mul_c.en.eq(self.en), mul_c.i_a.eq(self.i_v[:v_bits]), mul_c.i_b.eq(p.C)]
        valid = delay(self.i_valid, self._C_STAGES, "valid")
        last = delay(self.i_last, self._C_STAGES, "last")
        sat = delay(self.i_v >= p.V_SAT, self._C_STAGES, "sat")
        u = mul_c.o_p >> p.SH
        # Stage 4: the table entry below the fraction and its difference to the next one.
        base, step = Signal(eb + 1), Signal(max(1, max(steps).bit_length()))
        with m.Switch(u[low:frac]):
            for index in range(64):
                with m.Case(index):
                    m.d.comb += [base.eq(table[index]), step.eq(steps[index])]
        valid, last, sat = delay(valid, 1, "valid"), delay(last, 1, "last"), delay(sat, 1, "sat")
        shift = delay((u >> frac)[: len(Signal(range(eb + 2)))], 1, "int")
        base, step, fraction = (
            delay(base, 1, "base"),
            delay(step, 1, "step"),
            delay(u[:low], 1, "low"),
        )
        # Stages 5-6: step * fraction.
        m.submodules.mul_step = mul_step = Multiplier(len(step), max(1, low), self._STEP_STAGES)
        m.d.comb += [mul_step.en.eq(self.en), mul_step.i_a.eq(step), mul_step.i_b.eq(fraction)]
        n = self._STEP_STAGES
        valid, last, sat = delay(valid, n, "valid"), delay(last, n, "last"), delay(sat, n, "sat")
        shift, base = delay(shift, n, "int"), delay(base, n, "base")
        # Stage 7: interpolate.
        interpolated = Signal(eb + 1)
        with m.If(self.en):
            m.d.sync += interpolated.eq(base - (mul_step.o_p >> low))
        valid, last, sat = delay(valid, 1, "valid"), delay(last, 1, "last"), delay(sat, 1, "sat")
        shift = delay(shift, 1, "int")
        # Stage 8: shift by the integer part.
        with m.If(self.en):
            m.d.sync += [
                self.o_valid.eq(valid),
                self.o_last.eq(last),
                self.o_exp.eq(Mux(sat, 0, interpolated >> shift)),
            ]
        m.d.comb += self.busy.eq(Cat(*valids, self.o_valid).any())
        return m
