"""Quick checks of the whole progressive-quantization datapath in Amaranth's own simulator.

The cocotb suites (``test_pq_rtl.py``) verify the generated Verilog on Icarus and Verilator; these
run the Amaranth model in seconds: decisions and probabilities against the bit-exact golden model,
with and without input gaps and output backpressure, and the cycle formula of
:meth:`~prunesim.rtl.pq.ProgressiveAttention.frame_cycles` when nothing stalls.
"""

from __future__ import annotations

import random

import pytest
import torch
from amaranth.sim import Simulator

from prunesim.golden.pq import attend
from prunesim.rtl.pq import ProgressiveAttention


def make_frames(rng: random.Random, params, count: int):
    d, qb, mb, lb, pb = params.d, params.q_bits, params.msb_bits, params.lsb_bits, params.prob_bits
    q_lo, q_hi = -(1 << (qb - 1)), (1 << (qb - 1)) - 1
    m_lo, m_hi = -(1 << (mb - 1)), (1 << (mb - 1)) - 1
    frames = []
    for _ in range(count):
        n = rng.choice([1, params.max_n, rng.randint(1, params.max_n)])
        kind = rng.choice(["random", "flat", "peaked", "extreme"])
        q = [rng.randint(q_lo, q_hi) for _ in range(d)]
        msb = [[rng.randint(m_lo, m_hi) for _ in range(d)] for _ in range(n)]
        if kind == "flat":
            msb = [msb[0]] * n
        elif kind == "peaked":
            q = [q_hi] * d
            msb = [[m_lo] * d for _ in range(n)]
            msb[rng.randrange(n)] = [m_hi] * d
        elif kind == "extreme":
            q = [q_lo] * d
            msb = [[m_lo] * d for _ in range(n)]
        lsb = [[rng.randint(0, (1 << lb) - 1) for _ in range(d)] for _ in range(n)]
        scale = rng.choice([0, 1, 65535, rng.randint(0, 65535)])
        threshold = rng.choice([0, (1 << pb) - 1, rng.randint(0, (1 << pb) - 1)])
        frames.append((q, msb, lsb, threshold, scale))
    return frames


def simulate(dut, frames, *, stalls, seed):
    """Run frames back to back; per frame (need_lsb, probs, cycles from query to last prob)."""
    rng = random.Random(seed)
    results = []
    decisions = []

    def gap():
        return stalls and rng.random() < 0.3

    async def send(ctx, port, payload):
        while gap():
            await ctx.tick()
        ctx.set(port.payload, payload)
        ctx.set(port.valid, 1)
        await ctx.tick().until(port.ready)
        ctx.set(port.valid, 0)

    async def source(ctx):
        for q, msb, lsb, threshold, scale in frames:
            ctx.set(dut.threshold, threshold)
            ctx.set(dut.scale, scale)
            await send(ctx, dut.i_query, q)
            ctx.set(dut.threshold, rng.randrange(1 << dut.params.prob_bits))
            ctx.set(dut.scale, rng.randrange(1 << 16))
            for i, key in enumerate(msb):
                await send(ctx, dut.i_key_msb, {"data": key, "last": i == len(msb) - 1})
            while not ctx.get(dut.o_decision.valid):  # the LSBs follow the decision at once
                await ctx.tick()
            if ctx.get(dut.o_decision.payload.need_lsb):
                for i, key in enumerate(lsb):
                    await send(ctx, dut.i_key_lsb, {"data": key, "last": i == len(lsb) - 1})

    async def sink(ctx):
        cycle, start, probs = 0, None, []
        while len(results) < len(frames):
            decision_ready = not gap()
            prob_ready = not gap()
            ctx.set(dut.o_decision.ready, decision_ready)
            ctx.set(dut.o_prob.ready, prob_ready)
            if ctx.get(dut.i_query.valid) and ctx.get(dut.i_query.ready):
                start = cycle
            if ctx.get(dut.o_decision.valid) and decision_ready:
                decisions.append(bool(ctx.get(dut.o_decision.payload.need_lsb)))
            if ctx.get(dut.o_prob.valid) and prob_ready:
                beat = ctx.get(dut.o_prob.payload)
                probs.append(beat.prob)
                if beat.last:
                    results.append((decisions[len(results)], probs, cycle - start))
                    probs = []
            await ctx.tick()
            cycle += 1

    sim = Simulator(dut)
    sim.add_clock(1e-6)
    sim.add_testbench(source, background=True)
    sim.add_testbench(sink)
    sim.run()
    return results


PARAMS = [
    dict(d=4, msb_bits=4, lsb_bits=4, max_n=16, scale_shift=8),
    dict(d=16, msb_bits=6, lsb_bits=4, max_n=64, scale_shift=12),
    dict(d=8, msb_bits=8, lsb_bits=4, max_n=32, scale_shift=16, prob_bits=8),
    dict(d=1, q_bits=2, msb_bits=2, lsb_bits=1, prob_bits=2, max_n=4, scale_shift=0),
]


@pytest.mark.parametrize("kwargs", PARAMS, ids=lambda kw: "-".join(f"{v}" for v in kw.values()))
@pytest.mark.parametrize("stalls", [False, True], ids=["streaming", "gaps-and-backpressure"])
def test_pq_datapath_in_amaranth_sim(kwargs, stalls):
    dut = ProgressiveAttention(**kwargs)
    frames = make_frames(random.Random(len(kwargs) + kwargs["d"]), dut.params, 30)
    results = simulate(dut, frames, stalls=stalls, seed=7)
    needed = 0
    for (q, msb, lsb, threshold, scale), (need_lsb, probs, cycles) in zip(
        frames, results, strict=True
    ):
        ref = attend(
            torch.tensor(q),
            torch.tensor(msb),
            torch.tensor(lsb),
            torch.tensor(threshold),
            torch.tensor(scale),
            dut.params,
        )
        assert need_lsb == bool(ref.need_lsb), (q, msb, threshold, scale)
        assert probs == ref.probs.tolist(), (q, msb, threshold, scale)
        if not stalls:
            assert cycles == dut.frame_cycles(len(msb), need_lsb)
        needed += need_lsb
    assert 0 < needed < len(frames)  # both outcomes were exercised
