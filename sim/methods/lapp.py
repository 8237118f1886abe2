"""LAPP (Zhai et al., 2023, arXiv 2309.14157): layer-adaptive progressive pruning of CNNs from
scratch, as a slimmed network with a low-rank bypass per pruned convolution.

Paper facts [paper]: structured pruning of output channels, one learned threshold per layer,
driven by the task loss and a whole-network FLOPs constraint during the first epochs of training
from scratch; before training, a "lightweight bypass" is added to every convolution to be pruned
to keep its expressive power, "which only adds relatively few additional burdens". ResNet-18 on
ImageNet: 55.6% of FLOPs removed (+0.21 top-1); ResNet-20 on CIFAR-10 "compressed to 40.3%"
(FLOPs or parameters not stated). Neither the learned per-layer widths nor the bypass's form
is published.

Our readings (each a knob of :class:`LAPPOptions`):

* **What shrinks.** The width groups of :meth:`~prunesim.models.cnn.CNNConfig.width_groups`:
  layers whose outputs meet in a residual add keep one width, so a group shrinks as one
  (``prune="all"``: every group but the classifier's output; ``prune="internal"``: only the
  groups of a single convolution read by exactly one layer and by no join, i.e. a basic block's
  first convolution, so the residual streams keep their widths). Every reader of a shrunk node
  loses those input channels (:meth:`~prunesim.models.cnn.CNNConfig.with_out_channels`). A
  group of ``c`` channels at keep ratio ``k`` keeps ``min(c, max(min_channels,
  floor(c k + 1/2)))`` channels.
* **Per-layer widths.** LAPP learns them; they are not published. By default one keep ratio
  serves every prunable group, solved by bisection so that the network's MACs, bypass included,
  come as close to ``(1 - flops_reduction)`` of the dense MACs as whole channels allow (the
  closer of the two configurations around the target; never one costlier than dense). ``keep``
  gives the ratios instead, per group, and then ``flops_reduction`` is not used: either
  ``NAME=RATIO`` pairs naming any member of a group (unnamed groups stay dense) or a comma list
  of ratios, one per prunable group in :func:`prunable_groups` order.
* **The bypass (ours).** For each convolution whose output channels were cut (a bypass needs a
  pruned layer), a rank-``r`` path beside it from the same input to the kept outputs, at the
  convolution's stride: a 1x1 convolution ``in_kept -> r`` followed by batch norm and ReLU
  (``<conv>.bypass.down``), then a 1x1 convolution ``r -> out_kept`` without batch norm
  (``<conv>.bypass.up``), added to the convolution's output (``<conv>.bypass.add``, which the
  layers after it read). ``r = min(bypass_rank, in_kept, out_kept)``; ``bypass_rank=0`` removes
  every bypass. Its MACs, ``out_h x out_w x r x (in_kept + out_kept)``, and weights count in the
  workload and in the FLOPs budget. The ReLU in the middle keeps it from folding into the
  convolution's centre tap (a purely linear 1x1 bypass could be folded away at inference).
* **Stages.** Inference runs the pruned network; a training stage prices one step of the pruned
  network (with its bypasses) at the end of LAPP's progressive phase, SGD with momentum and fp32
  as :func:`~prunesim.sim.methods.network.dense_network_workload` does; the progressive phase
  itself (dense at first, narrowing over a few epochs) is not modelled.

Supported models: the ResNets of the paper's kind: ResNet-18 (ImageNet), ResNet-20 and -56
(CIFAR-10, option-A shortcuts: a zero-padded shortcut needs the earlier stage no wider than the
later one, which a uniform ratio keeps and an explicit ``keep`` must respect).
"""

from __future__ import annotations

import math
import typing
from dataclasses import dataclass, replace
from typing import Annotated, Literal

from prunesim.models.cnn import CNNConfig, Conv2d, Dense, Join
from prunesim.sim.methods import register_method
from prunesim.sim.methods.common import NetworkMethod
from prunesim.sim.methods.network import (
    network_workload,
    saved_activation_elements,
    training_footprint,
)
from prunesim.sim.methods.options import Range, TypedOptions, format_value
from prunesim.sim.workload import Stage, Train, Workload

