"""Load client: bursts of C simultaneous streamed completions; TTFT percentiles, output tokens/s, server gauges."""

from __future__ import annotations

import asyncio
import json
import math
import os
import random
import statistics
import time
import urllib.request
from typing import Any

import aiohttp

MAX_TOKENS = 128
PROMPT_TOKENS = 300
ROUNDS = {1: 10, 8: 4, 32: 3, 128: 3}
MIN_SECONDS = float(os.environ.get("BENCH_MIN_SECONDS", "10"))
# Gauges sampled during each level: do the HPA signals move under load, and how far?
GAUGES = {
    "vllm": ("vllm:num_requests_running", "vllm:num_requests_waiting", "vllm:kv_cache_usage_perc"),
    "llama-cpp": ("llamacpp:requests_processing", "llamacpp:requests_deferred"),
}
OUTPUT_COUNTER = {"vllm": "vllm:generation_tokens_total", "llama-cpp": "llamacpp:tokens_predicted_total"}


def scrape(base: str) -> str:
    """The /metrics page."""
    with urllib.request.urlopen(f"{base}/metrics", timeout=10) as response:
        return str(response.read().decode())


def samples(page: str) -> dict[str, float]:
    """Sum of each sample name over its label sets."""
    sums: dict[str, float] = {}
    for line in page.splitlines():
        if not line or line.startswith("#"):
            continue
        name_labels, _, value = line.rpartition(" ")
        name = name_labels.split("{", 1)[0]
        try:
            sums[name] = sums.get(name, 0.0) + float(value)
        except ValueError:
            continue
    return sums


def families(page: str) -> set[str]:
    """Every sample name and every # TYPE family on the page."""
    names = set(samples(page))
    names |= {line.split()[2] for line in page.splitlines() if line.startswith("# TYPE ")}
    return names


def missing_names(page: str, wanted: list[str]) -> list[str]:
    """The wanted metric names the page does not export (a histogram counts if its _bucket series is there)."""
    seen = families(page)
    return [n for n in wanted if not ({n, f"{n}_bucket", f"{n}_total"} & seen)]


def percentile(values: list[float], q: float) -> float:
    """Nearest-rank percentile."""
    ordered = sorted(values)
    return ordered[max(0, math.ceil(q / 100 * len(ordered)) - 1)]


def prompts(words_per_prompt: int, count: int, seed: int) -> list[str]:
    """Distinct prompts: no shared prefix, so no prefix-cache hits flatter the figures."""
    rng = random.Random(seed)
    vocabulary = [
        "return",
        "value",
        "list",
        "error",
        "file",
        "object",
        "module",
        "string",
        "number",
        "process",
        "socket",
        "path",
        "name",
        "time",
        "thread",
        "signal",
        "buffer",
        "stream",
        "queue",
        "event",
        "option",
        "default",
        "format",
        "encode",
        "decode",
        "parse",
    ]
    return [f"{i} {rng.random():.6f} " + " ".join(rng.choice(vocabulary) for _ in range(words_per_prompt))
            for i in range(count)]  # fmt: skip


async def _one(session: aiohttp.ClientSession, url: str, model: str, prompt: str) -> dict[str, Any]:
    body = {"model": model, "prompt": prompt, "max_tokens": MAX_TOKENS, "temperature": 0, "ignore_eos": True,
            "stream": True, "stream_options": {"include_usage": True}}  # fmt: skip
    started = time.perf_counter()
    ttft, chunks, usage, status = None, 0, None, 0
    async with session.post(f"{url}/v1/completions", json=body) as response:
        status = response.status
        async for raw in response.content:
            line = raw.decode().strip()
            if not line.startswith("data: ") or line == "data: [DONE]":
                continue
            data = json.loads(line[6:])
            if data.get("usage"):
                usage = data["usage"]
            if any(c.get("text") for c in data.get("choices", [])):
                chunks += 1
                if ttft is None:
                    ttft = time.perf_counter() - started
    return {"status": status, "ttft": ttft, "chunks": chunks, "usage": usage, "e2e": time.perf_counter() - started}


