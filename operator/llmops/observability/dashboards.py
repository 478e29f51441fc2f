"""The Grafana dashboards, as code (grafana-foundation-sdk builders): the operator and the serving runtimes.

Both are ready for Grafana's dashboard sidecar: a fixed uid, title and tags, no numeric id, and every
query on the `${datasource}` variable (a Prometheus data source picked in the dashboard).
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from grafana_foundation_sdk.builders import dashboard as gd
from grafana_foundation_sdk.builders import prometheus as gp
from grafana_foundation_sdk.builders import stat as gs
from grafana_foundation_sdk.builders import timeseries as gt
from grafana_foundation_sdk.builders.common import StackingConfig, VizLegendOptions
from grafana_foundation_sdk.cog.encoder import JSONEncoder
from grafana_foundation_sdk.models.common import LegendDisplayMode, LegendPlacement, StackingMode
from grafana_foundation_sdk.models.dashboard import DataSourceRef, VariableHide, VariableRefresh, VariableSort

from llmops.observability.conventions import CONTROLLER, DEPLOYMENT, OPERATOR_JOB, RUNTIME

DATASOURCE = DataSourceRef(type_val="prometheus", uid="${datasource}")
TAGS = ["llmops"]
RATE = "$__rate_interval"

OPERATOR_UID = "llmops-operator"
SERVING_UID = "llmops-serving"


@dataclass(frozen=True)
class Query:
    expr: str
    legend: str = ""


@dataclass(frozen=True)
class Panel:
    title: str
    description: str
    queries: Sequence[Query]
    unit: str = "short"
    stat: bool = False
    stacked: bool = False
    width: int = 12
    height: int = 8
    min_zero: bool = True


@dataclass(frozen=True)
class Row:
    title: str
    panels: Sequence[Panel]


@dataclass
class _Ids:
    next_id: int = 1

    def take(self) -> int:
        self.next_id += 1
        return self.next_id - 1


def _panel(spec: Panel, ids: _Ids) -> gt.Panel | gs.Panel:
    builder: gt.Panel | gs.Panel
    if spec.stat:
        builder = gs.Panel()
    else:
        builder = gt.Panel().legend(
            VizLegendOptions().display_mode(LegendDisplayMode.LIST).placement(LegendPlacement.BOTTOM).show_legend(True)
        )
        if spec.stacked:
            builder = builder.stacking(StackingConfig().mode(StackingMode.NORMAL)).fill_opacity(30)
        else:
            builder = builder.fill_opacity(10)
    builder = (
        builder.id(ids.take())
        .title(spec.title)
        .description(spec.description)
        .datasource(DATASOURCE)
        .unit(spec.unit)
        .span(spec.width)
        .height(spec.height)
    )
    if spec.min_zero:
        builder = builder.min(0)
    for index, query in enumerate(spec.queries):
        target = gp.Dataquery().expr(query.expr).ref_id(chr(ord("A") + index)).datasource(DATASOURCE)
        if query.legend:
            target = target.legend_format(query.legend)
        target = target.instant() if spec.stat else target.range()
        builder = builder.with_target(target)
    return builder


def _dashboard(
    uid: str, title: str, description: str, variables: Sequence[gd.QueryVariable], rows: Sequence[Row]
) -> dict[str, Any]:
    ids = _Ids()
    board = (
        gd.Dashboard(title)
        .uid(uid)
        .description(description)
        .tags(TAGS)
        .editable()
        .refresh("30s")
        .time("now-3h", "now")
        .timezone("browser")
        .with_variable(gd.DatasourceVariable("datasource").label("Data source").type("prometheus"))
    )
    for variable in variables:
        board = board.with_variable(variable)
    for row in rows:
        board = board.with_row(gd.Row(row.title).id(ids.take()))
        for spec in row.panels:
            board = board.with_panel(_panel(spec, ids))
    encoded: dict[str, Any] = json.loads(JSONEncoder(sort_keys=True).encode(board.build()))
    # The SDK leaves `annotations` empty; Grafana's model is a list (it adds its built-in one on load).
    encoded["annotations"] = {"list": []}
    return encoded


def _query_variable(name: str, label: str, query: str, *, multi: bool = True) -> gd.QueryVariable:
    variable = (
        gd.QueryVariable(name)
        .label(label)
        .datasource(DATASOURCE)
        .query({"query": query, "refId": f"{name}-variable"})
        .refresh(VariableRefresh.ON_TIME_RANGE_CHANGED)
        .sort(VariableSort.ALPHABETICAL_ASC)
        .hide(VariableHide.DONT_HIDE)
    )
    if multi:
        variable = variable.multi(True).include_all(True).all_value(".*")
    return variable


# --- operator ----------------------------------------------------------------------------------------
def operator_dashboard() -> dict[str, Any]:
    job = 'job=~"$job"'
    ctl = f'{job}, controller="{CONTROLLER}"'
    reconcile_bucket = f"controller_runtime_reconcile_time_seconds_bucket{{{ctl}}}"

    def quantile(q: str, bucket: str, by: str = "le", window: str = RATE) -> str:
        return f"histogram_quantile({q}, sum by ({by}) (rate({bucket}[{window}])))"

    hits = f"sum by (format) (increase(llmops_artifact_cache_hits_total{{{job}}}[1h]))"
    misses = f"sum by (format) (increase(llmops_artifact_cache_misses_total{{{job}}}[1h]))"
    conversion_bucket = f"llmops_conversion_duration_seconds_bucket{{{job}}}"
    rows = [
        Row(
            "Overview",
            [
                Panel(
                    "Operator targets up",
                    "Scraped operator processes that answer.",
                    [Query(f"sum(up{{{job}}})")],
                    stat=True,
                    width=6,
                    height=4,
                ),
                Panel(
                    "LLMDeployments",
                    "LLMDeployments the operator knows, in any phase.",
                    [Query(f"sum(max by (phase) (llmops_llmdeployments{{{job}}}))")],
                    stat=True,
                    width=6,
                    height=4,
                ),
                Panel(
                    "Failed",
                    "LLMDeployments in phase Failed.",
                    [Query(f'max(llmops_llmdeployments{{{job}, phase="Failed"}})')],
                    stat=True,
                    width=6,
                    height=4,
                ),
                Panel(
                    "Reconcile error ratio",
                    "Share of reconciliations that raised, over the last 5 minutes.",
                    [
                        Query(
                            f"sum(rate(controller_runtime_reconcile_errors_total{{{ctl}}}[5m])) / "
                            f"sum(rate(controller_runtime_reconcile_total{{{ctl}}}[5m]))"
                        )
                    ],
                    unit="percentunit",
                    stat=True,
                    width=6,
                    height=4,
                ),
            ],
        ),
        Row(
            "Reconciliation",
            [
                Panel(
                    "Reconcile rate by result",
                    "Reconciliations per second: success (settled), requeue (waiting on a Job or rollout) and error.",
                    [
                        Query(
                            f"sum by (result) (rate(controller_runtime_reconcile_total{{{ctl}}}[{RATE}]))", "{{result}}"
                        )
                    ],
                    unit="ops",
                    stacked=True,
                ),
                Panel(
                    "Reconcile errors",
                    "Reconciliations that raised, per second (the operator retries them after 10 s).",
                    [Query(f"sum(rate(controller_runtime_reconcile_errors_total{{{ctl}}}[{RATE}]))", "errors")],
                    unit="ops",
                ),
                Panel(
                    "API server writes by verb",
                    "Writes the operator sent to the API server per second (kopf's own excluded). A steady rate "
                    "while nothing changes means objects are rewritten needlessly.",
                    [Query(f"sum by (verb) (rate(llmops_kubernetes_writes_total{{{job}}}[{RATE}]))", "{{verb}}")],
                    unit="ops",
                ),
                Panel(
                    "Reconcile latency",
                    "Time per reconciliation: 50th, 95th and 99th percentile.",
                    [
                        Query(quantile("0.5", reconcile_bucket), "p50"),
                        Query(quantile("0.95", reconcile_bucket), "p95"),
                        Query(quantile("0.99", reconcile_bucket), "p99"),
                    ],
                    unit="s",
                    width=12,
                ),
            ],
        ),
        Row(
            "LLMDeployments",
            [
                Panel(
                    "LLMDeployments by phase",
                    "How many LLMDeployments are in each status.phase.",
                    [Query(f"max by (phase) (llmops_llmdeployments{{{job}}})", "{{phase}}")],
                    stacked=True,
                    width=24,
                ),
            ],
        ),
        Row(
            "Conversions and artifact cache",
            [
                Panel(
                    "Conversions finished (last hour)",
                    "Artifacts converted and published, by format.",
                    [
                        Query(
                            f"sum by (format) (increase(llmops_conversion_duration_seconds_count{{{job}}}[1h]))",
                            "{{format}}",
                        )
                    ],
                ),
                Panel(
                    "Conversion duration (last 6 hours)",
                    "From the first conversion Job to the published artifact: median and 95th percentile by format.",
                    [
                        Query(quantile("0.5", conversion_bucket, "le, format", "6h"), "p50 {{format}}"),
                        Query(quantile("0.95", conversion_bucket, "le, format", "6h"), "p95 {{format}}"),
                    ],
                    unit="s",
                ),
                Panel(
                    "Artifact cache hit ratio (last hour)",
                    "Plans whose artifact already existed, out of all plans with a new artifact key, by format.",
                    [Query(f"{hits} / ({hits} + {misses})", "{{format}}")],
                    unit="percentunit",
                ),
                Panel(
                    "Artifact cache hits and misses",
                    "Plans per second that found (hit) or needed (miss) their artifact.",
                    [
                        Query(
                            f"sum by (format) (rate(llmops_artifact_cache_hits_total{{{job}}}[{RATE}]))",
                            "hit {{format}}",
                        ),
                        Query(
                            f"sum by (format) (rate(llmops_artifact_cache_misses_total{{{job}}}[{RATE}]))",
                            "miss {{format}}",
                        ),
                    ],
                    unit="ops",
                ),
            ],
        ),
        Row(
            "Operator process",
            [
                Panel(
                    "CPU",
                    "CPU seconds per second of each operator process.",
                    [Query(f"rate(process_cpu_seconds_total{{{job}}}[{RATE}])", "{{instance}}")],
                    unit="percentunit",
                ),
                Panel(
                    "Resident memory",
                    "Resident set size of each operator process.",
                    [Query(f"process_resident_memory_bytes{{{job}}}", "{{instance}}")],
                    unit="bytes",
                ),
            ],
        ),
    ]
    job_variable = _query_variable(
        "job", "Job", f'label_values(controller_runtime_reconcile_total{{controller="{CONTROLLER}"}}, job)'
    )
    return _dashboard(
        OPERATOR_UID,
        "llmops / Operator",
        f"The llmops operator: reconciliations, LLMDeployment phases, conversions and the artifact cache "
        f"(scrape job {OPERATOR_JOB}).",
        [job_variable],
        rows,
    )


# --- serving -----------------------------------------------------------------------------------------
def _selector(runtime: str | None = None, extra: str = "") -> str:
    parts = ['namespace=~"$namespace"', f'{RUNTIME}=~"$runtime"', f'{DEPLOYMENT}=~"$deployment"']
    if runtime:
        parts.append(f'{RUNTIME}="{runtime}"')
    if extra:
        parts.append(extra)
    return ", ".join(parts)


def _rate(metric: str, sel: str, by: str = DEPLOYMENT) -> str:
    return f"sum by ({by}) (rate({metric}{{{sel}}}[{RATE}]))"


def _histogram(q: str, metric: str, sel: str) -> str:
    return f"histogram_quantile({q}, sum by (le, {DEPLOYMENT}) (rate({metric}_bucket{{{sel}}}[{RATE}])))"


LEGEND = "{{" + DEPLOYMENT + "}}"


def _vllm_row() -> Row:
    sel = _selector("vllm")
    return Row(
        "vLLM",
        [
            Panel(
                "Request rate",
                "Finished requests per second by finish reason (vllm:request_success_total).",
                [
                    Query(
                        _rate("vllm:request_success_total", sel, f"{DEPLOYMENT}, finished_reason"),
                        f"{LEGEND} {{{{finished_reason}}}}",
                    )
                ],
                unit="reqps",
                width=8,
            ),
            Panel(
                "Latency",
                "End-to-end request latency and time to first token, 95th percentile.",
                [
                    Query(_histogram("0.95", "vllm:e2e_request_latency_seconds", sel), f"e2e p95 {LEGEND}"),
                    Query(_histogram("0.95", "vllm:time_to_first_token_seconds", sel), f"TTFT p95 {LEGEND}"),
                    Query(_histogram("0.5", "vllm:time_to_first_token_seconds", sel), f"TTFT p50 {LEGEND}"),
                ],
                unit="s",
                width=8,
            ),
            Panel(
                "Queue",
                "Requests waiting and running; waiting is what the HPA scales on.",
                [
                    Query(f"sum by ({DEPLOYMENT}) (vllm:num_requests_waiting{{{sel}}})", f"waiting {LEGEND}"),
                    Query(f"sum by ({DEPLOYMENT}) (vllm:num_requests_running{{{sel}}})", f"running {LEGEND}"),
                ],
                width=8,
            ),
            Panel(
                "Tokens per second",
                "Prompt (prefill) and generated tokens per second.",
                [
                    Query(_rate("vllm:prompt_tokens_total", sel), f"prompt {LEGEND}"),
                    Query(_rate("vllm:generation_tokens_total", sel), f"generation {LEGEND}"),
                ],
                unit="short",
                width=8,
            ),
            Panel(
                "Queue time",
                "Time requests spent waiting before they run, 95th percentile.",
                [Query(_histogram("0.95", "vllm:request_queue_time_seconds", sel), f"p95 {LEGEND}")],
                unit="s",
                width=8,
            ),
            Panel(
                "KV-cache usage",
                "Share of KV-cache blocks in use, the busiest replica (vllm:kv_cache_usage_perc).",
                [Query(f"max by ({DEPLOYMENT}) (vllm:kv_cache_usage_perc{{{sel}}})", LEGEND)],
                unit="percentunit",
                width=8,
            ),
        ],
    )


def _llama_cpp_row() -> Row:
    sel = _selector("llama-cpp")

    def per_token(seconds: str, tokens: str) -> str:
        return f"{_rate(seconds, sel)} / {_rate(tokens, sel)}"

    return Row(
        "llama.cpp",
        [
            Panel(
                "Requests in flight",
                "llama-server has no request counter: requests being processed (busy "
                "slots) and deferred (no free slot: the queue the HPA scales on).",
                [
                    Query(f"sum by ({DEPLOYMENT}) (llamacpp:requests_processing{{{sel}}})", f"processing {LEGEND}"),
                    Query(f"sum by ({DEPLOYMENT}) (llamacpp:requests_deferred{{{sel}}})", f"deferred {LEGEND}"),
                ],
                width=8,
            ),
            Panel(
                "Latency per token",
                "Seconds per prompt token and per generated token, from the cumulative "
                "processing times (llama-server exports no request-latency histogram).",
                [
                    Query(
                        per_token("llamacpp:prompt_seconds_total", "llamacpp:prompt_tokens_total"), f"prompt {LEGEND}"
                    ),
                    Query(
                        per_token("llamacpp:tokens_predicted_seconds_total", "llamacpp:tokens_predicted_total"),
                        f"generation {LEGEND}",
                    ),
                ],
                unit="s",
                width=8,
            ),
            Panel(
                "Tokens per second",
                "Prompt and generated tokens per second.",
                [
                    Query(_rate("llamacpp:prompt_tokens_total", sel), f"prompt {LEGEND}"),
                    Query(_rate("llamacpp:tokens_predicted_total", sel), f"generation {LEGEND}"),
                ],
                width=8,
            ),
            Panel(
                "Busy slots per decode",
                "Average busy slots per llama_decode() call: how well requests batch.",
                [Query(f"max by ({DEPLOYMENT}) (llamacpp:n_busy_slots_per_decode{{{sel}}})", LEGEND)],
                width=12,
            ),
            Panel(
                "Decode calls per second",
                "llama_decode() calls per second.",
                [Query(_rate("llamacpp:n_decode_total", sel), LEGEND)],
                unit="ops",
                width=12,
            ),
        ],
    )


def _triton_row() -> Row:
    sel = _selector("triton")
    by = f"{DEPLOYMENT}, model"

    def average_us(duration: str) -> str:
        # cumulative microseconds / requests = average seconds per request
        return f"{_rate(duration, sel, by)} / {_rate('nv_inference_request_success', sel, by)} / 1e6"

    return Row(
        "Triton",
        [
            Panel(
                "Request rate",
                "Successful and failed inference requests per second, by model.",
                [
                    Query(_rate("nv_inference_request_success", sel, by), f"success {LEGEND} {{{{model}}}}"),
                    Query(_rate("nv_inference_request_failure", sel, by), f"failure {LEGEND} {{{{model}}}}"),
                ],
                unit="reqps",
                width=8,
            ),
            Panel(
                "Latency",
                "Average request, queue and compute time per successful request, by model.",
                [
                    Query(average_us("nv_inference_request_duration_us"), f"request {LEGEND} {{{{model}}}}"),
                    Query(average_us("nv_inference_queue_duration_us"), f"queue {LEGEND} {{{{model}}}}"),
                    Query(average_us("nv_inference_compute_infer_duration_us"), f"compute {LEGEND} {{{{model}}}}"),
                ],
                unit="s",
                width=8,
            ),
            Panel(
                "Queue",
                "Requests pending in the scheduler (what the HPA scales on).",
                [Query(f"sum by ({by}) (nv_inference_pending_request_count{{{sel}}})", f"{LEGEND} {{{{model}}}}")],
                width=8,
            ),
            Panel(
                "Inferences per second",
                "Inferences (batch items) and model executions per second; Triton's "
                "Python backend exports no token counts.",
                [
                    Query(_rate("nv_inference_count", sel, by), f"inferences {LEGEND} {{{{model}}}}"),
                    Query(_rate("nv_inference_exec_count", sel, by), f"executions {LEGEND} {{{{model}}}}"),
                ],
                unit="ops",
                width=12,
            ),
            Panel(
                "Host CPU",
                "CPU utilisation of the serving pods' hosts (--allow-cpu-metrics).",
                [Query(f"max by ({DEPLOYMENT}) (nv_cpu_utilization{{{sel}}})", LEGEND)],
                unit="percentunit",
                width=12,
            ),
        ],
    )


def _nim_row() -> Row:
    # Names of NIM for LLMs' documentation (catalog: Evidence.DOCS); they vary between NIM releases.
    sel = _selector("nim")
    return Row(
        "NIM",
        [
            Panel(
                "Request rate",
                "Successful and failed requests per second (NIM for LLMs metric names).",
                [
                    Query(_rate("request_success_total", sel), f"success {LEGEND}"),
                    Query(_rate("request_failure_total", sel), f"failure {LEGEND}"),
                ],
                unit="reqps",
                width=8,
            ),
            Panel(
                "Latency",
                "End-to-end latency and time to first token, 95th percentile.",
                [
                    Query(_histogram("0.95", "e2e_request_latency_seconds", sel), f"e2e p95 {LEGEND}"),
                    Query(_histogram("0.95", "time_to_first_token_seconds", sel), f"TTFT p95 {LEGEND}"),
                ],
                unit="s",
                width=8,
            ),
            Panel(
                "Queue",
                "Requests waiting and running.",
                [
                    Query(f"sum by ({DEPLOYMENT}) (num_requests_waiting{{{sel}}})", f"waiting {LEGEND}"),
                    Query(f"sum by ({DEPLOYMENT}) (num_requests_running{{{sel}}})", f"running {LEGEND}"),
                ],
                width=8,
            ),
            Panel(
                "Tokens per second",
                "Prompt and generated tokens per second.",
                [
                    Query(_rate("prompt_tokens_total", sel), f"prompt {LEGEND}"),
                    Query(_rate("generation_tokens_total", sel), f"generation {LEGEND}"),
                ],
                width=12,
            ),
            Panel(
                "KV-cache usage",
                "NIM's gpu_cache_usage_perc, the busiest replica.",
                [Query(f"max by ({DEPLOYMENT}) (gpu_cache_usage_perc{{{sel}}})", LEGEND)],
                unit="percentunit",
                width=12,
            ),
        ],
    )


def _tensorrt_llm_row() -> Row:
    # trtllm-serve's /prometheus/metrics exports latency histograms and request counts only, no token rates.
    sel = _selector("tensorrt-llm")
    return Row(
        "TensorRT-LLM (trtllm-serve)",
        [
            Panel(
                "Request rate",
                "Finished requests per second by finish reason (/prometheus/metrics).",
                [
                    Query(
                        _rate("request_success_total", sel, f"{DEPLOYMENT}, finished_reason"),
                        f"{LEGEND} {{{{finished_reason}}}}",
                    )
                ],
                unit="reqps",
                width=8,
            ),
            Panel(
                "Latency",
                "End-to-end latency and time to first token, 95th percentile.",
                [
                    Query(_histogram("0.95", "e2e_request_latency_seconds", sel), f"e2e p95 {LEGEND}"),
                    Query(_histogram("0.95", "time_to_first_token_seconds", sel), f"TTFT p95 {LEGEND}"),
                ],
                unit="s",
                width=8,
            ),
            Panel(
                "Queue time",
                "Time requests waited before they were scheduled, 95th percentile.",
                [Query(_histogram("0.95", "request_queue_time_seconds", sel), f"p95 {LEGEND}")],
                unit="s",
                width=8,
            ),
        ],
    )


def _replicas_row() -> Row:
    ns = 'namespace=~"$namespace"'
    deployment = f'{ns}, deployment=~"$deployment"'
    hpa = f'{ns}, horizontalpodautoscaler=~"$deployment"'
    return Row(
        "Replicas and autoscaling",
        [
            Panel(
                "Replicas vs HPA target",
                "Ready and desired replicas of each serving Deployment, and what its "
                "HorizontalPodAutoscaler wants and allows (kube-state-metrics).",
                [
                    Query(
                        f"sum by (deployment) (kube_deployment_status_replicas_ready{{{deployment}}})",
                        "ready {{deployment}}",
                    ),
                    Query(
                        f"sum by (deployment) (kube_deployment_spec_replicas{{{deployment}}})", "desired {{deployment}}"
                    ),
                    Query(
                        f"sum by (horizontalpodautoscaler) "
                        f"(kube_horizontalpodautoscaler_status_desired_replicas{{{hpa}}})",
                        "HPA target {{horizontalpodautoscaler}}",
                    ),
                    Query(
                        f"sum by (horizontalpodautoscaler) (kube_horizontalpodautoscaler_spec_max_replicas{{{hpa}}})",
                        "HPA max {{horizontalpodautoscaler}}",
                    ),
                ],
                width=16,
            ),
            Panel(
                "Metrics targets up",
                "Serving pods whose metrics endpoint answers.",
                [Query(f"sum by ({DEPLOYMENT}, {RUNTIME}) (up{{{_selector()}}})", f"{LEGEND} ({{{{{RUNTIME}}}}})")],
                width=8,
            ),
        ],
    )


def serving_dashboard() -> dict[str, Any]:
    scraped = f'{RUNTIME}!=""'
    variables = [
        _query_variable("namespace", "Namespace", f"label_values(up{{{scraped}}}, namespace)"),
        _query_variable("runtime", "Runtime", f'label_values(up{{{scraped}, namespace=~"$namespace"}}, {RUNTIME})'),
        _query_variable(
            "deployment",
            "LLMDeployment",
            f'label_values(up{{namespace=~"$namespace", {RUNTIME}=~"$runtime"}}, {DEPLOYMENT})',
        ),
    ]
    rows = [_replicas_row(), _vllm_row(), _llama_cpp_row(), _triton_row(), _nim_row(), _tensorrt_llm_row()]
    return _dashboard(
        SERVING_UID,
        "llmops / Serving",
        "LLMDeployments' serving runtimes: request rate, latency, queue, tokens per second and replicas against "
        "the HPA. Runtime rows stay empty unless an LLMDeployment of that runtime is selected.",
        variables,
        rows,
    )


DASHBOARDS = {"llmops-operator.json": operator_dashboard, "llmops-serving.json": serving_dashboard}