__all__ = [
    "PAPER_FLOPS_REDUCTION",
    "PAPER_RESNET20_REMAINING",
    "PRUNE_CHOICES",
    "SUPPORTED",
    "LAPPOptions",
    "LAPPPlan",
    "build",
    "bypass_macs",
    "plan",
    "prunable_groups",
]

#: The models LAPP is evaluated on (ResNet-56 as the deeper CIFAR ResNet of the same family).
SUPPORTED: tuple[str, ...] = ("resnet18", "resnet20", "resnet56")
#: ResNet-18 on ImageNet: share of FLOPs removed [paper].
PAPER_FLOPS_REDUCTION = 0.556
#: ResNet-20 on CIFAR-10: "compressed to 40.3%" (FLOPs or parameters not stated) [paper].
PAPER_RESNET20_REMAINING = 0.403
#: What :attr:`LAPPOptions.prune` accepts, and its values as a tuple.
Prune = Literal["all", "internal"]
PRUNE_CHOICES: tuple[str, ...] = typing.get_args(Prune)

_BISECTION_STEPS = 60


#: A keep ratio of a width group: in (0, 1].
KeepRatio = Annotated[float, Range(0, 1, low_open=True)]


@dataclass(frozen=True)
class LAPPOptions(TypedOptions):
    """LAPP's knobs (module docstring for the readings):

    * ``flops_reduction``: share of the dense network's MACs removed, bypasses included, in
      [0, 1) (the paper's ResNet-18 figure by default); unused when ``keep`` is given.
    * ``keep``: explicit keep ratios in (0, 1], ``NAME=RATIO`` pairs (any member of a width
      group; unnamed groups stay dense; ``"a=0.5,b=0.4"`` from text) or one ratio per prunable
      group, in :func:`prunable_groups` order (``"0.5,0.4"``); None: one ratio solved from
      ``flops_reduction``.
    * ``bypass_rank``: rank ``r`` of the 1x1 bypass beside each pruned convolution (0: none).
    * ``prune``: ``"all"`` (every width group but the classifier's output) or ``"internal"``
      (only convolutions read by one layer and no residual add: the residual streams stay).
    * ``min_channels``: the fewest channels a pruned group keeps (at least 1).
    """

    flops_reduction: Annotated[float, Range(0, 1, high_open=True)] = PAPER_FLOPS_REDUCTION
    keep: tuple[tuple[str, KeepRatio], ...] | tuple[KeepRatio, ...] | None = None
    bypass_rank: int = 8
    prune: Prune = "all"
    min_channels: int = 1

    def validate(self) -> LAPPOptions:
        """Raise ValueError naming the first bad option; return self (types, ``prune``'s
        choices and ``flops_reduction``'s range are checked on construction)."""
        if self.keep == ():
            raise ValueError("keep must name at least one ratio (or be none)")
        if self.bypass_rank < 0:
            raise ValueError(
                f"bypass_rank must be a non-negative integer (0: no bypass), "
                f"not {self.bypass_rank!r}"
            )
        if self.min_channels < 1:
            raise ValueError(f"min_channels must be a positive integer, not {self.min_channels!r}")
        return self


def prunable_groups(network: CNNConfig, prune: str = "all") -> tuple[tuple[str, ...], ...]:
    """The width groups LAPP may shrink, in :meth:`CNNConfig.width_groups` order: every group
    without a :class:`Dense` layer (``"all"``), or only single convolutions read by exactly one
    layer and no join (``"internal"``). Raises ValueError for another ``prune``."""
    if prune not in PRUNE_CHOICES:
        raise ValueError(f"prune must be one of {', '.join(PRUNE_CHOICES)}, not {prune!r}")
    groups = [
        group
        for group in network.width_groups()
        if not any(isinstance(network.layer(name), Dense) for name in group)
    ]
    if prune == "all":
        return tuple(groups)
    readers: dict[str, int] = {}
    for layer in network.layers:
        source = network.input_of(layer.name)
        readers[source] = readers.get(source, 0) + 1
    joined = {name for join in network.joins for name in join.inputs}
    return tuple(
        group
        for group in groups
        if len(group) == 1 and readers.get(group[0], 0) == 1 and group[0] not in joined
    )


