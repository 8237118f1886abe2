"""SD 1.5 UNet op list: the published parameter total, hand-derived per-layer figures, attention
sizes per resolution, skip-connection channels, validation and latent scaling."""

from __future__ import annotations

import json

import pytest

from prunesim.models.cnn import Conv2d
from prunesim.models.unet import (
    SD15_UNET,
    UNetAttention,
    UNetConfig,
    UNetLinear,
)


def _by_name(config: UNetConfig = SD15_UNET) -> dict[str, Conv2d | UNetLinear | UNetAttention]:
    return {op.name: op for op in config.layers()}


def _attentions(config: UNetConfig = SD15_UNET) -> list[UNetAttention]:
    return [op for op in config.layers() if isinstance(op, UNetAttention)]


# --- parameters ---------------------------------------------------------------------------------


def test_total_params_is_the_published_figure() -> None:
    # Rombach et al.'s "860M"; sum(p.numel() for p in unet.parameters()) of diffusers' model.
    assert SD15_UNET.params() == 859_520_964
    assert sum(SD15_UNET.trainable_params_by_layer().values()) == SD15_UNET.params()


def test_names_are_unique_and_cover_weights_and_norms() -> None:
    names = [op.name for op in SD15_UNET.layers()] + [n.name for n in SD15_UNET.norms()]
    assert len(names) == len(set(names))
    by_layer = SD15_UNET.trainable_params_by_layer()
    # every conv, linear and norm, no attention core: 98 + 184 + 109 modules hold parameters
    assert len(by_layer) == 98 + 184 + 109
    assert not any(isinstance(_by_name().get(name), UNetAttention) for name in by_layer)


@pytest.mark.parametrize(
    ("name", "params"),
    [
        ("conv_in", 4 * 320 * 9 + 320),  # 11,840
        ("time_embedding.linear_1", 320 * 1280 + 1280),
        ("time_embedding.linear_2", 1280 * 1280 + 1280),
        ("down_blocks.0.resnets.0.conv1", 320 * 320 * 9 + 320),
        ("down_blocks.0.resnets.0.time_emb_proj", 1280 * 320 + 320),
        ("down_blocks.0.resnets.0.norm1", 2 * 320),
        ("down_blocks.1.resnets.0.conv_shortcut", 320 * 640 + 640),
        ("down_blocks.0.attentions.0.proj_in", 320 * 320 + 320),
        ("down_blocks.0.attentions.0.transformer_blocks.0.norm1", 2 * 320),
        ("down_blocks.0.attentions.0.transformer_blocks.0.attn1.to_q", 320 * 320),
        ("down_blocks.0.attentions.0.transformer_blocks.0.attn1.to_out.0", 320 * 320 + 320),
        ("down_blocks.0.attentions.0.transformer_blocks.0.attn2.to_k", 768 * 320),
        ("down_blocks.0.attentions.0.transformer_blocks.0.ff.net.0.proj", 320 * 2560 + 2560),
        ("down_blocks.0.attentions.0.transformer_blocks.0.ff.net.2", 1280 * 320 + 320),
        ("down_blocks.2.downsamplers.0.conv", 1280 * 1280 * 9 + 1280),
        ("mid_block.attentions.0.transformer_blocks.0.attn2.to_v", 768 * 1280),
        ("up_blocks.0.resnets.0.conv1", 2560 * 1280 * 9 + 1280),
        ("up_blocks.0.resnets.0.conv_shortcut", 2560 * 1280 + 1280),
        ("up_blocks.3.resnets.0.conv1", 960 * 320 * 9 + 320),
        ("conv_norm_out", 2 * 320),
        ("conv_out", 320 * 4 * 9 + 4),
    ],
)
def test_layer_params_by_hand(name: str, params: int) -> None:
    assert SD15_UNET.trainable_params_by_layer()[name] == params


