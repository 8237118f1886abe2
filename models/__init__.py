"""The model zoo as layer graphs (``prunesim.models``).

Each model is a frozen description of its layers' dimensions, from which the analytic simulator
(:mod:`prunesim.sim`) derives per-layer work: which matrices run on how many tokens, how many
multiply-accumulates attention costs, how many parameters sit in DRAM. Pruning methods decide what
is alive; the models here are always the dense originals.

:data:`MODELS` maps a name (what the CLI and reports accept) to a description. Today it holds the
transformers of :mod:`prunesim.models.transformer` (BERT-base/large, GPT-2 small/medium) and the
vision-language models of :mod:`prunesim.models.lvlm` (:class:`LVLMConfig`: LLaVA-1.5-7B,
LLaVA-NeXT-7B/13B, LLaVA-OneVision-7B), the convolutional networks of :mod:`prunesim.models.cnn`
(:class:`CNNConfig`: ResNet-18 on ImageNet, ResNet-20/56 on CIFAR-10, the largest sub-nets of the
Once-for-All MobileNetV3 supernets w1.0 and w1.2 (:mod:`prunesim.models.ofa`), the HR-NAS-style
supernet of SuperTickets (:mod:`prunesim.models.hrnas`)) and the SD 1.5 UNet
(:class:`~prunesim.models.unet.UNetConfig`). Adding a model is one entry: define its description
(a :class:`TransformerConfig` preset, built with :func:`transformer`, or a new kind of description
in its own module) and add it to ``_ZOO``. The argument validators every description shares
(one-line :class:`ValueError` messages naming the owner, field and value) are in
:mod:`prunesim.models.checks`.
"""

from __future__ import annotations

from dataclasses import replace

from prunesim.models.cnn import CNNConfig, resnet_cifar, resnet_imagenet
from prunesim.models.hrnas import HRNAS_SUPERNET
from prunesim.models.lvlm import (
    LLAVA_1_5_7B,
    LLAVA_NEXT_7B,
    LLAVA_NEXT_13B,
    LLAVA_ONEVISION_7B,
    LVLMConfig,
    VisionEncoder,
)
from prunesim.models.ofa import OFASpec, ofa_subnet
from prunesim.models.transformer import (
    BERT_BASE,
    BERT_LARGE,
    GPT2_MEDIUM,
    GPT2_SMALL,
    Linear,
    TransformerConfig,
    transformer,
)
from prunesim.models.unet import SD15_UNET, UNetConfig

__all__ = [
    "MODELS",
    "CNNConfig",
    "Model",
    "UNetConfig",
    "is_network",
    "LVLMConfig",
    "Linear",
    "TransformerConfig",
    "VisionEncoder",
    "get_model",
    "model_names",
    "transformer",
]

#: Any model of the zoo.
Model = TransformerConfig | LVLMConfig | CNNConfig | UNetConfig


def is_network(model: object) -> bool:
    """True for a convolutional network or the UNet (the models with infer/train stages)."""
    return isinstance(model, CNNConfig | UNetConfig)


def _ofa_supernet(w: float) -> CNNConfig:
    """The largest sub-net of OFA's MobileNetV3 supernet of width ``w`` (kernel 7, expand 6,
    depth 4 everywhere, 224x224): the dense model the ``ofa`` method picks sub-nets from."""
    return replace(ofa_subnet(OFASpec.uniform(7, 6, 4, 224, w)), name=f"ofa-mbv3-w{w:.1f}")


_ZOO: tuple[Model, ...] = (
    BERT_BASE,
    BERT_LARGE,
    GPT2_SMALL,
    GPT2_MEDIUM,
    LLAVA_1_5_7B,
    LLAVA_NEXT_7B,
    LLAVA_NEXT_13B,
    LLAVA_ONEVISION_7B,
    resnet_imagenet(18),
    replace(resnet_cifar(20), name="resnet20"),
    replace(resnet_cifar(56), name="resnet56"),
    _ofa_supernet(1.0),
    _ofa_supernet(1.2),
    HRNAS_SUPERNET,
    SD15_UNET,
)

#: Every model by name, in the order above (which is the order reports list them in).
MODELS: dict[str, Model] = {model.name: model for model in _ZOO}


def model_names() -> list[str]:
    """The names :func:`get_model` accepts, in registry order."""
    return list(MODELS)


def get_model(name: str) -> Model:
    """The model called ``name``: a :class:`TransformerConfig`, :class:`LVLMConfig`,
    :class:`CNNConfig` or :class:`UNetConfig`.

    Raises :class:`ValueError` ``unknown model 'x' (choose from a, b, c)`` for any other name.
    """
    try:
        return MODELS[name]
    except (KeyError, TypeError):
        raise ValueError(
            f"unknown model {name!r} (choose from {', '.join(model_names())})"
        ) from None
