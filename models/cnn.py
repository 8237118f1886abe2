"""Convolutional networks as layer graphs: the dimensions the analytic simulator prices.

A :class:`CNNConfig` is a directed acyclic graph of weight layers (:class:`Conv2d`,
:class:`Dense`) and weightless joins (:class:`Join`: residual adds, squeeze-and-excitation
gates). Every weight layer names the node it reads (``input_from``) and states the spatial size
it runs on, so each layer's MACs, parameters and activation sizes follow from the layer alone;
the graph adds validation (channels chain, residual operands agree) and width surgery
(:meth:`CNNConfig.with_out_channels`) for channel-pruning methods.

Conventions, those of Once-for-All's ``count_net_flops`` (``ofa/utils/flops_counter.py``,
mit-han-lab/once-for-all):

* a MAC is one multiply and one add; only convolutions and linear layers have MACs:
  ``out_h * out_w * out_channels * (in_channels / groups) * kernel**2`` for a convolution,
  ``in_features * out_features`` for a linear layer. Batch norm, activations, pooling, residual
  adds, SE gating multiplies and biases are not MACs. Squeeze-and-excitation's two 1x1
  convolutions are layers and run at 1x1.
* convolutions use "same" padding (``kernel // 2``, odd kernels only), so the output side is
  ``ceil(in / stride)``.
* batch norm is folded into the convolution it follows for compute, but its weight and bias
  (``2 * out_channels``, not the running statistics, which are buffers) are counted in
  :meth:`CNNConfig.params`, as ``sum(p.numel() for p in model.parameters())`` does.
* pooling is not a node: a layer or a residual add may read a node's output pooled to a smaller
  spatial size (a max pool after the stem, a global average pool before the classifier or an SE
  branch).

Builders: :func:`resnet_imagenet` (torchvision's ResNet-18/34/50/101/152) and
:func:`resnet_cifar` (He et al.'s CIFAR ResNet-20/32/44/56/110). The OFA MobileNetV3 sub-nets
are in :mod:`prunesim.models.ofa`.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import asdict, dataclass, field, replace
from typing import Any, Literal

from prunesim.models.checks import (
    check_bool,
    check_name,
    check_positive_int,
    check_positive_number,
    check_source,
)

__all__ = [
    "IMAGE",
    "CNNConfig",
    "Conv2d",
    "Dense",
    "Join",
    "Layer",
    "resnet_cifar",
    "resnet_imagenet",
]

#: The name by which a layer reads the network's input image (``input_from=IMAGE``). No node may
#: take this name.
IMAGE = "image"


def _check_input_from(owner: str, value: object) -> None:
    if value is not None and (not isinstance(value, str) or not value):
        raise ValueError(f"{owner} input_from must be a non-empty string or None, not {value!r}")


@dataclass(frozen=True, kw_only=True)
class Conv2d:
    """One 2-D convolution, with "same" padding, running on an ``in_height x in_width`` input.

    Fields (keyword only):

    * ``name``: unique within its network, e.g. ``"layer1.0.conv1"``.
    * ``in_channels``, ``out_channels``: channels read and written.
    * ``kernel``: the (square) kernel side; odd, padding ``kernel // 2``.
    * ``stride``: 1 or more; the output side is ``ceil(in / stride)`` (:attr:`out_height`).
    * ``groups``: 1 for a dense convolution, ``in_channels`` (= ``out_channels``) for a
      depthwise one; must divide both channel counts.
    * ``in_height``, ``in_width``: the spatial size the convolution runs on (after any pooling
      between it and its producer).
    * ``bias``: the convolution has its own bias (SE convolutions; most convolutions followed by
      batch norm have none).
    * ``bn``: a batch norm follows (its ``2 * out_channels`` parameters count in
      :attr:`bn_params`, not in :attr:`params`).
    * ``input_from``: the node whose output it reads: a layer or :class:`Join` name, or
      :data:`IMAGE`; ``None`` means the previous entry of :attr:`CNNConfig.layers` (the image
      for the first).

    Raises :class:`ValueError`, naming the field and the value, for non-positive sizes, an even
    kernel, or ``groups`` not dividing both channel counts.
    """

    name: str
    in_channels: int
    out_channels: int
    kernel: int
    in_height: int
    in_width: int
    stride: int = 1
    groups: int = 1
    bias: bool = False
    bn: bool = True
    input_from: str | None = None

    def __post_init__(self) -> None:
        owner = "Conv2d"
        check_name(owner, self.name)
        for name in (
            "in_channels",
            "out_channels",
            "kernel",
            "in_height",
            "in_width",
            "stride",
            "groups",
        ):
            check_positive_int(owner, name, getattr(self, name))
        check_bool(owner, "bias", self.bias)
        check_bool(owner, "bn", self.bn)
        _check_input_from(owner, self.input_from)
        if self.kernel % 2 == 0:
            raise ValueError(
                f"{owner} {self.name} kernel must be odd ('same' padding), not {self.kernel}"
            )
        if self.in_channels % self.groups or self.out_channels % self.groups:
            raise ValueError(
                f"{owner} {self.name} groups ({self.groups}) must divide in_channels "
                f"({self.in_channels}) and out_channels ({self.out_channels})"
            )

    @property
    def depthwise(self) -> bool:
        """One filter per channel: ``groups == in_channels == out_channels > 1``."""
        return self.groups > 1 and self.groups == self.in_channels == self.out_channels

    @property
    def out_height(self) -> int:
        """Output rows: ``ceil(in_height / stride)`` ("same" padding)."""
        return -(-self.in_height // self.stride)

    @property
    def out_width(self) -> int:
        """Output columns: ``ceil(in_width / stride)`` ("same" padding)."""
        return -(-self.in_width // self.stride)

    @property
    def weight_elements(self) -> int:
        """Elements of the weight tensor: ``out * (in / groups) * kernel**2``."""
        return self.out_channels * (self.in_channels // self.groups) * self.kernel**2

    @property
    def params(self) -> int:
        """Weights plus the convolution's own bias; batch norm is in :attr:`bn_params`."""
        return self.weight_elements + (self.out_channels if self.bias else 0)

    @property
    def bn_params(self) -> int:
        """The following batch norm's weight and bias: ``2 * out_channels``, or 0 without one."""
        return 2 * self.out_channels if self.bn else 0

    @property
    def macs(self) -> int:
        """``out_height * out_width * weight_elements`` (OFA's ``count_convNd``)."""
        return self.out_height * self.out_width * self.weight_elements

    @property
    def input_elements(self) -> int:
        """Elements of the input it runs on: ``in_channels * in_height * in_width``."""
        return self.in_channels * self.in_height * self.in_width

    @property
    def output_elements(self) -> int:
        """Elements it writes: ``out_channels * out_height * out_width``."""
        return self.out_channels * self.out_height * self.out_width