async def _sample_gauges(base: str, names: tuple[str, ...], peaks: dict[str, float], stop: asyncio.Event) -> None:
    while not stop.is_set():
        try:
            current = samples(await asyncio.to_thread(scrape, base))
            for n in names:
                peaks[n] = max(peaks.get(n, 0.0), current.get(n, 0.0))
        except OSError:
            pass
        await asyncio.sleep(0.25)


async def _level(base: str, runtime: str, model: str, concurrency: int, words: int) -> dict[str, Any]:
    timeout = aiohttp.ClientTimeout(total=600)
    connector = aiohttp.TCPConnector(limit=0)
    async with aiohttp.ClientSession(timeout=timeout, connector=connector) as session:
        # One unmeasured burst at this concurrency: first-use kernels and graph sizes are not the figure.
        await asyncio.gather(*(_one(session, base, model, p) for p in prompts(words, concurrency, seed=-concurrency)))
        peaks: dict[str, float] = {}
        stop = asyncio.Event()
        sampler = asyncio.create_task(_sample_gauges(base, GAUGES[runtime], peaks, stop))
        before = samples(scrape(base)).get(OUTPUT_COUNTER[runtime], 0.0)
        results, wall, r = [], 0.0, 0
        # At least ROUNDS bursts and MIN_SECONDS of load: a 3-second level let one run differ from the next by a third.
        while r < ROUNDS.get(concurrency, 3) or wall < MIN_SECONDS:
            batch = prompts(words, concurrency, seed=concurrency * 1000 + r)
            started = time.perf_counter()
            results += await asyncio.gather(*(_one(session, base, model, p) for p in batch))
            wall += time.perf_counter() - started
            r += 1
        stop.set()
        await sampler
        after = samples(scrape(base)).get(OUTPUT_COUNTER[runtime], 0.0)
    ttfts = [r["ttft"] * 1000 for r in results if r["ttft"] is not None]
    tokens = sum((r["usage"] or {}).get("completion_tokens", 0) for r in results)
    prompt_tokens = [(r["usage"] or {}).get("prompt_tokens", 0) for r in results]
    return {
        "concurrency": concurrency,
        "requests": len(results),
        "http_errors": sum(1 for r in results if r["status"] != 200),
        # Random weights: a stream can be all byte-fallback pieces that never form a character (no text chunk).
        "no_text": sum(1 for r in results if r["status"] == 200 and r["ttft"] is None),
        "wall_s": round(wall, 3),
        "output_tokens": tokens,
        "server_output_tokens": after - before,
        "tok_s": round((after - before) / wall, 1) if wall else 0.0,
        "ttft_ms": {k: round(percentile(ttfts, q), 1) for k, q in (("p50", 50), ("p90", 90), ("p99", 99))}
        if ttfts
        else {},
        "ttft_ms_max": round(max(ttfts), 1) if ttfts else None,
        "e2e_ms_p50": round(statistics.median(r["e2e"] * 1000 for r in results), 1),
        "prompt_tokens_mean": round(statistics.mean(prompt_tokens), 1) if prompt_tokens else 0,
        "gauge_peaks": peaks,
    }


def words_for(base: str, model: str) -> int:
    """Words per prompt so that a prompt is about PROMPT_TOKENS tokens for this tokenizer (/tokenize)."""
    sample = prompts(100, 1, seed=7)[0]
    body = json.dumps({"model": model, "prompt": sample, "content": sample}).encode()  # vLLM's and llama.cpp's keys
    request = urllib.request.Request(f"{base}/tokenize", body, {"Content-Type": "application/json"})
    try:
        with urllib.request.urlopen(request, timeout=30) as response:
            data = json.loads(response.read())
    except OSError:
        data = {}  # no /tokenize: assume a token a word
    count = data.get("count") or len(data.get("tokens", [])) or 100
    return max(10, round(100 * PROMPT_TOKENS / count))


def run(base: str, runtime: str, model: str, levels: list[int]) -> dict[str, Any]:
    """Every level, in order."""
    words = words_for(base, model)
    return {"words_per_prompt": words, "max_tokens": MAX_TOKENS,
            "levels": [asyncio.run(_level(base, runtime, model, c, words)) for c in levels]}  # fmt: skip
