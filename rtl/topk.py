"""SpAtten's top-k engine: quick-select for the k-th largest score, then an order-keeping filter."""

from __future__ import annotations

from collections.abc import Mapping
from types import MappingProxyType
from typing import NamedTuple

from amaranth.hdl import Cat, Const, Module, Mux, Signal, Value, unsigned
from amaranth.lib import data, enum, memory, stream, wiring
from amaranth.lib.wiring import In, Out

from prunesim.golden.pivot import PIVOT_SEED

from .params import Limit, check_int
from .prefix_sum import PrefixSum
from .repacker import Repacker
from .zero_eliminator import ZeroEliminator

__all__ = ["TopK", "scores_layout", "topk_layout"]


def scores_layout(width: int, lanes: int) -> data.StructLayout:
    """Payload of :attr:`TopK.i_scores`: up to ``lanes`` scores of a frame, in index order."""
    return data.StructLayout(
        {
            "data": data.ArrayLayout(unsigned(width), lanes),
            "count": range(lanes + 1),
            "last": 1,
        }
    )


def topk_layout(width: int, lanes: int, max_n: int) -> data.StructLayout:
    """Payload of :attr:`TopK.o_topk`: up to ``lanes`` kept elements, in ascending index order."""
    return data.StructLayout(
        {
            "index": data.ArrayLayout(range(max_n), lanes),
            "score": data.ArrayLayout(unsigned(width), lanes),
            "count": range(lanes + 1),
            "last": 1,
        }
    )


#: Name of a few pipeline flags: Amaranth's default for a signal whose variable it cannot see.
#: They were created as ``valid, last = Signal(), Signal()`` before ``elaborate`` was split into
#: pieces; the name is now given explicitly, so the generated Verilog stayed the same.
_UNNAMED = "$signal"


