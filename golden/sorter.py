"""Golden model of the Batcher odd-even merge sorter (:class:`prunesim.rtl.sorter.BatcherSorter`),
the baseline SpAtten compares its top-k engine with.

The sorter keeps the same elements as the top-k engine and emits them in the same order, so its
result is :func:`prunesim.golden.topk.topk_reference`'s. What differs is how it finds them: it
sorts the whole frame. Each element becomes a *key*, its score above the complement of its index,
so that keys are distinct and a larger key is a larger score or, for equal scores, a lower index.
The ``k``-th largest key is then a threshold that selects exactly the ``min(k, n)`` elements the
contract asks for, and a final pass over the frame in index order keeps the elements whose key
is at least the threshold.

Cycle model
-----------
With ``P = lanes``, ``R = ceil(n / P)`` rows and ``J = ceil(log2 R)`` merge passes (0 when
``R == 1``), the cycles from the frame's last input beat being accepted to its last output beat
being transferred, the output always ready, are (:func:`sorter_cycles`)::

    5 + D + R + J (R + 1) + o

``D = log2(P) * (log2(P) + 1) / 2`` is the depth of the beat-sorting network (one pipeline
register per layer); a merge pass takes one cycle per row and one more to write the last pair's
held keys (a pair's held keys are written while the next pair's first row is taken); the final
pass takes one cycle per row. All of this depends on ``n`` and ``P``
only. ``o`` is 1 when the output re-packer's last input row overflows into a second output row
(one more cycle to flush), else 0, exactly as the top-k engine's ``o_f``
(:meth:`SorterModel.run` computes it).
"""

from __future__ import annotations

from dataclasses import dataclass

import torch

from .topk import topk_reference

__all__ = ["SorterModel", "SorterRun", "sorter_cycles", "merge_passes", "sort_depth"]


def _check_lanes(lanes: int) -> int:
    if not isinstance(lanes, int) or isinstance(lanes, bool) or lanes < 1 or lanes & (lanes - 1):
        raise ValueError(f"lanes must be a power of two >= 1, not {lanes!r}")
    return lanes


def sort_depth(lanes: int) -> int:
    """Layers of Batcher's odd-even merge sort on ``lanes`` inputs: ``p (p + 1) / 2``,
    ``p = log2(lanes)``."""
    p = _check_lanes(lanes).bit_length() - 1
    return p * (p + 1) // 2


def merge_passes(n: int, lanes: int) -> int:
    """Merge passes over a frame of ``n`` scores: ``ceil(log2(ceil(n / lanes)))``."""
    rows = -(-n // _check_lanes(lanes))
    return (rows - 1).bit_length()


def sorter_cycles(n: int, lanes: int, overflow: bool = False) -> int:
    """The sorter's latency from the last input beat to the last output beat, output always ready
    (the module's cycle model); ``overflow`` is the output re-packer's extra flush cycle."""
    if not isinstance(n, int) or n < 1:
        raise ValueError(f"n must be an integer >= 1, not {n!r}")
    rows = -(-n // _check_lanes(lanes))
    merging = merge_passes(n, lanes) * (rows + 1)
    return 5 + sort_depth(lanes) + rows + merging + int(overflow)


@dataclass
class SorterRun:
    """One frame through :class:`SorterModel`: the kept ``indices`` and ``scores`` (as
    :func:`prunesim.golden.topk.topk_reference`), the ``threshold`` key (``None`` when ``k = 0``),
    and ``cycles`` (the module's cycle model)."""

    indices: torch.Tensor
    scores: torch.Tensor
    threshold: int | None
    cycles: int


class SorterModel:
    """Bit-exact model of :class:`prunesim.rtl.sorter.BatcherSorter`'s result and latency.

    ``width``, ``lanes`` and ``max_n`` as the RTL's; the model keeps no state between frames.
    """

    def __init__(self, lanes: int, max_n: int, width: int) -> None:
        self.lanes = _check_lanes(lanes)
        if not isinstance(width, int) or width < 1:
            raise ValueError(f"width must be an integer >= 1, not {width!r}")
        if not isinstance(max_n, int) or max_n < lanes:
            raise ValueError(f"max_n must be an integer >= lanes ({lanes}), not {max_n!r}")
        self.width = width
        self.max_n = max_n
        self.index_bits = (max_n - 1).bit_length()

    def key(self, score: int, index: int) -> int:
        """The sort key of ``score`` at ``index``: the score above the index's complement."""
        return score << self.index_bits | (~index & ((1 << self.index_bits) - 1))

    def _overflows(self, n: int, kept: set[int]) -> bool:
        """Whether the output re-packer, fed the kept elements one row of ``lanes`` at a time,
        needs a second cycle after the last row: it holds back up to ``lanes`` elements (a full
        row is held until it is known not to be the last)."""
        last_row = (n - 1) // self.lanes * self.lanes
        before = sum(1 for i in kept if i < last_row)
        in_last = len(kept) - before
        held = 0 if before == 0 else (before - 1) % self.lanes + 1
        return held + in_last > self.lanes

    def run(self, scores: torch.Tensor, k: int) -> SorterRun:
        """Run one frame of ``n`` scores (``1 <= n <= max_n``) with ``0 <= k <= max_n``."""
        values = [int(x) for x in scores.flatten().tolist()]
        n = len(values)
        if not 1 <= n <= self.max_n:
            raise ValueError(f"frame length must be in 1..{self.max_n}, not {n}")
        if not 0 <= k <= self.max_n:
            raise ValueError(f"k must be in 0..{self.max_n}, not {k}")
        if any(not 0 <= x < 1 << self.width for x in values):
            raise ValueError(f"scores must be unsigned {self.width}-bit values")
        indices, kept_scores = topk_reference(scores.flatten(), k)
        keys = sorted((self.key(x, i) for i, x in enumerate(values)), reverse=True)
        kept = min(k, n)
        threshold = keys[kept - 1] if kept else None
        selected = {i for i, x in enumerate(values) if kept and self.key(x, i) >= threshold}
        if selected != set(indices.tolist()):  # the key order is the contract's order
            raise AssertionError("the threshold key does not select the top-k contract's elements")
        cycles = sorter_cycles(n, self.lanes, self._overflows(n, selected))
        return SorterRun(indices, kept_scores, threshold, cycles)
