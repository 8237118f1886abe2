"""The model zoo: parameter counts to the parameter, layer shapes, MACs, validation, registry."""

from __future__ import annotations

import dataclasses

import pytest

from prunesim import models
from prunesim.models import Linear, TransformerConfig, get_model, model_names, transformer
from prunesim.models.transformer import BERT_BASE, GPT2_SMALL

# sum(p.numel() for p in model.parameters()) of the Hugging Face base models: GPT2Model (wte,
# wpe, layers, ln_f; lm_head tied) and BertModel (embeddings incl. token types and LayerNorm,
# layers, pooler).
HF_PARAMS = {
    "gpt2-small": 124_439_808,
    "gpt2-medium": 354_823_168,
    "bert-base": 109_482_240,
    "bert-large": 335_141_888,
}


@pytest.mark.parametrize("name", sorted(HF_PARAMS))
def test_params_match_hugging_face(name: str) -> None:
    assert get_model(name).params() == HF_PARAMS[name]


def _naive_gpt2_params(layers: int, hidden: int) -> int:
    """GPT2Model's tensors one by one, written out independently of the config's scheme."""
    vocab, positions, ffn = 50257, 1024, 4 * hidden
    per_layer = (
        2 * hidden  # ln_1
        + (hidden * 3 * hidden + 3 * hidden)  # attn.c_attn (q, k, v fused)
        + (hidden * hidden + hidden)  # attn.c_proj
        + 2 * hidden  # ln_2
        + (hidden * ffn + ffn)  # mlp.c_fc
        + (ffn * hidden + hidden)  # mlp.c_proj
    )
    return vocab * hidden + positions * hidden + layers * per_layer + 2 * hidden


def _naive_bert_params(layers: int, hidden: int, ffn: int) -> int:
    """BertModel's tensors one by one."""
    embeddings = 30522 * hidden + 512 * hidden + 2 * hidden + 2 * hidden
    per_layer = (
        3 * (hidden * hidden + hidden)  # query, key, value
        + (hidden * hidden + hidden)  # attention.output.dense
        + 2 * hidden  # attention.output.LayerNorm
        + (hidden * ffn + ffn)  # intermediate.dense
        + (ffn * hidden + hidden)  # output.dense
        + 2 * hidden  # output.LayerNorm
    )
    pooler = hidden * hidden + hidden
    return embeddings + layers * per_layer + pooler


def test_published_counts_follow_from_the_architecture() -> None:
    assert _naive_gpt2_params(12, 768) == HF_PARAMS["gpt2-small"]
    assert _naive_gpt2_params(24, 1024) == HF_PARAMS["gpt2-medium"]
    assert _naive_bert_params(12, 768, 3072) == HF_PARAMS["bert-base"]
    assert _naive_bert_params(24, 1024, 4096) == HF_PARAMS["bert-large"]


def test_preset_dimensions() -> None:
    bert_base, bert_large = get_model("bert-base"), get_model("bert-large")
    gpt2_small, gpt2_medium = get_model("gpt2-small"), get_model("gpt2-medium")
    for m in (bert_base, bert_large):
        assert not m.decoder and m.max_positions == 512 and m.learned_positions
    for m in (gpt2_small, gpt2_medium):
        assert m.decoder and m.max_positions == 1024 and m.vocab == 50257
        assert m.ffn == 4 * m.hidden and m.tied_embeddings
    assert (bert_base.layers, bert_base.hidden, bert_base.heads, bert_base.ffn) == (
        12,
        768,
        12,
        3072,
    )
    assert (bert_large.layers, bert_large.hidden, bert_large.heads, bert_large.ffn) == (
        24,
        1024,
        16,
        4096,
    )
    assert (gpt2_small.layers, gpt2_small.hidden, gpt2_small.heads) == (12, 768, 12)
    assert (gpt2_medium.layers, gpt2_medium.hidden, gpt2_medium.heads) == (24, 1024, 16)
    for name in ("bert-base", "bert-large", "gpt2-small", "gpt2-medium"):
        m = get_model(name)
        assert m.d == 64 and m.kv_heads == m.heads and m.source


