"""Once-for-All's MobileNetV3 supernet (Cai et al., ICLR 2020, arXiv 1908.09791) and its sub-nets.

The supernet (``ofa_mbv3_d234_e346_k357_w1.0`` and ``..._w1.2`` in mit-han-lab/once-for-all,
``OFAMobileNetV3`` in ``ofa/imagenet_classification/elastic_nn/networks/ofa_mbv3.py``):

* ``first_conv``: 3x3 stride-2 convolution, 16 (w1.0) / 24 (w1.2) channels, batch norm.
* ``blocks.0``: an MBConv block with expand ratio 1 (no expanding convolution): 3x3 depthwise,
  1x1 projection to 16 / 24 channels, identity shortcut.
* five units of up to four MBConv blocks each, supernet block ``blocks.{1 + 4u + j}`` for unit
  ``u`` and slot ``j``: widths 24/40/80/112/160 (w1.0) or 32/48/96/136/192 (w1.2), the first
  block of a unit strides by 2, 2, 2, 1, 2; squeeze-and-excitation in units 1, 3 and 4 (the
  40/112/160-wide ones); an identity shortcut wherever a block keeps its shape. A block with
  input width ``c``, expand ratio ``e`` and kernel ``k`` is a 1x1 expanding convolution to
  ``mid = make_divisible(round(c * e), 8)``, a ``k x k`` depthwise convolution, the SE branch
  (1x1 ``mid -> make_divisible(mid // 4, 8)`` and back, both with bias, on the pooled 1x1
  tensor) and a 1x1 projection; every convolution outside SE has batch norm and no bias.
* ``final_expand_layer``: 1x1 convolution to 960 / 1152 channels, batch norm; global average
  pool; ``feature_mix_layer``: 1x1 convolution to 1280 / 1536 channels on the pooled 1x1
  tensor, no bias, no batch norm; ``classifier``: linear to 1000 classes with bias.

A sub-net is an :class:`OFASpec` (OFA's own ``ks``/``e``/``d`` arch dict plus resolution and
width): unit ``u`` keeps its first ``d[u]`` blocks; block slot ``4u + j`` uses ``ks[4u + j]``
and ``e[4u + j]``; slots beyond a unit's depth are ignored. :func:`ofa_subnet` builds it as a
:class:`~prunesim.models.cnn.CNNConfig`; :func:`ofa_macs` computes the same MAC count without
building anything (for sweeps over thousands of sub-nets). MACs are OFA's ``count_net_flops``
convention (convolutions and linears, SE included; see :mod:`prunesim.models.cnn`), the same as
``MBv3LatencyTable.count_flops_given_config`` in ``ofa/nas/efficiency_predictor``.

:func:`mobilenet_v3_large` is Howard et al.'s MobileNetV3-Large (torchvision's layout), the
baseline the OFA paper compares with; its stem, first block and head are OFA w1.0's, its 15
other blocks are not.
"""

from __future__ import annotations

import random
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from prunesim.models.checks import check_positive_int
from prunesim.models.cnn import IMAGE, CNNConfig, Conv2d, Dense, Join, Layer

__all__ = [
    "OFA_DEPTHS",
    "OFA_EXPAND_RATIOS",
    "OFA_KERNELS",
    "OFA_MAX_RESOLUTION",
    "OFA_MIN_RESOLUTION",
    "OFA_SLOTS",
    "OFA_TRAIN_RESOLUTIONS",
    "OFA_UNITS",
    "OFA_WIDTH_MULTS",
    "OFASpec",
    "OFAWidths",
    "make_divisible",
    "mobilenet_v3_large",
    "ofa_macs",
    "ofa_subnet",
    "ofa_widths",
    "sample_ofa_spec",
]

