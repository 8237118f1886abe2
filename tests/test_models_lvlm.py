"""The LVLM zoo: LLM and vision-tower parameter counts, tokens, shapes, validation, registry."""

from __future__ import annotations

import dataclasses

import pytest

from prunesim.models import (
    MODELS,
    Linear,
    LVLMConfig,
    TransformerConfig,
    VisionEncoder,
    get_model,
    model_names,
    transformer,
)
from prunesim.models.lvlm import (
    CLIP_VIT_L_14_336,
    LLAVA_1_5_7B,
    LLAVA_NEXT_7B,
    LLAVA_NEXT_13B,
    LLAVA_ONEVISION_7B,
    QWEN2_7B,
    SIGLIP_SO400M_14_384,
    VICUNA_7B,
    VICUNA_13B,
)
from prunesim.models.transformer import GPT2_SMALL

# sum(p.numel() for p in model.parameters()) of the Hugging Face models: Qwen2ForCausalLM
# (Qwen/Qwen2-7B), LlamaForCausalLM (meta-llama/Llama-2-7b-hf, -13b-hf; Vicuna v1.5 has the same
# shapes), CLIPVisionModel (openai/clip-vit-large-patch14-336), SiglipVisionModel
# (google/siglip-so400m-patch14-384, 27 layers and the attention-pooling head).
HF_QWEN2_7B = 7_615_616_512
HF_LLAMA2_7B = 6_738_415_616
HF_LLAMA2_13B = 13_015_864_320
HF_CLIP_VIT_L_14_336 = 303_507_456
HF_SIGLIP_SO400M_14_384 = 428_225_600


def _naive_decoder_params(
    layers: int, hidden: int, kv_out: int, ffn: int, vocab: int, qkv_bias: bool
) -> int:
    """A LLaMA/Qwen2 ``ForCausalLM``'s tensors one by one (untied head, RMSNorm, SwiGLU)."""
    per_layer = (
        hidden  # input_layernorm
        + (hidden * hidden + (hidden if qkv_bias else 0))  # q_proj
        + 2 * (hidden * kv_out + (kv_out if qkv_bias else 0))  # k_proj, v_proj
        + hidden * hidden  # o_proj
        + 3 * hidden * ffn  # gate_proj, up_proj, down_proj
        + hidden  # post_attention_layernorm
    )
    return vocab * hidden + layers * per_layer + hidden + hidden * vocab  # embed, norm, lm_head


def _naive_vit_layer(hidden: int, mlp: int) -> int:
    """One CLIP/SigLIP encoder layer: q, k, v, out_proj, two LayerNorms, fc1, fc2, all biased."""
    return 4 * (hidden * hidden + hidden) + 2 * 2 * hidden + (hidden * mlp + mlp) + (mlp * hidden)


def _naive_clip_vision_model() -> int:
    """HF CLIPVisionModel, ViT-L/14 at 336 px."""
    hidden, mlp = 1024, 4096
    embeddings = (
        hidden  # class_embedding
        + 3 * 14 * 14 * hidden  # patch_embedding (Conv2d, bias=False)
        + (24 * 24 + 1) * hidden  # position_embedding
    )
    pre_layrnorm = post_layernorm = 2 * hidden
    layers = 24 * (_naive_vit_layer(hidden, mlp) + hidden)  # + fc2 bias
    return embeddings + pre_layrnorm + layers + post_layernorm


def _naive_siglip_head(hidden: int = 1152, mlp: int = 4304) -> int:
    """SiglipMultiheadAttentionPoolingHead: probe, nn.MultiheadAttention, LayerNorm, MLP."""
    probe = hidden
    attention = (3 * hidden * hidden + 3 * hidden) + (hidden * hidden + hidden)  # in/out_proj
    layernorm = 2 * hidden
    mlp_params = (hidden * mlp + mlp) + (mlp * hidden + hidden)
    return probe + attention + layernorm + mlp_params


def _naive_siglip_vision_model(layers: int = 27, head: bool = True) -> int:
    """HF SiglipVisionModel, so400m/14 at 384 px (no class token, no pre-LayerNorm)."""
    hidden, mlp = 1152, 4304
    embeddings = (3 * 14 * 14 * hidden + hidden) + 27 * 27 * hidden  # patch conv (biased), pos
    post_layernorm = 2 * hidden
    body = layers * (_naive_vit_layer(hidden, mlp) + hidden)
    return embeddings + body + post_layernorm + (_naive_siglip_head() if head else 0)


