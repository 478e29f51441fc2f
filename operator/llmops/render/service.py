"""The Service in front of the serving pods: the endpoint clients and Prometheus use."""

from typing import Any

from llmops.render import common
from llmops.render.context import RenderContext
from llmops.render.runtimes.base import ServingContainer

Obj = dict[str, Any]


def service(ctx: RenderContext, container: ServingContainer) -> Obj:
    """A ClusterIP Service named like the LLMDeployment, one port per container port."""
    return {
        "apiVersion": "v1",
        "kind": "Service",
        "metadata": common.metadata(ctx, ctx.owner.name, common.serving_labels(ctx)),
        "spec": {
            "type": "ClusterIP",
            "selector": common.selector_labels(ctx),
            "ports": [
                {"name": name, "port": port, "targetPort": name, "protocol": "TCP"}
                for name, port in container.ports.items()
            ],
        },
    }


def endpoint_url(ctx: RenderContext, container: ServingContainer) -> str:
    """The in-cluster URL of the API port."""
    return f"http://{ctx.owner.name}.{ctx.owner.namespace}.svc:{container.ports['http']}"