#: Depthwise kernel sizes a block may take.
OFA_KERNELS: tuple[int, ...] = (3, 5, 7)
#: Expand ratios a block may take.
OFA_EXPAND_RATIOS: tuple[int, ...] = (3, 4, 6)
#: Blocks a unit may keep (its first ``d``).
OFA_DEPTHS: tuple[int, ...] = (2, 3, 4)
#: Units of elastic blocks, and block slots per unit (the largest depth).
OFA_UNITS = 5
OFA_SLOTS = 4
#: Width multipliers of the two released MobileNetV3 supernets.
OFA_WIDTH_MULTS: tuple[float, ...] = (1.0, 1.2)
#: Resolutions :class:`OFASpec` accepts: multiples of 4 from 128 to 260. The supernets were
#: trained on 128..224 (w1.0) and 160..224 (w1.2) (OFA README); the specialized sub-nets run up
#: to 260 (``note10_lat@64ms_top1@80.2_finetune@75``'s ``run.config``: ``image_size`` 260).
OFA_MIN_RESOLUTION = 128
OFA_MAX_RESOLUTION = 260
#: The resolutions each supernet was trained on (step 4), which :func:`sample_ofa_spec` draws.
OFA_TRAIN_RESOLUTIONS: dict[float, tuple[int, ...]] = {
    1.0: tuple(range(128, 225, 4)),
    1.2: tuple(range(160, 225, 4)),
}

# OFAMobileNetV3's base_stage_width: stem, first block, five units, final expand, feature mix.
_BASE_WIDTHS = (16, 16, 24, 40, 80, 112, 160, 960, 1280)
_UNIT_STRIDES = (2, 2, 2, 1, 2)
_UNIT_SE = (False, True, False, True, True)
_CHANNEL_DIVISIBLE = 8
_SE_REDUCTION = 4
_CLASSES = 1000

_SOURCE = (
    "Cai et al., Once-for-All, ICLR 2020 (arXiv 1908.09791); mit-han-lab/once-for-all "
    "OFAMobileNetV3, DynamicMBConvLayer, SEModule (layout, make_divisible, SE width)"
)


