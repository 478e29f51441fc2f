"""Each runtime's Prometheus metrics: the names HPA metrics, monitors and dashboards rely on."""

from dataclasses import dataclass

from llmops.api.enums import Runtime, ScalingMetric


@dataclass(frozen=True)
class ScalingSignal:
    """A runtime metric an HPA can target, with its default target and unit."""

    metric: str
    default_target: str
    unit: str  # count, percent (of a 0..1 ratio gauge) or milliseconds


# Names as the runtimes export them (vLLM /metrics, Triton :8002/metrics, llama-server --metrics).
SCALING_SIGNALS: dict[Runtime, dict[ScalingMetric, ScalingSignal]] = {
    Runtime.VLLM: {
        ScalingMetric.REQUESTS_WAITING: ScalingSignal("vllm:num_requests_waiting", "5", "count"),
        # vLLM's own scheduler admits hundreds of sequences on a large card, so nothing waits and the KV cache stays
        # nearly empty long before a replica is slow: on an H200 a 1 B model peaked at 0 waiting and 0.6 % KV cache
        # with 128 concurrent requests, while TTFT p50 went from ~100 ms at 32 to ~300 ms at 128 (bench/gpu/results).
        ScalingMetric.REQUESTS_RUNNING: ScalingSignal("vllm:num_requests_running", "32", "count"),
        ScalingMetric.KV_CACHE: ScalingSignal("vllm:kv_cache_usage_perc", "80", "percent"),
    },
    Runtime.TRITON: {
        ScalingMetric.REQUESTS_WAITING: ScalingSignal("nv_inference_pending_request_count", "5", "count"),
        ScalingMetric.QUEUE_TIME: ScalingSignal("nv_inference_queue_duration_us", "50", "milliseconds"),
    },
    # llama-server dropped llamacpp:kv_cache_usage_ratio (ggml-org/llama.cpp#13660); only the queue remains.
    Runtime.LLAMA_CPP: {
        ScalingMetric.REQUESTS_WAITING: ScalingSignal("llamacpp:requests_deferred", "2", "count"),
    },
    # NIM and trtllm-serve metric names differ between releases; llmops scales them on cpu only.
    Runtime.NIM: {},
    Runtime.TENSORRT_LLM: {},
}

CPU_DEFAULT_TARGET = "80"
