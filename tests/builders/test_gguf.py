"""HF -> GGUF with llama.cpp's own converter and llama-quantize, checked by running the files in llama.cpp."""

from __future__ import annotations

import json
import os
import subprocess
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from gguf import GGUFReader

CliRunner = Callable[..., subprocess.CompletedProcess[str]]


@pytest.fixture(scope="module")
def gguf_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("gguf")


@pytest.fixture(scope="module")
def llama_cpp(lab: dict[str, str]) -> Iterator[Any]:
    """The llama-cpp-python binding on the lab's shared libraries (the same build as llama-server)."""
    os.environ["LLAMA_CPP_LIB_PATH"] = lab["LLAMA_CPP_LIB_PATH"]
    # Imported only now: the binding loads its libraries at import time from LLAMA_CPP_LIB_PATH.
    import llama_cpp  # noqa: PLC0415

    yield llama_cpp


def _convert(cli: CliRunner, tiny_model: Path, out: Path, outtype: str) -> Path:
    if not out.exists():
        cli("convert", "--to", "gguf", "--src", str(tiny_model), "--out", str(out), "--outtype", outtype)
    return out


def _logits(llama_cpp: Any, path: Path, ids: list[int]) -> np.ndarray[Any, Any]:
    # An f32 KV cache, so the comparison measures the file's weights, not llama.cpp's default f16 cache.
    f32 = llama_cpp.GGML_TYPE_F32
    llm = llama_cpp.Llama(
        model_path=str(path), logits_all=True, n_ctx=256, n_threads=2, verbose=False, type_k=f32, type_v=f32
    )
    try:
        llm.eval(ids)
        return np.asarray(llm.scores[: len(ids)], dtype=np.float32)
    finally:
        llm.close()


def test_f16_logits_match_pytorch(
    cli: CliRunner, tiny_model: Path, gguf_dir: Path, llama_cpp: Any, reference: dict[str, Any]
) -> None:
    path = _convert(cli, tiny_model, gguf_dir / "f16.gguf", "f16")
    logits = _logits(llama_cpp, path, reference["ids"])
    diff = float(np.max(np.abs(logits - reference["logits"])))
    # Rounding the weights to f16 alone moves PyTorch's logits this much; the file cannot do better.
    floor = float(np.max(np.abs(reference["f16_weight_logits"] - reference["logits"])))
    beyond = float(np.max(np.abs(logits - reference["f16_weight_logits"])))
    print(f"GGUF f16 max abs logit diff vs PyTorch: {diff:.2e} (f16 weight rounding alone: {floor:.2e}; "
          f"vs PyTorch with f16-rounded weights: {beyond:.2e})")  # fmt: skip
    assert diff < 1e-3
    assert beyond < diff  # the conversion adds less than the format's own rounding
    assert (logits.argmax(-1) == reference["logits"].argmax(-1)).all()


def test_f16_tokenizer_matches_hugging_face(
    cli: CliRunner, tiny_model: Path, gguf_dir: Path, llama_cpp: Any, reference: dict[str, Any]
) -> None:
    path = _convert(cli, tiny_model, gguf_dir / "f16.gguf", "f16")
    llm = llama_cpp.Llama(model_path=str(path), n_ctx=256, verbose=False, vocab_only=True)
    try:
        assert llm.tokenize(reference["prompt"].encode(), add_bos=True) == reference["ids"]
    finally:
        llm.close()


def test_conversion_is_journaled_beside_the_output(cli: CliRunner, tiny_model: Path, gguf_dir: Path) -> None:
    _convert(cli, tiny_model, gguf_dir / "f16.gguf", "f16")
    records = [json.loads(line) for line in (gguf_dir / ".llmops-journal.jsonl").read_text().splitlines()]
    convert = next(r for r in records if r["step"] == "convert-gguf")
    assert convert["argv"][1].endswith("/convert_hf_to_gguf.py")
    assert convert["tools"]["transformers"] == "4.57.6"
    assert convert["seconds"] > 0


@pytest.mark.parametrize(("qtype", "tensor_type"), [("q4_k_m", "Q4_K"), ("q5_k_m", "Q5_K"), ("q8_0", "Q8_0")])
def test_quantized_files_are_real_k_quants_that_load_and_generate(
    *, cli: CliRunner, tiny_model: Path, gguf_dir: Path, llama_cpp: Any, qtype: str, tensor_type: str
) -> None:
    f16 = _convert(cli, tiny_model, gguf_dir / "f16.gguf", "f16")
    out = gguf_dir / f"{qtype}.gguf"
    cli("quantize", "--src", str(f16), "--out", str(out), "--type", qtype)
    types = {t.tensor_type.name for t in GGUFReader(out).tensors}
    # Hidden 256 makes every matrix K-quantizable, so no silent fallback to legacy types.
    assert tensor_type in types
    assert out.stat().st_size < f16.stat().st_size
    llm = llama_cpp.Llama(model_path=str(out), n_ctx=256, n_threads=2, verbose=False)
    try:
        result = llm.create_completion("The number of", max_tokens=8, temperature=0.0)
        assert result["usage"]["completion_tokens"] >= 1
        assert result["choices"][0]["finish_reason"] in ("length", "stop")
    finally:
        llm.close()


def test_q8_0_outtype_converts_directly(cli: CliRunner, tiny_model: Path, gguf_dir: Path) -> None:
    path = _convert(cli, tiny_model, gguf_dir / "direct-q8_0.gguf", "q8_0")
    assert "Q8_0" in {t.tensor_type.name for t in GGUFReader(path).tensors}


def test_missing_checkpoint_fails_with_a_reason(cli: CliRunner, tmp_path: Path, termination_log: Path) -> None:
    proc = cli(
        "convert", "--to", "gguf", "--src", str(tmp_path / "nope"), "--out", str(tmp_path / "m.gguf"), check=False
    )
    assert proc.returncode == 1
    assert (
        termination_log.read_text().strip()
        == f"convert: {tmp_path / 'nope'} is not a Hugging Face checkpoint (no config.json)"
    )


def test_converter_crash_is_reported_with_its_last_words(
    cli: CliRunner, tiny_model: Path, tmp_path: Path, termination_log: Path
) -> None:
    broken = tmp_path / "broken"
    broken.mkdir()
    (broken / "config.json").write_text('{"architectures": ["NoSuchForCausalLM"]}')
    proc = cli("convert", "--to", "gguf", "--src", str(broken), "--out", str(tmp_path / "m.gguf"), check=False)
    assert proc.returncode == 1
    reason = termination_log.read_text().strip()
    assert reason.startswith("convert: convert_hf_to_gguf.py exited with 1:")
    assert len(reason.encode()) <= 1024
