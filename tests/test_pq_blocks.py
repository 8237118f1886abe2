"""Unit tests of the progressive-quantization datapath's sub-blocks in Amaranth's simulator:
the dot product, the exponential unit (against the golden model), the reciprocal and the
pipelined multiplier and adder tree."""

from __future__ import annotations

import random

import pytest
import torch
from amaranth.hdl import Module, Signal, signed, unsigned
from amaranth.sim import Simulator

from prunesim.golden.pq import PQParams, fixed_exp
from prunesim.rtl.dot_product import DotProduct
from prunesim.rtl.fixed_exp import ExpUnit
from prunesim.rtl.multiplier import Multiplier, adder_tree
from prunesim.rtl.reciprocal import Reciprocal


def run_clocked(dut, bench):
    sim = Simulator(dut)
    sim.add_clock(1e-6)
    sim.add_testbench(bench)
    sim.run()


@pytest.mark.parametrize(
    ("d", "a_shape", "b_shape", "tree_stages"),
    [
        (1, signed(4), signed(4), 1),
        (1, signed(4), signed(4), 3),
        (5, signed(12), signed(8), 1),
        (5, signed(12), signed(8), 2),
        (16, signed(12), signed(5), 3),
        (64, signed(12), unsigned(4), 1),
        (64, signed(12), signed(9), 3),
        (64, signed(12), signed(9), 7),
    ],
)
def test_dot_product(d, a_shape, b_shape, tree_stages):
    """Exact sums, each ``latency = 1 + tree_stages`` cycles after its pair, whatever ``d``."""
    dut = DotProduct(d, a_shape, b_shape, tree_stages)
    assert dut.latency == 1 + tree_stages
    rng = random.Random(d)

    def value(shape, extreme=None):
        lo = -(1 << (shape.width - 1)) if shape.signed else 0
        hi = (1 << (shape.width - 1)) - 1 if shape.signed else (1 << shape.width) - 1
        return {"lo": lo, "hi": hi}.get(extreme) if extreme else rng.randint(lo, hi)

    pairs = [
        ([value(a_shape, "lo")] * d, [value(b_shape, "lo")] * d),
        ([value(a_shape, "lo")] * d, [value(b_shape, "hi")] * d),
    ]
    pairs += [
        ([value(a_shape) for _ in range(d)], [value(b_shape) for _ in range(d)]) for _ in range(50)
    ]

    # Pairs in every other cycle too, so that a wrong latency cannot go unseen.
    given = []
    while sum(given) < len(pairs):
        given.append(len(given) % 3 != 1)

    async def bench(ctx):
        outputs, sent = [], []
        for step in range(len(given) + dut.latency + 1):
            valid = step < len(given) and given[step]
            if valid:
                ctx.set(dut.i_a, pairs[len(sent)][0])
                ctx.set(dut.i_b, pairs[len(sent)][1])
                sent.append(step)
            ctx.set(dut.i_valid, valid)
            if ctx.get(dut.o_valid):
                outputs.append((step, ctx.get(dut.o_sum)))
            elif step and sent and sent[0] < step <= sent[-1] + dut.latency:
                assert ctx.get(dut.busy), step
            await ctx.tick()
        expected = [sum(x * y for x, y in zip(a, b, strict=True)) for a, b in pairs]
        assert outputs == [(t + dut.latency, e) for t, e in zip(sent, expected, strict=True)]
        assert not ctx.get(dut.busy)

    run_clocked(dut, bench)


@pytest.mark.parametrize(
    ("prob_bits", "max_n", "scale_shift"), [(12, 1024, 32), (8, 64, 4), (2, 4, 0), (16, 2048, 20)]
)
def test_exp_unit_is_the_golden_exponential(prob_bits, max_n, scale_shift):
    params = PQParams(
        d=4,
        q_bits=12,
        msb_bits=8,
        lsb_bits=4,
        prob_bits=prob_bits,
        max_n=max_n,
        scale_shift=scale_shift,
    )
    params.validate()
    v_width = params.SB + 16
    dut = ExpUnit(params, v_width)
    rng = random.Random(prob_bits)
    # Scores one apart and a scale of 1 give v = 0, 1, 2, ...; larger ones sweep the whole range.
    cases = [0, 1, 2, 3, params.V_SAT - 1, params.V_SAT, params.V_SAT + 1, (1 << v_width) - 1]
    cases += [rng.randrange(params.V_SAT) for _ in range(200)]
    cases += [rng.randrange(1 << rng.randint(1, v_width)) for _ in range(100)]
    # fixed_exp works on scores; v = (s_max - s) * scale with scale = 1, s_max = 0.
    expected = fixed_exp(torch.tensor([[0] + [-v for v in cases]]), torch.tensor([1]), params)
    expected = expected[0, 1:].tolist()

    async def bench(ctx):
        got, given = [], 0
        while given < len(cases) or ctx.get(dut.busy):
            advance = rng.random() >= 0.2  # en low holds the whole pipeline
            valid = given < len(cases)
            ctx.set(dut.en, advance)
            ctx.set(dut.i_valid, valid)
            if valid:
                ctx.set(dut.i_v, cases[given])
            if advance and ctx.get(dut.o_valid):
                got.append(ctx.get(dut.o_exp))
            await ctx.tick()
            given += advance and valid
        assert got == expected

    run_clocked(dut, bench)


