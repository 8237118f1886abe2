"""The model zoo as layer graphs (``prunesim.models``).

Each model is a frozen description of its layers' dimensions, from which the analytic simulator
(:mod:`prunesim.sim`) derives per-layer work: which matrices run on how many tokens, how many
multiply-accumulates attention costs, how many parameters sit in DRAM. Pruning methods decide what
is alive; the models here are always the dense originals.

:data:`MODELS` maps a name (what the CLI and reports accept) to a description. Today it holds the
transformers of :mod:`prunesim.models.transformer` (BERT-base/large, GPT-2 small/medium) and the
vision-language models of :mod:`prunesim.models.lvlm` (:class:`LVLMConfig`: LLaVA-1.5-7B,
LLaVA-NeXT-7B/13B, LLaVA-OneVision-7B); ResNets, OFA MobileNetV3 and the SD UNet come with later
issues. Adding a model is one entry: define its description (a :class:`TransformerConfig` preset,
built with :func:`transformer`, or a new kind of description in its own module) and add it to
``_ZOO``.
"""

from __future__ import annotations

from prunesim.models.lvlm import (
    LLAVA_1_5_7B,
    LLAVA_NEXT_7B,
    LLAVA_NEXT_13B,
    LLAVA_ONEVISION_7B,
    LVLMConfig,
    VisionEncoder,
)
from prunesim.models.transformer import (
    BERT_BASE,
    BERT_LARGE,
    GPT2_MEDIUM,
    GPT2_SMALL,
    Linear,
    TransformerConfig,
    transformer,
)

__all__ = [
    "MODELS",
    "LVLMConfig",
    "Linear",
    "TransformerConfig",
    "VisionEncoder",
    "get_model",
    "model_names",
    "transformer",
]

_ZOO: tuple[TransformerConfig | LVLMConfig, ...] = (
    BERT_BASE,
    BERT_LARGE,
    GPT2_SMALL,
    GPT2_MEDIUM,
    LLAVA_1_5_7B,
    LLAVA_NEXT_7B,
    LLAVA_NEXT_13B,
    LLAVA_ONEVISION_7B,
)

#: Every model by name, in the order above (which is the order reports list them in).
MODELS: dict[str, TransformerConfig | LVLMConfig] = {model.name: model for model in _ZOO}


def model_names() -> list[str]:
    """The names :func:`get_model` accepts, in registry order."""
    return list(MODELS)


def get_model(name: str) -> TransformerConfig | LVLMConfig:
    """The model called ``name``: a :class:`TransformerConfig` or an :class:`LVLMConfig`.

    Raises :class:`ValueError` ``unknown model 'x' (choose from a, b, c)`` for any other name.
    """
    try:
        return MODELS[name]
    except (KeyError, TypeError):
        raise ValueError(
            f"unknown model {name!r} (choose from {', '.join(model_names())})"
        ) from None
