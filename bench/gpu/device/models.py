"""Random-weight Llama checkpoints made on the device: the tiny one (the project's tokenizer) and a ~1 B one.

`python3 models.py OUT`: OUT/tiny-llama and OUT/llama-1b, each a Hugging Face checkpoint in bf16 with a chat
template, max_position_embeddings 8192 so the rendered --max-model-len (maxInputLength + maxOutputLength) fits.
"""

from __future__ import annotations

import json
import sys
import time
from pathlib import Path

import torch
from tokenizers import Tokenizer, decoders, models, pre_tokenizers, trainers  # type: ignore[import-untyped]
from transformers import GenerationConfig, LlamaConfig, LlamaForCausalLM, PreTrainedTokenizerFast

from llmops_builders.lab import tinymodel

CHAT_TEMPLATE = (
    "{% for m in messages %}<|{{ m['role'] }}|>{{ m['content'] }}\n{% endfor %}"
    "{% if add_generation_prompt %}<|assistant|>{% endif %}"
)
SHAPES = {
    # 13 M parameters: the GPU lab's tiny-llama.
    "tiny-llama": {"hidden_size": 512, "intermediate_size": 1536, "num_hidden_layers": 4,
                   "num_attention_heads": 8, "num_key_value_heads": 4},
    # TinyLlama-1.1B's shape with 16 layers: ~0.84 B parameters with a 32,000-token vocabulary.
    "llama-1b": {"hidden_size": 2048, "intermediate_size": 5632, "num_hidden_layers": 16,
                 "num_attention_heads": 32, "num_key_value_heads": 4},
}  # fmt: skip
BYTE_LEVEL_VOCAB = 32000


def byte_level_tokenizer(out: Path) -> int:
    """A byte-level BPE tokenizer trained on the lab's offline text; returns the model's vocabulary size."""
    tokenizer = Tokenizer(models.BPE())
    tokenizer.pre_tokenizer = pre_tokenizers.ByteLevel(add_prefix_space=False)
    tokenizer.decoder = decoders.ByteLevel()
    special = ["<unk>", "<s>", "</s>"]
    trainer = trainers.BpeTrainer(vocab_size=BYTE_LEVEL_VOCAB, special_tokens=special,
                                  initial_alphabet=pre_tokenizers.ByteLevel.alphabet())  # fmt: skip
    tokenizer.train_from_iterator(tinymodel.training_text().splitlines(), trainer)
    fast = PreTrainedTokenizerFast(  # type: ignore[no-untyped-call]
        tokenizer_object=tokenizer, unk_token="<unk>", bos_token="<s>", eos_token="</s>"
    )
    fast.chat_template = CHAT_TEMPLATE
    fast.save_pretrained(out)
    return BYTE_LEVEL_VOCAB


def make(name: str, out: Path) -> dict[str, object]:
    """Write one checkpoint; returns its facts."""
    started = time.monotonic()
    out.mkdir(parents=True, exist_ok=True)
    if name == "tiny-llama":
        tinymodel.make_tokenizer(out)  # the project's own tokenizer, here under the device's transformers
        vocab = tinymodel.VOCAB
    else:
        vocab = byte_level_tokenizer(out)
    config = LlamaConfig(  # type: ignore[no-untyped-call]
        vocab_size=vocab, max_position_embeddings=8192, bos_token_id=1, eos_token_id=2,
        tie_word_embeddings=False, torch_dtype="bfloat16", **SHAPES[name],
    )  # fmt: skip
    torch.manual_seed(0)
    model = LlamaForCausalLM(config).to(torch.bfloat16)  # type: ignore[no-untyped-call,arg-type]
    model.save_pretrained(out, safe_serialization=True)
    generation = GenerationConfig(bos_token_id=1, eos_token_id=2, do_sample=False)  # type: ignore[no-untyped-call]
    generation.save_pretrained(out)
    tokenizer = PreTrainedTokenizerFast.from_pretrained(out)
    return {
        "parameters": sum(p.numel() for p in model.parameters()),
        "tokenizer_vocab": len(tokenizer),
        "sample_ids": tokenizer("Return the value of the list.")["input_ids"],
        "seconds": round(time.monotonic() - started, 1),
    }


if __name__ == "__main__":
    root = Path(sys.argv[1])
    facts = {name: make(name, root / name) for name in SHAPES}
    (root / "models.json").write_text(json.dumps(facts, indent=1))
    print(json.dumps(facts))
