"""Tests of the block latency models :mod:`prunesim.sim.blocks` against the RTL components' own
formulas and the golden models (fast; the Verilator comparison is ``test_sim_blocks_rtl.py``)."""

from __future__ import annotations

import itertools
import math

import numpy as np
import pytest
import torch

from prunesim.golden.topk import QuickSelectEngine
from prunesim.sim.blocks import _harmonic, _log_factorial, pq_cycles, topk_cycles

# ---- Progressive-quantization datapath -----------------------------------------------------------


@pytest.mark.parametrize(
    "prob_bits, max_n", [(12, 1024), (2, 4), (8, 48), (12, 1), (16, 2048), (3, 3), (10, 200)]
)
def test_pq_cycles_equals_frame_cycles(prob_bits: int, max_n: int) -> None:
    from prunesim.rtl.pq import ProgressiveAttention

    # d and the key widths do not change the timing; they only need to be valid.
    dut = ProgressiveAttention(prob_bits=prob_bits, max_n=max_n)
    ns = np.unique(np.r_[1, 2, 3, np.linspace(1, max_n, 40).round().astype(int), max_n])
    ns = ns[ns <= max_n]
    for need in (False, True):
        expected = [dut.frame_cycles(int(n), need) for n in ns]
        got = pq_cycles(ns, need, prob_bits=prob_bits, max_n=max_n)
        assert got.dtype == np.float64
        assert got.tolist() == expected
    # Bool arrays broadcast against n.
    mixed = pq_cycles(ns[:, None], np.array([False, True]), prob_bits=prob_bits, max_n=max_n)
    assert mixed.shape == (len(ns), 2)
    assert mixed[:, 1].tolist() == [dut.frame_cycles(int(n), True) for n in ns]


def test_pq_cycles_defaults() -> None:
    assert pq_cycles(64, False) == 3 * 64 + 69
    assert pq_cycles(1024, True) == 5 * 1024 + 90
    assert pq_cycles(1, True).shape == ()


def test_pq_cycles_fraction_is_the_expectation() -> None:
    n = np.array([1, 7, 64, 1000])
    without, with_lsb = pq_cycles(n, False), pq_cycles(n, True)
    for f in (0.0, 0.059, 0.5, 1.0):
        np.testing.assert_allclose(pq_cycles(n, f), (1 - f) * without + f * with_lsb)
    np.testing.assert_allclose(
        pq_cycles(n, [0.0, 0.25, 0.5, 1.0]),
        without + np.array([0, 0.25, 0.5, 1]) * (with_lsb - without),
    )


@pytest.mark.parametrize("kpc", [1, 2, 3, 8, 64])
def test_pq_cycles_keys_per_cycle(kpc: int) -> None:
    # Each pass takes ceil(n / keys_per_cycle) cycles; the pipeline constants stay.
    n = np.arange(1, 1025)
    for need in (False, True):
        np.testing.assert_array_equal(
            pq_cycles(n, need, keys_per_cycle=kpc), pq_cycles(np.ceil(n / kpc), need)
        )
    assert (np.diff(pq_cycles(n, 0.3, keys_per_cycle=kpc)) >= 0).all()


@pytest.mark.parametrize(
    "args, kwargs, match",
    [
        ((0, False), {}, "n must be integers >= 1, not 0"),
        ((2.5, False), {}, "n must be integers >= 1, not 2.5"),
        (([4, np.nan], False), {}, "n must be integers >= 1, not nan"),
        (("64", False), {}, "n must be integers"),
        ((1025, False), {}, r"n must be <= max_n \(1024\), not 1025"),
        ((64, 1.5), {}, r"need_lsb must be booleans or fractions in \[0, 1\], not 1.5"),
        ((64, -0.1), {}, "not -0.1"),
        ((64, np.nan), {}, "not nan"),
        ((64, "yes"), {}, "need_lsb must be booleans"),
        ((64, False), {"keys_per_cycle": 0}, "keys_per_cycle must be an integer >= 1, not 0"),
        ((64, False), {"keys_per_cycle": 2.0}, "keys_per_cycle must be an integer >= 1"),
        ((64, False), {"prob_bits": 1}, "prob_bits must be an integer >= 2, not 1"),
        ((64, False), {"prob_bits": 17}, r"prob_bits must be an integer in 2..16, not 17"),
        ((1, False), {"max_n": 0}, "max_n must be an integer >= 1, not 0"),
        ((64, False), {"prob_bits": 16, "max_n": 4096}, "prob_bits \\+ LOGN must be <= 27"),
    ],
)
def test_pq_cycles_rejects(args: tuple, kwargs: dict, match: str) -> None:
    with pytest.raises(ValueError, match=match):
        pq_cycles(*args, **kwargs)