# ---------------------------------------------------------------------------------------------
# LLMs


@pytest.mark.parametrize(
    ("llm", "expected"),
    [(QWEN2_7B, HF_QWEN2_7B), (VICUNA_7B, HF_LLAMA2_7B), (VICUNA_13B, HF_LLAMA2_13B)],
    ids=["qwen2-7b", "vicuna-7b", "vicuna-13b"],
)
def test_llm_params_match_hugging_face(llm: TransformerConfig, expected: int) -> None:
    assert llm.params() == expected


def test_published_llm_counts_follow_from_the_architecture() -> None:
    assert _naive_decoder_params(28, 3584, 512, 18944, 152064, qkv_bias=True) == HF_QWEN2_7B
    assert _naive_decoder_params(32, 4096, 4096, 11008, 32000, qkv_bias=False) == HF_LLAMA2_7B
    assert _naive_decoder_params(40, 5120, 5120, 13824, 32000, qkv_bias=False) == HF_LLAMA2_13B


def test_linears_of_qwen2() -> None:
    linears = {x.name: x for x in QWEN2_7B.linears()}
    assert [x.name for x in QWEN2_7B.linears()] == ["q", "k", "v", "o", "gate", "up", "down"]
    shapes = {name: (x.in_features, x.out_features) for name, x in linears.items()}
    assert shapes == {
        "q": (3584, 3584),
        "k": (3584, 512),
        "v": (3584, 512),
        "o": (3584, 3584),
        "gate": (3584, 18944),
        "up": (3584, 18944),
        "down": (18944, 3584),
    }
    assert {name for name, x in linears.items() if x.bias} == {"q", "k", "v"}
    assert QWEN2_7B.d == 128 and QWEN2_7B.kv_heads == 4 and not QWEN2_7B.norm_bias
    assert not QWEN2_7B.tied_embeddings and QWEN2_7B.max_positions == 32768


def test_qkv_bias_defaults_to_bias_and_overrides_it() -> None:
    assert GPT2_SMALL.qkv_bias is None and all(x.bias for x in GPT2_SMALL.linears())
    no_qkv = dataclasses.replace(GPT2_SMALL, qkv_bias=False)
    assert {x.name for x in no_qkv.linears() if not x.bias} == {"q", "k", "v"}
    assert GPT2_SMALL.params() - no_qkv.params() == 12 * 3 * 768
    plain = transformer("t", 2, 64, 4, 128, 10, kv_heads=2, bias=False)
    with_qkv = transformer("t", 2, 64, 4, 128, 10, kv_heads=2, bias=False, qkv_bias=True)
    assert with_qkv.params() - plain.params() == 2 * (64 + 32 + 32)
    assert with_qkv.to_dict()["qkv_bias"] is True
    with pytest.raises(ValueError, match="TransformerConfig qkv_bias must be a bool, not 1"):
        dataclasses.replace(GPT2_SMALL, qkv_bias=1)


def test_vicuna_dimensions() -> None:
    for llm in (VICUNA_7B, VICUNA_13B):
        assert llm.d == 128 and llm.kv_heads == llm.heads and llm.gated_ffn
        assert llm.vocab == 32000 and llm.max_positions == 4096 and not llm.tied_embeddings
        assert not any(x.bias for x in llm.linears()) and not llm.norm_bias
    assert (VICUNA_13B.layers, VICUNA_13B.hidden, VICUNA_13B.heads, VICUNA_13B.ffn) == (
        40,
        5120,
        40,
        13824,
    )


# ---------------------------------------------------------------------------------------------
# Vision encoders


def test_clip_vision_tower_matches_hugging_face() -> None:
    assert _naive_clip_vision_model() == HF_CLIP_VIT_L_14_336
    # The LVLM holds all 24 layers (and post_layernorm) although only 23 run.
    assert CLIP_VIT_L_14_336.params() == HF_CLIP_VIT_L_14_336
    assert CLIP_VIT_L_14_336.layers == 23 and CLIP_VIT_L_14_336.checkpoint_layers == 24


