"""SuperTickets (You et al., ECCV 2022; GATECH-EIC/SuperTickets): channel and kernel-branch
slimming of the HR-NAS supernet plus unstructured global magnitude pruning, as a workload.

Paper and code facts:

* [paper] the supernet is HR-NAS's (:mod:`prunesim.models.hrnas`: branch widths 18/36/72/144,
  parallel depthwise kernels 3/5/7, expand 4; 201 kernel branches, 2.42 GMACs at 224x224).
  Slimming is structural; unstructured global magnitude pruning rises 10% every 25 epochs to
  a target sparsity of 0.3 to 0.98. The paper's result tables could not be read here: no
  published per-layer widths, densities or MAC counts to compare with.
* [code] ``configs/cls_imagenet_g_0.9.yml``: ``prune_params`` = network slimming (an L1 penalty
  on batch-norm scales, ``bn_prune_filter: expansion_only``: only the hidden channels of each
  kernel branch are slimmed; a branch slimmed to nothing is removed);
  ``unstructured_prune_params`` = ``mag``, ``gradually``, ``target_ratio`` 0.9, ``prune_interval``
  25, bias and batch norm not pruned. ``train.py``: after every 25th epoch the ratio becomes
  ``min(target, (epoch + 1) // 25 / 10)``, applied with ``scope='global'`` (one magnitude
  threshold over all prunable weights; ``'local'``, one ratio per tensor, exists beside it).
  Prunable: the weights of ``masked_layers.Conv2d``/``Linear``: every convolution (stem,
  expanding, depthwise, projecting, the grouped residual 1x1s, the head); the classifier is a
  plain ``nn.Linear`` and is never pruned. ``reset_param_method: mnas`` initialises a
  convolution ``N(0, 2 / fan_out)`` with ``fan_out = out_channels x k^2``, or ``k^2`` when
  ``groups == in_channels`` (a depthwise test the code applies to grouped residual 1x1s too).
* [code] HR-NAS's repository ships one searched classification network, ``checkpoint.json``
  (per block: kernels kept and their hidden widths); SuperTickets' repository ships the same
  file. :data:`RELEASED` holds it, mapped onto :mod:`prunesim.models.hrnas`'s block names in
  HR-NAS's construction order (the output channels and stride of all 67 entries agree with the
  blocks they are mapped to; ``tests/test_methods_supertickets.py`` checks it). It keeps 157 of
  201 branches and 6,662 of 47,952 hidden channels: 0.259 GMACs, 3.89M parameters.

Our readings (no released SuperTickets masks or trained weights):

* widths: ``channel_keep=None`` (default) takes :data:`RELEASED`, the only per-branch slimming
  result published for this supernet (it is HR-NAS's searched network, not a SuperTickets
  ticket: the closest released stand-in); a number keeps ``max(1, round(full x keep))`` hidden
  channels in every branch instead (a uniform fraction: importances unknown). ``drop_kernels``
  then removes every branch of the kernels named, and ``hidden`` overrides single branches.
* per-layer density, ``sparsity_scope='global'``: global magnitude pruning needs the trained
  weights' magnitudes, which are not released. We model them by the scale the code draws them
  at (``weight_init``): with layer ``l``'s weights ``~ N(0, sigma_l^2)`` a global threshold
  ``t`` keeps ``erfc(t / (sigma_l sqrt 2))`` of them; ``t`` is solved (bisection) so that the
  non-zero fraction of all prunable weights is ``1 - sparsity``. A layer the threshold would
  empty keeps one weight (density ``1 / weights``; the solve counts it) and is reported as
  collapsed. Training moves magnitudes, so this is the structure of the rule (layers with
  large fans lose most, as at initialisation), not a measured mask. ``'local'``: every prunable
  layer at ``1 - sparsity``.
* ``schedule_epoch``: the workload at that epoch of the ramp (``min(sparsity, floor(epoch /
  prune_interval) x 0.1)``; dense before the first prune).
* training (:class:`~prunesim.sim.workload.Train`): masks multiply dense weights in PyTorch, so
  every weight keeps a gradient and optimizer state; RMSprop with momentum (the configs'
  optimizer) keeps two fp32 buffers per weight, as many bytes as AdamW's two moments, and is
  priced so; an EMA copy of the weights (``moving_average_decay``) and the fp32 masks of every
  masked layer (weights and batch norms) are counted beside.
"""

