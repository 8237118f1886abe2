"""Tests of the top-k golden models against naive definitions."""

from __future__ import annotations

import random
import statistics

import pytest
import torch

from prunesim.golden.topk import (
    PIVOT_SEED,
    QuickSelectEngine,
    pivot_position,
    topk_mask,
    topk_reference,
    xorshift16,
)


def naive_topk(scores: list[int], k: int) -> list[int]:
    """Indices of the k largest (ties to the lower index), ascending."""
    ranked = sorted(range(len(scores)), key=lambda i: (-scores[i], i))
    return sorted(ranked[:k])


def random_frame(rng: random.Random, max_n: int, width: int) -> tuple[list[int], int]:
    n = rng.randint(1, max_n)
    top = (1 << width) - 1
    kind = rng.choice(["uniform", "few", "equal", "sorted", "reversed"])
    if kind == "uniform":
        scores = [rng.randint(0, top) for _ in range(n)]
    elif kind == "few":
        values = [rng.randint(0, top) for _ in range(2)]
        scores = [rng.choice(values) for _ in range(n)]
    elif kind == "equal":
        scores = [rng.randint(0, top)] * n
    else:
        scores = sorted(rng.randint(0, top) for _ in range(n))
        if kind == "reversed":
            scores.reverse()
    k = rng.choice([0, 1, n, n + 1, rng.randint(0, n)])
    return scores, min(k, max_n)


def test_xorshift16_visits_every_nonzero_state():
    state, seen = PIVOT_SEED, set()
    for _ in range(65535):
        state = xorshift16(state)
        assert 0 < state < 1 << 16
        seen.add(state)
    assert len(seen) == 65535 and state == PIVOT_SEED


def test_pivot_position_is_in_range_and_spread():
    for m in (1, 2, 3, 16, 1000, 1024):
        assert pivot_position(0, m) == 0
        assert pivot_position(0xFFFF, m) == m - 1
    hits = [0] * 10
    state = PIVOT_SEED
    for _ in range(10000):
        state = xorshift16(state)
        hits[pivot_position(state, 10)] += 1
    assert min(hits) > 900  # each of 10 positions drawn about 1000 times


def test_reference_matches_naive_definition():
    rng = random.Random(1)
    for _ in range(500):
        scores, k = random_frame(rng, 70, rng.choice([1, 3, 16]))
        indices, kept = topk_reference(torch.tensor(scores), k)
        assert indices.tolist() == naive_topk(scores, k)
        assert kept.tolist() == [scores[i] for i in indices.tolist()]


def test_reference_edges():
    idx, val = topk_reference(torch.tensor([7, 7, 7, 7]), 2)
    assert idx.tolist() == [0, 1] and val.tolist() == [7, 7]
    idx, _ = topk_reference(torch.tensor([1, 9, 3]), 0)
    assert idx.tolist() == []
    idx, _ = topk_reference(torch.tensor([1, 9, 3]), 10)
    assert idx.tolist() == [0, 1, 2]
    idx, _ = topk_reference(torch.tensor([5, 1, 5, 9]), 2)
    assert idx.tolist() == [0, 3]


def test_mask_is_batched_reference():
    scores = torch.randint(0, 4, (3, 5, 33), generator=torch.Generator().manual_seed(3))
    for k in (0, 1, 7, 33, 40):
        mask = topk_mask(scores, k)
        assert mask.shape == scores.shape
        for head in range(3):
            for query in range(5):
                row = scores[head, query].tolist()
                assert torch.nonzero(mask[head, query]).flatten().tolist() == naive_topk(row, k)


@pytest.mark.parametrize("bad", [torch.tensor([1.0, 2.0]), torch.tensor([True])])
def test_reference_rejects_non_integer_scores(bad):
    with pytest.raises(TypeError, match="integer tensor"):
        topk_reference(bad, 1)


@pytest.mark.parametrize(("lanes", "max_n", "width"), [(1, 16, 8), (4, 64, 3), (16, 1024, 16)])
def test_engine_output_is_the_contract(lanes, max_n, width):
    rng = random.Random(lanes + max_n)
    engine = QuickSelectEngine(lanes, max_n, width)
    for _ in range(300):
        scores, k = random_frame(rng, max_n, width)
        run = engine.run(torch.tensor(scores), k)
        ref_idx, ref_val = topk_reference(torch.tensor(scores), k)
        assert torch.equal(run.indices, ref_idx) and torch.equal(run.scores, ref_val)
        assert run.rounds == len(run.pivots) == len(run.round_sizes) >= 1
        assert run.round_sizes[0] == len(scores)
        # Every later round works on a strictly smaller set drawn from the previous one.
        assert all(b < a for a, b in zip(run.round_sizes, run.round_sizes[1:], strict=False))
        # The first pivot comes from the first beat.
        assert run.pivots[0] in scores[:lanes]


def test_engine_state_carries_over_and_resets():
    frames = [([5, 1, 4, 1, 5, 9, 2, 6, 5, 3, 5], 4), ([3] * 9 + [8, 1], 5), ([9, 8, 7, 6], 2)]
    engine = QuickSelectEngine(4, 16, 4)
    first = [engine.run(torch.tensor(s), k).pivots for s, k in frames]
    second = [engine.run(torch.tensor(s), k).pivots for s, k in frames]
    engine.reset()
    again = [engine.run(torch.tensor(s), k).pivots for s, k in frames]
    assert again == first
    assert engine.state != PIVOT_SEED
    # The state moved on, so the same frames see other pivots (checked on the one that differs).
    assert second != first


def test_engine_work_is_linear_in_n():
    """Random pivots: a median search streams about 3.4 n elements in all (2 + 2 ln 2)."""
    rng = random.Random(5)
    engine = QuickSelectEngine(16, 1024, 16)
    streamed = []
    for _ in range(200):
        scores = [rng.randrange(1 << 16) for _ in range(1024)]
        streamed.append(sum(engine.run(torch.tensor(scores), 512).round_sizes))
    assert 3.0 * 1024 < statistics.mean(streamed) < 3.8 * 1024


@pytest.mark.parametrize(
    ("args", "message"),
    [
        ((3, 16, 8), "lanes must be a power of two"),
        ((4, 2, 8), "max_n must be an integer >= lanes"),
        ((4, 16, 0), "width must be an integer >= 1"),
    ],
)
def test_engine_rejects_bad_parameters(args, message):
    with pytest.raises(ValueError, match=message):
        QuickSelectEngine(*args)


def test_engine_rejects_bad_frames():
    engine = QuickSelectEngine(4, 8, 3)
    with pytest.raises(ValueError, match="frame length"):
        engine.run(torch.tensor([1] * 9), 1)
    with pytest.raises(ValueError, match="unsigned 3-bit"):
        engine.run(torch.tensor([8]), 1)
    with pytest.raises(ValueError, match="k must be in 0..8"):
        engine.run(torch.tensor([1]), 9)