def test_linears_of_gpt2_small() -> None:
    shapes = [(x.name, x.in_features, x.out_features) for x in GPT2_SMALL.linears()]
    assert shapes == [
        ("q", 768, 768),
        ("k", 768, 768),
        ("v", 768, 768),
        ("o", 768, 768),
        ("fc1", 768, 3072),
        ("fc2", 3072, 768),
    ]
    assert all(x.bias and x.per_layer for x in GPT2_SMALL.linears())
    head = GPT2_SMALL.lm_head()
    assert head == Linear("lm_head", 768, 50257, bias=False, per_layer=False)


def test_linear_macs_per_token_is_12_h_squared() -> None:
    # Per layer 4 h^2 (attention projections) + 8 h^2 (FFN 4x); biases are not MACs.
    assert GPT2_SMALL.linear_macs_per_token() == 12 * 768**2 == 7_077_888
    assert sum(x.macs_per_token for x in GPT2_SMALL.linears()) == 7_077_888
    # MACs per token ~ non-embedding parameters: weights are used once per token each.
    non_embedding = GPT2_SMALL.layers * GPT2_SMALL.layer_params()
    macs = GPT2_SMALL.layers * GPT2_SMALL.linear_macs_per_token()
    assert 0.99 < macs / non_embedding <= 1.0
    assert GPT2_SMALL.lm_head().macs_per_token == 768 * 50257


def test_gqa_gated_linears() -> None:
    # Qwen2-7B's attention and FFN (LLaVA-OneVision's LLM): 28 heads, 4 KV heads, d = 128.
    qwen = transformer(
        "qwen2-7b-like", 28, 3584, 28, 18944, 152064, kv_heads=4, gated_ffn=True, bias=False
    )
    assert qwen.d == 128
    shapes = {x.name: (x.in_features, x.out_features) for x in qwen.linears()}
    assert shapes == {
        "q": (3584, 3584),
        "k": (3584, 512),
        "v": (3584, 512),
        "o": (3584, 3584),
        "gate": (3584, 18944),
        "up": (3584, 18944),
        "down": (18944, 3584),
    }
    assert [x.name for x in qwen.linears()] == ["q", "k", "v", "o", "gate", "up", "down"]


def test_explicit_head_dim() -> None:
    m = transformer("wide-heads", 2, 2048, 8, 8192, 1000, kv_heads=1, head_dim=256)
    assert m.d == 256
    q, k, _, o = m.linears()[:4]
    assert (q.out_features, k.out_features, o.in_features) == (2048, 256, 2048)
    m = transformer("odd", 2, 100, 3, 400, 1000, head_dim=40)  # hidden not divisible by heads
    assert m.linears()[0].out_features == 120 and m.linears()[3].in_features == 120


def test_params_of_a_llama_style_model() -> None:
    # LLaMA-2-7B / Vicuna-7B: no biases, RMSNorm, rotary positions, untied head: 6,738,415,616.
    llama = transformer(
        "llama-2-7b-like",
        32,
        4096,
        32,
        11008,
        32000,
        gated_ffn=True,
        bias=False,
        norm_bias=False,
        tied_embeddings=False,
    )
    assert llama.params() == 6_738_415_616


def test_attention_macs() -> None:
    assert GPT2_SMALL.attention_macs(1, 1) == 12 * 64 * 2
    assert GPT2_SMALL.attention_macs(128, 128) == 12 * 64 * 128 * 128 * 2
    assert BERT_BASE.attention_macs(0, 512) == 0
    gqa = transformer("gqa", 1, 512, 8, 1024, 100, kv_heads=2)
    mha = transformer("mha", 1, 512, 8, 1024, 100)
    assert gqa.attention_macs(7, 9) == mha.attention_macs(7, 9)
    with pytest.raises(ValueError, match="tokens_q must be a non-negative integer, not -1"):
        GPT2_SMALL.attention_macs(-1, 4)