def _kept(channels: int, ratio: float, min_channels: int) -> int:
    return min(channels, max(min_channels, math.floor(channels * ratio + 0.5)))


def _pruned_convs(slim: CNNConfig, dense: CNNConfig) -> list[Conv2d]:
    return [
        layer
        for layer in slim.layers
        if isinstance(layer, Conv2d) and layer.out_channels < dense.layer(layer.name).out_channels
    ]


def _rank(conv: Conv2d, rank: int) -> int:
    return min(rank, conv.in_channels, conv.out_channels)


def bypass_macs(conv: Conv2d, rank: int) -> int:
    """MACs of the rank-``rank`` bypass beside the (slimmed) convolution ``conv``:
    ``out_h x out_w x r x (in + out)`` with ``r = min(rank, in, out)``."""
    r = _rank(conv, rank)
    return conv.out_height * conv.out_width * r * (conv.in_channels + conv.out_channels)


def _with_bypass(slim: CNNConfig, dense: CNNConfig, rank: int) -> tuple[CNNConfig, set[str]]:
    """``slim`` with a bypass beside every pruned convolution (module docstring), and the names
    of the bypass layers."""
    pruned = {conv.name for conv in _pruned_convs(slim, dense)} if rank else set()
    if not pruned:
        return slim, set()
    redirect: dict[str, str] = {}
    layers: list[Conv2d | Dense] = []
    joins: list[Join] = []
    added: set[str] = set()
    for layer in slim.layers:
        source = slim.input_of(layer.name)
        layer = replace(layer, input_from=redirect.get(source, source))
        layers.append(layer)
        if layer.name not in pruned:
            continue
        assert isinstance(layer, Conv2d)
        r = _rank(layer, rank)
        down = Conv2d(
            name=f"{layer.name}.bypass.down",
            in_channels=layer.in_channels,
            out_channels=r,
            kernel=1,
            stride=layer.stride,
            in_height=layer.in_height,
            in_width=layer.in_width,
            bn=True,
            input_from=layer.input_from,
        )
        up = Conv2d(
            name=f"{layer.name}.bypass.up",
            in_channels=r,
            out_channels=layer.out_channels,
            kernel=1,
            in_height=layer.out_height,
            in_width=layer.out_width,
            bn=False,
            input_from=down.name,
        )
        layers += [down, up]
        added |= {down.name, up.name}
        join = Join(name=f"{layer.name}.bypass.add", kind="add", inputs=(layer.name, up.name))
        joins.append(join)
        redirect[layer.name] = join.name
    joins += [
        replace(join, inputs=tuple(redirect.get(i, i) for i in join.inputs)) for join in slim.joins
    ]
    return replace(slim, layers=tuple(layers), joins=tuple(joins)), added


@dataclass(frozen=True)
class LAPPPlan:
    """What LAPP leaves of a network.

    ``network``: the slimmed network with its bypass layers (``bypass``: their names);
    ``keep``: the kept share of each prunable group's channels, by the group's first layer;
    ``ratio``: the uniform keep ratio solved for (None when ``keep`` was given); ``dense_macs``,
    ``macs`` (bypass included) and ``bypass_macs`` per image.
    """

    network: CNNConfig
    bypass: frozenset[str]
    keep: dict[str, float]
    ratio: float | None
    dense_macs: int
    macs: int
    bypass_macs: int

    @property
    def reduction(self) -> float:
        """Share of the dense MACs removed, bypass included."""
        return 1 - self.macs / self.dense_macs