def make_divisible(value: float, divisor: int = _CHANNEL_DIVISIBLE) -> int:
    """``value`` rounded to the nearest multiple of ``divisor`` (at least ``divisor``), bumped up
    by one ``divisor`` if rounding lost more than 10%.

    The rule of TensorFlow's MobileNet code that OFA (``ofa/utils/pytorch_modules.py``) and
    torchvision's MobileNetV3 use for every channel count: ``make_divisible(19.2) == 24``,
    ``make_divisible(134.4) == 136``, ``make_divisible(18) == 24``.
    """
    new = max(divisor, int(value + divisor / 2) // divisor * divisor)
    return new + divisor if new < 0.9 * value else new


@dataclass(frozen=True)
class OFAWidths:
    """The fixed channel counts of a supernet: stem, first block, the five units, head."""

    stem: int
    first_block: int
    units: tuple[int, int, int, int, int]
    final_expand: int
    feature_mix: int


def _widths(w: float) -> OFAWidths:
    s = [make_divisible(base * w) for base in _BASE_WIDTHS]
    return OFAWidths(s[0], s[1], (s[2], s[3], s[4], s[5], s[6]), s[7], s[8])


_WIDTHS: dict[float, OFAWidths] = {w: _widths(w) for w in OFA_WIDTH_MULTS}


def ofa_widths(w: float = 1.0) -> OFAWidths:
    """The supernet's widths for multiplier ``w``: ``make_divisible(base * w, 8)`` of OFA's base
    widths (16, 16, 24/40/80/112/160, 960, 1280); w1.2 gives 24, 24, 32/48/96/136/192, 1152,
    1536. Raises :class:`ValueError` for a ``w`` other than 1.0 or 1.2.
    """
    _check_w(w)
    return _WIDTHS[float(w)]


def _check_w(w: object) -> None:
    if isinstance(w, bool) or not isinstance(w, int | float) or w not in OFA_WIDTH_MULTS:
        raise ValueError(f"OFASpec w must be 1.0 or 1.2, not {w!r}")


def _check_choices(field: str, values: object, length: int, choices: tuple[int, ...]) -> tuple:
    if not isinstance(values, Sequence) or isinstance(values, str):
        raise ValueError(f"OFASpec {field} must be a sequence of {length} integers, not {values!r}")
    values = tuple(values)
    if len(values) != length:
        raise ValueError(f"OFASpec {field} must have {length} entries, not {len(values)}")
    return check_entries(field, values, choices)


def check_entries(field: str, values: tuple, choices: tuple[int, ...]) -> tuple:
    """``values`` if every entry is one of ``choices``; else ValueError naming the entry:
    ``OFASpec ks[3] must be one of 3, 5, 7, not 4``."""
    allowed = ", ".join(map(str, choices))
    for i, v in enumerate(values):
        if isinstance(v, bool) or not isinstance(v, int) or v not in choices:
            raise ValueError(f"OFASpec {field}[{i}] must be one of {allowed}, not {v!r}")
    return values


def check_resolution(name: str, r: object) -> int:
    """``r`` if it is a multiple of 4 in :data:`OFA_MIN_RESOLUTION`..:data:`OFA_MAX_RESOLUTION`;
    else ValueError: ``{name} must be a multiple of 4 in 128..260, not 130``."""
    if (
        isinstance(r, bool)
        or not isinstance(r, int)
        or not OFA_MIN_RESOLUTION <= r <= OFA_MAX_RESOLUTION
        or r % 4
    ):
        raise ValueError(
            f"{name} must be a multiple of 4 in {OFA_MIN_RESOLUTION}..{OFA_MAX_RESOLUTION}, "
            f"not {r!r}"
        )
    return r


@dataclass(frozen=True)
class OFASpec:
    """One sub-net of an OFA MobileNetV3 supernet: OFA's arch dict plus resolution and width.

    * ``ks``: 20 depthwise kernel sizes in {3, 5, 7}, slot ``4u + j`` for unit ``u``, block ``j``.
    * ``e``: 20 expand ratios in {3, 4, 6}, same slots.
    * ``d``: 5 unit depths in {2, 3, 4}: unit ``u`` keeps its first ``d[u]`` blocks; the other
      slots' ``ks``/``e`` are ignored (but still validated).
    * ``r``: input resolution (square), a multiple of 4 in 128..260 (see
      :data:`OFA_MIN_RESOLUTION`).
    * ``w``: width multiplier, 1.0 or 1.2 (the two released supernets).

    Lists are accepted and stored as tuples (the spec is hashable). Raises :class:`ValueError`
    with one line naming the field and the bad value: ``OFASpec ks[3] must be one of 3, 5, 7,
    not 4``, ``OFASpec d must have 5 entries, not 4``, ``OFASpec r must be a multiple of 4 in
    128..260, not 130``, ``OFASpec w must be 1.0 or 1.2, not 1.1``.
    """

    ks: tuple[int, ...]
    e: tuple[int, ...]
    d: tuple[int, ...]
    r: int = 224
    w: float = 1.0

    def __post_init__(self) -> None:
        slots = OFA_UNITS * OFA_SLOTS
        object.__setattr__(self, "ks", _check_choices("ks", self.ks, slots, OFA_KERNELS))
        object.__setattr__(self, "e", _check_choices("e", self.e, slots, OFA_EXPAND_RATIOS))
        object.__setattr__(self, "d", _check_choices("d", self.d, OFA_UNITS, OFA_DEPTHS))
        check_resolution("OFASpec r", self.r)
        _check_w(self.w)
        object.__setattr__(self, "w", float(self.w))

    @classmethod
    def uniform(cls, k: int, e: int, d: int, r: int = 224, w: float = 1.0) -> OFASpec:
        """Every block with kernel ``k`` and expand ratio ``e``, every unit ``d`` deep (OFA's
        ``set_active_subnet(ks=k, e=e, d=d)``); ``uniform(7, 6, 4)`` is the largest sub-net."""
        slots = OFA_UNITS * OFA_SLOTS
        return cls((k,) * slots, (e,) * slots, (d,) * OFA_UNITS, r, w)

    def blocks(self) -> tuple[tuple[int, int, int, int], ...]:
        """The active elastic blocks as ``(unit, slot, kernel, expand)``, in execution order."""
        return tuple(
            (u, OFA_SLOTS * u + j, self.ks[OFA_SLOTS * u + j], self.e[OFA_SLOTS * u + j])
            for u in range(OFA_UNITS)
            for j in range(self.d[u])
        )

    def to_dict(self) -> dict[str, Any]:
        """OFA's arch dict (``ks``, ``e``, ``d`` as lists) plus ``r`` and ``w``."""
        return {"ks": list(self.ks), "e": list(self.e), "d": list(self.d), "r": self.r, "w": self.w}


def sample_ofa_spec(rng: random.Random, w: float = 1.0) -> OFASpec:
    """A sub-net drawn uniformly: each ``ks``/``e`` slot and each depth independently, the
    resolution from the supernet's training range (:data:`OFA_TRAIN_RESOLUTIONS`)."""
    _check_w(w)
    slots = OFA_UNITS * OFA_SLOTS
    return OFASpec(
        ks=tuple(rng.choice(OFA_KERNELS) for _ in range(slots)),
        e=tuple(rng.choice(OFA_EXPAND_RATIOS) for _ in range(slots)),
        d=tuple(rng.choice(OFA_DEPTHS) for _ in range(OFA_UNITS)),
        r=rng.choice(OFA_TRAIN_RESOLUTIONS[float(w)]),
        w=w,
    )


def _ceil_div(a: int, b: int) -> int:
    return -(-a // b)


def ofa_macs(spec: OFASpec, num_classes: int = _CLASSES) -> int:
    """MACs of the sub-net ``spec``, equal to ``ofa_subnet(spec, num_classes).macs()``.

    Pure integer arithmetic over the active blocks, nothing built: about 15 us a sub-net (1000
    random specs in tens of milliseconds), for sweeps.
    """
    if not isinstance(spec, OFASpec):
        raise ValueError(f"ofa_macs spec must be an OFASpec, not {spec!r}")
    widths = _WIDTHS[spec.w]
    side = _ceil_div(spec.r, 2)
    stem = widths.stem
    # first_conv; blocks.0: depthwise 3x3 and projection, stride 1.
    macs = (
        side * side * stem * 3 * 9
        + side * side * stem * 9
        + side * side * stem * widths.first_block
    )
    channels = widths.first_block
    ks, es = spec.ks, spec.e
    for u in range(OFA_UNITS):
        out = widths.units[u]
        se = _UNIT_SE[u]
        for j in range(spec.d[u]):
            slot = OFA_SLOTS * u + j
            k = ks[slot]
            mid = make_divisible(round(channels * es[slot]))
            out_side = _ceil_div(side, _UNIT_STRIDES[u]) if j == 0 else side
            macs += side * side * channels * mid  # expand, at the block's input size
            area = out_side * out_side
            macs += area * mid * (k * k + out)  # depthwise and projection
            if se:
                macs += 2 * mid * make_divisible(mid // _SE_REDUCTION)
            side, channels = out_side, out
    macs += side * side * channels * widths.final_expand
    macs += widths.final_expand * widths.feature_mix + widths.feature_mix * num_classes
    return macs


class _Builder:
    """Appends MBConv blocks (Conv2d layers and joins) to a growing graph."""

    def __init__(self, stem: Conv2d) -> None:
        self.layers: list[Layer] = [stem]
        self.joins: list[Join] = []
        self.node, self.channels, self.side = stem.name, stem.out_channels, stem.out_height

    def mbconv(
        self, prefix: str, mid: int, out: int, kernel: int, stride: int, se: bool, expand: bool
    ) -> None:
        """An inverted-residual block: [1x1 expand] -> kxk depthwise -> [SE] -> 1x1 project,
        plus an identity shortcut when the block keeps its shape."""
        block_in, cin, side = self.node, self.channels, self.side
        node = block_in
        if expand:
            conv = Conv2d(
                name=f"{prefix}.expand",
                in_channels=cin,
                out_channels=mid,
                kernel=1,
                in_height=side,
                in_width=side,
                input_from=node,
            )
            self.layers.append(conv)
            node = conv.name
        else:
            if mid != cin:
                raise ValueError(f"{prefix}: without an expanding convolution mid must be {cin}")
        dw = Conv2d(
            name=f"{prefix}.dw",
            in_channels=mid,
            out_channels=mid,
            kernel=kernel,
            stride=stride,
            groups=mid,
            in_height=side,
            in_width=side,
            input_from=node,
        )
        self.layers.append(dw)
        node = dw.name
        if se:
            squeeze = make_divisible(mid // _SE_REDUCTION)
            reduce = Conv2d(
                name=f"{prefix}.se.reduce",
                in_channels=mid,
                out_channels=squeeze,
                kernel=1,
                in_height=1,
                in_width=1,
                bias=True,
                bn=False,
                input_from=dw.name,
            )
            expand_se = Conv2d(
                name=f"{prefix}.se.expand",
                in_channels=squeeze,
                out_channels=mid,
                kernel=1,
                in_height=1,
                in_width=1,
                bias=True,
                bn=False,
                input_from=reduce.name,
            )
            self.layers += [reduce, expand_se]
            gate = Join(name=f"{prefix}.se.mul", kind="mul", inputs=(dw.name, expand_se.name))
            self.joins.append(gate)
            node = gate.name
        project = Conv2d(
            name=f"{prefix}.project",
            in_channels=mid,
            out_channels=out,
            kernel=1,
            in_height=dw.out_height,
            in_width=dw.out_width,
            input_from=node,
        )
        self.layers.append(project)
        node = project.name
        if stride == 1 and cin == out:
            add = Join(name=f"{prefix}.add", kind="add", inputs=(project.name, block_in))
            self.joins.append(add)
            node = add.name
        self.node, self.channels, self.side = node, out, dw.out_height

    def conv1x1(self, name: str, out: int, *, pooled: bool = False, bn: bool = True) -> None:
        """A 1x1 convolution on the current node (``pooled``: on its global average, at 1x1)."""
        side = 1 if pooled else self.side
        conv = Conv2d(
            name=name,
            in_channels=self.channels,
            out_channels=out,
            kernel=1,
            in_height=side,
            in_width=side,
            bn=bn,
            input_from=self.node,
        )
        self.layers.append(conv)
        self.node, self.channels, self.side = name, out, side

    def dense(self, name: str, out: int) -> None:
        self.layers.append(
            Dense(name=name, in_features=self.channels, out_features=out, input_from=self.node)
        )
        self.node, self.channels, self.side = name, out, 1


def ofa_subnet(spec: OFASpec, num_classes: int = _CLASSES) -> CNNConfig:
    """The sub-net ``spec`` as a :class:`~prunesim.models.cnn.CNNConfig` (layout in the module
    docstring).

    Names follow OFA's supernet indices so that a layer keeps its name across sub-nets:
    ``first_conv``; ``blocks.0.dw``, ``blocks.0.project``; ``blocks.{i}.expand``, ``.dw``,
    ``.se.reduce``, ``.se.expand``, ``.project`` for supernet block ``i = 1 + 4u + j``; joins
    ``blocks.{i}.se.mul`` and ``blocks.{i}.add``; ``final_expand_layer``, ``feature_mix_layer``,
    ``classifier``. Its :meth:`~prunesim.models.cnn.CNNConfig.macs` equals :func:`ofa_macs`.
    """
    if not isinstance(spec, OFASpec):
        raise ValueError(f"ofa_subnet spec must be an OFASpec, not {spec!r}")
    check_positive_int("ofa_subnet", "num_classes", num_classes)
    widths = _WIDTHS[spec.w]
    stem = Conv2d(
        name="first_conv",
        in_channels=3,
        out_channels=widths.stem,
        kernel=3,
        stride=2,
        in_height=spec.r,
        in_width=spec.r,
        input_from=IMAGE,
    )
    net = _Builder(stem)
    net.mbconv("blocks.0", widths.stem, widths.first_block, 3, 1, se=False, expand=False)
    for u, slot, kernel, expand in spec.blocks():
        first = slot == OFA_SLOTS * u
        net.mbconv(
            f"blocks.{1 + slot}",
            make_divisible(round(net.channels * expand)),
            widths.units[u],
            kernel,
            _UNIT_STRIDES[u] if first else 1,
            se=_UNIT_SE[u],
            expand=True,
        )
    net.conv1x1("final_expand_layer", widths.final_expand)
    net.conv1x1("feature_mix_layer", widths.feature_mix, pooled=True, bn=False)
    net.dense("classifier", num_classes)
    return CNNConfig(
        name=f"ofa-mbv3-w{spec.w:g}-r{spec.r}-d{''.join(map(str, spec.d))}",
        input=(3, spec.r, spec.r),
        layers=tuple(net.layers),
        joins=tuple(net.joins),
        source=f"{_SOURCE}; spec {spec.to_dict()}",
    )


# torchvision's MobileNetV3-Large: (kernel, expanded, out, SE, stride) per block after the stem.
_MBV3_LARGE = (
    (3, 16, 16, False, 1),
    (3, 64, 24, False, 2),
    (3, 72, 24, False, 1),
    (5, 72, 40, True, 2),
    (5, 120, 40, True, 1),
    (5, 120, 40, True, 1),
    (3, 240, 80, False, 2),
    (3, 200, 80, False, 1),
    (3, 184, 80, False, 1),
    (3, 184, 80, False, 1),
    (3, 480, 112, True, 1),
    (3, 672, 112, True, 1),
    (5, 672, 160, True, 2),
    (5, 960, 160, True, 1),
    (5, 960, 160, True, 1),
)


def mobilenet_v3_large(resolution: int = 224, num_classes: int = 1000) -> CNNConfig:
    """MobileNetV3-Large 1.0 (Howard et al., ICCV 2019, arXiv 1905.02244, Table 1) as
    torchvision builds it (``torchvision.models.mobilenet_v3_large``).

    Stem 3x3 stride 2 to 16 channels; 15 inverted-residual blocks (first one without an
    expanding convolution); SE of width ``make_divisible(expanded // 4, 8)`` with biased 1x1
    convolutions; 1x1 to 960 with batch norm; global pool; ``classifier.0`` 960 -> 1280 and
    ``classifier.3`` 1280 -> 1000, both linear with bias. Names: ``features.0``,
    ``features.{i}.expand`` / ``.dw`` / ``.se.reduce`` / ``.se.expand`` / ``.project``,
    ``features.16``, ``classifier.0``, ``classifier.3``.

    At 224: 5,483,032 parameters (torchvision's ``num_params``, exactly) and 216,589,760 MACs
    (Howard et al.: 219M multiply-adds; torchvision: 0.22 GFLOPS; Keras: 217M MACs).
    """
    check_positive_int("mobilenet_v3_large", "resolution", resolution)
    check_positive_int("mobilenet_v3_large", "num_classes", num_classes)
    stem = Conv2d(
        name="features.0",
        in_channels=3,
        out_channels=16,
        kernel=3,
        stride=2,
        in_height=resolution,
        in_width=resolution,
        input_from=IMAGE,
    )
    net = _Builder(stem)
    for i, (kernel, mid, out, se, stride) in enumerate(_MBV3_LARGE, start=1):
        net.mbconv(f"features.{i}", mid, out, kernel, stride, se=se, expand=mid != net.channels)
    net.conv1x1("features.16", 960)
    net.dense("classifier.0", 1280)
    net.dense("classifier.3", num_classes)
    return CNNConfig(
        name="mobilenet-v3-large",
        input=(3, resolution, resolution),
        layers=tuple(net.layers),
        joins=tuple(net.joins),
        source=(
            "Howard et al., Searching for MobileNetV3, ICCV 2019 (arXiv 1905.02244), Table 1; "
            "torchvision.models.mobilenet_v3_large"
        ),
    )