@dataclass(frozen=True, kw_only=True)
class Dense:
    """A fully connected layer on a globally pooled feature vector: ``y = x @ W (+ b)``.

    ``in_features`` must equal the channels of the node it reads (``input_from``, as for
    :class:`Conv2d`); a producer with a spatial extent is taken to be globally average-pooled
    first. It runs once per image.

    Raises :class:`ValueError`, naming the field and the value, for non-positive features.
    """

    name: str
    in_features: int
    out_features: int
    bias: bool = True
    input_from: str | None = None

    def __post_init__(self) -> None:
        owner = "Dense"
        check_name(owner, self.name)
        check_positive_int(owner, "in_features", self.in_features)
        check_positive_int(owner, "out_features", self.out_features)
        check_bool(owner, "bias", self.bias)
        _check_input_from(owner, self.input_from)

    @property
    def weight_elements(self) -> int:
        """Elements of the weight matrix: ``in_features * out_features``."""
        return self.in_features * self.out_features

    @property
    def params(self) -> int:
        """Weights plus bias."""
        return self.weight_elements + (self.out_features if self.bias else 0)

    @property
    def bn_params(self) -> int:
        """Always 0: no batch norm follows a dense layer in these networks."""
        return 0

    @property
    def macs(self) -> int:
        """``in_features * out_features``."""
        return self.weight_elements

    @property
    def input_elements(self) -> int:
        """``in_features``."""
        return self.in_features

    @property
    def output_elements(self) -> int:
        """``out_features``."""
        return self.out_features


Layer = Conv2d | Dense

JoinKind = Literal["add", "add_padded", "add_upsampled", "mul"]
_JOIN_KINDS: tuple[str, ...] = ("add", "add_padded", "add_upsampled", "mul")


