"""Re-packer: turns rows of compacted elements into full rows."""

from __future__ import annotations

from amaranth.hdl import Module, Mux, Shape, Signal, Value
from amaranth.lib import data, stream, wiring
from amaranth.lib.wiring import In, Out

from .params import check_lanes

__all__ = ["Repacker", "row_layout"]


def row_layout(elem_shape, lanes: int) -> data.StructLayout:
    """Layout of a row of up to ``lanes`` elements: ``data``, ``count`` (the valid low lanes) and
    ``last``."""
    return data.StructLayout(
        {
            "data": data.ArrayLayout(elem_shape, lanes),
            "count": range(lanes + 1),
            "last": 1,
        }
    )


class Repacker(wiring.Component):
    """Packs a packet of partly filled rows into full rows, keeping element order.

    Input rows carry ``count`` elements in their low lanes (``0 <= count <= lanes``; lanes above
    are ignored); a packet ends with a row whose ``last`` is set. Output rows of the packet are
    full (``count == lanes``) except the one with ``last`` set, which holds the remaining
    ``1 .. lanes`` elements, or 0 only when the whole packet was empty. Lanes at and above an
    output row's ``count`` are unspecified.

    Holds up to ``lanes`` elements between input rows (a full row is held back until it is known
    not to be the packet's last). Output is registered: an input row that completes a full row
    produces it one cycle later; an input ``last`` row is flushed one cycle later, or two when it
    overflows into a second row (the input is not ready during that second cycle). Both streams
    follow Amaranth's stream rules; ``i.ready`` depends combinationally on ``o.ready``.

    Parameters
    ----------
    elem_shape : shape-like
        Shape of one element.
    lanes : int
        Elements per row, a power of two >= 1.

    Members
    -------
    i : ``In(stream.Signature(row_layout(elem_shape, lanes)))``
        Compacted rows.
    o : ``Out(stream.Signature(row_layout(elem_shape, lanes)))``
        Full rows.
    busy : ``Out(1)``
        Beats of the current packet remain to be sent after this cycle's transfer (if any): a
        consumer that sees ``busy`` low has, counting the beat it takes in this cycle, the whole
        packet.
    """

    def __init__(self, elem_shape, lanes: int) -> None:
        self.lanes = check_lanes(lanes)
        self.elem_shape = elem_shape
        layout = row_layout(elem_shape, lanes)
        super().__init__(
            {
                "i": In(stream.Signature(layout)),
                "o": Out(stream.Signature(layout)),
                "busy": Out(1),
            }
        )

    def elaborate(self, platform):
        m = Module()
        lanes = self.lanes
        width = Shape.cast(self.elem_shape).width

        held = Signal(data.ArrayLayout(width, lanes))
        held_count = Signal(range(lanes + 1))
        flush = Signal()  # the held elements end the packet: send them next

        # The input row shifted up by held_count, over 2 * lanes lanes.
        shifted = [Value.cast(self.i.payload.data[i]) for i in range(lanes)]
        shifted += [0] * lanes
        for bit in range(len(held_count)):
            step = 1 << bit
            shifted = [
                Mux(held_count[bit], shifted[i - step] if i >= step else 0, shifted[i])
                for i in range(2 * lanes)
            ]
        combined = []
        for i in range(2 * lanes):
            lane = Signal(width, name=f"combined{i}")
            if i < lanes:
                m.d.comb += lane.eq(Mux(i < held_count, held[i], shifted[i]))
            else:
                m.d.comb += lane.eq(shifted[i])
            combined.append(lane)
        total = Signal(range(2 * lanes + 1))
        m.d.comb += total.eq(held_count + self.i.payload.count)

        can_send = ~self.o.valid | self.o.ready
        m.d.comb += [
            self.i.ready.eq(can_send & ~flush),
            self.busy.eq(flush | (held_count != 0) | (self.o.valid & ~self.o.ready)),
        ]
        with m.If(self.o.valid & self.o.ready):
            m.d.sync += self.o.valid.eq(0)

        def send(elems, count, last):
            return [
                *(self.o.payload.data[i].eq(elems[i]) for i in range(lanes)),
                self.o.payload.count.eq(count),
                self.o.payload.last.eq(last),
                self.o.valid.eq(1),
            ]

        with m.If(can_send):
            with m.If(flush):
                m.d.sync += send(held, held_count, 1)
                m.d.sync += [held_count.eq(0), flush.eq(0)]
            with m.Elif(self.i.valid):
                with m.If(total > lanes):
                    m.d.sync += send(combined[:lanes], lanes, 0)
                    m.d.sync += [held[i].eq(combined[lanes + i]) for i in range(lanes)]
                    m.d.sync += [held_count.eq(total - lanes), flush.eq(self.i.payload.last)]
                with m.Elif(self.i.payload.last):
                    m.d.sync += send(combined[:lanes], total, 1)
                    m.d.sync += held_count.eq(0)
                with m.Else():
                    m.d.sync += [held[i].eq(combined[i]) for i in range(lanes)]
                    m.d.sync += held_count.eq(total)
        return m
