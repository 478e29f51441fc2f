"""One reconciliation of one LLMDeployment: plan, convert (or reuse), serve, observe, write status."""

import re
import time
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from llmops.api.enums import Phase
from llmops.api.resource import SpecError, parse_resource
from llmops.desired import DesiredState, desired_state
from llmops.planning.conversionconfig import ConversionConfig
from llmops.planning.facts import ClusterFacts
from llmops.planning.imageconfig import ImageConfig
from llmops.planning.planner import PlanError
from llmops.reconcile import applied, metrics
from llmops.reconcile import conditions as c
from llmops.reconcile.artifacts import record, record_name
from llmops.reconcile.kube import Kube
from llmops.reconcile.observe import JobState, Rollout, failure_message, job_state, rollout
from llmops.render import common, monitoring, objects, service, storage
from llmops.render import job as job_render

Obj = dict[str, Any]
COMMIT = re.compile(r"^[0-9a-f]{40}$")
# Events wake the daemon; this periodic pass is only a safety net.
RESYNC_SECONDS = 300.0
# Phases worth an Event when reached (Deploying is routine; Failed/Pending carry their own warning).
EVENT_PHASES = frozenset({Phase.CONVERTING.value, Phase.READY.value, Phase.DEGRADED.value})


@dataclass
class Observed:
    """What one pass found and decided; status is computed from it."""

    generation: int
    timings: Obj
    phase: Phase = Phase.PENDING
    verdicts: dict[str, tuple[bool, str, str]] = field(default_factory=dict)  # type → (status, reason, message)
    plan: Obj | None = None
    artifact: Obj | None = None
    endpoint: Obj | None = None
    selector: str | None = None
    rollout: Rollout | None = None
    waiting_on: str | None = None  # the artifact label whose Jobs this object waits on
    event: tuple[str, str, str] | None = None  # (type, reason, message) for a transition

    def set(self, type_: str, status: bool, reason: str, message: str) -> None:
        """Record a condition verdict (the last one per type wins)."""
        self.verdicts[type_] = (status, reason, message)


@dataclass(frozen=True)
class Outcome:
    """What the daemon needs: when to look again, which artifact this object waits on, its phase."""

    requeue_after: float
    waiting_on: str | None
    phase: Phase


