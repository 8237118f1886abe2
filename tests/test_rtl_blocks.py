"""Unit tests of the top-k engine's sub-blocks in Amaranth's own simulator.

Each block is compared with a naive Python model: exhaustively where the input space is small,
on seeded random inputs otherwise.
"""

from __future__ import annotations

import random

import pytest
from amaranth.hdl import Shape, unsigned
from amaranth.lib import data
from amaranth.sim import Simulator

from prunesim.rtl.prefix_sum import PrefixSum
from prunesim.rtl.repacker import Repacker
from prunesim.rtl.topk import TopK
from prunesim.rtl.zero_eliminator import ZeroEliminator


def run_comb(dut, bench):
    """Run an async testbench on a combinational component."""
    sim = Simulator(dut)
    sim.add_testbench(bench)
    sim.run()


def flag_rows(lanes: int, rng: random.Random, samples: int = 300):
    """Every flag pattern for up to 8 lanes, ``samples`` random ones above."""
    if lanes <= 8:
        return list(range(1 << lanes))
    return [rng.getrandbits(lanes) for _ in range(samples)] + [0, (1 << lanes) - 1]


@pytest.mark.parametrize("lanes", [1, 2, 4, 8, 16, 32])
def test_prefix_sum(lanes):
    dut = PrefixSum(lanes)
    patterns = flag_rows(lanes, random.Random(lanes))

    async def bench(ctx):
        for flags in patterns:
            ctx.set(dut.i_flags, flags)
            bits = [(flags >> i) & 1 for i in range(lanes)]
            assert ctx.get(dut.o_total) == sum(bits)
            for i in range(lanes):
                assert ctx.get(dut.o_sums[i]) == sum(bits[:i]), (flags, i)

    run_comb(dut, bench)


@pytest.mark.parametrize("lanes", [1, 2, 4, 8, 16])
def test_zero_eliminator(lanes):
    width = 7
    dut = ZeroEliminator(unsigned(width), lanes)
    rng = random.Random(100 + lanes)
    patterns = flag_rows(lanes, rng)

    async def bench(ctx):
        for valid in patterns:
            row = [rng.randrange(1, 1 << width) for _ in range(lanes)]
            ctx.set(dut.i_data, row)
            ctx.set(dut.i_valid, valid)
            kept = [row[i] for i in range(lanes) if valid >> i & 1]
            assert ctx.get(dut.o_count) == len(kept)
            out = [ctx.get(dut.o_data[i]) for i in range(lanes)]
            assert out == kept + [0] * (lanes - len(kept)), (row, bin(valid))

    run_comb(dut, bench)


def test_zero_eliminator_struct_elements():
    """Elements of a struct layout move whole (the top-k filter moves (score, index) pairs)."""
    elem = data.StructLayout({"score": unsigned(5), "index": unsigned(6)})
    lanes = 8
    dut = ZeroEliminator(elem, lanes)

    async def bench(ctx):
        for valid in (0b10110010, 0b00000001, 0b10000000, 0b11111111):
            ctx.set(dut.i_data, [{"score": i + 3, "index": 40 + i} for i in range(lanes)])
            ctx.set(dut.i_valid, valid)
            lanes_kept = [i for i in range(lanes) if valid >> i & 1]
            got = [ctx.get(dut.o_data[j]) for j in range(len(lanes_kept))]
            assert [(g.score, g.index) for g in got] == [(i + 3, 40 + i) for i in lanes_kept]

    run_comb(dut, bench)


@pytest.mark.parametrize("lanes", [1, 4, 16])
def test_zero_eliminator_registered(lanes):
    """``registered=True``: the outputs show, one cycle later, the row of the latest cycle with
    ``en`` high (a row held while ``en`` is low is not lost)."""
    width = 6
    dut = ZeroEliminator(unsigned(width), lanes, registered=True)
    rng = random.Random(7 + lanes)
    rows = [
        ([rng.randrange(1, 1 << width) for _ in range(lanes)], rng.getrandbits(lanes))
        for _ in range(60)
    ]

    def compacted(row, valid):
        kept = [row[i] for i in range(lanes) if valid >> i & 1]
        return kept + [0] * (lanes - len(kept)), len(kept)

    async def bench(ctx):
        expected = compacted([0] * lanes, 0)  # the register's reset state: nothing kept
        for row, valid in rows:
            en = rng.random() < 0.7
            ctx.set(dut.i_data, row)
            ctx.set(dut.i_valid, valid)
            ctx.set(dut.en, en)
            await ctx.tick()
            if en:
                expected = compacted(row, valid)
            out = [ctx.get(dut.o_data[i]) for i in range(lanes)]
            assert (out, ctx.get(dut.o_count)) == expected, (row, bin(valid), en)

    sim = Simulator(dut)
    sim.add_clock(1e-6)
    sim.add_testbench(bench)
    sim.run()


def test_zero_eliminator_registered_must_be_a_bool():
    with pytest.raises(TypeError, match="registered must be a bool, not 1"):
        ZeroEliminator(unsigned(4), 4, registered=1)