def test_tied_head_counted_once() -> None:
    untied = dataclasses.replace(GPT2_SMALL, tied_embeddings=False)
    assert untied.params() - GPT2_SMALL.params() == 768 * 50257
    assert untied.lm_head() == GPT2_SMALL.lm_head()


@pytest.mark.parametrize(
    ("changes", "message"),
    [
        ({"layers": 0}, "layers must be a positive integer, not 0"),
        ({"hidden": -768}, "hidden must be a positive integer, not -768"),
        ({"heads": 12.0}, "heads must be a positive integer, not 12.0"),
        ({"ffn": True}, "ffn must be a positive integer, not True"),
        ({"vocab": 0}, "vocab must be a positive integer, not 0"),
        ({"max_positions": None}, "max_positions must be a positive integer, not None"),
        ({"head_dim": 0}, "head_dim must be a positive integer, not 0"),
        ({"kv_heads": 5}, r"heads \(12\) must be a multiple of kv_heads \(5\)"),
        ({"kv_heads": 24}, r"heads \(12\) must be a multiple of kv_heads \(24\)"),
        ({"heads": 10}, r"hidden \(768\) must be divisible by heads \(10\)"),
        ({"name": ""}, "name must be a non-empty string, not ''"),
        ({"decoder": 1}, "decoder must be a bool, not 1"),
        ({"extra_params": -1}, "extra_params must be a non-negative integer, not -1"),
    ],
)
def test_config_validation(changes: dict[str, object], message: str) -> None:
    if "heads" in changes:
        changes = {"kv_heads": changes["heads"], **changes}
    with pytest.raises(ValueError, match=message):
        dataclasses.replace(GPT2_SMALL, **changes)


def test_head_dim_lifts_divisibility() -> None:
    m = dataclasses.replace(GPT2_SMALL, heads=10, kv_heads=10, head_dim=64)
    assert m.d == 64


def test_linear_validation_and_counts() -> None:
    lin = Linear("fc1", 768, 3072, bias=True)
    assert lin.per_layer and lin.macs_per_token == 768 * 3072
    assert lin.params == 768 * 3072 + 3072 and lin.weight_elements == 768 * 3072
    with pytest.raises(ValueError, match="Linear in_features must be a positive integer, not 0"):
        Linear("q", 0, 4, bias=False)
    with pytest.raises(ValueError, match="Linear name must be a non-empty string"):
        Linear("", 4, 4, bias=False)


def test_configs_are_frozen() -> None:
    with pytest.raises(dataclasses.FrozenInstanceError):
        GPT2_SMALL.layers = 1  # type: ignore[misc]


def test_registry() -> None:
    assert model_names()[:4] == ["bert-base", "bert-large", "gpt2-small", "gpt2-medium"]
    assert list(models.MODELS) == model_names()
    assert all(models.MODELS[n].name == n for n in model_names())
    assert get_model("bert-base") is BERT_BASE
    assert isinstance(get_model("gpt2-medium"), TransformerConfig)


def test_unknown_model_lists_the_names() -> None:
    expected = (
        "unknown model 'gpt3' (choose from bert-base, bert-large, gpt2-small, gpt2-medium, "
        "llava-1.5-7b, llava-next-7b, llava-next-13b, llava-onevision-7b, resnet18, resnet20, "
        "resnet56, ofa-mbv3-w1.0, ofa-mbv3-w1.2, hrnas-supernet, sd15-unet)"
    )
    with pytest.raises(ValueError) as info:
        get_model("gpt3")
    assert str(info.value) == expected


def test_to_dict() -> None:
    d = GPT2_SMALL.to_dict()
    assert d["name"] == "gpt2-small" and d["d"] == 64 and d["params"] == 124_439_808
