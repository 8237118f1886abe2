"""Closed-form latency models of prunesim's RTL blocks, for the analytic simulator.

Each function gives the cycles of one block of :mod:`prunesim.rtl` as built, vectorised over numpy
arrays (no Python loop over elements; the top-k model loops over ``O(lanes)`` scalars only):

* :func:`topk_cycles`: the *expected* latency of :class:`prunesim.rtl.topk.TopK` on random
  scores, derived from the quick-select algorithm of :mod:`prunesim.golden.topk`;
* :func:`pq_cycles`: the exact latency of :class:`prunesim.rtl.pq.ProgressiveAttention`
  (``frame_cycles``), or its expectation over a fraction of frames that need the LSB pass.

``tests/test_sim_blocks.py`` checks them against the golden models (Monte Carlo) and the RTL
components; ``tests/test_sim_blocks_rtl.py`` against cycles measured on Verilator.
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np
from numpy.typing import ArrayLike, NDArray

__all__ = ["SPATTEN_FILTER_CYCLES", "SPATTEN_ROUND_CYCLES", "pq_cycles", "topk_cycles"]

_EULER_GAMMA = 0.5772156649015329
_SHIFT = 8  # asymptotic series evaluated at x + 8, shifted back: error < 1e-10 for x >= 0


def _harmonic(x: NDArray[np.float64]) -> NDArray[np.float64]:
    """``H_x = psi(x + 1) + gamma`` (harmonic numbers, extended to reals) for ``x >= 0``."""
    y = x + _SHIFT
    inv2 = 1.0 / (y * y)
    series = inv2 * (1 / 12 - inv2 * (1 / 120 - inv2 * (1 / 252 - inv2 / 240)))
    total = np.log(y) + _EULER_GAMMA + 0.5 / y - series
    for j in range(1, _SHIFT + 1):
        total -= 1.0 / (x + j)
    return total


def _log_factorial(x: NDArray[np.float64]) -> NDArray[np.float64]:
    """``ln(x!) = lgamma(x + 1)`` for ``x >= 0`` (Stirling's series)."""
    z = x + 1 + _SHIFT
    inv = 1.0 / z
    inv2 = inv * inv
    total = (z - 0.5) * np.log(z) - z + 0.5 * math.log(2 * math.pi)
    total += inv * (1 / 12 - inv2 * (1 / 360 - inv2 * (1 / 1260 - inv2 / 1680)))
    for j in range(1, _SHIFT + 1):
        total -= np.log(x + j)
    return total


def _show(value: Any) -> str:
    """A bad element for a message: ``3``, ``2.5``, ``nan``, ``True`` (no numpy repr)."""
    value = value.item() if isinstance(value, np.generic) else value
    if isinstance(value, float) and value.is_integer():
        value = int(value)
    return repr(value)


def _counts(name: str, value: ArrayLike, minimum: int) -> NDArray[np.float64]:
    """``value`` as a float64 array of integers >= ``minimum``; ``ValueError`` naming a bad one."""
    array = np.asarray(value)
    if array.dtype == np.bool_ or not np.issubdtype(array.dtype, np.number):
        raise ValueError(f"{name} must be integers >= {minimum}, not {value!r}")
    array = array.astype(np.float64)
    bad = ~np.isfinite(array) | (array != np.floor(array)) | (array < minimum)
    if bad.any():
        raise ValueError(f"{name} must be integers >= {minimum}, not {_show(array[bad].flat[0])}")
    return array


def _broadcast(
    name_a: str, a: NDArray[np.float64], name_b: str, b: NDArray[np.float64]
) -> tuple[NDArray[np.float64], NDArray[np.float64]]:
    try:
        return tuple(np.broadcast_arrays(a, b))  # type: ignore[return-value]
    except ValueError:
        raise ValueError(
            f"{name_a} and {name_b} must broadcast together, not shapes {a.shape} and {b.shape}"
        ) from None


def _positive_int(name: str, value: Any, minimum: int = 1) -> int:
    if isinstance(value, bool | np.bool_) or not isinstance(value, int | np.integer):
        raise ValueError(f"{name} must be an integer >= {minimum}, not {value!r}")
    if value < minimum:
        raise ValueError(f"{name} must be an integer >= {minimum}, not {value!r}")
    return int(value)


# ---- Top-k engine ---------------------------------------------------------------------------

#: The RTL's cycles per quick-select round and for the filter pass besides their rows and
#: re-packer overflows (:data:`prunesim.golden.topk.ROUND_CYCLES` and ``FILTER_CYCLES``; the
#: tests check the model against the golden model).
_ROUND_CYCLES = 6
_FILTER_CYCLES = 7
#: SpAtten's own engine (1 GHz in TSMC 40 nm): each quick-select round costs ``ceil(m/P) + 3``
#: cycles (the authors' analytic model, mit-han-lab/spatten; ``../shared/reference/PAPERS.md``),
#: as prunesim's RTL did before it was pipelined for FPGA clock rates; the accelerator cost
#: model prices SpAtten-class engines with these (``topk_cycles(..., round_cycles=3,
#: filter_cycles=3)``).
SPATTEN_ROUND_CYCLES = 3
SPATTEN_FILTER_CYCLES = 3


def _overflow_rate(lanes: int) -> float:
    """``p_L``: probability that a quick-select round over many elements (``m >> lanes``) ends with
    a re-packer overflow, averaged over a uniform last-row occupancy ``s`` in ``1..lanes``."""
    tail = (lanes - 2) - 3 * (float(_harmonic(np.float64(lanes + 1))) - 11 / 6)
    return (lanes + 1) / (2 * lanes) - 2 * tail / lanes**2


def _round_overflow(s: NDArray[np.float64], lanes: int) -> NDArray[np.float64]:
    """Probability of a re-packer overflow in a round over many elements whose last row holds
    ``s`` of them (``s/L - 2 (s-2)+ / (L (s+1))``)."""
    return s / lanes - 2 * np.maximum(s - 2, 0) / (lanes * (s + 1))


def topk_cycles(
    n: ArrayLike,
    k: ArrayLike,
    lanes: int,
    *,
    round_cycles: int = _ROUND_CYCLES,
    filter_cycles: int = _FILTER_CYCLES,
) -> NDArray[np.float64]:
    """Expected latency of :class:`prunesim.rtl.topk.TopK` with ``lanes`` comparators per array.

    ``round_cycles`` and ``filter_cycles`` are the engine's pipeline overheads per quick-select
    round and for the filter pass (below: 6 and 7, prunesim's pipelined RTL, the defaults; 3 and
    3 for SpAtten's engine, :data:`SPATTEN_ROUND_CYCLES`, which the accelerator cost model uses).

    Contract
    --------
    ``n`` (scores per frame, integers >= 1) and ``k`` (scores kept, integers >= 0; ``k >= n``
    keeps the whole frame) broadcast together; ``lanes`` is an integer >= 1 (the RTL builds powers
    of two only; the model holds for any). Returns a float64 array of the broadcast shape: the
    expected cycles from a frame's last input beat accepted to its last output beat, output always
    ready, for scores drawn i.i.d. from a continuous distribution (few ties, e.g. uniform 16-bit
    scores with ``n <= 1024``). The engine is busy for about ``ceil(n/lanes)`` more cycles while
    the frame streams in. Bad values raise ``ValueError`` naming the value. Cost: ``O(lanes)``
    numpy operations on arrays of the broadcast shape.

    Formula
    -------
    With ``L = lanes``, ``H_x`` the harmonic numbers, ``s = ((n - 1) mod L) + 1`` the last input
    row's occupancy and ``[.]`` 1 when true::

        E[C] = 13 + ceil(n/L) + w1 + phi                                  (k = 0 or k >= n)
        E[C] = 13 + ceil(n/L) + w1 + phi + 6 (R - 1) + S/L + rho + w      (1 <= k <= n-1)

        R   = H_{k+1} + H_{n-k+1} - 2                  expected quick-select rounds
        S   = n + 10 + 2 (n+1) H_n - (2k+5) H_{k+1} - (2(n-k)+5) H_{n-k+1}
                                                       expected elements streamed by rounds 2..
        N_m = 2 c_m / ((m+1)(m+2)) + b_m / (m+1)       expected rounds over exactly m elements
        rho = sum_{m=2}^{L+1} N_m (ceil(m/L) - m/L) + (L-1)/(2L) (R - 1 - sum_{m=2}^{L+1} N_m)
        w   = p_L (R - 1 - sum_{m=2}^{L+1} N_m),
              p_L = (L+1)/(2L) - 2 ((L-2) - 3 (H_{L+1} - H_3)) / L^2
        w1  = [n >= L+2] (s/L - 2 max(s-2, 0) / (L (s+1)))
        phi = [0 < k < n] P((k-1) mod L < J < k), J ~ Hypergeometric(n, k, s);  [k >= n][n > L]

    where, with ``A = k - 1`` elements ranked above the pair ``{k, k+1}`` (ranks counted from the
    largest) and ``B = n - k - 1`` below it, ``c_m`` counts the ``(x, y)``, ``0 <= x < A``,
    ``0 <= y < B``, ``x + y = m - 2``, and ``b_m = [A <= m-2 < A+B] + [B <= m-2 < A+B]``.

    Derivation
    ----------
    The RTL's latency (:mod:`prunesim.golden.topk`, exact) is ``6 + o_1`` for the first round
    (overlapped with the input), ``ceil(m_r/L) + 6 + o_r`` for each later round over ``m_r``
    elements, ``ceil(n/L) + 7 + o_f`` for the filter; each ``o`` is a re-packer overflow (0/1).
    The pivots are uniform in the active set (the first from the first beat: for i.i.d. scores
    its rank is uniform too), so quick-select is equivalent to giving every element a random
    priority and splitting each active interval of ranks at its highest-priority element. The
    engine stops when the pivot has rank ``k`` or ``k+1`` (``n_gt == target`` also stops), so
    the active interval always holds the pair ``{k, k+1}``: an element is a pivot iff it comes
    first among the ranks spanning it and the pair (``R``: sum of ``1/span``), two elements meet
    iff one of them comes first in the span of both and the pair (``S + n - R``: sum of
    ``2/span`` over pairs), and the interval of ``m`` ranks ``[a, b]`` is ever active iff ``a-1``
    and ``b+1`` come before all of it (``N_m``). Knuth's count for plain quick-select,
    ``2n + 2k ln(n/k) + 2(n-k) ln(n/(n-k))`` elements in all, is the large-``n`` limit of
    ``n + S``. Rounding: a round over ``m <= L+1`` elements rounds up by exactly
    ``ceil(m/L) - m/L`` (summed with ``N_m``), a longer one by ``(L-1)/(2L)`` on average (its
    length mod ``L`` is close to uniform). Overflow: a re-packer that receives ``K`` elements
    overflows iff its last input row brings ``J`` of them with ``(K-1) mod L < J < K``; the
    filter's ``K = min(k, n)`` gives ``phi`` exactly. A round splits into ``K_lt + K_gt =
    m - 1``, so it needs ``m >= L+2``; in a long round ``(K_lt-1) mod L`` is uniform and
    ``J_lt`` uniform on ``0..s`` (a uniform pivot rank), so each re-packer overflows with
    probability ``s/(2L)`` and, their residues adding up to ``s-3 mod L``, both with
    ``2 (s-2)+ / (L (s+1))``: ``w1`` for the first round's known ``s``, ``p_L`` (the mean over
    ``s``) per later round. No fitted constant.

    Measured errors
    ---------------
    Against Monte-Carlo means of :class:`prunesim.golden.topk.QuickSelectEngine` (cycle-exact with
    the RTL; 2000 frames of uniform 16-bit scores per point, 600 points: ``lanes`` 1..32, ``n``
    1..1024 including ``lanes + 1``, ``2 lanes + 1`` and other non-multiples, ``k`` 0, 1,
    ``n//5``, ``n//2``, ``n-1``, ``n``, ``n+3``): worst 5.9 %, at ``n = 4``, ``lanes = 2``
    (``w1``, an asymptotic term, says 1 cycle where the truth is 0.5); at most 2.8 % for
    ``n >= 16`` and 2.0 % for ``n >= 100``, there within the Monte-Carlo noise. For
    ``n <= lanes + 1`` the formula is exact (the mean over all orderings of distinct scores).
    Against the RTL on the grid of ``prunesim bench topk`` (lanes 4/8/16, ``n`` 128..1024,
    ``k = n//2, n//5``; Verilator, 200 frames per point, seed 1): worst 6.9 %, all within the
    sampling error of 200 frames (one frame's cycles vary by about 30 %; with 1000 frames of
    the same stimulus the golden model puts the worst at 1.7 %). These errors were measured
    before the RTL was pipelined (3 cycles per round and 3 for the filter, now 6 and 7): the
    model's errors in cycles do not depend on those constants, so relative to the now longer
    latencies they are, if anything, smaller.
    """
    lanes = _positive_int("lanes", lanes)
    n_arr, k_arr = _broadcast("n", _counts("n", n, 1), "k", _counts("k", k, 0))
    L = float(lanes)
    s = np.mod(n_arr - 1, L) + 1  # occupancy of the frame's last input row

    # First round and filter pass: always there.
    round_cycles = _positive_int("round_cycles", round_cycles)
    filter_cycles = _positive_int("filter_cycles", filter_cycles)
    cycles = round_cycles + filter_cycles + np.ceil(n_arr / L)
    cycles = cycles + np.where(n_arr >= L + 2, _round_overflow(s, lanes), 0.0)
    keep_all = k_arr >= n_arr
    cycles = cycles + np.where(keep_all & (n_arr > L), 1.0, 0.0)

    select = (k_arr >= 1) & ~keep_all
    if not select.any():
        return cycles
    # Later rounds, on frames that need them (others get harmless stand-ins, masked out below).
    nn = np.where(select, n_arr, 2.0)
    kk = np.where(select, k_arr, 1.0)
    h_k1, h_nk1 = _harmonic(kk + 1), _harmonic(nn - kk + 1)
    rounds = h_k1 + h_nk1 - 2
    streamed = (
        nn + 10 + 2 * (nn + 1) * _harmonic(nn) - (2 * kk + 5) * h_k1 - (2 * (nn - kk) + 5) * h_nk1
    )
    above, below = kk - 1, nn - kk - 1
    short_rounds = np.zeros_like(nn)  # expected rounds (after the first) over <= L+1 elements
    short_rounding = np.zeros_like(nn)
    for m in range(2, lanes + 2):
        u = m - 2
        interior = np.maximum(np.minimum(above - 1, u) - np.maximum(0, u - below + 1) + 1, 0)
        boundary = ((above <= u) & (u < above + below)).astype(np.float64)
        boundary += (below <= u) & (u < above + below)
        rounds_m = np.where(
            m <= nn - 1, 2 * interior / ((m + 1) * (m + 2)) + boundary / (m + 1), 0.0
        )
        short_rounds += rounds_m
        short_rounding += rounds_m * (math.ceil(m / L) - m / L)
    long_rounds = rounds - 1 - short_rounds
    later = (
        round_cycles * (rounds - 1)
        + streamed / L
        + short_rounding
        + long_rounds * ((L - 1) / (2 * L) + _overflow_rate(lanes))
    )

    # Filter overflow: J ~ Hypergeometric(n, k, s) kept elements in the last row, its log pmf
    # ln C(k, j) + ln C(n-k, s-j) - ln C(n, s) updated from j-1 to j (garbage where masked).
    tie = np.mod(kk - 1, L)
    ss = np.where(select, s, 1.0)
    spare = nn - kk - ss  # ln((spare + j)!) counts from j = -spare on
    log_p = (  # at j = 0
        _log_factorial(nn - kk)
        - _log_factorial(np.maximum(spare, 0))
        - _log_factorial(nn)
        + _log_factorial(nn - ss)
    )
    filter_overflow = np.zeros_like(nn)
    for j in range(1, lanes + 1):
        log_p += (
            np.log(np.maximum(kk - j + 1, 1) * np.maximum(ss - j + 1, 1))
            - math.log(j)
            - np.log(np.maximum(spare + j, 1))
        )
        ok = (j > tie) & (j < kk) & (j <= ss) & (spare + j >= 0)
        filter_overflow += np.where(ok, np.exp(np.where(ok, log_p, 0.0)), 0.0)
    return cycles + np.where(select, later + filter_overflow, 0.0)


# ---- Progressive-quantization datapath ------------------------------------------------------


def pq_cycles(
    n: ArrayLike,
    need_lsb: ArrayLike,
    *,
    keys_per_cycle: int = 1,
    prob_bits: int = 12,
    max_n: int = 1024,
) -> NDArray[np.float64]:
    """Cycles of :class:`prunesim.rtl.pq.ProgressiveAttention` for one query over ``n`` keys.

    Contract
    --------
    ``n`` (keys, integers in ``1..max_n``) and ``need_lsb`` broadcast together; ``need_lsb`` is a
    bool array (whether the frame fetches the LSB planes) or a fraction in ``[0, 1]`` of frames
    that do (the result is then the expectation). Returns a float64 array of the broadcast shape:
    cycles from the query beat accepted to the last probability transferred, no input stalls,
    output always ready; back-to-back frames repeat every ``pq_cycles + 1`` cycles. ``prob_bits``
    (2..16) and ``max_n`` (>= 1, ``prob_bits + LOGN <= 27``) are the block's parameters; the
    other parameters do not change its timing. Bad values raise ``ValueError`` naming the value.

    Formula
    -------
    One unit runs its passes one after another, each ``P = ceil(n / keys_per_cycle)`` cycles:
    MSB keys, the exponent sum, [LSB keys, the exponent sum again,] the output. With
    ``LOGN = max(1, ceil(log2(max_n)))`` and the reciprocal's ``D = prob_bits + LOGN + 5``
    cycles::

        3 P + 42 + D                 without the LSB pass
        5 P + 63 + D                 with it
        3 P + 42 + D + f (2 P + 21)  for a fraction f of frames with it

    For ``keys_per_cycle = 1`` this equals ``ProgressiveAttention.frame_cycles`` exactly
    (``3 n + 69`` and ``5 n + 90`` for the defaults), checked against Verilator by ``prunesim
    bench pq``. ``keys_per_cycle > 1`` is an extrapolation (wider dot products, the same
    pipeline depths) that no RTL backs yet.
    """
    kpc = _positive_int("keys_per_cycle", keys_per_cycle)
    max_n = _positive_int("max_n", max_n)
    prob_bits = _positive_int("prob_bits", prob_bits, 2)
    if prob_bits > 16:
        raise ValueError(f"prob_bits must be an integer in 2..16, not {prob_bits!r}")
    logn = max(1, (max_n - 1).bit_length())
    if prob_bits + logn > 27:
        raise ValueError(
            f"prob_bits + LOGN must be <= 27 (the block's reciprocal limit), not "
            f"{prob_bits + logn} (prob_bits={prob_bits}, max_n={max_n})"
        )
    n_arr = _counts("n", n, 1)
    if (n_arr > max_n).any():
        raise ValueError(f"n must be <= max_n ({max_n}), not {_show(n_arr[n_arr > max_n].flat[0])}")
    fraction = np.asarray(need_lsb)
    if fraction.dtype != np.bool_ and not np.issubdtype(fraction.dtype, np.number):
        raise ValueError(f"need_lsb must be booleans or fractions in [0, 1], not {need_lsb!r}")
    fraction = fraction.astype(np.float64)
    bad = ~((fraction >= 0) & (fraction <= 1))
    if bad.any():
        raise ValueError(
            f"need_lsb must be booleans or fractions in [0, 1], not {_show(fraction[bad].flat[0])}"
        )
    n_arr, fraction = _broadcast("n", n_arr, "need_lsb", fraction)
    passes = np.ceil(n_arr / kpc)
    divide = prob_bits + logn + 5
    return 3 * passes + 42 + divide + fraction * (2 * passes + 21)
