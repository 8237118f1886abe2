"""SpAtten's top-k engine: quick-select for the k-th largest score, then an order-keeping filter."""

from __future__ import annotations

from collections.abc import Mapping
from types import MappingProxyType
from typing import NamedTuple

from amaranth.hdl import Cat, Const, Module, Mux, Shape, Signal, Value, unsigned
from amaranth.lib import data, enum, memory, stream, wiring
from amaranth.lib.wiring import In, Out

from prunesim.golden.pivot import PIVOT_SEED, xorshift16

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


def _popcount(bits: Value) -> Value:
    """The number of set bits of ``bits``, as a balanced tree of adders."""
    counts = [bit.as_unsigned() for bit in bits]
    while len(counts) > 1:
        pairs = [counts[i] + counts[i + 1] for i in range(0, len(counts) - 1, 2)]
        counts = pairs + counts[len(pairs) * 2 :]
    return counts[0] if counts else Const(0, 1)


def _at_most(value: Value, limit: int) -> Value:
    """``min(value, limit)`` of an unsigned ``value``, in ``range(limit + 1)``."""
    return Mux(value > limit, limit, value)[: Shape.cast(range(limit + 1)).width]


def _step_rng(s: _State) -> list:
    """Step the pivot generator: ``rng`` and its registered next state ``rng_next``."""
    return [s.rng.eq(s.rng_next), s.rng_next.eq(_xorshift16(s.rng_next))]


