"""The condition vocabulary (KEP-1623): every type and reason the operator writes, in one place."""

import re
from datetime import UTC, datetime
from typing import Any

# Condition types.
PLANNED = "Planned"  # a plan exists for the current generation
ARTIFACT_READY = "ArtifactReady"  # the served artifact is published (converted, or found in the cache)
AVAILABLE = "Available"  # the serving Deployment has its minimum replicas available
READY = "Ready"  # the summary: planned, artifact ready, all desired replicas ready

# Reasons.
PLAN_ACCEPTED = "PlanAccepted"  # the planner accepted the spec
INVALID_SPEC = "InvalidSpec"  # the spec does not parse (a CRD older than the operator let it in)
NO_MATCHING_NODES = "NoMatchingNodes"  # no node of the planned class (or with enough GPUs) exists yet
ARTIFACT_CACHED = "ArtifactCached"  # an artifact with the same key already existed: no conversion ran
ARTIFACT_CONVERTED = "ArtifactConverted"  # the conversion Jobs published the artifact
DOWNLOADING = "Downloading"  # the download Job is running
CONVERTING = "Converting"  # the conversion Job is running
CONVERSION_FAILED = "ConversionFailed"  # a conversion Job failed; the message is its termination message
WAITING_FOR_PLAN = "WaitingForPlan"  # nothing can happen before a plan exists
WAITING_FOR_ARTIFACT = "WaitingForArtifact"  # serving starts once the artifact is ready
DEPLOYMENT_AVAILABLE = "MinimumReplicasAvailable"  # mirrors the Deployment's own reason
DEPLOYMENT_UNAVAILABLE = "DeploymentUnavailable"  # the Deployment has too few available replicas
ALL_REPLICAS_READY = "AllReplicasReady"  # Ready: every desired replica is ready and updated
ROLLING_OUT = "RollingOut"  # the Deployment is rolling out (new artifact or serving change)
REPLICAS_UNREADY = "ReplicasUnready"  # fewer ready replicas than desired after having been Ready


def rule_reason(rule: str) -> str:
    """A planner rule name as a CamelCase reason: fp8-needs-hopper-or-ada → Fp8NeedsHopperOrAda."""
    return "".join(part[:1].upper() + part[1:] for part in re.split(r"[^A-Za-z0-9]+", rule) if part)


def now() -> str:
    """RFC 3339 UTC, second precision (what the API server stores)."""
    return datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def condition(
    previous: list[dict[str, Any]], type_: str, status: bool, reason: str, message: str, *, generation: int
) -> dict[str, Any]:
    """A condition; lastTransitionTime moves only when the status flips."""
    value = "True" if status else "False"
    old = next((c for c in previous if c.get("type") == type_), None)
    changed = old is None or old.get("status") != value
    return {
        "type": type_,
        "status": value,
        "reason": reason,
        "message": message[:32768],
        "lastTransitionTime": now() if changed or not old else old.get("lastTransitionTime", now()),
        "observedGeneration": generation,
    }
