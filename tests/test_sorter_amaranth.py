"""The Batcher odd-even merge sorter (:class:`prunesim.rtl.sorter.BatcherSorter`) in Amaranth's
own simulator, against the golden model (:mod:`prunesim.golden.sorter`): outputs against the top-k
contract, beat structure, and the latency against the exact cycle formula. The cocotb suite
(``test_sorter_rtl.py``) runs the generated Verilog on Icarus and Verilator.
"""

from __future__ import annotations

import random

import pytest
import torch
from amaranth.sim import Simulator

from prunesim.golden.sorter import SorterModel, sort_depth, sorter_cycles
from prunesim.golden.topk import topk_reference
from prunesim.rtl.sorter import BatcherSorter, merge_layers, sort_layers


def scores_of(rng: random.Random, kind: str, n: int, width: int) -> list[int]:
    top = (1 << width) - 1
    if kind == "uniform":
        return [rng.randint(0, top) for _ in range(n)]
    if kind == "two":
        return [rng.choice([0, top // 2]) for _ in range(n)]
    if kind == "equal":
        return [rng.randint(0, top)] * n
    if kind == "max":
        return [top] * n
    if kind == "zero":
        return [0] * n
    ascending = sorted(rng.randint(0, top) for _ in range(n))
    return ascending if kind == "sorted" else ascending[::-1]


KINDS = ["uniform", "two", "equal", "max", "zero", "sorted", "reversed"]


def random_frames(rng: random.Random, width: int, max_n: int, count: int):
    frames = []
    for _ in range(count):
        n = rng.choice([1, max_n, rng.randint(1, max_n)])
        k = rng.choice([0, 1, n, min(n + 1, max_n), max_n, rng.randint(0, n)])
        frames.append((scores_of(rng, rng.choice(KINDS), n, width), k))
    return frames


def adversarial_frames(rng: random.Random, width: int, lanes: int, max_n: int):
    """Every score kind at n = 1, lanes, lanes + 1, max_n - 1, max_n with k = 0, 1, n, max_n."""
    frames = []
    for n in sorted({m for m in (1, lanes, lanes + 1, max_n - 1, max_n) if 1 <= m <= max_n}):
        for kind in KINDS:
            for k in sorted({0, 1, n, max_n}):
                frames.append((scores_of(rng, kind, n, width), k))
    return frames


def simulate(width, lanes, max_n, frames, *, gaps, backpressure, seed):
    """Run frames back to back; return per frame (indices, scores, beat counts, cycles)."""
    dut = BatcherSorter(width, lanes, max_n)
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
                payload = {
                    "data": beat + junk,
                    "count": len(beat),
                    "last": number == len(beats) - 1,
                }
                ctx.set(dut.i_scores.payload, payload)
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


def check(width, lanes, max_n, frames, results, exact_cycles):
    model = SorterModel(lanes, max_n, width)
    for (scores, k), (indices, kept, counts, cycles) in zip(frames, results, strict=True):
        ref_idx, ref_val = topk_reference(torch.tensor(scores), k)
        assert indices == ref_idx.tolist() and kept == ref_val.tolist(), (scores, k)
        assert all(c == lanes for c in counts[:-1]) and len(counts) >= 1
        assert counts[-1] > 0 or min(k, len(scores)) == 0
        run = model.run(torch.tensor(scores), k)
        assert run.indices.tolist() == indices
        if exact_cycles:  # the cycle formula holds whenever the output is always ready
            assert cycles == run.cycles, (len(scores), k, scores)


#: (width, lanes, max_n): one lane; 3-bit scores (ties everywhere) and n not a power of two of
#: rows; max_n not a multiple of lanes; 16 lanes.
PARAMS = [(8, 1, 16), (3, 4, 44), (10, 8, 200), (16, 16, 256)]


@pytest.mark.parametrize(("width", "lanes", "max_n"), PARAMS)
@pytest.mark.parametrize("stalls", [False, True], ids=["streaming", "gaps-and-backpressure"])
def test_sorter_random_frames(width, lanes, max_n, stalls):
    frames = random_frames(random.Random(width * lanes + max_n), width, max_n, 30)
    results = simulate(width, lanes, max_n, frames, gaps=stalls, backpressure=stalls, seed=5)
    check(width, lanes, max_n, frames, results, exact_cycles=not stalls)


@pytest.mark.parametrize(("width", "lanes", "max_n"), PARAMS[:3])
def test_sorter_adversarial_frames(width, lanes, max_n):
    frames = adversarial_frames(random.Random(7), width, lanes, max_n)
    results = simulate(width, lanes, max_n, frames, gaps=False, backpressure=False, seed=1)
    check(width, lanes, max_n, frames, results, exact_cycles=True)


# ---- The networks, the comparator counts and the cycle formula ----


def apply_network(layers, values):
    values = list(values)
    for layer in layers:
        touched = [p for pair in layer for p in pair]
        assert len(touched) == len(set(touched))  # a layer's comparators are disjoint
        for i, j in layer:
            assert i < j
            if values[j] > values[i]:
                values[i], values[j] = values[j], values[i]
    return values


@pytest.mark.parametrize("lanes", [1, 2, 4, 8, 16, 32])
def test_networks_sort_and_merge(lanes):
    """0-1 principle for the sort network (all 0/1 inputs up to 8 lanes), random otherwise."""
    rng = random.Random(lanes)
    layers = sort_layers(lanes)
    assert len(layers) == sort_depth(lanes)
    inputs = (
        [[(x >> b) & 1 for b in range(lanes)] for x in range(1 << lanes)]
        if lanes <= 8
        else [[rng.randint(0, 3) for _ in range(lanes)] for _ in range(2000)]
    )
    for values in inputs:
        assert apply_network(layers, values) == sorted(values, reverse=True)
    merge = merge_layers(2 * lanes)
    assert len(merge) == (2 * lanes).bit_length() - 1
    for _ in range(500):
        a = sorted((rng.randint(0, 5) for _ in range(lanes)), reverse=True)
        b = sorted((rng.randint(0, 5) for _ in range(lanes)), reverse=True)
        assert apply_network(merge, a + b) == sorted(a + b, reverse=True)


@pytest.mark.parametrize("lanes", [1, 2, 4, 8, 16, 32])
def test_comparator_counts_are_the_documented_formulas(lanes):
    p = lanes.bit_length() - 1
    counts = BatcherSorter(8, lanes, 64).comparators
    assert counts["sort"] == (0 if p == 0 else (p * p - p + 4) * 2 ** (p - 2) - 1)
    assert counts["merge"] == lanes * p + 1
    assert counts["choose"] == 1 and counts["filter"] == lanes
    if lanes == 16:
        assert sum(counts.values()) == 145


def test_cycle_formula():
    assert sorter_cycles(1024, 16) == 5 + 10 + 64 + 6 * (64 + 1) == 469
    assert sorter_cycles(1024, 16, overflow=True) == 470
    assert sorter_cycles(16, 16) == 5 + 10 + 1  # one row: no merge pass
    assert sorter_cycles(5, 1) == 5 + 0 + 5 + 3 * (5 + 1)
    with pytest.raises(ValueError, match="lanes must be a power of two"):
        sorter_cycles(16, 3)
    with pytest.raises(ValueError, match="n must be an integer >= 1"):
        sorter_cycles(0, 4)


def test_golden_model_is_the_topk_contract():
    rng = random.Random(11)
    model = SorterModel(4, 64, 3)
    for _ in range(200):
        n = rng.randint(1, 64)
        scores = torch.tensor([rng.randint(0, 7) for _ in range(n)])
        k = rng.randint(0, 64)
        run = model.run(scores, k)
        ref_idx, ref_val = topk_reference(scores, k)
        assert run.indices.tolist() == ref_idx.tolist() and run.scores.tolist() == ref_val.tolist()
        assert (run.threshold is None) == (k == 0)
    with pytest.raises(ValueError, match="frame length must be in 1..64"):
        model.run(torch.zeros(65, dtype=torch.int64), 1)
    with pytest.raises(ValueError, match="scores must be unsigned 3-bit"):
        model.run(torch.tensor([8]), 1)


@pytest.mark.parametrize(
    ("params", "pattern"),
    [
        ({"lanes": 64}, r"^lanes must be a power of two in 1\.\.32, not 64$"),
        ({"lanes": 16, "max_n": 8}, r"^max_n must be an integer >= 16, not 8$"),
        ({"width": 64, "lanes": 32}, r"^lanes \* width must be <= 1024 .*, not 2048 "),
        ({"width": 64, "max_n": 16384}, r"^max_n \* \(width \+ bits\(max_n - 1\)\) must be"),
        ({"width": "8"}, r"^width must be an integer, not '8'$"),
    ],
)
def test_parameter_checks(params, pattern):
    error = TypeError if params.get("width") == "8" else ValueError
    with pytest.raises(error, match=pattern):
        BatcherSorter(**params)
