"""Sequential reciprocal: ``floor(2**K / divisor)`` by restoring division, one bit per cycle."""

from __future__ import annotations

from amaranth.hdl import Module, Mux, Signal, unsigned
from amaranth.lib import wiring
from amaranth.lib.wiring import In, Out

from .params import check_int

__all__ = ["Reciprocal"]


class Reciprocal(wiring.Component):
    """``quotient = floor(2**numerator_log2 / divisor)`` for ``divisor >= 2**divisor_min_log2``.

    Restoring division, one quotient bit per cycle from the top. The quotient is below
    ``2**(numerator_log2 - divisor_min_log2 + 1)``, so only that many bits are computed: the
    result is ready ``numerator_log2 - divisor_min_log2 + 1`` cycles after ``start``. A divisor
    below the minimum gives an unspecified quotient.

    Parameters
    ----------
    numerator_log2 : int
        ``K``, the numerator is ``2**K``.
    divisor_bits : int
        Width of ``divisor``.
    divisor_min_log2 : int
        The divisor is at least ``2**divisor_min_log2`` (``<= K``).

    Members
    -------
    start : ``In(1)``
        Sample ``divisor`` and start (ignored while busy).
    divisor : ``In(unsigned(divisor_bits))``
        The divisor.
    busy : ``Out(1)``
        A division is running; ``quotient`` is valid when ``busy`` is low after a start.
    quotient : ``Out(unsigned(K - divisor_min_log2 + 1))``
        The result.
    """

    def __init__(self, numerator_log2: int, divisor_bits: int, divisor_min_log2: int) -> None:
        self.numerator_log2 = check_int("numerator_log2", numerator_log2, 0)
        self.divisor_bits = check_int("divisor_bits", divisor_bits, 1)
        self.divisor_min_log2 = check_int("divisor_min_log2", divisor_min_log2, 0)
        if divisor_min_log2 > numerator_log2:
            raise ValueError(
                f"divisor_min_log2 must be <= numerator_log2 ({numerator_log2}), "
                f"not {divisor_min_log2}"
            )
        self.quotient_bits = numerator_log2 - divisor_min_log2 + 1
        super().__init__(
            {
                "start": In(1),
                "divisor": In(unsigned(divisor_bits)),
                "busy": Out(1),
                "quotient": Out(unsigned(self.quotient_bits)),
            }
        )

    @property
    def cycles(self) -> int:
        """Cycles from ``start`` to the result (``busy`` high for that many cycles)."""
        return self.quotient_bits

    def elaborate(self, platform):
        m = Module()
        divisor = Signal(self.divisor_bits)
        remainder = Signal(self.divisor_bits + 1)
        steps_left = Signal(range(self.quotient_bits + 1))
        first = Signal()
        m.d.comb += self.busy.eq(steps_left != 0)
        with m.If(self.busy):
            # Bits above the quotient's are zero: 2**divisor_min_log2 <= divisor. The first step
            # starts from the numerator's top bits, 2**divisor_min_log2; the others bring in a 0.
            shifted = Mux(first, remainder, remainder << 1)
            fits = shifted >= divisor
            m.d.sync += [
                remainder.eq(Mux(fits, shifted - divisor, shifted)),
                self.quotient.eq((self.quotient << 1) | fits),
                steps_left.eq(steps_left - 1),
                first.eq(0),
            ]
        with m.Elif(self.start):
            m.d.sync += [
                divisor.eq(self.divisor),
                remainder.eq(1 << self.divisor_min_log2),
                self.quotient.eq(0),
                steps_left.eq(self.quotient_bits),
                first.eq(1),
            ]
        return m
