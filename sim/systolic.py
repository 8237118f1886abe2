"""Latency and traffic formulas of a systolic array running matrix products (vectorised, numpy).

A matrix product here is ``pixels x window`` (input, e.g. an im2col'ed feature map) times
``window x filters`` (weights); it produces ``pixels x filters`` outputs. The array has ``rows x
columns`` processing elements and one of SCALE-Sim's three dataflows (Samajdar et al., "SCALE-Sim:
Systolic CNN Accelerator Simulator", arXiv 1811.02883, and "A Systematic Methodology for
Characterizing Scalability of DNN Accelerators using SCALE-Sim", ISPASS 2020):

======  ===========================  ===================  ====================  ==============
flow    stays in the PEs             spatial rows (Sr)    spatial columns (Sc)  temporal (T)
======  ===========================  ===================  ====================  ==============
``ws``  weights                      window               filters               pixels
``os``  outputs                      pixels               filters               window
``is``  inputs                       window               pixels                filters
======  ===========================  ===================  ====================  ==============

:func:`compute_cycles`: the operand mapped on the array is cut into ``ceil(Sr / rows) x
ceil(Sc / columns)`` folds. A weight- or input-stationary fold loads its stationary operand
(``rows`` cycles), streams ``T`` elements through the skewed array and drains it: ``2 * rows +
columns + T - 2`` cycles (SCALE-Sim's analytical runtime for one fold); an output-stationary fold
has nothing to preload: ``rows + columns + T - 2`` (SCALE-Sim v3's os model, whose output drain
overlaps the next fold). Folds run back to back; a partial fold costs a full one (its idle PEs are
lost utilisation). ``prunesim bench scalesim`` runs SCALE-Sim v3 beside this on ResNet layers:
our count is its "Total Cycles" + 1 on every layer and dataflow (it reports the index, from 0, of
the last cycle).

Sparse weights (:func:`effective_window`): with unstructured density ``d`` an accelerator that
skips zero weights compresses each filter's reduction to its non-zero weights; the filters mapped
side by side in one fold advance in lockstep, so the fold takes as long as its densest filter.
With ``window * d`` non-zeros expected per filter (binomial), the expected maximum over the
``columns`` filters of a fold is approximated by the normal bound ``window * d + sqrt(2 ln columns)
* sqrt(window * d * (1 - d))`` (the expected maximum of ``columns`` standard normals is below
``sqrt(2 ln columns)``), never more than ``window``.

Compressed weights in DRAM (:func:`weight_bytes`): ``dense`` stores every weight; ``bitmask`` the
non-zero values plus one bit per weight; ``csr`` the non-zero values, one column index of
``index_bits`` per value and one row pointer of ``pointer_bits`` per filter (plus one).
"""

from __future__ import annotations

import numpy as np

__all__ = [
    "DATAFLOWS",
    "WEIGHT_FORMATS",
    "compute_cycles",
    "conv_compute_cycles",
    "effective_window",
    "spatial_temporal",
    "weight_bytes",
]

#: SCALE-Sim's dataflows: weight, output and input stationary.
DATAFLOWS = ("ws", "os", "is")
#: How weights sit in DRAM: every weight, values + a bitmask, or compressed sparse rows.
WEIGHT_FORMATS = ("dense", "bitmask", "csr")


def _check_dataflow(dataflow: str) -> None:
    if dataflow not in DATAFLOWS:
        raise ValueError(f"dataflow must be one of {', '.join(DATAFLOWS)}, not {dataflow!r}")


def spatial_temporal(
    pixels: np.ndarray, window: np.ndarray, filters: np.ndarray, dataflow: str
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """``(Sr, Sc, T)`` of a ``pixels x window`` by ``window x filters`` product (table above)."""
    _check_dataflow(dataflow)
    if dataflow == "ws":
        return window, filters, pixels
    if dataflow == "os":
        return pixels, filters, window
    return window, pixels, filters


def compute_cycles(
    pixels: np.ndarray | int,
    window: np.ndarray | int,
    filters: np.ndarray | int,
    rows: int,
    columns: int,
    dataflow: str,
) -> np.ndarray:
    """Cycles of one matrix product on a ``rows x columns`` array: ``(2 rows + columns + T - 2)
    x ceil(Sr / rows) x ceil(Sc / columns)`` (``rows + columns + T - 2`` per fold for ``os``),
    with ``(Sr, Sc, T)`` from :func:`spatial_temporal`.

    Sizes may be arrays (one product per element); every size must be >= 1.
    """
    pixels, window, filters = (np.asarray(x, dtype=np.int64) for x in (pixels, window, filters))
    if rows < 1 or columns < 1:
        raise ValueError(f"array must be at least 1 x 1, not {rows} x {columns}")
    sr, sc, t = spatial_temporal(pixels, window, filters, dataflow)
    folds = -(-sr // rows) * -(-sc // columns)
    preload = 0 if dataflow == "os" else rows
    return (preload + rows + columns + t - 2) * folds


def conv_compute_cycles(
    out_pixels: np.ndarray | int,
    filters: np.ndarray | int,
    window: np.ndarray | int,
    rows: int,
    columns: int,
    dataflow: str,
) -> np.ndarray:
    """:func:`compute_cycles` of a convolution given SCALE-Sim's way: ``out_pixels`` (output
    height x width), ``filters`` (output channels) and ``window`` (kernel height x width x input
    channels)."""
    return compute_cycles(out_pixels, window, filters, rows, columns, dataflow)


def effective_window(
    window: np.ndarray, density: np.ndarray, columns: np.ndarray | int
) -> np.ndarray:
    """The reduction length a zero-skipping array spends on a fold of ``columns`` filters (side
    by side, in lockstep) of ``window`` weights at unstructured ``density`` (module docstring):
    at least 1, at most ``window``; exactly ``window`` at density 1; the mean for one filter."""
    window = np.asarray(window, dtype=np.float64)
    density = np.asarray(density, dtype=np.float64)
    columns = np.maximum(np.asarray(columns, dtype=np.float64), 1.0)
    mean = window * density
    spread = np.sqrt(2.0 * np.log(columns)) * np.sqrt(window * density * (1.0 - density))
    return np.clip(np.ceil(mean + spread), 1.0, window)


def weight_bytes(
    weights: np.ndarray,
    filters: np.ndarray,
    density: np.ndarray,
    bits: np.ndarray,
    weight_format: str,
    *,
    index_bits: int = 16,
    pointer_bits: int = 32,
) -> np.ndarray:
    """Bytes of ``weights`` weights (``filters`` filters) at ``density`` and ``bits`` per value,
    stored as ``weight_format`` (module docstring). ``dense`` ignores the density."""
    weights = np.asarray(weights, dtype=np.float64)
    bits = np.asarray(bits, dtype=np.float64)
    nonzero = np.ceil(weights * np.asarray(density, dtype=np.float64))
    if weight_format == "dense":
        return weights * bits / 8
    if weight_format == "bitmask":
        return (nonzero * bits + weights) / 8
    if weight_format == "csr":
        pointers = np.asarray(filters, dtype=np.float64) + 1
        return (nonzero * (bits + index_bits) + pointers * pointer_bits) / 8
    raise ValueError(
        f"weight format must be one of {', '.join(WEIGHT_FORMATS)}, not {weight_format!r}"
    )
