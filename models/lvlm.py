"""Large vision-language models (LVLMs) as layer graphs: a vision encoder, a projector, an LLM.

An :class:`LVLMConfig` is what the token-pruning methods of multimodal LLMs (CATP, VFlowOpt, AIM)
act on: the vision encoder turns each image (or crop, or video frame) into
``vision.tokens`` tokens, the projector maps them into the LLM's embedding space, and the LLM
(a :class:`~prunesim.models.transformer.TransformerConfig`) sees ``visual_tokens_per_image``
visual tokens per image beside the text tokens. Work is counted as MACs; the output states
ops as 2 per MAC, like the papers.

Parameter counts follow the checkpoints the LVLMs ship (what sits in DRAM); compute follows what
runs. The two differ in the vision tower: LLaVA-1.5/NeXT hold all 24 CLIP layers but take the
features of the penultimate one (``mm_vision_select_layer = -2``), so 23 run;
LLaVA-OneVision drops SigLIP's last layer and its pooling head when it loads the tower, so its
checkpoint holds and runs 26 of the 27 layers Google's SigLIP checkpoint has.
:attr:`VisionEncoder.layers` is what runs, :attr:`VisionEncoder.checkpoint_layers` (the
``layers_total`` field, or ``layers``) what is held.

Presets (:data:`LLAVA_1_5_7B`, :data:`LLAVA_NEXT_7B`, :data:`LLAVA_NEXT_13B`,
:data:`LLAVA_ONEVISION_7B`) carry the default input of the method papers that use them (CATP,
AIM); where a paper does not publish a number, the preset says the value is ours.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass
from typing import Any

from prunesim.models.checks import (
    check_bool,
    check_name,
    check_non_negative_int,
    check_positive_int,
    check_source,
)
from prunesim.models.transformer import Linear, TransformerConfig, transformer

__all__ = [
    "CLIP_VIT_L_14_336",
    "LLAVA_1_5_7B",
    "LLAVA_NEXT_13B",
    "LLAVA_NEXT_7B",
    "LLAVA_ONEVISION_7B",
    "LVLMConfig",
    "QWEN2_7B",
    "SIGLIP_SO400M_14_384",
    "VICUNA_13B",
    "VICUNA_7B",
    "VisionEncoder",
]

#: Rows of the placeholder token embedding of :attr:`VisionEncoder.transformer`: a ViT has no
#: vocabulary, but :class:`TransformerConfig` needs a positive one. Nothing counts it.
VISION_PLACEHOLDER_VOCAB = 1

#: Colour channels of the input image (the patch embedding's input is ``3 * patch * patch``).
IMAGE_CHANNELS = 3


@dataclass(frozen=True, kw_only=True)
class VisionEncoder:
    """A ViT: ``layers`` encoder layers of ``hidden`` width over the patches of one image.

    ``tokens`` is the sequence it runs per image/crop/frame (patches, plus a class token when
    ``cls_token``). ``transformer`` is the same stack as a :class:`TransformerConfig` (an encoder)
    for the simulator.

    Fields (keyword only):

    * ``name``: e.g. ``"clip-vit-l-14-336"``.
    * ``layers``: encoder layers that RUN for the LVLM (the layer whose output the projector
      takes and the ones before it); ``layers_total``: layers the checkpoint holds (``None``:
      ``layers``), counted by :meth:`params`. Must be at least ``layers``.
    * ``hidden``, ``heads``, ``mlp``: width, attention heads (multi-head, ``hidden // heads``
      each), MLP inner width (plain two-layer GELU MLP, not gated).
    * ``patch``, ``image_size``: square patches of ``patch`` pixels over a square image of
      ``image_size`` pixels; a stride-``patch`` convolution, so ``image_size // patch`` patches
      per side (a remainder is dropped: SigLIP-384/14 sees 27 x 27 patches).
    * ``cls_token``: a learned class embedding is prepended (CLIP); false for SigLIP.
    * ``source``: where the dimensions come from.
    * ``patch_bias``: the patch-embedding convolution has a bias (SigLIP; CLIP has none).
    * ``pre_norm``: a LayerNorm before the first layer (CLIP's ``pre_layrnorm``).
    * ``post_norm``: a LayerNorm after the last layer (``post_layernorm``); counted in
      :meth:`params` when the checkpoint holds it, even where the LVLM takes un-normed features.

    Every linear of the layers has a bias and every norm is a LayerNorm (weight and bias).

    Raises :class:`ValueError`, naming the field and the value, for non-positive sizes,
    ``layers_total < layers``, ``hidden`` not divisible by ``heads``, ``image_size < patch``,
    non-bool flags or a non-string name/source.
    """

    name: str
    layers: int
    hidden: int
    heads: int
    mlp: int
    patch: int
    image_size: int
    cls_token: bool
    source: str
    layers_total: int | None = None
    patch_bias: bool = True
    pre_norm: bool = False
    post_norm: bool = True

    def __post_init__(self) -> None:
        owner = "VisionEncoder"
        check_name(owner, self.name)
        for field in ("layers", "hidden", "heads", "mlp", "patch", "image_size"):
            check_positive_int(owner, field, getattr(self, field))
        if self.layers_total is not None:
            check_positive_int(owner, "layers_total", self.layers_total)
            if self.layers_total < self.layers:
                raise ValueError(
                    f"{owner} layers_total ({self.layers_total}) must be at least "
                    f"layers ({self.layers})"
                )
        for field in ("cls_token", "patch_bias", "pre_norm", "post_norm"):
            check_bool(owner, field, getattr(self, field))
        check_source(owner, self.source)
        if self.hidden % self.heads != 0:
            raise ValueError(
                f"{owner} hidden ({self.hidden}) must be divisible by heads ({self.heads})"
            )
        if self.image_size < self.patch:
            raise ValueError(
                f"{owner} image_size ({self.image_size}) must be at least patch ({self.patch})"
            )

    @property
    def checkpoint_layers(self) -> int:
        """Layers the checkpoint holds: ``layers_total``, or ``layers`` when not given."""
        return self.layers if self.layers_total is None else self.layers_total

    @property
    def grid(self) -> int:
        """Patches per side: ``image_size // patch``."""
        return self.image_size // self.patch

    @property
    def patches(self) -> int:
        """Patch tokens per image: ``grid ** 2`` (576 for CLIP-336/14, 729 for SigLIP-384/14)."""
        return self.grid**2

    @property
    def tokens(self) -> int:
        """The sequence one image runs through the layers: ``patches (+ 1 class token)``."""
        return self.patches + (1 if self.cls_token else 0)

    def patch_embedding(self) -> Linear:
        """The patch embedding as the linear it is: ``3 * patch**2 -> hidden`` per patch token.

        A stride-``patch`` convolution is one matrix applied to each flattened patch; it runs on
        :attr:`patches` tokens (not on the class token), once per image (``per_layer=False``).
        """
        return Linear(
            "patch_embedding",
            IMAGE_CHANNELS * self.patch * self.patch,
            self.hidden,
            self.patch_bias,
            per_layer=False,
        )

    @property
    def transformer(self) -> TransformerConfig:
        """The layers that run, as an encoder :class:`TransformerConfig`, for the simulator.

        ``layers`` (not ``layers_total``) layers of width ``hidden``, ``heads`` heads (MHA),
        plain FFN ``mlp`` with biases everywhere, LayerNorms, ``max_positions = tokens``,
        ``decoder=False``. A ViT has no vocabulary and no LM head: the config holds a
        placeholder vocabulary of :data:`VISION_PLACEHOLDER_VOCAB` with a tied (uncounted) head.
        Its :meth:`~TransformerConfig.params` is therefore NOT the encoder's: use
        :meth:`VisionEncoder.params`, which counts the patch embedding, class and position
        embeddings and every layer the checkpoint holds.
        """
        return TransformerConfig(
            name=self.name,
            layers=self.layers,
            hidden=self.hidden,
            heads=self.heads,
            kv_heads=self.heads,
            ffn=self.mlp,
            vocab=VISION_PLACEHOLDER_VOCAB,
            decoder=False,
            max_positions=self.tokens,
            source=self.source,
            gated_ffn=False,
            learned_positions=True,
            tied_embeddings=True,
            bias=True,
            norm_bias=True,
            final_norm=self.post_norm,
            embedding_norm=self.pre_norm,
        )

    def params(self) -> int:
        """Parameters of the tower as the checkpoint holds it.

        Patch embedding (``3 * patch**2 * hidden``, plus ``hidden`` with ``patch_bias``), class
        embedding (``hidden``) with ``cls_token``, position embedding (``tokens * hidden``),
        the pre- and post-LayerNorm where they exist (``2 * hidden`` each) and
        ``checkpoint_layers`` layers of :meth:`TransformerConfig.layer_params`. Matches
        ``sum(p.numel() for p in model.parameters())`` of Hugging Face's ``CLIPVisionModel``;
        for ``SiglipVisionModel`` the attention-pooling head, which LLaVA drops, is not counted.
        """
        h = self.hidden
        total = self.patch_embedding().params
        total += h if self.cls_token else 0
        total += self.tokens * h
        total += (int(self.pre_norm) + int(self.post_norm)) * 2 * h
        return total + self.checkpoint_layers * self.transformer.layer_params()

    def to_dict(self) -> dict[str, Any]:
        """The fields as a plain dict, plus the derived ``tokens`` and ``params``."""
        return {**asdict(self), "tokens": self.tokens, "params": self.params()}


@dataclass(frozen=True, kw_only=True)
class LVLMConfig:
    """A vision encoder, a projector (linear layers applied to every visual token) and an LLM.

    ``visual_tokens_per_image``: tokens one image (crop, frame) gives the LLM by default (576 for
    LLaVA-1.5's CLIP-336, 729 per SigLIP crop, 196 per pooled video frame); ``default_images``
    and ``default_text_tokens``: the input the method papers evaluate with.

    Fields (keyword only):

    * ``name``: the registry key, e.g. ``"llava-1.5-7b"``.
    * ``llm``: the language model, a decoder :class:`TransformerConfig`.
    * ``vision``: the :class:`VisionEncoder`.
    * ``projector``: the linears applied, in order, to every visual token after the vision
      encoder (``per_layer=False``: once per token, not per LLM layer); the first takes
      ``vision.hidden`` features, the last gives ``llm.hidden``, each takes what the one before
      gives. Activations between them (GELU) are not MACs and hold no parameters.
    * ``visual_tokens_per_image``, ``default_images``: positive; ``default_text_tokens``:
      non-negative. The default input must fit the LLM:
      ``default_images * visual_tokens_per_image + default_text_tokens <= llm.max_positions``.
    * ``source``: where the dimensions and the default input come from.
    * ``extra_params``: parameters outside the three parts, counted as is by :meth:`params`
      (LLaVA-NeXT/OneVision's ``image_newline``, one ``llm.hidden`` vector).

    ``layers``, ``decoder``, ``hidden``, ``heads``, ``d``, ``ffn`` and ``max_positions`` (the
    context length) are the LLM's, so that a listing of the model zoo shows an LVLM like a
    transformer.

    Raises :class:`ValueError`, naming the field and the value, for a wrong type of part, an
    encoder LLM, an empty projector or one whose features do not chain from ``vision.hidden``
    to ``llm.hidden``, non-positive token or image counts, or a default input longer than the
    LLM's positions.
    """

    name: str
    llm: TransformerConfig
    vision: VisionEncoder
    projector: tuple[Linear, ...]
    visual_tokens_per_image: int
    default_images: int
    default_text_tokens: int
    source: str
    extra_params: int = 0

    def __post_init__(self) -> None:
        owner = "LVLMConfig"
        check_name(owner, self.name)
        if not isinstance(self.llm, TransformerConfig):
            raise ValueError(f"{owner} llm must be a TransformerConfig, not {self.llm!r}")
        if not self.llm.decoder:
            raise ValueError(f"{owner} llm must be a decoder, not the encoder {self.llm.name!r}")
        if not isinstance(self.vision, VisionEncoder):
            raise ValueError(f"{owner} vision must be a VisionEncoder, not {self.vision!r}")
        self._check_projector(owner)
        for field in ("visual_tokens_per_image", "default_images"):
            check_positive_int(owner, field, getattr(self, field))
        check_non_negative_int(owner, "default_text_tokens", self.default_text_tokens)
        check_non_negative_int(owner, "extra_params", self.extra_params)
        check_source(owner, self.source)
        if self.default_tokens > self.llm.max_positions:
            raise ValueError(
                f"{owner} default input ({self.default_images} x {self.visual_tokens_per_image} "
                f"visual + {self.default_text_tokens} text = {self.default_tokens} tokens) "
                f"exceeds llm.max_positions ({self.llm.max_positions})"
            )

    def _check_projector(self, owner: str) -> None:
        projector = self.projector
        if (
            not isinstance(projector, tuple)
            or not projector
            or not all(isinstance(linear, Linear) for linear in projector)
        ):
            raise ValueError(
                f"{owner} projector must be a non-empty tuple of Linear, not {projector!r}"
            )
        features = self.vision.hidden
        expected_from = "vision.hidden"
        for i, linear in enumerate(projector):
            if linear.in_features != features:
                raise ValueError(
                    f"{owner} projector[{i}] in_features ({linear.in_features}) must equal "
                    f"{expected_from} ({features})"
                )
            features, expected_from = linear.out_features, f"projector[{i}] out_features"
        if features != self.llm.hidden:
            raise ValueError(
                f"{owner} projector[{len(projector) - 1}] out_features ({features}) must equal "
                f"llm.hidden ({self.llm.hidden})"
            )

    @property
    def layers(self) -> int:
        """The LLM's layer count (where the token-pruning schedules are indexed)."""
        return self.llm.layers

    @property
    def decoder(self) -> bool:
        """Always true: an LVLM generates text."""
        return True

    @property
    def hidden(self) -> int:
        """The LLM's width."""
        return self.llm.hidden

    @property
    def heads(self) -> int:
        """The LLM's query heads."""
        return self.llm.heads

    @property
    def d(self) -> int:
        """The LLM's per-head width."""
        return self.llm.d

    @property
    def ffn(self) -> int:
        """The LLM's FFN inner width."""
        return self.llm.ffn

    @property
    def max_positions(self) -> int:
        """The LLM's context length (``llm.max_positions``): the visual and text tokens of the
        input and the tokens generated after them must fit it."""
        return self.llm.max_positions

    @property
    def projector_tokens_per_image(self) -> int:
        """Tokens the projector runs on per image (crop, frame): ``vision.patches``.

        LLaVA drops CLIP's class token before the projector (``mm_vision_select_feature =
        "patch"``), and LLaVA-OneVision pools a video frame's 729 tokens 2 x 2 to 196 AFTER the
        projector, so the projector sees every patch token even where the LLM sees fewer.
        """
        return self.vision.patches

    @property
    def default_visual_tokens(self) -> int:
        """Visual tokens of the default input: ``default_images * visual_tokens_per_image``."""
        return self.default_images * self.visual_tokens_per_image

    @property
    def default_tokens(self) -> int:
        """The LLM's default prefill: :attr:`default_visual_tokens` plus the text tokens."""
        return self.default_visual_tokens + self.default_text_tokens

    def projector_params(self) -> int:
        """Weights and biases of the projector's linears."""
        return sum(linear.params for linear in self.projector)

    def params(self) -> int:
        """Total parameters: ``llm.params() + vision.params() + projector + extra_params``.

        The vision tower is counted as its checkpoint holds it (:meth:`VisionEncoder.params`).
        """
        return (
            self.llm.params() + self.vision.params() + self.projector_params() + self.extra_params
        )

    def to_dict(self) -> dict[str, Any]:
        """A plain dict: the parts' own ``to_dict()``, the projector's linears, the scalars,
        the derived default token counts and ``params``.
        """
        return {
            "name": self.name,
            "llm": self.llm.to_dict(),
            "vision": self.vision.to_dict(),
            "projector": [asdict(linear) for linear in self.projector],
            "visual_tokens_per_image": self.visual_tokens_per_image,
            "default_images": self.default_images,
            "default_text_tokens": self.default_text_tokens,
            "default_tokens": self.default_tokens,
            "source": self.source,
            "extra_params": self.extra_params,
            "params": self.params(),
        }


def _mlp2x_gelu(vision_hidden: int, llm_hidden: int) -> tuple[Linear, ...]:
    # LLaVA-1.5 onwards ("mlp2x_gelu"): Linear(vision, llm), GELU, Linear(llm, llm), with biases.
    return (
        Linear("proj_fc1", vision_hidden, llm_hidden, True, per_layer=False),
        Linear("proj_fc2", llm_hidden, llm_hidden, True, per_layer=False),
    )


def _llama2(
    name: str, layers: int, hidden: int, heads: int, ffn: int, source: str
) -> TransformerConfig:
    # LLaMA-2 / Vicuna v1.5: MHA, SwiGLU, RMSNorm, no biases, rotary positions, untied head.
    return transformer(
        name,
        layers,
        hidden,
        heads,
        ffn,
        vocab=32000,
        gated_ffn=True,
        decoder=True,
        max_positions=4096,
        tied_embeddings=False,
        bias=False,
        norm_bias=False,
        source=source,
    )


#: Vicuna-7B v1.5 = LLaMA-2-7B dimensions: 6,738,415,616 parameters (HF ``LlamaForCausalLM``).
VICUNA_7B = _llama2(
    "vicuna-7b-v1.5",
    32,
    4096,
    32,
    11008,
    "HF lmsys/vicuna-7b-v1.5 config.json (LLaMA-2-7B dimensions); Touvron et al., Llama 2, "
    "arXiv 2307.09288",
)
#: Vicuna-13B v1.5 = LLaMA-2-13B dimensions: 13,015,864,320 parameters.
VICUNA_13B = _llama2(
    "vicuna-13b-v1.5",
    40,
    5120,
    40,
    13824,
    "HF lmsys/vicuna-13b-v1.5 config.json (LLaMA-2-13B dimensions); Touvron et al., Llama 2, "
    "arXiv 2307.09288",
)
#: Qwen2-7B: GQA (28 heads, 4 KV heads), SwiGLU, RMSNorm, biases on q/k/v only, untied head:
#: 7,615,616,512 parameters (HF ``Qwen2ForCausalLM``). 32768 positions as LLaVA-OneVision uses it.
QWEN2_7B = transformer(
    "qwen2-7b",
    28,
    3584,
    28,
    18944,
    vocab=152064,
    kv_heads=4,
    gated_ffn=True,
    decoder=True,
    max_positions=32768,
    tied_embeddings=False,
    bias=False,
    qkv_bias=True,
    norm_bias=False,
    source="HF Qwen/Qwen2-7B config.json; Yang et al., Qwen2 Technical Report, arXiv 2407.10671",
)

#: CLIP ViT-L/14 at 336 px as LLaVA-1.5/NeXT use it: 24 layers held (303,507,456 parameters, HF
#: ``CLIPVisionModel``), 23 run (``mm_vision_select_layer = -2``: the penultimate layer's output,
#: class token dropped); 577 tokens per image (576 patches + class token).
CLIP_VIT_L_14_336 = VisionEncoder(
    name="clip-vit-l-14-336",
    layers=23,
    layers_total=24,
    hidden=1024,
    heads=16,
    mlp=4096,
    patch=14,
    image_size=336,
    cls_token=True,
    patch_bias=False,
    pre_norm=True,
    post_norm=True,
    source="HF openai/clip-vit-large-patch14-336 config.json; LLaVA-1.5 "
    "mm_vision_select_layer=-2 (Liu et al., Improved Baselines with Visual Instruction Tuning, "
    "arXiv 2310.03744)",
)

#: SigLIP so400m/14 at 384 px as LLaVA-OneVision uses it: Google's checkpoint has 27 layers and
#: an attention-pooling head; LLaVA's ``SigLipVisionTower`` deletes the last layer and the head
#: when loading (the HF conversion: ``num_hidden_layers=26``, ``vision_use_head=False``), so 26
#: are held and run: 397,747,744 parameters. 729 tokens per 384 px crop (27 x 27 patches).
SIGLIP_SO400M_14_384 = VisionEncoder(
    name="siglip-so400m-14-384",
    layers=26,
    layers_total=26,
    hidden=1152,
    heads=16,
    mlp=4304,
    patch=14,
    image_size=384,
    cls_token=False,
    patch_bias=True,
    pre_norm=False,
    post_norm=True,
    source="HF google/siglip-so400m-patch14-384 config.json (27 layers); LLaVA-NeXT "
    "siglip_encoder.py and HF convert_llava_onevision_weights_to_hf.py keep 26, no head",
)

#: LLaVA-1.5-7B: 7,062,902,784 parameters. One image (576 visual tokens: the 577 CLIP tokens
#: without the class token) and 64 text tokens by default; the 64 is our default, not published.
LLAVA_1_5_7B = LVLMConfig(
    name="llava-1.5-7b",
    llm=VICUNA_7B,
    vision=CLIP_VIT_L_14_336,
    projector=_mlp2x_gelu(1024, 4096),
    visual_tokens_per_image=576,
    default_images=1,
    default_text_tokens=64,
    source="Liu et al., Improved Baselines with Visual Instruction Tuning (LLaVA-1.5), arXiv "
    "2310.03744; HF liuhaotian/llava-v1.5-7b config.json; default text length is ours",
)

#: LLaVA-NeXT-7B (Vicuna): 7,062,906,880 parameters (with ``image_newline``). AnyRes is not
#: modelled: each image is one 336 px crop of 576 tokens, as in CATP's 4-shot ICL setting
#: (5 images: 4 demonstrations and the query). 200 text tokens is our assumption (not published).
LLAVA_NEXT_7B = LVLMConfig(
    name="llava-next-7b",
    llm=VICUNA_7B,
    vision=CLIP_VIT_L_14_336,
    projector=_mlp2x_gelu(1024, 4096),
    visual_tokens_per_image=576,
    default_images=5,
    default_text_tokens=200,
    extra_params=4096,  # image_newline
    source="Liu et al., LLaVA-NeXT (2024-01 blog); HF liuhaotian/llava-v1.6-vicuna-7b "
    "config.json; CATP (2025) 4-shot ICL: 5 images x 576 tokens; text length is ours",
)

#: LLaVA-NeXT-13B (Vicuna): 13,350,844,416 parameters; input as :data:`LLAVA_NEXT_7B`.
LLAVA_NEXT_13B = LVLMConfig(
    name="llava-next-13b",
    llm=VICUNA_13B,
    vision=CLIP_VIT_L_14_336,
    projector=_mlp2x_gelu(1024, 5120),
    visual_tokens_per_image=576,
    default_images=5,
    default_text_tokens=200,
    extra_params=5120,  # image_newline
    source="Liu et al., LLaVA-NeXT (2024-01 blog); HF liuhaotian/llava-v1.6-vicuna-13b "
    "config.json; CATP (2025) 4-shot ICL: 5 images x 576 tokens; text length is ours",
)

#: LLaVA-OneVision-7B: 8,030,348,832 parameters (with ``image_newline``). Default input is AIM's
#: video setting: 32 frames of 196 tokens (729 SigLIP tokens pooled 2 x 2 to 14 x 14) and 100
#: text tokens. An image crop gives 729 tokens (AnyRes up to 7,290 per image: not modelled).
LLAVA_ONEVISION_7B = LVLMConfig(
    name="llava-onevision-7b",
    llm=QWEN2_7B,
    vision=SIGLIP_SO400M_14_384,
    projector=_mlp2x_gelu(1152, 3584),
    visual_tokens_per_image=196,
    default_images=32,
    default_text_tokens=100,
    extra_params=3584,  # image_newline
    source="Li et al., LLaVA-OneVision: Easy Visual Task Transfer, arXiv 2408.03326; HF "
    "lmms-lab/llava-onevision-qwen2-7b-ov config.json; AIM (2024) video: 32 frames x 196 "
    "tokens + ~100 text",
)
