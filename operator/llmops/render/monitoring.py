"""The ServiceMonitor (prometheus-operator) that scrapes the runtime's metrics endpoint."""

from typing import Any

from llmops.api.enums import Toggle
from llmops.render import common
from llmops.render.context import RenderContext
from llmops.render.runtimes.base import ServingContainer

Obj = dict[str, Any]


def wanted(ctx: RenderContext) -> bool:
    """A ServiceMonitor is rendered when monitoring is on and it is enabled, or auto and the CRD exists."""
    mode = ctx.spec.monitoring.service_monitor
    if not ctx.spec.monitoring.enabled or mode is Toggle.DISABLED:
        return False
    return mode is Toggle.ENABLED or ctx.facts.service_monitor_crd


def service_monitor(ctx: RenderContext, container: ServingContainer) -> Obj:
    """Scrape the Service's metrics port every 15 s."""
    return {
        "apiVersion": "monitoring.coreos.com/v1",
        "kind": "ServiceMonitor",
        "metadata": common.metadata(ctx, ctx.owner.name, common.serving_labels(ctx)),
        "spec": {
            "selector": {"matchLabels": common.selector_labels(ctx)},
            "namespaceSelector": {"matchNames": [ctx.owner.namespace]},
            "endpoints": [{"port": container.metrics.port, "path": container.metrics.path, "interval": "15s"}],
            # Series carry llmops_dev_deployment/llmops_dev_runtime: the dashboards and alerts select on them.
            "targetLabels": [common.DEPLOYMENT_LABEL, common.RUNTIME_LABEL],
        },
    }