class Reconciler:
    """Reconciles LLMDeployments; one instance per operator process."""

    def __init__(
        self, kube: Kube, images: ImageConfig | None = None, conversion: ConversionConfig | None = None
    ) -> None:
        self.kube = kube
        self.images = images or ImageConfig()
        self.conversion = conversion or ConversionConfig()
        self.applied = applied.AppliedCache()
        self._service_monitor_crd: tuple[float, bool] = (float("-inf"), False)

    async def reconcile(self, body: Obj, nodes: ClusterFacts) -> Outcome:
        """Drive one LLMDeployment a step closer to its desired state and publish what is observed.

        `nodes` carries the node pools (from kopf's node index); the rest of the facts are looked up here.
        """
        started = time.monotonic()
        try:
            observed = await self._observe_and_act(body, nodes)
            await self._write_status(body, observed)
        except Exception:
            metrics.RECONCILE_ERRORS.labels(metrics.CONTROLLER).inc()
            metrics.RECONCILE_TOTAL.labels(metrics.CONTROLLER, "error").inc()
            raise
        finally:
            metrics.RECONCILE_TIME.labels(metrics.CONTROLLER).observe(time.monotonic() - started)
        settled = observed.phase in (Phase.READY, Phase.FAILED)
        metrics.RECONCILE_TOTAL.labels(metrics.CONTROLLER, "success" if settled else "requeue").inc()
        return Outcome(RESYNC_SECONDS, observed.waiting_on, observed.phase)

    async def _facts(self, nodes: ClusterFacts, revision: str) -> ClusterFacts:
        checked_at, crd = self._service_monitor_crd
        if time.monotonic() - checked_at > 60:
            crd = await self.kube.has_kind("monitoring.coreos.com/v1", "ServiceMonitor")
            self._service_monitor_crd = (time.monotonic(), crd)
        pinned = revision if COMMIT.match(revision) else None
        return ClusterFacts(
            pools=nodes.pools,
            service_monitor_crd=crd,
            resolved_revision=pinned,
            images=self.images,
            conversion=self.conversion,
        )

    async def _observe_and_act(self, body: Obj, nodes: ClusterFacts) -> Observed:
        old = body.get("status") or {}
        observed = Observed(
            generation=int(body["metadata"].get("generation") or 0), timings=dict(old.get("timings") or {})
        )
        try:
            resource = parse_resource({k: body[k] for k in ("apiVersion", "kind", "metadata", "spec") if k in body})
        except SpecError as error:
            return _refused(observed, c.INVALID_SPEC, str(error), retryable=False)
        state = desired_state(resource, await self._facts(nodes, resource.spec.model.revision))
        if isinstance(state, PlanError):
            reason = c.NO_MATCHING_NODES if state.retryable else c.rule_reason(state.rule)
            return _refused(observed, reason, str(state), retryable=state.retryable)
        observed.plan = state.plan.status().to_api()
        observed.selector = common.selector_string(state.context)
        observed.timings.setdefault("planned", c.now())
        observed.set(c.PLANNED, True, c.PLAN_ACCEPTED, state.plan.reason)
        if await self._artifact(state, observed, old):
            await self._serve(state, observed)
        else:
            observed.set(c.AVAILABLE, False, c.WAITING_FOR_ARTIFACT, "serving starts once the artifact is ready")
        # A Deployment serving an older artifact keeps serving (and is reported) until the new one is ready.
        await self._observe_deployment(state, observed)
        _summarize(observed, old)
        return observed

    async def _artifact(self, state: DesiredState, observed: Observed, old: Obj) -> bool:
        """Reuse the artifact if its record exists; else drive the conversion Jobs. True when ready."""
        ctx, key = state.context, state.plan.artifact_key
        namespace, fmt = ctx.owner.namespace, state.plan.format.value
        claim = storage.models_claim(ctx)
        # Shared by the namespace's LLMDeployments: created once, never rewritten (see storage.models_claim).
        if claim is not None and not await self.kube.get(
            "v1", "PersistentVolumeClaim", namespace, claim["metadata"]["name"]
        ):
            await self.kube.create_if_absent(claim)
        previous = old.get("artifact") or {}
        first_look = previous.get("key") != key
        existing = await self.kube.get("v1", "ConfigMap", namespace, record_name(key))
        if existing is not None or ctx.serves_source_in_place:
            cached = True if first_look else bool(previous.get("cached"))
            if first_look:
                metrics.CACHE_HITS.labels(fmt).inc()
            resolved = ((existing or {}).get("data") or {}).get("resolvedRevision")
            observed.artifact = {"key": key, "path": ctx.artifact_uri, "cached": cached}
            if resolved:
                observed.artifact["resolvedRevision"] = resolved
            reason = c.ARTIFACT_CACHED if cached else c.ARTIFACT_CONVERTED
            observed.set(c.ARTIFACT_READY, True, reason, f"artifact {ctx.artifact_uri}")
            return True
        if first_look:
            metrics.CACHE_MISSES.labels(fmt).inc()
        observed.artifact = {"key": key, "path": ctx.artifact_uri, "cached": False}
        observed.waiting_on = common.artifact_label(ctx)
        for job in job_render.conversion_jobs(ctx):
            name = job["metadata"]["name"]
            current = await self.kube.get("batch/v1", "Job", namespace, name)
            if current is None:
                # Deterministic name: K LLMDeployments needing this key, or a restarted operator, share one Job.
                await self.kube.create_if_absent(job)
            state_of_job = job_state(current)
            if state_of_job is JobState.SUCCEEDED:
                continue
            observed.timings.setdefault("conversionStarted", c.now())
            if state_of_job is JobState.FAILED:
                message = f"Job {name} failed: {await failure_message(self.kube, current or job)}"
                observed.set(c.ARTIFACT_READY, False, c.CONVERSION_FAILED, message)
                observed.phase = Phase.FAILED
                observed.event = ("Warning", c.CONVERSION_FAILED, message)
                return False
            step = c.DOWNLOADING if name == job_render.download_job_name(ctx) else c.CONVERTING
            observed.set(c.ARTIFACT_READY, False, step, f"Job {name} is running")
            observed.phase = Phase.CONVERTING
            return False
        # Every Job succeeded: the record makes this key a cache hit from now on.
        revision = ctx.spec.model.revision
        await self.kube.create_if_absent(record(ctx, revision if COMMIT.match(revision) else None))
        finished = c.now()
        observed.timings.setdefault("conversionFinished", finished)
        if "conversionStarted" in observed.timings:
            metrics.CONVERSION_DURATION.labels(fmt).observe(_seconds(observed.timings["conversionStarted"], finished))
        observed.waiting_on = None
        observed.set(c.ARTIFACT_READY, True, c.ARTIFACT_CONVERTED, f"artifact {ctx.artifact_uri}")
        return True

    async def _serve(self, state: DesiredState, observed: Observed) -> None:
        ctx = state.context
        container = objects.serving_container(ctx)
        for desired in objects.serving_objects(ctx, container):
            obj = applied.with_hash(desired)
            meta = obj["metadata"]
            live = await self.kube.get(obj["apiVersion"], obj["kind"], meta["namespace"], meta["name"])
            if self.applied.needs_apply(obj, live):
                self.applied.remember(await self.kube.apply(obj))
        namespace, name = ctx.owner.namespace, ctx.owner.name
        if not ctx.spec.autoscaling.enabled:
            await self._delete_if_ours("autoscaling/v2", "HorizontalPodAutoscaler", namespace, name)
        if ctx.facts.service_monitor_crd and not monitoring.wanted(ctx):
            await self._delete_if_ours("monitoring.coreos.com/v1", "ServiceMonitor", namespace, name)
        observed.endpoint = {"url": service.endpoint_url(ctx, container), "protocol": container.protocol.value}

    async def _delete_if_ours(self, api_version: str, kind: str, namespace: str, name: str) -> None:
        existing = await self.kube.get(api_version, kind, namespace, name)
        if existing and (existing["metadata"].get("labels") or {}).get(common.MANAGED_BY) == "llmops":
            await self.kube.delete(api_version, kind, namespace, name)

    async def _observe_deployment(self, state: DesiredState, observed: Observed) -> None:
        ctx = state.context
        found = rollout(await self.kube.get("apps/v1", "Deployment", ctx.owner.namespace, ctx.owner.name))
        observed.rollout = found
        if found is None:
            if c.AVAILABLE not in observed.verdicts:
                observed.set(c.AVAILABLE, False, c.DEPLOYMENT_UNAVAILABLE, "no Deployment yet")
            return
        if c.AVAILABLE not in observed.verdicts:
            reason = c.DEPLOYMENT_AVAILABLE if found.available else c.DEPLOYMENT_UNAVAILABLE
            observed.set(c.AVAILABLE, found.available, reason, f"{found.ready}/{found.desired} replicas ready")

    async def _write_status(self, body: Obj, observed: Observed) -> None:
        old = body.get("status") or {}
        previous = list(old.get("conditions") or [])
        conditions = [
            c.condition(previous, type_, status, reason, message, generation=observed.generation)
            for type_, (status, reason, message) in observed.verdicts.items()
        ]
        found = observed.rollout
        new: Obj = {
            "phase": observed.phase.value,
            "observedGeneration": observed.generation,
            "plan": observed.plan,
            "artifact": observed.artifact,
            "endpoint": observed.endpoint,
            "replicas": found.replicas if found else None,
            "readyReplicas": found.ready if found else None,
            "selector": observed.selector,
            "timings": observed.timings or None,
            "conditions": conditions,
        }
        if _present(new) == _present(old):
            return  # nothing changed: no write, no event
        # None removes a key in a merge patch; conditions are always sent whole (one writer).
        await self.kube.patch_status(body["metadata"]["namespace"], body["metadata"]["name"], new)
        if old.get("phase") != new["phase"] and (observed.event or new["phase"] in EVENT_PHASES):
            routine = "Warning" if new["phase"] == Phase.DEGRADED.value else "Normal"
            kind, reason, message = observed.event or (routine, new["phase"], _phase_message(conditions))
            await self.kube.event(body, kind, reason, message)


