"""CATP (Li et al., 2025, arXiv 2508.07871): contextually adaptive token pruning for multimodal
in-context learning, as a per-layer visual token schedule.

Paper facts [paper]: LLaVA-NeXT-7B (and 13B) in 4-shot in-context learning: 4 demonstration
images and 1 query image, 576 tokens each, plus text. Only image tokens are pruned, a total
ratio R in two halves:

* stage 1, before the decoder, keeps ``floor(576 (1 - R/2))`` tokens of every image;
* stage 2, inside the decoder, prunes the demonstration images at layer K and the query image at
  layer K + 1; from layer K + 2 on, ``1 - R`` of each image's original tokens remain.

K = 6 for 7B, K = 10 for 13B; R in {66.7, 77.8, 89.9}%; latency -10.78% on average.

Our reading of "pruned at layer K": the pruning uses layer K's attention, so layer K itself
still sees the stage-1 count and the layers after it see fewer tokens. With ``n`` tokens per
image (``model.visual_tokens_per_image``), ``s1 = floor(n (1 - R/2))``,
``s2 = floor(n (1 - R))`` and ``images`` images of which the last is the query:

* layers ``0 .. K``: ``images x s1``;
* layer ``K + 1``: ``(images - 1) x s2 + s1`` (demonstrations pruned, the query not yet);
* layers ``K + 2 ..``: ``images x s2``, matching "1 - R remain from layer K + 2".

Rounding: floor for both stages (with a 1e-9 slack so that whole products stay whole). The
paper's R are rounded percentages: R = 0.667 gives ``s2 = floor(191.808) = 191`` tokens per
image, while R = 2/3 exactly gives 192; pass the exact fraction to get the latter.

Scoring work: the paper's importance scores reuse attention the model computes anyway and its
extra work is not published, so no overhead MACs are counted. Supported models: LLaVA-NeXT-7B
and -13B, the models the paper evaluates; LLaVA-1.5 is left out (no K published for it).
"""

from __future__ import annotations

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
    floor_count,
)
from prunesim.sim.methods.options import Range, TypedOptions

__all__ = ["DEFAULT_LAYER", "PAPER_RATIOS", "SUPPORTED", "CATPOptions", "schedule"]

#: The models the paper evaluates.
SUPPORTED: tuple[str, ...] = ("llava-next-7b", "llava-next-13b")
#: The stage-2 layer K by model [paper].
DEFAULT_LAYER: dict[str, int] = {"llava-next-7b": 6, "llava-next-13b": 10}
#: The total pruning ratios the paper reports [paper].
PAPER_RATIOS: tuple[float, ...] = (0.667, 0.778, 0.899)


@dataclass(frozen=True)
class CATPOptions(TypedOptions):
    """CATP's knobs: ``ratio`` R (total share of image tokens pruned, in (0, 1]), ``layer`` K
    (None: 6 for LLaVA-NeXT-7B, 10 for 13B) and ``tokens_per_image`` (None: the model's, 576)."""

    ratio: Annotated[float, Range(0, 1, low_open=True)] = 0.778
    layer: int | None = None
    tokens_per_image: int | None = None

    def validate(self) -> CATPOptions:
        """Raise ValueError naming the first bad option; return self (``ratio``'s range is
        checked on construction)."""
        if self.layer is not None and self.layer < 0:
            raise ValueError(f"layer must be a non-negative integer or None, not {self.layer!r}")
        return self


def schedule(
    model: LVLMConfig,
    images: int | None = None,
    text_tokens: int | None = None,
    options: CATPOptions | None = None,
) -> VisualSchedule:
    """CATP's visual token schedule for ``images`` images (the last is the query) and
    ``text_tokens`` text tokens (both default to the model's defaults).

    Raises ValueError for an unsupported model, a bad option (naming it; ``layer`` must leave
    layer K + 1 inside the LLM) or a bad input size.
    """
    check_supported("catp", model, SUPPORTED)
    options = (options or CATPOptions()).validate()
    images, text_tokens, per_image = check_input(
        model, images, text_tokens, options.tokens_per_image
    )
    layers = model.llm.layers
    k = DEFAULT_LAYER[model.name] if options.layer is None else options.layer
    check_layer("layer", k, model, last=layers - 2)

    s1 = floor_count(per_image, 1 - options.ratio / 2)
    s2 = floor_count(per_image, 1 - options.ratio)
    stage1 = images * s1
    pruned = images * s2
    visual = tuple(
        stage1 if layer <= k else (pruned - s2 + s1) if layer == k + 1 else pruned
        for layer in range(layers)
    )
    notes = (
        f"catp R={options.ratio:g}, K={k}: stage 1 keeps {s1} of {per_image} tokens per image "
        f"before the LLM; layers 0-{k} see {stage1} visual tokens",
        f"layer {k + 1} sees the {images - 1} demonstration image(s) pruned to {s2} each and the "
        f"query still at {s1}"
        + (
            f"; layers {k + 2}-{layers - 1} see {s2} per image ({pruned})" if k + 2 < layers else ""
        ),
        "scoring overhead not published: none counted",
    )
    return VisualSchedule(
        images=images,
        encoder_tokens=model.vision.tokens,
        visual_in=stage1,
        visual_per_layer=visual,
        text_tokens=text_tokens,
        notes=notes,
        tokens_per_image=per_image,
    )


register_method(
    VisualMethod(
        "catp",
        "CATP: image tokens of in-context demonstrations, before the decoder and at layer K",
        CATPOptions(),
        order=20,
        supports=SUPPORTED,
        schedule=schedule,
    )
)