def test_siglip_vision_tower_against_hugging_face_and_the_published_400m() -> None:
    # Google's checkpoint (HF SiglipVisionModel): 27 layers plus the attention-pooling head.
    assert _naive_siglip_vision_model() == HF_SIGLIP_SO400M_14_384
    google = dataclasses.replace(SIGLIP_SO400M_14_384, layers_total=27)
    assert google.params() + _naive_siglip_head() == HF_SIGLIP_SO400M_14_384
    # LLaVA-OneVision drops the last layer and the head: 26 layers held and run.
    ours = SIGLIP_SO400M_14_384.params()
    assert ours == _naive_siglip_vision_model(layers=26, head=False) == 397_747_744
    assert SIGLIP_SO400M_14_384.layers == SIGLIP_SO400M_14_384.checkpoint_layers == 26
    # "so400m" (shape-optimised ViT, ~400M): Google's 428.2M is 7.1% above, LLaVA's 397.7M 0.6%
    # below.
    for count in (HF_SIGLIP_SO400M_14_384, ours):
        assert abs(count / 400e6 - 1) < 0.10


@pytest.mark.parametrize(
    ("vision", "grid", "patches", "tokens"),
    [(CLIP_VIT_L_14_336, 24, 576, 577), (SIGLIP_SO400M_14_384, 27, 729, 729)],
    ids=["clip", "siglip"],
)
def test_vision_tokens(vision: VisionEncoder, grid: int, patches: int, tokens: int) -> None:
    assert (vision.grid, vision.patches, vision.tokens) == (grid, patches, tokens)


def test_vision_transformer_is_the_running_encoder() -> None:
    clip = CLIP_VIT_L_14_336.transformer
    assert isinstance(clip, TransformerConfig) and not clip.decoder
    assert (clip.layers, clip.hidden, clip.heads, clip.kv_heads, clip.ffn) == (
        23,
        1024,
        16,
        16,
        4096,
    )
    assert clip.d == 64 and clip.max_positions == 577 and clip.vocab == 1
    assert not clip.gated_ffn and clip.bias and clip.norm_bias
    assert clip.embedding_norm and clip.final_norm
    assert [(x.name, x.in_features, x.out_features, x.bias) for x in clip.linears()] == [
        ("q", 1024, 1024, True),
        ("k", 1024, 1024, True),
        ("v", 1024, 1024, True),
        ("o", 1024, 1024, True),
        ("fc1", 1024, 4096, True),
        ("fc2", 4096, 1024, True),
    ]
    siglip = SIGLIP_SO400M_14_384.transformer
    assert (siglip.layers, siglip.d, siglip.ffn, siglip.max_positions) == (26, 72, 4304, 729)
    assert siglip.final_norm and not siglip.embedding_norm


def test_patch_embedding() -> None:
    assert CLIP_VIT_L_14_336.patch_embedding() == Linear(
        "patch_embedding", 588, 1024, bias=False, per_layer=False
    )
    siglip = SIGLIP_SO400M_14_384.patch_embedding()
    assert (siglip.in_features, siglip.out_features, siglip.bias) == (588, 1152, True)


# ---------------------------------------------------------------------------------------------
# LVLMs


# The LLaVA papers name a model by its LLM's size. For LLaVA-1.5/NeXT the whole model is within
# 10% of it; LLaVA-OneVision-7B's whole model is 8.03B (15% above "7B": Qwen2-7B is itself 7.6B),
# so for it the test compares the LLM.
PUBLISHED = [
    ("llava-1.5-7b", "whole", 7e9, 7_062_902_784),
    ("llava-next-7b", "whole", 7e9, 7_062_906_880),
    ("llava-next-13b", "whole", 13e9, 13_350_844_416),
    ("llava-onevision-7b", "llm", 7e9, 8_030_348_832),
]


@pytest.mark.parametrize(("name", "compared", "published", "whole"), PUBLISHED)
def test_lvlm_params_against_published_sizes(
    name: str, compared: str, published: float, whole: int
) -> None:
    model = get_model(name)
    assert isinstance(model, LVLMConfig)
    assert model.params() == whole
    count = model.params() if compared == "whole" else model.llm.params()
    assert abs(count / published - 1) < 0.10


