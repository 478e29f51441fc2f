"""Tiny models (Llama and Qwen2 architectures) with random weights and a tokenizer trained offline, in HF layout."""

from __future__ import annotations

import collections
import email
import inspect
import json
import os
import pathlib
import shutil
import socket
import subprocess
import tempfile
import textwrap
import typing
import warnings
from pathlib import Path

import sentencepiece as spm  # type: ignore[import-untyped]
import torch
from transformers import (
    AutoTokenizer,
    GenerationConfig,
    LlamaConfig,
    LlamaForCausalLM,
    LlamaTokenizerFast,
    PreTrainedModel,
    PreTrainedTokenizerBase,
    Qwen2Config,
    Qwen2ForCausalLM,
)

VOCAB = 512
BOS, EOS = 1, 2


def training_text() -> str:
    """Docstrings of the standard library: a few hundred kB of English, no download needed."""
    chunks: list[str] = []
    with warnings.catch_warnings():
        # Touching deprecated aliases such as typing.io warns; only their docstrings are wanted.
        warnings.simplefilter("ignore", DeprecationWarning)
        for module in (collections, email, json, pathlib, subprocess, textwrap, typing, os, shutil, socket):
            for _, obj in inspect.getmembers(module):
                doc = inspect.getdoc(obj)
                if doc:
                    chunks.append(doc)
    return "\n".join(chunks)


# Text the tokenizer must encode exactly as sentencepiece does: prose, punctuation, digits, and characters
# outside the vocabulary that only byte fallback covers. (Runs of spaces and newlines are left out on purpose:
# sentencepiece's own normalizer collapses them, the HF tokenizer, like llama.cpp, keeps them.)
SAMPLES = (
    "Return the number of items in a sequence, and raise an error if it is empty.",
    "Hello, world! The value 3.14 is not an integer.",
    "naïve café — ≠ π 🚀",
)


def check_tokenizer(tokenizer: PreTrainedTokenizerBase, sp_model: Path) -> None:
    """Raise RuntimeError unless TOKENIZER has the whole vocabulary and encodes SAMPLES as SP_MODEL does."""
    name = type(tokenizer).__name__
    if len(tokenizer) != VOCAB:
        raise RuntimeError(
            f"tiny tokenizer: {name} has {len(tokenizer)} tokens, expected {VOCAB}: "
            f"the conversion of {sp_model.name} by transformers failed"
        )
    if (tokenizer.bos_token_id, tokenizer.eos_token_id) != (BOS, EOS):
        raise RuntimeError(
            f"tiny tokenizer: {name} has bos/eos ids {tokenizer.bos_token_id}/{tokenizer.eos_token_id}, "
            f"expected {BOS}/{EOS}"
        )
    processor = spm.SentencePieceProcessor(model_file=str(sp_model))
    for text in SAMPLES:
        expected = [int(i) for i in processor.encode(text)]
        got = list(tokenizer(text, add_special_tokens=False).input_ids)
        if not got or got != expected:
            raise RuntimeError(f"tiny tokenizer: {name} encodes {text!r} as {got}, sentencepiece as {expected}")
        # Like llama.cpp (and sentencepiece's Llama convention): BOS first, no EOS.
        with_special = list(tokenizer(text).input_ids)
        if with_special != [BOS, *expected]:
            raise RuntimeError(
                f"tiny tokenizer: {name} encodes {text!r} with special tokens as {with_special}, "
                f"expected BOS ({BOS}) then sentencepiece's {expected}"
            )
    if not tokenizer.chat_template:
        raise RuntimeError(f"tiny tokenizer: {name} has no chat template")


