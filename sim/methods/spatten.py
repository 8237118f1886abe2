"""SpAtten's techniques (Wang, Zhang, Han, HPCA 2021) as a per-layer plan.

* Cascade token pruning: tokens pruned at a layer never return. The schedule of the paper: no
  pruning in the first ``token_start`` (15%) of the layers, then the keep ratio ramps down
  linearly with ``r_start + r_end = 2 r_avg``, ``r_avg`` being the ramp's mean keep ratio, chosen
  so that the mean over *all* layers equals ``token_keep``. The paper does not publish the slope:
  we take the steepest ramp that keeps ``r_start <= 1`` and ``r_end >= r_avg / 2``
  (``r_end = max(2 r_avg - 1, r_avg / 2)``), or ``token_ramp_end`` when given.
* Cascade head pruning: the same schedule for heads, none in the first ``head_start`` (30%).
* Local V pruning: each query reads the values of the ``v_keep`` fraction of its keys with the
  largest probabilities (a top-k per query on the second top-k engine). It saves DRAM traffic
  only where values are fetched per query (generation); in summarization every value sits in
  the V SRAM anyway, and the one local-V top-k engine (about ``3.5 keys / 16`` cycles per query)
  cannot keep up with Q.K (``keys / 8``), so it would slow SpAtten down: ``v_pruning`` = None
  switches it on for generation only (``v_pruning=true`` shows the slowdown).
* Static quantization: Q, K, V stored with ``q_bits``, ``k_bits``, ``v_bits`` (32 = float).
* Progressive quantization: keys fetched as ``k_bits`` MSBs; the fraction ``lsb_fraction`` of
  queries whose attention is too flat fetch ``lsb_bits`` LSBs and recompute (default 5.9%, the
  paper's average). The paper uses it for generation (memory-bound GPT-2) and static
  quantization for summarization (BERT): ``progressive`` = None follows that.

Defaults (the released GPT-2-small trace's configuration where it has one): mean token keep
0.28 (the trace fetches 27.6% of the sequence's keys per query on average, over its 4608
queries), V keep 0.2 (the trace: 19.9% of the keys), 16-bit queries, 6-bit keys and values and
4 LSB bits (the trace's configuration), LSB fraction 5.9% (the paper's mean; the trace has 7.0%),
head keep 0.9 (not published per benchmark: taken from the paper's 1.1x DRAM gain of head
pruning, so that figure is not an independent check).
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field, replace
from typing import Annotated

from prunesim.models.transformer import TransformerConfig
from prunesim.sim.methods import register_method
from prunesim.sim.methods.base import (
    UNQUANTIZED_BITS,
    Bits,
    TransformerPlan,
    check_fraction,
)
from prunesim.sim.methods.common import PlannerMethod
from prunesim.sim.methods.options import Range, TypedOptions
from prunesim.sim.workload import Generate, Stage

__all__ = ["ALL_OFF", "ORDER", "VARIANTS", "SpAttenOptions", "cascade_schedule", "plan"]

#: A keep ratio, (0, 1].
Ratio = Annotated[float, Range(0, 1, low_open=True)]
#: A share of layers or queries, [0, 1].
Share = Annotated[float, Range(0, 1)]


@dataclass(frozen=True)
class SpAttenOptions(TypedOptions):
    """Every knob of SpAtten's techniques; each technique can be switched on alone."""

    token_pruning: bool = True
    token_keep: Ratio = 0.28  # mean keep ratio over all layers
    token_start: Share = 0.15  # fraction of the first layers that keep every token
    token_ramp_end: Ratio | None = None  # keep ratio of the last layer (None: see module doc)
    head_pruning: bool = True
    head_keep: Ratio = 0.9
    head_start: Share = 0.30
    head_ramp_end: Ratio | None = None
    v_pruning: bool | None = None  # None: on for generation, off for summarization
    v_keep: Ratio = 0.2  # fraction of each query's values read
    quantization: bool = True
    q_bits: Bits = 16
    k_bits: Bits = 6  # the MSB plane with progressive quantization
    v_bits: Bits = 6
    progressive: bool | None = None  # None: on for generation, off for summarization
    lsb_bits: Bits = 4
    lsb_fraction: Share = 0.059
    notes: tuple[str, ...] = field(default=(), compare=False)

    def validate(self) -> SpAttenOptions:
        """Raise ValueError naming the first bad option; return self. (Ratios, shares and bit
        widths, :data:`~prunesim.sim.methods.base.BITS`, are checked against their ranges on
        construction.)"""
        if not 1 <= self.lsb_bits <= UNQUANTIZED_BITS - self.k_bits:
            raise ValueError(
                f"lsb_bits must be in 1..{UNQUANTIZED_BITS - self.k_bits} "
                f"(k_bits + lsb_bits <= 32), not {self.lsb_bits}"
            )
        return self