def test_lvlm_params_are_the_sum_of_the_parts() -> None:
    # mlp2x_gelu projectors: vision -> llm (+ bias), llm -> llm (+ bias).
    assert LLAVA_1_5_7B.projector_params() == 1024 * 4096 + 4096 + 4096 * 4096 + 4096
    assert LLAVA_NEXT_13B.projector_params() == 1024 * 5120 + 5120 + 5120 * 5120 + 5120
    assert LLAVA_ONEVISION_7B.projector_params() == 1152 * 3584 + 3584 + 3584 * 3584 + 3584
    assert LLAVA_1_5_7B.params() == (
        HF_LLAMA2_7B + HF_CLIP_VIT_L_14_336 + LLAVA_1_5_7B.projector_params()
    )
    # LLaVA-NeXT/OneVision also hold image_newline (one LLM-width vector).
    assert LLAVA_NEXT_7B.params() - LLAVA_1_5_7B.params() == 4096
    assert LLAVA_ONEVISION_7B.params() == (
        HF_QWEN2_7B + 397_747_744 + LLAVA_ONEVISION_7B.projector_params() + 3584
    )


def test_projector_linears() -> None:
    shapes = [(x.in_features, x.out_features, x.bias, x.per_layer) for x in LLAVA_1_5_7B.projector]
    assert shapes == [(1024, 4096, True, False), (4096, 4096, True, False)]
    assert [(x.in_features, x.out_features) for x in LLAVA_ONEVISION_7B.projector] == [
        (1152, 3584),
        (3584, 3584),
    ]


@pytest.mark.parametrize(
    ("model", "per_image", "images", "text", "total"),
    [
        (LLAVA_1_5_7B, 576, 1, 64, 640),
        (LLAVA_NEXT_7B, 576, 5, 200, 3080),
        (LLAVA_NEXT_13B, 576, 5, 200, 3080),
        (LLAVA_ONEVISION_7B, 196, 32, 100, 6372),
    ],
    ids=lambda x: x.name if isinstance(x, LVLMConfig) else None,
)
def test_default_input(model: LVLMConfig, per_image: int, images: int, text: int, total: int):
    assert model.visual_tokens_per_image == per_image
    assert (model.default_images, model.default_text_tokens) == (images, text)
    assert model.default_visual_tokens == per_image * images
    # The projector runs before LLaVA-OneVision's 2 x 2 video pooling, after CLIP's class token
    # is dropped.
    assert model.projector_tokens_per_image == model.vision.patches
    assert model.projector_tokens_per_image == (729 if model is LLAVA_ONEVISION_7B else 576)
    assert model.default_tokens == total


def test_lvlm_shows_its_llm() -> None:
    for model in (LLAVA_1_5_7B, LLAVA_NEXT_13B, LLAVA_ONEVISION_7B):
        llm = model.llm
        assert model.decoder and model.layers == llm.layers
        assert (model.hidden, model.heads, model.d, model.ffn) == (
            llm.hidden,
            llm.heads,
            llm.d,
            llm.ffn,
        )
        assert model.source
    assert (LLAVA_1_5_7B.vision, LLAVA_NEXT_7B.vision) == (CLIP_VIT_L_14_336, CLIP_VIT_L_14_336)
    assert LLAVA_NEXT_7B.llm is LLAVA_1_5_7B.llm and LLAVA_ONEVISION_7B.layers == 28


def test_to_dict() -> None:
    d = LLAVA_ONEVISION_7B.to_dict()
    assert d["name"] == "llava-onevision-7b" and d["params"] == 8_030_348_832
    assert d["llm"]["params"] == HF_QWEN2_7B and d["llm"]["qkv_bias"] is True
    assert d["vision"]["tokens"] == 729 and d["vision"]["layers"] == 26
    assert d["projector"][0] == {
        "name": "proj_fc1",
        "in_features": 1152,
        "out_features": 3584,
        "bias": True,
        "per_layer": False,
    }
    assert d["default_tokens"] == 6372
    assert CLIP_VIT_L_14_336.to_dict()["params"] == HF_CLIP_VIT_L_14_336


def test_frozen() -> None:
    with pytest.raises(dataclasses.FrozenInstanceError):
        LLAVA_1_5_7B.default_images = 2  # type: ignore[misc]
    with pytest.raises(dataclasses.FrozenInstanceError):
        CLIP_VIT_L_14_336.layers = 24  # type: ignore[misc]


# ---------------------------------------------------------------------------------------------
# Validation


