"""kopf handlers, thin: a daemon per LLMDeployment runs reconcile passes; events on children, nodes and the
LLMDeployment itself wake it."""

import asyncio
import contextlib
import logging
from typing import Any

import kopf

from llmops.api.enums import Phase
from llmops.api.resource import GROUP, PLURAL, VERSION
from llmops.planning.facts import ClusterFacts, pools_from_nodes
from llmops.reconcile import metrics
from llmops.reconcile.kube import Kube
from llmops.reconcile.reconciler import Reconciler
from llmops.reconcile.wakeups import Wakeups
from llmops.render import common

MANAGED = {common.MANAGED_BY: "llmops"}
wakeups = Wakeups()
phases: dict[tuple[str, str], Phase] = {}
_state: dict[str, Reconciler] = {}


def _publish_phases() -> None:
    for phase in Phase:
        metrics.DEPLOYMENTS.labels(phase.value).set(sum(1 for p in phases.values() if p is phase))


@kopf.index("", "v1", "nodes")
def node_index(*, body: kopf.Body, **_: Any) -> dict[None, dict[str, Any]]:
    """Keep what planning needs of every node: labels, unschedulable, capacity and allocatable."""
    status = body.get("status") or {}
    return {
        None: {
            "metadata": {"labels": dict(body.metadata.labels or {})},
            "spec": {"unschedulable": bool((body.get("spec") or {}).get("unschedulable"))},
            "status": {
                "capacity": dict(status.get("capacity") or {}),
                "allocatable": dict(status.get("allocatable") or {}),
            },
        }
    }


@kopf.on.startup()
def startup(memo: kopf.Memo, **_: Any) -> None:
    """Connect to the API server once; `llmops run` put the images and conversion configuration in the memo."""
    _state["reconciler"] = Reconciler(Kube(), memo.get("images"), memo.get("conversion"))


@kopf.daemon(GROUP, VERSION, PLURAL, cancellation_timeout=1.0)
async def llmdeployment(
    *,
    name: str,
    namespace: str | None,
    body: kopf.Body,
    logger: logging.Logger | logging.LoggerAdapter[Any],
    **kwargs: Any,
) -> None:
    """Reconcile on every wake-up (child, node or spec events) and every RESYNC_SECONDS."""
    key = (namespace or "", name)
    node_index: kopf.Index[None, Any] = kwargs["node_index"]
    wake = wakeups.register(key)
    reconciler = _state["reconciler"]
    try:
        while True:
            wake.clear()
            try:
                nodes = ClusterFacts(pools=pools_from_nodes(node_index.get(None, [])))
                outcome = await reconciler.reconcile(dict(body), nodes)
            except Exception as error:  # transient API trouble: back off, keep the daemon
                logger.warning("reconcile failed, retrying in 10s: %s", error)
                await asyncio.sleep(10)
                continue
            phases[key] = outcome.phase
            _publish_phases()
            wakeups.wait_for(key, outcome.waiting_on, nodes=outcome.phase is Phase.PENDING)
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(wake.wait(), timeout=outcome.requeue_after)
    finally:
        wakeups.unregister(key)
        phases.pop(key, None)
        _publish_phases()


@kopf.on.event(GROUP, VERSION, PLURAL)
def llmdeployment_changed(*, name: str, namespace: str | None, body: kopf.Body, **_: Any) -> None:
    """A spec change (a new generation) wakes the daemon; the operator's own status writes do not."""
    if (body.get("status") or {}).get("observedGeneration") != body.metadata.get("generation"):
        wakeups.wake((namespace or "", name))


@kopf.on.event("batch", "v1", "jobs", labels=MANAGED)
def job_changed(*, namespace: str | None, labels: kopf.Labels, **_: Any) -> None:
    """A conversion Job moved: wake everything waiting on its artifact."""
    artifact = labels.get(common.ARTIFACT_LABEL)
    if artifact:
        wakeups.wake_artifact(namespace or "", artifact)


@kopf.on.event("apps", "v1", "deployments", labels=MANAGED)
def deployment_changed(*, namespace: str | None, labels: kopf.Labels, **_: Any) -> None:
    """A serving Deployment's replicas changed: wake its LLMDeployment."""
    owner = labels.get(common.DEPLOYMENT_LABEL)
    if owner:
        wakeups.wake((namespace or "", owner))


@kopf.on.event("", "v1", "nodes")
def node_changed(*, type: str, **_: Any) -> None:
    """Nodes came or went: wake the LLMDeployments waiting for a node pool (heartbeats are MODIFIED only)."""
    if type in ("ADDED", "DELETED"):
        wakeups.wake_node_waiters()
