"""A real Prometheus scrapes a real llama-server and a real tritonserver (the lab's builds, CPU) while they serve
requests, with the target labels llmops' ServiceMonitor gives a serving pod: the catalogued metric names are
the ones these servers export, and every llama.cpp and Triton query of the serving dashboard returns data.

vLLM, NIM and trtllm-serve cannot run on this machine; their panels are only checked statically."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import threading
import time
import urllib.request
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from llmops.observability.catalog import CATALOG, Evidence, Source, Status
from llmops.observability.conventions import DEPLOYMENT, RUNTIME
from llmops_builders.lab import servers, tinymodel
from tests.observability import promql
from tests.observability.prometheus import Prometheus, running, wait_until

NAMESPACE = "obs"
# What the serving dashboard's variables hold with "All" selected.
VARIABLES = {"namespace": ".*", "runtime": ".*", "deployment": ".*"}

TRITON_CONFIG = """\
backend: "python"
max_batch_size: 0
input [ { name: "INPUT", data_type: TYPE_FP32, dims: [ -1 ] } ]
output [ { name: "OUTPUT", data_type: TYPE_FP32, dims: [ -1 ] } ]
instance_group [ { kind: KIND_CPU, count: 1 } ]
"""
TRITON_MODEL = """\
import triton_python_backend_utils as pb_utils


class TritonPythonModel:
    def execute(self, requests):
        responses = []
        for request in requests:
            data = pb_utils.get_input_tensor_by_name(request, "INPUT").as_numpy()
            responses.append(pb_utils.InferenceResponse([pb_utils.Tensor("OUTPUT", data * 2)]))
        return responses
"""


@dataclass
class Serving:
    prometheus: Prometheus
    llama: str  # base URL
    triton_metrics: str  # base URL of :8002-style metrics


def post(url: str, body: dict[str, Any], timeout: float = 30) -> Any:
    request = urllib.request.Request(url, json.dumps(body).encode(), {"Content-Type": "application/json"})
    with urllib.request.urlopen(request, timeout=timeout) as response:
        return json.loads(response.read())


def text(url: str) -> str:
    with urllib.request.urlopen(url, timeout=10) as response:
        return str(response.read().decode())


def exported_names(exposition: str) -> set[str]:
    return {line.split("{")[0].split()[0] for line in exposition.splitlines() if line and not line.startswith("#")}


def gguf_model(work: Path, lab: dict[str, str]) -> Path:
    """A tiny random Llama, converted to GGUF f16 by the builder CLI as a conversion Job would."""
    model = tinymodel.make_tiny_llama(work / "tiny-llama")
    out = work / "model.gguf"
    env = {**os.environ, "HF_HUB_OFFLINE": "1", "LLMOPS_LLAMA_CPP_DIR": lab["LLMOPS_LLAMA_CPP_DIR"],
           "LLMOPS_LLAMA_QUANTIZE": lab["LLMOPS_LLAMA_QUANTIZE"]}  # fmt: skip
    env.pop("HF_TOKEN", None)
    argv = [sys.executable, "-m", "llmops_builders.cli", "--termination-log", str(work / "termlog"),
            "convert", "--to", "gguf", "--src", str(model), "--out", str(out)]  # fmt: skip
    proc = subprocess.run(argv, env=env, capture_output=True, text=True, check=False)
    assert proc.returncode == 0, proc.stderr[-3000:]
    return out


def triton_repository(work: Path) -> Path:
    model = work / "repository" / "double"
    (model / "1").mkdir(parents=True)
    (model / "config.pbtxt").write_text(TRITON_CONFIG)
    (model / "1" / "model.py").write_text(TRITON_MODEL)
    return work / "repository"


def target(job: str, address: str, deployment: str, runtime: str) -> dict[str, Any]:
    """A scrape job labelled as llmops' ServiceMonitor labels a serving pod (targetLabels, namespace, pod)."""
    labels = {"namespace": NAMESPACE, DEPLOYMENT: deployment, RUNTIME: runtime, "pod": f"{deployment}-0"}
    return {"job_name": job, "static_configs": [{"targets": [address], "labels": labels}]}


def load(llama: str, triton_http: str, stop: threading.Event) -> None:
    """Bounded traffic to the two local servers: at most 240 rounds, one every 0.5 s."""
    for _ in range(240):
        if stop.is_set():
            return
        post(f"{llama}/v1/completions", {"model": "tiny", "prompt": "Hello there", "max_tokens": 4})
        body = {"inputs": [{"name": "INPUT", "shape": [3], "datatype": "FP32", "data": [1, 2, 3]}]}
        post(f"http://{triton_http}/v2/models/double/infer", body)
        time.sleep(0.5)


