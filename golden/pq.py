"""Golden models of SpAtten's progressive quantization (``prunesim.rtl.pq.ProgressiveAttention``).

Two models, both pure PyTorch:

* The *bit-exact integer model* of the progressive-quantization datapath (:class:`PQParams`,
  :func:`scores`, :func:`fixed_exp`, :func:`fixed_softmax`, :func:`need_lsb`, :func:`attend`):
  what the RTL computes for one query, bit for bit, batched over leading dimensions (heads,
  queries) with ``torch.int64`` tensors. Every RTL output is compared with :func:`attend`.
* The *float reference* of the algorithm (:func:`quantize_symmetric`, :func:`split_planes`,
  :func:`dram_layout`, :func:`progressive_attention_float`): progressive quantization on real
  keys in float64, as SpAtten applies it, to measure how often real attention needs the LSBs and
  what each plane costs in DRAM.

The datapath, per frame (one query, ``n`` keys)
-----------------------------------------------
Keys are stored as two planes, ``k = msb * 2^L + lsb`` (``msb`` signed ``msb_bits``, ``lsb``
unsigned ``L = lsb_bits``). The block first fetches the MSB plane only.

1. *Scores*, exact integers: ``s_i = sum_j q_j (msb_ij 2^L)`` on the MSB pass,
   ``s_i = sum_j q_j (msb_ij 2^L + lsb_ij)`` on the full pass (:func:`scores`).
2. *exp, base 2* (:func:`fixed_exp`). The logits are ``l_i = s_i * scale / 2^scale_shift``
   (``scale`` an unsigned 16-bit input per frame). With ``delta_i = s_max - s_i >= 0`` and
   ``v_i = delta_i * scale``, ``exp(l_i - l_max) = 2^(-x_i)`` with
   ``x_i = v_i log2(e) / 2^scale_shift``. The block forms ``u = (v_i C) >> SH``, ``x_i`` with
   ``F`` fraction bits (``C = round(log2(e) 2^24)``), splits it into an integer part ``I`` and a
   fraction, and evaluates ``2^(-fraction)`` from a **65-entry table**
   ``T[j] = round(2^EB 2^(-j/64))`` (:func:`exp_table`) with **linear interpolation** between
   ``T[j]`` and ``T[j+1]`` on the fraction's low ``F - 6`` bits; the integer part is a right
   shift: ``e_i = T_i >> I``. ``e_i`` is ``2^EB exp(l_i - l_max)`` with ``EB`` fraction bits;
   the maximum's ``e`` is exactly ``T[0] = 2^EB``. ``v_i >= V_SAT`` (so ``x_i >= EB + 1``) gives
   ``e_i = 0``: this saturation also keeps ``v_i C`` inside 62 bits.
3. ``S = sum_i e_i``, exact, ``2^EB <= S <= n 2^EB``.
4. *Decision without division*, MSB pass only: the maximum probability is ``2^EB / S``, so
   ``need_lsb = threshold * S > 2^(prob_bits + EB)`` (``threshold`` in units of
   ``2^-prob_bits``; ``threshold = 0`` never asks for the LSBs) (:func:`need_lsb`).
5. If ``need_lsb``, the LSB plane is fetched and steps 1-3 are redone on the full keys; the output
   comes from that pass, otherwise from the MSB pass.
6. *One reciprocal per frame*: ``R = floor(2^(EB + prob_bits + G) / S)`` with ``G = LOGN + 4``
   guard bits; each probability is then a multiplication,
   ``p_i = min(2^prob_bits - 1, (e_i R + 2^(EB+G-1)) >> (EB + G))`` (:func:`fixed_softmax`).

Constants (properties of :class:`PQParams`): ``LOGN = max(1, ceil(log2(max_n)))``,
``EB = prob_bits + LOGN + 4``, ``F = prob_bits + 4``, ``CB = 24``, ``C = 24204406``,
``SH = scale_shift + CB - F``, ``G = LOGN + 4``,
``V_SAT = ceil(((EB + 1) << (F + SH)) / C)`` and the signed score width
``SB = q_bits + msb_bits + lsb_bits + ceil(log2(d)) + 1`` (one bit more than the tightest width).

Error budget
------------
Against ``min(2^prob_bits - 1, softmax(l)_i 2^prob_bits)`` computed in float64 the output is
within 4 units for every key (the contract the tests check); the analysis below gives under 1 unit
at ``prob_bits <= 12`` and under 1.5 at ``prob_bits = 16``:

* output rounding: 0.5 unit;
* interpolation of the convex ``2^-x`` over steps of 1/64: ``e_i`` too large by at most
  ``(ln 2 / 64)^2 / 8 = 1.47e-5`` relative (the maximum's ``e`` is exact, and ``S`` grows by the
  same relative amount at most), so ``p_i`` is off by at most ``1.47e-5 * 2^prob_bits`` times
  ``p_i (1 - p_max) <= 1/2``: 0.03 unit at ``prob_bits = 12``, 0.48 at 16;
* truncation of ``u`` to ``F = prob_bits + 4`` fraction bits: ``e_i`` too large by at most
  ``ln 2 * 2^-F`` relative, under 0.05 unit; ``C``'s rounding (``1.3e-8`` relative on ``x``):
  under ``5e-7`` in ``x``;
* table rounding (0.5), interpolation floor (1) and the shift ``>> I`` (1) lose at most 2.5 units
  of ``2^-EB`` per key; summed over ``n <= 2^LOGN`` keys this moves ``S`` by under
  ``2^-(prob_bits + 2)`` relative: under 0.25 unit; keys past ``V_SAT`` weigh under
  ``2^-(EB+1)`` each;
* the reciprocal's floor: at most ``2^-(prob_bits + 4)`` relative (``G`` guard bits), under 0.07
  unit.

The decision's maximum probability ``2^EB / S`` has the same errors but no rounding (under 0.5
unit), so ``need_lsb`` equals the float decision whenever the float maximum probability is more
than 4 units away from ``threshold``. Measured over about 13,000 random frames: at most 0.52 unit
at ``prob_bits <= 12``, 0.76 at 16.

Integer ranges: with the joint limits that :meth:`PQParams.validate` enforces
(``SB + 16 <= 62``, ``2 prob_bits + 2 LOGN + 8 <= 62``) every intermediate fits in 63 bits:
``v < 2^(SB+14)``; ``v C < (EB + 1) 2^(scale_shift + 24) <= 2^61`` for unsaturated keys (saturated
keys are clamped before the multiplication); ``threshold * S < 2^58``;
``2^(EB + prob_bits + G) <= 2^62``; ``e_i R <= 2^62``.

Float reference
---------------
:func:`quantize_symmetric` quantizes real keys linearly and symmetrically to ``msb + lsb`` bits
(integers in ``[-(2^(b-1) - 1), 2^(b-1) - 1]``, round half away from zero);
:func:`split_planes` splits them into an MSB plane (floor division by ``2^L``: the MSB-only key
``msb * 2^L`` is the key with its LSBs zeroed, left-aligned as SpAtten stores it) and an LSB plane;
:func:`dram_layout` says where the two densely packed planes live and what a query fetches;
:func:`progressive_attention_float` runs attention with the MSB-only keys and recomputes with the
full keys for the queries whose maximum probability is below the threshold.
"""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass

