"""Zero eliminator: compacts the valid lanes of a row into the low lanes, keeping their order."""

from __future__ import annotations

from amaranth.hdl import Module, Mux, Shape, Signal, Value
from amaranth.lib import data, wiring
from amaranth.lib.wiring import In, Out

from .params import check_lanes
from .prefix_sum import PrefixSum

__all__ = ["ZeroEliminator"]


class ZeroEliminator(wiring.Component):
    """Moves the valid elements of a row to lanes ``0 .. count-1``, in their original order.

    Combinational by default. SpAtten's structure: a
    :class:`~prunesim.rtl.prefix_sum.PrefixSum` counts, for every lane, the invalid lanes below
    it (how far its element must move down); then
    ``log2(lanes)`` shift layers move an element by ``2**j`` in layer ``j`` when bit ``j`` of its
    distance is set. Valid elements never collide: their distances never decrease from lane to
    lane by more than their gaps, so their order is kept at every layer. A lane without an
    element enters the layers with zero data and distance, so a layer ORs the element that stays
    with the one that moves in (one LUT4 per bit on an FPGA).

    Parameters
    ----------
    elem_shape : shape-like
        Shape of one element.
    lanes : int
        Elements per row, a power of two >= 1.
    registered : bool
        Register between the prefix sum and the shift layers (default ``False``: combinational).

    Members
    -------
    i_data : ``In(ArrayLayout(elem_shape, lanes))``
        The row.
    i_valid : ``In(lanes)``
        Bit ``i`` set when lane ``i`` holds an element to keep.
    o_data : ``Out(ArrayLayout(elem_shape, lanes))``
        The kept elements in lanes ``0 .. o_count-1``; the lanes above are zero.
    o_count : ``Out(range(lanes + 1))``
        Number of kept elements.
    en : ``In(1)``, only when ``registered``
        Load the stage register in this cycle.
    """

    def __init__(self, elem_shape, lanes: int, *, registered: bool = False) -> None:
        self.lanes = check_lanes(lanes)
        self.elem_shape = elem_shape
        if not isinstance(registered, bool):
            raise TypeError(f"registered must be a bool, not {registered!r}")
        self.registered = registered
        members = {
            "i_data": In(data.ArrayLayout(elem_shape, lanes)),
            "i_valid": In(lanes),
            "o_data": Out(data.ArrayLayout(elem_shape, lanes)),
            "o_count": Out(range(lanes + 1)),
        }
        if registered:
            members["en"] = In(1)
        super().__init__(members)

    def elaborate(self, platform):
        m = Module()
        lanes = self.lanes
        width = Shape.cast(self.elem_shape).width
        m.submodules.gaps = gaps = PrefixSum(lanes)
        m.d.comb += gaps.i_flags.eq(~self.i_valid)

        # Each lane carries (element, remaining distance) through the layers. A lane without an
        # element carries zero for both: it stays where it is and adds nothing, so each layer
        # can OR the element that stays with the one that moves in (valid elements never meet):
        # one LUT4 per bit and layer, no valid flags to track.
        elems = [Mux(self.i_valid[i], Value.cast(self.i_data[i]), 0) for i in range(lanes)]
        dist = [Mux(self.i_valid[i], gaps.o_sums[i], 0) for i in range(lanes)]
        count = lanes - gaps.o_total
        if self.registered:  # the pipeline stage: everything the shift layers need
            staged = []
            for i in range(lanes):
                e = Signal(width, name=f"r_elem{i}")
                d = Signal.like(gaps.o_sums[i], name=f"r_dist{i}")
                with m.If(self.en):
                    m.d.sync += [e.eq(elems[i]), d.eq(dist[i])]
                staged.append((e, d))
            elems, dist = (list(x) for x in zip(*staged, strict=True))
            r_count = Signal(range(lanes + 1), name="r_count")
            with m.If(self.en):
                m.d.sync += r_count.eq(count)
            count = r_count
        layer = 0
        while (1 << layer) < lanes:
            step = 1 << layer
            n_elems, n_dist = [], []
            for i in range(lanes):
                e = Signal(width, name=f"l{layer}_elem{i}")
                d = Signal.like(gaps.o_sums[i], name=f"l{layer}_dist{i}")
                stays = ~dist[i][layer]
                m.d.comb += [e.eq(Mux(stays, elems[i], 0)), d.eq(Mux(stays, dist[i], 0))]
                if i + step < lanes:  # the element from lane i + step moves down here
                    moves = dist[i + step][layer]
                    m.d.comb += [
                        e.eq(Mux(stays, elems[i], 0) | Mux(moves, elems[i + step], 0)),
                        d.eq(Mux(stays, dist[i], 0) | Mux(moves, dist[i + step], 0)),
                    ]
                n_elems.append(e)
                n_dist.append(d)
            elems, dist = n_elems, n_dist
            layer += 1

        for i in range(lanes):
            m.d.comb += self.o_data[i].eq(elems[i])
        m.d.comb += self.o_count.eq(count)
        return m
