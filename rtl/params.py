"""Validation of RTL constructor parameters: one place, one message style.

Messages follow Amaranth's own (``"FIFO width must be a non-negative integer, not ..."``) and name
the parameter, so the CLI can print them as they are: ``TypeError`` when a value is not an integer
(a ``bool`` is not one), ``ValueError`` when it is out of range.

A block's constructor parameters that the command line exposes each have a :class:`Limit`,
declared once beside the constructor (e.g. :data:`prunesim.rtl.topk.TopK.LIMITS`): the constructor
checks it, ``prunesim verilog <block> --help`` states it and :mod:`prunesim.rtl.blocks` reads it.
"""

from __future__ import annotations

from dataclasses import dataclass

__all__ = ["Limit", "check_int", "check_lanes"]


def _check_is_int(name: str, value: object) -> None:
    if not isinstance(value, int) or isinstance(value, bool):
        raise TypeError(f"{name} must be an integer, not {value!r}")


def check_int(name: str, value: object, minimum: int, maximum: int | None = None) -> int:
    """Return ``value`` if it is an integer >= ``minimum`` (and <= ``maximum`` when given).

    Raises ``TypeError`` naming ``name`` if ``value`` is not an integer, ``ValueError`` naming
    ``name`` and the range if it is out of range.
    """
    _check_is_int(name, value)
    if maximum is None:
        if value < minimum:
            raise ValueError(f"{name} must be an integer >= {minimum}, not {value!r}")
    elif not minimum <= value <= maximum:
        raise ValueError(f"{name} must be an integer in {minimum}..{maximum}, not {value!r}")
    return value


def check_lanes(value: object, name: str = "lanes") -> int:
    """Return ``value`` if it is a power of two >= 1; ``TypeError`` naming ``name`` if it is not
    an integer, ``ValueError`` naming ``name`` otherwise."""
    _check_is_int(name, value)
    if value < 1 or value & (value - 1):
        raise ValueError(f"{name} must be a power of two >= 1, not {value!r}")
    return value


@dataclass(frozen=True)
class Limit:
    """The range ``low..high`` (both included) of an integer constructor parameter.

    ``why`` says in a few words where ``high`` comes from (what the block costs beyond it);
    ``power_of_two`` also asks for a power of two. :meth:`check` is what the constructor calls;
    :meth:`text` is how ``--help`` and the messages write the range.
    """

    low: int
    high: int
    why: str = ""
    power_of_two: bool = False

    def __post_init__(self) -> None:
        if not 0 <= self.low <= self.high:
            raise ValueError(f"a limit needs 0 <= low <= high, not {self.low}..{self.high}")

    def text(self) -> str:
        """``"1..64"``, or ``"a power of two in 1..64"``."""
        span = f"{self.low}..{self.high}"
        return f"a power of two in {span}" if self.power_of_two else span

    def check(self, name: str, value: object) -> int:
        """Return ``value`` if it is an integer in range; ``TypeError``/``ValueError`` naming
        ``name``, the value and the range otherwise."""
        _check_is_int(name, value)
        bad_power = self.power_of_two and value & (value - 1)
        if not self.low <= value <= self.high or bad_power:
            raise ValueError(f"{name} must be {self._noun()}, not {value!r}")
        return value

    def _noun(self) -> str:
        if self.power_of_two:
            return f"a power of two in {self.low}..{self.high}"
        return f"an integer in {self.low}..{self.high}"
