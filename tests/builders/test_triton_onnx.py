"""The published ONNX artifact served by a real tritonserver (Python backend, CPU) over HTTP and gRPC, with metrics."""

from __future__ import annotations

import re
import socket
import subprocess
import sys
import time
import urllib.request
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import numpy as np
import pytest
import tritonclient.grpc as grpcclient  # type: ignore[import-untyped]
import tritonclient.http as httpclient  # type: ignore[import-untyped]
from tritonclient.utils import InferenceServerException  # type: ignore[import-untyped]

from llmops_builders.lab import servers

KEY = "sha256:" + "cd" * 32
MODEL = "tiny"
TRITON_METRICS_PORT = 8002  # Triton's default, which the operator's ServiceMonitor scrapes


def _metrics_port() -> int:
    with socket.socket() as sock:
        try:
            sock.bind(("127.0.0.1", TRITON_METRICS_PORT))
            return TRITON_METRICS_PORT
        except OSError:
            return servers.free_port()  # something else holds 8002 on this machine; the path is what matters


@pytest.fixture(scope="module")
def artifact(tmp_path_factory: pytest.TempPathFactory, onnx_export: Path, cli_env: dict[str, str]) -> Path:
    """repository --format onnx -> publish, as the conversion Job runs them."""
    work = tmp_path_factory.mktemp("triton-job")

    def run(*args: str) -> None:
        proc = subprocess.run(
            [sys.executable, "-m", "llmops_builders.cli", "--termination-log", str(work / "log"), *args],
            env=cli_env, capture_output=True, text=True, check=False,
        )  # fmt: skip
        if proc.returncode != 0:
            pytest.fail(f"llmops-build {args[0]} failed: {proc.stderr[-2000:]}")

    run(
        "repository", "--format", "onnx", "--src", str(onnx_export), "--tokenizer", str(onnx_export),
        "--out", str(work / "staging" / "triton"), "--model-name", MODEL, "--max-batch-size", "4",
        "--intra-op-threads", "1",
    )  # fmt: skip
    run(
        "publish", "--src", str(work / "staging"), "--artifacts-root", str(work / "artifacts"), "--key", KEY,
        "--source", "hf://test/tiny-llama", "--revision", "main", "--format", "onnx", "--quantization", "none",
    )  # fmt: skip
    return work / "artifacts" / KEY.removeprefix("sha256:")


@pytest.fixture(scope="module")
def triton(
    artifact: Path, lab: dict[str, str], tmp_path_factory: pytest.TempPathFactory
) -> Iterator[servers.TritonEndpoints]:
    log = tmp_path_factory.mktemp("triton") / "tritonserver.log"
    with servers.tritonserver(lab, artifact / "triton", log, metrics_port=_metrics_port()) as endpoints:
        yield endpoints


def _expected(reference: dict[str, Any]) -> list[int]:
    greedy: list[int] = reference["greedy"]
    return greedy[: greedy.index(2) + 1] if 2 in greedy else greedy


def test_http_inference_matches_pytorch_greedy(triton: servers.TritonEndpoints, reference: dict[str, Any]) -> None:
    client = httpclient.InferenceServerClient(url=triton.http)
    assert client.is_model_ready(MODEL)
    text = httpclient.InferInput("text_input", [1, 1], "BYTES")
    text.set_data_from_numpy(np.array([[reference["prompt"].encode()]], dtype=object))
    limit = httpclient.InferInput("max_tokens", [1, 1], "INT32")
    limit.set_data_from_numpy(np.array([[len(reference["greedy"])]], dtype=np.int32))
    started = time.monotonic()
    result = client.infer(MODEL, [text, limit])
    print(f"Triton HTTP {len(reference['greedy'])}-token generation: {(time.monotonic() - started) * 1000:.0f} ms")
    ids = result.as_numpy("output_ids")[0]
    length = int(result.as_numpy("sequence_length")[0][0])
    assert ids[:length].tolist() == _expected(reference)
    assert result.as_numpy("text_output")[0][0].decode() == reference["text"]


def test_grpc_inference_matches_pytorch_greedy(triton: servers.TritonEndpoints, reference: dict[str, Any]) -> None:
    client = grpcclient.InferenceServerClient(url=triton.grpc)
    assert client.is_server_live() and client.is_model_ready(MODEL)
    metadata = client.get_model_metadata(MODEL, as_json=True)
    assert {i["name"] for i in metadata["inputs"]} == {"text_input", "max_tokens"}
    text = grpcclient.InferInput("text_input", [1, 1], "BYTES")
    text.set_data_from_numpy(np.array([[reference["prompt"].encode()]], dtype=object))
    result = client.infer(MODEL, [text])  # max_tokens omitted: the config's default applies
    length = int(result.as_numpy("sequence_length")[0][0])
    assert result.as_numpy("output_ids")[0][:length].tolist()[: len(_expected(reference))] == _expected(reference)


def test_too_long_prompt_fails_that_request_only(triton: servers.TritonEndpoints) -> None:
    client = httpclient.InferenceServerClient(url=triton.http)
    text = httpclient.InferInput("text_input", [1, 1], "BYTES")
    text.set_data_from_numpy(np.array([[("word " * 400).encode()]], dtype=object))
    with pytest.raises(InferenceServerException, match="the limit is"):
        client.infer(MODEL, [text])
    assert client.is_model_ready(MODEL)


def test_prometheus_metrics_count_the_inferences(triton: servers.TritonEndpoints, reference: dict[str, Any]) -> None:
    client = httpclient.InferenceServerClient(url=triton.http)
    text = httpclient.InferInput("text_input", [1, 1], "BYTES")
    text.set_data_from_numpy(np.array([[b"Hello"]], dtype=object))
    client.infer(MODEL, [text])
    with urllib.request.urlopen(f"{triton.metrics}/metrics", timeout=5) as resp:
        body = resp.read().decode()
    success = re.search(rf'^nv_inference_request_success\{{model="{MODEL}",version="1"\}} (\S+)$', body, re.M)
    assert success is not None and float(success.group(1)) >= 1
    for family in ("nv_inference_count", "nv_inference_request_duration_us", "nv_inference_queue_duration_us"):
        assert f"{family}{{" in body
