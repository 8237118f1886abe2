"""Dot product of two vectors: ``d`` multipliers and a balanced adder tree, pipelined."""

from __future__ import annotations

from amaranth.hdl import Cat, Module, Shape, Signal
from amaranth.lib import data, wiring
from amaranth.lib.wiring import In, Out

from .multiplier import adder_tree
from .params import check_int

__all__ = ["DotProduct"]


class DotProduct(wiring.Component):
    """``sum_j a_j * b_j`` of two ``d``-element vectors, one pair per cycle, exact.

    ``1 + tree_stages`` register stages: the ``d`` products, then their sum through a balanced
    adder tree of ``ceil(log2(d))`` levels, registered after every ``ceil(levels / tree_stages)``
    levels (stages with no level left are plain registers, so the latency does not depend on
    ``d``). A pair given with ``i_valid`` in cycle ``t`` comes out with ``o_valid`` in cycle
    ``t + latency``, ``latency = 1 + tree_stages``. No backpressure.

    Parameters
    ----------
    d : int
        Vector length, >= 1.
    a_shape, b_shape : shape-like
        Element shapes (signed or unsigned).
    tree_stages : int
        Register stages of the adder tree, >= 1 (default 1: the whole tree in one cycle).

    Members
    -------
    i_valid : ``In(1)``
        A pair is given this cycle.
    i_a, i_b : ``In(ArrayLayout(a_shape, d))``, ``In(ArrayLayout(b_shape, d))``
        The vectors.
    o_valid : ``Out(1)``
        ``o_sum`` holds the dot product of the pair given ``latency`` cycles before.
    o_sum : ``Out(signed(...))``
        The exact dot product (wide enough for any inputs).
    busy : ``Out(1)``
        A pair given in an earlier cycle has not come out yet (or comes out this cycle).
    """

    def __init__(self, d: int, a_shape, b_shape, tree_stages: int = 1) -> None:
        self.d = check_int("d", d, 1)
        self.tree_stages = check_int("tree_stages", tree_stages, 1)
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

    @property
    def latency(self) -> int:
        """Cycles from a pair given to its sum out: ``1 + tree_stages``."""
        return 1 + self.tree_stages

    def elaborate(self, platform):
        m = Module()
        products = []
        for j in range(self.d):
            product = self.i_a[j] * self.i_b[j]
            reg = Signal(product.shape(), name=f"product{j}")
            with m.If(self.i_valid):
                m.d.sync += reg.eq(product)
            products.append(reg)
        # valid[k] is high when the values registered in stage k hold a pair.
        valid = [Signal(name=f"valid{k}") for k in range(self.latency)]
        m.d.sync += valid[0].eq(self.i_valid)
        m.d.sync += [valid[k].eq(valid[k - 1]) for k in range(1, self.latency)]
        m.d.comb += [self.o_valid.eq(valid[-1]), self.busy.eq(Cat(*valid).any())]
        m.d.comb += self.o_sum.eq(adder_tree(m, products, self.tree_stages, "sum"))
        return m
