"""The operator's Prometheus metrics: controller-runtime-compatible names plus llmops' own."""

from prometheus_client import Counter, Gauge, Histogram

CONTROLLER = "llmdeployment"

RECONCILE_TOTAL = Counter(
    "controller_runtime_reconcile_total", "Reconciliations by controller and result.", ["controller", "result"]
)
RECONCILE_ERRORS = Counter(
    "controller_runtime_reconcile_errors_total", "Reconciliations that raised an error.", ["controller"]
)
RECONCILE_TIME = Histogram(
    "controller_runtime_reconcile_time_seconds",
    "Time per reconciliation.",
    ["controller"],
    buckets=(0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30),
)
CONVERSION_DURATION = Histogram(
    "llmops_conversion_duration_seconds",
    "From the first conversion Job to the published artifact.",
    ["format"],
    buckets=(10, 30, 60, 120, 300, 600, 1200, 1800, 3600, 7200, 14400),
)
CACHE_HITS = Counter("llmops_artifact_cache_hits_total", "Plans whose artifact already existed.", ["format"])
CACHE_MISSES = Counter("llmops_artifact_cache_misses_total", "Plans that needed a conversion.", ["format"])
DEPLOYMENTS = Gauge("llmops_llmdeployments", "LLMDeployments by phase.", ["phase"])
API_WRITES = Counter(
    "llmops_kubernetes_writes_total", "Writes the operator sent to the API server (kopf's own excluded).", ["verb"]
)