def make_tokenizer(out: Path) -> None:
    """A sentencepiece BPE tokenizer (byte fallback, unk/bos/eos = 0/1/2) saved as a fast Llama tokenizer.

    The saved tokenizer is loaded back and checked against sentencepiece (check_tokenizer): a conversion that
    went wrong raises RuntimeError instead of leaving a tokenizer that encodes everything to nothing.
    """
    with tempfile.TemporaryDirectory() as tmp:
        work = Path(tmp)
        corpus = work / "corpus.txt"
        corpus.write_text(training_text(), encoding="utf-8")
        spm.SentencePieceTrainer.train(
            input=str(corpus),
            model_prefix=str(work / "sp"),
            vocab_size=VOCAB,
            model_type="bpe",
            byte_fallback=True,
            unk_id=0,
            bos_id=BOS,
            eos_id=EOS,
            pad_id=-1,
            character_coverage=1.0,
            num_threads=2,
            minloglevel=2,
        )
        # transformers 5 ignores LlamaTokenizerFast(vocab_file=...) (3 tokens, every text encodes to []);
        # from_pretrained on a folder holding only tokenizer.model converts it under 4.x and 5.x alike (under
        # 4.57 into the very tokenizer.json the constructor wrote). 5.x adds BOS only when add_bos_token is
        # passed. Without add_prefix_space the tokenizer drops the leading '▁' and disagrees with llama.cpp.
        source = work / "sentencepiece"
        source.mkdir()
        shutil.copy(work / "sp.model", source / "tokenizer.model")
        tokenizer = LlamaTokenizerFast.from_pretrained(
            source, legacy=False, add_prefix_space=True, add_bos_token=True, add_eos_token=False
        )
        # Chat-serving engines refuse /chat/completions without a template.
        tokenizer.chat_template = (
            "{% for m in messages %}<|{{ m['role'] }}|>{{ m['content'] }}\n{% endfor %}"
            "{% if add_generation_prompt %}<|assistant|>{% endif %}"
        )
        tokenizer.save_pretrained(out)
        shutil.copy(work / "sp.model", out / "tokenizer.model")
        # What every consumer reads is the saved folder: check that, not the object in memory.
        check_tokenizer(AutoTokenizer.from_pretrained(out), work / "sp.model")  # type: ignore[no-untyped-call]


# Hidden size 256 and FFN 512 keep every tensor width a multiple of 256, which K-quants need;
# head_dim 64 is what CPU serving engines accept.
_SHAPE = {
    "vocab_size": VOCAB,
    "hidden_size": 256,
    "intermediate_size": 512,
    "num_hidden_layers": 2,
    "num_attention_heads": 4,
    "num_key_value_heads": 2,
    "max_position_embeddings": 256,
    "bos_token_id": BOS,
    "eos_token_id": EOS,
    "tie_word_embeddings": False,
    "dtype": "float32",
}


def _save(out: Path, seed: int, build: typing.Callable[[], PreTrainedModel]) -> Path:
    out.mkdir(parents=True, exist_ok=True)
    make_tokenizer(out)
    torch.manual_seed(seed)
    build().save_pretrained(out, safe_serialization=True)
    generation = GenerationConfig(bos_token_id=BOS, eos_token_id=EOS, do_sample=False)  # type: ignore[no-untyped-call]
    generation.save_pretrained(out)
    return out


def make_tiny_llama(out: Path, seed: int = 0) -> Path:
    """Write a Llama-architecture model to OUT and return it."""
    return _save(out, seed, lambda: LlamaForCausalLM(LlamaConfig(**_SHAPE)))  # type: ignore[no-untyped-call]


def make_tiny_qwen2(out: Path, seed: int = 1) -> Path:
    """Write a Qwen2-architecture model (attention biases, its own GGUF architecture) to OUT and return it."""
    return _save(out, seed, lambda: Qwen2ForCausalLM(Qwen2Config(**_SHAPE)))  # type: ignore[no-untyped-call]


def main(argv: list[str] | None = None) -> int:
    """`python -m llmops_builders.lab.tinymodel [--arch llama|qwen2] OUT`: write a tiny model (the demo's hub)."""
    import argparse  # noqa: PLC0415 - only the command line needs it

    parser = argparse.ArgumentParser(prog="python -m llmops_builders.lab.tinymodel", description=__doc__)
    parser.add_argument("--arch", choices=["llama", "qwen2"], default="llama")
    parser.add_argument("out", type=Path)
    args = parser.parse_args(argv)
    (make_tiny_qwen2 if args.arch == "qwen2" else make_tiny_llama)(args.out)
    print(args.out)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
