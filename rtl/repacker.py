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

    Structure (for clock speed): the held elements sit in the lanes they will take in their output
    row; an input row is rotated by the number held (``log2(lanes)`` mux layers) and each lane it
    fills is written; the output register loads ``held`` below the held count and the rotated row
    above it whenever the output can change. Every data select depends on registers only.

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
        lane_bits = (lanes - 1).bit_length()

        # The held elements sit in the lanes of the output row they will take: element e of the
        # packet in lane e mod lanes. An input row is rotated up by the number held (mod lanes),
        # so each of its elements lands in its own lane; the lanes it fills are written into
        # ``held`` and an output row is ``held`` below ``held_count`` and the rotated row above.
        # Every select depends on registers only (``held_count``), none on the cycle's decision.
        held = Signal(data.ArrayLayout(width, lanes))
        held_count = Signal(range(lanes + 1))  # lanes: a full row held back
        held_any = Signal()  # held_count != 0, registered (for ``busy``)
        flush = Signal()  # the held elements end the packet: send them next
        wp = held_count[:lane_bits]  # the lane of the input row's first element

        rotated = [Value.cast(self.i.payload.data[i]) for i in range(lanes)]
        for bit in range(lane_bits):
            step = 1 << bit
            rotated = [Mux(wp[bit], rotated[(i - step) % lanes], rotated[i]) for i in range(lanes)]
        rotated_lanes = []
        for i in range(lanes):
            lane = Signal(width, name=f"rotated{i}")
            m.d.comb += lane.eq(rotated[i])
            rotated_lanes.append(lane)
        total = Signal(range(2 * lanes + 1))
        m.d.comb += total.eq(held_count + self.i.payload.count)

        can_send = ~self.o.valid | self.o.ready
        take = can_send & ~flush & self.i.valid
        m.d.comb += [
            self.i.ready.eq(can_send & ~flush),
            self.busy.eq(flush | held_any | (self.o.valid & ~self.o.ready)),
        ]
        with m.If(self.o.valid & self.o.ready):
            m.d.sync += self.o.valid.eq(0)

        # The output row's lanes load whenever the output can change (lanes above the row's count
        # are unspecified; a row that is not sent is not valid).
        with m.If(can_send):
            m.d.sync += [
                self.o.payload.data[i].eq(Mux(i < held_count, held[i], rotated_lanes[i]))
                for i in range(lanes)
            ]
        for i in range(lanes):
            offset = (i - wp)[:lane_bits] if lane_bits else 0  # the input element for lane i
            with m.If(take & (offset < self.i.payload.count)):
                m.d.sync += held[i].eq(rotated_lanes[i])

        def send(count, last):
            return [
                self.o.payload.count.eq(count),
                self.o.payload.last.eq(last),
                self.o.valid.eq(1),
            ]

        with m.If(can_send):
            with m.If(flush):
                m.d.sync += send(held_count, 1)
                m.d.sync += [held_count.eq(0), held_any.eq(0), flush.eq(0)]
            with m.Elif(self.i.valid):
                with m.If(total > lanes):
                    m.d.sync += send(lanes, 0)
                    m.d.sync += [held_count.eq(total - lanes), held_any.eq(1)]
                    m.d.sync += flush.eq(self.i.payload.last)
                with m.Elif(self.i.payload.last):
                    m.d.sync += send(total, 1)
                    m.d.sync += [held_count.eq(0), held_any.eq(0)]
                with m.Else():
                    m.d.sync += [held_count.eq(total), held_any.eq(total != 0)]
        return m