@dataclass(frozen=True, kw_only=True)
class Join:
    """A weightless node combining two or more nodes elementwise; no MACs, no parameters.

    The first of ``inputs`` is the main operand; the join's output has its shape. ``kind``:

    * ``"add"``: a residual sum; every input has the main operand's channels and its spatial
      size, or a larger one that is pooled to it (ResNet's first block adds the max-pooled stem).
    * ``"add_padded"``: He et al.'s option-A shortcut: the other inputs are subsampled to the main
      operand's spatial size and zero-padded to its channels, so they may have fewer channels
      (never more) and a larger spatial size (never smaller).
    * ``"add_upsampled"``: HRNet's multi-resolution fusion: the other inputs have the main
      operand's channels and its spatial size or a smaller one, upsampled to it (nearest,
      no MACs).
    * ``"mul"``: a squeeze-and-excitation gate: the other inputs have the main operand's channels
      and are 1x1 (broadcast over space) or the same size.

    Raises :class:`ValueError` for an empty name, an unknown kind, or fewer than two inputs.
    """

    name: str
    kind: JoinKind
    inputs: tuple[str, ...]

    def __post_init__(self) -> None:
        owner = "Join"
        check_name(owner, self.name)
        if self.kind not in _JOIN_KINDS:
            raise ValueError(
                f"{owner} {self.name} kind must be one of {', '.join(_JOIN_KINDS)}, "
                f"not {self.kind!r}"
            )
        if (
            not isinstance(self.inputs, tuple)
            or len(self.inputs) < 2
            or not all(isinstance(i, str) and i for i in self.inputs)
        ):
            raise ValueError(
                f"{owner} {self.name} inputs must be a tuple of at least two node names, "
                f"not {self.inputs!r}"
            )


Shape = tuple[int, int, int]


def _layer_shape(layer: Layer) -> Shape:
    if isinstance(layer, Conv2d):
        return (layer.out_channels, layer.out_height, layer.out_width)
    return (layer.out_features, 1, 1)


def _layer_in_channels(layer: Layer) -> int:
    return layer.in_channels if isinstance(layer, Conv2d) else layer.in_features


def _layer_out_channels(layer: Layer) -> int:
    return layer.out_channels if isinstance(layer, Conv2d) else layer.out_features


class _Union:
    """Union-find over node names (width ties)."""

    def __init__(self) -> None:
        self.parent: dict[str, str] = {}

    def find(self, x: str) -> str:
        self.parent.setdefault(x, x)
        while self.parent[x] != x:
            self.parent[x] = self.parent[self.parent[x]]
            x = self.parent[x]
        return x

    def union(self, a: str, b: str) -> None:
        ra, rb = self.find(a), self.find(b)
        if ra != rb:
            self.parent[rb] = ra


