"""Unit tests of the progressive-quantization datapath's sub-blocks in Amaranth's simulator:
the dot product, the exponential unit (against the golden model) and the reciprocal."""

from __future__ import annotations

import random

import pytest
import torch
from amaranth.hdl import signed, unsigned
from amaranth.sim import Simulator

from prunesim.golden.pq import PQParams, fixed_exp
from prunesim.rtl.dot_product import DotProduct
from prunesim.rtl.fixed_exp import ExpUnit
from prunesim.rtl.reciprocal import Reciprocal


def run_clocked(dut, bench):
    sim = Simulator(dut)
    sim.add_clock(1e-6)
    sim.add_testbench(bench)
    sim.run()


@pytest.mark.parametrize(
    ("d", "a_shape", "b_shape"),
    [
        (1, signed(4), signed(4)),
        (5, signed(12), signed(8)),
        (16, signed(12), signed(5)),
        (64, signed(12), unsigned(4)),
    ],
)
def test_dot_product(d, a_shape, b_shape):
    dut = DotProduct(d, a_shape, b_shape)
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

    async def bench(ctx):
        outputs = []
        for step in range(len(pairs) + 2):
            if step < len(pairs):
                ctx.set(dut.i_a, pairs[step][0])
                ctx.set(dut.i_b, pairs[step][1])
            ctx.set(dut.i_valid, step < len(pairs))
            if ctx.get(dut.o_valid):
                outputs.append(ctx.get(dut.o_sum))
            await ctx.tick()
        assert outputs == [sum(x * y for x, y in zip(a, b, strict=True)) for a, b in pairs]
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