import torch

from prunesim.golden.pq_params import (
    CB,
    SCALE_MAX,
    C,
    PQParams,
    check_int,
    exp_table,
)

__all__ = [
    "CB",
    "C",
    "PQParams",
    "PQResult",
    "exp_table",
    "scores",
    "fixed_exp",
    "fixed_softmax",
    "need_lsb",
    "attend",
    "quantize_symmetric",
    "split_planes",
    "DramLayout",
    "dram_layout",
    "FloatPQResult",
    "progressive_attention_float",
]


def _default(params: PQParams | None) -> PQParams:
    if params is None:
        return PQParams()
    if not isinstance(params, PQParams):
        raise TypeError(f"params must be a PQParams, not {params!r}")
    return params


def _int_tensor(name: str, value, low: int, high: int) -> torch.Tensor:
    """``value`` as an int64 tensor, checked to be integer-valued and within ``low..high``."""
    t = torch.as_tensor(value)
    if t.dtype.is_floating_point or t.dtype.is_complex or t.dtype == torch.bool:
        raise TypeError(f"{name} must be an integer tensor, not {t.dtype}")
    t = t.to(torch.int64)
    if t.numel() and (int(t.min()) < low or int(t.max()) > high):
        raise ValueError(f"{name} must be in {low}..{high}, not {int(t.min())}..{int(t.max())}")
    return t