@dataclass(frozen=True, kw_only=True)
class CNNConfig:
    """A convolutional network: weight layers in execution order, joins, the input image.

    Fields (keyword only):

    * ``name``: e.g. ``"resnet18"``.
    * ``input``: the image as ``(channels, height, width)``.
    * ``layers``: every :class:`Conv2d` and :class:`Dense`, in execution order (a layer comes
      after every node it reads). Residual projections (1x1 downsample convolutions) and SE
      convolutions are layers like any other.
    * ``joins``: the :class:`Join` nodes (residual adds, SE gates); a join is evaluated as soon
      as all its inputs exist, so their order here does not matter.
    * ``source``: where the architecture comes from.

    Validation (each a :class:`ValueError` naming the node and the numbers): node names are
    unique and not :data:`IMAGE`; every ``input_from`` and join input names a node defined
    earlier; a layer's input channels (``in_channels``, ``in_features``) equal its producer's
    output channels; a convolution's spatial size is its producer's or smaller (pooling), and
    exactly the image's when it reads the image; joins agree as :class:`Join` states.
    """

    name: str
    input: tuple[int, int, int]
    layers: tuple[Layer, ...]
    joins: tuple[Join, ...] = ()
    source: str = "custom"
    _shapes: dict[str, Shape] = field(init=False, repr=False, compare=False)
    _inputs: dict[str, str] = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        owner = "CNNConfig"
        check_name(owner, self.name)
        check_source(owner, self.source)
        if (
            not isinstance(self.input, tuple)
            or len(self.input) != 3
            or not all(isinstance(v, int) and not isinstance(v, bool) and v > 0 for v in self.input)
        ):
            raise ValueError(
                f"{owner} input must be (channels, height, width) positive integers, "
                f"not {self.input!r}"
            )
        if not isinstance(self.layers, tuple) or not self.layers:
            raise ValueError(f"{owner} layers must be a non-empty tuple, not {self.layers!r}")
        for layer in self.layers:
            if not isinstance(layer, Conv2d | Dense):
                raise ValueError(f"{owner} layers must be Conv2d or Dense, not {layer!r}")
        if not isinstance(self.joins, tuple) or not all(isinstance(j, Join) for j in self.joins):
            raise ValueError(f"{owner} joins must be a tuple of Join, not {self.joins!r}")
        seen: set[str] = set()
        for node in (*self.layers, *self.joins):
            if node.name == IMAGE or node.name in seen:
                raise ValueError(
                    f"{owner} {self.name}: node name {node.name!r} is reserved or not unique"
                )
            seen.add(node.name)

        shapes: dict[str, Shape] = {IMAGE: self.input}
        inputs: dict[str, str] = {}
        pending = list(self.joins)

        def settle_joins() -> None:
            progress = True
            while progress:
                progress = False
                for join in list(pending):
                    if all(i in shapes for i in join.inputs):
                        shapes[join.name] = self._join_shape(join, shapes)
                        pending.remove(join)
                        progress = True

        previous = IMAGE
        for layer in self.layers:
            settle_joins()
            source = previous if layer.input_from is None else layer.input_from
            if source not in shapes:
                raise ValueError(
                    f"{owner} {self.name}: layer {layer.name} reads {source!r}, which is not "
                    f"defined before it"
                )
            self._check_layer(layer, source, shapes[source])
            inputs[layer.name] = source
            shapes[layer.name] = _layer_shape(layer)
            previous = layer.name
        settle_joins()
        if pending:
            names = ", ".join(f"{j.name} ({', '.join(j.inputs)})" for j in pending)
            raise ValueError(f"{owner} {self.name}: joins read undefined nodes: {names}")
        object.__setattr__(self, "_shapes", shapes)
        object.__setattr__(self, "_inputs", inputs)

    def _check_layer(self, layer: Layer, source: str, shape: Shape) -> None:
        where = f"CNNConfig {self.name}: layer {layer.name}"
        channels, height, width = shape
        if _layer_in_channels(layer) != channels:
            raise ValueError(
                f"{where} has {_layer_in_channels(layer)} input channels but {source} "
                f"gives {channels}"
            )
        if isinstance(layer, Conv2d):
            if source == IMAGE:
                ok = (layer.in_height, layer.in_width) == (height, width)
            else:
                ok = layer.in_height <= height and layer.in_width <= width
            if not ok:
                raise ValueError(
                    f"{where} runs on {layer.in_height}x{layer.in_width} but {source} gives "
                    f"{height}x{width}"
                )

    def _join_shape(self, join: Join, shapes: dict[str, Shape]) -> Shape:
        where = f"CNNConfig {self.name}: join {join.name}"
        main = shapes[join.inputs[0]]
        for other_name in join.inputs[1:]:
            other = shapes[other_name]
            if join.kind == "add":
                ok = other[0] == main[0] and other[1] >= main[1] and other[2] >= main[2]
                rule = "the channels and at least the spatial size of"
            elif join.kind == "add_padded":
                ok = other[0] <= main[0] and other[1] >= main[1] and other[2] >= main[2]
                rule = "at most the channels and at least the spatial size of"
            elif join.kind == "add_upsampled":
                ok = other[0] == main[0] and other[1] <= main[1] and other[2] <= main[2]
                rule = "the channels and at most the spatial size of"
            else:
                ok = other[0] == main[0] and (other[1:] == (1, 1) or other[1:] == main[1:])
                rule = "the channels (and 1x1 or the same spatial size) of"
            if not ok:
                raise ValueError(
                    f"{where}: {other_name} {other} must have {rule} {join.inputs[0]} {main}"
                )
        return main

    # --- totals -----------------------------------------------------------------------------

    def macs(self) -> int:
        """MACs of one image: the sum of every layer's :attr:`~Conv2d.macs`."""
        return sum(layer.macs for layer in self.layers)

    def bn_params(self) -> int:
        """Batch-norm weights and biases of every layer."""
        return sum(layer.bn_params for layer in self.layers)

    def params(self) -> int:
        """All parameters: every layer's weights and biases plus :meth:`bn_params`.

        Equals ``sum(p.numel() for p in model.parameters())`` of the PyTorch model described
        (BN running statistics are buffers, not parameters).
        """
        return sum(layer.params for layer in self.layers) + self.bn_params()

    def weight_elements(self) -> int:
        """Elements of every weight tensor (conv kernels, linear matrices), without biases."""
        return sum(layer.weight_elements for layer in self.layers)

    # --- graph queries ----------------------------------------------------------------------

    def layer(self, name: str) -> Layer:
        """The layer called ``name``; :class:`ValueError` for any other name."""
        for layer in self.layers:
            if layer.name == name:
                return layer
        raise ValueError(f"CNNConfig {self.name} has no layer {name!r}")

    def shape(self, name: str) -> Shape:
        """``(channels, height, width)`` of the output of the node ``name`` (or of the image)."""
        try:
            return self._shapes[name]
        except KeyError:
            raise ValueError(f"CNNConfig {self.name} has no node {name!r}") from None

    def input_of(self, name: str) -> str:
        """The node the layer ``name`` reads (``input_from`` resolved; :data:`IMAGE` or a name)."""
        try:
            return self._inputs[name]
        except KeyError:
            raise ValueError(f"CNNConfig {self.name} has no layer {name!r}") from None

    def _width_roots(self) -> tuple[dict[str, str], _Union]:
        """Each node's width owner, and the ties between owners.

        A node's width is owned by itself (a dense convolution or a dense layer), by its input
        (a depthwise convolution follows it), or by its main operand (a join). ``add``,
        ``add_upsampled`` and ``mul`` joins tie the owners of all their inputs; ``add_padded``
        ties nothing.
        """
        root: dict[str, str] = {IMAGE: IMAGE}
        joins = {j.name: j for j in self.joins}

        def owner(name: str) -> str:
            if name not in root:
                root[name] = owner(joins[name].inputs[0])
            return root[name]

        for layer in self.layers:
            if isinstance(layer, Conv2d) and layer.depthwise:
                root[layer.name] = owner(self._inputs[layer.name])
            else:
                root[layer.name] = layer.name
        ties = _Union()
        for join in self.joins:
            if join.kind in ("add", "add_upsampled", "mul"):
                for other in join.inputs[1:]:
                    ties.union(owner(join.inputs[0]), owner(other))
        for name in joins:
            owner(name)
        return root, ties

    def width_groups(self) -> tuple[tuple[str, ...], ...]:
        """The layers whose output widths :meth:`with_out_channels` sets, grouped by tie.

        Each group lists the non-depthwise layers whose outputs meet in residual adds or SE
        gates, so they must keep equal widths (a ResNet stage's stream: the stem or projection
        and every block's last convolution). Setting one member's width sets the group's. A group
        tied to the image is fixed and left out; depthwise convolutions follow their input and
        are in no group. Groups are in order of their first layer.
        """
        root, ties = self._width_roots()
        image_root = ties.find(IMAGE)
        groups: dict[str, list[str]] = {}
        for layer in self.layers:
            if root[layer.name] != layer.name:
                continue
            group = ties.find(layer.name)
            if group != image_root:
                groups.setdefault(group, []).append(layer.name)
        return tuple(tuple(members) for members in groups.values())

    def with_out_channels(self, widths: Mapping[str, int], name: str | None = None) -> CNNConfig:
        """A copy with the output channels of the named layers changed, propagated consistently.

        ``widths`` maps layer names to new output widths (channels, or features for a
        :class:`Dense`). Propagation:

        * every layer that reads a changed node takes the new width as its input width;
        * a depthwise convolution follows its input (its ``groups`` too) and cannot be named;
        * widths tied by ``add``/``add_upsampled``/``mul`` joins move together (see
          :meth:`width_groups`): in a ResNet basic block with an identity shortcut, the second
          convolution's output is the block input's stream, so naming any member of that
          stream sets all of it; with a 1x1
          projection shortcut, the projection and the second convolution are tied; an SE
          branch's expanding convolution follows the channels it gates;
        * an ``add_padded`` (option-A) shortcut ties nothing but needs the shortcut no wider than
          the block's output.

        Spatial sizes do not change. ``name`` names the copy (default: unchanged).

        Raises :class:`ValueError` for an unknown or depthwise layer, a non-positive width, two
        different widths for one tie group, or a group tied to the image; the copy is validated
        as any :class:`CNNConfig` is.
        """
        root, ties = self._width_roots()
        names = {layer.name for layer in self.layers}
        chosen: dict[str, tuple[str, int]] = {}
        for key, value in widths.items():
            if key not in names:
                raise ValueError(f"CNNConfig {self.name} has no layer {key!r}")
            if root[key] != key:
                raise ValueError(
                    f"CNNConfig {self.name}: {key} is depthwise and follows its input's width; "
                    f"set the layer that produces its input"
                )
            check_positive_int("with_out_channels", key, value)
            group = ties.find(key)
            if group == ties.find(IMAGE) and value != self.input[0]:
                raise ValueError(
                    f"CNNConfig {self.name}: {key} is tied to the image's {self.input[0]} "
                    f"channels, not {value}"
                )
            if group in chosen and chosen[group][1] != value:
                other, other_value = chosen[group]
                raise ValueError(
                    f"CNNConfig {self.name}: {key} ({value}) and {other} ({other_value}) are "
                    f"tied by a residual add or SE gate and need one width"
                )
            chosen[group] = (key, value)

        old = {layer.name: _layer_out_channels(layer) for layer in self.layers}
        old[IMAGE] = self.input[0]

        def width(node: str) -> int:
            owner = root[node]
            group = ties.find(owner)
            return chosen[group][1] if group in chosen else old[owner]

        new_layers: list[Layer] = []
        for layer in self.layers:
            in_width = width(self._inputs[layer.name])
            out_width = width(layer.name)
            if isinstance(layer, Dense):
                new_layers.append(replace(layer, in_features=in_width, out_features=out_width))
            else:
                groups = in_width if layer.depthwise else layer.groups
                new_layers.append(
                    replace(layer, in_channels=in_width, out_channels=out_width, groups=groups)
                )
        return replace(self, name=self.name if name is None else name, layers=tuple(new_layers))

    def to_dict(self) -> dict[str, Any]:
        """A plain dict for reports and JSON: the fields, each layer's derived sizes, totals."""
        layers = []
        for layer in self.layers:
            entry: dict[str, Any] = {
                "type": "conv2d" if isinstance(layer, Conv2d) else "dense",
                **asdict(layer),
                "input_from": self._inputs[layer.name],
            }
            if isinstance(layer, Conv2d):
                entry["out_height"], entry["out_width"] = layer.out_height, layer.out_width
            entry.update(macs=layer.macs, params=layer.params, bn_params=layer.bn_params)
            layers.append(entry)
        return {
            "name": self.name,
            "input": list(self.input),
            "source": self.source,
            "layers": layers,
            "joins": [
                {"name": j.name, "kind": j.kind, "inputs": list(j.inputs)} for j in self.joins
            ],
            "macs": self.macs(),
            "params": self.params(),
        }