from __future__ import annotations

import math
import typing
from collections.abc import Mapping
from dataclasses import dataclass
from functools import lru_cache
from typing import Annotated, Literal

import numpy as np

from prunesim.models.cnn import CNNConfig, Conv2d, Dense
from prunesim.models.hrnas import HRNAS_SUPERNET, hrnas_branches, hrnas_supernet
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
    "KERNELS",
    "PAPER_SPARSITIES",
    "RELEASED",
    "SCOPES",
    "SUPPORTED",
    "WEIGHT_INITS",
    "SuperTicketsOptions",
    "build",
    "init_std",
    "layer_densities",
    "ramp_sparsity",
    "released_hidden",
    "slim_network",
    "slimmed_hidden",
]

#: The model the paper prunes (the HR-NAS ImageNet supernet).
SUPPORTED: tuple[str, ...] = ("hrnas-supernet",)
#: The supernet's depthwise kernels, one branch each per block.
KERNELS: tuple[int, ...] = (3, 5, 7)
#: Target sparsities of the released configs (``configs/*_g_<ratio>.yml``) [code].
PAPER_SPARSITIES: tuple[float, ...] = (0.3, 0.5, 0.7, 0.8, 0.9, 0.95, 0.98)
#: Sparsity added at each prune of the ramp, and epochs between prunes [code].
PRUNE_STEP = 0.1
PRUNE_INTERVAL = 25
#: ``sparsity_scope`` values: one threshold over every prunable weight, or one ratio per layer.
Scope = Literal["global", "local"]
SCOPES: tuple[str, ...] = typing.get_args(Scope)
#: ``weight_init`` values: the configs' ``mnas`` (``std = sqrt(2 / fan_out)``, depthwise
#: ``fan_out = k^2``) or Kaiming-normal with ``fan_in`` (``std = sqrt(2 / fan_in)``).
WeightInit = Literal["mnas", "kaiming-fan-in"]
WEIGHT_INITS: tuple[str, ...] = typing.get_args(WeightInit)
#: The largest sparsity accepted: the paper's range ends at 0.98.
MAX_SPARSITY = 0.99

