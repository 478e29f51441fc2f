"""The models claim: source snapshots, staging and published artifacts, shared by a namespace's LLMDeployments."""

import math
import re
from typing import Any

from llmops.api.enums import Quantization
from llmops.render import common
from llmops.render.context import MODELS_CLAIM, RenderContext

Obj = dict[str, Any]

DEFAULT_SIZE = "100Gi"
MIN_SIZE_GIB = 20
_PARAMS = re.compile(r"(?<![0-9.])(\d+(?:\.\d+)?)\s*[bB](?![a-zA-Z])")


def derived_size(ctx: RenderContext) -> str:
    """Room for the fp16 source, the intermediate and the artifact, from the parameter count in the name
    (e.g. "Llama-3-8B" → 8e9 params x 2 bytes x 3 ≈ 48 GB, rounded up with 20 % headroom); 100Gi when unknown."""
    if ctx.spec.storage.size:
        return ctx.spec.storage.size
    match = _PARAMS.search(ctx.spec.model.source.rsplit("/", 1)[-1])
    if not match:
        return DEFAULT_SIZE
    copies = 3 if ctx.plan.conversion else 1
    if ctx.plan.quantization in (Quantization.Q4_K_M, Quantization.Q5_K_M):
        copies = 2  # the f16 intermediate plus a much smaller result
    gib = float(match.group(1)) * 2 * copies * 1.2
    return f"{max(MIN_SIZE_GIB, math.ceil(gib))}Gi"


def models_claim(ctx: RenderContext) -> Obj | None:
    """The namespace's shared claim, or None when spec.storage.existingClaim names one.

    It has no owner: artifacts outlive any single LLMDeployment and are shared by equal keys. Many
    LLMDeployments render it, so the operator creates it when absent and never rewrites it.
    """
    if ctx.spec.storage.existing_claim:
        return None
    spec: Obj = {"accessModes": ["ReadWriteMany"], "resources": {"requests": {"storage": derived_size(ctx)}}}
    if ctx.spec.storage.storage_class_name:
        spec["storageClassName"] = ctx.spec.storage.storage_class_name
    return {
        "apiVersion": "v1",
        "kind": "PersistentVolumeClaim",
        "metadata": common.metadata(ctx, MODELS_CLAIM, common.base_labels("storage"), owned=False),
        "spec": spec,
    }
