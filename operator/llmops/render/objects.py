"""All desired objects of one LLMDeployment, in apply order."""

from typing import Any

from llmops.api.enums import Runtime
from llmops.render import autoscaling, deployment, job, monitoring, service, storage
from llmops.render.context import RenderContext
from llmops.render.runtimes import llamacpp, nim, tensorrtllm, triton, vllm
from llmops.render.runtimes.base import ServingContainer

Obj = dict[str, Any]

RUNTIMES = {
    Runtime.TRITON: triton.container,
    Runtime.TENSORRT_LLM: tensorrtllm.container,
    Runtime.NIM: nim.container,
    Runtime.VLLM: vllm.container,
    Runtime.LLAMA_CPP: llamacpp.container,
}


def serving_container(ctx: RenderContext) -> ServingContainer:
    """The planned runtime's container."""
    return RUNTIMES[ctx.plan.runtime](ctx)


def serving_objects(ctx: RenderContext, container: ServingContainer | None = None) -> list[Obj]:
    """Deployment, Service, and (if wanted) HPA and ServiceMonitor (`container` if already rendered)."""
    container = container or serving_container(ctx)
    objects = [deployment.deployment(ctx, container), service.service(ctx, container)]
    if ctx.spec.autoscaling.enabled:
        objects.append(autoscaling.horizontal_pod_autoscaler(ctx))
    if monitoring.wanted(ctx):
        objects.append(monitoring.service_monitor(ctx, container))
    return objects


def conversion_objects(ctx: RenderContext) -> list[Obj]:
    """The models claim (if llmops owns it) and the conversion Jobs."""
    claim = storage.models_claim(ctx)
    return ([claim] if claim else []) + job.conversion_jobs(ctx)


def desired_objects(ctx: RenderContext) -> list[Obj]:
    """Everything the operator would apply for this LLMDeployment."""
    return conversion_objects(ctx) + serving_objects(ctx)
