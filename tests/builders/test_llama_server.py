"""The published GGUF artifact served by native llama-server with the arguments and probes the operator renders."""

from __future__ import annotations

import json
import subprocess
import sys
import time
import urllib.error
import urllib.request
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from llmops_builders.lab import servers

CliRunner = Callable[..., subprocess.CompletedProcess[str]]
KEY = "sha256:" + "ab" * 32
MAX_INPUT, MAX_OUTPUT, MAX_BATCH = 192, 64, 2
# The metric families the HPA (requests_deferred) and the dashboards read.
METRICS = (
    "llamacpp:prompt_tokens_total",
    "llamacpp:tokens_predicted_total",
    "llamacpp:requests_processing",
    "llamacpp:requests_deferred",
)


def operator_args(model: str, host: str, port: int, name: str) -> list[str]:
    """The operator's llama-server command line (render/runtimes/llamacpp), with host/port for a test."""
    return [
        "--model", model, "--host", host, "--port", str(port), "--metrics",
        "--ctx-size", str(MAX_INPUT + MAX_OUTPUT), "--parallel", str(MAX_BATCH), "--alias", name,
    ]  # fmt: skip


def _get(url: str, timeout: float = 5.0) -> tuple[int, str]:
    try:
        with urllib.request.urlopen(url, timeout=timeout) as resp:
            return resp.status, resp.read().decode()
    except urllib.error.HTTPError as exc:
        return exc.code, exc.read().decode()


def _post(url: str, body: dict[str, Any]) -> dict[str, Any]:
    req = urllib.request.Request(
        url, data=json.dumps(body).encode(), headers={"Content-Type": "application/json"}, method="POST"
    )
    with urllib.request.urlopen(req, timeout=30) as resp:
        data: dict[str, Any] = json.loads(resp.read())
        return data


@pytest.fixture(scope="module")
def artifact(tmp_path_factory: pytest.TempPathFactory, tiny_model: Path, cli_env: dict[str, str]) -> Path:
    """convert -> quantize q4_k_m -> publish, exactly as the Job chain runs them."""
    work = tmp_path_factory.mktemp("llamacpp-job")
    root = work / "artifacts"

    def run(*args: str) -> None:
        proc = subprocess.run(
            [sys.executable, "-m", "llmops_builders.cli", "--termination-log", str(work / "log"), *args],
            # Steps run in separate containers; the Job points them all at one journal on the volume.
            env={**cli_env, "LLMOPS_JOURNAL": str(work / "journal.jsonl")},
            capture_output=True,
            text=True,
            check=False,
        )
        if proc.returncode != 0:
            pytest.fail(f"llmops-build {args[0]} failed: {proc.stderr[-2000:]}")

    run("convert", "--to", "gguf", "--src", str(tiny_model), "--out", str(work / "f16" / "model.gguf"))
    run(
        "quantize",
        "--src",
        str(work / "f16" / "model.gguf"),
        "--out",
        str(work / "out" / "model.gguf"),
        "--type",
        "q4_k_m",
    )
    run(
        "publish", "--src", str(work / "out"), "--artifacts-root", str(root), "--key", KEY,
        "--source", "hf://test/tiny-llama", "--revision", "main", "--format", "gguf", "--quantization", "q4_k_m",
    )  # fmt: skip
    return root / KEY.removeprefix("sha256:")


@pytest.fixture(scope="module")
def server(artifact: Path, lab: dict[str, str], tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    port = servers.free_port()
    args = operator_args(str(artifact / "model.gguf"), "127.0.0.1", port, "tiny")
    log = tmp_path_factory.mktemp("llama-server") / "log"
    with servers.llama_server(lab, args, port, log) as base:
        yield base


def test_artifact_has_the_layout_the_deployment_mounts(artifact: Path) -> None:
    manifest = json.loads((artifact / "manifest.json").read_text())
    assert [f["path"] for f in manifest["files"]] == ["model.gguf"]
    assert manifest["format"] == "gguf" and manifest["quantization"] == "q4_k_m"
    assert {"convert-gguf", "quantize-gguf", "publish"} <= set(manifest["timings"])


def test_health_probe_path_answers(server: str) -> None:
    status, _ = _get(f"{server}/health")
    assert status == 200


def test_openai_completions_answer_under_the_alias(server: str) -> None:
    models = json.loads(_get(f"{server}/v1/models")[1])
    assert "tiny" in [m["id"] for m in models["data"]]
    started = time.monotonic()
    result = _post(
        f"{server}/v1/completions", {"model": "tiny", "prompt": "The number of", "max_tokens": 16, "temperature": 0}
    )
    print(f"llama-server 16-token completion: {(time.monotonic() - started) * 1000:.0f} ms")
    assert result["object"] == "text_completion"
    assert result["usage"]["completion_tokens"] >= 1
    assert isinstance(result["choices"][0]["text"], str)


def test_prometheus_metrics_export_the_autoscaling_families(server: str) -> None:
    _post(f"{server}/v1/completions", {"model": "tiny", "prompt": "Hello", "max_tokens": 4, "temperature": 0})
    status, text = _get(f"{server}/metrics")
    assert status == 200
    samples = {
        line.split()[0]: float(line.split()[1]) for line in text.splitlines() if line and not line.startswith("#")
    }
    for name in METRICS:
        assert name in samples, f"{name} missing from /metrics"
    assert samples["llamacpp:tokens_predicted_total"] > 0
    assert samples["llamacpp:requests_deferred"] >= 0
