"""VFlowOpt (Yang et al., ICCV 2025, arXiv 2508.05211): visual-information-flow-guided token
pruning for LMMs, as a per-layer visual token schedule.

Paper and code facts:

* [paper] Visual tokens are pruned in three stages: before the LLM (retention R1), and at two
  LLM layers, 9 and 18 for LLaVA-OneVision-7B (10 and 20 for LLaVA-NeXT-7B), with retentions
  R2 and R3, each a fraction of the previous stage's tokens. "Keep 10%" means the mean
  retention over the LLM layers. The vision encoder runs in full.
* [code] The released LLaVA-OV schedules (R1, R2, R3) and recycling cell sides ``a``
  (``illava_vit_r``, ``illava_llm_r``, ``illava_vit_m`` in the authors' lmms-eval wrapper):
  50%: (0.72332, 0.74875, 0.487), a = 11.757; 25%: (0.26510, 0.98334, 0.87733), a = 15.581;
  10%: (0.11662, 1.0, 0.6011), a = 17.387 (the configuration the code ships active). The full
  precision values are in :data:`SCHEDULES`.
* [code] The LLM stages cut the sequence *before* layers 9 and 18 run, so layers 0-8 see the
  R1 count, 9-17 R1 R2, 18-27 R1 R2 R3. Checked: the mean retention over the 28 layers is
  then 0.5008 / 0.2507 / 0.1000 for the three schedules (:func:`mean_schedule_retention`).
* [code] Counts: a stage of retention R on ``n`` tokens removes ``round(n (1 - R))`` (Python's
  round, half to even) and keeps the rest. Stage 1 works per image, stages 2 and 3 on all the
  visual tokens of the sequence.
* [code] Recycling (stage 1): besides the ``round(n (1 - R1))`` pruned tokens, the code prunes
  ``floor(n / a^2)`` more, groups all pruned tokens by grid cell (cells of ``a x a`` tokens on
  the image's token grid), merges each group into one token (attention-weighted average) and
  keeps it. Stage 1 therefore keeps ``n - round(n (1 - R1)) - floor(n / a^2) + cells``.

Our readings:

* Occupied cells: we count every cell as holding a pruned token, ``cells = ceil(side / a)^2``
  with ``side = ceil(sqrt(n))`` (27 for 729 tokens, 24 for 576), capped by the tokens pruned:
  the upper bound, reached whenever pruning is heavy (it is at every released target).
* ``recycle_compensate=False`` drops the ``floor(n / a^2)`` extra pruning, i.e. recycling adds
  ``ceil(side / a)^2`` tokens per image on top of the R1 count.
* ``recycle_cell=0`` switches recycling off.
* Tokens per image: the model's ``visual_tokens_per_image`` unless ``tokens_per_image`` says
  otherwise. The LLaVA-OV preset's unit is AIM's pooled video frame (196 tokens); VFlowOpt's
  image benchmarks run 729-token SigLIP crops (``tokens_per_image=729``; AnyRes, up to 10 crops
  plus newline tokens, is not modelled). Compare with a dense schedule of the same unit. The
  code's video path prunes stage 1 over the whole clip and does not recycle: use
  ``recycle_cell=0`` there (per-frame rounding then differs by under one token per frame).
* LLaVA-NeXT-7B: only the LLaVA-OV schedules are released; by default ``target`` uses them with
  NeXT's layers (10, 20). Its mean retention is then not exactly the target.

Overheads: the recycling merge, one weighted add per pruned token and feature, ``pruned x
llm.hidden`` MACs per image (the code merges projected features). Token importance reuses the
vision encoder's attention map (already computed) and an entropy of each patch's pixels (a
histogram, no MACs); the LLM stages reuse that score; no scoring MACs are counted.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Annotated

from prunesim.models.lvlm import LVLMConfig
from prunesim.sim.methods import register_method
from prunesim.sim.methods.common import VisualMethod
from prunesim.sim.methods.lvlm import (
    VisualSchedule,
    check_input,
    check_layer,
    check_supported,
)
from prunesim.sim.methods.options import Range, TypedOptions

__all__ = [
    "DEFAULT_LAYERS",
    "SCHEDULES",
    "SUPPORTED",
    "VFlowOptOptions",
    "mean_schedule_retention",
    "schedule",
    "stage_keep",
]

#: The models the paper evaluates that prunesim describes (Qwen2-VL is not in the zoo).
SUPPORTED: tuple[str, ...] = ("llava-onevision-7b", "llava-next-7b")
#: The LLM layers at which stages 2 and 3 cut the sequence (they run on fewer tokens) [paper].
DEFAULT_LAYERS: dict[str, tuple[int, int]] = {
    "llava-onevision-7b": (9, 18),
    "llava-next-7b": (10, 20),
}
#: The released LLaVA-OV schedules by target mean retention: (R1, R2, R3, cell side a) [code].
SCHEDULES: dict[float, tuple[float, float, float, float]] = {
    0.5: (0.7233201448753168, 0.748747637472693, 0.487, 11.756787150848968),
    0.25: (0.2651026358526424, 0.9833433139039235, 0.8773258179532721, 15.580797034937687),
    0.1: (0.11661529508161146, 1.0, 0.6011, 17.386981849158786),
}

#: A stage's retention, (0, 1].
_Retention = Annotated[float, Range(0, 1, low_open=True)]


@dataclass(frozen=True)
class VFlowOptOptions(TypedOptions):
    """VFlowOpt's knobs.

    * ``target``: a released schedule, 0.5, 0.25 or 0.1 (mean retention over the layers);
      default 0.1, the configuration the authors' code ships active and the paper's headline
      (90% of the visual tokens pruned). None: ``r1``, ``r2``, ``r3`` must all be given.
    * ``r1``, ``r2``, ``r3``: stage retentions in (0, 1]; each overrides the target's value.
    * ``recycle_cell``: the side ``a`` of a recycling cell in tokens (may be fractional, as
      released); None: the target's released value (no recycling without a target); 0: off.
    * ``recycle_compensate``: prune ``floor(n / a^2)`` extra tokens to pay for the recycled ones,
      as the released code does.
    * ``stage2_layer``, ``stage3_layer``: the first layers that see the stage-2 and stage-3
      counts; None: (9, 18) for LLaVA-OV-7B, (10, 20) for LLaVA-NeXT-7B.
    * ``tokens_per_image``: None: the model's (196, a pooled video frame, for the LLaVA-OV
      preset; 576 for NeXT); 729 is an unpooled SigLIP crop, VFlowOpt's image setting.
    """

    target: float | None = 0.1
    r1: _Retention | None = None
    r2: _Retention | None = None
    r3: _Retention | None = None
    recycle_cell: float | None = None
    recycle_compensate: bool = True
    stage2_layer: int | None = None
    stage3_layer: int | None = None
    tokens_per_image: int | None = None

    def validate(self) -> VFlowOptOptions:
        """Raise ValueError naming the first bad option; return self (the retentions' range and
        every option's type are checked on construction)."""
        if self.target is not None and self.target not in SCHEDULES:
            raise ValueError(
                f"target must be one of {', '.join(str(t) for t in SCHEDULES)} or None, "
                f"not {self.target!r}"
            )
        for name in ("r1", "r2", "r3"):
            if getattr(self, name) is None and self.target is None:
                raise ValueError(f"{name} must be given when target is None")
        cell = self.recycle_cell
        if cell is not None and (math.isinf(cell) or not (cell == 0 or cell >= 1)):  # NaN too
            raise ValueError(f"recycle_cell must be 0 (off) or a cell side >= 1, not {cell!r}")
        for name in ("stage2_layer", "stage3_layer"):
            value = getattr(self, name)
            if value is not None and value < 1:
                raise ValueError(f"{name} must be a layer >= 1 or None, not {value!r}")
        return self

    def retentions(self) -> tuple[float, float, float]:
        """(R1, R2, R3): the explicit values, else the target's."""
        base = SCHEDULES[self.target][:3] if self.target is not None else (None,) * 3
        return tuple(
            float(explicit if explicit is not None else default)
            for explicit, default in zip((self.r1, self.r2, self.r3), base, strict=True)
        )

    def cell(self) -> float:
        """The recycling cell side: explicit, else the target's, else 0 (off)."""
        if self.recycle_cell is not None:
            return float(self.recycle_cell)
        return SCHEDULES[self.target][3] if self.target is not None else 0.0


def stage_keep(tokens: int, retention: float) -> int:
    """Tokens a stage of ``retention`` keeps of ``tokens``: ``tokens - round(tokens (1 - R))``."""
    return tokens - round(tokens * (1 - retention))


def _grid_side(tokens: int) -> int:
    """The side of the smallest square token grid holding ``tokens`` (27 for 729)."""
    side = math.isqrt(tokens)
    return side if side * side == tokens else side + 1


def _stage1(tokens: int, r1: float, cell: float, compensate: bool) -> tuple[int, int, int]:
    """(kept, pruned-and-merged, recycled) tokens of one image in stage 1."""
    pruned = round(tokens * (1 - r1))
    if cell == 0:
        return tokens - pruned, 0, 0
    extra = math.floor(tokens / (cell * cell)) if compensate else 0
    dropped = min(tokens, pruned + extra)
    recycled = min(math.ceil(_grid_side(tokens) / cell) ** 2, dropped)
    return tokens - dropped + recycled, dropped, recycled


def mean_schedule_retention(
    r1: float, r2: float, r3: float, layers: int, stage2_layer: int, stage3_layer: int
) -> float:
    """Mean retention over ``layers`` layers of a schedule in ratios (no rounding, no recycling):
    ``R1`` before ``stage2_layer``, ``R1 R2`` before ``stage3_layer``, ``R1 R2 R3`` after."""
    if not 0 < stage2_layer <= stage3_layer < layers:
        raise ValueError(
            f"stage layers must satisfy 0 < stage2_layer <= stage3_layer < layers, "
            f"not {stage2_layer}, {stage3_layer}, {layers}"
        )
    first = stage2_layer
    second = stage3_layer - stage2_layer
    third = layers - stage3_layer
    return (first * r1 + second * r1 * r2 + third * r1 * r2 * r3) / layers


def schedule(
    model: LVLMConfig,
    images: int | None = None,
    text_tokens: int | None = None,
    options: VFlowOptOptions | None = None,
) -> VisualSchedule:
    """VFlowOpt's visual token schedule for ``images`` images (crops) and ``text_tokens`` text
    tokens (both default to the model's defaults).

    Raises ValueError for an unsupported model, a bad option (naming it; the stage layers must
    satisfy ``1 <= stage2_layer < stage3_layer <= layers - 1``) or a bad input size.
    """
    check_supported("vflowopt", model, SUPPORTED)
    options = (options or VFlowOptOptions()).validate()
    images, text_tokens, per_image = check_input(
        model, images, text_tokens, options.tokens_per_image
    )
    layers = model.llm.layers
    default2, default3 = DEFAULT_LAYERS[model.name]
    l2 = default2 if options.stage2_layer is None else options.stage2_layer
    l3 = default3 if options.stage3_layer is None else options.stage3_layer
    check_layer("stage2_layer", l2, model, last=layers - 2)
    check_layer("stage3_layer", l3, model)
    if l3 <= l2:
        raise ValueError(f"stage3_layer ({l3}) must come after stage2_layer ({l2})")

    r1, r2, r3 = options.retentions()
    cell = options.cell()
    kept, dropped, recycled = _stage1(per_image, r1, cell, options.recycle_compensate)
    v1 = images * kept
    v2 = stage_keep(v1, r2)
    v3 = stage_keep(v2, r3)
    visual = tuple(v1 if layer < l2 else v2 if layer < l3 else v3 for layer in range(layers))

    overhead: tuple[tuple[str, int], ...] = ()
    if recycled:
        overhead = (("vflowopt-recycle", images * dropped * model.llm.hidden),)
    target = "explicit" if options.target is None else f"target {options.target:g}"
    notes = [
        f"vflowopt {target}: R1={r1:.4f}, R2={r2:.4f}, R3={r3:.4f}; layers 0-{l2 - 1} see "
        f"{v1} visual tokens, {l2}-{l3 - 1} see {v2}, {l3}-{layers - 1} see {v3}",
        (
            f"recycling: cell side {cell:g}, {recycled} merged token(s) per image kept "
            f"({dropped} pruned tokens merged per image)"
            if recycled
            else "no recycling"
        ),
        "scoring reuses the vision encoder's attention and a pixel entropy: no MACs counted",
    ]
    if model.name != "llava-onevision-7b" and options.target is not None:
        notes.append(f"the released schedules are LLaVA-OV's; {model.name}'s are not published")
    return VisualSchedule(
        images=images,
        encoder_tokens=model.vision.tokens,
        visual_in=v1,
        visual_per_layer=visual,
        text_tokens=text_tokens,
        overhead_macs=overhead,
        notes=tuple(notes),
        tokens_per_image=per_image,
    )


register_method(
    VisualMethod(
        "vflowopt",
        "VFlowOpt: visual tokens in three stages (before the LLM, two LLM layers), recycled",
        VFlowOptOptions(),
        order=21,
        supports=SUPPORTED,
        schedule=schedule,
    )
)