# ---- Top-k engine: special functions -------------------------------------------------------------


def test_special_functions() -> None:
    x = np.arange(0, 3000, dtype=np.float64)
    harmonic = np.r_[0.0, np.cumsum(1.0 / np.arange(1, 3000))]
    np.testing.assert_allclose(_harmonic(x), harmonic, rtol=0, atol=1e-10)
    np.testing.assert_allclose(
        _log_factorial(x), [math.lgamma(v + 1) for v in x], rtol=1e-13, atol=1e-10
    )


# ---- Top-k engine: exact cases ---------------------------------------------------------------


def _engine_mean(n: int, k: int, lanes: int, frames: int, seed: int) -> float:
    """Mean golden-model cycles over ``frames`` frames of uniform random 16-bit scores."""
    engine = QuickSelectEngine(lanes, max(n, lanes), 16)
    gen = torch.Generator().manual_seed(seed)
    total = 0
    for _ in range(frames):
        total += engine.run(torch.randint(0, 1 << 16, (n,), generator=gen), k).cycles
    return total / frames


@pytest.mark.parametrize("lanes, n_max", [(1, 2), (2, 3), (4, 5), (8, 6), (16, 6)])
def test_topk_exact_over_all_orderings(lanes: int, n_max: int) -> None:
    """For ``n <= lanes + 1`` nothing in the model is approximate (no round can overflow, every
    later round's rounding is summed exactly): it equals the mean over all ``n!`` orderings of
    distinct scores, over which every pivot's rank is exactly uniform."""
    for n in range(1, n_max + 1):
        orderings = [torch.tensor(p) for p in itertools.permutations(range(n))]
        for k in range(0, n + 2):
            engine = QuickSelectEngine(lanes, max(n, lanes, k), 16)
            cycles = []
            for scores in orderings:
                engine.reset()
                cycles.append(engine.run(scores, k).cycles)
            assert topk_cycles(n, k, lanes) == pytest.approx(sum(cycles) / len(cycles), abs=1e-9)


@pytest.mark.parametrize("lanes", [1, 2, 4, 16, 32])
def test_topk_trivial_frames(lanes: int) -> None:
    # k = 0 and k >= n: the first round only; n <= lanes + 1: no re-packer overflow in it.
    n = np.arange(1, lanes + 2)
    rows = np.ceil(n / lanes)
    np.testing.assert_array_equal(topk_cycles(n, 0, lanes), 13 + rows)
    np.testing.assert_array_equal(topk_cycles(n, n, lanes), 13 + rows + (n > lanes))
    np.testing.assert_array_equal(topk_cycles(n, n + 5, lanes), topk_cycles(n, n, lanes))
    assert topk_cycles(1, 1, lanes) == 14


# ---- Top-k engine: Monte Carlo ---------------------------------------------------------------

#: (lanes, n values): k runs over 0, 1, n//5, n//2, n-1 and n for each n.
MC_GRID = [(1, (5, 37, 250)), (4, (5, 37, 130, 600)), (16, (37, 100, 250, 1024)), (32, (37, 250))]
MC_FRAMES = 250