# --- ResNets ----------------------------------------------------------------------------------

#: Blocks per stage and block type of torchvision's ImageNet ResNets.
_IMAGENET_DEPTHS: dict[int, tuple[tuple[int, int, int, int], bool]] = {
    18: ((2, 2, 2, 2), False),
    34: ((3, 4, 6, 3), False),
    50: ((3, 4, 6, 3), True),
    101: ((3, 4, 23, 3), True),
    152: ((3, 8, 36, 3), True),
}

_TORCHVISION = (
    "torchvision.models.resnet (ResNet v1.5: stride on the 3x3 convolution of a bottleneck); "
    "He et al., Deep Residual Learning for Image Recognition, CVPR 2016, arXiv 1512.03385"
)


def _scaled(base: int, width: float) -> int:
    return max(1, int(round(base * width)))


#: A convolution of a residual block's main path: (out_channels, kernel, stride).
_ConvSpec = tuple[int, int, int]


class _ResNetBuilder:
    """Grows a ResNet from its stem: residual blocks on the running stream, then ``fc``.

    The stream is the node the next block reads, with its channels and spatial size.
    """

    def __init__(self, stem: Conv2d, height: int, width: int) -> None:
        self.layers: list[Layer] = [stem]
        self.joins: list[Join] = []
        self.node, self.channels = stem.name, stem.out_channels
        self.height, self.width = height, width

    def block(
        self, prefix: str, specs: list[_ConvSpec], stride: int, *, padded_shortcut: bool = False
    ) -> None:
        """Add residual block ``prefix``: convolutions ``prefix.conv{1,2,..}`` from ``specs``
        and the join ``prefix.add`` with the shortcut, which becomes the stream.

        Where the block changes the shape (``stride != 1`` or new channels), the shortcut is a
        1x1 projection ``prefix.downsample`` or, with ``padded_shortcut``, the stream itself in
        an ``add_padded`` join (option A); elsewhere it is the stream itself in an ``add`` join.
        """
        h, w, cin, source = self.height, self.width, self.channels, self.node
        for i, (cout, kernel, s) in enumerate(specs, start=1):
            conv = Conv2d(
                name=f"{prefix}.conv{i}",
                in_channels=cin,
                out_channels=cout,
                kernel=kernel,
                stride=s,
                in_height=h,
                in_width=w,
                input_from=source,
            )
            self.layers.append(conv)
            h, w, cin, source = conv.out_height, conv.out_width, cout, conv.name
        kind: JoinKind = "add"
        shortcut = self.node
        if stride != 1 or self.channels != cin:
            if padded_shortcut:
                kind = "add_padded"
            else:
                shortcut = self._projection(prefix, cin, stride)
        self.joins.append(Join(name=f"{prefix}.add", kind=kind, inputs=(source, shortcut)))
        self.node, self.channels, self.height, self.width = f"{prefix}.add", cin, h, w

    def _projection(self, prefix: str, out_channels: int, stride: int) -> str:
        """Add the 1x1 projection shortcut ``prefix.downsample`` of the stream; its name."""
        down = Conv2d(
            name=f"{prefix}.downsample",
            in_channels=self.channels,
            out_channels=out_channels,
            kernel=1,
            stride=stride,
            in_height=self.height,
            in_width=self.width,
            input_from=self.node,
        )
        self.layers.append(down)
        return down.name

    def classifier(self, num_classes: int) -> None:
        """Add ``fc``, the linear classifier on the globally pooled stream."""
        self.layers.append(
            Dense(
                name="fc", in_features=self.channels, out_features=num_classes, input_from=self.node
            )
        )


