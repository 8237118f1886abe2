"""A Batcher odd-even merge sorter doing the top-k engine's job: the baseline of SpAtten's claim
that its top-k engine gives 1.4x the throughput at 3.5x less power than such a sorter."""

from __future__ import annotations

from collections.abc import Mapping
from types import MappingProxyType

from amaranth.hdl import Cat, Const, Module, Mux, Shape, Signal, Value, unsigned
from amaranth.lib import data, memory, stream, wiring
from amaranth.lib.wiring import In, Out

from .params import Limit, check_int
from .repacker import Repacker
from .topk import scores_layout, topk_layout
from .zero_eliminator import ZeroEliminator

__all__ = ["BatcherSorter", "merge_layers", "sort_layers"]


def _odd_even_layers(n: int, first_span: int) -> list[list[tuple[int, int]]]:
    """Layers of Batcher's odd-even merge sort on ``n`` (a power of two) inputs, from the merge of
    sorted blocks of ``first_span`` inputs on."""
    layers = []
    span = first_span
    while span < n:
        step = span
        while step >= 1:
            layer = []
            for j in range(step % span, n - step, 2 * step):
                for i in range(min(step, n - j - step)):
                    if (i + j) // (2 * span) == (i + j + step) // (2 * span):
                        layer.append((i + j, i + j + step))
            layers.append(layer)
            step //= 2
        span *= 2
    return layers


def sort_layers(n: int) -> list[list[tuple[int, int]]]:
    """Batcher's odd-even merge sort network on ``n`` inputs (a power of two), as layers of
    comparators ``(i, j)``, ``i < j``: after a comparator, position ``i`` holds the larger value.

    ``p (p + 1) / 2`` layers and ``(p**2 - p + 4) 2**(p - 2) - 1`` comparators for ``n = 2**p``
    (0 for ``n = 1``; 63 in 10 layers for 16).
    """
    return _odd_even_layers(n, 1)


