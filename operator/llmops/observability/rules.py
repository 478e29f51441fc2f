"""The alerting rules, as code: a Prometheus rule file (`groups:`), embedded by the chart into a PrometheusRule."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from llmops.observability.conventions import CONTROLLER, DEPLOYMENT, OPERATOR_JOB, RUNTIME

# Where each alert's runbook section lives (docs/observability.md, one heading per alert).
RUNBOOK_BASE = "docs/observability.md"


@dataclass(frozen=True)
class Alert:
    name: str
    expr: str
    duration: str  # `for:`
    severity: str
    summary: str
    description: str

    def rule(self) -> dict[str, Any]:
        return {
            "alert": self.name,
            "expr": self.expr,
            "for": self.duration,
            "labels": {"severity": self.severity},
            "annotations": {
                "summary": self.summary,
                "description": self.description,
                "runbook_url": f"{RUNBOOK_BASE}#{self.name.lower()}",
            },
        }


_CTL = f'controller="{CONTROLLER}"'

OPERATOR_ALERTS = (
    Alert(
        "LLMOpsOperatorDown",
        f'absent(up{{job="{OPERATOR_JOB}"}} == 1)',
        "5m",
        "critical",
        "The llmops operator is down or not scraped.",
        f'No target of job "{OPERATOR_JOB}" has answered a scrape for 5 minutes: LLMDeployments are not '
        "reconciled. Check the operator Deployment, its pods' logs and the ServiceMonitor.",
    ),
    Alert(
        "LLMOpsReconcileErrors",
        f"sum by (job, namespace) (rate(controller_runtime_reconcile_errors_total{{{_CTL}}}[5m]))\n"
        f"  / sum by (job, namespace) (rate(controller_runtime_reconcile_total{{{_CTL}}}[5m])) > 0.1",
        "15m",
        "warning",
        "More than 10% of LLMDeployment reconciliations fail.",
        "{{ $value | humanizePercentage }} of the reconciliations of {{ $labels.job }} in {{ $labels.namespace }} "
        "raised over the last 5 minutes. The operator log names the object and the error (API errors, RBAC, quota).",
    ),
    Alert(
        "LLMOpsReconcileSlow",
        f"histogram_quantile(0.99, sum by (job, namespace, le) "
        f"(rate(controller_runtime_reconcile_time_seconds_bucket{{{_CTL}}}[10m]))) > 10",
        "30m",
        "warning",
        "LLMDeployment reconciliations are slow.",
        "The 99th percentile reconciliation time of {{ $labels.job }} is {{ $value | humanizeDuration }}: the API "
        "server is slow or the operator is starved of CPU.",
    ),
    Alert(
        "LLMDeploymentsFailed",
        'max by (job, namespace) (llmops_llmdeployments{phase="Failed"}) > 0',
        "10m",
        "warning",
        "LLMDeployments are in phase Failed.",
        "{{ $value }} LLMDeployment(s) have been Failed for 10 minutes (a refused spec or a failed conversion). "
        "`kubectl get llmdeployments -A` lists them; the Ready condition says why.",
    ),
    Alert(
        "LLMDeploymentsDegraded",
        'max by (job, namespace) (llmops_llmdeployments{phase="Degraded"}) > 0',
        "15m",
        "warning",
        "LLMDeployments are Degraded.",
        "{{ $value }} LLMDeployment(s) have served with fewer ready replicas than wanted for 15 minutes. "
        "Check the serving pods' events (scheduling, image pulls, OOM, probes).",
    ),
    Alert(
        "LLMOpsConversionStuck",
        'max by (job, namespace) (llmops_llmdeployments{phase="Converting"}) > 0',
        "3h",
        "warning",
        "An LLMDeployment has been converting for over 3 hours.",
        "{{ $value }} LLMDeployment(s) have been in phase Converting for 3 hours. Check the conversion Jobs "
        "(`kubectl get jobs -l app.kubernetes.io/component=conversion -A`) and their pods.",
    ),
    Alert(
        "LLMOpsConversionSlow",
        "sum by (job, namespace, format) (increase(llmops_conversion_duration_seconds_count[6h]))\n"
        '  - sum by (job, namespace, format) (increase(llmops_conversion_duration_seconds_bucket{le="7200"}[6h]))'
        " > 0",
        "0m",
        "info",
        "A model conversion took longer than 2 hours.",
        "{{ $value }} {{ $labels.format }} conversion(s) finished in the last 6 hours took over 2 hours. Large "
        "models convert slowly; a sudden change points at the builder nodes or the model store.",
    ),
)

SERVING_ALERTS = (
    Alert(
        "LLMDeploymentMetricsDown",
        f'up{{{RUNTIME}!=""}} == 0',
        "10m",
        "warning",
        "A serving pod's metrics endpoint does not answer.",
        f"{{{{ $labels.pod }}}} of LLMDeployment {{{{ $labels.{DEPLOYMENT} }}}} ({{{{ $labels.{RUNTIME} }}}}) in "
        "{{ $labels.namespace }} has failed its scrapes for 10 minutes: its dashboards are blind and an HPA on "
        "its metrics cannot scale.",
    ),
)

GROUPS = (("llmops-operator", OPERATOR_ALERTS), ("llmops-serving", SERVING_ALERTS))


def rule_file() -> dict[str, Any]:
    """The rule file: one group per concern."""
    return {"groups": [{"name": name, "rules": [a.rule() for a in alerts]} for name, alerts in GROUPS]}