def test_block_params_by_hand() -> None:
    by_layer = SD15_UNET.trainable_params_by_layer()

    def block(prefix: str) -> int:
        return sum(v for k, v in by_layer.items() if k.startswith(prefix + "."))

    # norm1, conv1, time_emb_proj, norm2, conv2
    resnet = 640 + (320 * 320 * 9 + 320) + (1280 * 320 + 320) + 640 + (320 * 320 * 9 + 320)
    assert block("down_blocks.0.resnets.0") == resnet == 2_255_040
    proj = 320 * 320 + 320
    attn1 = 3 * 320 * 320 + proj
    attn2 = 320 * 320 + 2 * 768 * 320 + proj
    ff = (320 * 2560 + 2560) + (1280 * 320 + 320)
    transformer = 640 + proj + 3 * 640 + attn1 + attn2 + ff + proj
    assert block("down_blocks.0.attentions.0") == transformer == 2_546_240


# --- ops and MACs -------------------------------------------------------------------------------


def test_op_counts() -> None:
    ops = SD15_UNET.layers()
    assert len([op for op in ops if isinstance(op, Conv2d)]) == 98
    assert len([op for op in ops if isinstance(op, UNetLinear)]) == 184
    # 16 transformer blocks (down 6, mid 1, up 9), each a self- and a cross-attention
    assert len(_attentions()) == 16 * 2


def test_convs_have_bias_and_no_batch_norm() -> None:
    convs = [op for op in SD15_UNET.layers() if isinstance(op, Conv2d)]
    assert all(c.bias and not c.bn and c.input_from is None for c in convs)


@pytest.mark.parametrize(
    ("name", "macs"),
    [
        ("conv_in", 64 * 64 * 320 * 4 * 9),
        ("down_blocks.0.resnets.0.conv1", 64 * 64 * 320 * 320 * 9),
        # stride 2: 64 -> 32
        ("down_blocks.0.downsamplers.0.conv", 32 * 32 * 320 * 320 * 9),
        ("down_blocks.1.resnets.0.conv_shortcut", 32 * 32 * 640 * 320),
        # after the nearest 2x upsample: 32 -> 64
        ("up_blocks.2.upsamplers.0.conv", 64 * 64 * 640 * 640 * 9),
        ("up_blocks.0.resnets.0.time_emb_proj", 1280 * 1280),
        ("down_blocks.0.attentions.0.transformer_blocks.0.attn1.to_q", 4096 * 320 * 320),
        ("down_blocks.0.attentions.0.transformer_blocks.0.attn2.to_k", 77 * 768 * 320),
        ("down_blocks.0.attentions.0.transformer_blocks.0.ff.net.0.proj", 4096 * 320 * 2560),
        ("down_blocks.0.attentions.0.transformer_blocks.0.attn1", 8 * 4096 * 4096 * 40 * 2),
        ("down_blocks.0.attentions.0.transformer_blocks.0.attn2", 8 * 4096 * 77 * 40 * 2),
        ("mid_block.attentions.0.transformer_blocks.0.attn1", 8 * 64 * 64 * 160 * 2),
        ("conv_out", 64 * 64 * 4 * 320 * 9),
    ],
)
def test_layer_macs_by_hand(name: str, macs: int) -> None:
    assert _by_name()[name].macs == macs


def test_macs_is_the_sum_of_layer_macs() -> None:
    total = sum(op.macs for op in SD15_UNET.layers())
    assert SD15_UNET.macs() == total == sum(SD15_UNET.macs_by_kind().values())
    # Pinned: every conv and linear shape was checked against diffusers with forward hooks.
    assert total == 401_636_720_640
    assert SD15_UNET.macs_by_kind() == {
        "conv": 221_973_053_440,
        "linear": 116_637_532_160,
        "attention": 63_026_135_040,
    }


