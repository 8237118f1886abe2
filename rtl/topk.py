"""SpAtten's top-k engine: quick-select for the k-th largest score, then an order-keeping filter."""

from __future__ import annotations

from amaranth.hdl import Cat, Const, Module, Mux, Signal, Value, unsigned
from amaranth.lib import data, enum, memory, stream, wiring
from amaranth.lib.wiring import In, Out

from prunesim.golden.topk import PIVOT_SEED

from .params import check_int, check_lanes
from .prefix_sum import PrefixSum
from .repacker import Repacker
from .zero_eliminator import ZeroEliminator

__all__ = ["TopK", "scores_layout", "topk_layout"]


def scores_layout(width: int, lanes: int) -> data.StructLayout:
    """Payload of :attr:`TopK.i_scores`: up to ``lanes`` scores of a frame, in index order."""
    return data.StructLayout({
        "data": data.ArrayLayout(unsigned(width), lanes),
        "count": range(lanes + 1),
        "last": 1,
    })


def topk_layout(width: int, lanes: int, max_n: int) -> data.StructLayout:
    """Payload of :attr:`TopK.o_topk`: up to ``lanes`` kept elements, in ascending index order."""
    return data.StructLayout({
        "index": data.ArrayLayout(range(max_n), lanes),
        "score": data.ArrayLayout(unsigned(width), lanes),
        "count": range(lanes + 1),
        "last": 1,
    })


def _xorshift16(state):
    """One step of the pivot generator (a net of XORs), as :func:`~prunesim.golden.topk.xorshift16`.
    """
    state = state ^ (state << 7)[:16]
    state = state ^ (state >> 9)
    state = state ^ (state << 8)[:16]
    return state


class _Source(enum.Enum, shape=2):
    INPUT = 0
    FIFO_L = 1
    FIFO_R = 2


class _Keep(enum.Enum, shape=2):
    NONE = 0
    ALL = 1
    THRESHOLD = 2