def merge_layers(n: int) -> list[list[tuple[int, int]]]:
    """Batcher's odd-even merge of two sorted halves of ``n`` inputs (a power of two >= 2), both
    sorted the same way: ``log2(n)`` layers, ``(n/2) log2(n/2) + 1`` comparators (65 for 32)."""
    return _odd_even_layers(n, n // 2)


def _compare_exchange(
    m: Module, keys: list[Value], layer: list[tuple[int, int]], name: str
) -> list[Value]:
    """Apply one layer of comparators (combinational): the larger key of each pair to its lower
    position. The outputs are signals ``<name>_<position>``, so later layers share them."""
    out = list(keys)
    for i, j in layer:
        swap = Signal(name=f"{name}_swap{i}_{j}")
        hi = Signal(Value.cast(keys[i]).shape(), name=f"{name}_{i}")
        lo = Signal(Value.cast(keys[j]).shape(), name=f"{name}_{j}")
        m.d.comb += [
            swap.eq(keys[j] > keys[i]),
            hi.eq(Mux(swap, keys[j], keys[i])),
            lo.eq(Mux(swap, keys[i], keys[j])),
        ]
        out[i], out[j] = hi, lo
    return out


class BatcherSorter(wiring.Component):
    """Keeps the ``k`` largest of a frame of scores by sorting it with Batcher's odd-even merge
    sort, ``lanes`` scores at a time, and emits them in index order.

    A drop-in for :class:`prunesim.rtl.topk.TopK` (the baseline of SpAtten's top-k claim): the
    same ports, payload layouts and stream contract, so a bench can swap the two.

    Contract
    --------
    As :class:`~prunesim.rtl.topk.TopK`'s: a frame is ``n`` scores, ``1 <= n <= max_n``, sent on
    :attr:`i_scores` in index order in beats of ``lanes`` scores (every beat but the last full,
    the last with ``1 .. lanes`` and ``last = 1``; lanes at and above ``count`` ignored); ``k`` is
    sampled with the frame's first beat. :attr:`o_topk` carries the ``min(k, n)`` largest scores
    (among equal scores the lower index wins) with their indices in ascending index order, every
    beat but the last full, one beat with ``last = 1`` per frame, ``k = 0`` giving one beat with
    ``count = 0``. Lanes at and above ``count`` are unspecified. Both streams follow Amaranth's
    stream rules; gaps and backpressure do not change the result. Frames follow each other
    without a reset; ``rst`` (synchronous) abandons a frame at any point. Layouts:
    :func:`prunesim.rtl.topk.scores_layout` and :func:`prunesim.rtl.topk.topk_layout`.

    Operation
    ---------
    Each score becomes a *key* of ``width + bits(max_n - 1)`` bits: the score above the
    complement of its index, so keys are distinct and their order is the contract's (higher
    score first, then lower index). Sorting keys instead of scores makes the ``k``-th largest key
    a threshold that selects exactly the ``min(k, n)`` elements to keep, so the index order is
    restored by one pass over the frame, as the top-k engine's filter does: the two blocks differ
    only in how they find the threshold.

    1. *Load* (one beat per cycle): each beat is written to the frame buffer and, as keys (the
       lanes above ``count`` as key 0), through a pipelined odd-even merge sort network of
       ``lanes`` inputs (:func:`sort_layers`, a register after each layer) into sort buffer 0 as
       a sorted row.
    2. *Merge passes*: ``J = ceil(log2 R)`` passes over the ``R = ceil(n/lanes)`` rows, from one
       sort buffer to the other, merge pairs of sorted runs of ``1, 2, 4, ...`` rows. A merge takes
       one row per cycle from the run whose next row has the larger first key, merges it with
       ``lanes`` held keys in an odd-even merge network of ``2 lanes`` inputs
       (:func:`merge_layers`), writes the larger half and holds the smaller half; after the last
       row it writes the held keys while it takes the next pair's first row: ``R + 1`` cycles per
       pass.
    3. *Threshold*: one read of the sorted keys at position ``min(k, n) - 1``.
    4. *Filter*: one pass over the frame buffer keeps the elements whose key is at least the
       threshold (none when ``k = 0``), zero-eliminates and re-packs them into full output rows.

    Latency, from the frame's last input beat accepted to its last output beat, output always
    ready, with ``D = log2(lanes) (log2(lanes) + 1) / 2``::

        5 + D + R + J (R + 1) + o

    ``o`` is 1 when the output re-packer's last input row overflows into a second output row,
    else 0 (as the top-k engine's ``o_f``); everything else depends on ``n`` and ``lanes`` only
    (:func:`prunesim.golden.sorter.sorter_cycles`; n = 1024, 16 lanes: 469 + o). The input is
    not ready from the last input beat of a frame until the frame's last output beat.

    Comparators (magnitude comparators on keys), ``p = log2(lanes)``: the beat sorter
    ``(p**2 - p + 4) 2**(p - 2) - 1`` (0 for one lane), the merge network ``lanes * p + 1``, the
    run choice 1 and the filter ``lanes``: 145 at 16 lanes (63 + 65 + 1 + 16), each
    ``width + bits(max_n - 1)`` bits wide (26 at the defaults). :attr:`comparators` counts them
    from the generated networks.

    Parameters
    ----------
    width : int
        Bits per score, 1..64.
    lanes : int
        Scores per beat, a power of two in 1..32 (the beat sorter's inputs; the merge network has
        twice as many).
    max_n : int
        Largest frame, ``lanes..16384``. Sets the depth of the frame buffer and of the two sort
        buffers (``ceil(max_n/lanes)`` rows of ``lanes`` scores or keys).

    The ranges are :data:`LIMITS`; jointly, ``max_n >= lanes``, ``lanes * width <= 1024`` and
    ``max_n * (width + bits(max_n - 1)) <= 2**20`` (each sort buffer at most 1 Mbit).
    ``TypeError`` if a parameter is not an integer, ``ValueError`` naming it and its range or the
    joint limit otherwise; both before anything is built. Generating the Verilog (``prunesim
    verilog sorter``, one core of a shared 2-core VM) took 13 s at the defaults and 5 s at 8
    lanes and 256 scores; the networks grow as ``lanes * log2(lanes)**2``.

    Members
    -------
    k : ``In(range(max_n + 1))``
        Number of scores to keep.
    i_scores : ``In(stream.Signature(scores_layout(width, lanes)))``
        The frame's scores.
    o_topk : ``Out(stream.Signature(topk_layout(width, lanes, max_n)))``
        The kept scores and their indices.
    """

    #: The range of each constructor parameter (see the class docstring for the joint limits).
    LIMITS: Mapping[str, Limit] = MappingProxyType(
        {
            "width": Limit(1, 64, "and lanes * width <= 1024, sort buffers of 1 Mbit at most"),
            "lanes": Limit(1, 32, "the merge network has 2 * LANES inputs", power_of_two=True),
            "max_n": Limit(1, 16384, "and max_n * (width + bits(max_n - 1)) <= 2**20"),
        }
    )

    def __init__(self, width: int = 16, lanes: int = 16, max_n: int = 1024) -> None:
        self.width = self.LIMITS["width"].check("width", width)
        self.lanes = self.LIMITS["lanes"].check("lanes", lanes)
        self.max_n = self.LIMITS["max_n"].check("max_n", max_n)
        check_int("max_n", max_n, lanes)
        if lanes * width > 1024:
            raise ValueError(
                f"lanes * width must be <= 1024 (a row of the frame buffer), not {lanes * width} "
                f"(lanes={lanes}, width={width})"
            )
        self.index_bits = Shape.cast(range(max_n)).width
        self.key_width = width + self.index_bits
        if max_n * self.key_width > 1 << 20:
            raise ValueError(
                f"max_n * (width + bits(max_n - 1)) must be <= 2**20 (1 Mbit per sort buffer), "
                f"not {max_n * self.key_width} (max_n={max_n}, width={width})"
            )
        super().__init__(
            {
                "k": In(range(max_n + 1)),
                "i_scores": In(stream.Signature(scores_layout(width, lanes))),
                "o_topk": Out(stream.Signature(topk_layout(width, lanes, max_n))),
            }
        )

    @property
    def comparators(self) -> dict[str, int]:
        """Magnitude comparators per part: ``sort`` (beat sorter), ``merge``, ``choose`` (which
        run gives the next row) and ``filter``; each compares two keys."""
        merge = sum(map(len, merge_layers(2 * self.lanes)))
        return {
            "sort": sum(map(len, sort_layers(self.lanes))),
            "merge": merge,
            "choose": 1,
            "filter": self.lanes,
        }

    def elaborate(self, platform):
        m = Module()
        lanes, width = self.lanes, self.width
        rows = -(-self.max_n // lanes)
        lane_bits = (lanes - 1).bit_length()
        row_range = range(rows + 1)
        count_shape = range(self.max_n + 1)
        key_row = data.ArrayLayout(unsigned(self.key_width), lanes)
        score_row = data.ArrayLayout(unsigned(width), lanes)

        # ---- Storage: the frame (scores, for the filter) and two sort buffers (keys). ----
        m.submodules.frame_buf = frame_buf = memory.Memory(shape=score_row, depth=rows, init=[])
        frame_w, frame_r = frame_buf.write_port(), frame_buf.read_port()
        sort_w, sort_ra, sort_rb = [], [], []
        for b in range(2):
            buf = memory.Memory(shape=key_row, depth=rows, init=[])
            m.submodules[f"sort_buf{b}"] = buf
            port_w = buf.write_port()
            # A read sees a write to the same row in the same cycle: a pass can start reading
            # while the previous pass (or the beat sorter) writes its last row.
            sort_w.append(port_w)
            sort_ra.append(buf.read_port(transparent_for=(port_w,)))
            sort_rb.append(buf.read_port(transparent_for=(port_w,)))

        # ---- Frame state ----
        in_frame = Signal()  # a frame's first beat has been accepted
        frame_n = Signal(count_shape)  # scores received so far
        k_reg = Signal(count_shape)
        load_row = Signal(row_range)
        n_rows = Signal(row_range)  # R
        keep_n = Signal(count_shape)  # min(k, n)

        # ---- Load: keys through the pipelined beat sorter into sort buffer 0. ----
        beat = self.i_scores.payload
        accept = self.i_scores.valid & self.i_scores.ready
        received = Mux(in_frame, frame_n, 0) + beat.count
        keys = []
        for i in range(lanes):
            index = Cat(Const(i, lane_bits), load_row)[: self.index_bits]
            key = Signal(self.key_width, name=f"in_key{i}")
            m.d.comb += key.eq(Mux(i < beat.count, Cat(~index, beat.data[i]), 0))
            keys.append(key)
        stage_valid = []
        stage = keys
        for depth, layer in enumerate([[], *sort_layers(lanes)]):
            stage = _compare_exchange(m, stage, layer, f"bs{depth}_cmp")
            regs = [Signal(self.key_width, name=f"bs{depth}_{i}") for i in range(lanes)]
            valid = Signal(name=f"bs{depth}_valid")
            m.d.sync += [reg.eq(value) for reg, value in zip(regs, stage, strict=True)]
            m.d.sync += valid.eq(accept if depth == 0 else stage_valid[-1])
            stage_valid.append(valid)
            stage = regs
        sorted_wr_row = Signal(row_range)
        with m.If(stage_valid[-1]):
            m.d.sync += sorted_wr_row.eq(sorted_wr_row + 1)
        # Rows still in the pipeline that are not being written in this cycle.
        sorting = Cat(*stage_valid[:-1]).any() if len(stage_valid) > 1 else Const(0)

        # ---- Merge datapath ----
        src = Signal()  # sort buffer the merge reads (the other one is written)
        run_len = Signal(row_range)  # L, rows per run of this pass
        pair_start = Signal(row_range)
        len_a, len_b = Signal(row_range), Signal(row_range)
        used_a, used_b = Signal(row_range), Signal(row_range)
        out_row = Signal(row_range)
        held = [Signal(self.key_width, name=f"held{i}") for i in range(lanes)]
        addr_a, addr_b = Signal(range(rows)), Signal(range(rows))
        for b in range(2):
            m.d.comb += [sort_ra[b].addr.eq(addr_a), sort_rb[b].addr.eq(addr_b)]
        data_a = Mux(src, sort_ra[1].data, sort_ra[0].data)
        data_b = Mux(src, sort_rb[1].data, sort_rb[0].data)
        row_a = [
            Value.cast(data_a)[i * self.key_width : (i + 1) * self.key_width] for i in range(lanes)
        ]
        row_b = [
            Value.cast(data_b)[i * self.key_width : (i + 1) * self.key_width] for i in range(lanes)
        ]
        avail_a, avail_b = used_a < len_a, used_b < len_b
        take_a = Signal()
        m.d.comb += take_a.eq(avail_a & (~avail_b | (row_a[0] >= row_b[0])))
        chosen = [Mux(take_a, a, b) for a, b in zip(row_a, row_b, strict=True)]
        merged = list(held) + chosen
        for depth, layer in enumerate(merge_layers(2 * lanes)):
            merged = _compare_exchange(m, merged, layer, f"merge{depth}")
        next_a = used_a + take_a
        next_b = used_b + ~take_a

        # Sort buffer writes: the beat sorter into buffer 0, the merge into the other buffer.
        merge_write = Signal()
        merge_data = Signal(key_row)
        for b in range(2):
            port = sort_w[b]
            merge_here = merge_write & (src != b)
            if b == 0:
                beat_sorted = Cat(*stage)
                m.d.comb += [
                    port.addr.eq(Mux(merge_here, out_row, sorted_wr_row)),
                    port.data.eq(Mux(merge_here, merge_data, beat_sorted)),
                    port.en.eq(merge_here | stage_valid[-1]),
                ]
            else:
                m.d.comb += [
                    port.addr.eq(out_row),
                    port.data.eq(merge_data),
                    port.en.eq(merge_here),
                ]
        with m.If(merge_write):
            m.d.sync += out_row.eq(out_row + 1)

        # ---- Filter datapath (as the top-k engine's): F1 flags, F2 feeds the re-packer. ----
        elem_out = data.StructLayout({"score": unsigned(width), "index": range(self.max_n)})
        m.submodules.keep_elim = keep_elim = ZeroEliminator(elem_out, lanes)
        m.submodules.pack_out = pack_out = Repacker(elem_out, lanes)
        threshold = Signal(self.key_width)
        keep_any = Signal()  # k > 0
        rd_row = Signal(row_range)
        rd_left = Signal(count_shape)
        f_advance = Signal()
        f1_valid, f1_last = Signal(), Signal()
        f1_count = Signal(range(lanes + 1))
        f1_row = Signal(range(rows))
        f2_valid = Signal()
        f2_payload = Signal.like(pack_out.i.payload)
        m.d.comb += [
            f_advance.eq(~f2_valid | pack_out.i.ready),
            frame_r.addr.eq(rd_row),
            frame_r.en.eq(f_advance),
        ]
        for i in range(lanes):
            score = frame_r.data[i]
            index = Cat(Const(i, lane_bits), f1_row)[: self.index_bits]
            kept = keep_any & (i < f1_count) & (Cat(~index, score) >= threshold)
            m.d.comb += [
                keep_elim.i_valid[i].eq(kept),
                keep_elim.i_data[i].score.eq(score),
                keep_elim.i_data[i].index.eq(index),
            ]
        with m.If(f_advance):
            m.d.sync += [
                f2_valid.eq(f1_valid),
                f2_payload.data.eq(keep_elim.o_data),
                f2_payload.count.eq(keep_elim.o_count),
                f2_payload.last.eq(f1_last),
                f1_valid.eq(0),
            ]
        m.d.comb += [pack_out.i.valid.eq(f2_valid), pack_out.i.payload.eq(f2_payload)]
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
        def start_pair(start, length):
            """Set up the pair of runs at row ``start`` of ``length`` rows each; read their first
            rows."""
            rest = n_rows - start
            first = Mux(rest > length, length, rest)
            second = Mux(rest > 2 * length, length, Mux(rest > length, rest - length, 0))
            m.d.comb += [addr_a.eq(start), addr_b.eq(start + length)]
            return [
                pair_start.eq(start),
                len_a.eq(first),
                len_b.eq(second),
                used_a.eq(0),
                used_b.eq(0),
            ]

        def finish_sort(buffer):
            """The keys are sorted in ``buffer``: read the threshold key."""
            m.d.comb += addr_a.eq((keep_n - 1) >> lane_bits)
            return [src.eq(buffer)]

        with m.FSM(name="sorter_fsm"):
            with m.State("LOAD"):
                m.d.comb += [
                    self.i_scores.ready.eq(1),
                    frame_w.addr.eq(load_row),
                    frame_w.data.eq(beat.data),
                    frame_w.en.eq(accept),
                ]
                with m.If(accept):
                    m.d.sync += [
                        load_row.eq(load_row + 1),
                        frame_n.eq(received),
                        in_frame.eq(~beat.last),
                    ]
                    with m.If(~in_frame):
                        m.d.sync += k_reg.eq(self.k)
                    k_now = Mux(in_frame, k_reg, self.k)
                    with m.If(beat.last):
                        m.d.sync += [
                            load_row.eq(0),
                            n_rows.eq(load_row + 1),
                            keep_n.eq(Mux(k_now < received, k_now, received)),
                            keep_any.eq(k_now != 0),
                        ]
                        m.next = "DRAIN"
            with m.State("DRAIN"):
                # Wait until the beat sorter writes the last row (reads see it in this cycle).
                with m.If(~sorting):
                    m.d.sync += [sorted_wr_row.eq(0), out_row.eq(0), run_len.eq(1)]
                    with m.If(n_rows == 1):
                        m.d.sync += finish_sort(0)
                        m.next = "THRESHOLD"
                    with m.Else():
                        m.d.sync += src.eq(0)
                        m.d.sync += start_pair(0, 1)
                        m.next = "FIRST"

            def step(kept):
                """Take the next row of the pair; hold ``kept``. After the pair's last row, read
                the next pair's first rows if this pass has one (it starts while the held keys
                are written) and go on to FLUSH_FIRST, else to FLUSH."""
                m.d.comb += [
                    addr_a.eq(pair_start + next_a),
                    addr_b.eq(pair_start + run_len + next_b),
                ]
                m.d.sync += [used_a.eq(next_a), used_b.eq(next_b)]
                m.d.sync += [h.eq(c) for h, c in zip(held, kept, strict=True)]
                next_pair = pair_start + 2 * run_len
                with m.If(next_a + next_b == len_a + len_b):
                    with m.If(next_pair < n_rows):
                        m.d.sync += start_pair(next_pair, run_len)
                        m.next = "FLUSH_FIRST"
                    with m.Else():
                        m.next = "FLUSH"
                with m.Else():
                    m.next = "MERGE"

            with m.State("FIRST"):
                # A pass's first pair: its first row is held.
                step(chosen)
            with m.State("MERGE"):
                # Merge a row with the held keys: write the larger half, hold the smaller.
                m.d.comb += [merge_write.eq(1), merge_data.eq(Cat(*merged[:lanes]))]
                step(merged[lanes:])
            with m.State("FLUSH_FIRST"):
                # Write the held keys of a pair; hold the first row of the next.
                m.d.comb += [merge_write.eq(1), merge_data.eq(Cat(*held))]
                step(chosen)
            with m.State("FLUSH"):
                # A pass's last pair: write the held keys; start the next pass or read the
                # threshold.
                m.d.comb += [merge_write.eq(1), merge_data.eq(Cat(*held))]
                with m.If(2 * run_len >= n_rows):
                    m.d.sync += finish_sort(~src)
                    m.next = "THRESHOLD"
                with m.Else():
                    m.d.sync += [src.eq(~src), out_row.eq(0), run_len.eq(2 * run_len)]
                    m.d.sync += start_pair(0, 2 * run_len)
                    m.next = "FIRST"
            with m.State("THRESHOLD"):
                lane = (keep_n - 1)[:lane_bits] if lane_bits else 0
                m.d.sync += [
                    threshold.eq(Value.cast(data_a).word_select(lane, self.key_width)),
                    rd_row.eq(0),
                    rd_left.eq(frame_n),
                ]
                m.next = "FILTER"
            with m.State("FILTER"):
                remaining_row = Mux(rd_left > lanes, lanes, rd_left)
                last_row = rd_left <= lanes
                with m.If(f_advance):
                    m.d.sync += [
                        f1_valid.eq(1),
                        f1_count.eq(remaining_row),
                        f1_last.eq(last_row),
                        f1_row.eq(rd_row),
                        rd_row.eq(rd_row + 1),
                        rd_left.eq(rd_left - remaining_row),
                    ]
                    with m.If(last_row):
                        m.next = "EMIT"
            with m.State("EMIT"):
                with m.If(self.o_topk.valid & self.o_topk.ready & self.o_topk.payload.last):
                    m.next = "LOAD"
        return m