def test_execution_order() -> None:
    names = [op.name for op in SD15_UNET.layers()]
    assert names[:4] == [
        "time_embedding.linear_1",
        "time_embedding.linear_2",
        "conv_in",
        "down_blocks.0.resnets.0.conv1",
    ]
    assert names[-1] == "conv_out"
    for attention in _attentions():
        i = names.index(attention.name)
        suffixes = [names[j][len(attention.name) :] for j in range(i - 3, i + 2)]
        assert suffixes == [".to_q", ".to_k", ".to_v", "", ".to_out.0"]
    blocks = [n.split(".")[0] + "." + n.split(".")[1] for n in names if "_blocks." in n]
    order = list(dict.fromkeys(b for b in blocks if b.startswith(("down", "up"))))
    assert order == [f"down_blocks.{i}" for i in range(4)] + [f"up_blocks.{i}" for i in range(4)]
    assert names.index("mid_block.resnets.0.conv1") > names.index("down_blocks.3.resnets.1.conv2")
    assert names.index("mid_block.resnets.1.conv2") < names.index("up_blocks.0.resnets.0.conv1")


# --- attention sizes and skip connections -------------------------------------------------------

_SIDE = {
    "down_blocks.0": 64,
    "down_blocks.1": 32,
    "down_blocks.2": 16,
    "mid_block": 8,
    "up_blocks.1": 16,
    "up_blocks.2": 32,
    "up_blocks.3": 64,
}
_CHANNELS = {
    "down_blocks.0": 320,
    "down_blocks.1": 640,
    "down_blocks.2": 1280,
    "mid_block": 1280,
    "up_blocks.1": 1280,
    "up_blocks.2": 640,
    "up_blocks.3": 320,
}


def test_attention_sizes_per_resolution() -> None:
    seen: dict[str, int] = {}
    for attention in _attentions():
        block = attention.name.split(".attentions.")[0]
        tokens = _SIDE[block] ** 2
        seen[block] = seen.get(block, 0) + 1
        assert attention.queries == tokens
        assert attention.heads == 8
        assert attention.head_dim == _CHANNELS[block] // 8
        if attention.name.endswith(".attn1"):
            assert attention.keys == tokens  # 4096, 1024, 256, 64
        else:
            assert attention.name.endswith(".attn2")
            assert attention.keys == 77
    # two transformers per cross-attention down block, three per up block, one in the middle
    assert seen == {b: 2 * n for b, n in zip(_SIDE, (2, 2, 2, 1, 3, 3, 3), strict=True)}
    assert {a.queries for a in _attentions() if a.name.endswith("attn1")} == {4096, 1024, 256, 64}


def test_up_resnets_read_concatenated_skips() -> None:
    ops = _by_name()
    inputs = {
        f"up_blocks.{b}.resnets.{r}": ops[f"up_blocks.{b}.resnets.{r}.conv1"].in_channels
        for b in range(4)
        for r in range(3)
    }
    assert list(inputs.values()) == [
        *(2560, 2560, 2560),  # 1280 + skips of down_blocks.3 (x2) and down_blocks.2's downsampler
        *(2560, 2560, 1920),  # 1280 + 1280, 1280, then down_blocks.1's downsampler (640)
        *(1920, 1280, 960),  # 1280 + 640, 640 + 640, 640 + down_blocks.0's downsampler (320)
        *(960, 640, 640),  # 640 + 320, 320 + 320, 320 + conv_in (320)
    ]
    # every up resnet changes channels, so each has a 1x1 shortcut
    assert all(f"{name}.conv_shortcut" in ops for name in inputs)
    assert "down_blocks.0.resnets.0.conv_shortcut" not in ops


# --- configuration ------------------------------------------------------------------------------