#: HR-NAS's released searched classification network (``checkpoint.json`` of dingmyu/HR-NAS
#: at 003c3b6, identical in GATECH-EIC/SuperTickets at 36d7edd), one row per block in
#: construction order: (block, output channels, stride, hidden widths of the k3, k5, k7
#: branches; 0: branch removed).
RELEASED: tuple[tuple[str, int, int, tuple[int, int, int]], ...] = (
    ("stage1.fuse0.from0", 24, 1, (32, 12, 1)),
    ("stage1.b0.block0", 24, 1, (28, 7, 5)),
    ("stage2.fuse0.from0", 18, 1, (28, 8, 1)),
    ("stage2.fuse1.extend", 36, 2, (31, 29, 30)),
    ("stage2.b0.block0", 18, 1, (11, 4, 0)),
    ("stage2.b0.block1", 18, 1, (1, 0, 0)),
    ("stage2.b1.block0", 36, 1, (14, 19, 17)),
    ("stage2.b1.block1", 36, 1, (18, 12, 7)),
    ("stage3.fuse0.from0", 18, 1, (8, 1, 0)),
    ("stage3.fuse0.from1", 18, 1, (3, 0, 1)),
    ("stage3.fuse1.from0", 36, 2, (15, 17, 17)),
    ("stage3.fuse1.from1", 36, 1, (24, 19, 8)),
    ("stage3.fuse2.extend", 72, 2, (62, 82, 86)),
    ("stage3.b0.block0", 18, 1, (0, 0, 0)),
    ("stage3.b0.block1", 18, 1, (0, 0, 0)),
    ("stage3.b1.block0", 36, 1, (14, 15, 6)),
    ("stage3.b1.block1", 36, 1, (14, 8, 3)),
    ("stage3.b2.block0", 72, 1, (39, 42, 58)),
    ("stage3.b2.block1", 72, 1, (53, 21, 30)),
    ("stage3.b2.block2", 72, 1, (66, 49, 52)),
    ("stage4.fuse0.from0", 18, 1, (1, 0, 0)),
    ("stage4.fuse0.from1", 18, 1, (1, 0, 1)),
    ("stage4.fuse1.from0", 36, 2, (3, 6, 2)),
    ("stage4.fuse1.from1", 36, 1, (8, 2, 2)),
    ("stage4.fuse1.from2", 36, 1, (20, 9, 19)),
    ("stage4.fuse2.from1", 72, 2, (62, 65, 42)),
    ("stage4.fuse2.from2", 72, 1, (71, 52, 45)),
    ("stage4.fuse3.extend", 144, 2, (180, 142, 158)),
    ("stage4.b0.block0", 18, 1, (0, 0, 0)),
    ("stage4.b0.block1", 18, 1, (0, 0, 0)),
    ("stage4.b1.block0", 36, 1, (2, 1, 3)),
    ("stage4.b1.block1", 36, 1, (1, 4, 1)),
    ("stage4.b2.block0", 72, 1, (36, 26, 17)),
    ("stage4.b2.block1", 72, 1, (21, 22, 7)),
    ("stage4.b2.block2", 72, 1, (20, 16, 15)),
    ("stage4.b3.block0", 144, 1, (66, 48, 124)),
    ("stage4.b3.block1", 144, 1, (74, 61, 136)),
    ("stage4.b3.block2", 144, 1, (76, 48, 123)),
    ("stage4.b3.block3", 144, 1, (128, 59, 128)),
    ("stage5.fuse0.from0", 18, 1, (0, 0, 0)),
    ("stage5.fuse0.from1", 18, 1, (0, 0, 1)),
    ("stage5.fuse1.from0", 36, 2, (0, 1, 0)),
    ("stage5.fuse1.from1", 36, 1, (0, 0, 1)),
    ("stage5.fuse1.from2", 36, 1, (8, 3, 5)),
    ("stage5.fuse2.from1", 72, 2, (17, 23, 20)),
    ("stage5.fuse2.from2", 72, 1, (39, 9, 9)),
    ("stage5.fuse2.from3", 72, 1, (92, 33, 105)),
    ("stage5.fuse3.from2", 144, 2, (145, 142, 153)),
    ("stage5.fuse3.from3", 144, 1, (147, 75, 82)),
    ("stage5.b0.block0", 18, 1, (0, 0, 0)),
    ("stage5.b0.block1", 18, 1, (0, 0, 0)),
    ("stage5.b1.block0", 36, 1, (0, 1, 3)),
    ("stage5.b1.block1", 36, 1, (1, 0, 1)),
    ("stage5.b2.block0", 72, 1, (27, 13, 15)),
    ("stage5.b2.block1", 72, 1, (18, 6, 22)),
    ("stage5.b2.block2", 72, 1, (22, 10, 19)),
    ("stage5.b3.block0", 144, 1, (158, 83, 98)),
    ("stage5.b3.block1", 144, 1, (178, 110, 124)),
    ("stage5.b3.block2", 144, 1, (175, 122, 158)),
    ("stage5.b3.block3", 144, 1, (127, 96, 143)),
    ("head.incre0", 36, 1, (0, 0, 0)),
    ("head.incre1", 72, 1, (0, 2, 7)),
    ("head.incre2", 144, 1, (25, 40, 20)),
    ("head.incre3", 320, 1, (45, 44, 170)),
    ("head.down0", 72, 2, (0, 0, 0)),
    ("head.down1", 144, 2, (3, 14, 11)),
    ("head.down2", 320, 2, (29, 22, 108)),
)