def _row_operand(name: str, value, low: int, high: int, rows: torch.Size) -> torch.Tensor:
    """A per-frame input (scale, threshold): a scalar or a tensor broadcastable to ``rows``."""
    t = _int_tensor(name, value, low, high)
    try:
        shape = torch.broadcast_shapes(t.shape, rows)
    except RuntimeError:
        shape = None
    if shape != rows:
        raise ValueError(
            f"{name} must be a scalar or broadcast to the frames' shape {tuple(rows)}, "
            f"not shape {tuple(t.shape)}"
        )
    return t


def scores(
    q: torch.Tensor,
    msb: torch.Tensor,
    lsb: torch.Tensor | None = None,
    params: PQParams | None = None,
) -> torch.Tensor:
    """Exact integer scores of step 1, int64, batched.

    ``q`` has shape ``(..., d)`` (signed ``q_bits``), ``msb`` and ``lsb`` ``(..., n, d)`` (signed
    ``msb_bits``, unsigned ``lsb_bits``), ``1 <= n <= max_n``; leading dimensions broadcast.
    Returns ``(..., n)``: ``sum_j q_j (msb_ij 2^L + lsb_ij)``, with ``lsb = 0`` when ``lsb`` is
    ``None`` (the MSB pass). ``params`` defaults to ``PQParams()``.
    """
    p = _default(params)
    q = _int_tensor("q", q, -(1 << (p.q_bits - 1)), (1 << (p.q_bits - 1)) - 1)
    msb = _int_tensor("msb", msb, -(1 << (p.msb_bits - 1)), (1 << (p.msb_bits - 1)) - 1)
    if q.dim() < 1 or q.shape[-1] != p.d:
        raise ValueError(f"q must have shape (..., d={p.d}), not {tuple(q.shape)}")
    if msb.dim() < 2 or msb.shape[-1] != p.d:
        raise ValueError(f"msb must have shape (..., n, d={p.d}), not {tuple(msb.shape)}")
    n = msb.shape[-2]
    if not 1 <= n <= p.max_n:
        raise ValueError(f"the number of keys n must be in 1..{p.max_n}, not {n}")
    keys = msb * (1 << p.lsb_bits)
    if lsb is not None:
        lsb = _int_tensor("lsb", lsb, 0, (1 << p.lsb_bits) - 1)
        if lsb.shape != msb.shape:
            raise ValueError(
                f"lsb must have the shape of msb {tuple(msb.shape)}, not {tuple(lsb.shape)}"
            )
        keys = keys + lsb
    return (keys * q.unsqueeze(-2)).sum(-1)


def fixed_exp(s: torch.Tensor, scale, params: PQParams | None = None) -> torch.Tensor:
    """``e_i ~ 2^EB exp(l_i - l_max)`` of step 2, int64 ``(..., n)``, one frame per row.

    ``s`` has shape ``(..., n)``, ``n >= 1``; ``scale`` (unsigned 16-bit) is a scalar or one value
    per frame, broadcastable to ``s.shape[:-1]``. Any integer scores are accepted whose
    ``v = (s_max - s) * scale`` fits in ``SB + 16`` unsigned bits (the RTL's ``v`` register):
    true ``SB``-bit scores always do (``v < 2^(SB + 14)``); wider ones let tests sweep ``v``.
    """
    p = _default(params)
    v_limit = (1 << (p.SB + 16)) - 1
    s = _int_tensor("s", s, -v_limit, v_limit)
    if s.dim() < 1 or s.shape[-1] < 1:
        raise ValueError(f"s must have shape (..., n) with n >= 1, not {tuple(s.shape)}")
    scale = _row_operand("scale", scale, 0, SCALE_MAX, s.shape[:-1]).unsqueeze(-1)
    delta = s.amax(-1, keepdim=True) - s  # < 2^(SB + 17) <= 2^63
    if bool((delta > torch.div(v_limit, scale.clamp(min=1), rounding_mode="floor")).any()):
        raise ValueError(f"(s_max - s) * scale must be < 2^(SB + 16) = 2^{p.SB + 16}")
    v = delta * scale
    saturated = v >= p.V_SAT
    # Clamp before multiplying so that saturated keys cannot overflow 64 bits.
    u = (torch.clamp(v, max=p.V_SAT - 1) * C) >> p.SH
    whole = u >> p.F
    frac = u & ((1 << p.F) - 1)
    step = p.F - 6
    j = frac >> step
    r = frac & ((1 << step) - 1)
    table = torch.tensor(p.exp_table(), dtype=torch.int64)
    base, nxt = table[j], table[j + 1]
    interp = base - (((base - nxt) * r) >> step)
    e = interp >> whole
    return torch.where(saturated, torch.zeros_like(e), e)


