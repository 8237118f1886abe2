"""The figure of a sweep: every point on two objectives, the Pareto front drawn over them.

:func:`plot_sweep` draws the rows of a sweep (a pandas DataFrame with the columns of
:data:`prunesim.sim.pareto.OBJECTIVES`): the first objective on x, the second on y, each axis
logarithmic when its values (all positive) span more than a decade; area as the points' colour
when the frame has area values and area is not an axis; the front of the objectives given (2 or
3: with 3, the third is shown as colour when it is area, and the front is that of all three) as
marked points joined in x order. Rows with a missing value on an axis are left out (the caption
says how many). Returns the file's bytes (SVG or PNG by ``fmt``), deterministic for SVG.
"""

from __future__ import annotations

import io
from collections.abc import Sequence
from typing import Any

__all__ = ["FORMATS", "UNITS", "plot_sweep"]

#: The file formats, by suffix.
FORMATS = ("svg", "png")
#: Each objective's axis label.
UNITS = {
    "latency": "latency (s)",
    "energy": "energy (J)",
    "area": "area (mm$^2$)",
    "dram": "DRAM traffic (bytes)",
}


def _log(values: Any) -> bool:
    """A log axis: every value positive and the largest more than 10x the smallest."""
    return len(values) > 0 and bool((values > 0).all()) and values.max() > 10 * values.min()


def plot_sweep(frame: Any, objectives: Sequence[str], fmt: str, title: str | None = None) -> bytes:
    """The figure of ``frame``'s rows on ``objectives`` (see the module docstring) as ``fmt``
    (``"svg"`` or ``"png"``) bytes. ValueError for another format or a bad objective."""
    import numpy as np

    from prunesim.report.figures import pyplot
    from prunesim.sim.pareto import OBJECTIVES, check_objectives, pareto_mask

    if fmt not in FORMATS:
        raise ValueError(f"a plot is SVG or PNG (.svg, .png), not {fmt!r}")
    names = check_objectives(list(objectives))
    x_name, y_name = names[:2]
    x_all = np.asarray(frame[OBJECTIVES[x_name]], dtype=float)
    y_all = np.asarray(frame[OBJECTIVES[y_name]], dtype=float)
    shown = ~(np.isnan(x_all) | np.isnan(y_all))
    on_front = pareto_mask(frame, names) & shown
    x, y = x_all[shown], y_all[shown]
    colour = None
    if "area" not in names[:2] and OBJECTIVES["area"] in frame:
        area = np.asarray(frame[OBJECTIVES["area"]], dtype=float)[shown]
        if len(area) and not np.isnan(area).all():
            colour = area

    plt = pyplot()
    fig, ax = plt.subplots(figsize=(6.0, 4.2))
    try:
        if colour is not None:
            known = ~np.isnan(colour)
            points = ax.scatter(
                x[known],
                y[known],
                c=colour[known],
                s=12,
                cmap="viridis",
                alpha=0.8,
                linewidths=0,
                label="points",
            )
            fig.colorbar(points, ax=ax, label=UNITS["area"])
            if (~known).any():
                ax.scatter(x[~known], y[~known], s=12, color="0.6", linewidths=0)
        else:
            ax.scatter(x, y, s=12, color="tab:blue", alpha=0.7, linewidths=0, label="points")
        fx, fy = x_all[on_front], y_all[on_front]
        order = np.lexsort((fy, fx))
        ax.plot(
            fx[order],
            fy[order],
            color="tab:red",
            marker="o",
            markersize=4,
            linewidth=1.2,
            drawstyle="steps-post" if len(names) == 2 else "default",
            label=f"Pareto front ({', '.join(names)})",
        )
        if _log(x):
            ax.set_xscale("log")
        if _log(y):
            ax.set_yscale("log")
        ax.set_xlabel(UNITS[x_name])
        ax.set_ylabel(UNITS[y_name])
        left_out = int((~shown).sum())
        caption = f"{int(shown.sum())} points, {int(on_front.sum())} on the front"
        if left_out:
            caption += f", {left_out} without {x_name} or {y_name} not shown"
        ax.set_title(title or caption, fontsize=9)
        if title:
            fig.text(0.01, 0.01, caption, fontsize=7)
        ax.legend(loc="best", fontsize=7)
        ax.grid(True, which="major", linewidth=0.3, alpha=0.5)
        fig.tight_layout()
        buffer = io.BytesIO()
        metadata = {"Date": None} if fmt == "svg" else {}
        fig.savefig(buffer, format=fmt, dpi=120, metadata=metadata)
    finally:
        plt.close(fig)
    return buffer.getvalue()
