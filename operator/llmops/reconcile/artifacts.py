"""The artifact cache record: a labelled ConfigMap per published artifact, named by its key.

It lives in the artifact's namespace beside the models claim, has no owner (artifacts outlive the
LLMDeployments that made them) and is written only after the last conversion Job succeeded, so its
presence means "this key is published and complete".
"""

from typing import Any

from llmops.planning.artifact import key_hex
from llmops.render import common
from llmops.render.context import RenderContext

Obj = dict[str, Any]


def record_name(key: str) -> str:
    """Deterministic name of the record of an artifact key."""
    return f"llmops-artifact-{key_hex(key)[:20]}"


def record(ctx: RenderContext, resolved_revision: str | None) -> Obj:
    """The ConfigMap that marks an artifact as published."""
    plan = ctx.plan
    data = {
        "key": plan.artifact_key,
        "path": ctx.artifact_uri,
        "format": plan.format.value,
        "quantization": plan.quantization.value,
        "source": ctx.spec.model.source,
        "revision": ctx.spec.model.revision,
        "builderImage": plan.builder_image,
    }
    if resolved_revision:
        data["resolvedRevision"] = resolved_revision
    return {
        "apiVersion": "v1",
        "kind": "ConfigMap",
        "metadata": common.metadata(
            ctx,
            record_name(plan.artifact_key),
            common.base_labels("artifact") | {common.ARTIFACT_LABEL: common.artifact_label(ctx)},
            owned=False,
        ),
        "data": data,
    }