def fixed_softmax(
    s: torch.Tensor, scale, params: PQParams | None = None
) -> tuple[torch.Tensor, torch.Tensor]:
    """Steps 2, 3, 6 and 7: ``(p, S)``, the probabilities ``(..., n)`` in units of
    ``2^-prob_bits`` (saturated at ``2^prob_bits - 1``) and the exp sums ``(...)``, int64."""
    p = _default(params)
    e = fixed_exp(s, scale, p)
    total = e.sum(-1)
    recip = torch.div(
        torch.full_like(total, 1 << (p.EB + p.prob_bits + p.G)), total, rounding_mode="floor"
    )
    shift = p.EB + p.G
    probs = (e * recip.unsqueeze(-1) + (1 << (shift - 1))) >> shift
    return torch.clamp(probs, max=(1 << p.prob_bits) - 1), total


def need_lsb(S: torch.Tensor, threshold, params: PQParams | None = None) -> torch.Tensor:
    """Step 4: bool ``(...)``, ``threshold * S > 2^(prob_bits + EB)`` (max probability below the
    threshold). ``threshold`` (unsigned ``prob_bits``) is a scalar or broadcasts to ``S``."""
    p = _default(params)
    S = _int_tensor("S", S, 1 << p.EB, p.max_n << p.EB)
    threshold = _row_operand("threshold", threshold, 0, (1 << p.prob_bits) - 1, S.shape)
    return threshold * S > (1 << (p.prob_bits + p.EB))


@dataclass
class PQResult:
    """One batch of frames through the block (:func:`attend`); frames along the leading dims.

    ``need_lsb`` (bool ``(...)``): the decision; ``probs`` (``(..., n)``): the probabilities the
    block outputs, from the full pass where ``need_lsb`` else from the MSB pass; ``msb_probs``,
    ``msb_scores``, ``msb_sum``: the MSB pass; ``full_scores``, ``full_sum``: the full pass,
    ``None`` when no frame needed the LSBs, else with zeros in the frames that did not
    (``S >= 2^EB`` where computed). Probabilities are in units of ``2^-prob_bits``; all tensors
    are int64 but ``need_lsb``.
    """

    need_lsb: torch.Tensor
    probs: torch.Tensor
    msb_probs: torch.Tensor
    msb_sum: torch.Tensor
    msb_scores: torch.Tensor
    full_sum: torch.Tensor | None = None
    full_scores: torch.Tensor | None = None

    def to_dict(self) -> dict:
        """Every field as nested lists (``None`` stays ``None``)."""
        return {
            name: None if value is None else value.tolist() for name, value in self.__dict__.items()
        }


def attend(
    q: torch.Tensor,
    msb: torch.Tensor,
    lsb: torch.Tensor | None,
    threshold,
    scale,
    params: PQParams | None = None,
) -> PQResult:
    """The whole block on a batch of frames: this is what the RTL is compared with.

    ``q`` ``(..., d)``, ``msb``/``lsb`` ``(..., n, d)`` as in :func:`scores`; ``threshold``
    (unsigned ``prob_bits``) and ``scale`` (unsigned 16-bit) are scalars or one value per frame.
    ``lsb`` may be ``None`` only if no frame needs the LSBs (``ValueError`` otherwise).
    """
    p = _default(params)
    msb_scores = scores(q, msb, None, p)
    msb_probs, msb_sum = fixed_softmax(msb_scores, scale, p)
    need = need_lsb(msb_sum, threshold, p)
    result = PQResult(need, msb_probs, msb_probs, msb_sum, msb_scores)
    if lsb is not None:
        lsb = _int_tensor("lsb", lsb, 0, (1 << p.lsb_bits) - 1)
    if bool(need.any()):
        if lsb is None:
            raise ValueError("lsb is None but some frames need the LSB plane")
        full_scores = scores(q, msb, lsb, p)
        full_probs, full_sum = fixed_softmax(full_scores, scale, p)
        result.probs = torch.where(need.unsqueeze(-1), full_probs, msb_probs)
        result.full_sum = torch.where(need, full_sum, torch.zeros_like(full_sum))
        result.full_scores = torch.where(
            need.unsqueeze(-1), full_scores, torch.zeros_like(full_scores)
        )
    return result


