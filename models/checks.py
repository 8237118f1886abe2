"""Argument validators shared by the model descriptions of :mod:`prunesim.models`.

Each ``check_*`` function returns ``None`` when ``value`` is acceptable and otherwise raises
:class:`ValueError` with one line that names the owner (the class or function being
constructed), the field and the offending value, e.g. ``Conv2d kernel must be a positive
integer, not 0``. ``bool`` is never accepted where an integer or a number is expected: ``True``
as a layer count is a bug, not a 1. Importing this module imports only the standard library.
"""

from __future__ import annotations

__all__ = [
    "check_bool",
    "check_name",
    "check_non_negative_int",
    "check_positive_int",
    "check_positive_number",
    "check_source",
]


def check_positive_int(owner: str, field: str, value: object) -> None:
    """Accept an ``int`` >= 1 (not a ``bool``).

    Raises :class:`ValueError` ``{owner} {field} must be a positive integer, not {value!r}``.
    """
    if not isinstance(value, int) or isinstance(value, bool) or value <= 0:
        raise ValueError(f"{owner} {field} must be a positive integer, not {value!r}")


def check_non_negative_int(owner: str, field: str, value: object) -> None:
    """Accept an ``int`` >= 0 (not a ``bool``).

    Raises :class:`ValueError` ``{owner} {field} must be a non-negative integer, not
    {value!r}``.
    """
    if not isinstance(value, int) or isinstance(value, bool) or value < 0:
        raise ValueError(f"{owner} {field} must be a non-negative integer, not {value!r}")


def check_positive_number(owner: str, field: str, value: object) -> None:
    """Accept an ``int`` or ``float`` > 0 (not a ``bool``; NaN fails).

    Raises :class:`ValueError` ``{owner} {field} must be a positive number, not {value!r}``.
    """
    if isinstance(value, bool) or not isinstance(value, int | float) or not value > 0:
        raise ValueError(f"{owner} {field} must be a positive number, not {value!r}")


def check_bool(owner: str, field: str, value: object) -> None:
    """Accept ``True`` or ``False`` only (not ``0``/``1``).

    Raises :class:`ValueError` ``{owner} {field} must be a bool, not {value!r}``.
    """
    if not isinstance(value, bool):
        raise ValueError(f"{owner} {field} must be a bool, not {value!r}")


def check_name(owner: str, value: object) -> None:
    """Accept a non-empty ``str`` as the owner's ``name`` field.

    Raises :class:`ValueError` ``{owner} name must be a non-empty string, not {value!r}``.
    """
    if not isinstance(value, str) or not value:
        raise ValueError(f"{owner} name must be a non-empty string, not {value!r}")


def check_source(owner: str, value: object) -> None:
    """Accept any ``str`` (empty included) as the owner's ``source`` field.

    Raises :class:`ValueError` ``{owner} source must be a string, not {value!r}``.
    """
    if not isinstance(value, str):
        raise ValueError(f"{owner} source must be a string, not {value!r}")
