"""Quick checks of the whole top-k engine in Amaranth's own simulator.

The cocotb suites (``test_topk_rtl.py``) are the full verification of the generated Verilog on
Icarus and Verilator; these run in seconds on the Amaranth model, for a quick development loop:
outputs against the contract, beat structure, and the latency against the golden cycle model.
"""

from __future__ import annotations

import random

import pytest
import torch
from amaranth.sim import Simulator

from prunesim.golden.topk import QuickSelectEngine, topk_reference
from prunesim.rtl.topk import TopK


def make_frames(rng: random.Random, width: int, max_n: int, count: int):
    top = (1 << width) - 1
    frames = []
    for _ in range(count):
        n = rng.choice([1, max_n, rng.randint(1, max_n)])
        kind = rng.choice(["uniform", "two", "equal", "sorted", "reversed", "max"])
        if kind == "uniform":
            scores = [rng.randint(0, top) for _ in range(n)]
        elif kind == "two":
            scores = [rng.choice([0, top // 2]) for _ in range(n)]
        elif kind == "equal":
            scores = [rng.randint(0, top)] * n
        elif kind == "max":
            scores = [top] * n
        else:
            scores = sorted(rng.randint(0, top) for _ in range(n))
            if kind == "reversed":
                scores.reverse()
        k = rng.choice([0, 1, n, min(n + 1, max_n), rng.randint(0, n)])
        frames.append((scores, k))
    return frames


def simulate(width, lanes, max_n, frames, *, gaps, backpressure, seed):
    """Run frames back to back; return per frame (indices, scores, beat counts, cycles)."""
    dut = TopK(width, lanes, max_n)
    rng = random.Random(seed)
    results = []

    async def source(ctx):
        for scores, k in frames:
            beats = [scores[i : i + lanes] for i in range(0, len(scores), lanes)]
            for number, beat in enumerate(beats):
                while gaps and rng.random() < 0.3:
                    ctx.set(dut.i_scores.valid, 0)
                    await ctx.tick()
                junk = [rng.randint(0, (1 << width) - 1) for _ in range(lanes - len(beat))]
                ctx.set(dut.k, k if number == 0 else rng.randint(0, max_n))
                ctx.set(
                    dut.i_scores.payload,
                    {
                        "data": beat + junk,
                        "count": len(beat),
                        "last": number == len(beats) - 1,
                    },
                )
                ctx.set(dut.i_scores.valid, 1)
                await ctx.tick().until(dut.i_scores.ready)
            ctx.set(dut.i_scores.valid, 0)

    async def sink(ctx):
        cycle, last_input = 0, None
        indices, kept, counts = [], [], []
        while len(results) < len(frames):
            ready = not (backpressure and rng.random() < 0.4)
            ctx.set(dut.o_topk.ready, ready)
            accepted = ctx.get(dut.i_scores.valid) and ctx.get(dut.i_scores.ready)
            if accepted and ctx.get(dut.i_scores.payload.last):
                last_input = cycle
            if ctx.get(dut.o_topk.valid) and ready:
                beat = ctx.get(dut.o_topk.payload)
                counts.append(beat.count)
                indices += [beat.index[i] for i in range(beat.count)]
                kept += [beat.score[i] for i in range(beat.count)]
                if beat.last:
                    results.append((indices, kept, counts, cycle - last_input))
                    indices, kept, counts = [], [], []
            await ctx.tick()
            cycle += 1

    sim = Simulator(dut)
    sim.add_clock(1e-6)
    sim.add_testbench(source, background=True)
    sim.add_testbench(sink)
    sim.run()
    return results


PARAMS = [(8, 1, 16), (3, 4, 64), (10, 8, 200), (16, 16, 256)]


@pytest.mark.parametrize(("width", "lanes", "max_n"), PARAMS)
@pytest.mark.parametrize("stalls", [False, True], ids=["streaming", "gaps-and-backpressure"])
def test_topk_engine_in_amaranth_sim(width, lanes, max_n, stalls):
    frames = make_frames(random.Random(width * lanes), width, max_n, 40)
    results = simulate(width, lanes, max_n, frames, gaps=stalls, backpressure=stalls, seed=3)
    engine = QuickSelectEngine(lanes, max_n, width)
    for (scores, k), (indices, kept, counts, cycles) in zip(frames, results, strict=True):
        ref_idx, ref_val = topk_reference(torch.tensor(scores), k)
        assert indices == ref_idx.tolist() and kept == ref_val.tolist(), (scores, k)
        assert all(c == lanes for c in counts[:-1]) and len(counts) >= 1
        assert counts[-1] > 0 or min(k, len(scores)) == 0
        run = engine.run(torch.tensor(scores), k)
        if not stalls:  # the cycle model holds whenever the output is always ready
            assert cycles == run.cycles, (scores, k)