# --- float reference -------------------------------------------------------------------------


def quantize_symmetric(
    x: torch.Tensor, bits: int, dim: int | tuple[int, ...] | None = None
) -> tuple[torch.Tensor, torch.Tensor]:
    """Linear symmetric quantization: ``(ints, scale)`` with ``x ~ ints * scale``.

    ``ints`` (int64, shape of ``x``) lie in ``[-(2^(bits-1) - 1), 2^(bits-1) - 1]``, rounded half
    away from zero; ``scale = max|x| / (2^(bits-1) - 1)`` (float64; 1.0 where ``x`` is all zero)
    over the whole tensor, or per slice when ``dim`` names the dimensions reduced over (then
    ``scale`` keeps them with size 1 and broadcasts against ``x``).
    """
    check_int("bits", bits, 2, 62)
    x = torch.as_tensor(x)
    if not x.dtype.is_floating_point:
        raise TypeError(f"x must be a floating-point tensor, not {x.dtype}")
    x = x.to(torch.float64)
    if not bool(torch.isfinite(x).all()):
        raise ValueError("x must be finite")
    top = (1 << (bits - 1)) - 1
    if dim is None:
        amax = x.abs().amax() if x.numel() else torch.zeros((), dtype=torch.float64)
    else:
        amax = x.abs().amax(dim=dim, keepdim=True)
    scale = torch.where(amax > 0, amax / top, torch.ones_like(amax))
    scaled = x / scale
    ints = torch.sign(scaled) * torch.floor(scaled.abs() + 0.5)
    return torch.clamp(ints, -top, top).to(torch.int64), scale


def split_planes(
    k_int: torch.Tensor, msb_bits: int, lsb_bits: int
) -> tuple[torch.Tensor, torch.Tensor]:
    """Split signed ``msb_bits + lsb_bits``-bit keys into ``(msb, lsb)`` planes, int64.

    ``msb = floor(k / 2^lsb_bits)`` (signed ``msb_bits``), ``lsb = k - msb 2^lsb_bits`` (unsigned
    ``lsb_bits``), so ``k = msb * 2^lsb_bits + lsb`` exactly.
    """
    check_int("msb_bits", msb_bits, 2)
    check_int("lsb_bits", lsb_bits, 1)
    width = msb_bits + lsb_bits
    k = _int_tensor("k_int", k_int, -(1 << (width - 1)), (1 << (width - 1)) - 1)
    msb = torch.div(k, 1 << lsb_bits, rounding_mode="floor")
    return msb, k - msb * (1 << lsb_bits)


@dataclass(frozen=True)
class DramLayout:
    """Where one head's K planes live in DRAM: the MSB plane, then the LSB plane, stored apart,
    each packed densely (key ``i``, element ``j`` at bit ``(i d + j) bits`` of its plane).

    Offsets and sizes in bytes; a plane's size is rounded up to whole bytes.
    """

    n: int
    d: int
    msb_bits: int
    lsb_bits: int
    msb_offset: int
    msb_size: int
    lsb_offset: int
    lsb_size: int

    @property
    def msb_bytes_per_key(self) -> float:
        """``d * msb_bits / 8``."""
        return self.d * self.msb_bits / 8

    @property
    def lsb_bytes_per_key(self) -> float:
        """``d * lsb_bits / 8``."""
        return self.d * self.lsb_bits / 8

    @property
    def end(self) -> int:
        """First byte after both planes."""
        return self.lsb_offset + self.lsb_size

    def bytes_for(self, need_lsb: bool) -> int:
        """Bytes fetched for one query's keys: the MSB plane, plus the LSB plane if needed."""
        return self.msb_size + (self.lsb_size if need_lsb else 0)

    def expected_bytes(self, lsb_fraction: float) -> float:
        """Mean bytes per query when a fraction ``lsb_fraction`` of queries needs the LSBs."""
        if not 0.0 <= lsb_fraction <= 1.0:
            raise ValueError(f"lsb_fraction must be in [0, 1], not {lsb_fraction!r}")
        return self.msb_size + lsb_fraction * self.lsb_size

    def to_dict(self) -> dict:
        return asdict(self)