@pytest.fixture(scope="module")
def serving(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Serving]:
    lab = servers.read_lab_env()
    work = tmp_path_factory.mktemp("serving")
    model = gguf_model(work, lab)
    port = servers.free_port()
    args = ["--model", str(model), "--host", "127.0.0.1", "--port", str(port), "--metrics", "--ctx-size", "256",
            "--parallel", "2", "--alias", "tiny", "--threads", "1"]  # fmt: skip
    with (
        servers.llama_server(lab, args, port, work / "llama-server.log") as llama,
        servers.tritonserver(lab, triton_repository(work), work / "tritonserver.log") as triton,
    ):
        scrape = [
            target("obs/tiny-gguf", f"127.0.0.1:{port}", "tiny-gguf", "llama-cpp"),
            target("obs/tiny-onnx", triton.metrics.removeprefix("http://"), "tiny-onnx", "triton"),
        ]
        with running(work / "prometheus", scrape, [promql.RULES]) as prometheus:
            prometheus.wait_scraped("obs/tiny-gguf")
            prometheus.wait_scraped("obs/tiny-onnx")
            stop = threading.Event()
            errors: list[BaseException] = []

            def traffic() -> None:
                try:
                    load(llama, triton.http, stop)
                except BaseException as error:  # reported by the fixture, not lost in the thread
                    errors.append(error)

            thread = threading.Thread(target=traffic, daemon=True)
            thread.start()
            try:
                yield Serving(prometheus, llama, triton.metrics)
            finally:
                stop.set()
                thread.join(timeout=60)
            assert not errors, errors


def catalogued(source: Source) -> tuple[set[str], set[str]]:
    """The series a source's scraped-evidence metrics must expose, and the removed ones it must not."""
    current = {s for m in CATALOG.of(source) if m.evidence is Evidence.SCRAPED for s in m.series}
    removed = {s for m in CATALOG.of(source) if m.status is Status.REMOVED for s in m.series}
    return current, removed


def test_llama_server_exports_the_catalogued_names(serving: Serving) -> None:
    post(f"{serving.llama}/v1/completions", {"model": "tiny", "prompt": "Hi", "max_tokens": 2})
    names = exported_names(text(f"{serving.llama}/metrics"))
    current, removed = catalogued(Source.LLAMA_CPP)
    assert current <= names, current - names
    assert not removed & names, "a metric catalogued as removed is exported"
    assert {n for n in names if n.startswith("llamacpp:")} - CATALOG.series_names() <= {
        # exported by the pinned llama.cpp too, but used by nothing of llmops, so not catalogued
        "llamacpp:prompt_tokens_cached_total", "llamacpp:n_tokens_max", "llamacpp:spec_decode_num_draft_tokens_total",
        "llamacpp:spec_decode_num_accepted_tokens_total", "llamacpp:spec_decode_num_drafts_total",
    }  # fmt: skip


def test_tritonserver_exports_the_catalogued_names(serving: Serving) -> None:
    names = exported_names(text(f"{serving.triton_metrics}/metrics"))
    current, _ = catalogued(Source.TRITON)
    assert current <= names, current - names


def serving_expressions() -> list[promql.Expression]:
    board = promql.dashboards()["llmops-serving.json"]
    wanted = []
    row = ""
    for panel in board["panels"]:
        if panel["type"] == "row":
            row = panel["title"]
            continue
        if row in {"llama.cpp", "Triton"} or panel["title"] == "Metrics targets up":
            wanted += [promql.Expression(f"{row}: {panel['title']} {t['refId']}", t["expr"]) for t in panel["targets"]]
    variables = [e for e in promql.dashboard_expressions("serving", board) if "variable" in e.where]
    return wanted + variables


@pytest.mark.parametrize("expression", serving_expressions(), ids=lambda e: e.where)
def test_every_llama_cpp_and_triton_dashboard_query_returns_data(
    serving: Serving, expression: promql.Expression
) -> None:
    query = promql.substitute(expression.expr, VARIABLES)
    wait_until(lambda: serving.prometheus.finite(query), 120, f"data for {expression.where}: {query}", every=2)


def test_runtime_rows_only_show_their_runtime(serving: Serving) -> None:
    """With runtime=triton selected, the llama.cpp row is empty and the Triton row is not."""
    board = promql.dashboards()["llmops-serving.json"]
    exprs = {e.where: e.expr for e in promql.dashboard_expressions("serving", board)}
    llama = next(v for k, v in exprs.items() if "Requests in flight" in k)
    triton = next(v for k, v in exprs.items() if "Inferences per second" in k)
    only_triton = {**VARIABLES, "runtime": "triton"}
    assert serving.prometheus.query(promql.substitute(llama, only_triton)) == []
    wait_until(lambda: serving.prometheus.finite(promql.substitute(triton, only_triton)), 60, "Triton data")


def test_serving_rules_evaluate_and_stay_silent_on_healthy_targets(serving: Serving) -> None:
    def evaluated() -> list[dict[str, Any]] | None:
        rules = [r for g in serving.prometheus.rules() if g["name"] == "llmops-serving" for r in g["rules"]]
        return (
            rules if rules and all(r["health"] == "ok" and r["lastEvaluation"][:4] != "0001" for r in rules) else None
        )

    rules = wait_until(evaluated, 30, "the serving rules to evaluate")
    assert all(r["state"] == "inactive" for r in rules), rules
