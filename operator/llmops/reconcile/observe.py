"""Reading children back: a Job's state and the termination message of its failed pod, a Deployment's replicas."""

from dataclasses import dataclass
from enum import StrEnum
from typing import Any

from llmops.reconcile.kube import Kube

Obj = dict[str, Any]


class JobState(StrEnum):
    """Where a conversion Job stands."""

    ABSENT = "absent"
    RUNNING = "running"
    SUCCEEDED = "succeeded"
    FAILED = "failed"


def job_state(job: Obj | None) -> JobState:
    """Complete/Failed from the Job's conditions (what the Job controller decides after backoffLimit)."""
    if job is None:
        return JobState.ABSENT
    for cond in (job.get("status") or {}).get("conditions") or []:
        if cond.get("status") == "True" and cond.get("type") in ("Complete", "SuccessCriteriaMet"):
            return JobState.SUCCEEDED
        if cond.get("status") == "True" and cond.get("type") in ("Failed", "FailureTarget"):
            return JobState.FAILED
    return JobState.RUNNING


async def failure_message(kube: Kube, job: Obj) -> str:
    """The termination message of the Job's last failed container (what llmops-build wrote), or the Job's own."""
    meta = job["metadata"]
    pods = await kube.list("v1", "Pod", meta["namespace"], f"job-name={meta['name']}")
    messages = []
    for pod in sorted(pods, key=lambda p: p["metadata"].get("creationTimestamp") or ""):
        statuses = [
            *(pod["status"].get("initContainerStatuses") or []),
            *(pod["status"].get("containerStatuses") or []),
        ]
        for status in statuses:
            terminated = (status.get("state") or {}).get("terminated") or {}
            if terminated.get("exitCode") not in (None, 0):
                text = (terminated.get("message") or terminated.get("reason") or "").strip()
                messages.append(f"{status['name']}: {text} (exit code {terminated['exitCode']})")
    if messages:
        return messages[-1]
    failed: Obj = next((c for c in job["status"].get("conditions") or [] if c.get("type") == "Failed"), {})
    return str(failed.get("message") or failed.get("reason") or "the Job failed")


@dataclass(frozen=True)
class Rollout:
    """What the serving Deployment reports."""

    desired: int
    replicas: int
    ready: int
    updated: int
    available: bool
    current: bool  # the controller has seen the latest spec

    @property
    def complete(self) -> bool:
        """Like `kubectl rollout status`: the latest template everywhere, no old replica left, all ready."""
        rolled_out = self.current and self.updated >= self.desired and self.replicas == self.updated
        return rolled_out and self.ready >= self.desired > 0


def rollout(deployment: Obj | None) -> Rollout | None:
    """The Deployment's replica counts, or None if there is none."""
    if deployment is None:
        return None
    spec, status = deployment.get("spec") or {}, deployment.get("status") or {}
    available = any(c.get("type") == "Available" and c.get("status") == "True" for c in status.get("conditions") or [])
    return Rollout(
        desired=int(spec.get("replicas") or 0),
        replicas=int(status.get("replicas") or 0),
        ready=int(status.get("readyReplicas") or 0),
        updated=int(status.get("updatedReplicas") or 0),
        available=available,
        current=int(status.get("observedGeneration") or 0) >= int(deployment["metadata"].get("generation") or 0),
    )