def dram_layout(n: int, d: int, msb_bits: int, lsb_bits: int, base: int = 0) -> DramLayout:
    """The two planes of ``n`` keys of length ``d``: MSB plane at ``base``, LSB plane right after
    it (see :class:`DramLayout`)."""
    check_int("n", n, 0)
    check_int("d", d, 1)
    check_int("msb_bits", msb_bits, 1)
    check_int("lsb_bits", lsb_bits, 0)
    check_int("base", base, 0)
    msb_size = -(-n * d * msb_bits // 8)
    lsb_size = -(-n * d * lsb_bits // 8)
    return DramLayout(n, d, msb_bits, lsb_bits, base, msb_size, base + msb_size, lsb_size)


@dataclass
class FloatPQResult:
    """Float progressive quantization (:func:`progressive_attention_float`).

    ``probs`` ``(..., m, n)``: the attention probabilities used (full keys where ``need_lsb``);
    ``msb_probs``/``full_probs``: with the MSB-only and the full keys; ``need_lsb`` bool
    ``(..., m)``; ``lsb_fraction``: the fraction of queries that needed the LSBs; ``k_scale``:
    the quantization scale of K (one per ``(n, d)`` matrix, shape ``(..., 1, 1)``).
    """

    probs: torch.Tensor
    msb_probs: torch.Tensor
    full_probs: torch.Tensor
    need_lsb: torch.Tensor
    lsb_fraction: float
    k_scale: torch.Tensor

    def to_dict(self) -> dict:
        return {
            name: value.tolist() if isinstance(value, torch.Tensor) else value
            for name, value in self.__dict__.items()
        }


def progressive_attention_float(
    q: torch.Tensor,
    k: torch.Tensor,
    threshold: float,
    msb_bits: int,
    lsb_bits: int,
    scale: float | None = None,
    mask: torch.Tensor | None = None,
) -> FloatPQResult:
    """Progressive quantization as SpAtten applies it, in float64.

    ``q`` ``(..., m, d)`` real queries, ``k`` ``(..., n, d)`` real keys (leading dims, e.g.
    heads, broadcast). K is quantized with :func:`quantize_symmetric` to ``msb_bits + lsb_bits``
    bits, one scale per ``(n, d)`` matrix, and split with :func:`split_planes`. Attention
    ``softmax(q k^T * scale)`` (``scale`` defaults to ``1/sqrt(d)``) is computed with the MSB-only
    keys ``msb * 2^lsb_bits``; queries whose maximum probability is below ``threshold`` are
    recomputed with the full keys. ``mask`` (bool, broadcast to ``(..., m, n)``, True = attend)
    e.g. makes it causal; every query must see at least one key.
    """
    q = torch.as_tensor(q)
    k = torch.as_tensor(k)
    if q.dim() < 2 or k.dim() < 2 or q.shape[-1] != k.shape[-1]:
        raise ValueError(
            f"q and k must have shapes (..., m, d) and (..., n, d), not {tuple(q.shape)} and "
            f"{tuple(k.shape)}"
        )
    threshold = float(threshold)
    if math.isnan(threshold) or threshold < 0:
        raise ValueError(f"threshold must be >= 0, not {threshold!r}")
    d = q.shape[-1]
    if scale is None:
        scale = 1.0 / math.sqrt(d)
    k_int, k_scale = quantize_symmetric(k, msb_bits + lsb_bits, dim=(-2, -1))
    msb, _ = split_planes(k_int, msb_bits, lsb_bits)
    q = q.to(torch.float64)

    def softmax(keys: torch.Tensor) -> torch.Tensor:
        logits = q @ (keys.to(torch.float64) * k_scale).transpose(-1, -2) * scale
        if mask is not None:
            logits = logits.masked_fill(~torch.as_tensor(mask, dtype=torch.bool), -math.inf)
        return torch.softmax(logits, dim=-1)

    msb_probs = softmax(msb * (1 << lsb_bits))
    full_probs = softmax(k_int)
    need = msb_probs.amax(-1) < threshold
    probs = torch.where(need.unsqueeze(-1), full_probs, msb_probs)
    fraction = float(need.to(torch.float64).mean()) if need.numel() else 0.0
    return FloatPQResult(probs, msb_probs, full_probs, need, fraction, k_scale)