def packed_beats(packet_rows: list[list[int]], lanes: int) -> list[tuple[list[int], bool]]:
    """Naive re-packer: the packet's elements in full rows, the last row partial (or empty if the
    whole packet is empty)."""
    elems = [e for row in packet_rows for e in row]
    if not elems:
        return [([], True)]
    chunks = [elems[i : i + lanes] for i in range(0, len(elems), lanes)]
    return [(chunk, i == len(chunks) - 1) for i, chunk in enumerate(chunks)]


@pytest.mark.parametrize("lanes", [1, 2, 4, 8])
@pytest.mark.parametrize("stalls", [False, True], ids=["no-stalls", "gaps-and-backpressure"])
def test_repacker(lanes, stalls):
    dut = Repacker(unsigned(8), lanes)
    rng = random.Random(lanes * 7 + stalls)
    packets = []
    for _ in range(60):
        rows = []
        for _ in range(rng.choice([1, 1, 2, 3, 5, 9])):
            count = rng.choice([0, lanes, rng.randint(0, lanes)])
            rows.append([rng.randrange(256) for _ in range(count)])
        packets.append(rows)
    packets += [[[]], [[1] * lanes], [[2] * lanes, [3] * lanes], [[], [], [4]]]
    expected = [beat for rows in packets for beat in packed_beats(rows, lanes)]
    got = []

    async def source(ctx):
        for rows in packets:
            for i, row in enumerate(rows):
                while stalls and rng.random() < 0.3:
                    await ctx.tick()
                junk = [rng.randrange(256) for _ in range(lanes - len(row))]
                ctx.set(
                    dut.i.payload,
                    {"data": row + junk, "count": len(row), "last": i == len(rows) - 1},
                )
                ctx.set(dut.i.valid, 1)
                await ctx.tick().until(dut.i.ready)
                ctx.set(dut.i.valid, 0)

    async def sink(ctx):
        held = None
        while len(got) < len(expected):
            ready = not (stalls and rng.random() < 0.4)
            ctx.set(dut.o.ready, ready)
            valid, payload = ctx.get(dut.o.valid), ctx.get(dut.o.payload)
            if held is not None:  # stream rule: a beat waits unchanged until it is taken
                assert valid and payload == held
            if valid:
                count = payload.count
                if ready:
                    got.append(([payload.data[i] for i in range(count)], bool(payload.last)))
                held = None if ready else payload
            await ctx.tick()
        for _ in range(4):
            await ctx.tick()
        assert not ctx.get(dut.busy)
        assert not ctx.get(dut.o.valid)

    sim = Simulator(dut)
    sim.add_clock(1e-6)
    sim.add_testbench(source, background=True)
    sim.add_testbench(sink)
    sim.run()
    assert got == expected


@pytest.mark.parametrize(
    ("block", "args", "message"),
    [
        (PrefixSum, (3,), "lanes must be a power of two >= 1, not 3"),
        (PrefixSum, (0,), "lanes must be a power of two >= 1, not 0"),
        (ZeroEliminator, (unsigned(4), 6), "lanes must be a power of two >= 1, not 6"),
        (Repacker, (unsigned(4), -2), "lanes must be a power of two >= 1, not -2"),
        (TopK, (16, 12, 1024), "lanes must be a power of two in 1..64, not 12"),
        (TopK, (0, 16, 1024), "width must be an integer in 1..64, not 0"),
        (TopK, (16, 16, 8), "max_n must be an integer >= 16, not 8"),
    ],
)
def test_bad_parameters(block, args, message):
    with pytest.raises(ValueError) as info:
        block(*args)
    assert str(info.value) == message


@pytest.mark.parametrize(
    ("block", "args", "message"),
    [
        (PrefixSum, (4.0,), "lanes must be an integer, not 4.0"),
        (TopK, (16, 16, 1024.0), "max_n must be an integer, not 1024.0"),
        (TopK, (True, 1, 1), "width must be an integer, not True"),
    ],
)
def test_parameters_of_the_wrong_type(block, args, message):
    with pytest.raises(TypeError) as info:
        block(*args)
    assert str(info.value) == message


def test_topk_signature_matches_contract():
    """Port names, directions and payload layouts exactly as the contract states."""
    dut = TopK(width=10, lanes=8, max_n=200)
    members = dut.signature.members
    assert set(members) == {"k", "i_scores", "o_topk"}
    assert members["k"].flow.name == "In"
    assert Shape.cast(members["k"].shape).width == 8  # range(201)
    inp = members["i_scores"].signature.members["payload"].shape
    out = members["o_topk"].signature.members["payload"].shape
    assert [name for name, _ in inp] == ["data", "count", "last"]
    assert [name for name, _ in out] == ["index", "score", "count", "last"]
    assert inp.size == 8 * 10 + 4 + 1
    assert out.size == 8 * 8 + 8 * 10 + 4 + 1  # index: range(200) -> 8 bits