@pytest.mark.parametrize(
    ("k", "bits", "min_log2"), [(52, 27, 26), (10, 6, 3), (8, 9, 8), (0, 1, 0)]
)
def test_reciprocal(k, bits, min_log2):
    dut = Reciprocal(k, bits, min_log2)
    rng = random.Random(k)
    lo, hi = 1 << min_log2, (1 << bits) - 1
    divisors = [lo, hi, min(lo + 1, hi)] + [rng.randint(lo, hi) for _ in range(40)]

    async def bench(ctx):
        for divisor in divisors:
            ctx.set(dut.divisor, divisor)
            ctx.set(dut.start, 1)
            await ctx.tick()
            ctx.set(dut.start, 0)
            cycles = 0
            while ctx.get(dut.busy):
                await ctx.tick()
                cycles += 1
            assert cycles == dut.cycles
            assert ctx.get(dut.quotient) == (1 << k) // divisor, divisor

    run_clocked(dut, bench)


def test_reciprocal_rejects_bad_parameters():
    with pytest.raises(ValueError, match="divisor_min_log2 must be <= numerator_log2"):
        Reciprocal(4, 8, 5)
    with pytest.raises(ValueError, match="divisor_bits must be an integer >= 1"):
        Reciprocal(4, 0, 1)


@pytest.mark.parametrize(
    ("a_width", "b_width", "stages", "chunk"),
    [(1, 1, 2, 18), (31, 16, 2, 18), (37, 25, 3, 18), (27, 27, 3, 18), (13, 9, 4, 4)],
)
def test_multiplier(a_width, b_width, stages, chunk):
    """Exact products, ``stages`` advances after their operands; ``en`` low holds everything."""
    dut = Multiplier(a_width, b_width, stages, chunk)
    rng = random.Random(a_width * 100 + b_width)
    top_a, top_b = (1 << a_width) - 1, (1 << b_width) - 1
    cases = [(0, 0), (top_a, top_b), (top_a, 1), (1, top_b)]
    cases += [(rng.randint(0, top_a), rng.randint(0, top_b)) for _ in range(60)]

    async def bench(ctx):
        given, got = [], []
        while len(got) < len(cases):
            advance = rng.random() >= 0.25
            ctx.set(dut.en, advance)
            if len(given) < len(cases):
                ctx.set(dut.i_a, cases[len(given)][0])
                ctx.set(dut.i_b, cases[len(given)][1])
            await ctx.tick()
            if advance:
                given.append(len(given))
                if len(given) >= stages:  # the product of the operands given `stages` advances ago
                    got.append(ctx.get(dut.o_p))
        assert got == [a * b for a, b in cases]

    run_clocked(dut, bench)


@pytest.mark.parametrize(("count", "stages"), [(1, 1), (1, 3), (2, 1), (7, 2), (64, 3), (65, 3)])
def test_adder_tree(count, stages):
    """The sum comes out exactly ``stages`` cycles after its terms, for any number of terms."""
    m = Module()
    terms = [Signal(signed(9), name=f"t{i}") for i in range(count)]
    total = adder_tree(m, terms, stages, "tree")
    rng = random.Random(count)
    rows = [[rng.randint(-256, 255) for _ in range(count)] for _ in range(20)]

    async def bench(ctx):
        sums = []
        for step in range(len(rows) + stages):
            if step < len(rows):
                for term, value in zip(terms, rows[step], strict=True):
                    ctx.set(term, value)
            await ctx.tick()
            if step + 1 >= stages:
                sums.append(ctx.get(total))
        assert sums[: len(rows)] == [sum(row) for row in rows]

    run_clocked(m, bench)


def test_pipelined_blocks_reject_bad_parameters():
    with pytest.raises(ValueError, match="tree_stages must be an integer >= 1"):
        DotProduct(4, signed(4), signed(4), 0)
    with pytest.raises(ValueError, match="stages must be an integer >= 2"):
        Multiplier(4, 4, 1)
    with pytest.raises(ValueError, match="stages must be an integer >= 1"):
        adder_tree(Module(), [Signal(4)], 0, "tree")
