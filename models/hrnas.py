"""The HR-NAS supernet that SuperTickets slims and prunes, as a layer graph (CNNConfig).

SuperTickets (You et al., ECCV 2022, GATECH-EIC/SuperTickets) starts from the ImageNet supernet
of HR-NAS (Ding et al., CVPR 2021, arXiv 2106.06560, dingmyu/HR-NAS): ``models/hrnet.py``
(``HighResolutionNet``) and ``models/mobilenet_base.py`` (``InvertedResidualChannels``) built
with ``configs/cls_imagenet.yml`` (identical in both repositories; SuperTickets only swaps in
masked layers). Structure, at 224x224 and width 1:

* stem ``stem.conv1``, ``stem.conv2``: two 3x3 stride-2 convolutions to 24 channels (BN, ReLU),
  so the network proper runs at 56x56.
* five stages, each a fusion module then a parallel module, on 1, 2, 3, 4, 4 resolution
  branches (1/4, 1/8, 1/16, 1/32 of the input) of 24 / 18, 36 / 18, 36, 72 / 18, 36, 72, 144 /
  18, 36, 72, 144 channels, with 1 / 2, 2 / 2, 2, 3 / 2, 2, 3, 4 / 2, 2, 3, 4 blocks per branch
  in the parallel module.
* a fusion module (``only_fuse_neighbor``, ``directly_downsample``, the released defaults)
  produces output branch ``i`` as the sum of a searchable block on each *neighbouring* input
  branch ``j`` in ``i-1, i, i+1``: stride 2 from ``i-1``, stride 1 from ``i``, stride 1 at the
  lower resolution then nearest 2x upsampling from ``i+1`` (an ``add_upsampled`` join). A
  stage that adds a branch builds it with one stride-2 block from the previous branch's fused
  output (``stage{s}.fuse{b}.extend``).
* classification head (HRNet-style, ``HeadModule``): a block per branch widening 18/36/72/144
  to 36/72/144/320 (``head.incre{i}``), stride-2 blocks chaining them from high to low
  resolution (``head.down{i}``, summed in ``head.add{i}``), a 1x1 convolution to 1600 channels
  (``head.final``, BN), global average pooling, ``classifier`` (linear 1600 -> 1000, bias).
  Dropout has no cost.

Every block (``InvertedResidualChannels`` with ``expand=True``) is searchable: for an input of
``C`` channels it has one kernel branch per depthwise kernel (3, 5, 7) of ``h = round(C *
expand)`` hidden channels (expand 4): a 1x1 convolution ``C -> h`` (BN, ReLU), a ``k x k``
depthwise convolution (BN, ReLU; it carries the block's stride), a 1x1 convolution ``h -> C'``.
The branch outputs are summed with the block's residual: the block input when stride is 1 and
``C == C'``, otherwise a 1x1 grouped convolution (``groups = gcd(C, C')``, the block's stride,
no BN, no bias; ``.residual``). SuperTickets (and HR-NAS's network slimming) shrinks ``h`` per
branch, down to removing the branch; a block with no branch left keeps its residual path.

Names (the scheme of :func:`hrnas_branches` and the ``hidden`` argument): stages are
``stage1`` .. ``stage5``, resolution branches ``b0`` (1/4) .. ``b3`` (1/32). Blocks are
``stage{s}.b{r}.block{j}`` (parallel module, ``j`` from 0), ``stage{s}.fuse{i}.from{j}``
(fusion into output branch ``i`` from input branch ``j``), ``stage{s}.fuse{i}.extend`` (the
block creating a new branch ``i``), ``head.incre{i}`` and ``head.down{i}``. A kernel branch is
``<block>.k{k}`` (e.g. ``"stage2.b0.block1.k5"``); its layers are ``<branch>.expand``,
``<branch>.dw``, ``<branch>.project``. A block's sum is the join ``<block>.add``; a fusion sum is
``stage{s}.fuse{i}.add`` (absent where only one block feeds the branch).

The supernet at 224x224 (width 1, kernels 3/5/7, expand 4): 67 blocks, 201 kernel branches,
2,422,799,760 MACs and 13,243,868 parameters. Both equal what a forward pass with hooks on
every ``nn.Conv2d``/``nn.Linear`` and ``sum(p.numel() for p in model.parameters())`` give on
the released ``HighResolutionNet`` built from ``cls_imagenet.yml`` (torch 2.13, CPU), except
that the latter also counts 95,904 parameters of ``InvertedResidualChannels.bns``, per-branch
batch norms used only by its distillation mode and never in inference, which are left out
(13,339,772 with them). The same check agrees exactly at 200x200 with expand 2 and kernels 3/5,
and on a randomly slimmed sub-net (HR-NAS's ``checkpoint_kwparams`` per-block kernels and
hidden widths against ``hidden``). HR-NAS's *searched* ImageNet models are reported at roughly
0.3-0.45 G "FLOPs" (MACs) and a few million parameters (the range as quoted to us; we could not
read the paper's table): the supernet has about 5.4-8x their MACs and several times their
parameters, the room that slimming removes.

Simplifications and choices:

* no lightweight transformer branches: HR-NAS's released classification model
  (``models/hrnet.py``) never builds them and ``cls_imagenet.yml`` sets ``use_transformer:
  False`` (they appear in its dense-prediction configurations only).
* batch norm: each branch's 1x1 expanding and depthwise convolutions have their own BN; the
  projections of a block share *one* BN after their sum (``pw_bn``). Its ``2 * C'``
  parameters are attributed to the first live branch's ``.project`` (``bn=True``), the other
  projections have ``bn=False``; for compute the shared BN folds into every projection. So the
  parameter total is exact, and removing a branch removes exactly its MACs and its weights and
  expanding/depthwise BN (the shared BN moves to the next live branch; a block with no live
  branch has none).
* the fusion's nearest 2x upsampling (then a bilinear resize, a no-op when sides divide) is the
  ``add_upsampled`` join of :mod:`prunesim.models.cnn`: no MACs. ReLUs after sums are free.
* ``width`` scales every channel count (stem, branch widths, head widths, the 1600-channel
  final layer) to ``max(1, round(c * width))``; hidden widths follow as ``round(C * expand)``.
  HR-NAS's own ``width_mult`` changes nothing in the built network (it scales copies of
  ``input_channel`` and ``last_channel`` that are never used), so ``width != 1`` is ours.
* ``kernels`` and ``expand`` are parameters (HR-NAS: 3/5/7 and 4); every block uses the same.
* ``hidden`` may only shrink a branch (``0 <= h <= full``); SuperTickets never grows one.
"""

