"""Golden models of SpAtten's top-k engine (:class:`prunesim.rtl.topk.TopK`).

Two models, both pure PyTorch:

* :func:`topk_reference` / :func:`topk_mask` -- the *contract*: which elements the engine keeps
  and in which order it emits them. This is what every RTL output is compared against.
* :class:`QuickSelectEngine` -- the engine's *algorithm*: the quick-select rounds with the same
  pseudo-random pivot sequence as the RTL, so tests can check the number of rounds the hardware
  takes (the internal ``qs_rounds`` register), not only its output.

Quick-select as the RTL does it
-------------------------------
The active set starts as the whole frame, in input order, with ``target = k``. Each round draws a
pivot ``p`` from the active set, streams the set once through two comparator arrays, and pushes the
elements ``< p`` (in order) into FIFO L, the elements ``> p`` into FIFO R and counts the ``== p``
ones (``n_lt``, ``n_eq``, ``n_gt``). Then, with ``m = n_lt + n_eq + n_gt``:

======================================  =================================================
condition (checked in this order)       outcome
======================================  =================================================
``target == 0``                         done: keep nothing
``target >= m``                         done: keep everything
``n_gt == target``                      done: keep ``x > p``
``n_gt > target``                       next round on R, same target
``n_gt + n_eq >= target``               done: keep ``x > p`` and the first
                                        ``target - n_gt`` elements equal to ``p``
otherwise                               next round on L, ``target -= n_gt + n_eq``
======================================  =================================================

The first two rows can only fire after the first round (later rounds keep ``0 < target < m``).
The first round runs while the frame streams in, so its pivot cannot come from the whole frame: it
is drawn from the first input beat (``min(lanes, n)`` elements). Later pivots are drawn from the
whole active FIFO. A draw from ``m`` elements takes the element at position
``(r * m) >> 16`` of the active set, where ``r`` is the next value of a 16-bit xorshift generator
(shifts 7, 9, 8; period 65535) stepped once per draw. Its state starts at :data:`PIVOT_SEED` on
reset and carries over from frame to frame. The generator and the draw live in
:mod:`prunesim.golden.pivot` (no PyTorch, shared with the RTL) and are re-exported here.

A final filter pass over the buffered frame keeps the selected elements in index order.

Cycle model
-----------
:meth:`QuickSelectEngine.run` also returns the RTL's latency, exact when the output is always
ready: the cycles from the frame's last input beat being accepted to its last output beat being
transferred,

    ``(6 + o_1) + sum_{r >= 2} (ceil(m_r / lanes) + 6 + o_r) + ceil(n / lanes) + 7 + o_f``

where ``m_r`` is the size of round ``r``'s active set and each ``o`` is 1 when a re-packer's last
input row overflows into a second output row (one more cycle to flush), else 0: ``o_r`` for the
two partition re-packers of round ``r``, ``o_f`` for the output re-packer of the filter pass.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import torch

from .pivot import PIVOT_SEED, pivot_position, xorshift16

__all__ = [
    "PIVOT_SEED",
    "xorshift16",
    "pivot_position",
    "topk_reference",
    "topk_mask",
    "QuickSelectEngine",
    "TopKRun",
]


#: Cycles of a quick-select round besides its rows and overflow (the ``6`` of the cycle model).
ROUND_CYCLES = 6
#: Cycles of the filter pass besides its rows and overflow (the ``7`` of the cycle model).
FILTER_CYCLES = 7


def _check_scores(scores: torch.Tensor) -> None:
    if scores.dtype.is_floating_point or scores.dtype == torch.bool:
        raise TypeError(f"scores must be an integer tensor, not {scores.dtype}")


def topk_reference(scores: torch.Tensor, k: int) -> tuple[torch.Tensor, torch.Tensor]:
    """The top-k contract on one frame.

    Takes a 1-D integer tensor of ``n >= 1`` scores and ``k >= 0``. Returns ``(indices, scores)``,
    both 1-D ``int64`` tensors of length ``min(k, n)``: the ``k`` largest scores, among equal
    scores the lower index first, emitted in ascending index order.
    """
    _check_scores(scores)
    if scores.dim() != 1 or scores.numel() == 0:
        raise ValueError(f"scores must be a non-empty 1-D tensor, not shape {tuple(scores.shape)}")
    if k < 0:
        raise ValueError(f"k must be a non-negative integer, not {k}")
    keep = topk_mask(scores, k)
    indices = torch.nonzero(keep).flatten()
    return indices, scores.to(torch.int64)[indices]


def topk_mask(scores: torch.Tensor, k: int) -> torch.Tensor:
    """Boolean mask of the elements the engine keeps, batched over leading dimensions.

    ``scores`` has shape ``(..., n)``; the mask has the same shape with ``min(k, n)`` ones per row
    (the ``k`` largest, ties to the lower index).
    """
    _check_scores(scores)
    if k < 0:
        raise ValueError(f"k must be a non-negative integer, not {k}")
    n = scores.shape[-1]
    # A stable descending sort puts, among equal scores, the lower index first.
    order = torch.sort(scores.to(torch.int64), dim=-1, descending=True, stable=True).indices
    keep = torch.zeros(scores.shape, dtype=torch.bool)
    keep.scatter_(-1, order[..., : min(k, n)], True)
    return keep


@dataclass
class TopKRun:
    """One frame through :class:`QuickSelectEngine`.

    ``indices``/``scores`` are the kept elements (as :func:`topk_reference`), ``rounds`` the number
    of quick-select rounds, ``pivots`` the pivot of each round, ``round_sizes`` the size of the
    active set in each round, ``threshold``/``eq_keep``/``mode`` the filter the rounds decided
    on (``mode`` is ``"none"``, ``"all"`` or ``"threshold"``), and ``cycles`` the RTL's latency
    from the last input beat to the last output beat when the output is always ready (see the
    module's cycle model).
    """

    indices: torch.Tensor
    scores: torch.Tensor
    rounds: int
    cycles: int = 0
    pivots: list[int] = field(default_factory=list)
    round_sizes: list[int] = field(default_factory=list)
    threshold: int = 0
    eq_keep: int = 0
    mode: str = "threshold"


class QuickSelectEngine:
    """Bit-exact model of the top-k engine's quick-select rounds and filter.

    Mirrors one :class:`prunesim.rtl.topk.TopK` instance: the pivot generator's state persists from
    frame to frame like the hardware's and returns to :data:`PIVOT_SEED` only on :meth:`reset`
    (the RTL's ``rst``). Run frames through it in the same order as through the RTL.
    """

    def __init__(self, lanes: int, max_n: int, width: int) -> None:
        if not isinstance(lanes, int) or lanes < 1 or lanes & (lanes - 1):
            raise ValueError(f"lanes must be a power of two >= 1, not {lanes!r}")
        if not isinstance(width, int) or width < 1:
            raise ValueError(f"width must be an integer >= 1, not {width!r}")
        if not isinstance(max_n, int) or max_n < lanes:
            raise ValueError(f"max_n must be an integer >= lanes ({lanes}), not {max_n!r}")
        self.lanes = lanes
        self.max_n = max_n
        self.width = width
        self.state = PIVOT_SEED

    def _rows(self, m: int) -> int:
        return -(-m // self.lanes)

    def _overflows(self, elements, selected) -> bool:
        """Whether a re-packer fed the ``selected`` elements of ``elements``, one row of ``lanes``
        at a time, needs a second cycle to flush after the last row: it holds back up to ``lanes``
        elements (a full row is held until it is known not to be the last)."""
        elements = list(elements)
        last_row = (len(elements) - 1) // self.lanes * self.lanes
        before = sum(1 for x in elements[:last_row] if selected(x))
        in_last = sum(1 for x in elements[last_row:] if selected(x))
        held = 0 if before == 0 else (before - 1) % self.lanes + 1
        return held + in_last > self.lanes

    def reset(self) -> None:
        """Return the pivot generator to its reset state, as the RTL's ``rst`` does."""
        self.state = PIVOT_SEED

    def _draw(self, active: list[int]) -> int:
        self.state = xorshift16(self.state)
        return active[pivot_position(self.state, len(active))]

    def run(self, scores: torch.Tensor, k: int) -> TopKRun:
        """Run one frame of ``n`` scores (``1 <= n <= max_n``) with ``0 <= k <= max_n``."""
        _check_scores(scores)
        values = [int(x) for x in scores.flatten().tolist()]
        n = len(values)
        if not 1 <= n <= self.max_n:
            raise ValueError(f"frame length must be in 1..{self.max_n}, not {n}")
        if not 0 <= k <= self.max_n:
            raise ValueError(f"k must be in 0..{self.max_n}, not {k}")
        top = (1 << self.width) - 1
        if any(not 0 <= x <= top for x in values):
            raise ValueError(f"scores must be unsigned {self.width}-bit values")

        run = TopKRun(indices=torch.empty(0), scores=torch.empty(0), rounds=0)
        active = values
        target = k
        pivot = self._draw(values[: min(self.lanes, n)])
        while True:
            run.rounds += 1
            run.pivots.append(pivot)
            run.round_sizes.append(len(active))
            lt = [x for x in active if x < pivot]
            gt = [x for x in active if x > pivot]
            n_eq = len(active) - len(lt) - len(gt)
            overflow = self._overflows(active, lambda x, p=pivot: x < p) or self._overflows(
                active, lambda x, p=pivot: x > p
            )
            if run.rounds == 1:
                run.cycles += ROUND_CYCLES + overflow
            else:
                run.cycles += self._rows(len(active)) + ROUND_CYCLES + overflow
            if target == 0:
                run.mode = "none"
                break
            if target >= len(active):
                run.mode = "all"
                break
            if len(gt) == target:
                run.threshold, run.eq_keep = pivot, 0
                break
            if len(gt) > target:
                active = gt
            elif len(gt) + n_eq >= target:
                run.threshold, run.eq_keep = pivot, target - len(gt)
                break
            else:
                target -= len(gt) + n_eq
                active = lt
            pivot = self._draw(active)

        kept: list[int] = []
        if run.mode == "all":
            kept = list(range(n))
        elif run.mode == "threshold":
            eq_left = run.eq_keep
            for i, x in enumerate(values):
                if x > run.threshold:
                    kept.append(i)
                elif x == run.threshold and eq_left > 0:
                    kept.append(i)
                    eq_left -= 1
        kept_set = set(kept)
        run.cycles += self._rows(n) + FILTER_CYCLES
        run.cycles += self._overflows(range(n), kept_set.__contains__)
        run.indices = torch.tensor(kept, dtype=torch.int64)
        run.scores = torch.tensor([values[i] for i in kept], dtype=torch.int64)
        return run
