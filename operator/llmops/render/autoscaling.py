"""The HorizontalPodAutoscaler (autoscaling/v2) on cpu or on the runtime's own queue/cache metric."""

from typing import Any

from llmops.api.enums import ScalingMetric
from llmops.render import common
from llmops.render.context import RenderContext

Obj = dict[str, Any]


def _pods_target(unit: str, target: str) -> Obj:
    if unit == "percent":
        # The runtimes export a 0..1 ratio; the user writes a percentage.
        return {"type": "AverageValue", "averageValue": f"{round(float(target) * 10)}m"}
    return {"type": "AverageValue", "averageValue": target}


def horizontal_pod_autoscaler(ctx: RenderContext) -> Obj:
    """The HPA scaling the serving Deployment between minReplicas and maxReplicas."""
    scaling = ctx.plan.scaling
    if scaling.metric is ScalingMetric.CPU or scaling.signal is None:
        metric: Obj = {
            "type": "Resource",
            "resource": {
                "name": "cpu",
                "target": {"type": "Utilization", "averageUtilization": int(float(scaling.target))},
            },
        }
    else:
        # Pods metrics come from a custom-metrics adapter (prometheus-adapter, KEDA) under the runtime's name.
        metric = {
            "type": "Pods",
            "pods": {
                "metric": {"name": scaling.signal.metric},
                "target": _pods_target(scaling.signal.unit, scaling.target),
            },
        }
    auto = ctx.spec.autoscaling
    return {
        "apiVersion": "autoscaling/v2",
        "kind": "HorizontalPodAutoscaler",
        "metadata": common.metadata(ctx, ctx.owner.name, common.serving_labels(ctx)),
        "spec": {
            "scaleTargetRef": {"apiVersion": "apps/v1", "kind": "Deployment", "name": ctx.owner.name},
            "minReplicas": auto.min_replicas,
            "maxReplicas": auto.max_replicas,
            "metrics": [metric],
            "behavior": {"scaleDown": {"stabilizationWindowSeconds": auto.scale_down_stabilization_seconds}},
        },
    }
