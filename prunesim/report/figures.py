"""Matplotlib for the report's figures: :func:`pyplot`, set up the same way for every section."""

from __future__ import annotations

from typing import Any

__all__ = ["pyplot"]


def pyplot() -> Any:
    """``matplotlib.pyplot`` on the Agg backend (no display), with the report's settings (9-point
    type, a fixed SVG hash salt so that output is deterministic)."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    plt.rcParams.update({"font.size": 9, "svg.hashsalt": "prunesim"})
    return plt
