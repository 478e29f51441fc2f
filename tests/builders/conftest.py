"""Fixtures of the builder tests: the lab tools, a tiny real Llama model made offline, and a CLI runner."""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np
import pytest
import torch
from transformers import AutoModelForCausalLM, AutoTokenizer

from llmops_builders.lab import servers, tinymodel

CliRunner = Callable[..., subprocess.CompletedProcess[str]]

# A prompt the tokenizer splits into ~20 pieces, used by every fidelity check.
PROMPT = "Return the number of items in a sequence, and raise an error if it is empty."
NEW_TOKENS = 24


@pytest.fixture(scope="session")
def lab() -> dict[str, str]:
    """Paths of the tools builders/scripts/setup-lab.sh installed (llama.cpp tree and binaries, Triton)."""
    try:
        return servers.read_lab_env()
    except FileNotFoundError:
        pytest.fail(f"{servers.lab_dir() / servers.LAB_ENV_FILE} is missing: run builders/scripts/setup-lab.sh first")


@pytest.fixture(scope="session")
def tiny_model(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A Llama-architecture model with random weights and an offline-trained tokenizer, in HF layout."""
    return tinymodel.make_tiny_llama(tmp_path_factory.mktemp("tiny-llama"))


@pytest.fixture(scope="session")
def reference(tiny_model: Path) -> dict[str, Any]:
    """PyTorch's prompt ids, all-position logits and greedy continuation: the ground truth."""
    tokenizer = AutoTokenizer.from_pretrained(tiny_model)  # type: ignore[no-untyped-call]
    model = AutoModelForCausalLM.from_pretrained(tiny_model, dtype=torch.float32)
    model.eval()  # type: ignore[no-untyped-call]
    ids = tokenizer(PROMPT, return_tensors="pt").input_ids
    with torch.no_grad():
        logits = model(ids).logits[0].numpy()
        generated = model.generate(
            ids, max_new_tokens=NEW_TOKENS, do_sample=False, attention_mask=torch.ones_like(ids), pad_token_id=2
        )[0, ids.shape[1] :]
        # The same model with its weights rounded to f16: the best any f16 file can do.
        for param in model.parameters():
            param.data = param.data.half().float()
        f16_logits = model(ids).logits[0].numpy()
    return {
        "prompt": PROMPT,
        "ids": ids[0].tolist(),
        "logits": np.asarray(logits, dtype=np.float32),
        "f16_weight_logits": np.asarray(f16_logits, dtype=np.float32),
        "greedy": generated.tolist(),
        "text": tokenizer.decode(generated, skip_special_tokens=True),
    }


@pytest.fixture(scope="session")
def cli_env(lab: dict[str, str]) -> dict[str, str]:
    """Environment of the llmops-build subprocess: the lab's llama.cpp tree and binaries, no hub."""
    env = dict(os.environ)
    env.update(
        {
            "LLMOPS_LLAMA_CPP_DIR": lab["LLMOPS_LLAMA_CPP_DIR"],
            "LLMOPS_LLAMA_QUANTIZE": lab["LLMOPS_LLAMA_QUANTIZE"],
            "HF_HUB_OFFLINE": "1",
            "HF_HUB_DISABLE_TELEMETRY": "1",
            "TRANSFORMERS_NO_ADVISORY_WARNINGS": "1",
        }
    )
    env.pop("HF_TOKEN", None)
    env.pop("LLMOPS_JOURNAL", None)
    env.pop("LLMOPS_TERMINATION_LOG", None)
    return env


@pytest.fixture
def cli(cli_env: dict[str, str], tmp_path: Path) -> CliRunner:
    """Run `llmops-build ARGS` as the Job would (a subprocess), with a per-test termination log."""

    def run(*args: str, env: dict[str, str] | None = None, check: bool = True) -> subprocess.CompletedProcess[str]:
        argv = [sys.executable, "-m", "llmops_builders.cli", "--termination-log", str(tmp_path / "termlog"), *args]
        proc = subprocess.run(argv, env={**cli_env, **(env or {})}, capture_output=True, text=True, check=False)
        if check and proc.returncode != 0:
            pytest.fail(f"llmops-build {' '.join(args)} failed ({proc.returncode}):\n{proc.stderr[-3000:]}")
        return proc

    return run


@pytest.fixture
def termination_log(tmp_path: Path) -> Path:
    """The file the `cli` fixture points --termination-log at."""
    return tmp_path / "termlog"


@pytest.fixture(scope="session")
def port() -> Callable[[], int]:
    """A factory of free loopback ports."""
    return servers.free_port


@pytest.fixture(scope="session")
def onnx_export(tmp_path_factory: pytest.TempPathFactory, tiny_model: Path, cli_env: dict[str, str]) -> Path:
    """`llmops-build convert --to onnx` of the tiny model (optimum-cli, KV cache)."""
    out = tmp_path_factory.mktemp("onnx") / "export"
    proc = subprocess.run(
        [sys.executable, "-m", "llmops_builders.cli", "--termination-log", str(out.parent / "log"),
         "convert", "--to", "onnx", "--src", str(tiny_model), "--out", str(out)],
        env=cli_env, capture_output=True, text=True, check=False,
    )  # fmt: skip
    if proc.returncode != 0:
        pytest.fail(f"convert --to onnx failed: {proc.stderr[-3000:]}")
    return out