@dataclass(frozen=True)
class SuperTicketsOptions(TypedOptions):
    """SuperTickets' knobs.

    * ``channel_keep``: None (default): the released searched widths (:data:`RELEASED`); a
      number in (0, 1]: every branch keeps ``max(1, round(full x keep))`` hidden channels.
    * ``drop_kernels``: kernels whose branches are removed everywhere (as text ``"7"``,
      ``"5,7"``; ``()``: none); at least one of 3, 5, 7 must stay.
    * ``hidden``: explicit widths by branch (as text
      ``"stage2.b0.block1.k5=12,stage3.b2.block0.k7=0"``) overriding the two above for the
      branches named (0 removes one; at most the supernet's width).
    * ``sparsity``: the unstructured target, share of prunable weights set to zero, 0 to
      0.99 (the released configs use 0.3 to 0.98; 0.9 is the ImageNet config's default).
    * ``sparsity_scope``: ``"global"`` (the code's: one magnitude threshold, per-layer
      densities from ``weight_init``) or ``"local"`` (every layer at ``1 - sparsity``).
    * ``weight_init``: the weight scale the global threshold is modelled on: ``"mnas"`` (the
      configs' ``reset_param_method``) or ``"kaiming-fan-in"``.
    * ``schedule_epoch``: None: the target; an epoch count: the ramp's sparsity after it.
    * ``prune_interval``: epochs between prunes of the ramp (25).
    """

    channel_keep: float | None = None
    drop_kernels: tuple[int, ...] = ()
    hidden: tuple[tuple[str, int], ...] | None = None
    sparsity: Annotated[float, Range(0, MAX_SPARSITY)] = 0.9
    sparsity_scope: Scope = "global"
    weight_init: WeightInit = "mnas"
    schedule_epoch: int | None = None
    prune_interval: int = PRUNE_INTERVAL

    def validate(self) -> SuperTicketsOptions:
        """Raise ValueError (one line) naming the first bad option; return self (types,
        choices and ``sparsity``'s range are checked on construction)."""
        if self.channel_keep is not None and not 0 < self.channel_keep <= 1:
            raise ValueError(f"channel_keep must be in (0, 1] or None, not {self.channel_keep!r}")
        for kernel in self.drop_kernels:
            if kernel not in KERNELS:
                raise ValueError(
                    f"drop_kernels names kernel {str(kernel)!r}; the supernet's kernels are 3, 5, 7"
                )
        if set(self.drop_kernels) >= set(KERNELS):
            raise ValueError(
                f"drop_kernels {format_value(self.drop_kernels)!r} removes every kernel; "
                "keep one of 3, 5, 7"
            )
        if self.hidden is not None:
            full = hrnas_branches()
            for name, width in self.hidden:
                if name not in full:
                    raise ValueError(
                        f"hidden names unknown branch {name!r} (branches are like "
                        "'stage2.b0.block1.k5'; see prunesim.models.hrnas.hrnas_branches())"
                    )
                if not 0 <= width <= full[name]:
                    raise ValueError(
                        f"hidden[{name!r}] must be in 0..{full[name]} (the supernet's width), "
                        f"not {width}"
                    )
        if self.schedule_epoch is not None and self.schedule_epoch < 0:
            raise ValueError(
                f"schedule_epoch must be a non-negative integer or None, "
                f"not {self.schedule_epoch!r}"
            )
        if self.prune_interval < 1:
            raise ValueError(
                f"prune_interval must be a positive integer, not {self.prune_interval!r}"
            )
        return self

    @property
    def effective_sparsity(self) -> float:
        """The sparsity the workload is priced at: the target, or the ramp's at
        ``schedule_epoch``."""
        if self.schedule_epoch is None:
            return float(self.sparsity)
        return ramp_sparsity(self.schedule_epoch, self.sparsity, self.prune_interval)


