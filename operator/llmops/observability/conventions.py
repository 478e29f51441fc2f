"""Label and job names the dashboards and alert rules assume of the scrape configuration.

- The operator's metrics are scraped under job="llmops-operator" (OPERATOR_JOB): the chart's
  ServiceMonitor relabels `job` to it, so the rules do not depend on the release's Service name.
- A serving target carries the LLMDeployment's name and runtime as the target labels
  llmops_dev_deployment and llmops_dev_runtime: the ServiceMonitor copies the Service labels
  llmops.dev/deployment and llmops.dev/runtime with `targetLabels` (Prometheus turns every character
  that is not [a-zA-Z0-9_] into `_`). prometheus-operator adds `namespace`, `service` and `pod`.
- kube-state-metrics names the serving Deployment and its HPA after the LLMDeployment.
"""

from typing import Final

OPERATOR_JOB: Final = "llmops-operator"
CONTROLLER: Final = "llmdeployment"  # llmops.reconcile.metrics.CONTROLLER

POD_DEPLOYMENT_LABEL: Final = "llmops.dev/deployment"  # llmops.render.common.DEPLOYMENT_LABEL
POD_RUNTIME_LABEL: Final = "llmops.dev/runtime"  # llmops.render.common.RUNTIME_LABEL


def target_label(kubernetes_label: str) -> str:
    """The Prometheus label name a ServiceMonitor `targetLabels` entry becomes."""
    return "".join(ch if ch.isascii() and (ch.isalnum() or ch == "_") else "_" for ch in kubernetes_label)


DEPLOYMENT: Final = target_label(POD_DEPLOYMENT_LABEL)  # llmops_dev_deployment
RUNTIME: Final = target_label(POD_RUNTIME_LABEL)  # llmops_dev_runtime
# Labels every scraped serving series carries besides the exporter's own.
TARGET_LABELS: Final = frozenset({"job", "instance", "namespace", "service", "pod", "container", "endpoint",
                                  DEPLOYMENT, RUNTIME})  # fmt: skip