from __future__ import annotations

import math
import re
from collections.abc import Mapping

from prunesim.models.checks import check_non_negative_int, check_positive_int, check_positive_number
from prunesim.models.cnn import IMAGE, CNNConfig, Conv2d, Dense, Join, Layer

__all__ = [
    "HRNAS_BLOCKS",
    "HRNAS_HEAD_CHANNELS",
    "HRNAS_LAST_CHANNEL",
    "HRNAS_STEM_CHANNELS",
    "HRNAS_SUPERNET",
    "HRNAS_WIDTHS",
    "hrnas_branches",
    "hrnas_supernet",
]

#: Channels of the two stem convolutions.
HRNAS_STEM_CHANNELS: tuple[int, int] = (24, 24)
#: Per stage, the channels of each resolution branch (``inverted_residual_setting``).
HRNAS_WIDTHS: tuple[tuple[int, ...], ...] = (
    (24,),
    (18, 36),
    (18, 36, 72),
    (18, 36, 72, 144),
    (18, 36, 72, 144),
)
#: Per stage, the blocks of each resolution branch in the parallel module.
HRNAS_BLOCKS: tuple[tuple[int, ...], ...] = ((1,), (2, 2), (2, 2, 3), (2, 2, 3, 4), (2, 2, 3, 4))
#: The head's widened channels per branch, and its final 1x1 convolution's channels.
HRNAS_HEAD_CHANNELS: tuple[int, ...] = (36, 72, 144, 320)
HRNAS_LAST_CHANNEL = 1600

_SOURCE = (
    "HR-NAS supernet (Ding et al., CVPR 2021; dingmyu/HR-NAS models/hrnet.py, "
    "configs/cls_imagenet.yml), as used by SuperTickets (You et al., ECCV 2022)"
)
_BRANCH_RE = re.compile(r"^(.+\.k\d+)\.expand$")


def _scaled(base: int, width: float) -> int:
    return max(1, int(round(base * width)))


#: One resolution branch between modules: (node, channels, side).
_Stream = tuple[str, int, int]


