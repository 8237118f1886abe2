"""AIM (Zhong et al., 2024, arXiv 2412.03248): adaptive inference of multimodal LLMs by token
merging before the LLM and progressive token pruning inside it, as a per-layer schedule.

Paper and code facts:

* [paper] LLaVA-OneVision-7B (Qwen2, 28 layers) on video, 32 frames x 196 tokens + ~100 text
  tokens: merging before the LLM takes each frame from 196 to 49 tokens. LLaVA-1.5-7B (Vicuna,
  32 layers) on images: 576 to 72 tokens.
* [code] Merging is ToMe's bipartite soft matching applied repeatedly, each step at most halving
  a frame's tokens: 196 -> 98 -> 49 (OV, two steps, on the projected features: width
  ``llm.hidden``) and 576 -> 288 -> 144 -> 72 (LLaVA-1.5, three steps; the authors' FLOPs
  script prices it on the 1024-wide CLIP features, ``vision.hidden``). Each step splits the
  tokens into alternating halves and computes every cosine similarity between them.
* [paper, code] Inside the LLM the visual tokens kept are
  ``max(0, 1 - (l - start + 1) x 0.125)`` of the merged count at layer ``l >= start``: start =
  14 for Qwen2 (100% for layers 0-13, then 87.5%, 75%, ..., 0 from layer 21) and 13 for Vicuna
  (87.5% at layer 13, 0 from layer 20). Text tokens are never pruned. The count is
  ``int(merged x keep)`` of all the visual tokens of the sequence (floor).
* [code] The importance score is PageRank over each layer's attention matrix: a softmax with
  temperature 0.1, then 5 iterations of ``dist = dist @ M`` per head on the ``N x N`` matrix of
  the ``N`` tokens alive, then the RMS over heads.

Our readings:

* ``visual_per_layer[l] = floor(merged_total x keep(l))`` (1e-9 slack), as the schedule is
  written in the paper. The released code applies ``keep(l)`` from layer ``l + 1`` on (the
  scores of layer ``l``'s attention choose the tokens of the next layer); ``start_layer`` = 15
  (OV) or 14 (LLaVA-1.5) reproduces that.
* Merging a frame of ``n`` tokens to ``m``: steps remove ``min(floor(n/2), n - m)`` tokens each
  until ``m`` remain; a step on ``n`` tokens costs ``ceil(n/2) x floor(n/2) x d`` MACs (the
  similarity matrix; normalisation and the averaging of merged tokens are not MACs). Per frame,
  as the code batches frames (the authors' FLOPs script treats a whole clip as one set, 32x
  more for 32 frames).
* Scoring: one PageRank at each layer ``l`` whose successor keeps fewer visual tokens (the scores
  that choose layer ``l + 1``'s tokens; 8 layers by default, like the authors' FLOPs script),
  ``heads x iterations x N_l^2`` MACs with ``N_l`` = text + visual tokens alive at ``l``. The
  attention logits it starts from are the layer's own; the temperature softmax is not MACs.
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
    check_count,
    check_input,
    check_layer,
    check_supported,
    floor_count,
)
from prunesim.sim.methods.options import Range, TypedOptions

__all__ = [
    "MODEL_DEFAULTS",
    "SUPPORTED",
    "AIMOptions",
    "keep_ratio",
    "merge_steps",
    "schedule",
]

#: The models the paper evaluates.
SUPPORTED: tuple[str, ...] = ("llava-onevision-7b", "llava-1.5-7b")
#: By model: (first pruned layer, halving merge steps, merge on LLM features rather than the
#: vision encoder's) [code].
MODEL_DEFAULTS: dict[str, tuple[int, int, bool]] = {
    "llava-onevision-7b": (14, 2, True),
    "llava-1.5-7b": (13, 3, False),
}


@dataclass(frozen=True)
class AIMOptions(TypedOptions):
    """AIM's knobs.

    * ``merged_per_image``: tokens per image (frame) after merging, 1 .. tokens per image; None:
      the model's default steps of halving (196 -> 49 for OV video frames, 576 -> 72 for
      LLaVA-1.5).
    * ``start_layer``: the first layer with fewer visual tokens; None: 14 (Qwen2), 13 (Vicuna).
    * ``step``: share of the merged tokens dropped per layer from ``start_layer`` on (0.125).
    * ``merge_dim``: feature width of the similarity; None: ``llm.hidden`` for OV (merging
      after the projector), ``vision.hidden`` for LLaVA-1.5.
    * ``pagerank_iters``: PageRank iterations per scoring layer (5); 0 counts no scoring.
    * ``tokens_per_image``: tokens per image or frame before merging; None: the model's (196
      per pooled OV video frame, 576 per LLaVA-1.5 image).
    """

    merged_per_image: int | None = None
    start_layer: int | None = None
    step: Annotated[float, Range(0, 1, low_open=True)] = 0.125
    merge_dim: int | None = None
    pagerank_iters: int = 5
    tokens_per_image: int | None = None

    def validate(self) -> AIMOptions:
        """Raise ValueError naming the first bad option; return self (``step``'s range is
        checked on construction)."""
        if self.merged_per_image is not None:
            check_count("merged_per_image", self.merged_per_image, minimum=1)
        if self.start_layer is not None:
            check_count("start_layer", self.start_layer)
        if self.merge_dim is not None:
            check_count("merge_dim", self.merge_dim, minimum=1)
        check_count("pagerank_iters", self.pagerank_iters)
        return self


def keep_ratio(layer: int, start: int, step: float = 0.125) -> float:
    """The share of the merged visual tokens alive at ``layer``: 1 before ``start``, then
    ``max(0, 1 - (layer - start + 1) x step)``."""
    if layer < start:
        return 1.0
    return max(0.0, 1.0 - (layer - start + 1) * step)


def merge_steps(tokens: int, merged: int) -> tuple[int, ...]:
    """Token counts entering each bipartite merging step taking ``tokens`` to ``merged``.

    Each step removes at most half (``floor(n/2)``): 576 to 72 is (576, 288, 144).
    """
    counts = []
    n = tokens
    while n > merged:
        counts.append(n)
        n -= min(n // 2, n - merged)
    return tuple(counts)


def schedule(
    model: LVLMConfig,
    images: int | None = None,
    text_tokens: int | None = None,
    options: AIMOptions | None = None,
) -> VisualSchedule:
    """AIM's visual token schedule for ``images`` images or frames and ``text_tokens`` text
    tokens (both default to the model's defaults).

    Raises ValueError for an unsupported model, a bad option (naming it; ``start_layer`` must
    be a layer of the LLM, ``merged_per_image`` at most the tokens per image) or a bad input
    size.
    """
    check_supported("aim", model, SUPPORTED)
    options = (options or AIMOptions()).validate()
    images, text_tokens, per_image = check_input(
        model, images, text_tokens, options.tokens_per_image
    )
    layers = model.llm.layers
    default_start, default_steps, on_llm = MODEL_DEFAULTS[model.name]
    start = default_start if options.start_layer is None else options.start_layer
    check_layer("start_layer", start, model)

    merged = options.merged_per_image
    if merged is None:
        merged = per_image
        for _ in range(default_steps):
            merged = math.ceil(merged / 2)
    elif merged > per_image:
        raise ValueError(
            f"merged_per_image must be at most the {per_image} tokens per image, not {merged}"
        )
    total = images * merged
    visual = tuple(
        floor_count(total, keep_ratio(layer, start, options.step)) for layer in range(layers)
    )

    dim = options.merge_dim
    if dim is None:
        dim = model.llm.hidden if on_llm else model.vision.hidden
    steps = merge_steps(per_image, merged)
    merge_macs = images * sum(math.ceil(n / 2) * (n // 2) * dim for n in steps)
    scoring_layers = [layer for layer in range(layers - 1) if visual[layer + 1] < visual[layer]]
    pagerank_macs = sum(
        model.llm.heads * options.pagerank_iters * (text_tokens + visual[layer]) ** 2
        for layer in scoring_layers
    )
    overhead = (("aim-merge", merge_macs), ("aim-pagerank", pagerank_macs))
    zero = next((layer for layer, count in enumerate(visual) if count == 0), None)
    notes = (
        f"aim: merging {per_image} -> {merged} tokens per image in {len(steps)} bipartite "
        f"step(s) on {dim}-wide features ({total} visual tokens enter the LLM)",
        f"visual tokens: all up to layer {start - 1}, then keep 1 - (l - {start} + 1) x "
        f"{options.step:g} of them" + (f", none from layer {zero}" if zero is not None else ""),
        f"PageRank scoring ({options.pagerank_iters} iterations) at layers "
        f"{', '.join(map(str, scoring_layers)) or 'none'}",
    )
    return VisualSchedule(
        images=images,
        encoder_tokens=model.vision.tokens,
        visual_in=total,
        visual_per_layer=visual,
        text_tokens=text_tokens,
        overhead_macs=overhead,
        notes=notes,
        tokens_per_image=per_image,
    )


register_method(
    VisualMethod(
        "aim",
        "AIM: visual tokens merged before the LLM, then pruned layer by layer",
        AIMOptions(),
        order=22,
        supports=SUPPORTED,
        schedule=schedule,
    )
)