def _refused(observed: Observed, reason: str, message: str, retryable: bool) -> Observed:
    observed.phase = Phase.PENDING if retryable else Phase.FAILED
    observed.set(c.PLANNED, False, reason, message)
    observed.set(c.ARTIFACT_READY, False, c.WAITING_FOR_PLAN, "no plan")
    observed.set(c.AVAILABLE, False, c.WAITING_FOR_PLAN, "no plan")
    observed.set(c.READY, False, reason, message)
    observed.event = ("Warning", reason, message)
    return observed


def _summarize(observed: Observed, old: Obj) -> None:
    """Phase and the Ready condition from the others."""
    if observed.phase is Phase.FAILED:
        _, reason, message = next(v for v in observed.verdicts.values() if not v[0])
        observed.set(c.READY, False, reason, message)
        return
    found = observed.rollout
    counts = f"{found.ready if found else 0}/{found.desired if found else 0} replicas ready"
    if not observed.verdicts[c.ARTIFACT_READY][0]:
        observed.phase = Phase.CONVERTING
        _, reason, message = observed.verdicts[c.ARTIFACT_READY]
        observed.set(c.READY, False, reason, message)
    elif found is not None and found.complete:
        observed.phase = Phase.READY
        observed.timings.setdefault("ready", c.now())
        observed.set(c.READY, True, c.ALL_REPLICAS_READY, counts)
    else:
        rolling = found is None or not found.current or found.updated < found.desired
        was_ready = old.get("phase") in (Phase.READY.value, Phase.DEGRADED.value)
        degraded = was_ready and not rolling
        observed.phase = Phase.DEGRADED if degraded else Phase.DEPLOYING
        observed.set(c.READY, False, c.REPLICAS_UNREADY if degraded else c.ROLLING_OUT, counts)


def _present(status: Obj) -> Obj:
    return {k: v for k, v in status.items() if v not in (None, {}, [])}


def _phase_message(conditions: list[Obj]) -> str:
    ready = next((x for x in conditions if x["type"] == c.READY), None)
    return ready["message"] if ready else ""


def _seconds(start: str, end: str) -> float:
    fmt = "%Y-%m-%dT%H:%M:%SZ"
    return (datetime.strptime(end, fmt) - datetime.strptime(start, fmt)).total_seconds()