def _explicit_widths(
    model: CNNConfig, groups: tuple[tuple[str, ...], ...], options: LAPPOptions
) -> dict[str, int]:
    assert options.keep is not None
    ratios = options.keep
    if not isinstance(ratios[0], tuple):
        if len(ratios) != len(groups):
            raise ValueError(
                f"keep lists {len(ratios)} ratios but {model.name} has {len(groups)} prunable "
                f"width groups (prune={options.prune})"
            )
        chosen = {group[0]: ratio for group, ratio in zip(groups, ratios, strict=True)}
    else:
        owner = {name: group[0] for group in groups for name in group}
        chosen = {}
        named: dict[str, str] = {}
        for name, ratio in ratios:
            if name not in owner:
                raise ValueError(
                    f"keep names {name!r}, not a prunable layer of {model.name} "
                    f"(prune={options.prune})"
                )
            first = owner[name]
            if first in chosen and chosen[first] != ratio:
                raise ValueError(
                    f"keep gives {name} ({ratio:g}) and {named[first]} ({chosen[first]:g}), "
                    "which share one width (residual add): give one ratio"
                )
            chosen[first], named[first] = ratio, name
    return {
        first: _kept(model.layer(first).out_channels, ratio, options.min_channels)
        for first, ratio in chosen.items()
    }


def plan(model: CNNConfig, options: LAPPOptions | None = None) -> LAPPPlan:
    """LAPP's pruned network for ``model`` (one of :data:`SUPPORTED`, or any ResNet-like
    :class:`CNNConfig`) under ``options``.

    Raises ValueError (one line) for a bad option, a ``keep`` that names no prunable layer or
    breaks a shortcut's widths, or a ``flops_reduction`` out of reach (naming the most that can
    be removed).
    """
    options = (options or LAPPOptions()).validate()
    groups = prunable_groups(model, options.prune)
    dense_macs = model.macs()
    rank = options.bypass_rank

    def slimmed(widths: dict[str, int]) -> CNNConfig:
        return model.with_out_channels(widths) if widths else model

    def cost(slim: CNNConfig) -> int:
        extra = sum(bypass_macs(conv, rank) for conv in _pruned_convs(slim, model)) if rank else 0
        return slim.macs() + extra

    ratio: float | None
    if options.keep is not None:
        widths = _explicit_widths(model, groups, options)
        ratio = None
    else:
        ratio, widths = _solve(model, groups, options, slimmed, cost, dense_macs)
    network, bypass = _with_bypass(slimmed(widths), model, rank)
    bypass_total = sum(layer.macs for layer in network.layers if layer.name in bypass)
    keep = {
        group[0]: widths.get(group[0], model.layer(group[0]).out_channels)
        / model.layer(group[0]).out_channels
        for group in groups
    }
    return LAPPPlan(
        network=network,
        bypass=frozenset(bypass),
        keep=keep,
        ratio=ratio,
        dense_macs=dense_macs,
        macs=network.macs(),
        bypass_macs=bypass_total,
    )


def _solve(model, groups, options, slimmed, cost, dense_macs) -> tuple[float, dict[str, int]]:
    """The uniform keep ratio (and widths) whose MACs come closest to the target."""

    def widths_at(k: float) -> dict[str, int]:
        out = {}
        for group in groups:
            channels = model.layer(group[0]).out_channels
            kept = _kept(channels, k, options.min_channels)
            if kept != channels:
                out[group[0]] = kept
        return out

    costs: dict[tuple, int] = {}

    def macs_at(k: float) -> int:
        widths = widths_at(k)
        key = tuple(sorted(widths.items()))
        if key not in costs:
            costs[key] = cost(slimmed(widths))
        return costs[key]

    reduction = options.flops_reduction
    if reduction == 0 or not groups:
        return 1.0, {}
    target = (1 - reduction) * dense_macs
    lo, hi = 0.0, 1.0
    if macs_at(lo) > target:
        most = 1 - macs_at(lo) / dense_macs
        raise ValueError(
            f"flops_reduction {reduction:g} is out of reach for {model.name}: at most "
            f"{most:.4g} of its MACs can go (prune={options.prune}, "
            f"min_channels={options.min_channels}, bypass_rank={options.bypass_rank})"
        )
    for _ in range(_BISECTION_STEPS):
        mid = (lo + hi) / 2
        if macs_at(mid) <= target:
            lo = mid
        else:
            hi = mid
    below, above = macs_at(lo), macs_at(hi)
    if above <= dense_macs and above - target < target - below:
        return hi, widths_at(hi)
    return lo, widths_at(lo)