@pytest.mark.parametrize(
    ("changes", "message"),
    [
        ({"name": ""}, "VisionEncoder name must be a non-empty string, not ''"),
        ({"layers": 0}, "VisionEncoder layers must be a positive integer, not 0"),
        ({"hidden": 1024.0}, "VisionEncoder hidden must be a positive integer, not 1024.0"),
        ({"patch": True}, "VisionEncoder patch must be a positive integer, not True"),
        ({"layers_total": 22}, r"layers_total \(22\) must be at least layers \(23\)"),
        ({"layers_total": 0}, "VisionEncoder layers_total must be a positive integer, not 0"),
        ({"cls_token": 1}, "VisionEncoder cls_token must be a bool, not 1"),
        ({"heads": 15}, r"hidden \(1024\) must be divisible by heads \(15\)"),
        ({"image_size": 13}, r"image_size \(13\) must be at least patch \(14\)"),
        ({"source": None}, "VisionEncoder source must be a string, not None"),
    ],
)
def test_vision_encoder_validation(changes: dict[str, object], message: str) -> None:
    with pytest.raises(ValueError, match=message):
        dataclasses.replace(CLIP_VIT_L_14_336, **changes)


_BAD_PROJECTOR = (Linear("p", 1000, 4096, True, per_layer=False),)
_GAP_PROJECTOR = (
    Linear("p1", 1024, 2048, True, per_layer=False),
    Linear("p2", 4096, 4096, True, per_layer=False),
)


@pytest.mark.parametrize(
    ("changes", "message"),
    [
        ({"name": ""}, "LVLMConfig name must be a non-empty string, not ''"),
        ({"llm": "vicuna"}, "LVLMConfig llm must be a TransformerConfig, not 'vicuna'"),
        ({"llm": dataclasses.replace(VICUNA_7B, decoder=False)}, "llm must be a decoder"),
        ({"vision": None}, "LVLMConfig vision must be a VisionEncoder, not None"),
        ({"projector": ()}, "projector must be a non-empty tuple of Linear"),
        ({"projector": list(LLAVA_1_5_7B.projector)}, "projector must be a non-empty tuple"),
        ({"projector": (1,)}, "projector must be a non-empty tuple of Linear"),
        ({"projector": _BAD_PROJECTOR}, r"in_features \(1000\) must equal vision.hidden \(1024\)"),
        (
            {"projector": _GAP_PROJECTOR},
            r"projector\[1\] in_features \(4096\) must equal projector\[0\] out_features \(2048\)",
        ),
        (
            {"projector": (Linear("p", 1024, 5120, True, per_layer=False),)},
            r"projector\[0\] out_features \(5120\) must equal llm.hidden \(4096\)",
        ),
        ({"visual_tokens_per_image": 0}, "visual_tokens_per_image must be a positive integer"),
        ({"default_images": -1}, "default_images must be a positive integer, not -1"),
        ({"default_text_tokens": -1}, "default_text_tokens must be a non-negative integer"),
        ({"extra_params": -1}, "extra_params must be a non-negative integer, not -1"),
        ({"source": 3}, "LVLMConfig source must be a string, not 3"),
        (
            {"default_images": 8},
            r"default input \(8 x 576 visual \+ 64 text = 4672 tokens\) exceeds "
            r"llm.max_positions \(4096\)",
        ),
    ],
)
def test_lvlm_validation(changes: dict[str, object], message: str) -> None:
    with pytest.raises(ValueError, match=message):
        dataclasses.replace(LLAVA_1_5_7B, **changes)


def test_zero_text_tokens_is_allowed() -> None:
    assert dataclasses.replace(LLAVA_1_5_7B, default_text_tokens=0).default_tokens == 576


# ---------------------------------------------------------------------------------------------
# Registry

LVLM_NAMES = ["llava-1.5-7b", "llava-next-7b", "llava-next-13b", "llava-onevision-7b"]


def test_registry_holds_the_lvlms() -> None:
    assert model_names()[4:8] == LVLM_NAMES
    assert get_model("llava-1.5-7b") is LLAVA_1_5_7B
    for name in LVLM_NAMES:
        assert isinstance(MODELS[name], LVLMConfig) and MODELS[name].name == name


def test_unknown_model_lists_every_name() -> None:
    expected = (
        "unknown model 'llava' (choose from bert-base, bert-large, gpt2-small, gpt2-medium, "
        "llava-1.5-7b, llava-next-7b, llava-next-13b, llava-onevision-7b, resnet18, resnet20, "
        "resnet56, ofa-mbv3-w1.0, ofa-mbv3-w1.2, hrnas-supernet, sd15-unet)"
    )
    with pytest.raises(ValueError) as info:
        get_model("llava")
    assert str(info.value) == expected