def _xorshift16(state):
    """One step of the pivot generator (a net of XORs), as :func:`prunesim.golden.pivot.xorshift16`.

    ``state`` is a 16-bit value; returns the next state as a 16-bit value.
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


class _Buffers(NamedTuple):
    """Ports of the frame buffer (written on load, read by the filter pass) and of the two FIFOs."""

    frame_w: memory.WritePort
    frame_r: memory.ReadPort
    l_w: memory.WritePort
    l_r: memory.ReadPort
    r_w: memory.WritePort
    r_r: memory.ReadPort


class _State:
    """The signals :class:`TopK`'s control FSM shares with its datapaths.

    The quick-select state (pivot generator, target rank, counts of the round, keep rule), the
    read/write pointers, and the first stage of each pipeline (S1 of the partition, F1 of the
    filter), which the FSM loads.
    """

    def __init__(self, width: int, lanes: int, max_n: int) -> None:
        rows = -(-max_n // lanes)
        count_shape = range(max_n + 1)
        self.rng = Signal(16, init=PIVOT_SEED)  # pivot generator, kept across frames
        self.rng_next = Signal(16)
        self.qs_rounds = Signal(count_shape, name="qs_rounds")
        self.in_frame = Signal()  # a frame's first beat has been accepted
        self.frame_n = Signal(count_shape)  # scores received so far
        self.load_row = Signal(range(rows + 1))
        self.target = Signal(count_shape)  # rank of the k-th largest inside the active set
        self.active_n = Signal(count_shape)  # size of the active set
        self.pivot = Signal(width)
        self.n_lt, self.n_eq, self.n_gt = (
            Signal(count_shape, name=f"n_{side}") for side in ("lt", "eq", "gt")
        )
        self.source = Signal(_Source)
        self.pivot_lane = Signal(range(lanes))
        self.keep_mode = Signal(_Keep)
        self.eq_keep = Signal(count_shape)  # elements equal to the pivot to keep
        self.rd_row = Signal(range(rows + 1))  # next row to read (round or filter pass)
        self.rd_left = Signal(count_shape)  # elements left to read
        self.l_wr_row = Signal(range(rows + 1))
        self.r_wr_row = Signal(range(rows + 1))
        # Partition pipeline, stage S1.
        self.s1_valid = Signal(name=_UNNAMED)
        self.s1_last = Signal(name=_UNNAMED)
        self.s1_count = Signal(range(lanes + 1))
        self.in_row = Signal(data.ArrayLayout(unsigned(width), lanes))  # last cycle's input beat
        # Filter pipeline, stage F1.
        self.f_advance = Signal()  # the filter pipeline moves this cycle
        self.f1_valid = Signal(name=_UNNAMED)
        self.f1_last = Signal()
        self.f1_count = Signal(range(lanes + 1))
        self.f1_row = Signal(range(rows))
        self.eq_seen = Signal(count_shape)  # equal elements met in earlier rows
        # Read address of both FIFOs.
        self.fifo_addr = Signal(range(rows + 1))


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
        Bits per score, 1..64 (SpAtten's scores are 12 to 16 bits).
    lanes : int
        Scores per beat and comparators per array, a power of two in 1..64 (SpAtten's engine
        has 16).
    max_n : int
        Largest frame, ``lanes..65536`` (SpAtten's frames are a few thousand tokens). Sets the
        depth of the frame buffer and of the two FIFOs (``ceil(max_n/lanes)`` rows of
        ``lanes * width`` bits each).

    The ranges are :data:`LIMITS`; jointly, ``lanes * width <= 1024`` (a buffer row of at most
    1024 bits) and ``max_n * width <= 2**20`` (each of the three buffers at most 1 Mbit of block
    RAM). Within them generating the Verilog takes at most about a minute of CPU and 600 MB
    (``prunesim verilog topk``, one core of a 2-core VM: the corner of 64 lanes and 65536
    scores of 16 bits 57 s and 600 MB; 64 lanes 44 s; 65536 scores 14 s; 64-bit scores 9 s);
    beyond them it takes minutes and gigabytes (64 lanes, 64 bits, 65536 scores: over 3 minutes
    and 1.5 GB; 65536 scores of 64 bits: 74 s and 630 MB; 128 lanes: minutes). ``TypeError``
    if a parameter is not an integer, ``ValueError`` naming it and its range or the joint limit
    otherwise; both before anything is built.

    Members
    -------
    k : ``In(range(max_n + 1))``
        Number of scores to keep.
    i_scores : ``In(stream.Signature(scores_layout(width, lanes)))``
        The frame's scores.
    o_topk : ``Out(stream.Signature(topk_layout(width, lanes, max_n)))``
        The kept scores and their indices.
    """

    #: The range of each constructor parameter, checked by the constructor and stated by
    #: ``prunesim verilog topk --help`` (through :mod:`prunesim.rtl.blocks`); the joint limits
    #: (``max_n >= lanes``, ``lanes * width <= 1024``, ``max_n * width <= 2**20``) come after.
    LIMITS: Mapping[str, Limit] = MappingProxyType(
        {
            "width": Limit(1, 64, "and lanes * width <= 1024, max_n * width <= 2**20"),
            "lanes": Limit(1, 64, "and lanes * width <= 1024", power_of_two=True),
            "max_n": Limit(1, 65536, "and max_n * width <= 2**20: 1 Mbit per buffer"),
        }
    )

    def __init__(self, width: int = 16, lanes: int = 16, max_n: int = 1024) -> None:
        self.width = self.LIMITS["width"].check("width", width)
        self.lanes = self.LIMITS["lanes"].check("lanes", lanes)
        self.max_n = self.LIMITS["max_n"].check("max_n", max_n)
        check_int("max_n", max_n, lanes)
        if lanes * width > 1024:
            raise ValueError(
                f"lanes * width must be <= 1024 (a row of the buffers), not {lanes * width} "
                f"(lanes={lanes}, width={width})"
            )
        if max_n * width > 1 << 20:
            raise ValueError(
                f"max_n * width must be <= 2**20 (1 Mbit per buffer), not {max_n * width} "
                f"(max_n={max_n}, width={width})"
            )
        super().__init__(
            {
                "k": In(range(max_n + 1)),
                "i_scores": In(stream.Signature(scores_layout(width, lanes))),
                "o_topk": Out(stream.Signature(topk_layout(width, lanes, max_n))),
            }
        )

    def elaborate(self, platform):
        m = Module()
        buffers = self._add_buffers(m)
        s = _State(self.width, self.lanes, self.max_n)
        m.d.comb += s.rng_next.eq(_xorshift16(s.rng))
        partition_idle = self._add_partition(m, s, buffers)
        self._add_filter(m, s, buffers.frame_r)
        self._add_control(m, s, buffers, partition_idle)
        return m

    # ---- Storage ----

    def _add_buffers(self, m: Module) -> _Buffers:
        """Add the frame buffer (for the filter pass) and the two quick-select FIFOs."""
        rows = -(-self.max_n // self.lanes)
        row_shape = data.ArrayLayout(unsigned(self.width), self.lanes)
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
        return _Buffers(buf_w, buf_r, l_w, l_r, r_w, r_r)

    # ---- Partition datapath: S1 compares a row with the pivot, S2 feeds the repackers. ----

    def _add_partition(self, m: Module, s: _State, buffers: _Buffers) -> Value:
        """Add the partition datapath; return "the round has drained into the FIFOs"."""
        width, lanes = self.width, self.lanes
        m.submodules.split_lt = split_lt = ZeroEliminator(unsigned(width), lanes)
        m.submodules.split_gt = split_gt = ZeroEliminator(unsigned(width), lanes)
        m.submodules.pack_lt = pack_lt = Repacker(unsigned(width), lanes)
        m.submodules.pack_gt = pack_gt = Repacker(unsigned(width), lanes)
        self._compare_with_pivot(m, s, buffers, split_lt, split_gt)
        s2_valid = self._push_to_fifos(m, s, buffers, (split_lt, split_gt), (pack_lt, pack_gt))
        # The round's last FIFO write happens in this cycle at the latest.
        return ~s.s1_valid & ~s2_valid & ~pack_lt.busy & ~pack_gt.busy

    def _compare_with_pivot(
        self,
        m: Module,
        s: _State,
        buffers: _Buffers,
        split_lt: ZeroEliminator,
        split_gt: ZeroEliminator,
    ) -> None:
        """S1: select the row (input beat or a FIFO row), flag its elements below and above the
        pivot for the two zero eliminators, count the smaller, equal and larger ones."""
        s1_row = Signal(data.ArrayLayout(unsigned(self.width), self.lanes))
        with m.Switch(s.source):
            with m.Case(_Source.INPUT):
                m.d.comb += s1_row.eq(s.in_row)
            with m.Case(_Source.FIFO_L):
                m.d.comb += s1_row.eq(buffers.l_r.data)
            with m.Default():
                m.d.comb += s1_row.eq(buffers.r_r.data)
        for i in range(self.lanes):
            present = i < s.s1_count
            m.d.comb += [
                split_lt.i_valid[i].eq(present & (s1_row[i] < s.pivot)),
                split_gt.i_valid[i].eq(present & (s1_row[i] > s.pivot)),
            ]
        m.d.comb += [split_lt.i_data.eq(s1_row), split_gt.i_data.eq(s1_row)]
        with m.If(s.s1_valid):
            m.d.sync += [
                s.n_lt.eq(s.n_lt + split_lt.o_count),
                s.n_gt.eq(s.n_gt + split_gt.o_count),
                s.n_eq.eq(s.n_eq + s.s1_count - split_lt.o_count - split_gt.o_count),
            ]
        m.d.sync += s.s1_valid.eq(0)

    def _push_to_fifos(
        self,
        m: Module,
        s: _State,
        buffers: _Buffers,
        splits: tuple[ZeroEliminator, ...],
        packs: tuple[Repacker, ...],
    ) -> Signal:
        """S2: register the zero eliminators' rows (``splits``, less-than side first) into their
        repackers (``packs``) and write the repacked full rows into FIFO L and FIFO R.

        Returns S2's valid register.
        """
        row_shape = data.ArrayLayout(unsigned(self.width), self.lanes)
        s2_valid = Signal(name=_UNNAMED)
        s2_last = Signal()
        m.d.sync += [s2_valid.eq(s.s1_valid), s2_last.eq(s.s1_last)]
        for side, split, pack in zip(("lt", "gt"), splits, packs, strict=True):
            s2_row = Signal(row_shape, name=f"s2_{side}_row")
            s2_count = Signal(range(self.lanes + 1), name=f"s2_{side}_count")
            m.d.sync += [s2_row.eq(split.o_data), s2_count.eq(split.o_count)]
            m.d.comb += [
                pack.i.valid.eq(s2_valid),
                pack.i.payload.data.eq(s2_row),
                pack.i.payload.count.eq(s2_count),
                pack.i.payload.last.eq(s2_last),
                pack.o.ready.eq(1),
            ]
        fifo_writes = zip(packs, (buffers.l_w, buffers.r_w), (s.l_wr_row, s.r_wr_row), strict=True)
        for pack, port, wr_row in fifo_writes:
            write = pack.o.valid & (pack.o.payload.count != 0)
            m.d.comb += [port.addr.eq(wr_row), port.data.eq(pack.o.payload.data), port.en.eq(write)]
            with m.If(write):
                m.d.sync += wr_row.eq(wr_row + 1)
        return s2_valid

    # ---- Filter datapath: F1 decides what to keep, F2 feeds the output repacker. ----

    def _add_filter(self, m: Module, s: _State, frame_r: memory.ReadPort) -> None:
        """Add the filter datapath, from the frame buffer's read port to :attr:`o_topk`."""
        lanes = self.lanes
        elem_out = data.StructLayout({"score": unsigned(self.width), "index": range(self.max_n)})
        m.submodules.tie_rank = tie_rank = PrefixSum(lanes)
        m.submodules.keep_elim = keep_elim = ZeroEliminator(elem_out, lanes)
        m.submodules.pack_out = pack_out = Repacker(elem_out, lanes)
        f2_valid = Signal()
        f2_payload = Signal.like(pack_out.i.payload)
        m.d.comb += s.f_advance.eq(~f2_valid | pack_out.i.ready)
        self._select_kept(m, s, frame_r.data, tie_rank, keep_elim)
        with m.If(s.f_advance):
            m.d.sync += [
                f2_valid.eq(s.f1_valid),
                f2_payload.data.eq(keep_elim.o_data),
                f2_payload.count.eq(keep_elim.o_count),
                f2_payload.last.eq(s.f1_last),
                s.f1_valid.eq(0),
            ]
            with m.If(s.f1_valid):
                m.d.sync += s.eq_seen.eq(s.eq_seen + tie_rank.o_total)
        m.d.comb += [
            pack_out.i.valid.eq(f2_valid),
            pack_out.i.payload.eq(f2_payload),
            frame_r.en.eq(s.f_advance),
        ]
        self._drive_output(m, pack_out)

    def _select_kept(
        self, m: Module, s: _State, row_data, tie_rank: PrefixSum, keep_elim: ZeroEliminator
    ) -> None:
        """F1: flag the elements of a frame-buffer row to keep (all of them, or those above the
        threshold and the first ``eq_keep`` equal to it, ranked by ``tie_rank``) and give each its
        frame index."""
        lane_bits = (self.lanes - 1).bit_length()
        for i in range(self.lanes):
            m.d.comb += tie_rank.i_flags[i].eq((i < s.f1_count) & (row_data[i] == s.pivot))
        for i in range(self.lanes):
            present = i < s.f1_count
            above = row_data[i] > s.pivot
            tie_kept = tie_rank.i_flags[i] & (s.eq_seen + tie_rank.o_sums[i] < s.eq_keep)
            with m.Switch(s.keep_mode):
                with m.Case(_Keep.ALL):
                    m.d.comb += keep_elim.i_valid[i].eq(present)
                with m.Case(_Keep.THRESHOLD):
                    m.d.comb += keep_elim.i_valid[i].eq(present & (above | tie_kept))
            m.d.comb += [
                keep_elim.i_data[i].score.eq(row_data[i]),
                keep_elim.i_data[i].index.eq(Cat(Const(i, lane_bits), s.f1_row)),
            ]

    def _drive_output(self, m: Module, pack_out: Repacker) -> None:
        """Connect the output repacker's stream to :attr:`o_topk`."""
        for i in range(self.lanes):
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

    def _add_control(self, m: Module, s: _State, buffers: _Buffers, partition_idle: Value) -> None:
        """Add the control FSM: load a frame, quick-select rounds, filter pass, emit."""
        m.d.comb += [
            buffers.l_r.addr.eq(s.fifo_addr),
            buffers.r_r.addr.eq(s.fifo_addr),
            buffers.frame_r.addr.eq(s.rd_row),
        ]
        m.d.comb += s.fifo_addr.eq(s.rd_row)
        with m.FSM(name="topk_fsm"):
            with m.State("LOAD"):
                self._load(m, s, buffers.frame_w)
            with m.State("DECIDE"):
                # Wait for the round to drain into the FIFOs, then act on its counts.
                with m.If(partition_idle):
                    self._decide(m, s)
            with m.State("PIVOT"):
                self._take_pivot(m, s, buffers)
            with m.State("ROUND"):
                self._issue_round_row(m, s, s.rd_row, s.rd_left)
            with m.State("FILTER"):
                self._issue_filter_row(m, s)
            with m.State("EMIT"):
                with m.If(self.o_topk.valid & self.o_topk.ready & self.o_topk.payload.last):
                    m.next = "LOAD"

    def _row_of(self, remaining):
        """(count, last) of the next row when ``remaining`` elements are left to read."""
        return Mux(remaining > self.lanes, self.lanes, remaining), remaining <= self.lanes

    def _load(self, m: Module, s: _State, frame_w: memory.WritePort) -> None:
        """LOAD: write each input beat to the frame buffer and feed it to the first round."""
        beat = self.i_scores.payload
        accept = self.i_scores.valid & self.i_scores.ready
        received = Mux(s.in_frame, s.frame_n, 0) + beat.count  # scores so far, this beat too
        m.d.comb += [
            self.i_scores.ready.eq(1),
            frame_w.addr.eq(s.load_row),
            frame_w.data.eq(beat.data),
            frame_w.en.eq(accept),
        ]
        with m.If(accept):
            m.d.sync += [
                s.in_row.eq(beat.data),
                s.s1_valid.eq(1),
                s.s1_count.eq(beat.count),
                s.s1_last.eq(beat.last),
                s.load_row.eq(s.load_row + 1),
                s.frame_n.eq(received),
                s.in_frame.eq(~beat.last),
            ]
            with m.If(~s.in_frame):
                m.d.sync += self._start_frame(s, beat)
            with m.If(beat.last):
                m.d.sync += [
                    s.load_row.eq(0),
                    s.active_n.eq(received),
                ]
                m.next = "DECIDE"

    def _start_frame(self, s: _State, beat) -> list:
        """On a frame's first beat: sample ``k``, draw the first pivot from the beat, clear the
        round's counts and FIFOs."""
        lane_bits = (self.lanes - 1).bit_length()
        first_pos = (s.rng_next * beat.count) >> 16
        return [
            s.target.eq(self.k),
            s.rng.eq(s.rng_next),
            s.pivot.eq(beat.data[first_pos[:lane_bits] if lane_bits else 0]),
            s.source.eq(_Source.INPUT),
            s.qs_rounds.eq(0),
            s.n_lt.eq(0),
            s.n_eq.eq(0),
            s.n_gt.eq(0),
            s.l_wr_row.eq(0),
            s.r_wr_row.eq(0),
        ]

    def _decide(self, m: Module, s: _State) -> None:
        """DECIDE, once the round has drained: finish (start the filter) or start the next round
        on FIFO R or FIFO L (the table in :mod:`prunesim.golden.topk`)."""
        m.d.sync += s.qs_rounds.eq(s.qs_rounds + 1)
        with m.If(s.target == 0):
            m.d.sync += self._start_filter(s, _Keep.NONE)
            m.next = "FILTER"
        with m.Elif(s.target >= s.active_n):
            m.d.sync += self._start_filter(s, _Keep.ALL)
            m.next = "FILTER"
        with m.Elif(s.n_gt == s.target):
            m.d.sync += self._start_filter(s, _Keep.THRESHOLD)
            m.next = "FILTER"
        with m.Elif(s.n_gt > s.target):
            m.d.sync += self._start_round(m, s, s.n_gt)
            m.d.sync += s.source.eq(_Source.FIFO_R)
            m.next = "PIVOT"
        with m.Elif(s.n_gt + s.n_eq >= s.target):
            m.d.sync += self._start_filter(s, _Keep.THRESHOLD, s.target - s.n_gt)
            m.next = "FILTER"
        with m.Else():
            m.d.sync += self._start_round(m, s, s.n_lt)
            m.d.sync += [s.source.eq(_Source.FIFO_L), s.target.eq(s.target - s.n_gt - s.n_eq)]
            m.next = "PIVOT"

    def _start_round(self, m: Module, s: _State, size) -> list:
        """Draw the pivot position among ``size`` FIFO elements; issue its read."""
        lane_bits = (self.lanes - 1).bit_length()
        position = Signal(range(self.max_n), name="pivot_position")
        m.d.comb += position.eq((s.rng_next * size) >> 16)
        m.d.comb += s.fifo_addr.eq(position >> lane_bits)
        return [
            s.rng.eq(s.rng_next),
            s.pivot_lane.eq(position[:lane_bits] if lane_bits else 0),
            s.active_n.eq(size),
        ]

    def _start_filter(self, s: _State, mode: _Keep, keep_equal=0) -> list:
        """Set up the filter pass over the whole frame with the decided keep rule."""
        return [
            s.keep_mode.eq(mode),
            s.eq_keep.eq(keep_equal),
            s.eq_seen.eq(0),
            s.rd_row.eq(0),
            s.rd_left.eq(s.frame_n),
        ]

    def _take_pivot(self, m: Module, s: _State, buffers: _Buffers) -> None:
        """PIVOT: take the pivot and read the active FIFO's first row."""
        chosen = Mux(
            s.source == _Source.FIFO_L, Value.cast(buffers.l_r.data), Value.cast(buffers.r_r.data)
        )
        m.d.comb += s.fifo_addr.eq(0)
        m.d.sync += [
            s.pivot.eq(chosen.word_select(s.pivot_lane, self.width)),
            s.n_lt.eq(0),
            s.n_eq.eq(0),
            s.n_gt.eq(0),
            s.l_wr_row.eq(0),
            s.r_wr_row.eq(0),
        ]
        self._issue_round_row(m, s, 0, s.active_n)

    def _issue_round_row(self, m: Module, s: _State, row, remaining) -> None:
        """Read ``row`` of the active FIFO into S1; go back to DECIDE after the last one."""
        count, last = self._row_of(remaining)
        m.d.sync += [
            s.s1_valid.eq(1),
            s.s1_count.eq(count),
            s.s1_last.eq(last),
            s.rd_row.eq(row + 1),
            s.rd_left.eq(remaining - count),
        ]
        with m.If(last):
            m.next = "DECIDE"
        with m.Else():
            m.next = "ROUND"

    def _issue_filter_row(self, m: Module, s: _State) -> None:
        """FILTER: read the frame buffer's rows into F1 as the filter pipeline moves; EMIT after
        the last one."""
        count, last = self._row_of(s.rd_left)
        with m.If(s.f_advance):
            m.d.sync += [
                s.f1_valid.eq(1),
                s.f1_count.eq(count),
                s.f1_last.eq(last),
                s.f1_row.eq(s.rd_row),
                s.rd_row.eq(s.rd_row + 1),
                s.rd_left.eq(s.rd_left - count),
            ]
            with m.If(last):
                m.next = "EMIT"