def build(model: CNNConfig, stage: Stage, options: LAPPOptions | None = None) -> Workload:
    """The workload of ``model`` pruned by LAPP in ``stage`` (an infer or train stage): one
    workload layer per weight layer of the pruned network, bypass layers right after their
    convolution. Schedule: ``channels`` (output channels kept), ``keep`` (kept share of the
    dense layer's output channels; 1 for bypass layers) and ``bypass`` (1 for a bypass layer).
    """
    options = (options or LAPPOptions()).validate()
    result = plan(model, options)
    network = result.network
    dense_out = {
        layer.name: layer.out_channels if isinstance(layer, Conv2d) else layer.out_features
        for layer in model.layers
    }
    keep, flags = [], []
    for layer in network.layers:
        out = layer.out_channels if isinstance(layer, Conv2d) else layer.out_features
        flags.append(1.0 if layer.name in result.bypass else 0.0)
        keep.append(out / dense_out[layer.name] if layer.name in dense_out else 1.0)
    if result.ratio is None:
        how = f"keep given per width group ({format_value(options.keep)}); flops_reduction not used"
    else:
        how = (
            f"one keep ratio {result.ratio:.4f} for every prunable width group, solved for "
            f"{options.flops_reduction:.1%} of the dense MACs removed"
        )
    groups = prunable_groups(model, options.prune)
    notes = [
        f"lapp (prune={options.prune}, {len(groups)} width groups): {how}",
        f"achieved: {result.reduction:.2%} of the dense MACs removed, bypass included "
        f"({result.macs:,} of {result.dense_macs:,} MACs per image)",
        (
            f"bypass (ours; the paper's form is unpublished): rank-{options.bypass_rank} 1x1 "
            f"path beside each of the {len(result.bypass) // 2} pruned convolutions, "
            f"{result.bypass_macs:,} MACs per image"
            if result.bypass
            else "no bypass (bypass_rank=0 or nothing pruned)"
        ),
        "per-layer widths of the paper are learned and not published: ours are the uniform "
        "ratio or the given keep",
    ]
    memory, streams = None, None
    params = float(network.params())
    workload = network_workload(
        network,
        stage,
        model=model.name,
        method="lapp",
        schedule={"keep": keep, "bypass": flags},
        notes=notes,
        extras={
            "dense_macs": float(result.dense_macs),
            "macs": float(result.macs),
            "bypass_macs": float(result.bypass_macs),
            "flops_reduction": result.reduction,
            "params": params,
            "dense_params": float(model.params()),
        },
    )
    if isinstance(stage, Train):
        # a bypass saves only its hidden activations (batch norm's input, ReLU's output): its
        # first convolution reads the tensor its convolution saves, its second reads the ReLU's
        # output, and the add needs nothing saved
        conv = workload.conv
        shared = 0.0
        for i in range(len(conv.step)):
            name = network.layers[conv.layer[i]].name
            if conv.step[i] == 0 and name.endswith(".bypass.down"):
                shared += float(conv.input_elements[i])
            elif conv.step[i] == 0 and name.endswith(".bypass.up"):
                shared += float(conv.input_elements[i] + conv.output_elements[i])
        memory, streams = training_footprint(
            params=params,
            trainable=params,
            activation_elements=saved_activation_elements(workload) - shared,
            optimizer="sgd",
        )
        workload.memory_bytes, workload.streams = memory, streams
        workload.notes.append(
            "training: one step of the pruned network with its bypasses (after the progressive "
            "phase), every weight trainable, sgd, fp32; a bypass keeps only its hidden "
            "activations"
        )
    return workload


register_method(
    NetworkMethod(
        "lapp",
        "LAPP: output channels per width group under a FLOPs budget, low-rank bypass per pruned "
        "conv",
        LAPPOptions(),
        order=30,
        supports=SUPPORTED,
        builder=build,
    )
)
