"""Desired state as one pure function of an LLMDeployment and the cluster facts: the plan and every object."""

from dataclasses import dataclass
from typing import Any

from llmops.api.resource import LLMDeployment
from llmops.planning.facts import ClusterFacts
from llmops.planning.planner import Plan, PlanError, plan
from llmops.render import objects
from llmops.render.context import Owner, RenderContext


@dataclass(frozen=True)
class DesiredState:
    """The plan, the render context and the objects it yields."""

    plan: Plan
    context: RenderContext
    objects: list[dict[str, Any]]


def desired_state(resource: LLMDeployment, facts: ClusterFacts) -> DesiredState | PlanError:
    """Plan and render; a refusal comes back as the PlanError, and nothing is rendered."""
    chosen = plan(resource.spec, facts)
    if isinstance(chosen, PlanError):
        return chosen
    meta = resource.metadata
    context = RenderContext(Owner(meta.name, meta.namespace, meta.uid), resource.spec, chosen, facts)
    return DesiredState(chosen, context, objects.desired_objects(context))


def plan_document(state: DesiredState) -> dict[str, Any]:
    """What `llmops plan` prints: {"plan": <status.plan>, "artifact": ..., "objects": [...]}."""
    document: dict[str, Any] = {"plan": state.plan.status().to_api()}
    model, estimate = state.context.facts.model, state.plan.fit
    if model is not None and estimate is not None:
        document["model"] = {
            "commit": model.commit,
            "architecture": model.architecture,
            "parameters": model.parameters,
            "weightBytes": model.weight_bytes,
            "contextLength": model.context_length,
            "kvBytesPerToken": model.kv_bytes_per_token(),
        }
        document["fit"] = {
            "perDevice": estimate.describe(),
            "devices": estimate.devices,
            "sequences": estimate.sequences,
            "verdict": "fits",
        }
    return document | {
        "artifact": {"key": state.plan.artifact_key, "path": state.context.artifact_uri},
        "objects": state.objects,
    }
