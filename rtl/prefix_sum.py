"""Exclusive prefix sum (population count of the lower lanes) of a row of flags."""

from __future__ import annotations

from amaranth.hdl import Module, Signal, unsigned
from amaranth.lib import data, wiring
from amaranth.lib.wiring import In, Out

from .params import check_lanes

__all__ = ["PrefixSum"]


class PrefixSum(wiring.Component):
    """Exclusive prefix sum of ``lanes`` one-bit flags. Combinational.

    A Kogge-Stone network: ``log2(lanes)`` adder levels.

    Parameters
    ----------
    lanes : int
        Number of flags, a power of two >= 1.

    Members
    -------
    i_flags : ``In(lanes)``
        The flags; bit ``i`` is lane ``i``.
    o_sums : ``Out(ArrayLayout(range(lanes + 1), lanes))``
        ``o_sums[i]`` is the number of set flags in lanes ``0 .. i-1`` (so ``o_sums[0] == 0``).
    o_total : ``Out(range(lanes + 1))``
        The number of set flags.
    """

    def __init__(self, lanes: int) -> None:
        self.lanes = check_lanes(lanes)
        super().__init__(
            {
                "i_flags": In(lanes),
                "o_sums": Out(data.ArrayLayout(range(lanes + 1), lanes)),
                "o_total": Out(range(lanes + 1)),
            }
        )

    def elaborate(self, platform):
        m = Module()
        count = unsigned(self.lanes.bit_length())
        # Inclusive scan: after the level with distance d, level[i] sums lanes i-2d+1 .. i.
        level = [self.i_flags[i].as_unsigned() for i in range(self.lanes)]
        distance = 1
        while distance < self.lanes:
            nxt = []
            for i in range(self.lanes):
                if i >= distance:
                    total = level[i] + level[i - distance]
                else:
                    total = level[i]
                wire = Signal(count, name=f"scan_d{distance}_{i}")
                m.d.comb += wire.eq(total)
                nxt.append(wire)
            level = nxt
            distance *= 2
        for i in range(self.lanes):
            m.d.comb += self.o_sums[i].eq(level[i] - self.i_flags[i])
        m.d.comb += self.o_total.eq(level[-1])
        return m