def ramp_sparsity(epoch: int, target: float, interval: int = PRUNE_INTERVAL) -> float:
    """The sparsity after ``epoch`` training epochs: ``min(target, floor(epoch / interval) x
    0.1)`` (``train.py``: a prune after every ``interval``-th epoch)."""
    return min(float(target), round((epoch // interval) * PRUNE_STEP, 12))


def released_hidden() -> dict[str, int]:
    """Every branch's hidden width in HR-NAS's released searched network (:data:`RELEASED`)."""
    return {
        f"{block}.k{k}": h
        for block, _, _, widths in RELEASED
        for k, h in zip(KERNELS, widths, strict=True)
    }


def slimmed_hidden(options: SuperTicketsOptions) -> dict[str, int]:
    """Every kernel branch's hidden width after slimming (0: removed), in execution order."""
    full = hrnas_branches()
    if options.channel_keep is None:
        hidden = released_hidden()
    else:
        hidden = {b: max(1, round(w * options.channel_keep)) for b, w in full.items()}
    for branch in hidden:
        if int(branch.rsplit(".k", 1)[1]) in options.drop_kernels:
            hidden[branch] = 0
    if options.hidden is not None:
        hidden.update(options.hidden)
    return hidden


def slim_network(options: SuperTicketsOptions) -> CNNConfig:
    """The slimmed sub-net of the HR-NAS supernet ``options`` describe (built once per set of
    widths and shared: a :class:`CNNConfig` is immutable)."""
    return _slim(tuple(slimmed_hidden(options).items()))


@lru_cache(maxsize=64)
def _slim(hidden: tuple[tuple[str, int], ...]) -> CNNConfig:
    return hrnas_supernet(hidden=dict(hidden))


def _prunable(layer: Conv2d | Dense) -> bool:
    """SuperTickets masks every convolution; the classifier is a plain ``nn.Linear``."""
    return isinstance(layer, Conv2d)


def init_std(layer: Conv2d, weight_init: str = "mnas") -> float:
    """The standard deviation of ``layer``'s weights at initialisation (module docstring)."""
    window = layer.kernel**2
    if weight_init == "mnas":
        fan = window if layer.groups == layer.in_channels else layer.out_channels * window
    elif weight_init == "kaiming-fan-in":
        fan = layer.in_channels // layer.groups * window
    else:
        raise ValueError(
            f"weight_init must be one of {', '.join(WEIGHT_INITS)}, not {weight_init!r}"
        )
    return math.sqrt(2.0 / fan)


def _keep_fractions(t: float, stds: np.ndarray) -> np.ndarray:
    """The share of ``N(0, std^2)`` weights above ``t`` in magnitude, for each std."""
    return np.asarray([math.erfc(t / (std * math.sqrt(2.0))) for std in stds])


def layer_densities(
    network: CNNConfig,
    sparsity: float,
    scope: str = "global",
    weight_init: str = "mnas",
) -> tuple[dict[str, float], list[str]]:
    """Non-zero weight fraction of every prunable layer of ``network`` at ``sparsity`` (module
    docstring), and the layers the global threshold collapses to one weight. The classifier is
    absent (dense)."""
    layers = [layer for layer in network.layers if _prunable(layer)]
    if sparsity == 0:
        return {layer.name: 1.0 for layer in layers}, []
    if scope == "local":
        return {layer.name: 1.0 - sparsity for layer in layers}, []
    if scope != "global":
        raise ValueError(f"sparsity_scope must be one of {', '.join(SCOPES)}, not {scope!r}")
    unique, index = np.unique(
        np.asarray([init_std(layer, weight_init) for layer in layers]), return_inverse=True
    )
    sizes = np.asarray([layer.weight_elements for layer in layers], dtype=np.float64)
    target = (1.0 - sparsity) * sizes.sum()
    lo, hi = 0.0, float(unique.max()) * math.sqrt(2.0) * 30.0
    for _ in range(64):  # bisection: the bracket shrinks 2^64-fold, below float resolution
        mid = (lo + hi) / 2
        kept = np.maximum(sizes * _keep_fractions(mid, unique)[index], 1.0).sum()
        if kept > target:
            lo = mid
        else:
            hi = mid
    kept = sizes * _keep_fractions((lo + hi) / 2, unique)[index]
    collapsed = [layer.name for layer, k in zip(layers, kept, strict=True) if k < 1.0]
    density = {
        layer.name: float(min(1.0, max(k, 1.0) / n))
        for layer, k, n in zip(layers, kept, sizes, strict=True)
    }
    return density, collapsed


def _nonzero_fraction(network: CNNConfig, density: Mapping[str, float], prunable: bool) -> float:
    layers = [layer for layer in network.layers if _prunable(layer) or not prunable]
    total = sum(layer.weight_elements for layer in layers)
    return sum(layer.weight_elements * density.get(layer.name, 1.0) for layer in layers) / total


def build(model: CNNConfig, stage: Stage, options: SuperTicketsOptions) -> Workload:
    """SuperTickets' workload of the HR-NAS supernet ``model`` in ``stage``: the slimmed
    sub-net, every prunable layer at its modelled density (module docstring). The schedule
    holds ``channels`` and ``density`` per layer; extras the MACs of the supernet, of the
    slimmed net and of its non-zero weights, and the non-zero fractions."""
    options.validate()
    network = slim_network(options)
    sparsity = options.effective_sparsity
    density, collapsed = layer_densities(
        network, sparsity, options.sparsity_scope, options.weight_init
    )
    branches = hrnas_branches(network)
    supernet_macs = HRNAS_SUPERNET.macs()
    slim_macs = network.macs()
    nonzero_macs = sum(layer.macs * density.get(layer.name, 1.0) for layer in network.layers)
    prunable_density = _nonzero_fraction(network, density, prunable=True)
    weight_density = _nonzero_fraction(network, density, prunable=False)
    widths = (
        "released HR-NAS widths"
        if options.channel_keep is None
        else (f"every branch at {options.channel_keep:g} of its hidden channels")
    )
    if options.drop_kernels:
        widths += f", k{'/'.join(map(str, sorted(set(options.drop_kernels))))} removed"
    if options.hidden:
        widths += f", {len(options.hidden)} branches set by hand"
    ramp = (
        ""
        if options.schedule_epoch is None
        else f" (epoch {options.schedule_epoch} of the ramp to {options.sparsity:g})"
    )
    notes = [
        f"supertickets slimming ({widths}): {len(branches)} of {len(hrnas_branches())} kernel "
        "branches, "
        f"{sum(branches.values())} of {sum(hrnas_branches().values())} hidden channels; "
        f"{slim_macs / 1e9:.3f} GMACs vs the supernet's {supernet_macs / 1e9:.3f} "
        f"({supernet_macs / slim_macs:.2f}x fewer), {network.params() / 1e6:.2f}M parameters",
        f"supertickets unstructured: sparsity {sparsity:g}{ramp}, {options.sparsity_scope} "
        + (
            f"magnitude on {options.weight_init}-init scales"
            if options.sparsity_scope == "global"
            else "(every layer alike)"
        )
        + f"; non-zero: {prunable_density:.4f} of prunable weights, {weight_density:.4f} of all "
        f"(classifier dense); {nonzero_macs / 1e9:.3f} GMACs on non-zero weights",
    ]
    if collapsed:
        notes.append(
            f"supertickets: the global threshold empties {len(collapsed)} layer(s) "
            f"(e.g. {collapsed[0]}); each is kept at one weight"
        )
    extras = {
        "supernet_macs": float(supernet_macs),
        "slim_macs": float(slim_macs),
        "nonzero_macs": float(nonzero_macs),
        "sparsity": float(sparsity),
        "prunable_density": float(prunable_density),
        "weight_density": float(weight_density),
        "live_branches": float(len(branches)),
        "collapsed_layers": float(len(collapsed)),
    }
    workload = network_workload(
        network,
        stage,
        model=model.name,
        method="supertickets",
        density=density,
        notes=notes,
        extras=extras,
    )
    if isinstance(stage, Train):
        params = float(network.params())
        masked = float(
            sum(
                layer.weight_elements + layer.bn_params
                for layer in network.layers
                if _prunable(layer)
            )
        )
        memory, streams = training_footprint(
            params=params,
            trainable=params,
            activation_elements=saved_activation_elements(workload),
            optimizer="adamw",
            extra={"ema": params * 4, "masks": masked * 4},
        )
        workload.memory_bytes, workload.streams = memory, streams
        workload.notes.append(
            "supertickets training: every weight keeps a gradient and RMSprop's two fp32 "
            "buffers (priced as AdamW's 8 bytes), an EMA copy and fp32 masks"
        )
    return workload


register_method(
    NetworkMethod(
        "supertickets",
        "SuperTickets: HR-NAS supernet slimmed (released widths) + global magnitude sparsity",
        SuperTicketsOptions(),
        order=32,
        supports=SUPPORTED,
        builder=build,
    )
)