def cascade_schedule(
    layers: int, keep: float, start: float, ramp_end: float | None = None
) -> list[float]:
    """Per-layer keep ratios: 1 for the first ``round(start x layers)`` layers, then a linear ramp.

    The ramp's mean ``r_avg`` makes the mean over all layers equal ``keep``; its ends satisfy
    ``r_start + r_end = 2 r_avg`` with ``r_end = max(2 r_avg - 1, r_avg / 2)`` unless
    ``ramp_end`` is given. Never increasing. Raises ValueError if ``keep`` cannot be reached
    (below the share of the unpruned layers) or ``ramp_end`` makes ``r_start`` exceed 1.
    """
    check_fraction("keep", keep)
    unpruned = min(layers, int(math.floor(start * layers + 0.5)))
    ramp = layers - unpruned
    if keep == 1 or ramp == 0:
        if keep != 1:
            raise ValueError(
                f"keep ratio {keep} needs pruned layers, but start {start} leaves none of {layers}"
            )
        return [1.0] * layers
    r_avg = (layers * keep - unpruned) / ramp
    if r_avg <= 0:
        raise ValueError(
            f"keep ratio {keep} is too low: the first {unpruned} of {layers} layers keep every "
            f"token, so the mean keep ratio is at least {unpruned / layers:.3f}"
        )
    r_end = max(2 * r_avg - 1, r_avg / 2) if ramp_end is None else ramp_end
    r_start = 2 * r_avg - r_end
    if r_start > 1 + 1e-12 or r_start < r_end - 1e-12:
        raise ValueError(
            f"ramp end {r_end} does not fit a mean keep ratio {keep}: the ramp would start at "
            f"{r_start:.3f} (must be between the end and 1)"
        )
    if ramp == 1:
        ramp_values = [r_avg]
    else:
        ramp_values = [r_start + (r_end - r_start) * i / (ramp - 1) for i in range(ramp)]
    return [1.0] * unpruned + ramp_values


def plan(model: TransformerConfig, stage: Stage, options: SpAttenOptions) -> TransformerPlan:
    """The per-layer plan of SpAtten's techniques that ``options`` switches on."""
    options.validate()
    layers = model.layers
    notes = list(options.notes)
    token_keep = (
        cascade_schedule(layers, options.token_keep, options.token_start, options.token_ramp_end)
        if options.token_pruning
        else [1.0] * layers
    )
    head_keep = (
        cascade_schedule(layers, options.head_keep, options.head_start, options.head_ramp_end)
        if options.head_pruning
        else [1.0] * layers
    )
    v_pruning = options.v_pruning
    if v_pruning is None:
        v_pruning = isinstance(stage, Generate)
    progressive = options.progressive
    if progressive is None:
        progressive = options.quantization and isinstance(stage, Generate)
    if progressive and not options.quantization:
        raise ValueError("progressive quantization needs quantization on")
    bits = (
        (options.q_bits, options.k_bits, options.v_bits)
        if options.quantization
        else (UNQUANTIZED_BITS,) * 3
    )
    if options.quantization and not progressive:
        notes.append(f"static quantization: Q/K/V at {bits[0]}/{bits[1]}/{bits[2]} bits")
    if progressive:
        notes.append(
            f"progressive quantization: K {options.k_bits}+{options.lsb_bits} bits, "
            f"{options.lsb_fraction:.1%} of queries fetch the LSBs"
        )
    return TransformerPlan(
        token_keep=token_keep,
        head_keep=head_keep,
        v_keep=options.v_keep if v_pruning else 1.0,
        q_bits=bits[0],
        k_bits=bits[1],
        k_lsb_bits=options.lsb_bits if progressive else 0,
        v_bits=bits[2],
        lsb_fraction=options.lsb_fraction if progressive else 0.0,
        notes=notes,
    )


#: Every technique switched off: with these options SpAtten's planner gives the dense model.
ALL_OFF: dict[str, bool] = dict(
    token_pruning=False,
    head_pruning=False,
    v_pruning=False,
    quantization=False,
    progressive=False,
)
#: The ablation: each technique alone, and all of them (``dense``, every technique off, is
#: :mod:`prunesim.sim.methods.dense`).
VARIANTS: dict[str, tuple[str, SpAttenOptions]] = {
    "spatten-token": (
        "cascade token pruning only",
        replace(SpAttenOptions(**ALL_OFF), token_pruning=True),
    ),
    "spatten-head": (
        "cascade head pruning only",
        replace(SpAttenOptions(**ALL_OFF), head_pruning=True),
    ),
    "spatten-vprune": (
        "local V pruning only",
        replace(SpAttenOptions(**ALL_OFF), v_pruning=True),
    ),
    "spatten-quant": (
        "static quantization only (Q/K/V at q_bits/k_bits/v_bits)",
        replace(SpAttenOptions(**ALL_OFF), quantization=True),
    ),
    "spatten-pq": (
        "progressive quantization only (K MSBs + LSBs on demand, V at v_bits)",
        replace(SpAttenOptions(**ALL_OFF), quantization=True, progressive=True),
    ),
    "spatten": (
        "all of SpAtten: token, head and local V pruning, progressive quantization",
        SpAttenOptions(),
    ),
}

#: Where SpAtten's methods sort in listings: after ``dense``, before the LVLM methods.
ORDER = 10

for _rank, (_name, (_summary, _options)) in enumerate(VARIANTS.items()):
    register_method(
        PlannerMethod(_name, _summary, _options, order=ORDER + _rank / 10, planner=plan)
    )
