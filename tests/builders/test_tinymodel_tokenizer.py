"""The tiny model's tokenizer: the whole sentencepiece vocabulary, sentencepiece's ids, BOS, the chat template.

transformers 5 turned `LlamaTokenizerFast(vocab_file=...)` into a 3-token tokenizer that encodes every text to
[] without a word of warning; every assertion here fails on such a tokenizer, and make_tokenizer refuses to
write one (check_tokenizer).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
import sentencepiece as spm  # type: ignore[import-untyped]
from tokenizers import Tokenizer  # type: ignore[import-untyped]
from tokenizers.models import BPE  # type: ignore[import-untyped]
from transformers import AutoTokenizer, PreTrainedTokenizerFast

from llmops_builders.lab import tinymodel

# Not tinymodel.SAMPLES: the test must not only check the text the implementation checks itself.
TEXTS = (
    "Return the number of items in a sequence, and raise an error if it is empty.",
    "Serve the model behind an OpenAI-compatible API.",
    "x",
    "Über 9000 naïve cafés — ∑ ≠ 🚀",  # mostly byte fallback
)


@pytest.fixture(scope="module")
def out(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("tiny-tokenizer")
    tinymodel.make_tokenizer(path)
    return path


@pytest.fixture(scope="module")
def tokenizer(out: Path) -> Any:
    """The tokenizer as every consumer loads it: AutoTokenizer on the saved folder."""
    return AutoTokenizer.from_pretrained(out)  # type: ignore[no-untyped-call]


@pytest.fixture(scope="module")
def processor(out: Path) -> Any:
    return spm.SentencePieceProcessor(model_file=str(out / "tokenizer.model"))


def test_the_whole_vocabulary_survives(tokenizer: Any, processor: Any) -> None:
    assert processor.get_piece_size() == tinymodel.VOCAB == 512
    assert len(tokenizer) == 512
    vocab = tokenizer.get_vocab()
    assert len(vocab) == 512
    assert all(vocab[processor.id_to_piece(i)] == i for i in range(512))
    assert (tokenizer.unk_token_id, tokenizer.bos_token_id, tokenizer.eos_token_id) == (0, 1, 2)


@pytest.mark.parametrize("text", TEXTS)
def test_ids_are_sentencepiece_ids(tokenizer: Any, processor: Any, text: str) -> None:
    expected = processor.encode(text)
    ids = tokenizer(text, add_special_tokens=False).input_ids
    assert ids, f"{text!r} encoded to nothing"
    assert ids == expected
    # BOS first and no EOS, as llama.cpp encodes a prompt with this model's GGUF.
    assert tokenizer(text).input_ids == [1, *expected]
    assert tokenizer.decode(ids) == processor.decode(expected) == text


def test_chat_template_after_reload(out: Path, tokenizer: Any) -> None:
    assert tokenizer.chat_template
    messages = [{"role": "system", "content": "Be brief."}, {"role": "user", "content": "Hi"}]
    prompt = tokenizer.apply_chat_template(messages, tokenize=False, add_generation_prompt=True)
    assert prompt == "<|system|>Be brief.\n<|user|>Hi\n<|assistant|>"
    assert (out / "tokenizer.json").is_file()
    assert (out / "tokenizer.model").is_file()


def test_a_broken_tokenizer_is_refused(out: Path) -> None:
    """What transformers 5 made of the constructor: the special tokens only."""
    broken = PreTrainedTokenizerFast(  # type: ignore[no-untyped-call]
        tokenizer_object=Tokenizer(BPE(vocab={"<unk>": 0, "<s>": 1, "</s>": 2}, merges=[])),
        unk_token="<unk>",
        bos_token="<s>",
        eos_token="</s>",
    )
    assert len(broken) == 3
    with pytest.raises(RuntimeError, match="has 3 tokens, expected 512"):
        tinymodel.check_tokenizer(broken, out / "tokenizer.model")


def test_a_tokenizer_without_bos_is_refused(out: Path) -> None:
    tokenizer = AutoTokenizer.from_pretrained(out)  # type: ignore[no-untyped-call]
    tokenizer.add_bos_token = False
    with pytest.raises(RuntimeError, match="expected BOS"):
        tinymodel.check_tokenizer(tokenizer, out / "tokenizer.model")


def test_a_tokenizer_without_chat_template_is_refused(out: Path) -> None:
    tokenizer = AutoTokenizer.from_pretrained(out)  # type: ignore[no-untyped-call]
    tokenizer.chat_template = None
    with pytest.raises(RuntimeError, match="no chat template"):
        tinymodel.check_tokenizer(tokenizer, out / "tokenizer.model")