def test_latent_32_halves_spatial_sizes() -> None:
    small = UNetConfig(latent=32)
    big_ops, small_ops = SD15_UNET.layers(), small.layers()
    assert [op.name for op in big_ops] == [op.name for op in small_ops]
    for big, little in zip(big_ops, small_ops, strict=True):
        if isinstance(big, Conv2d):
            assert (little.in_height, little.in_width) == (big.in_height // 2, big.in_width // 2)
            assert little.out_height == big.out_height // 2
        elif isinstance(big, UNetAttention):
            assert little.queries == big.queries // 4
            assert little.keys == (77 if big.keys == 77 else big.keys // 4)
        elif big.tokens not in (1, 77):
            assert little.tokens == big.tokens // 4
        else:
            assert little.tokens == big.tokens
    assert small.params() == SD15_UNET.params()
    assert {a.queries for a in _attentions(small) if a.name.endswith("attn1")} == {
        1024,
        256,
        64,
        16,
    }


def test_linear_projection_same_params_and_macs() -> None:
    linear = UNetConfig(use_linear_projection=True)
    assert isinstance(_by_name(linear)["mid_block.attentions.0.proj_in"], UNetLinear)
    assert isinstance(_by_name()["mid_block.attentions.0.proj_in"], Conv2d)
    assert linear.params() == SD15_UNET.params()
    assert linear.macs() == SD15_UNET.macs()


@pytest.mark.parametrize(
    ("kwargs", "field"),
    [
        ({"latent": 0}, "latent"),
        ({"latent": 60}, "latent"),
        ({"latent": True}, "latent"),
        ({"heads": 7}, "heads"),
        ({"norm_num_groups": 0}, "norm_num_groups"),
        ({"text_tokens": -1}, "text_tokens"),
        ({"block_out_channels": ()}, "block_out_channels"),
        ({"block_out_channels": (320, 650, 1280, 1280)}, "block_out_channels"),
        ({"down_block_types": ("DownBlock2D",) * 3}, "down_block_types"),
        ({"up_block_types": ("UpBlock2D", "Bogus", "UpBlock2D", "UpBlock2D")}, "up_block_types"),
        ({"use_linear_projection": 1}, "use_linear_projection"),
        ({"name": ""}, "name"),
    ],
)
def test_bad_config_raises_one_line_naming_the_field(kwargs: dict, field: str) -> None:
    with pytest.raises(ValueError) as info:
        UNetConfig(**kwargs)
    message = str(info.value)
    assert "\n" not in message
    assert field in message
    if field not in ("block_out_channels", "down_block_types", "up_block_types", "name"):
        assert repr(next(iter(kwargs.values()))) in message


def test_op_validation() -> None:
    with pytest.raises(ValueError, match="tokens must be a positive integer, not 0"):
        UNetLinear("x", 0, 4, 4, True)
    with pytest.raises(ValueError, match="bias must be a bool"):
        UNetLinear("x", 1, 4, 4, 1)
    with pytest.raises(ValueError, match="head_dim must be a positive integer"):
        UNetAttention("x", 4, 4, 2, 0)
    linear = UNetLinear("x", 3, 4, 5, True)
    assert (linear.params, linear.macs) == (4 * 5 + 5, 3 * 4 * 5)
    attention = UNetAttention("a", 6, 7, 2, 3)
    assert attention.macs == 2 * 6 * 7 * 3 * 2
    assert (attention.params, attention.score_elements) == (0, 2 * 6 * 7)


def test_to_dict_is_json_and_consistent() -> None:
    d = json.loads(json.dumps(SD15_UNET.to_dict()))
    assert d["params"] == 859_520_964
    assert d["macs"] == SD15_UNET.macs()
    assert d["block_out_channels"] == [320, 640, 1280, 1280]
    assert d["time_embed_dim"] == 1280
    assert len(d["layers"]) == len(SD15_UNET.layers())
    assert (
        sum(e["params"] for e in d["layers"]) + sum(n["params"] for n in d["norms"]) == d["params"]
    )
    first_conv = next(e for e in d["layers"] if e["type"] == "conv")
    assert first_conv["name"] == "conv_in" and first_conv["out_height"] == 64
