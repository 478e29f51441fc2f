"""Fragments every child shares: names, labels, owner references, security contexts, placement, volumes."""

from typing import Any

from llmops.api.enums import Accelerator
from llmops.api.resource import API_VERSION, KIND
from llmops.planning.hardware import CLASS_LABEL, GPU_RESOURCE, GPU_TAINT_KEY, PRODUCT_LABEL
from llmops.render.context import MODELS_MOUNT, SOURCE_PVC_ROOT, RenderContext

MANAGED_BY = "app.kubernetes.io/managed-by"
PART_OF = "app.kubernetes.io/part-of"
COMPONENT = "app.kubernetes.io/component"
DEPLOYMENT_LABEL = "llmops.dev/deployment"
ARTIFACT_LABEL = "llmops.dev/artifact"
RUNTIME_LABEL = "llmops.dev/runtime"
ARTIFACT_KEY_ANNOTATION = "llmops.dev/artifact-key"
RUN_AS = 1000

Obj = dict[str, Any]


def base_labels(component: str) -> dict[str, str]:
    """The operator's own labels; never the parent's (ArgoCD's tracking label would follow them)."""
    return {MANAGED_BY: "llmops", PART_OF: "llmops", COMPONENT: component}


def selector_labels(ctx: RenderContext) -> dict[str, str]:
    """The labels that select an LLMDeployment's serving pods (and status.selector)."""
    return {DEPLOYMENT_LABEL: ctx.owner.name}


def selector_string(ctx: RenderContext) -> str:
    """status.selector: the serving pods' selector as a string, for the scale subresource and HPA."""
    return ",".join(f"{k}={v}" for k, v in selector_labels(ctx).items())


def serving_labels(ctx: RenderContext) -> dict[str, str]:
    """Labels of the serving Deployment, Service, HPA, monitors and pods."""
    return base_labels("serving") | selector_labels(ctx) | {RUNTIME_LABEL: ctx.plan.runtime.value}


def artifact_label(ctx: RenderContext) -> str:
    """A label-sized (≤ 63 chars) prefix of the artifact key."""
    return ctx.key_hex[:40]


def owner_reference(ctx: RenderContext) -> Obj:
    """The controller reference to the LLMDeployment (garbage collection deletes children with it)."""
    return {
        "apiVersion": API_VERSION,
        "kind": KIND,
        "name": ctx.owner.name,
        "uid": ctx.owner.uid,
        "controller": True,
        "blockOwnerDeletion": True,
    }


def metadata(ctx: RenderContext, name: str, labels: dict[str, str], owned: bool = True) -> Obj:
    """Object metadata in the owner's namespace."""
    meta: Obj = {"name": name, "namespace": ctx.owner.namespace, "labels": dict(labels)}
    if owned:
        meta["ownerReferences"] = [owner_reference(ctx)]
    return meta


def pod_security_context() -> Obj:
    """Pod-level settings of Pod Security "restricted"."""
    return {
        "runAsNonRoot": True,
        "runAsUser": RUN_AS,
        "runAsGroup": RUN_AS,
        "fsGroup": RUN_AS,
        "seccompProfile": {"type": "RuntimeDefault"},
    }


def container_security_context() -> Obj:
    """Container-level settings of Pod Security "restricted", plus a read-only root filesystem."""
    return {
        "allowPrivilegeEscalation": False,
        "readOnlyRootFilesystem": True,
        "runAsNonRoot": True,
        "capabilities": {"drop": ["ALL"]},
        "seccompProfile": {"type": "RuntimeDefault"},
    }


def _affinity_terms(ctx: RenderContext, accelerator: Accelerator) -> list[Obj]:
    """Node selector terms of an accelerator class (ORed): llmops' explicit label, or the GPU product."""
    explicit = {"key": CLASS_LABEL, "operator": "In", "values": [accelerator.value]}
    if accelerator is Accelerator.EDGE:
        return [{"matchExpressions": [explicit]}]
    if accelerator is Accelerator.CPU:
        no_gpu = [
            {"key": PRODUCT_LABEL, "operator": "DoesNotExist"},
            {"key": CLASS_LABEL, "operator": "DoesNotExist"},
        ]
        return [{"matchExpressions": [explicit]}, {"matchExpressions": no_gpu}]
    pool = ctx.facts.pools.get(accelerator) if ctx.facts.pools is not None else None
    products = sorted(pool.products) if pool and pool.products else [ctx.plan.profile.example_product]
    by_product = [
        {"key": PRODUCT_LABEL, "operator": "In", "values": products},
        {"key": CLASS_LABEL, "operator": "DoesNotExist"},
    ]
    return [{"matchExpressions": [explicit]}, {"matchExpressions": by_product}]


def placement(ctx: RenderContext, accelerator: Accelerator, with_user_extras: bool = True) -> Obj:
    """nodeSelector, affinity and tolerations that put a pod on an accelerator class's nodes."""
    tolerations: list[Obj] = []
    if ctx.plan.profile.is_nvidia_gpu and accelerator is ctx.plan.accelerator:
        tolerations.append({"key": GPU_TAINT_KEY, "operator": "Exists", "effect": "NoSchedule"})
    if accelerator is Accelerator.EDGE:
        tolerations.append({"key": CLASS_LABEL, "operator": "Equal", "value": "edge", "effect": "NoSchedule"})
    spec: Obj = {
        "affinity": {
            "nodeAffinity": {
                "requiredDuringSchedulingIgnoredDuringExecution": {
                    "nodeSelectorTerms": _affinity_terms(ctx, accelerator)
                }
            }
        }
    }
    if with_user_extras:
        if ctx.spec.hardware.node_selector:
            spec["nodeSelector"] = dict(ctx.spec.hardware.node_selector)
        tolerations += [t.to_api() for t in ctx.spec.hardware.tolerations]
    if tolerations:
        spec["tolerations"] = tolerations
    return spec


def gpu_limits(gpus: int) -> dict[str, str]:
    """The extended-resource limit that reserves GPUs (requests default to limits)."""
    return {GPU_RESOURCE: str(gpus)} if gpus else {}


def models_volume(ctx: RenderContext, read_only: bool) -> tuple[Obj, Obj]:
    """The models claim as (volume, mount)."""
    volume = {"name": "models", "persistentVolumeClaim": {"claimName": ctx.claim, "readOnly": read_only}}
    return volume, {"name": "models", "mountPath": MODELS_MOUNT, "readOnly": read_only}


def source_volume(ctx: RenderContext) -> tuple[Obj, Obj] | None:
    """A pvc:// source claim, mounted read-only under /mnt/pvc/CLAIM."""
    source = ctx.source_pvc
    if source is None:
        return None
    claim = source[0]
    volume = {"name": "source", "persistentVolumeClaim": {"claimName": claim, "readOnly": True}}
    return volume, {"name": "source", "mountPath": f"{SOURCE_PVC_ROOT}/{claim}", "readOnly": True}


def scratch_volume(name: str, mount_path: str, memory: bool = False, size: str | None = None) -> tuple[Obj, Obj]:
    """An emptyDir (the root filesystem is read-only)."""
    empty_dir: Obj = {"medium": "Memory"} if memory else {}
    if size:
        empty_dir["sizeLimit"] = size
    return {"name": name, "emptyDir": empty_dir}, {"name": name, "mountPath": mount_path}
