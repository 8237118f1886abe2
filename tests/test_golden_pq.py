"""Tests of the progressive-quantization golden models.

The integer model is checked bit for bit against a naive big-integer transcription of the spec
(which also proves that every intermediate fits in int64), against float64 softmax within the
error budget, and its decision against the float maximum probability.
"""

from __future__ import annotations

import math

import pytest
import torch

from prunesim.golden.pq import (
    C,
    PQParams,
    attend,
    dram_layout,
    exp_table,
    fixed_exp,
    fixed_softmax,
    need_lsb,
    progressive_attention_float,
    quantize_symmetric,
    scores,
    split_planes,
)


@pytest.fixture(autouse=True, scope="module")
def one_thread():
    """The tensors here are small: intra-op threads only add overhead (8x on a busy 2-core
    machine), so this module runs single-threaded and restores the setting afterwards."""
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(threads)


# (d, msb_bits, lsb_bits, prob_bits, max_n, q_bits): every d x {4+4, 6+4, 8+4}, with the output
# width and the frame size varied along, and the narrowest block.
PARAM_SETS = [
    (4, 4, 4, 12, 64, 12),
    (4, 6, 4, 16, 1024, 12),
    (4, 8, 4, 8, 256, 8),
    (16, 4, 4, 16, 256, 12),
    (16, 6, 4, 8, 1024, 12),
    (16, 8, 4, 12, 64, 12),
    (64, 4, 4, 8, 64, 8),
    (64, 6, 4, 12, 256, 12),
    (64, 8, 4, 12, 1024, 12),
    (1, 2, 1, 2, 4, 2),  # the narrowest block: no interpolation bits (F - 6 = 0)
]
SHIFTS = (0, 8, 16, 24, 32)
KINDS = ("random", "small", "flat", "peaked", "ties", "extreme")


def make_params(d, msb_bits, lsb_bits, prob_bits, max_n, q_bits, scale_shift) -> PQParams:
    return PQParams(d=d, q_bits=q_bits, msb_bits=msb_bits, lsb_bits=lsb_bits,
                    prob_bits=prob_bits, max_n=max_n, scale_shift=scale_shift)  # fmt: skip


def param_id(ps) -> str:
    d, msb_bits, lsb_bits, prob_bits, max_n, q_bits = ps
    return f"d{d}-{msb_bits}+{lsb_bits}-p{prob_bits}-n{max_n}-q{q_bits}"


# --- naive transcription of the spec, in Python integers ----------------------------------