class _Builder:
    """Accumulates the supernet's layers and joins, and every kernel branch's full width."""

    def __init__(self, kernels: tuple[int, ...], expand: int, hidden: Mapping[str, int]) -> None:
        self.kernels = kernels
        self.expand = expand
        self.hidden = hidden
        self.layers: list[Layer] = []
        self.joins: list[Join] = []
        self.full: dict[str, int] = {}

    def block(self, name: str, src: str, cin: int, cout: int, stride: int, side: int) -> str:
        """Add one searchable block reading ``src`` (``cin`` x ``side`` x ``side``); its output."""
        projections: list[str] = []
        for k in self.kernels:
            # The first live branch's projection carries the block's shared BN, counted once.
            project = self._kernel_branch(
                f"{name}.k{k}", k, src, cin, cout, stride, side, bn=not projections
            )
            if project is not None:
                projections.append(project)
        residual = self._residual(name, src, cin, cout, stride, side)
        if not projections:
            return residual
        self.joins.append(Join(name=f"{name}.add", kind="add", inputs=(residual, *projections)))
        return f"{name}.add"

    def _branch_hidden(self, branch: str, cin: int) -> int:
        """Record ``branch``'s full hidden width (``cin * expand``); its width in this net."""
        full = int(round(cin * self.expand))
        self.full[branch] = full
        h = self.hidden.get(branch, full)
        if h > full:
            raise ValueError(
                f"hrnas_supernet hidden[{branch!r}] = {h} exceeds the supernet's {full}"
            )
        return h

    def _kernel_branch(
        self,
        branch: str,
        kernel: int,
        src: str,
        cin: int,
        cout: int,
        stride: int,
        side: int,
        *,
        bn: bool,
    ) -> str | None:
        """Add kernel branch ``branch`` (1x1 expand, ``kernel`` depthwise, 1x1 project, ``bn``
        on the projection); its projection's name, or None when slimmed to nothing."""
        h = self._branch_hidden(branch, cin)
        if h == 0:
            return None
        expand = Conv2d(
            name=f"{branch}.expand",
            in_channels=cin,
            out_channels=h,
            kernel=1,
            in_height=side,
            in_width=side,
            input_from=src,
        )
        dw = Conv2d(
            name=f"{branch}.dw",
            in_channels=h,
            out_channels=h,
            kernel=kernel,
            stride=stride,
            groups=h,
            in_height=side,
            in_width=side,
            input_from=expand.name,
        )
        project = Conv2d(
            name=f"{branch}.project",
            in_channels=h,
            out_channels=cout,
            kernel=1,
            in_height=dw.out_height,
            in_width=dw.out_width,
            bn=bn,
            input_from=dw.name,
        )
        self.layers += [expand, dw, project]
        return project.name

    def _residual(self, name: str, src: str, cin: int, cout: int, stride: int, side: int) -> str:
        """The residual path of block ``name``: ``src`` itself when the shape is kept, else a
        new 1x1 grouped convolution (no BN)."""
        if stride == 1 and cin == cout:
            return src
        conv = Conv2d(
            name=f"{name}.residual",
            in_channels=cin,
            out_channels=cout,
            kernel=1,
            stride=stride,
            groups=math.gcd(cin, cout),
            in_height=side,
            in_width=side,
            bn=False,
            input_from=src,
        )
        self.layers.append(conv)
        return conv.name

    def stem(self, resolution: int, width: float) -> _Stream:
        """Add the two 3x3 stride-2 stem convolutions; the stream they start."""
        stem1, stem2 = (_scaled(c, width) for c in HRNAS_STEM_CHANNELS)
        conv1 = Conv2d(
            name="stem.conv1",
            in_channels=3,
            out_channels=stem1,
            kernel=3,
            stride=2,
            in_height=resolution,
            in_width=resolution,
            input_from=IMAGE,
        )
        conv2 = Conv2d(
            name="stem.conv2",
            in_channels=stem1,
            out_channels=stem2,
            kernel=3,
            stride=2,
            in_height=conv1.out_height,
            in_width=conv1.out_width,
            input_from=conv1.name,
        )
        self.layers += [conv1, conv2]
        return (conv2.name, stem2, conv2.out_height)

    def fusion(self, s: int, streams: list[_Stream], out: list[int]) -> list[_Stream]:
        """Add stage ``s``'s fusion module from ``streams`` to branches of ``out`` channels.

        Each output branch that has an input branch of its resolution sums blocks from its
        neighbouring input branches; each further branch is extended from the one before it.
        """
        fused = [
            self._fuse_branch(s, i, streams, out[i]) for i in range(min(len(streams), len(out)))
        ]
        for b in range(len(streams), len(out)):
            src, cin, side = fused[b - 1]
            node = self.block(f"stage{s}.fuse{b}.extend", src, cin, out[b], 2, side)
            fused.append((node, out[b], -(-side // 2)))
        return fused

    def _fuse_branch(self, s: int, i: int, streams: list[_Stream], cout: int) -> _Stream:
        """Add fused output branch ``i`` of stage ``s``: one block from each input branch
        ``i-1``, ``i``, ``i+1`` that exists, summed when there are several."""
        side = streams[i][2]
        paths: list[str] = []
        upsampled = False
        for j in (i - 1, i, i + 1):
            if not 0 <= j < len(streams):
                continue
            src, cin, src_side = streams[j]
            stride = 2 if j < i else 1
            paths.append(self.block(f"stage{s}.fuse{i}.from{j}", src, cin, cout, stride, src_side))
            upsampled = upsampled or j > i
        if len(paths) == 1:
            return (paths[0], cout, side)
        join = Join(
            name=f"stage{s}.fuse{i}.add",
            kind="add_upsampled" if upsampled else "add",
            inputs=tuple(paths),
        )
        self.joins.append(join)
        return (join.name, cout, side)

    def parallel(self, s: int, fused: list[_Stream], blocks: tuple[int, ...]) -> list[_Stream]:
        """Add stage ``s``'s parallel module: ``blocks[r]`` stride-1 blocks on branch ``r``."""
        streams: list[_Stream] = []
        for r, (node, channels, side) in enumerate(fused):
            for j in range(blocks[r]):
                node = self.block(f"stage{s}.b{r}.block{j}", node, channels, channels, 1, side)
            streams.append((node, channels, side))
        return streams

    def head(self, streams: list[_Stream], width: float, num_classes: int) -> None:
        """Add the classification head: widen each branch, chain them from high to low
        resolution, a final 1x1 convolution and the classifier."""
        head = [_scaled(c, width) for c in HRNAS_HEAD_CHANNELS]
        incre = [
            self.block(f"head.incre{i}", node, channels, head[i], 1, side)
            for i, (node, channels, side) in enumerate(streams)
        ]
        x, side = incre[0], streams[0][2]
        for i in range(len(streams) - 1):
            down = self.block(f"head.down{i}", x, head[i], head[i + 1], 2, side)
            join = Join(name=f"head.add{i}", kind="add", inputs=(incre[i + 1], down))
            self.joins.append(join)
            x, side = join.name, streams[i + 1][2]
        last = _scaled(HRNAS_LAST_CHANNEL, width)
        final = Conv2d(
            name="head.final",
            in_channels=head[-1],
            out_channels=last,
            kernel=1,
            in_height=side,
            in_width=side,
            input_from=x,
        )
        classifier = Dense(
            name="classifier", in_features=last, out_features=num_classes, input_from=final.name
        )
        self.layers += [final, classifier]


def _check_hidden(hidden: Mapping[str, int] | None) -> Mapping[str, int]:
    if hidden is None:
        return {}
    if not isinstance(hidden, Mapping):
        raise ValueError(f"hrnas_supernet hidden must be a mapping or None, not {hidden!r}")
    for key, value in hidden.items():
        if not isinstance(key, str):
            raise ValueError(f"hrnas_supernet hidden has a non-string branch name {key!r}")
        check_non_negative_int("hrnas_supernet", f"hidden[{key!r}]", value)
    return hidden


def _check_arguments(
    width: float,
    kernels: tuple[int, ...],
    expand: int,
    resolution: int,
    num_classes: int,
    hidden: Mapping[str, int] | None,
) -> Mapping[str, int]:
    """Validate :func:`hrnas_supernet`'s arguments; ``hidden`` as a mapping (``{}`` for None)."""
    owner = "hrnas_supernet"
    check_positive_number(owner, "width", width)
    if (
        not isinstance(kernels, tuple)
        or not kernels
        or len(set(kernels)) != len(kernels)
        or not all(
            isinstance(k, int) and not isinstance(k, bool) and k > 0 and k % 2 for k in kernels
        )
    ):
        raise ValueError(
            f"{owner} kernels must be a non-empty tuple of distinct odd positive integers, "
            f"not {kernels!r}"
        )
    check_positive_int(owner, "expand", expand)
    check_positive_int(owner, "resolution", resolution)
    check_positive_int(owner, "num_classes", num_classes)
    return _check_hidden(hidden)


def _check_known_branches(hidden: Mapping[str, int], full: Mapping[str, int]) -> None:
    """Raise for the first name in ``hidden`` that is not a kernel branch of the built net."""
    unknown = [key for key in hidden if key not in full]
    if unknown:
        raise ValueError(
            f"hrnas_supernet hidden names unknown branch {unknown[0]!r} "
            f"(branches are like 'stage2.b0.block1.k5'; see hrnas_branches())"
        )


def _supernet_name(width: float, hidden: Mapping[str, int], full: Mapping[str, int]) -> str:
    """``hrnas-supernet``, plus ``-w{width}`` when ``width != 1`` and ``-slim`` when ``hidden``
    shrinks a branch below its ``full`` width."""
    slim = any(hidden[key] < full[key] for key in hidden)
    return "hrnas-supernet" + ("" if width == 1.0 else f"-w{width:g}") + ("-slim" if slim else "")


def hrnas_supernet(
    *,
    width: float = 1.0,
    kernels: tuple[int, ...] = (3, 5, 7),
    expand: int = 4,
    resolution: int = 224,
    num_classes: int = 1000,
    hidden: Mapping[str, int] | None = None,
) -> CNNConfig:
    """The HR-NAS ImageNet supernet, or a slimmed sub-net of it (see the module docstring).

    * ``width``: multiplies every channel count (``max(1, round(c * width))``).
    * ``kernels``: the depthwise kernels of every block's parallel branches (distinct, odd).
    * ``expand``: each branch's hidden channels are ``round(block input channels * expand)``.
    * ``resolution``: the square input side; ``num_classes``: the classifier's outputs.
    * ``hidden``: kernel branch name (``"stage2.b0.block1.k5"``; :func:`hrnas_branches` lists
      them) -> its hidden channels, from 0 (branch removed, its three convolutions absent) to
      the supernet's; unnamed branches stay full.

    The config is named ``hrnas-supernet`` (``-w{width}`` when ``width != 1``, ``-slim`` when
    ``hidden`` shrinks anything).

    Raises :class:`ValueError` (one line, naming the argument or branch) for a non-positive
    width, resolution, class count or expand ratio, an empty, even or repeated kernel, or a
    ``hidden`` entry that is unknown, negative, not an integer or above the supernet's width.
    """
    hidden = _check_arguments(width, kernels, expand, resolution, num_classes, hidden)
    net = _Builder(kernels, expand, hidden)
    streams = [net.stem(resolution, width)]
    for s, (widths, blocks) in enumerate(zip(HRNAS_WIDTHS, HRNAS_BLOCKS, strict=True), start=1):
        fused = net.fusion(s, streams, [_scaled(c, width) for c in widths])
        streams = net.parallel(s, fused, blocks)
    net.head(streams, width, num_classes)
    _check_known_branches(hidden, net.full)
    return CNNConfig(
        name=_supernet_name(width, hidden, net.full),
        input=(3, resolution, resolution),
        layers=tuple(net.layers),
        joins=tuple(net.joins),
        source=_SOURCE,
    )


def hrnas_branches(config_or_none: CNNConfig | None = None) -> dict[str, int]:
    """Kernel branch name -> hidden channels, in execution order.

    With no argument: every branch of :data:`HRNAS_SUPERNET` at its full width (what
    ``hidden`` may shrink). With a :class:`CNNConfig` built by :func:`hrnas_supernet`: the
    hidden width of every branch present in it (read from its ``<branch>.expand`` layers), so a
    supernet built with another ``width``, ``kernels`` or ``expand`` gives its own full widths;
    in a slimmed config, removed branches are absent.

    Raises :class:`ValueError` for anything else than a :class:`CNNConfig` or ``None``.
    """
    config = HRNAS_SUPERNET if config_or_none is None else config_or_none
    if not isinstance(config, CNNConfig):
        raise ValueError(f"hrnas_branches needs a CNNConfig or None, not {config_or_none!r}")
    branches: dict[str, int] = {}
    for layer in config.layers:
        match = _BRANCH_RE.match(layer.name)
        if match and isinstance(layer, Conv2d):
            branches[match.group(1)] = layer.out_channels
    return branches


#: The full supernet at 224x224 for ImageNet (2,422,799,760 MACs, 13,243,868 parameters).
HRNAS_SUPERNET: CNNConfig = hrnas_supernet()
