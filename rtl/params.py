"""Validation of RTL constructor parameters: one place, one message style.

Messages follow Amaranth's own (``"FIFO width must be a non-negative integer, not ..."``) and name
the parameter, so the CLI can print them as they are.
"""

from __future__ import annotations

__all__ = ["check_int", "check_lanes"]


def check_int(name: str, value: object, minimum: int) -> int:
    """Return ``value`` if it is an integer >= ``minimum``; raise ``ValueError`` naming ``name``."""
    if not isinstance(value, int) or isinstance(value, bool) or value < minimum:
        raise ValueError(f"{name} must be an integer >= {minimum}, not {value!r}")
    return value


def check_lanes(value: object, name: str = "lanes") -> int:
    """Return ``value`` if it is a power of two >= 1; raise ``ValueError`` naming ``name``."""
    if not isinstance(value, int) or isinstance(value, bool) or value < 1 or value & (value - 1):
        raise ValueError(f"{name} must be a power of two >= 1, not {value!r}")
    return value
