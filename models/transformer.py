"""Transformers as layer graphs: the dimensions the analytic simulator prices.

A :class:`TransformerConfig` describes a stack of identical layers (attention then FFN), the token
embedding and, for decoders, the LM head. It answers three questions and nothing else:

* which linear layers one layer runs, with their shapes (:meth:`TransformerConfig.linears`,
  :meth:`TransformerConfig.lm_head`): the simulator multiplies them by the tokens alive;
* how many multiply-accumulates attention costs for a given number of queries and keys
  (:meth:`TransformerConfig.attention_macs`);
* how many parameters the model holds (:meth:`TransformerConfig.params`), checked to the parameter
  against the Hugging Face reference implementations.

Conventions: a MAC is one multiply and one add (a FLOP count is ``2 * MACs``); activations,
softmax, layer norms, residual adds and biases are not MACs (they are counted in parameters, not in
the compute of linears). Pruning methods decide how many tokens and heads are alive; this module
describes the dense model.
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

__all__ = [
    "BERT_BASE",
    "BERT_LARGE",
    "GPT2_MEDIUM",
    "GPT2_SMALL",
    "Linear",
    "TransformerConfig",
    "transformer",
]


@dataclass(frozen=True)
class Linear:
    """One weight matrix applied to every token: ``y = x @ W (+ b)``, ``W`` is ``in x out``.

    ``name`` says which matrix it is: ``"q"``, ``"k"``, ``"v"``, ``"o"`` (attention),
    ``"fc1"``, ``"fc2"`` (plain FFN), ``"gate"``, ``"up"``, ``"down"`` (gated FFN such as SwiGLU)
    or ``"lm_head"``. ``per_layer`` is true for matrices that every transformer layer holds its own
    copy of and runs once per token per layer; false for the LM head, which runs once per token
    after the last layer.

    Raises :class:`ValueError` for an empty name or non-positive features.
    """

    name: str
    in_features: int
    out_features: int
    bias: bool
    per_layer: bool = True

    def __post_init__(self) -> None:
        check_name("Linear", self.name)
        check_positive_int("Linear", "in_features", self.in_features)
        check_positive_int("Linear", "out_features", self.out_features)
        check_bool("Linear", "bias", self.bias)
        check_bool("Linear", "per_layer", self.per_layer)

    @property
    def macs_per_token(self) -> int:
        """MACs for one token: ``in_features * out_features`` (the bias add is not a MAC)."""
        return self.in_features * self.out_features

    @property
    def params(self) -> int:
        """Weights plus bias: ``in_features * out_features (+ out_features)``."""
        return self.in_features * self.out_features + (self.out_features if self.bias else 0)

    @property
    def weight_elements(self) -> int:
        """Elements of the weight matrix alone (what the hardware streams from DRAM)."""
        return self.in_features * self.out_features


@dataclass(frozen=True, kw_only=True)
class TransformerConfig:
    """The dimensions of a transformer, from which its linears, MACs and parameters follow.

    Fields (keyword only):

    * ``name``: the registry key, e.g. ``"gpt2-small"``.
    * ``layers``, ``hidden``, ``heads``: layer count, model width, query heads.
    * ``kv_heads``: key/value heads; ``heads`` for multi-head attention, fewer for grouped-query
      attention (GQA), 1 for multi-query attention. ``heads`` must be a multiple of it.
    * ``ffn``: FFN inner width (``intermediate_size``).
    * ``vocab``: vocabulary size (rows of the token embedding, outputs of the LM head).
    * ``decoder``: a causal LM that can generate; false for encoders such as BERT.
    * ``max_positions``: the longest sequence the model was trained for.
    * ``source``: where the dimensions come from (a config file, a paper).
    * ``head_dim``: per-head width; ``None`` means ``hidden // heads`` (see :attr:`d`).
    * ``gated_ffn``: gated FFN (SwiGLU, GeGLU): ``gate`` and ``up`` (hidden -> ffn) and ``down``
      (ffn -> hidden) instead of ``fc1`` and ``fc2``.
    * ``learned_positions``: a learned ``max_positions x hidden`` position embedding (BERT,
      GPT-2); false for rotary or no position embedding, which hold no parameters.
    * ``tied_embeddings``: the LM head shares the token embedding's weights, so they are counted
      once in :meth:`params`. Tied or not, the head's compute is the same.
    * ``bias``: every linear layer of the transformer layers has a bias (BERT, GPT-2); false for
      LLaMA-style models. The LM head never has one here.
    * ``qkv_bias``: the ``q``, ``k`` and ``v`` projections have a bias; ``None`` (the default)
      means the same as ``bias``. Qwen2 has biases on ``q``, ``k``, ``v`` only: ``bias=False,
      qkv_bias=True``.
    * ``norm_bias``: norms hold a weight and a bias (LayerNorm, ``2 * hidden``); false for
      RMSNorm (``hidden``).
    * ``final_norm``: a norm after the last layer (GPT-2's ``ln_f``, LLaMA's ``norm``).
    * ``embedding_norm``: a norm right after the embeddings (BERT's ``embeddings.LayerNorm``).
    * ``extra_params``: parameters outside this scheme, counted as is by :meth:`params`; each
      preset that uses it says what it holds (BERT: token-type embeddings and the pooler).

    Raises :class:`ValueError`, naming the field and the value, for non-positive sizes, ``heads``
    not a multiple of ``kv_heads``, or ``hidden`` not divisible by ``heads`` when ``head_dim`` is
    not given.
    """

    name: str
    layers: int
    hidden: int
    heads: int
    kv_heads: int
    ffn: int
    vocab: int
    decoder: bool
    max_positions: int
    source: str
    head_dim: int | None = None
    gated_ffn: bool = False
    learned_positions: bool = False
    tied_embeddings: bool = True
    bias: bool = True
    norm_bias: bool = True
    final_norm: bool = True
    embedding_norm: bool = False
    extra_params: int = 0
    qkv_bias: bool | None = None

    def __post_init__(self) -> None:
        owner = "TransformerConfig"
        check_name(owner, self.name)
        for field in ("layers", "hidden", "heads", "kv_heads", "ffn", "vocab", "max_positions"):
            check_positive_int(owner, field, getattr(self, field))
        if self.head_dim is not None:
            check_positive_int(owner, "head_dim", self.head_dim)
        for field in (
            "decoder",
            "gated_ffn",
            "learned_positions",
            "tied_embeddings",
            "bias",
            "norm_bias",
            "final_norm",
            "embedding_norm",
        ):
            check_bool(owner, field, getattr(self, field))
        if self.qkv_bias is not None:
            check_bool(owner, "qkv_bias", self.qkv_bias)
        check_source(owner, self.source)
        check_non_negative_int(owner, "extra_params", self.extra_params)
        if self.kv_heads > self.heads or self.heads % self.kv_heads != 0:
            raise ValueError(
                f"{owner} heads ({self.heads}) must be a multiple of kv_heads ({self.kv_heads})"
            )
        if self.head_dim is None and self.hidden % self.heads != 0:
            raise ValueError(
                f"{owner} hidden ({self.hidden}) must be divisible by heads ({self.heads}) "
                f"when head_dim is not given"
            )

    @property
    def d(self) -> int:
        """The effective per-head width: ``head_dim``, or ``hidden // heads`` when not given."""
        return self.head_dim if self.head_dim is not None else self.hidden // self.heads

    def linears(self) -> tuple[Linear, ...]:
        """The linear layers of ONE transformer layer, in execution order.

        ``q``: hidden -> heads*d; ``k``, ``v``: hidden -> kv_heads*d; ``o``: heads*d -> hidden;
        then ``fc1`` (hidden -> ffn) and ``fc2`` (ffn -> hidden), or for a gated FFN ``gate``,
        ``up`` (hidden -> ffn) and ``down`` (ffn -> hidden). All have ``per_layer=True``; ``q``,
        ``k`` and ``v`` have a bias when :attr:`qkv_bias` is set (when it is ``None``: when
        :attr:`bias` is), the others when :attr:`bias` is. Fused implementations (GPT-2's
        ``c_attn``) hold the same weights.
        """
        h, q_out, kv_out, b = self.hidden, self.heads * self.d, self.kv_heads * self.d, self.bias
        qkv_b = b if self.qkv_bias is None else self.qkv_bias
        attention = (
            Linear("q", h, q_out, qkv_b),
            Linear("k", h, kv_out, qkv_b),
            Linear("v", h, kv_out, qkv_b),
            Linear("o", q_out, h, b),
        )
        if self.gated_ffn:
            ffn = (
                Linear("gate", h, self.ffn, b),
                Linear("up", h, self.ffn, b),
                Linear("down", self.ffn, h, b),
            )
        else:
            ffn = (Linear("fc1", h, self.ffn, b), Linear("fc2", self.ffn, h, b))
        return attention + ffn

    def lm_head(self) -> Linear:
        """The LM head: hidden -> vocab, no bias, ``per_layer=False`` (runs once per token).

        When :attr:`tied_embeddings` is set its weights are the token embedding's and are counted
        once in :meth:`params`; its compute is the same either way. Encoders (BERT) have one only
        in pre-training heads, which :meth:`params` does not count either.
        """
        return Linear("lm_head", self.hidden, self.vocab, False, per_layer=False)

    def linear_macs_per_token(self) -> int:
        """MACs of the linears of ONE layer for one token (excludes attention and the LM head)."""
        return sum(linear.macs_per_token for linear in self.linears())

    def attention_macs(self, tokens_q: int, tokens_kv: int) -> int:
        """MACs of the attention core of ONE layer: ``heads * d * tokens_q * tokens_kv * 2``.

        ``tokens_q`` queries attend to ``tokens_kv`` keys in each of the ``heads`` query heads:
        ``Q.K^T`` costs ``d`` MACs per (query, key) pair and ``prob.V`` another ``d``. The full
        score matrix is counted (no causal-mask saving): a prefill of ``n`` tokens is
        ``attention_macs(n, n)``, a generation step with ``n`` cached tokens plus itself is
        ``attention_macs(1, n + 1)``. GQA shares keys and values between heads but not the
        arithmetic, so ``kv_heads`` does not enter. Projections are in :meth:`linears`.

        Raises :class:`ValueError` for negative token counts (zero is allowed: nothing alive).
        """
        check_non_negative_int("attention_macs", "tokens_q", tokens_q)
        check_non_negative_int("attention_macs", "tokens_kv", tokens_kv)
        return self.heads * self.d * tokens_q * tokens_kv * 2

    def norm_params(self) -> int:
        """Parameters of one norm: ``2 * hidden`` (LayerNorm) or ``hidden`` (RMSNorm)."""
        return self.hidden * (2 if self.norm_bias else 1)

    def layer_params(self) -> int:
        """Parameters of ONE transformer layer: its linears (weights and biases) and two norms."""
        return sum(linear.params for linear in self.linears()) + 2 * self.norm_params()

    def params(self) -> int:
        """Total parameter count.

        ``vocab * hidden`` token embedding, ``max_positions * hidden`` position embedding when
        learned, ``layers`` times :meth:`layer_params`, the final and embedding norms where they
        exist, the LM head only when not tied, and :attr:`extra_params`. Matches
        ``sum(p.numel() for p in model.parameters())`` of the Hugging Face base models
        (``GPT2Model``, ``BertModel``) for the presets.
        """
        total = self.vocab * self.hidden
        if self.learned_positions:
            total += self.max_positions * self.hidden
        total += self.layers * self.layer_params()
        total += (int(self.final_norm) + int(self.embedding_norm)) * self.norm_params()
        if not self.tied_embeddings:
            total += self.lm_head().params
        return total + self.extra_params

    def to_dict(self) -> dict[str, Any]:
        """The fields as a plain dict (for reports and JSON), plus the derived ``d`` and params."""
        return {**asdict(self), "d": self.d, "params": self.params()}


def transformer(
    name: str,
    layers: int,
    hidden: int,
    heads: int,
    ffn: int,
    vocab: int,
    kv_heads: int | None = None,
    *,
    head_dim: int | None = None,
    gated_ffn: bool = False,
    decoder: bool = True,
    max_positions: int = 2048,
    learned_positions: bool = False,
    tied_embeddings: bool = True,
    bias: bool = True,
    norm_bias: bool = True,
    final_norm: bool = True,
    embedding_norm: bool = False,
    extra_params: int = 0,
    qkv_bias: bool | None = None,
    source: str = "custom",
) -> TransformerConfig:
    """A generic transformer: layers, hidden, heads, KV heads, FFN, vocab and the rest by keyword.

    ``kv_heads=None`` means multi-head attention (``kv_heads = heads``). The defaults describe a
    decoder with GPT-style LayerNorms and biases, no learned positions and tied embeddings; pass
    keywords to describe anything else. Validation is :class:`TransformerConfig`'s.
    """
    return TransformerConfig(
        name=name,
        layers=layers,
        hidden=hidden,
        heads=heads,
        kv_heads=heads if kv_heads is None else kv_heads,
        ffn=ffn,
        vocab=vocab,
        head_dim=head_dim,
        gated_ffn=gated_ffn,
        decoder=decoder,
        max_positions=max_positions,
        learned_positions=learned_positions,
        tied_embeddings=tied_embeddings,
        bias=bias,
        norm_bias=norm_bias,
        final_norm=final_norm,
        embedding_norm=embedding_norm,
        extra_params=extra_params,
        qkv_bias=qkv_bias,
        source=source,
    )


def _bert(
    name: str, layers: int, hidden: int, heads: int, ffn: int, source: str
) -> TransformerConfig:
    # HF BertModel = embeddings (word, position, token type, LayerNorm), post-LN layers, pooler.
    # extra_params: token-type embeddings (type_vocab_size 2 x hidden) and the pooler
    # (dense hidden x hidden + bias), which run once per sequence, not per token per layer.
    token_type = 2 * hidden
    pooler = hidden * hidden + hidden
    return transformer(
        name,
        layers,
        hidden,
        heads,
        ffn,
        vocab=30522,
        decoder=False,
        max_positions=512,
        learned_positions=True,
        final_norm=False,
        embedding_norm=True,
        extra_params=token_type + pooler,
        source=source,
    )


def _gpt2(name: str, layers: int, hidden: int, heads: int, source: str) -> TransformerConfig:
    # HF GPT2Model = wte, wpe, pre-LN layers (fused c_attn = q, k, v), ln_f; lm_head tied to wte.
    return transformer(
        name,
        layers,
        hidden,
        heads,
        ffn=4 * hidden,
        vocab=50257,
        decoder=True,
        max_positions=1024,
        learned_positions=True,
        final_norm=True,
        source=source,
    )


#: BERT-base (uncased): 109,482,240 parameters (HF ``BertModel``).
BERT_BASE = _bert(
    "bert-base",
    12,
    768,
    12,
    3072,
    "HF google-bert/bert-base-uncased config.json; Devlin et al., BERT, arXiv 1810.04805",
)
#: BERT-large (uncased): 335,141,888 parameters (HF ``BertModel``).
BERT_LARGE = _bert(
    "bert-large",
    24,
    1024,
    16,
    4096,
    "HF google-bert/bert-large-uncased config.json; Devlin et al., BERT, arXiv 1810.04805",
)
#: GPT-2 small: 124,439,808 parameters (HF ``GPT2Model``, head tied).
GPT2_SMALL = _gpt2(
    "gpt2-small",
    12,
    768,
    12,
    "HF openai-community/gpt2 config.json; Radford et al., Language Models are Unsupervised "
    "Multitask Learners, 2019",
)
#: GPT-2 medium: 354,823,168 parameters (HF ``GPT2Model``, head tied; the paper's "345M").
GPT2_MEDIUM = _gpt2(
    "gpt2-medium",
    24,
    1024,
    16,
    "HF openai-community/gpt2-medium config.json; Radford et al., Language Models are "
    "Unsupervised Multitask Learners, 2019",
)
