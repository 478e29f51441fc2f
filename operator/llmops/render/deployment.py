"""The serving Deployment: the runtime's container, placed on its accelerator, Pod Security restricted."""

from typing import Any

from llmops.planning.hardware import PLANNED_RESOURCES
from llmops.render import common, compilecache
from llmops.render.context import RenderContext
from llmops.render.runtimes.base import ServingContainer

Obj = dict[str, Any]

# Model loading can take many minutes; the startup probe holds liveness off for up to 30 minutes.
STARTUP_PERIOD_SECONDS, STARTUP_FAILURES = 10, 180


def _scale(quantity: str, factor: int) -> str:
    digits = "".join(ch for ch in quantity if ch.isdigit())
    return f"{int(digits) * factor}{quantity[len(digits) :]}"


def resources(ctx: RenderContext) -> Obj:
    """Planned requests/limits (GPUs from the plan), with spec.serving.resources merged over them."""
    gpus = ctx.plan.gpus
    if gpus:
        requests = {k: _scale(v, gpus) for k, v in PLANNED_RESOURCES["gpu"].items()}
    else:
        requests = dict(PLANNED_RESOURCES[ctx.plan.accelerator.value])
    limits: dict[str, str | int] = {"memory": requests["memory"], **common.gpu_limits(gpus)}
    user = ctx.spec.serving.resources
    merged_requests: dict[str, str | int] = {**requests, **user.requests}
    merged_limits: dict[str, str | int] = {**limits, **user.limits, **common.gpu_limits(gpus)}
    return {"requests": merged_requests, "limits": merged_limits}


def strategy(ctx: RenderContext) -> Obj:
    """Roll without spare capacity on GPUs (a surge pod would wait for a free GPU forever on a full pool);
    with a surge elsewhere, so CPU replicas never dip."""
    if ctx.plan.gpus:
        return {"type": "RollingUpdate", "rollingUpdate": {"maxUnavailable": 1, "maxSurge": 0}}
    return {"type": "RollingUpdate", "rollingUpdate": {"maxUnavailable": 0, "maxSurge": 1}}


def _probe(container: ServingContainer, kind: str) -> Obj:
    probe = container.readiness if kind == "readiness" else container.liveness
    settings = {
        "startup": {"periodSeconds": STARTUP_PERIOD_SECONDS, "failureThreshold": STARTUP_FAILURES},
        "readiness": {"periodSeconds": 10, "failureThreshold": 3},
        "liveness": {"periodSeconds": 20, "failureThreshold": 3},
    }[kind]
    return {"httpGet": probe.http_get(), "timeoutSeconds": 5, **settings}


def _local_url(container: ServingContainer) -> str:
    """The readiness endpoint as a container of the same pod reaches it."""
    return f"http://127.0.0.1:{container.ports[container.readiness.port]}{container.readiness.path}"


def pod_annotations(ctx: RenderContext, container: ServingContainer) -> dict[str, str]:
    """The artifact key (a new key rolls the pods) and, if monitoring is on, Prometheus scrape annotations."""
    annotations = {common.ARTIFACT_KEY_ANNOTATION: ctx.plan.artifact_key}
    if ctx.spec.monitoring.enabled:
        annotations |= {
            "prometheus.io/scrape": "true",
            "prometheus.io/port": str(container.ports[container.metrics.port]),
            "prometheus.io/path": container.metrics.path,
        }
    return annotations


def deployment(ctx: RenderContext, container: ServingContainer) -> Obj:
    """The Deployment. Without autoscaling it carries spec.replicas; with it, the HPA owns replicas."""
    models, models_mount = common.models_volume(ctx, read_only=container.writable_cache is None)
    tmp, tmp_mount = common.scratch_volume("tmp", "/tmp")
    volumes, mounts = [models, tmp], [models_mount, tmp_mount]
    if container.shared_memory:
        shm, shm_mount = common.scratch_volume("dshm", "/dev/shm", memory=True, size="16Gi")
        volumes.append(shm)
        mounts.append(shm_mount)
    source = common.source_volume(ctx)
    if source is not None and ctx.serves_source_in_place:
        volumes.append(source[0])
        mounts.append(source[1])
    if container.writable_cache:
        mounts.append({"name": "models", "mountPath": container.writable_cache, "subPath": ".cache/nim"})
    main: Obj = {
        "name": ctx.plan.runtime.value,
        "image": container.image,
        "imagePullPolicy": ctx.facts.images.pull_policy.value,
        "ports": [{"name": n, "containerPort": p, "protocol": "TCP"} for n, p in container.ports.items()],
        "env": [{"name": "HOME", "value": "/tmp"}, *container.env, *(e.to_api() for e in ctx.spec.serving.env)],
        "resources": resources(ctx),
        "startupProbe": _probe(container, "startup"),
        "readinessProbe": _probe(container, "readiness"),
        "livenessProbe": _probe(container, "liveness"),
        "securityContext": common.container_security_context(),
        "volumeMounts": mounts,
        "terminationMessagePolicy": "FallbackToLogsOnError",
    }
    if container.command:
        main["command"] = container.command
    args = [*container.args, *ctx.spec.serving.args]
    if args:
        main["args"] = args
    labels = common.serving_labels(ctx)
    spec: Obj = {
        "selector": {"matchLabels": common.selector_labels(ctx)},
        "strategy": strategy(ctx),
        "progressDeadlineSeconds": STARTUP_PERIOD_SECONDS * STARTUP_FAILURES + 600,
        "revisionHistoryLimit": 3,
        "template": {
            "metadata": {"labels": labels, "annotations": pod_annotations(ctx, container)},
            "spec": {
                "automountServiceAccountToken": False,
                "enableServiceLinks": False,
                "securityContext": common.pod_security_context(),
                "terminationGracePeriodSeconds": 60,
                **(
                    {"initContainers": compilecache.init_containers(ctx, _local_url(container))}
                    if container.compile_cache
                    else {}
                ),
                "containers": [main],
                "volumes": volumes,
                **common.placement(ctx, ctx.plan.accelerator),
            },
        },
    }
    if not ctx.spec.autoscaling.enabled:
        spec = {"replicas": ctx.spec.serving.replicas, **spec}
    return {
        "apiVersion": "apps/v1",
        "kind": "Deployment",
        "metadata": common.metadata(ctx, ctx.owner.name, labels),
        "spec": spec,
    }
