"""HF -> ONNX with optimum-cli, and the Python-backend generation loop of the Triton repository, against PyTorch."""

from __future__ import annotations

import json
import subprocess
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np
import onnx
import pytest

from llmops_builders.repository import onnx as onnx_repository
from llmops_builders.repository.onnx_model import OnnxGreedyGenerator

CliRunner = Callable[..., subprocess.CompletedProcess[str]]


@pytest.fixture
def onnx_dir(onnx_export: Path) -> Path:
    return onnx_export


def test_export_has_kv_cache_inputs_and_outputs(onnx_dir: Path) -> None:
    model = onnx.load(str(onnx_dir / "model.onnx"), load_external_data=False)
    inputs = {i.name for i in model.graph.input}
    outputs = {o.name for o in model.graph.output}
    assert {"input_ids", "attention_mask", "past_key_values.0.key", "past_key_values.1.value"} <= inputs
    assert {"logits", "present.0.key", "present.1.value"} <= outputs
    assert (onnx_dir / "tokenizer.json").is_file()


def test_prefill_logits_match_pytorch(onnx_dir: Path, reference: dict[str, Any]) -> None:
    generator = OnnxGreedyGenerator(onnx_dir / "model.onnx")
    logits = generator.prompt_logits(reference["ids"])
    diff = float(np.max(np.abs(logits - reference["logits"])))
    print(f"ONNX max abs logit diff vs PyTorch: {diff:.2e}")
    assert diff < 1e-4


def test_greedy_generation_with_kv_cache_is_identical_to_pytorch(onnx_dir: Path, reference: dict[str, Any]) -> None:
    generator = OnnxGreedyGenerator(onnx_dir / "model.onnx")
    generated = generator.generate(reference["ids"], len(reference["greedy"]), frozenset({2}))
    assert generated == reference["greedy"]


def test_repository_layout_and_config(onnx_dir: Path, tmp_path: Path) -> None:
    model_dir = onnx_repository.build(
        onnx_dir, onnx_dir, tmp_path / "triton", onnx_repository.OnnxOptions(model_name="tiny", max_batch_size=4)
    )
    assert model_dir == tmp_path / "triton" / "tiny"
    assert {p.name for p in (model_dir / "1").iterdir()} >= {"model.py", "model.onnx", "tokenizer"}
    config = (model_dir / "config.pbtxt").read_text()
    assert 'name: "tiny"' in config and 'backend: "python"' in config and "max_batch_size: 4" in config
    # eos from generation_config.json, max_seq_len from config.json's max_position_embeddings.
    assert 'key: "eos_token_ids"\n  value: { string_value: "[2]" }' in config
    assert 'key: "max_seq_len"\n  value: { string_value: "256" }' in config


def test_repository_refuses_an_export_without_model(tmp_path: Path, cli: CliRunner, termination_log: Path) -> None:
    (tmp_path / "empty").mkdir()
    proc = cli(
        "repository", "--format", "onnx", "--src", str(tmp_path / "empty"), "--tokenizer", str(tmp_path / "empty"),
        "--out", str(tmp_path / "triton"), "--model-name", "m", "--max-batch-size", "1", check=False,
    )  # fmt: skip
    assert proc.returncode == 1
    assert termination_log.read_text().strip() == f"repository: no model.onnx in {tmp_path / 'empty'}"


def test_journal_records_the_exact_export_command(onnx_dir: Path) -> None:
    records = [json.loads(line) for line in (onnx_dir / ".llmops-journal.jsonl").read_text().splitlines()]
    argv = records[-1]["argv"]
    assert argv[1:4] == ["export", "onnx", "--model"]
    assert argv[-3:] == ["--task", "text-generation-with-past", str(onnx_dir)]
    assert records[-1]["tools"]["optimum-onnx"] == "0.1.0"