class TopK(wiring.Component):
    """Keeps the ``k`` largest of a frame of scores and emits them in index order.

    Contract
    --------
    A frame is ``n`` scores, ``1 <= n <= max_n``, sent on :attr:`i_scores` in index order in beats
    of ``lanes`` scores: every beat but the last has ``count == lanes``, the last has
    ``1 .. lanes`` and ``last = 1``; lanes at and above ``count`` are ignored. ``k`` is sampled when
    the frame's first beat is accepted. :attr:`o_topk` then carries the ``min(k, n)`` largest
    scores (among equal scores the lower index wins) with their indices, in ascending index
    order: ``count`` valid elements in the low lanes, every beat but the last full, exactly one
    beat with ``last = 1`` per frame; ``k = 0`` gives one beat with ``count = 0`` and ``last = 1``.
    Lanes at and above ``count`` are unspecified. Both streams follow Amaranth's stream rules; any
    pattern of input gaps and output backpressure gives the same result. Frames follow each other
    without a reset; ``rst`` (synchronous) abandons a frame at any point.

    Bit layouts (first field in the low bits): :func:`scores_layout` is
    ``data[lanes] x width | count (bits of lanes) | last``; :func:`topk_layout` is
    ``index[lanes] x bits(max_n - 1) | score[lanes] x width | count | last``.

    Operation
    ---------
    1. *Load* (``ceil(n/lanes)`` beats, one per cycle when the input does not stall): each beat is
       written to the frame buffer and, at the same time, goes through the first quick-select
       round, whose pivot is drawn from the first beat.
    2. *Quick-select rounds*: two arrays of ``lanes`` comparators split the active set against
       the pivot; a :class:`~prunesim.rtl.zero_eliminator.ZeroEliminator` and a
       :class:`~prunesim.rtl.repacker.Repacker` per side push the smaller elements into FIFO L and
       the larger ones into FIFO R as full rows; equal elements are counted. The counts decide
       (see :mod:`prunesim.golden.topk`) whether the k-th largest is found or which FIFO is the
       next active set; the next pivot is the element at a pseudo-random position of that FIFO
       (16-bit xorshift, stepped once per draw, state kept across frames). A round over ``m``
       elements takes ``ceil(m/lanes) + 3`` cycles, one more when a re-packer's last row
       overflows into a second row.
    3. *Filter*: one pass over the frame buffer keeps elements above the threshold and the first
       ``target - |R|`` elements equal to it (prefix sum over the equal flags plus a running
       count), zero-eliminates and re-packs them into full output rows.

    Latency, from the frame's last input beat accepted to its last output beat, output always
    ready, for rounds over ``m_1 = n, m_2, ..., m_R`` elements::

        (3 + o_1) + sum_{r >= 2} (ceil(m_r/lanes) + 3 + o_r) + ceil(n/lanes) + 3 + o_f

    with each ``o`` 0 or 1 (a re-packer overflow). :class:`prunesim.golden.topk.QuickSelectEngine`
    computes it exactly; with random pivots the rounds stream about ``2.4 n`` elements after the
    first, so the mean is about ``3.4 n/lanes + 3.5 R``; ``prunesim bench topk`` measures it.
    The input is not ready from the last input beat of a frame until the frame's last output beat.

    The internal register ``qs_rounds`` holds the number of quick-select rounds of the latest frame
    (the golden model :class:`prunesim.golden.topk.QuickSelectEngine` predicts it).

    Parameters
    ----------
    width : int
        Bits per score, >= 1.
    lanes : int
        Scores per beat and comparators per array, a power of two >= 1.
    max_n : int
        Largest frame, >= ``lanes``. Sets the depth of the frame buffer and of the two FIFOs
        (``ceil(max_n/lanes)`` rows of ``lanes * width`` bits each).

    Members
    -------
    k : ``In(range(max_n + 1))``
        Number of scores to keep.
    i_scores : ``In(stream.Signature(scores_layout(width, lanes)))``
        The frame's scores.
    o_topk : ``Out(stream.Signature(topk_layout(width, lanes, max_n)))``
        The kept scores and their indices.
    """

    def __init__(self, width: int = 16, lanes: int = 16, max_n: int = 1024) -> None:
        self.width = check_int("width", width, 1)
        self.lanes = check_lanes(lanes)
        if not isinstance(max_n, int) or isinstance(max_n, bool) or max_n < lanes:
            raise ValueError(f"max_n must be an integer >= lanes ({lanes}), not {max_n!r}")
        self.max_n = max_n
        super().__init__({
            "k": In(range(max_n + 1)),
            "i_scores": In(stream.Signature(scores_layout(width, lanes))),
            "o_topk": Out(stream.Signature(topk_layout(width, lanes, max_n))),
        })

    def elaborate(self, platform):
        m = Module()
        width, lanes, max_n = self.width, self.lanes, self.max_n
        lane_bits = (lanes - 1).bit_length()
        rows = -(-max_n // lanes)
        row_shape = data.ArrayLayout(unsigned(width), lanes)
        elem_out = data.StructLayout({"score": unsigned(width), "index": range(max_n)})

        # Frame buffer (for the filter pass) and the two quick-select FIFOs.
        m.submodules.frame_buf = frame_buf = memory.Memory(shape=row_shape, depth=rows, init=[])
        m.submodules.fifo_l = fifo_l = memory.Memory(shape=row_shape, depth=rows, init=[])
        m.submodules.fifo_r = fifo_r = memory.Memory(shape=row_shape, depth=rows, init=[])
        buf_w, buf_r = frame_buf.write_port(), frame_buf.read_port()
        # The FIFOs' reads see a write to the same row in the same cycle: the next pivot can be
        # read while a round's last row is being written.
        l_w = fifo_l.write_port()
        l_r = fifo_l.read_port(transparent_for=(l_w,))
        r_w = fifo_r.write_port()
        r_r = fifo_r.read_port(transparent_for=(r_w,))

        m.submodules.split_lt = split_lt = ZeroEliminator(unsigned(width), lanes)
        m.submodules.split_gt = split_gt = ZeroEliminator(unsigned(width), lanes)
        m.submodules.pack_lt = pack_lt = Repacker(unsigned(width), lanes)
        m.submodules.pack_gt = pack_gt = Repacker(unsigned(width), lanes)
        m.submodules.tie_rank = tie_rank = PrefixSum(lanes)
        m.submodules.keep_elim = keep_elim = ZeroEliminator(elem_out, lanes)
        m.submodules.pack_out = pack_out = Repacker(elem_out, lanes)

        count_shape = range(max_n + 1)
        rng = Signal(16, init=PIVOT_SEED)
        rng_next = Signal(16)
        m.d.comb += rng_next.eq(_xorshift16(rng))
        qs_rounds = Signal(count_shape, name="qs_rounds")
        in_frame = Signal()                    # a frame's first beat has been accepted
        frame_n = Signal(count_shape)          # scores received so far
        load_row = Signal(range(rows + 1))
        target = Signal(count_shape)           # rank of the k-th largest inside the active set
        active_n = Signal(count_shape)         # size of the active set
        pivot = Signal(width)
        n_lt, n_eq, n_gt = (Signal(count_shape, name=f"n_{s}") for s in ("lt", "eq", "gt"))
        source = Signal(_Source)
        pivot_lane = Signal(range(lanes))
        keep_mode = Signal(_Keep)
        eq_keep = Signal(count_shape)          # elements equal to the pivot to keep
        rd_row = Signal(range(rows + 1))       # next row to read (round or filter pass)
        rd_left = Signal(count_shape)          # elements left to read
        l_wr_row = Signal(range(rows + 1))
        r_wr_row = Signal(range(rows + 1))

        def rows_of(remaining):
            """(count, last) of the next row when ``remaining`` elements are left to read."""
            return Mux(remaining > lanes, lanes, remaining), remaining <= lanes

        # ---- Partition datapath: S1 compares a row with the pivot, S2 feeds the repackers. ----
        s1_valid, s1_last = Signal(), Signal()
        s1_count = Signal(range(lanes + 1))
        in_row = Signal(row_shape)             # the input beat accepted in the previous cycle
        s1_row = Signal(row_shape)
        with m.Switch(source):
            with m.Case(_Source.INPUT):
                m.d.comb += s1_row.eq(in_row)
            with m.Case(_Source.FIFO_L):
                m.d.comb += s1_row.eq(l_r.data)
            with m.Default():
                m.d.comb += s1_row.eq(r_r.data)
        for i in range(lanes):
            present = i < s1_count
            m.d.comb += [
                split_lt.i_valid[i].eq(present & (s1_row[i] < pivot)),
                split_gt.i_valid[i].eq(present & (s1_row[i] > pivot)),
            ]
        m.d.comb += [split_lt.i_data.eq(s1_row), split_gt.i_data.eq(s1_row)]
        with m.If(s1_valid):
            m.d.sync += [
                n_lt.eq(n_lt + split_lt.o_count),
                n_gt.eq(n_gt + split_gt.o_count),
                n_eq.eq(n_eq + s1_count - split_lt.o_count - split_gt.o_count),
            ]
        m.d.sync += s1_valid.eq(0)

        s2_valid, s2_last = Signal(), Signal()
        m.d.sync += [s2_valid.eq(s1_valid), s2_last.eq(s1_last)]
        for side, split, pack in (("lt", split_lt, pack_lt), ("gt", split_gt, pack_gt)):
            s2_row = Signal(row_shape, name=f"s2_{side}_row")
            s2_count = Signal(range(lanes + 1), name=f"s2_{side}_count")
            m.d.sync += [s2_row.eq(split.o_data), s2_count.eq(split.o_count)]
            m.d.comb += [
                pack.i.valid.eq(s2_valid),
                pack.i.payload.data.eq(s2_row),
                pack.i.payload.count.eq(s2_count),
                pack.i.payload.last.eq(s2_last),
                pack.o.ready.eq(1),
            ]
        for pack, port, wr_row in ((pack_lt, l_w, l_wr_row), (pack_gt, r_w, r_wr_row)):
            write = pack.o.valid & (pack.o.payload.count != 0)
            m.d.comb += [port.addr.eq(wr_row), port.data.eq(pack.o.payload.data), port.en.eq(write)]
            with m.If(write):
                m.d.sync += wr_row.eq(wr_row + 1)
        # The round's last FIFO write happens in this cycle at the latest.
        partition_idle = ~s1_valid & ~s2_valid & ~pack_lt.busy & ~pack_gt.busy

        # ---- Filter datapath: F1 decides what to keep, F2 feeds the output repacker. ----
        f_advance = Signal()                   # the filter pipeline moves this cycle
        f1_valid, f1_last = Signal(), Signal()
        f1_count = Signal(range(lanes + 1))
        f1_row = Signal(range(rows))
        eq_seen = Signal(count_shape)          # equal elements met in earlier rows
        f2_valid = Signal()
        f2_payload = Signal.like(pack_out.i.payload)
        m.d.comb += f_advance.eq(~f2_valid | pack_out.i.ready)
        row_data = buf_r.data
        for i in range(lanes):
            m.d.comb += tie_rank.i_flags[i].eq((i < f1_count) & (row_data[i] == pivot))
        for i in range(lanes):
            present = i < f1_count
            above = row_data[i] > pivot
            tie_kept = tie_rank.i_flags[i] & (eq_seen + tie_rank.o_sums[i] < eq_keep)
            with m.Switch(keep_mode):
                with m.Case(_Keep.ALL):
                    m.d.comb += keep_elim.i_valid[i].eq(present)
                with m.Case(_Keep.THRESHOLD):
                    m.d.comb += keep_elim.i_valid[i].eq(present & (above | tie_kept))
            m.d.comb += [
                keep_elim.i_data[i].score.eq(row_data[i]),
                keep_elim.i_data[i].index.eq(Cat(Const(i, lane_bits), f1_row)),
            ]
        with m.If(f_advance):
            m.d.sync += [
                f2_valid.eq(f1_valid),
                f2_payload.data.eq(keep_elim.o_data),
                f2_payload.count.eq(keep_elim.o_count),
                f2_payload.last.eq(f1_last),
                f1_valid.eq(0),
            ]
            with m.If(f1_valid):
                m.d.sync += eq_seen.eq(eq_seen + tie_rank.o_total)
        m.d.comb += [
            pack_out.i.valid.eq(f2_valid),
            pack_out.i.payload.eq(f2_payload),
            buf_r.en.eq(f_advance),
        ]
        for i in range(lanes):
            m.d.comb += [
                self.o_topk.payload.index[i].eq(pack_out.o.payload.data[i].index),
                self.o_topk.payload.score[i].eq(pack_out.o.payload.data[i].score),
            ]
        m.d.comb += [
            self.o_topk.payload.count.eq(pack_out.o.payload.count),
            self.o_topk.payload.last.eq(pack_out.o.payload.last),
            self.o_topk.valid.eq(pack_out.o.valid),
            pack_out.o.ready.eq(self.o_topk.ready),
        ]

        # ---- Control ----
        fifo_addr = Signal(range(rows + 1))    # read address of both FIFOs
        m.d.comb += [l_r.addr.eq(fifo_addr), r_r.addr.eq(fifo_addr), buf_r.addr.eq(rd_row)]
        m.d.comb += fifo_addr.eq(rd_row)

        def start_round(size):
            """Draw the pivot position among ``size`` FIFO elements; issue its read."""
            position = Signal(range(max_n), name="pivot_position")
            m.d.comb += position.eq((rng_next * size) >> 16)
            m.d.comb += fifo_addr.eq(position >> lane_bits)
            return [
                rng.eq(rng_next),
                pivot_lane.eq(position[:lane_bits] if lane_bits else 0),
                active_n.eq(size),
            ]

        def issue_round_row(row, remaining):
            """Read ``row`` of the active FIFO into S1; go back to DECIDE after the last one."""
            count, last = rows_of(remaining)
            m.d.sync += [
                s1_valid.eq(1),
                s1_count.eq(count),
                s1_last.eq(last),
                rd_row.eq(row + 1),
                rd_left.eq(remaining - count),
            ]
            with m.If(last):
                m.next = "DECIDE"
            with m.Else():
                m.next = "ROUND"

        def start_filter(mode, keep_equal=0):
            return [keep_mode.eq(mode), eq_keep.eq(keep_equal), eq_seen.eq(0),
                    rd_row.eq(0), rd_left.eq(frame_n)]

        with m.FSM(name="topk_fsm"):
            with m.State("LOAD"):
                beat = self.i_scores.payload
                accept = self.i_scores.valid & self.i_scores.ready
                received = Mux(in_frame, frame_n, 0) + beat.count  # scores so far, this beat too
                m.d.comb += [
                    self.i_scores.ready.eq(1),
                    buf_w.addr.eq(load_row),
                    buf_w.data.eq(beat.data),
                    buf_w.en.eq(accept),
                ]
                with m.If(accept):
                    m.d.sync += [
                        in_row.eq(beat.data),
                        s1_valid.eq(1),
                        s1_count.eq(beat.count),
                        s1_last.eq(beat.last),
                        load_row.eq(load_row + 1),
                        frame_n.eq(received),
                        in_frame.eq(~beat.last),
                    ]
                    with m.If(~in_frame):
                        first_pos = (rng_next * beat.count) >> 16
                        m.d.sync += [
                            target.eq(self.k),
                            rng.eq(rng_next),
                            pivot.eq(beat.data[first_pos[:lane_bits] if lane_bits else 0]),
                            source.eq(_Source.INPUT),
                            qs_rounds.eq(0),
                            n_lt.eq(0), n_eq.eq(0), n_gt.eq(0),
                            l_wr_row.eq(0), r_wr_row.eq(0),
                        ]
                    with m.If(beat.last):
                        m.d.sync += [
                            load_row.eq(0),
                            active_n.eq(received),
                        ]
                        m.next = "DECIDE"

            with m.State("DECIDE"):
                # Wait for the round to drain into the FIFOs, then act on its counts.
                with m.If(partition_idle):
                    m.d.sync += qs_rounds.eq(qs_rounds + 1)
                    with m.If(target == 0):
                        m.d.sync += start_filter(_Keep.NONE)
                        m.next = "FILTER"
                    with m.Elif(target >= active_n):
                        m.d.sync += start_filter(_Keep.ALL)
                        m.next = "FILTER"
                    with m.Elif(n_gt == target):
                        m.d.sync += start_filter(_Keep.THRESHOLD)
                        m.next = "FILTER"
                    with m.Elif(n_gt > target):
                        m.d.sync += start_round(n_gt)
                        m.d.sync += source.eq(_Source.FIFO_R)
                        m.next = "PIVOT"
                    with m.Elif(n_gt + n_eq >= target):
                        m.d.sync += start_filter(_Keep.THRESHOLD, target - n_gt)
                        m.next = "FILTER"
                    with m.Else():
                        m.d.sync += start_round(n_lt)
                        m.d.sync += [source.eq(_Source.FIFO_L), target.eq(target - n_gt - n_eq)]
                        m.next = "PIVOT"

            with m.State("PIVOT"):
                # Take the pivot and read the active FIFO's first row.
                chosen = Mux(source == _Source.FIFO_L, Value.cast(l_r.data), Value.cast(r_r.data))
                m.d.comb += fifo_addr.eq(0)
                m.d.sync += [
                    pivot.eq(chosen.word_select(pivot_lane, width)),
                    n_lt.eq(0), n_eq.eq(0), n_gt.eq(0),
                    l_wr_row.eq(0), r_wr_row.eq(0),
                ]
                issue_round_row(0, active_n)

            with m.State("ROUND"):
                issue_round_row(rd_row, rd_left)

            with m.State("FILTER"):
                count, last = rows_of(rd_left)
                with m.If(f_advance):
                    m.d.sync += [
                        f1_valid.eq(1),
                        f1_count.eq(count),
                        f1_last.eq(last),
                        f1_row.eq(rd_row),
                        rd_row.eq(rd_row + 1),
                        rd_left.eq(rd_left - count),
                    ]
                    with m.If(last):
                        m.next = "EMIT"

            with m.State("EMIT"):
                with m.If(self.o_topk.valid & self.o_topk.ready & self.o_topk.payload.last):
                    m.next = "LOAD"

        return m