def naive_frame(q, msb, lsb, threshold, scale, p: PQParams):
    """One frame, literally as the spec reads; returns (need, probs, msb_probs, msb_sum,
    full_sum, biggest) where ``biggest`` is the largest magnitude of any intermediate value."""
    logn = max(1, math.ceil(math.log2(p.max_n)))
    eb, frac = p.prob_bits + logn + 4, p.prob_bits + 4
    sh = p.scale_shift + 24 - frac
    c = round(math.log2(math.e) * 2**24)
    v_sat = -(-((eb + 1) << (frac + sh)) // c)
    g = logn + 4
    table = exp_table(eb)
    biggest = 0

    def keep(x: int) -> int:
        nonlocal biggest
        biggest = max(biggest, abs(x))
        return x

    def softmax(keys):
        s = [keep(sum(keep(qj * kj) for qj, kj in zip(q, key, strict=True))) for key in keys]
        e, s_max = [], max(s)
        for si in s:
            v = keep(keep(s_max - si) * scale)
            if v >= v_sat:
                e.append(0)
                continue
            u = keep(v * c) >> sh
            whole, f = u >> frac, u & ((1 << frac) - 1)
            j, r = f >> (frac - 6), f & ((1 << (frac - 6)) - 1)
            t = table[j] - (keep((table[j] - table[j + 1]) * r) >> (frac - 6))
            e.append(t >> whole)
        total = keep(sum(e))
        recip = keep(1 << (eb + p.prob_bits + g)) // total
        top = (1 << p.prob_bits) - 1
        return [min(top, keep(ei * recip + (1 << (eb + g - 1))) >> (eb + g)) for ei in e], total

    msb_probs, msb_sum = softmax([[m * 2**p.lsb_bits for m in key] for key in msb])
    probs = msb_probs
    need = keep(threshold * msb_sum) > 1 << (p.prob_bits + eb)
    full_sum = None
    if need:
        full = [[m * 2**p.lsb_bits + x for m, x in zip(mk, lk, strict=True)]
                for mk, lk in zip(msb, lsb, strict=True)]  # fmt: skip
        probs, full_sum = softmax(full)
    return need, probs, msb_probs, msb_sum, full_sum, biggest


def check_against_naive(q, msb, lsb, threshold, scale, p: PQParams) -> int:
    """Compare :func:`attend` on a batch of frames with the naive model; return the largest
    intermediate magnitude seen."""
    res = attend(q, msb, lsb, threshold, scale, p)
    thr = torch.as_tensor(threshold).expand(q.shape[:-1])
    sc = torch.as_tensor(scale).expand(q.shape[:-1])
    biggest = 0
    for b in range(q.shape[0]):
        need, probs, msb_probs, msb_sum, full_sum, big = naive_frame(
            q[b].tolist(), msb[b].tolist(), lsb[b].tolist(), int(thr[b]), int(sc[b]), p
        )
        biggest = max(biggest, big)
        assert bool(res.need_lsb[b]) == need
        assert res.probs[b].tolist() == probs
        assert res.msb_probs[b].tolist() == msb_probs
        assert int(res.msb_sum[b]) == msb_sum
        if need:
            assert int(res.full_sum[b]) == full_sum
        elif res.full_sum is not None:
            assert int(res.full_sum[b]) == 0
    return biggest


# --- random frames -----------------------------------------------------------------------


def make_frames(gen: torch.Generator, p: PQParams, n: int, batch: int, kind: str):
    """``batch`` frames of ``n`` keys: (q, msb, lsb)."""
    qmax, mmax, lmax = 1 << (p.q_bits - 1), 1 << (p.msb_bits - 1), (1 << p.lsb_bits) - 1

    def rand(low, high, shape):
        return torch.randint(low, high + 1, shape, generator=gen)

    q = rand(-qmax, qmax - 1, (batch, p.d))
    msb = rand(-mmax, mmax - 1, (batch, n, p.d))
    lsb = rand(0, lmax, (batch, n, p.d))
    if kind == "small":
        q = rand(max(-3, -qmax), min(3, qmax - 1), (batch, p.d))
        msb = rand(-2, 1, (batch, n, p.d))
    elif kind == "flat":
        msb = msb[:, :1].expand(batch, n, p.d).clone()
        lsb = lsb[:, :1].expand(batch, n, p.d).clone()
    elif kind == "peaked":
        msb = rand(-2, 1, (batch, n, p.d))
        hit = rand(0, n - 1, (batch,))
        msb[torch.arange(batch), hit] = torch.where(q < 0, -mmax, mmax - 1)
    elif kind == "ties":
        pool = rand(-mmax, mmax - 1, (batch, 3, p.d))  # three distinct keys, repeated
        msb = pool[torch.arange(batch)[:, None], rand(0, 2, (batch, n))]
    elif kind == "extreme":
        q = torch.full((batch, p.d), -qmax)
        low = rand(0, 1, (batch, n, 1)).bool()
        msb = torch.where(low, -mmax, mmax - 1).expand(batch, n, p.d).clone()
        lsb = torch.where(low, lmax * rand(0, 1, (batch, n, 1)), lmax).expand(batch, n, p.d)
        lsb = lsb.clone()
    return q, msb, lsb


def random_scales(gen: torch.Generator, s: torch.Tensor, p: PQParams) -> torch.Tensor:
    """One scale per frame: 0, 65535, log-uniform, or tuned to a logit spread of 0.05..40."""
    batch = s.shape[0]
    spread = (s.amax(-1) - s.amin(-1)).double().clamp(min=1)
    target = torch.rand(batch, generator=gen, dtype=torch.float64) * 40 + 0.05
    tuned = (target * 2.0**p.scale_shift / spread).round().clamp(0, 65535).long()
    logu = (2 ** (torch.rand(batch, generator=gen, dtype=torch.float64) * 16)).long()
    choice = torch.randint(0, 6, (batch,), generator=gen)
    scale = torch.where(choice == 0, 0, torch.where(choice == 1, 65535, tuned))
    return torch.where(choice == 2, logu.clamp(1, 65535), scale)


def exact_probs(
    s: torch.Tensor, scale: torch.Tensor, p: PQParams, saturate: bool = True
) -> torch.Tensor:
    """``min(2^pb - 1, softmax(l) 2^pb)`` in float64 with ``l = s scale / 2^scale_shift``.

    Softmax is shift invariant, so it is taken on ``l - l_max``, formed from the exact integer
    ``(s_max - s) * scale``: ``s * scale`` itself can exceed 2^53 and lose the small differences.
    """
    v = (s.amax(-1, keepdim=True) - s) * scale.unsqueeze(-1)
    probs = torch.softmax(-v.double() / 2.0**p.scale_shift, dim=-1) * 2**p.prob_bits
    return probs.clamp(max=2**p.prob_bits - 1) if saturate else probs


def frame_sizes(gen: torch.Generator, max_n: int) -> list[int]:
    sizes = {1, 2, 3, max_n, int(torch.randint(4, max(5, max_n), (1,), generator=gen))}
    return sorted(n for n in sizes if n <= max_n)


@pytest.mark.parametrize("ps", PARAM_SETS, ids=param_id)
def test_error_budget_against_float_softmax(ps):
    gen = torch.Generator().manual_seed(sum(ps))
    worst, frames, total_err, keys = 0.0, 0, 0.0, 0
    for kind in KINDS:
        for n in frame_sizes(gen, ps[4]):
            shift = SHIFTS[int(torch.randint(0, len(SHIFTS), (1,), generator=gen))]
            p = make_params(*ps, shift)
            batch = 48 if n * p.d <= 4096 else 16
            q, msb, lsb = make_frames(gen, p, n, batch, kind)
            for lsb_plane in (None, lsb):
                s = scores(q, msb, lsb_plane, p)
                scale = random_scales(gen, s, p)
                probs, total = fixed_softmax(s, scale, p)
                assert probs.dtype == torch.int64 and total.shape == (batch,)
                assert bool((total >= 1 << p.EB).all()) and bool((total <= n << p.EB).all())
                err = (probs.double() - exact_probs(s, scale, p)).abs()
                worst = max(worst, float(err.max()))
                total_err += float(err.sum())
                keys += err.numel()
                frames += batch
    assert frames >= 500
    assert worst <= 4, f"max error {worst:.3f} units"
    # The analysis in the module docstring gives < 1 at prob_bits <= 12 and < 1.5 at 16.
    assert worst <= (1.5 if ps[3] == 16 else 1.0), f"max error {worst:.3f} units"
    assert total_err / keys < 0.35


def test_scale_zero_gives_uniform_probabilities():
    p = PQParams(d=16, msb_bits=6, prob_bits=12, max_n=64)
    q, msb, _ = make_frames(torch.Generator().manual_seed(1), p, 40, 8, "random")
    probs, total = fixed_softmax(scores(q, msb, None, p), 0, p)
    assert bool((total == 40 << p.EB).all())
    assert bool((probs == round(4096 / 40)).all())
    probs, _ = fixed_softmax(scores(q[:, None], msb[:, :1], None, p), 0, p)
    assert bool((probs == 4095).all())  # n = 1 saturates at 2^prob_bits - 1


@pytest.mark.parametrize("ps", PARAM_SETS, ids=param_id)
def test_decision_matches_float_max_probability(ps):
    gen = torch.Generator().manual_seed(100 + sum(ps))
    outcomes = set()
    for kind in ("random", "small", "peaked", "ties"):
        for n in frame_sizes(gen, ps[4]):
            p = make_params(*ps, SHIFTS[int(torch.randint(0, 5, (1,), generator=gen))])
            q, msb, lsb = make_frames(gen, p, n, 24 if n * p.d <= 4096 else 6, kind)
            s = scores(q, msb, None, p)
            scale = random_scales(gen, s, p)
            _, total = fixed_softmax(s, scale, p)
            # The maximum probability in units of 2^-prob_bits, unsaturated; the block's own,
            # 2^EB / S, is within half a unit (the decision needs no output rounding).
            top = exact_probs(s, scale, p, saturate=False).amax(-1)
            fixed_top = 2.0 ** (p.EB + p.prob_bits) / total.double()
            assert float((fixed_top - top).abs().max()) < 0.5
            near = top.round().long() + torch.randint(-12, 13, top.shape, generator=gen)
            far = torch.randint(0, 2**p.prob_bits, top.shape, generator=gen)
            for threshold in (near.clamp(0, 2**p.prob_bits - 1), far):
                need = need_lsb(total, threshold, p)
                clear = (top - threshold).abs() > 4
                assert torch.equal(need[clear], (top < threshold)[clear])
                outcomes.update(need[clear].tolist())
            assert not bool(need_lsb(total, 0, p).any())
            res = attend(q, msb, None, 0, scale, p)
            assert not bool(res.need_lsb.any()) and res.full_sum is None
            assert torch.equal(res.probs, res.msb_probs)
    if ps[3] >= 8:  # at prob_bits = 2 every threshold is within 4 units of every probability
        assert outcomes == {False, True}


@pytest.mark.parametrize("ps", PARAM_SETS, ids=param_id)
def test_attend_is_bit_exact_with_the_naive_model(ps):
    gen = torch.Generator().manual_seed(200 + sum(ps))
    for kind in KINDS:
        n = min(ps[4], int(torch.randint(1, 24, (1,), generator=gen)))
        p = make_params(*ps, SHIFTS[int(torch.randint(0, 5, (1,), generator=gen))])
        q, msb, lsb = make_frames(gen, p, n, 12, kind)
        scale = random_scales(gen, scores(q, msb, None, p), p)
        threshold = torch.randint(0, 2**p.prob_bits, (12,), generator=gen)
        threshold[0] = 0
        threshold[1] = 2**p.prob_bits - 1
        check_against_naive(q, msb, lsb, threshold, scale, p)


EXTREME_PARAMS = [
    dict(d=64, q_bits=12, msb_bits=8, lsb_bits=4, prob_bits=12, max_n=1024),
    # The joint limits' corner: SB + 16 = 62 and 2 prob_bits + 2 LOGN + 8 = 62.
    dict(d=128, q_bits=16, msb_bits=14, lsb_bits=8, prob_bits=16, max_n=2048),
]


@pytest.mark.parametrize("kw", EXTREME_PARAMS, ids=["d64-8+4-q12", "corner"])
@pytest.mark.parametrize("scale_shift", [0, 32])
def test_extreme_inputs_stay_in_int64(kw, scale_shift):
    p = PQParams(scale_shift=scale_shift, **kw)
    qmax, mmax, lmax = 1 << (p.q_bits - 1), 1 << (p.msb_bits - 1), (1 << p.lsb_bits) - 1
    q = torch.full((2, p.d), -qmax)
    # Frame 0: every key the most negative MSB with the largest LSB (all equal, S = n 2^EB).
    # Frame 1: the largest score (msb most negative, lsb 0) against the smallest ones.
    n = p.max_n
    msb = torch.full((2, n, p.d), -mmax)
    lsb = torch.full((2, n, p.d), lmax)
    msb[1, 1:] = mmax - 1
    lsb[1, 0] = 0
    full = msb * 2**p.lsb_bits + lsb
    assert int(scores(q, msb, lsb, p).abs().max()) < 1 << (p.SB - 1)
    assert int(scores(q, msb, lsb, p)[1, 0]) == p.d * qmax * mmax * 2**p.lsb_bits
    assert int(full.min()) == -(1 << (p.msb_bits + p.lsb_bits - 1))
    # Python integers are unbounded: equal results mean torch's int64 never wrapped. Frame 0
    # needs the LSBs (both passes), frame 1 does not.
    biggest = check_against_naive(q, msb, lsb, 2**p.prob_bits - 1, 65535, p)
    assert biggest < 1 << 63
    res = attend(q, msb, lsb, 2**p.prob_bits - 1, 65535, p)
    assert res.need_lsb.tolist() == [True, False]
    assert res.probs[0].tolist() == [round(2**p.prob_bits / n)] * n
    assert res.probs[1, 0] == 2**p.prob_bits - 1 and int(res.probs[1, 1:].max()) == 0
    e = fixed_exp(scores(q, msb, lsb, p), 65535, p)
    assert int(e.min()) == 0 and int(e.max()) == 1 << p.EB


# --- constants and the table ---------------------------------------------------------------


def test_constants():
    p = PQParams()
    assert (p.LOGN, p.SB, p.EB, p.F, p.SH, p.G) == (10, 31, 26, 16, 40, 14)
    assert C == p.C == round(math.log2(math.e) * 2**24) == 24204406
    assert p.V_SAT == math.ceil(((p.EB + 1) << (p.F + p.SH)) / C)
    # Keys at V_SAT are >= EB + 1 halvings below the maximum; one step below they are not.
    assert (p.V_SAT * C) >> p.SH >= (p.EB + 1) << p.F > ((p.V_SAT - 1) * C) >> p.SH
    assert [PQParams(max_n=n).LOGN for n in (1, 2, 3, 1024, 1025)] == [1, 1, 2, 10, 11]
    assert PQParams(d=1).SB == 12 + 8 + 4 + 0 + 1
    assert p.to_dict()["V_SAT"] == p.V_SAT and p.to_dict()["d"] == 64


@pytest.mark.parametrize("eb", range(7, 32))
def test_exp_table_is_exact_and_monotone(eb):
    table = exp_table(eb)
    assert len(table) == 65
    assert table[0] == 2**eb and table[64] == 2 ** (eb - 1)
    assert all(a >= b for a, b in zip(table, table[1:], strict=False))
    if eb >= 8:  # steps of at least 2^(eb-1) ln(2) / 64 > 1: strictly decreasing
        assert all(a > b for a, b in zip(table, table[1:], strict=False))
    for j, t in enumerate(table):
        # t = floor(2^(eb - j/64) + 1/2) exactly: (t - 1/2)^64 <= 2^(64 eb - j) < (t + 1/2)^64.
        assert (2 * t - 1) ** 64 <= 2 ** (64 * eb - j + 64) < (2 * t + 1) ** 64
        assert t == math.floor(2**eb * 2 ** (-j / 64) + 0.5)
    table[0] = 0  # a copy: the cache is not affected
    assert exp_table(eb)[0] == 2**eb


def test_params_exp_table_is_the_module_table():
    for prob_bits, max_n in ((2, 1), (12, 1024), (16, 2048)):
        p = PQParams(prob_bits=prob_bits, max_n=max_n)
        assert p.exp_table() == exp_table(p.EB)


# --- batching --------------------------------------------------------------------------------


def test_batched_over_heads_and_queries():
    p = PQParams(d=16, msb_bits=6, max_n=64, scale_shift=32)
    gen = torch.Generator().manual_seed(7)
    heads, queries, n = 3, 5, 20
    q = torch.randint(-2048, 2048, (heads, queries, p.d), generator=gen)
    msb = torch.randint(-32, 32, (heads, 1, n, p.d), generator=gen)  # keys shared by queries
    lsb = torch.randint(0, 16, (heads, 1, n, p.d), generator=gen)
    scale = torch.randint(0, 3000, (heads, 1), generator=gen)
    top = attend(q, msb, lsb, 0, scale, p).msb_probs.amax(-1)
    threshold = (top + torch.randint(-50, 51, top.shape, generator=gen)).clamp(0, 4095)
    res = attend(q, msb, lsb, threshold, scale, p)
    assert res.probs.shape == (heads, queries, n) and res.need_lsb.shape == (heads, queries)
    assert 0 < int(res.need_lsb.sum()) < heads * queries
    for h in range(heads):
        for i in range(queries):
            one = attend(q[h, i], msb[h, 0], lsb[h, 0], int(threshold[h, i]), int(scale[h, 0]), p)
            assert torch.equal(one.probs, res.probs[h, i])
            assert bool(one.need_lsb) == bool(res.need_lsb[h, i])
    out = res.to_dict()
    assert out["probs"] == res.probs.tolist() and len(out["need_lsb"]) == heads


# --- float reference ----------------------------------------------------------------------


@pytest.mark.parametrize(("msb_bits", "lsb_bits"), [(2, 1), (4, 4), (3, 5)])
def test_split_planes_round_trips_every_value(msb_bits, lsb_bits):
    width = msb_bits + lsb_bits
    k = torch.arange(-(2 ** (width - 1)), 2 ** (width - 1))
    msb, lsb = split_planes(k, msb_bits, lsb_bits)
    assert torch.equal(msb * 2**lsb_bits + lsb, k)
    assert int(msb.min()) == -(2 ** (msb_bits - 1)) and int(msb.max()) == 2 ** (msb_bits - 1) - 1
    assert int(lsb.min()) == 0 and int(lsb.max()) == 2**lsb_bits - 1
    with pytest.raises(ValueError, match="k_int must be in"):
        split_planes(torch.tensor([2 ** (width - 1)]), msb_bits, lsb_bits)


def test_quantize_symmetric():
    gen = torch.Generator().manual_seed(3)
    x = torch.randn(4, 30, 8, generator=gen, dtype=torch.float64) * 3
    for bits in (2, 8, 12):
        top = 2 ** (bits - 1) - 1
        ints, scale = quantize_symmetric(x, bits)
        assert ints.dtype == torch.int64 and scale.shape == ()
        assert int(ints.abs().max()) == top  # the largest magnitude maps to +-top
        assert float((ints * scale - x).abs().max()) <= float(scale) / 2 + 1e-12
        ints, scale = quantize_symmetric(x, bits, dim=(-2, -1))
        assert scale.shape == (4, 1, 1)
        assert ints.abs().amax(dim=(-2, -1)).tolist() == [top] * 4
    ints, scale = quantize_symmetric(torch.zeros(3, 3), 8)
    assert int(ints.abs().max()) == 0 and float(scale) == 1.0
    ints, _ = quantize_symmetric(torch.tensor([-1.0, -0.5, 0.5, 1.0]), 2)  # top = 1
    assert ints.tolist() == [-1, -1, 1, 1]  # half away from zero
    with pytest.raises(ValueError, match="bits"):
        quantize_symmetric(x, 1)
    with pytest.raises(TypeError, match="floating-point"):
        quantize_symmetric(torch.tensor([1, 2]), 8)


def test_dram_layout_sizes_add_up():
    lay = dram_layout(1000, 64, 8, 4, base=4096)
    assert (lay.msb_offset, lay.msb_size) == (4096, 64000)
    assert (lay.lsb_offset, lay.lsb_size) == (4096 + 64000, 32000)
    assert lay.end == 4096 + 96000
    assert (lay.msb_bytes_per_key, lay.lsb_bytes_per_key) == (64.0, 32.0)
    assert lay.bytes_for(False) == 64000 and lay.bytes_for(True) == 96000
    assert lay.expected_bytes(0.25) == 64000 + 8000
    odd = dram_layout(3, 1, 6, 4)  # planes pack densely: 18 and 12 bits
    assert (odd.msb_offset, odd.msb_size, odd.lsb_offset, odd.lsb_size) == (0, 3, 3, 2)
    assert odd.lsb_bytes_per_key == 0.5
    assert lay.to_dict()["lsb_size"] == 32000
    with pytest.raises(ValueError, match="base"):
        dram_layout(1, 1, 4, 4, base=-1)


def test_progressive_attention_float():
    gen = torch.Generator().manual_seed(4)
    q = torch.randn(3, 10, 64, generator=gen, dtype=torch.float64)
    k = torch.randn(3, 50, 64, generator=gen, dtype=torch.float64)
    never = progressive_attention_float(q, k, 0.0, 6, 4)
    assert not bool(never.need_lsb.any()) and never.lsb_fraction == 0.0
    assert torch.equal(never.probs, never.msb_probs)
    always = progressive_attention_float(q, k, 1.01, 6, 4)
    assert bool(always.need_lsb.all()) and always.lsb_fraction == 1.0
    assert torch.equal(always.probs, always.full_probs)
    assert torch.allclose(always.probs.sum(-1), torch.ones(3, 10, dtype=torch.float64))
    # A threshold between the smallest and the largest maximum probability splits the queries.
    top = never.msb_probs.amax(-1)
    mid = progressive_attention_float(q, k, float(top.median()), 6, 4)
    assert 0 < mid.lsb_fraction < 1
    assert mid.lsb_fraction == float(mid.need_lsb.double().mean())
    assert torch.equal(mid.need_lsb, top < float(top.median()))
    # Heads are independent (one K scale per head), so the batch equals a loop over heads.
    for h in range(3):
        one = progressive_attention_float(q[h], k[h], float(top.median()), 6, 4)
        assert torch.equal(one.probs, mid.probs[h]) and torch.equal(one.need_lsb, mid.need_lsb[h])
    # Many bits: the full keys approach the real ones; the MSB-only keys are coarser.
    exact = torch.softmax(q @ k.transpose(-1, -2) / 8, dim=-1)
    fine = progressive_attention_float(q, k, 2.0, 4, 12)
    assert float((fine.probs - exact).abs().max()) < 1e-3
    assert float((fine.msb_probs - exact).abs().max()) > 1e-2
    causal = torch.ones(10, 50, dtype=torch.bool).tril()
    masked = progressive_attention_float(q, k, 0.1, 6, 4, mask=causal)
    assert float(masked.probs[..., 0, 1:].abs().max()) == 0.0
    assert masked.to_dict()["lsb_fraction"] == masked.lsb_fraction


# --- bad parameters and inputs -----------------------------------------------------------


@pytest.mark.parametrize(
    ("kw", "message"),
    [
        (dict(d=0), "d must be an integer >= 1"),
        (dict(q_bits=1), "q_bits must be"),
        (dict(msb_bits=1), "msb_bits must be"),
        (dict(lsb_bits=0), "lsb_bits must be"),
        (dict(prob_bits=1), r"prob_bits must be an integer in 2\.\.16"),
        (dict(prob_bits=17), r"prob_bits must be an integer in 2\.\.16"),
        (dict(max_n=0), "max_n must be"),
        (dict(scale_shift=-1), r"scale_shift must be an integer in 0\.\.32"),
        (dict(scale_shift=33), r"scale_shift must be an integer in 0\.\.32"),
        (dict(q_bits=16, msb_bits=16, lsb_bits=8), r"q_bits \+ msb_bits \+ lsb_bits"),
        (dict(prob_bits=16, max_n=4097), r"prob_bits \+ log2\(max_n\) must be <= 27"),
    ],
)
def test_bad_parameters(kw, message):
    with pytest.raises(ValueError, match=message):
        PQParams(**kw)


def test_parameters_must_be_integers():
    with pytest.raises(TypeError, match="d must be an integer"):
        PQParams(d=1.5)
    with pytest.raises(TypeError, match="max_n must be an integer"):
        PQParams(max_n=True)


def test_bad_inputs():
    p = PQParams(d=4, q_bits=4, msb_bits=4, lsb_bits=2, prob_bits=8, max_n=8)
    q = torch.zeros(4, dtype=torch.int64)
    msb = torch.zeros(3, 4, dtype=torch.int64)
    lsb = torch.zeros(3, 4, dtype=torch.int64)
    cases = [
        (dict(q=torch.full((4,), 8)), r"q must be in -8\.\.7"),
        (dict(q=torch.zeros(5, dtype=torch.int64)), r"q must have shape \(\.\.\., d=4\)"),
        (dict(msb=torch.full((3, 4), -9)), r"msb must be in -8\.\.7"),
        (dict(lsb=torch.full((3, 4), 4)), r"lsb must be in 0\.\.3"),
        (dict(msb=torch.zeros(9, 4, dtype=torch.int64)), r"number of keys n must be in 1\.\.8"),
        (dict(msb=torch.zeros(0, 4, dtype=torch.int64)), r"number of keys n must be in 1\.\.8"),
        (dict(scale=65536), r"scale must be in 0\.\.65535"),
        (dict(scale=-1), r"scale must be in 0\.\.65535"),
        (dict(scale=torch.tensor([1, 2])), "scale must be a scalar or broadcast"),
        (dict(threshold=256), r"threshold must be in 0\.\.255"),
        (dict(lsb=None, threshold=255), "lsb is None but some frames need"),
    ]
    for change, message in cases:
        args = dict(q=q, msb=msb, lsb=lsb, threshold=0, scale=1) | change
        with pytest.raises(ValueError, match=message):
            attend(args["q"], args["msb"], args["lsb"], args["threshold"], args["scale"], p)
    with pytest.raises(TypeError, match="q must be an integer tensor"):
        scores(q.double(), msb, None, p)
    # fixed_exp takes any scores whose v = (s_max - s) * scale fits the RTL's SB + 16 bits.
    v_max = 2 ** (p.SB + 16) - 1
    wide = PQParams(d=4, q_bits=4, msb_bits=4, lsb_bits=2, prob_bits=8, max_n=8, scale_shift=0)
    assert fixed_exp(torch.tensor([0, -v_max]), 1, wide).tolist() == [2**p.EB, 0]
    with pytest.raises(ValueError, match=r"\(s_max - s\) \* scale must be < 2\^\(SB \+ 16\)"):
        fixed_exp(torch.tensor([0, -v_max // 3 - 1]), 3, p)
    with pytest.raises(ValueError, match="s must be in"):
        fixed_exp(torch.tensor([v_max + 1]), 1, p)