def resnet_imagenet(
    depth: int = 18,
    width: float = 1.0,
    *,
    resolution: int = 224,
    num_classes: int = 1000,
) -> CNNConfig:
    """torchvision's ImageNet ResNet-``depth`` (18, 34: basic blocks; 50, 101, 152: bottlenecks).

    A 7x7 stride-2 stem (64 channels), a 3x3 stride-2 max pool, four stages of 64/128/256/512
    base widths (bottlenecks write 4x), the first block of stages 2-4 striding by 2, a 1x1
    projection (``downsample``, with batch norm) wherever a block changes shape, global average
    pool, ``fc``. Every convolution is bias-free with batch norm. ``width`` scales every channel
    count (``round(base * width)``); single layers' widths are set afterwards with
    :meth:`CNNConfig.with_out_channels`.

    Layer names are torchvision's: ``conv1``, ``layer{s}.{b}.conv{1,2[,3]}``,
    ``layer{s}.{b}.downsample``, ``fc``; joins are ``layer{s}.{b}.add``.

    ResNet-18 at 224x224: 1,814,073,344 MACs and 11,689,512 parameters (torchvision: 1.81
    GFLOPS, meaning GMACs, and 11,689,512).

    Raises :class:`ValueError` for another depth, a non-positive width or sizes.
    """
    _check_imagenet_arguments(depth, width, resolution, num_classes)
    blocks, bottleneck = _IMAGENET_DEPTHS[depth]
    stem = Conv2d(
        name="conv1",
        in_channels=3,
        out_channels=_scaled(64, width),
        kernel=7,
        stride=2,
        in_height=resolution,
        in_width=resolution,
        input_from=IMAGE,
    )
    # 3x3 stride-2 max pool, padding 1, after the stem.
    net = _ResNetBuilder(stem, -(-stem.out_height // 2), -(-stem.out_width // 2))
    for stage, count in enumerate(blocks, start=1):
        planes = _scaled(64 * 2 ** (stage - 1), width)
        for b in range(count):
            stride = 2 if (stage > 1 and b == 0) else 1
            net.block(f"layer{stage}.{b}", _imagenet_specs(planes, stride, bottleneck), stride)
    net.classifier(num_classes)
    suffix = "" if width == 1.0 else f"-w{width:g}"
    return CNNConfig(
        name=f"resnet{depth}{suffix}",
        input=(3, resolution, resolution),
        layers=tuple(net.layers),
        joins=tuple(net.joins),
        source=_TORCHVISION,
    )


def _check_imagenet_arguments(depth: int, width: float, resolution: int, num_classes: int) -> None:
    """Validate :func:`resnet_imagenet`'s arguments."""
    if depth not in _IMAGENET_DEPTHS or isinstance(depth, bool):
        raise ValueError(
            f"resnet_imagenet depth must be one of {', '.join(map(str, _IMAGENET_DEPTHS))}, "
            f"not {depth!r}"
        )
    check_positive_number("resnet_imagenet", "width", width)
    check_positive_int("resnet_imagenet", "resolution", resolution)
    check_positive_int("resnet_imagenet", "num_classes", num_classes)


def _imagenet_specs(planes: int, stride: int, bottleneck: bool) -> list[_ConvSpec]:
    """The main path of a torchvision block: a bottleneck (1x1, 3x3 with the block's stride,
    1x1 to ``4 * planes``) or a basic block (3x3 with the stride, 3x3)."""
    if bottleneck:
        return [(planes, 1, 1), (planes, 3, stride), (4 * planes, 1, 1)]
    return [(planes, 3, stride), (planes, 3, 1)]


def resnet_cifar(
    depth: int = 20,
    *,
    shortcut: Literal["A", "B"] = "A",
    num_classes: int = 10,
    resolution: int = 32,
) -> CNNConfig:
    """He et al.'s CIFAR ResNet-``depth`` (``depth = 6n + 2``: 20, 32, 44, 56, 110, ...).

    A 3x3 stem (16 channels), three stages of ``n`` basic blocks of 16/32/64 channels (the
    first block of stages 2 and 3 strides by 2), global average pool, ``fc`` (64 -> 10); every
    convolution is bias-free with batch norm; 32x32 input.

    ``shortcut``: ``"A"`` (the paper's CIFAR choice, He et al. 2016 section 4.2): identity
    shortcuts everywhere, subsampled and zero-padded where a block doubles the channels, so no
    shortcut has parameters (an ``add_padded`` join); ``"B"``: a 1x1 stride-2 projection with
    batch norm (``layer{s}.0.downsample``) where the shape changes.

    Layer names: ``conv1``, ``layer{s}.{b}.conv{1,2}``, ``fc``; joins ``layer{s}.{b}.add``.

    Option A (ours, exact): ResNet-20 269,722 parameters and 40,551,040 MACs; ResNet-56 853,018
    and 125,485,696. Published: 0.27M and 0.85M parameters (He et al., Table 6); 40.55M and
    125.49M "FLOPs" (MACs) are the figures the pruning literature quotes (e.g. HRank, CVPR 2020).

    Raises :class:`ValueError` for a depth that is not ``6n + 2`` with ``n >= 1`` or an unknown
    shortcut option.
    """
    _check_cifar_arguments(depth, shortcut, num_classes, resolution)
    n = (depth - 2) // 6
    stem = Conv2d(
        name="conv1",
        in_channels=3,
        out_channels=16,
        kernel=3,
        in_height=resolution,
        in_width=resolution,
        input_from=IMAGE,
    )
    net = _ResNetBuilder(stem, resolution, resolution)
    for stage, planes in enumerate((16, 32, 64), start=1):
        for b in range(n):
            stride = 2 if (stage > 1 and b == 0) else 1
            net.block(
                f"layer{stage}.{b}",
                [(planes, 3, stride), (planes, 3, 1)],
                stride,
                padded_shortcut=shortcut == "A",
            )
    net.classifier(num_classes)
    return CNNConfig(
        name=f"resnet{depth}-cifar" + ("" if shortcut == "A" else "-b"),
        input=(3, resolution, resolution),
        layers=tuple(net.layers),
        joins=tuple(net.joins),
        source=(
            f"He et al., Deep Residual Learning for Image Recognition, CVPR 2016, section 4.2 "
            f"(CIFAR-10 ResNets, option-{shortcut} shortcuts)"
        ),
    )


def _check_cifar_arguments(depth: int, shortcut: str, num_classes: int, resolution: int) -> None:
    """Validate :func:`resnet_cifar`'s arguments."""
    if not isinstance(depth, int) or isinstance(depth, bool) or depth < 8 or (depth - 2) % 6 != 0:
        raise ValueError(
            f"resnet_cifar depth must be 6n + 2 with n >= 1 (20, 56 ...), not {depth!r}"
        )
    if shortcut not in ("A", "B"):
        raise ValueError(f"resnet_cifar shortcut must be 'A' or 'B', not {shortcut!r}")
    check_positive_int("resnet_cifar", "num_classes", num_classes)
    check_positive_int("resnet_cifar", "resolution", resolution)
