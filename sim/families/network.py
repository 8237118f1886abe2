"""The ``cnn`` and ``unet`` families: networks with inference and training stages.

``cnn``: convolutional networks (:class:`~prunesim.models.cnn.CNNConfig`: ResNets, the
Once-for-All and HR-NAS supernets); ``unet``: the SD UNet
(:class:`~prunesim.models.unet.UNetConfig`, one denoising step per inference). Both run every
layer (mode ``network``) in ``Infer(batch)`` or ``Train(batch)``; their dense workload is
:func:`~prunesim.sim.methods.network.dense_network_workload`. No transformer plan applies to
them (SpAtten's techniques prune attention sequences, not these networks).
"""

from __future__ import annotations

from typing import Any

from prunesim.models.cnn import CNNConfig
from prunesim.models.unet import UNetConfig
from prunesim.sim.families import Planner, StageRequest, register_family
from prunesim.sim.methods.network import dense_network_workload
from prunesim.sim.workload import Infer, Stage, Train, Workload

__all__ = [
    "CNN",
    "DEFAULT_BATCH",
    "UNET",
    "CNNFamily",
    "NetworkFamily",
    "UNetFamily",
    "refuse_network_options",
]

#: Inputs per batch of a network's inference or training step: 1 (latency of one image), a
#: parameter (``--batch``).
DEFAULT_BATCH = 1


def refuse_network_options(model: Any, request: StageRequest) -> None:
    """ValueError (one line) when ``request`` asks for a network's stage (``--stage
    infer|train``, ``--batch``) of ``model``, which is not a network."""
    if request.stage in ("infer", "train") or request.batch is not None:
        raise ValueError(
            f"{model.name} is not a CNN or UNet: --stage infer|train and --batch are for those"
        )


class NetworkFamily:
    """Models of ``model_type`` with infer/train stages (module docstring); a subclass
    describes its models."""

    noun = "a convolutional network"
    takes_plans = False

    def __init__(self, name: str, model_type: type, order: float) -> None:
        self.name = name
        self.model_type = model_type
        self.order = order

    def matches(self, model: Any) -> bool:
        return isinstance(model, self.model_type)

    def default_stage(self, model: Any) -> Stage:
        """Inference of one input (one denoising step for the UNet)."""
        return Infer(DEFAULT_BATCH)

    def default_mode(self, model: Any) -> str:
        """``"network"``: every layer, always."""
        return "network"

    def default_weight_bits(self, model: Any) -> int:
        """8; the network methods set their own widths (8-bit CNN inference, 16-bit UNet)."""
        return 8

    def stage(self, model: Any, request: StageRequest) -> Stage:
        other = [
            flag
            for flag, value in (
                ("--tokens", request.tokens),
                ("--prompt", request.prompt),
                ("--generate", request.generate),
                ("--images", request.images),
                ("--text-tokens", request.text_tokens),
                ("--mode", request.mode),
                ("--weight-bits", request.weight_bits),
            )
            if value is not None
        ]
        if request.stage not in ("auto", "infer", "train") or other:
            used = (
                f"--stage {request.stage}"
                if request.stage not in ("auto", "infer", "train")
                else other[0]
            )
            raise ValueError(f"{model.name} takes --stage infer|train and --batch, not {used}")
        batch = request.batch or DEFAULT_BATCH
        return Train(batch) if request.stage == "train" else Infer(batch)

    def check_stage(self, model: Any, stage: Stage) -> None:
        """An infer or train stage (its batch is bounded by the stage itself,
        :data:`~prunesim.sim.workload.MAX_BATCH`); ValueError (one line) otherwise."""
        if not isinstance(stage, Infer | Train):
            raise ValueError(
                f"{model.name} is {self.noun}: it takes an infer or train stage, "
                f"not {stage.describe()}"
            )

    def dense_workload(self, model: Any, stage: Stage, *, mode: str, weight_bits: int) -> Workload:
        return dense_network_workload(model, stage)

    def plan_workload(
        self,
        model: Any,
        stage: Stage,
        planner: Planner,
        options: Any,
        *,
        method: str,
        mode: str,
        weight_bits: int,
    ) -> Workload:
        raise ValueError(f"{model.name} is {self.noun}: no transformer plan applies to it")

    def describe(self, model: Any) -> str:
        raise NotImplementedError


class CNNFamily(NetworkFamily):
    """Convolutional networks (:class:`CNNConfig`)."""

    def describe(self, model: CNNConfig) -> str:
        c, h, w = model.input
        return (
            f"CNN, {len(model.layers)} weight layers, {c}x{h}x{w} input, "
            f"{model.macs() / 1e6:,.1f}M MACs, {model.params() / 1e6:.2f}M params"
        )


class UNetFamily(NetworkFamily):
    """The SD UNet (:class:`UNetConfig`)."""

    def describe(self, model: UNetConfig) -> str:
        return (
            f"UNet, {model.latent}x{model.latent} latent, {model.text_tokens} text tokens, "
            f"{model.macs() / 1e9:,.1f}G MACs per evaluation, {model.params() / 1e6:.1f}M params"
        )


CNN = register_family(CNNFamily("cnn", CNNConfig, order=2))
UNET = register_family(UNetFamily("unet", UNetConfig, order=3))