def _stage(m: Module, name: str, en: Value | None = None, **values) -> dict[str, Value]:
    """Pipeline registers: for each ``key=value``, a register named ``{name}_{key}`` that loads
    ``value`` in every cycle (``en`` None) or in the cycles where ``en`` is high. Returns them by
    key."""
    regs = {}
    for key, value in values.items():
        reg = Signal(value.shape(), name=f"{name}_{key}")
        if en is None:
            m.d.sync += reg.eq(value)
        else:
            with m.If(en):
                m.d.sync += reg.eq(value)
        regs[key] = reg
    return regs


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
        # Its next state, a register stepped with it (no XORs before the draws' multipliers).
        self.rng_next = Signal(16, init=xorshift16(PIVOT_SEED))
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
        self.eq_room = Signal(count_shape)  # elements equal to the pivot still to keep
        self.eq_room_row = Signal(range(lanes + 1))  # min(eq_room, lanes): all a row can use
        self.rd_row = Signal(range(rows + 1))  # next row to read (round or filter pass)
        self.rd_left = Signal(count_shape)  # elements left to read
        self.l_wr_row = Signal(range(rows + 1))
        self.r_wr_row = Signal(range(rows + 1))
        # Partition pipeline, stage S1.
        self.s1_valid = Signal(name=_UNNAMED)
        self.s1_last = Signal(name=_UNNAMED)
        self.s1_count = Signal(range(lanes + 1))
        self.s1_first = Signal()  # S1 holds a frame's first beat: draw the first pivot from it
        self.first_pos = Signal(range(lanes))  # the first pivot's lane in that beat
        self.s1_pivot = Signal()  # the FIFO's row of the round's pivot is registered: take it
        self.in_row = Signal(data.ArrayLayout(unsigned(width), lanes))  # last cycle's input beat
        # Filter pipeline, stage F1.
        self.f_advance = Signal()  # the filter pipeline moves this cycle
        self.f1_valid = Signal(name=_UNNAMED)
        self.f1_last = Signal()
        self.f1_count = Signal(range(lanes + 1))
        self.f1_row = Signal(range(rows))
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
       elements takes ``ceil(m/lanes) + 6`` cycles, one more when a re-packer's last row
       overflows into a second row.
    3. *Filter*: one pass over the frame buffer keeps elements above the threshold and the first
       ``target - |R|`` elements equal to it (prefix sum over the equal flags plus a running
       count), zero-eliminates and re-packs them into full output rows.

    Both datapaths are pipelined for clock speed (at most a source selection between a block RAM's
    output and a register; no path crosses more than one of: a comparator array, a prefix sum, the
    shift layers of a zero eliminator, a re-packer). A round's rows go through S1 (select the input
    beat or the FIFO's read), P2 (compare with the pivot), P3 (the zero eliminators' prefix sums),
    P4 (their shift layers; count), S2 (into the re-packers) and the re-packers' output register
    (into the FIFOs). The filter's rows go through F1 (the frame buffer's read), F2 (compare with
    the threshold; count the ties), F3 (the tie ranks' prefix sum: what to keep), F4 and F5 (the
    zero eliminator), F6 (into the output re-packer), all stages moving together when the output
    re-packer takes a row. The decision after a round reads comparisons and pivot positions
    registered one cycle ahead (so does the FIFOs' read address in DECIDE, in every cycle); a
    round's pivot is taken from P2's copy of its row.

    Latency, from the frame's last input beat accepted to its last output beat, output always
    ready, for rounds over ``m_1 = n, m_2, ..., m_R`` elements::

        (6 + o_1) + sum_{r >= 2} (ceil(m_r/lanes) + 6 + o_r) + ceil(n/lanes) + 7 + o_f

    with each ``o`` 0 or 1 (a re-packer overflow). :class:`prunesim.golden.topk.QuickSelectEngine`
    computes it exactly; with random pivots the rounds stream about ``2.4 n`` elements after the
    first, so the mean is about ``3.4 n/lanes + 6.5 R``; ``prunesim bench topk`` measures it.
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

    # ---- Partition datapath: S1 selects a row, P2 compares it with the pivot, P3 and P4 split it
    # (two zero eliminators, registered inside), S2 feeds the repackers. ----

    def _add_partition(self, m: Module, s: _State, buffers: _Buffers) -> Value:
        """Add the partition datapath; return "the round has drained into the FIFOs"."""
        width, lanes = self.width, self.lanes
        m.submodules.split_lt = split_lt = ZeroEliminator(unsigned(width), lanes, registered=True)
        m.submodules.split_gt = split_gt = ZeroEliminator(unsigned(width), lanes, registered=True)
        m.submodules.pack_lt = pack_lt = Repacker(unsigned(width), lanes)
        m.submodules.pack_gt = pack_gt = Repacker(unsigned(width), lanes)
        busy, p4 = self._compare_with_pivot(m, s, buffers, split_lt, split_gt)
        splits, packs = (split_lt, split_gt), (pack_lt, pack_gt)
        s2_valid = self._push_to_fifos(m, s, buffers, p4, splits, packs)
        # The round's last FIFO write happens in this cycle at the latest.
        return ~busy & ~s2_valid & ~pack_lt.busy & ~pack_gt.busy

    def _compare_with_pivot(
        self,
        m: Module,
        s: _State,
        buffers: _Buffers,
        split_lt: ZeroEliminator,
        split_gt: ZeroEliminator,
    ) -> tuple[Value, dict[str, Value]]:
        """S1 selects the row (input beat or a FIFO's read) into P2; P2 flags its elements below and
        above the pivot into P3; P3 feeds the two zero eliminators, whose registered results (P4)
        count the smaller, equal and larger ones.

        Returns "a row is in S1 to P4" and P4's ``valid`` and ``last``."""
        row_shape = data.ArrayLayout(unsigned(self.width), self.lanes)
        lane_bits = (self.lanes - 1).bit_length()
        # A block RAM's output is slow: only the source selection between it and a register.
        s1_row = Signal(row_shape)
        with m.Switch(s.source):
            with m.Case(_Source.INPUT):
                m.d.comb += s1_row.eq(s.in_row)
            with m.Case(_Source.FIFO_L):
                m.d.comb += s1_row.eq(buffers.l_r.data)
            with m.Default():
                m.d.comb += s1_row.eq(buffers.r_r.data)
        p2 = _stage(m, "p2", valid=s.s1_valid, last=s.s1_last, count=s.s1_count, row=s1_row)
        m.d.sync += [s.s1_valid.eq(0), s.s1_first.eq(0), s.s1_pivot.eq(0)]
        with m.If(s.s1_first):
            # The first pivot, from the frame's first beat (its lane drawn when the beat came).
            m.d.sync += s.pivot.eq(s.in_row[s.first_pos if lane_bits else 0])
        with m.If(s.s1_pivot):
            # A later round's pivot, from the row PIVOT read (registered: P2 uses it next).
            row = Value.cast(p2["row"])
            m.d.sync += s.pivot.eq(row.word_select(s.pivot_lane, self.width))
        lt = Signal(self.lanes, name="p2_lt")
        gt = Signal(self.lanes, name="p2_gt")
        for i in range(self.lanes):
            present = i < p2["count"]
            m.d.comb += [
                lt[i].eq(present & (p2["row"][i] < s.pivot)),
                gt[i].eq(present & (p2["row"][i] > s.pivot)),
            ]
        p3 = _stage(m, "p3", valid=p2["valid"], last=p2["last"], count=p2["count"], row=p2["row"])
        p3 |= _stage(m, "p3", lt=lt, gt=gt)
        m.d.comb += [
            split_lt.i_data.eq(p3["row"]),
            split_gt.i_data.eq(p3["row"]),
            split_lt.i_valid.eq(p3["lt"]),
            split_gt.i_valid.eq(p3["gt"]),
            split_lt.en.eq(1),
            split_gt.en.eq(1),
        ]
        p4 = _stage(m, "p4", valid=p3["valid"], last=p3["last"], count=p3["count"])
        with m.If(p4["valid"]):
            m.d.sync += [
                s.n_lt.eq(s.n_lt + split_lt.o_count),
                s.n_gt.eq(s.n_gt + split_gt.o_count),
                s.n_eq.eq(s.n_eq + p4["count"] - split_lt.o_count - split_gt.o_count),
            ]
        return s.s1_valid | p2["valid"] | p3["valid"] | p4["valid"], p4

    def _push_to_fifos(
        self,
        m: Module,
        s: _State,
        buffers: _Buffers,
        p4: dict[str, Value],
        splits: tuple[ZeroEliminator, ...],
        packs: tuple[Repacker, ...],
    ) -> Signal:
        """S2: register the zero eliminators' rows (``splits``, less-than side first; ``p4``: their
        stage's ``valid`` and ``last``) into their repackers (``packs``) and write the repacked
        full rows into FIFO L and FIFO R.

        Returns S2's valid register.
        """
        row_shape = data.ArrayLayout(unsigned(self.width), self.lanes)
        s2_valid = Signal(name=_UNNAMED)
        s2_last = Signal()
        m.d.sync += [s2_valid.eq(p4["valid"]), s2_last.eq(p4["last"])]
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

    # ---- Filter datapath: F1 is the frame buffer's row, F2 registers it, F3 compares it with the
    # threshold, F4 decides what to keep, F5 (inside the zero eliminator) compacts it, F6 feeds
    # the output repacker. All stages move together, when F6 is empty or the repacker takes it.

    def _add_filter(self, m: Module, s: _State, frame_r: memory.ReadPort) -> None:
        """Add the filter datapath, from the frame buffer's read port to :attr:`o_topk`."""
        lanes = self.lanes
        elem_out = data.StructLayout({"score": unsigned(self.width), "index": range(self.max_n)})
        m.submodules.tie_rank = tie_rank = PrefixSum(lanes)
        m.submodules.keep_elim = keep_elim = ZeroEliminator(elem_out, lanes, registered=True)
        m.submodules.pack_out = pack_out = Repacker(elem_out, lanes)
        f6_valid = Signal()
        f6_payload = Signal.like(pack_out.i.payload)
        m.d.comb += s.f_advance.eq(~f6_valid | pack_out.i.ready)
        go = s.f_advance
        f1 = {"valid": s.f1_valid, "last": s.f1_last, "count": s.f1_count, "row": s.f1_row}
        f2 = _stage(m, "f2", go, **f1, data=frame_r.data)
        with m.If(go):
            m.d.sync += s.f1_valid.eq(0)
        above, equal = self._compare_with_threshold(m, s, f2)
        f3 = _stage(m, "f3", go, **f2)
        # The row's count of equal elements, for the running ``eq_room`` (off F3's prefix sum).
        f3 |= _stage(m, "f3", go, above=above, equal=equal, ties=_popcount(equal))
        keep = self._select_kept(m, s, f3, tie_rank)
        f4 = _stage(m, "f4", go, **{key: f3[key] for key in ("valid", "last", "row", "data")})
        f4 |= _stage(m, "f4", go, keep=keep)
        lane_bits = (lanes - 1).bit_length()
        for i in range(lanes):
            m.d.comb += [
                keep_elim.i_data[i].score.eq(f4["data"][i]),
                keep_elim.i_data[i].index.eq(Cat(Const(i, lane_bits), f4["row"])),
            ]
        m.d.comb += [keep_elim.i_valid.eq(f4["keep"]), keep_elim.en.eq(go)]
        f5 = _stage(m, "f5", go, valid=f4["valid"], last=f4["last"])
        with m.If(go):
            m.d.sync += [
                f6_valid.eq(f5["valid"]),
                f6_payload.data.eq(keep_elim.o_data),
                f6_payload.count.eq(keep_elim.o_count),
                f6_payload.last.eq(f5["last"]),
            ]
        m.d.comb += [
            pack_out.i.valid.eq(f6_valid),
            pack_out.i.payload.eq(f6_payload),
            frame_r.en.eq(go),
        ]
        self._drive_output(m, pack_out)

    def _compare_with_threshold(self, m: Module, s: _State, f2: dict) -> tuple[Signal, Signal]:
        """F2: flag the elements of a frame-buffer row above and equal to the threshold."""
        above = Signal(self.lanes, name="f2_above")
        equal = Signal(self.lanes, name="f2_equal")
        for i in range(self.lanes):
            present = i < f2["count"]
            m.d.comb += [
                above[i].eq(present & (f2["data"][i] > s.pivot)),
                equal[i].eq(present & (f2["data"][i] == s.pivot)),
            ]
        return above, equal

    def _select_kept(self, m: Module, s: _State, f3: dict, tie_rank: PrefixSum) -> Signal:
        """F3: flag the elements of a row to keep (all of them, or those above the threshold and
        the first ``eq_room`` equal to it, ranked by ``tie_rank``); count down ``eq_room``."""
        keep = Signal(self.lanes, name="f3_keep")
        m.d.comb += tie_rank.i_flags.eq(f3["equal"])
        for i in range(self.lanes):
            tie_kept = f3["equal"][i] & (tie_rank.o_sums[i] < s.eq_room_row)
            with m.Switch(s.keep_mode):
                with m.Case(_Keep.ALL):
                    m.d.comb += keep[i].eq(i < f3["count"])
                with m.Case(_Keep.THRESHOLD):
                    m.d.comb += keep[i].eq(f3["above"][i] | tie_kept)
        with m.If(s.f_advance & f3["valid"]):
            left = Signal(len(s.eq_room) + 1)  # eq_room - ties; its top bit set when negative
            m.d.comb += left.eq(s.eq_room - f3["ties"])
            m.d.sync += [
                s.eq_room.eq(Mux(left[-1], 0, left[: len(s.eq_room)])),
                s.eq_room_row.eq(Mux(left[-1], 0, _at_most(left, self.lanes))),
            ]
        return keep

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
        pre = self._prepare_decision(m, s)
        with m.FSM(name="topk_fsm"):
            with m.State("LOAD"):
                self._load(m, s, buffers.frame_w)
            with m.State("DECIDE"):
                # Read the next pivot's row in every cycle (only the acting cycle's read is used;
                # no read of a FIFO is consumed while DECIDE waits): the address does not wait for
                # the drain or the decision, only on registers.
                lane_bits = (self.lanes - 1).bit_length()
                pivot_pos = Mux(pre["gt_over"], pre["pos_gt"], pre["pos_lt"])
                m.d.comb += s.fifo_addr.eq(pivot_pos >> lane_bits)
                # Wait for the round to drain into the FIFOs, then act on its counts.
                with m.If(partition_idle):
                    self._decide(m, s, pre)
            with m.State("PIVOT"):
                self._take_pivot(m, s)
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
                s.s1_first.eq(~s.in_frame),
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
        """On a frame's first beat: sample ``k``, draw the first pivot's lane in the beat (S1 takes
        the pivot from it in the next cycle), clear the round's counts and FIFOs."""
        lane_bits = (self.lanes - 1).bit_length()
        # (rng_next * count) >> 16 as shifted partial products: a multiplier block here (its
        # operand straight from the input port) makes Yosys' ABC9 mapping fail on ECP5.
        product = sum(Mux(beat.count[j], s.rng_next << j, 0) for j in range(len(beat.count)))
        first_pos = product >> 16
        return [
            s.target.eq(self.k),
            *_step_rng(s),
            s.first_pos.eq(first_pos[:lane_bits] if lane_bits else 0),
            s.source.eq(_Source.INPUT),
            s.qs_rounds.eq(0),
            s.n_lt.eq(0),
            s.n_eq.eq(0),
            s.n_gt.eq(0),
            s.l_wr_row.eq(0),
            s.r_wr_row.eq(0),
        ]

    def _prepare_decision(self, m: Module, s: _State) -> dict[str, Value]:
        """The comparisons, pivot positions and new targets :meth:`_decide` needs, registered
        every cycle from the registers of the cycle before (off the critical path).

        Exact when DECIDE acts: the counts, ``target``, ``active_n`` and the pivot generator are
        then at least two cycles old (the counts are final when P4 has counted the round's last
        row; it then still has to pass S2 before the round has drained), so their registered
        copies, one cycle old, see the same values."""
        position = range(self.max_n)
        draws = {  # the element at position (r * size) >> 16 of the next active set
            f"pos_{side}": ((s.rng_next * size) >> 16)[: Shape.cast(position).width]
            for side, size in (("gt", s.n_gt), ("lt", s.n_lt))
        }
        none, everything = s.target == 0, s.target >= s.active_n
        gt_is, gt_over = s.n_gt == s.target, s.n_gt > s.target
        eq_reach = s.n_gt + s.n_eq >= s.target
        eq_keep = (s.target - s.n_gt)[: len(s.target)]
        # The table of :mod:`prunesim.golden.topk`, decided here: finish (and with which keep
        # rule), else a round on FIFO R when ``gt_over``, on FIFO L otherwise.
        mode = Mux(none, _Keep.NONE.value, Mux(everything, _Keep.ALL.value, _Keep.THRESHOLD.value))
        return _stage(
            m,
            "pre",
            gt_over=gt_over,
            finish=none | everything | gt_is | (~gt_over & eq_reach),
            mode=mode,
            eq_room=Mux(none | everything, 0, eq_keep),
            eq_room_row=Mux(none | everything, 0, _at_most(eq_keep, self.lanes)),
            target_lt=(s.target - s.n_gt - s.n_eq)[: len(s.target)],
            **draws,
        )

    def _decide(self, m: Module, s: _State, pre: dict[str, Value]) -> None:
        """DECIDE, once the round has drained: finish (start the filter) or start the next round
        on FIFO R or FIFO L (the table in :mod:`prunesim.golden.topk`), as ``pre``
        (:meth:`_prepare_decision`) decided it."""
        lane_bits = (self.lanes - 1).bit_length()
        m.d.sync += s.qs_rounds.eq(s.qs_rounds + 1)
        with m.If(pre["finish"]):
            m.d.sync += [
                s.keep_mode.as_value().eq(pre["mode"]),
                s.eq_room.eq(pre["eq_room"]),
                s.eq_room_row.eq(pre["eq_room_row"]),
                s.rd_row.eq(0),
                s.rd_left.eq(s.frame_n),
            ]
            m.next = "FILTER"
        with m.Else():
            on_r = pre["gt_over"]  # the larger side, FIFO R, holds the k-th largest
            position = Mux(on_r, pre["pos_gt"], pre["pos_lt"])
            source = Mux(on_r, _Source.FIFO_R.value, _Source.FIFO_L.value)
            m.d.sync += [
                *_step_rng(s),
                s.pivot_lane.eq(position[:lane_bits] if lane_bits else 0),
                s.active_n.eq(Mux(on_r, s.n_gt, s.n_lt)),
                s.source.as_value().eq(source),
                s.target.eq(Mux(on_r, s.target, pre["target_lt"])),
            ]
            m.next = "PIVOT"

    def _take_pivot(self, m: Module, s: _State) -> None:
        """PIVOT: the pivot's row comes out of the active FIFO (the pivot is taken from P2's copy
        of it in the next cycle); read the FIFO's first row."""
        m.d.comb += s.fifo_addr.eq(0)
        m.d.sync += [
            s.s1_pivot.eq(1),
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
