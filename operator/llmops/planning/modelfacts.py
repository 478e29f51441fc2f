"""What the planner knows of a model: its architecture's sizes from config.json and its weight bytes."""

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

DTYPE_BYTES = {"float32": 4, "float16": 2, "bfloat16": 2, "float8_e4m3fn": 1}


class ModelFactsError(ValueError):
    """A config.json llmops cannot read sizes from; the message names the missing key."""


@dataclass(frozen=True)
class ModelFacts:
    """Sizes of a decoder-only transformer, as config.json states them."""

    architecture: str
    layers: int
    hidden_size: int
    attention_heads: int
    kv_heads: int
    head_dim: int
    intermediate_size: int
    vocab_size: int
    context_length: int
    dtype: str  # the checkpoint's torch_dtype
    tied_embeddings: bool
    experts: int = 1  # routed MLP experts (Mixtral-style MoE), all resident in memory
    weight_bytes: int | None = None  # the checkpoint's files, when the listing or the index says
    commit: str | None = None

    @property
    def embedding_parameters(self) -> int:
        """Token embeddings plus the output head (kept at high precision by fp8 and int4 quantizers)."""
        return self.vocab_size * self.hidden_size * (1 if self.tied_embeddings else 2)

    @property
    def parameters(self) -> int:
        """Parameter count from the sizes: attention (q, k, v, o), a gated MLP per expert, embeddings, norms."""
        kv = self.kv_heads * self.head_dim
        attention = self.hidden_size * self.attention_heads * self.head_dim * 2 + self.hidden_size * kv * 2
        mlp = 3 * self.hidden_size * self.intermediate_size * self.experts
        router = self.hidden_size * self.experts if self.experts > 1 else 0
        norms = 2 * self.hidden_size
        return self.layers * (attention + mlp + router + norms) + self.embedding_parameters + self.hidden_size

    def kv_bytes_per_token(self, kv_dtype_bytes: int = 2) -> int:
        """K and V of every layer for one token, at the KV cache's dtype."""
        return 2 * self.layers * self.kv_heads * self.head_dim * kv_dtype_bytes


def _int(config: Mapping[str, Any], *keys: str) -> int:
    for key in keys:
        if isinstance(config.get(key), int):
            return int(config[key])
    raise ModelFactsError(f"config.json has no {' or '.join(keys)}")


def from_config(config: Mapping[str, Any], weight_bytes: int | None = None, commit: str | None = None) -> ModelFacts:
    """ModelFacts from a Hugging Face config.json (multimodal configs: their text_config)."""
    text = config.get("text_config") if isinstance(config.get("text_config"), Mapping) else config
    assert isinstance(text, Mapping)
    architectures = config.get("architectures") or [config.get("model_type", "unknown")]
    hidden = _int(text, "hidden_size", "n_embd", "d_model")
    heads = _int(text, "num_attention_heads", "n_head")
    kv_heads = int(text.get("num_key_value_heads") or heads)
    head_dim = int(text.get("head_dim") or hidden // heads)
    return ModelFacts(
        architecture=str(architectures[0]),
        layers=_int(text, "num_hidden_layers", "n_layer"),
        hidden_size=hidden,
        attention_heads=heads,
        kv_heads=kv_heads,
        head_dim=head_dim,
        intermediate_size=_int(text, "intermediate_size", "ffn_dim", "n_inner"),
        vocab_size=_int(text, "vocab_size"),
        context_length=_int(text, "max_position_embeddings", "n_positions", "max_sequence_length"),
        dtype=str(text.get("torch_dtype") or text.get("dtype") or config.get("torch_dtype") or "bfloat16"),
        tied_embeddings=bool(config.get("tie_word_embeddings", text.get("tie_word_embeddings", False))),
        experts=int(text.get("num_local_experts") or text.get("num_experts") or 1),
        weight_bytes=weight_bytes,
        commit=commit,
    )


def billions(count: int) -> str:
    """1234567890 -> '1.23 B'."""
    return f"{count / 1e9:.2f} B"
