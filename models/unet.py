"""The Stable Diffusion 1.5 UNet as a list of ops: the dimensions the analytic simulator prices.

A :class:`UNetConfig` describes diffusers' ``UNet2DConditionModel`` (the denoiser of latent
diffusion) and answers, for ONE image and ONE UNet evaluation (one denoising step without
classifier-free guidance; with guidance a step runs it twice, on a batch of two):

* which ops run, in execution order, with their sizes (:meth:`UNetConfig.layers`): every
  convolution (:class:`~prunesim.models.cnn.Conv2d`, ``bn=False``), every matrix product on a
  number of rows (:class:`UNetLinear`: attention projections, the GEGLU feed-forward, the time
  embedding and each resnet's time-embedding projection) and every attention core
  (:class:`UNetAttention`: ``Q.K^T`` and ``P.V`` of one self- or cross-attention);
* how many parameters each weight layer and each norm holds
  (:meth:`UNetConfig.trainable_params_by_layer`) and in total (:meth:`UNetConfig.params`);
* how many multiply-accumulates one evaluation costs (:meth:`UNetConfig.macs`).

Names are diffusers' module paths (``"conv_in"``, ``"time_embedding.linear_1"``,
``"down_blocks.0.resnets.0.conv1"``, ``"down_blocks.0.attentions.0.transformer_blocks.0.attn1"``
for an attention core and ``"....attn1.to_q"`` for its query projection), so a state dict maps onto
them one to one.

Architecture (diffusers 0.42, ``unet_2d_condition.py``, ``unet_2d_blocks.py``, ``resnet.py``,
``transformer_2d.py``, ``attention.py``):

* time embedding: a sinusoidal projection of the timestep (no parameters, no MACs) to
  ``block_out_channels[0]`` features, then ``linear_1`` (to ``4 * block_out_channels[0]``), SiLU,
  ``linear_2``; it runs once per evaluation (one row).
* ``conv_in`` 3x3, the down blocks, the mid block, the up blocks, ``conv_norm_out`` (GroupNorm),
  SiLU, ``conv_out`` 3x3. Every convolution has a bias and "same" padding.
* a resnet (``ResnetBlock2D``): GroupNorm, SiLU, ``conv1`` 3x3, plus ``time_emb_proj`` (the time
  embedding to ``out`` channels, one row), GroupNorm, SiLU, ``conv2`` 3x3, and a 1x1
  ``conv_shortcut`` when its input and output channels differ.
* a down block has ``layers_per_block`` resnets (each followed by a ``Transformer2DModel`` in a
  ``CrossAttnDownBlock2D``) and, except the last, a downsampler: a 3x3 stride-2 convolution.
  The outputs of ``conv_in``, of every down resnet (after its transformer) and of every
  downsampler are kept as skip connections.
* the mid block (``UNetMidBlock2DCrossAttn``): resnet, transformer, resnet.
* an up block has ``layers_per_block + 1`` resnets; each reads its predecessor's output
  concatenated with the latest skip connection (so its input channels are a sum, e.g. 2560, 1920,
  960), each followed by a transformer in a ``CrossAttnUpBlock2D``; all but the last up block end
  with an upsampler: nearest 2x (no MACs) then a 3x3 convolution at the larger size.
* a transformer (``Transformer2DModel``) on ``C`` channels at ``r x r``: GroupNorm, ``proj_in``
  (a 1x1 convolution, or a linear with ``use_linear_projection``), ``transformer_layers_per_block``
  ``BasicTransformerBlock`` s on ``r * r`` tokens, ``proj_out``. A block: LayerNorm, self-attention
  ``attn1`` (``to_q``, ``to_k``, ``to_v`` without bias, ``to_out.0`` with), LayerNorm,
  cross-attention ``attn2`` on the ``text_tokens`` text embeddings (``to_k``, ``to_v`` read
  ``cross_attention_dim`` features on ``text_tokens`` rows), LayerNorm, GEGLU feed-forward
  (``ff.net.0.proj``: ``C -> 2 * ff_mult * C``, half of it gates the other half; ``ff.net.2``:
  ``ff_mult * C -> C``). ``heads`` heads of ``C / heads`` features each.

Counting conventions (those of :mod:`prunesim.models.cnn` and :mod:`prunesim.models.transformer`):
a MAC is one multiply and one add (FLOPs are ``2 * MACs``); convolutions, linears and the two
matrix products of attention are MACs. Not MACs: GroupNorm, LayerNorm, SiLU, GELU, GEGLU's gating
multiply, softmax and its scaling, residual adds, biases, the nearest upsampling, skip
concatenation and the sinusoidal timestep projection. The text encoder (CLIP ViT-L/14's, 77 tokens
of 768) and the VAE are not part of the UNet. Parameters are ``sum(p.numel() for p in
unet.parameters())``: weights, biases, and the weight and bias of every GroupNorm and LayerNorm.

Verified: ``SD15_UNET`` and ``UNetConfig(latent=32)`` were checked module by module against
diffusers 0.42.1's ``UNet2DConditionModel`` built from SD 1.5's ``unet/config.json`` with random
weights (torch 2.13.0, CPU; a throwaway check, diffusers is no dependency): the total parameters
(859,520,964, the published "860M"); the names and parameter counts of all 391 modules that hold
parameters (every convolution, linear, GroupNorm and LayerNorm: :meth:`trainable_params_by_layer`
equals diffusers' dict exactly); the heads (8) of every attention; and, with forward hooks on a
1x4x64x64 (and 1x4x32x32) latent with 1x77x768 text embeddings, the execution order of all 282
convolutions and linears and the input and output shape of each (rows and features of linears,
so every conv and linear MAC count follows), including the query and key rows of every
attention. :meth:`trainable_params_by_layer` lists modules in execution order, which differs
from diffusers' registration order.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass
from typing import Any

from prunesim.models.checks import check_bool, check_name, check_positive_int, check_source
from prunesim.models.cnn import Conv2d

__all__ = [
    "SD15_UNET",
    "UNetAttention",
    "UNetConfig",
    "UNetLinear",
    "UNetNorm",
    "UNetOp",
]

_CROSS_DOWN = "CrossAttnDownBlock2D"
_PLAIN_DOWN = "DownBlock2D"
_CROSS_UP = "CrossAttnUpBlock2D"
_PLAIN_UP = "UpBlock2D"


@dataclass(frozen=True)
class UNetLinear:
    """One weight matrix applied to ``tokens`` rows of one image: ``y = x @ W (+ b)``.

    ``W`` is ``in_features x out_features``. ``tokens`` is ``r * r`` for the projections and the
    feed-forward of a transformer at ``r x r``, ``text_tokens`` for the cross-attention key and
    value projections, and 1 for the time embedding and the resnets' ``time_emb_proj``.

    Raises :class:`ValueError`, naming the field and the value, for an empty name, non-positive
    sizes or a non-bool ``bias``.
    """

    name: str
    tokens: int
    in_features: int
    out_features: int
    bias: bool

    def __post_init__(self) -> None:
        owner = "UNetLinear"
        check_name(owner, self.name)
        for field in ("tokens", "in_features", "out_features"):
            check_positive_int(owner, field, getattr(self, field))
        check_bool(owner, "bias", self.bias)

    @property
    def weight_elements(self) -> int:
        """Elements of the weight matrix: ``in_features * out_features``."""
        return self.in_features * self.out_features

    @property
    def params(self) -> int:
        """Weights plus bias: ``in_features * out_features (+ out_features)``."""
        return self.weight_elements + (self.out_features if self.bias else 0)

    @property
    def macs(self) -> int:
        """``tokens * in_features * out_features`` (the bias add is not a MAC)."""
        return self.tokens * self.weight_elements

    @property
    def input_elements(self) -> int:
        """Elements read: ``tokens * in_features``."""
        return self.tokens * self.in_features

    @property
    def output_elements(self) -> int:
        """Elements written: ``tokens * out_features``."""
        return self.tokens * self.out_features


@dataclass(frozen=True)
class UNetAttention:
    """The core of one attention (self or cross) of one transformer block, for one image.

    ``queries`` query rows attend to ``keys`` key/value rows in each of ``heads`` heads of
    ``head_dim`` features. Self-attention (``attn1``) has ``queries == keys == r * r``;
    cross-attention (``attn2``) has ``keys = text_tokens``. The projections are separate
    :class:`UNetLinear` ops. No parameters.

    Raises :class:`ValueError`, naming the field and the value, for an empty name or non-positive
    sizes.
    """

    name: str
    queries: int
    keys: int
    heads: int
    head_dim: int

    def __post_init__(self) -> None:
        owner = "UNetAttention"
        check_name(owner, self.name)
        for field in ("queries", "keys", "heads", "head_dim"):
            check_positive_int(owner, field, getattr(self, field))

    @property
    def params(self) -> int:
        """Always 0: the weights are in the projections."""
        return 0

    @property
    def score_elements(self) -> int:
        """Elements of the attention matrix, all heads: ``heads * queries * keys``."""
        return self.heads * self.queries * self.keys

    @property
    def macs(self) -> int:
        """``heads * queries * keys * head_dim * 2``: ``Q.K^T`` and ``P.V``, full matrices."""
        return self.score_elements * self.head_dim * 2


@dataclass(frozen=True)
class UNetNorm:
    """A GroupNorm (resnets, transformers' input, ``conv_norm_out``) or a LayerNorm (transformer
    blocks) on ``channels`` features, with a weight and a bias per channel; no MACs."""

    name: str
    channels: int

    def __post_init__(self) -> None:
        check_name("UNetNorm", self.name)
        check_positive_int("UNetNorm", "channels", self.channels)

    @property
    def params(self) -> int:
        """Weight and bias: ``2 * channels``."""
        return 2 * self.channels


#: The ops of :meth:`UNetConfig.layers`.
UNetOp = Conv2d | UNetLinear | UNetAttention


@dataclass(frozen=True, kw_only=True)
class UNetConfig:
    """The dimensions of a ``UNet2DConditionModel``, from which its ops, MACs and parameters follow.

    Fields (keyword only; the defaults are Stable Diffusion 1.5's ``unet/config.json``):

    * ``name``: the registry key.
    * ``latent``: the side of the square latent the UNet runs on: the image side / 8 (64 for
      512x512 images). Must be divisible by ``2 ** (len(block_out_channels) - 1)`` so every
      downsampled size is exact.
    * ``in_channels``, ``out_channels``: latent channels read and predicted (4).
    * ``block_out_channels``: channels of each resolution level, (320, 640, 1280, 1280); each a
      multiple of ``norm_num_groups`` and of ``heads``.
    * ``layers_per_block``: resnets per down block (an up block has one more).
    * ``down_block_types``: per level, ``"CrossAttnDownBlock2D"`` (resnets each followed by a
      transformer) or ``"DownBlock2D"`` (resnets only).
    * ``up_block_types``: per level, deepest first, ``"CrossAttnUpBlock2D"`` or ``"UpBlock2D"``.
      The mid block is always ``UNetMidBlock2DCrossAttn``.
    * ``heads``: attention heads of every transformer, each of ``channels / heads`` features.
      diffusers' SD 1.5 config calls this ``attention_head_dim`` (8), a historical misnomer: it is
      passed as the number of heads.
    * ``cross_attention_dim``: features of the text embeddings the cross-attention reads (768).
    * ``text_tokens``: rows of the text embeddings (77).
    * ``norm_num_groups``: GroupNorm groups (32).
    * ``use_linear_projection``: ``proj_in`` and ``proj_out`` are linears (SD 2) rather than 1x1
      convolutions (SD 1.5); the same parameters and MACs, another op kind.
    * ``transformer_layers_per_block``: ``BasicTransformerBlock`` s per transformer (1).
    * ``ff_mult``: the GEGLU feed-forward's inner width as a multiple of the channels (4).
    * ``source``: where the dimensions come from.

    Raises :class:`ValueError`, naming the field and the value, for a non-positive size, a block
    type not listed above, block type tuples whose length differs from ``block_out_channels``',
    channels not divisible by ``norm_num_groups`` or ``heads``, or a ``latent`` the
    downsamplers do not divide exactly.
    """

    name: str = "sd15-unet"
    latent: int = 64
    in_channels: int = 4
    out_channels: int = 4
    block_out_channels: tuple[int, ...] = (320, 640, 1280, 1280)
    layers_per_block: int = 2
    down_block_types: tuple[str, ...] = (_CROSS_DOWN, _CROSS_DOWN, _CROSS_DOWN, _PLAIN_DOWN)
    up_block_types: tuple[str, ...] = (_PLAIN_UP, _CROSS_UP, _CROSS_UP, _CROSS_UP)
    heads: int = 8
    cross_attention_dim: int = 768
    text_tokens: int = 77
    norm_num_groups: int = 32
    use_linear_projection: bool = False
    transformer_layers_per_block: int = 1
    ff_mult: int = 4
    source: str = (
        "diffusers UNet2DConditionModel, runwayml/stable-diffusion-v1-5 unet/config.json; "
        "Rombach et al., High-Resolution Image Synthesis with Latent Diffusion Models, "
        "arXiv 2112.10752"
    )

    def __post_init__(self) -> None:
        owner = "UNetConfig"
        check_name(owner, self.name)
        for field in (
            "latent",
            "in_channels",
            "out_channels",
            "layers_per_block",
            "heads",
            "cross_attention_dim",
            "text_tokens",
            "norm_num_groups",
            "transformer_layers_per_block",
            "ff_mult",
        ):
            check_positive_int(owner, field, getattr(self, field))
        check_bool(owner, "use_linear_projection", self.use_linear_projection)
        check_source(owner, self.source)
        boc = self.block_out_channels
        if (
            not isinstance(boc, tuple)
            or not boc
            or not all(isinstance(c, int) and not isinstance(c, bool) and c > 0 for c in boc)
        ):
            raise ValueError(
                f"{owner} block_out_channels must be a non-empty tuple of positive integers, "
                f"not {boc!r}"
            )
        for field, allowed in (
            ("down_block_types", (_CROSS_DOWN, _PLAIN_DOWN)),
            ("up_block_types", (_CROSS_UP, _PLAIN_UP)),
        ):
            value = getattr(self, field)
            if (
                not isinstance(value, tuple)
                or len(value) != len(boc)
                or not all(v in allowed for v in value)
            ):
                raise ValueError(
                    f"{owner} {field} must be a tuple of {len(boc)} of {', '.join(allowed)}, "
                    f"not {value!r}"
                )
        for channels in boc:
            for field in ("norm_num_groups", "heads"):
                if channels % getattr(self, field):
                    raise ValueError(
                        f"{owner} block_out_channels {boc!r} must be multiples of {field} "
                        f"({getattr(self, field)})"
                    )
        if self.latent % 2 ** (len(boc) - 1):
            raise ValueError(
                f"{owner} latent must be divisible by {2 ** (len(boc) - 1)} "
                f"(one halving per downsampler), not {self.latent!r}"
            )

    @property
    def time_embed_dim(self) -> int:
        """Width of the time embedding: ``4 * block_out_channels[0]`` (1280)."""
        return 4 * self.block_out_channels[0]

    # --- the op list ------------------------------------------------------------------------

    def _conv(self, name: str, cin: int, cout: int, kernel: int, side: int, stride: int = 1):
        return Conv2d(
            name=name,
            in_channels=cin,
            out_channels=cout,
            kernel=kernel,
            in_height=side,
            in_width=side,
            stride=stride,
            bias=True,
            bn=False,
        )

    def _resnet(self, p: str, cin: int, cout: int, side: int) -> list[Any]:
        ops: list[Any] = [
            UNetNorm(f"{p}.norm1", cin),
            self._conv(f"{p}.conv1", cin, cout, 3, side),
            UNetLinear(f"{p}.time_emb_proj", 1, self.time_embed_dim, cout, True),
            UNetNorm(f"{p}.norm2", cout),
            self._conv(f"{p}.conv2", cout, cout, 3, side),
        ]
        if cin != cout:
            ops.append(self._conv(f"{p}.conv_shortcut", cin, cout, 1, side))
        return ops

    def _transformer(self, p: str, c: int, side: int) -> list[Any]:
        t, text, head_dim = side * side, self.text_tokens, c // self.heads
        ops: list[Any] = [UNetNorm(f"{p}.norm", c)]

        def proj(name: str) -> Any:
            if self.use_linear_projection:
                return UNetLinear(f"{p}.{name}", t, c, c, True)
            return self._conv(f"{p}.{name}", c, c, 1, side)

        ops.append(proj("proj_in"))
        for i in range(self.transformer_layers_per_block):
            b = f"{p}.transformer_blocks.{i}"
            for attn, norm, keys, kv_in in (
                ("attn1", "norm1", t, c),
                ("attn2", "norm2", text, self.cross_attention_dim),
            ):
                a = f"{b}.{attn}"
                ops += [
                    UNetNorm(f"{b}.{norm}", c),
                    UNetLinear(f"{a}.to_q", t, c, c, False),
                    UNetLinear(f"{a}.to_k", keys, kv_in, c, False),
                    UNetLinear(f"{a}.to_v", keys, kv_in, c, False),
                    UNetAttention(a, t, keys, self.heads, head_dim),
                    UNetLinear(f"{a}.to_out.0", t, c, c, True),
                ]
            inner = self.ff_mult * c
            ops += [
                UNetNorm(f"{b}.norm3", c),
                UNetLinear(f"{b}.ff.net.0.proj", t, c, 2 * inner, True),
                UNetLinear(f"{b}.ff.net.2", t, inner, c, True),
            ]
        ops.append(proj("proj_out"))
        return ops

    def _ops(self) -> tuple[Any, ...]:
        """Every op and norm in execution order (diffusers' forward)."""
        boc, n, temb = self.block_out_channels, len(self.block_out_channels), self.time_embed_dim
        ops: list[Any] = [
            UNetLinear("time_embedding.linear_1", 1, boc[0], temb, True),
            UNetLinear("time_embedding.linear_2", 1, temb, temb, True),
            self._conv("conv_in", self.in_channels, boc[0], 3, self.latent),
        ]
        skips = [boc[0]]
        channels, side = boc[0], self.latent
        for i, (cout, kind) in enumerate(zip(boc, self.down_block_types, strict=True)):
            p = f"down_blocks.{i}"
            for j in range(self.layers_per_block):
                ops += self._resnet(f"{p}.resnets.{j}", channels, cout, side)
                channels = cout
                if kind == _CROSS_DOWN:
                    ops += self._transformer(f"{p}.attentions.{j}", cout, side)
                skips.append(cout)
            if i < n - 1:
                ops.append(self._conv(f"{p}.downsamplers.0.conv", cout, cout, 3, side, stride=2))
                side //= 2
                skips.append(cout)
        ops += self._resnet("mid_block.resnets.0", channels, channels, side)
        ops += self._transformer("mid_block.attentions.0", channels, side)
        ops += self._resnet("mid_block.resnets.1", channels, channels, side)
        for i, (cout, kind) in enumerate(zip(boc[::-1], self.up_block_types, strict=True)):
            p = f"up_blocks.{i}"
            for j in range(self.layers_per_block + 1):
                cin = channels + skips.pop()
                ops += self._resnet(f"{p}.resnets.{j}", cin, cout, side)
                channels = cout
                if kind == _CROSS_UP:
                    ops += self._transformer(f"{p}.attentions.{j}", cout, side)
            if i < n - 1:
                side *= 2
                ops.append(self._conv(f"{p}.upsamplers.0.conv", cout, cout, 3, side))
        ops += [
            UNetNorm("conv_norm_out", channels),
            self._conv("conv_out", channels, self.out_channels, 3, side),
        ]
        return tuple(ops)

    def layers(self) -> tuple[UNetOp, ...]:
        """Every op with MACs, in execution order: convolutions (:class:`Conv2d`, ``bias=True``,
        ``bn=False``, ``input_from=None``: sizes only, not a :class:`CNNConfig` graph), linears
        (:class:`UNetLinear`) and attention cores (:class:`UNetAttention`), named by diffusers'
        module paths. Norms are in :meth:`norms`."""
        return tuple(op for op in self._ops() if not isinstance(op, UNetNorm))

    def norms(self) -> tuple[UNetNorm, ...]:
        """Every GroupNorm and LayerNorm, in execution order."""
        return tuple(op for op in self._ops() if isinstance(op, UNetNorm))

    def trainable_params_by_layer(self) -> dict[str, int]:
        """Parameters of every convolution and linear (weights plus bias) and every norm (weight
        plus bias), by module path, in execution order; sums to :meth:`params`. Attention cores
        hold none and are not listed."""
        return {op.name: op.params for op in self._ops() if not isinstance(op, UNetAttention)}

    def params(self) -> int:
        """Total parameters, as ``sum(p.numel() for p in unet.parameters())``: 859,520,964 for
        :data:`SD15_UNET` (the published "860M")."""
        return sum(self.trainable_params_by_layer().values())

    def macs(self) -> int:
        """MACs of one UNet evaluation on one image: the sum of :meth:`layers`' ``macs``.

        Counted: every convolution (``out_h * out_w * out * in * k**2``), every linear
        (``tokens * in * out``: projections, feed-forward, time embedding, the text key/value
        projections) and both matrix products of every attention (``2 * heads * queries * keys *
        head_dim``). Not counted: norms, activations, GEGLU's gate, softmax, residual adds,
        biases, upsampling, concatenation. A guided denoising step costs twice this.
        """
        return sum(op.macs for op in self.layers())

    def macs_by_kind(self) -> dict[str, int]:
        """:meth:`macs` split into ``"conv"``, ``"linear"`` and ``"attention"``."""
        kinds = {"conv": 0, "linear": 0, "attention": 0}
        for op in self.layers():
            kinds[_kind(op)] += op.macs
        return kinds

    def to_dict(self) -> dict[str, Any]:
        """A plain dict for reports and JSON: the fields, every op with its derived sizes, every
        norm, and the totals (``params``, ``macs``, ``macs_by_kind``)."""
        ops = []
        for op in self.layers():
            entry: dict[str, Any] = {"type": _kind(op), **asdict(op)}
            if isinstance(op, Conv2d):
                entry["out_height"], entry["out_width"] = op.out_height, op.out_width
            entry.update(macs=op.macs, params=op.params)
            ops.append(entry)
        fields = asdict(self)
        for key in ("block_out_channels", "down_block_types", "up_block_types"):
            fields[key] = list(fields[key])
        return {
            **fields,
            "time_embed_dim": self.time_embed_dim,
            "layers": ops,
            "norms": [{**asdict(n), "params": n.params} for n in self.norms()],
            "params": self.params(),
            "macs": self.macs(),
            "macs_by_kind": self.macs_by_kind(),
        }


def _kind(op: UNetOp) -> str:
    if isinstance(op, Conv2d):
        return "conv"
    return "linear" if isinstance(op, UNetLinear) else "attention"


#: Stable Diffusion 1.5's UNet at 512x512 (64x64 latent): 859,520,964 parameters.
SD15_UNET = UNetConfig()
