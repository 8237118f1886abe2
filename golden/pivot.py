"""The top-k engine's pseudo-random pivot draw (pure Python, no PyTorch).

Shared by the golden model (:mod:`prunesim.golden.topk`) and the RTL
(:mod:`prunesim.rtl.topk`, which needs only :data:`PIVOT_SEED`): importing this module loads
nothing but the standard library, so generating Verilog does not load PyTorch.

A draw from ``m`` elements takes the element at position ``(r * m) >> 16`` (:func:`pivot_position`)
where ``r`` is the next value of a 16-bit xorshift generator (:func:`xorshift16`; shifts 7, 9, 8;
period 65535) stepped once per draw, its state starting at :data:`PIVOT_SEED` on reset.
"""

from __future__ import annotations

__all__ = ["PIVOT_SEED", "xorshift16", "pivot_position"]

#: Reset value of the pivot generator's state (any non-zero 16-bit value works).
PIVOT_SEED = 0xACE1


def xorshift16(state: int) -> int:
    """Return the next state of the 16-bit xorshift generator (shifts 7, 9, 8).

    The generator visits all 65535 non-zero states; zero maps to zero, so the state must never be
    zero (:data:`PIVOT_SEED` is not).
    """
    state ^= (state << 7) & 0xFFFF
    state ^= state >> 9
    state ^= (state << 8) & 0xFFFF
    return state


def pivot_position(rand: int, m: int) -> int:
    """Position in ``range(m)`` of the pivot drawn with the 16-bit random value ``rand``."""
    return (rand * m) >> 16
