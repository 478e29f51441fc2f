"""The compile/JIT cache of vLLM pods: keyed by (runtime image, GPU architecture, artifact) on the models volume.

vLLM's first start on a GPU spends minutes in torch.compile and FlashInfer's JIT; both write to the pod's /tmp,
which every new pod gets empty. An init container restores the cache published for the pod's key, and a native
sidecar publishes the pod's own once it is healthy (render/programs.py), so later replicas and later
LLMDeployments of the same key start warm.
"""

import hashlib
import json
from typing import Any

from llmops.render import common
from llmops.render.context import RenderContext
from llmops.render.programs import COMPILE_CACHE

Obj = dict[str, Any]

VOLUME_DIR = ".cache/compile"  # on the models claim
MOUNT = "/compile-cache"
LOCAL = "/tmp/compile-cache"  # in the pod's /tmp emptyDir, where the server writes
PROGRAM = COMPILE_CACHE
RESOURCES = {"requests": {"cpu": "50m", "memory": "64Mi"}, "limits": {"memory": "256Mi"}}

# Where vLLM, FlashInfer, Triton and the CUDA driver keep what they compile (vLLM puts Inductor's and its own
# Triton cache under VLLM_CACHE_ROOT while compiling; the others default to $HOME).
ENV = {
    "VLLM_CACHE_ROOT": f"{LOCAL}/vllm",
    "FLASHINFER_WORKSPACE_BASE": LOCAL,
    "TRITON_CACHE_DIR": f"{LOCAL}/triton",
    "CUDA_CACHE_PATH": f"{LOCAL}/nv",
}


def key(ctx: RenderContext) -> str:
    """The hex sha256 of what the compiled kernels depend on: runtime image, GPU architecture, served artifact."""
    fields = {
        "image": ctx.plan.serving_image,
        "gpuArchitecture": ctx.plan.profile.sm,
        "artifact": ctx.plan.artifact_key,
    }
    return hashlib.sha256(json.dumps(fields, sort_keys=True).encode()).hexdigest()


def env() -> list[Obj]:
    """The serving container's cache locations, all under the restored directory."""
    return [{"name": name, "value": value} for name, value in ENV.items()]


def _container(ctx: RenderContext, name: str, args: list[str], read_only: bool) -> Obj:
    return {
        "name": name,
        "image": ctx.plan.serving_image,
        "imagePullPolicy": ctx.facts.images.pull_policy.value,
        "command": ["python3", "-c", PROGRAM],
        "args": args,
        "env": [{"name": "HOME", "value": "/tmp"}],
        "resources": RESOURCES,
        "securityContext": common.container_security_context(),
        "volumeMounts": [
            {"name": "models", "mountPath": MOUNT, "subPath": VOLUME_DIR, "readOnly": read_only},
            {"name": "tmp", "mountPath": "/tmp"},
        ],
        "terminationMessagePolicy": "FallbackToLogsOnError",
    }


def init_containers(ctx: RenderContext, health_url: str) -> list[Obj]:
    """The restoring init container, then the publishing native sidecar (restartPolicy Always)."""
    k = key(ctx)
    restore = _container(ctx, "compile-cache-restore", ["restore", f"{MOUNT}/{k}", LOCAL], read_only=True)
    publish = _container(ctx, "compile-cache-publish", ["publish", LOCAL, MOUNT, k, health_url], read_only=False)
    return [restore, {**publish, "restartPolicy": "Always"}]
