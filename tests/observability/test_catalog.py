"""The metric catalog against the code that produces or consumes metric names."""

from __future__ import annotations

from prometheus_client.metrics import MetricWrapperBase

from llmops.api.enums import Runtime
from llmops.observability import conventions
from llmops.observability.catalog import CATALOG, Kind, Source, Status
from llmops.planning.metrics import SCALING_SIGNALS
from llmops.reconcile import metrics as operator_metrics
from llmops.render import common


def test_every_autoscaling_metric_of_the_planner_is_catalogued_for_its_runtime() -> None:
    for runtime, signals in SCALING_SIGNALS.items():
        source = Source(runtime.value)
        for signal in signals.values():
            assert signal.metric in {m.name for m in CATALOG.of(source)}, f"{runtime}: {signal.metric}"


def test_the_planner_scales_only_on_metrics_the_runtime_still_exports() -> None:
    stale = {
        signal.metric
        for runtime, signals in SCALING_SIGNALS.items()
        for signal in signals.values()
        if any(m.status is not Status.CURRENT for m in CATALOG.lookup(signal.metric) if m.source.value == runtime)
    }
    assert not stale, f"the planner scales on metrics the runtime no longer exports: {stale}"


def test_operator_metrics_are_catalogued_as_the_operator_defines_them() -> None:
    defined = {}
    for value in vars(operator_metrics).values():
        if isinstance(value, MetricWrapperBase):
            (family,) = value.describe()
            name = family.name + ("_total" if family.type == "counter" else "")
            defined[name] = (Kind(family.type), tuple(value._labelnames))
    catalogued = {m.name: (m.kind, m.labels) for m in CATALOG.of(Source.OPERATOR)}
    assert catalogued == defined


def test_conventions_match_the_operator_and_the_renderer() -> None:
    assert conventions.CONTROLLER == operator_metrics.CONTROLLER
    assert conventions.POD_DEPLOYMENT_LABEL == common.DEPLOYMENT_LABEL
    assert conventions.POD_RUNTIME_LABEL == common.RUNTIME_LABEL
    assert (conventions.DEPLOYMENT, conventions.RUNTIME) == ("llmops_dev_deployment", "llmops_dev_runtime")
    assert conventions.target_label("app.kubernetes.io/name") == "app_kubernetes_io_name"


def test_histograms_expose_bucket_sum_and_count() -> None:
    (reconcile,) = [m for m in CATALOG.of(Source.OPERATOR) if m.name == "controller_runtime_reconcile_time_seconds"]
    suffixes = ("bucket", "sum", "count", "created")
    assert reconcile.series == tuple(f"controller_runtime_reconcile_time_seconds_{s}" for s in suffixes)
    assert CATALOG.lookup("controller_runtime_reconcile_time_seconds") == ()
    assert CATALOG.lookup("controller_runtime_reconcile_time_seconds_bucket") == (reconcile,)


def test_runtimes_without_scaling_signals_still_have_catalogued_metrics() -> None:
    for runtime in Runtime:
        if runtime is not Runtime.AUTO:
            assert CATALOG.of(Source(runtime.value)), runtime


def test_vllm_kv_cache_is_the_current_name_and_the_gpu_one_is_gone() -> None:
    """vLLM 0.26.0, the pinned release, does not export vllm:gpu_cache_usage_perc."""
    (current,) = CATALOG.lookup("vllm:kv_cache_usage_perc")
    (old,) = CATALOG.lookup("vllm:gpu_cache_usage_perc")
    assert current.status is Status.CURRENT and old.status is Status.REMOVED
    assert "vllm:kv_cache_usage_perc" in old.note


def test_vllm_per_token_latency_is_inter_token_latency_since_tpot_was_removed() -> None:
    """vLLM 0.26.0 exports no vllm:time_per_output_token_seconds; its two replacements are current."""
    (old,) = CATALOG.lookup("vllm:time_per_output_token_seconds_bucket")
    assert old.status is Status.REMOVED and "0.26.0" in old.note
    for replacement in ("vllm:inter_token_latency_seconds", "vllm:request_time_per_output_token_seconds"):
        assert replacement in old.note
        (new,) = CATALOG.lookup(f"{replacement}_bucket")
        assert new.kind is Kind.HISTOGRAM and new.status is Status.CURRENT and new.source is Source.VLLM
    # NIM and trtllm-serve name their own, unprefixed, histogram alike; that one is unaffected.
    assert {m.source for m in CATALOG.lookup("time_per_output_token_seconds_bucket")} == {
        Source.NIM,
        Source.TENSORRT_LLM,
    }


def test_vllm_0_26_families_are_catalogued_with_their_labels() -> None:
    def one(series: str) -> tuple[Kind, tuple[str, ...]]:
        (metric,) = CATALOG.lookup(series)
        assert metric.source is Source.VLLM and metric.status is Status.CURRENT, series
        return metric.kind, metric.labels

    labels = ("model_name", "engine")
    assert one("vllm:num_requests_waiting_by_reason") == (Kind.GAUGE, (*labels, "reason"))
    assert one("vllm:prompt_tokens_cached_total") == (Kind.COUNTER, labels)
    assert one("vllm:prompt_tokens_by_source_total") == (Kind.COUNTER, (*labels, "source"))
    assert one("vllm:iteration_tokens_total_bucket") == (Kind.HISTOGRAM, labels)
    kind, info_labels = one("vllm:cache_config_info")
    assert kind is Kind.GAUGE and {"num_gpu_blocks", "gpu_memory_utilization"} <= set(info_labels)


def test_vllm_counters_and_histograms_have_created_series_as_prometheus_client_names_them() -> None:
    """prometheus-client drops a counter's _total before _created, but keeps a histogram's name whole."""
    assert CATALOG.lookup("vllm:prompt_tokens_created") == CATALOG.lookup("vllm:prompt_tokens_total")
    assert CATALOG.lookup("vllm:iteration_tokens_total_created") == CATALOG.lookup("vllm:iteration_tokens_total_sum")
    assert CATALOG.lookup("vllm:e2e_request_latency_seconds_created")
    assert not CATALOG.lookup("vllm:num_requests_waiting_created"), "gauges have none"
    for metric in CATALOG.of(Source.VLLM):
        assert metric.created
