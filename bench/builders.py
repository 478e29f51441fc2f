"""Benchmark of the builder paths on the tiny lab model: conversion wall time, artifact sizes, serving latency.

Run after builders/scripts/setup-lab.sh:  .venv/bin/python bench/builders.py [--requests 20]
Prints Markdown tables; it is never part of the pass/fail test run.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.request
from pathlib import Path

import numpy as np
import tritonclient.http as httpclient  # type: ignore[import-untyped]

from llmops_builders.lab import servers, tinymodel

PROMPT = "Return the number of items in a sequence, and raise an error if it is empty."
MAX_TOKENS = 32


def _cli(env: dict[str, str], *args: str) -> float:
    started = time.monotonic()
    subprocess.run([sys.executable, "-m", "llmops_builders.cli", "--termination-log", os.devnull, *args],
                   env=env, check=True, capture_output=True)  # fmt: skip
    return time.monotonic() - started


def _size(path: Path) -> int:
    return path.stat().st_size if path.is_file() else sum(p.stat().st_size for p in path.rglob("*") if p.is_file())


def _percentiles(samples: list[float]) -> str:
    ms = sorted(s * 1000 for s in samples)
    p90 = ms[min(len(ms) - 1, int(len(ms) * 0.9))]
    return f"{statistics.median(ms):.0f} / {p90:.0f}"


def _llama_latency(lab: dict[str, str], model: Path, work: Path, n: int) -> str:
    port = servers.free_port()
    args = ["--model", str(model), "--host", "127.0.0.1", "--port", str(port), "--metrics",
            "--ctx-size", "256", "--parallel", "2", "--alias", "tiny"]  # fmt: skip
    # ignore_eos: a random model may stop at once; the figure is for MAX_TOKENS generated tokens.
    request = {"model": "tiny", "prompt": PROMPT, "max_tokens": MAX_TOKENS, "temperature": 0, "ignore_eos": True}
    body = json.dumps(request).encode()
    samples = []
    with servers.llama_server(lab, args, port, work / "llama-server.log") as base:
        for _ in range(n):
            req = urllib.request.Request(
                f"{base}/v1/completions", data=body, headers={"Content-Type": "application/json"}
            )
            started = time.monotonic()
            with urllib.request.urlopen(req, timeout=30) as resp:
                tokens = json.loads(resp.read())["usage"]["completion_tokens"]
            samples.append(time.monotonic() - started)
    return f"{_percentiles(samples)} | {tokens}"


def _triton_latency(lab: dict[str, str], repository: Path, work: Path, n: int) -> str:
    samples = []
    with servers.tritonserver(lab, repository, work / "tritonserver.log") as endpoints:
        client = httpclient.InferenceServerClient(url=endpoints.http)
        text = httpclient.InferInput("text_input", [1, 1], "BYTES")
        text.set_data_from_numpy(np.array([[PROMPT.encode()]], dtype=object))
        limit = httpclient.InferInput("max_tokens", [1, 1], "INT32")
        limit.set_data_from_numpy(np.array([[MAX_TOKENS]], dtype=np.int32))
        for _ in range(n):
            started = time.monotonic()
            result = client.infer("tiny", [text, limit])
            samples.append(time.monotonic() - started)
    return f"{_percentiles(samples)} | {int(result.as_numpy('sequence_length')[0][0])}"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--requests", type=int, default=20)
    args = parser.parse_args()
    lab = servers.read_lab_env()
    env = {**os.environ, "HF_HUB_OFFLINE": "1", "LLMOPS_LLAMA_CPP_DIR": lab["LLMOPS_LLAMA_CPP_DIR"],
           "LLMOPS_LLAMA_QUANTIZE": lab["LLMOPS_LLAMA_QUANTIZE"]}  # fmt: skip
    with tempfile.TemporaryDirectory() as tmp:
        work = Path(tmp)
        model = tinymodel.make_tiny_llama(work / "hf")
        rows: list[tuple[str, float, int]] = [("safetensors (source)", 0.0, _size(work / "hf" / "model.safetensors"))]
        f16 = work / "gguf" / "f16.gguf"
        rows.append(("GGUF f16 (convert_hf_to_gguf.py)", _cli(env, "convert", "--to", "gguf", "--src", str(model),
                                                             "--out", str(f16)), _size(f16)))  # fmt: skip
        for qtype in ("q8_0", "q5_k_m", "q4_k_m"):
            out = work / "gguf" / f"{qtype}.gguf"
            seconds = _cli(env, "quantize", "--src", str(f16), "--out", str(out), "--type", qtype)
            rows.append((f"GGUF {qtype} (llama-quantize)", seconds, _size(out)))
        onnx_dir = work / "onnx"
        seconds = _cli(env, "convert", "--to", "onnx", "--src", str(model), "--out", str(onnx_dir))
        rows.append(("ONNX fp32 + KV cache (optimum-cli)", seconds, _size(onnx_dir / "model.onnx")))
        repo = work / "triton"
        seconds = _cli(env, "repository", "--format", "onnx", "--src", str(onnx_dir), "--tokenizer", str(onnx_dir),
                       "--out", str(repo), "--model-name", "tiny", "--max-batch-size", "4")  # fmt: skip
        rows.append(("Triton ONNX repository", seconds, _size(repo)))

        print("| step | wall time (s) | size (KiB) |\n|---|---:|---:|")
        for name, secs, size in rows:
            print(f"| {name} | {secs:.1f} | {size / 1024:.0f} |")
        print(
            f"\n| server ({args.requests} sequential requests) | p50 / p90 (ms) | tokens generated |\n|---|---:|---:|"
        )
        print(f"| llama-server, GGUF q4_k_m, /v1/completions | "
              f"{_llama_latency(lab, work / 'gguf' / 'q4_k_m.gguf', work, args.requests)} |")  # fmt: skip
        print(f"| tritonserver (Python backend + ONNX Runtime), HTTP | "
              f"{_triton_latency(lab, repo, work, args.requests)} |")  # fmt: skip


if __name__ == "__main__":
    main()