@pytest.mark.parametrize("lanes, ns", MC_GRID, ids=[f"lanes{lanes}" for lanes, _ in MC_GRID])
def test_topk_matches_golden_monte_carlo(lanes: int, ns: tuple[int, ...], record_property) -> None:
    rows, worst = [], 0.0
    for n in ns:
        for k in sorted({0, 1, n // 5, n // 2, n - 1, n}):
            measured = _engine_mean(n, k, lanes, MC_FRAMES, seed=1000 * n + k)
            model = float(topk_cycles(n, k, lanes))
            error = model / measured - 1
            worst = max(worst, abs(error))
            rows.append((n, k, measured, model, error))
    record_property("worst_relative_error", round(worst, 4))
    table = "\n".join(
        f"lanes={lanes} n={n} k={k}: golden {m:.1f} model {p:.1f} ({100 * e:+.1f} %)"
        for n, k, m, p, e in rows
    )
    bad = [r for r in rows if abs(r[4]) > 0.10]
    assert not bad, f"model off by more than 10 % of the Monte-Carlo mean:\n{table}"


# ---- Top-k engine: shape, monotonicity, validation ------------------------------------------


def test_topk_broadcast_and_dtype() -> None:
    out = topk_cycles(np.array([[100], [1000]]), [0, 10, 50, 100, 200], 16)
    assert out.shape == (2, 5) and out.dtype == np.float64
    assert out[0, 3] == out[0, 4]  # k >= n keeps everything either way
    assert topk_cycles(1024, 512, 16).shape == ()
    assert topk_cycles(1024.0, np.int32(512), np.int64(16)) == topk_cycles(1024, 512, 16)


@pytest.mark.parametrize("lanes", [1, 2, 4, 8, 16, 32])
def test_topk_monotonic_in_n(lanes: int) -> None:
    """More scores never cost less by more than a re-packer overflow cycle, and a whole row more
    always costs more (the expected overflows depend on the last row's occupancy, so the model,
    like the RTL, may drop by under one cycle when n passes a multiple of lanes)."""
    n = np.arange(1, 2049)
    for k_of in (
        lambda n: n // 2,
        lambda n: n // 5,
        lambda n: np.ceil(0.3 * n),
        lambda n: np.ones_like(n),
        lambda n: n - 1,
        lambda n: np.full_like(n, 100),
        lambda n: np.zeros_like(n),
        lambda n: n,
    ):
        cycles = topk_cycles(n, k_of(n), lanes)
        assert (np.diff(cycles) >= -1).all()
        assert (topk_cycles(n + lanes, k_of(n + lanes), lanes) > cycles).all()


def test_topk_more_lanes_is_faster() -> None:
    n = np.array([64, 128, 512, 1024])[:, None]
    k = (n * np.array([0.1, 0.2, 0.5, 0.9])).astype(int)
    previous = topk_cycles(n, k, 1)
    for lanes in (2, 4, 8, 16, 32):
        current = topk_cycles(n, k, lanes)
        assert (current < previous).all()
        previous = current


def test_topk_large_n_matches_knuth() -> None:
    """For n >> lanes the streamed elements approach Knuth's 2n + 2k ln(n/k) + 2(n-k) ln(n/(n-k))
    (in all, first round included): cycles ~ (that - n)/lanes + ceil(n/lanes) + 3 rounds."""
    n, k, lanes = 10**6, 3 * 10**5, 1
    knuth = 2 * n + 2 * k * math.log(n / k) + 2 * (n - k) * math.log(n / (n - k))
    assert topk_cycles(n, k, lanes) == pytest.approx(knuth, rel=1e-3)


@pytest.mark.parametrize(
    "n, k, lanes, match",
    [
        (0, 0, 16, "n must be integers >= 1, not 0"),
        ([10, -3], 0, 16, "n must be integers >= 1, not -3"),
        (10.5, 0, 16, "n must be integers >= 1, not 10.5"),
        (np.inf, 0, 16, "n must be integers >= 1, not inf"),
        (True, 0, 16, "n must be integers >= 1, not True"),
        (10, -1, 16, "k must be integers >= 0, not -1"),
        (10, [1, np.nan], 16, "k must be integers >= 0, not nan"),
        (10, "3", 16, "k must be integers"),
        (10, 3, 0, "lanes must be an integer >= 1, not 0"),
        (10, 3, 4.0, "lanes must be an integer >= 1, not 4.0"),
        (10, 3, True, "lanes must be an integer >= 1, not True"),
    ],
)
def test_topk_rejects(n, k, lanes, match: str) -> None:
    with pytest.raises(ValueError, match=match):
        topk_cycles(n, k, lanes)


def test_topk_shape_mismatch() -> None:
    with pytest.raises(ValueError, match=r"n and k must broadcast together, not shapes \(3,\)"):
        topk_cycles([1, 2, 3], [1, 2], 4)
    with pytest.raises(ValueError, match="n and need_lsb must broadcast together"):
        pq_cycles([1, 2, 3], [True, False])


def test_topk_overheads_are_parameters_spattens_engine_pays_3_and_3():
    """The accelerator prices SpAtten's engine (3 cycles per round, 3 for the filter); our
    pipelined RTL pays 6 and 7: the two differ by 7 + 3 (E[rounds] - 1)."""
    from prunesim.sim.blocks import SPATTEN_FILTER_CYCLES, SPATTEN_ROUND_CYCLES

    assert (SPATTEN_ROUND_CYCLES, SPATTEN_FILTER_CYCLES) == (3, 3)
    n, lanes = 1024, 16
    for k in (0, 1, 200, 512, 1023, 1024):
        ours = float(topk_cycles(n, k, lanes))
        spatten = float(topk_cycles(n, k, lanes, round_cycles=3, filter_cycles=3))
        if 1 <= k <= n - 1:
            rounds = (
                sum(1 / i for i in range(1, k + 2)) + sum(1 / i for i in range(1, n - k + 2)) - 2
            )
            assert ours - spatten == pytest.approx(7 + 3 * (rounds - 1), rel=1e-9)
        else:
            assert ours - spatten == pytest.approx(7)
    with pytest.raises(ValueError, match="round_cycles"):
        topk_cycles(n, 1, lanes, round_cycles=0)
