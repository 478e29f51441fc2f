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


def test_vllm_kv_cache_is_the_current_name_and_the_gpu_one_is_deprecated() -> None:
    (current,) = CATALOG.lookup("vllm:kv_cache_usage_perc")
    (old,) = CATALOG.lookup("vllm:gpu_cache_usage_perc")
    assert current.status is Status.CURRENT and old.status is Status.DEPRECATED
