"""Dot product of two vectors: ``d`` multipliers and a balanced adder tree, pipelined."""

from __future__ import annotations

from amaranth.hdl import Module, Shape, Signal
from amaranth.lib import data, wiring
from amaranth.lib.wiring import In, Out

from .params import check_int

__all__ = ["DotProduct"]


class DotProduct(wiring.Component):
    """``sum_j a_j * b_j`` of two ``d``-element vectors, one pair per cycle, exact.

    Two register stages: the ``d`` products, then their sum through a balanced adder tree of
    ``ceil(log2(d))`` levels. A pair given with ``i_valid`` in cycle ``t`` comes out with
    ``o_valid`` in cycle ``t + 2``. No backpressure.

    Parameters
    ----------
    d : int
        Vector length, >= 1.
    a_shape, b_shape : shape-like
        Element shapes (signed or unsigned).

    Members
    -------
    i_valid : ``In(1)``
        A pair is given this cycle.
    i_a, i_b : ``In(ArrayLayout(a_shape, d))``, ``In(ArrayLayout(b_shape, d))``
        The vectors.
    o_valid : ``Out(1)``
        ``o_sum`` holds the dot product of the pair given two cycles before.
    o_sum : ``Out(signed(...))``
        The exact dot product (wide enough for any inputs).
    busy : ``Out(1)``
        A pair given in an earlier cycle has not come out yet (or comes out this cycle).
    """

    def __init__(self, d: int, a_shape, b_shape) -> None:
        self.d = check_int("d", d, 1)
        a, b = Shape.cast(a_shape), Shape.cast(b_shape)
        # A product needs a.width + b.width bits plus a sign bit when an operand is unsigned;
        # the tree adds ceil(log2(d)) bits.
        self.sum_width = a.width + b.width + 1 + (d - 1).bit_length()
        super().__init__(
            {
                "i_valid": In(1),
                "i_a": In(data.ArrayLayout(a_shape, d)),
                "i_b": In(data.ArrayLayout(b_shape, d)),
                "o_valid": Out(1),
                "o_sum": Out(Shape(self.sum_width, signed=True)),
                "busy": Out(1),
            }
        )

    def elaborate(self, platform):
        m = Module()
        products = []
        for j in range(self.d):
            product = self.i_a[j] * self.i_b[j]
            reg = Signal(product.shape(), name=f"product{j}")
            with m.If(self.i_valid):
                m.d.sync += reg.eq(product)
            products.append(reg)
        valid = Signal()
        m.d.sync += [valid.eq(self.i_valid), self.o_valid.eq(valid)]
        m.d.comb += self.busy.eq(valid | self.o_valid)
        level = 0
        while len(products) > 1:
            paired = []
            for i in range(0, len(products) - 1, 2):
                total = products[i] + products[i + 1]
                wire = Signal(total.shape(), name=f"sum_l{level}_{i // 2}")
                m.d.comb += wire.eq(total)
                paired.append(wire)
            if len(products) % 2:
                paired.append(products[-1])
            products = paired
            level += 1
        m.d.sync += self.o_sum.eq(products[0])
        return m
