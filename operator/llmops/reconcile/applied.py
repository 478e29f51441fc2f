"""Skip server-side applies that would change nothing, so an idle operator writes nothing.

A child is re-applied when what the operator wants differs from what it last applied (a hash in the
child's `llmops.dev/applied-hash` annotation), or when someone else changed the child since (its
generation, or resourceVersion for kinds without one, moved past what this process recorded): so drift
in the operator's fields is still corrected. After a restart every child is applied once.
"""

import hashlib
import json
from typing import Any

HASH_ANNOTATION = "llmops.dev/applied-hash"
Obj = dict[str, Any]
Key = tuple[str, str, str]  # (kind, namespace, name)


def with_hash(obj: Obj) -> Obj:
    """The object with the hash of its own content in an annotation."""
    digest = hashlib.sha256(json.dumps(obj, sort_keys=True, separators=(",", ":")).encode()).hexdigest()[:32]
    meta = obj["metadata"]
    return {**obj, "metadata": {**meta, "annotations": {**(meta.get("annotations") or {}), HASH_ANNOTATION: digest}}}


def _key(obj: Obj) -> Key:
    return (obj["kind"], obj["metadata"]["namespace"], obj["metadata"]["name"])


def _version(obj: Obj) -> str:
    meta = obj["metadata"]
    return f"g{meta['generation']}" if meta.get("generation") else f"r{meta.get('resourceVersion')}"


class AppliedCache:
    """What this process applied last, per child."""

    def __init__(self) -> None:
        self._versions: dict[Key, str] = {}

    def needs_apply(self, desired: Obj, live: Obj | None) -> bool:
        """True unless the live child carries the desired hash and nobody touched it since our apply."""
        if live is None:
            return True
        wanted = desired["metadata"]["annotations"][HASH_ANNOTATION]
        if (live["metadata"].get("annotations") or {}).get(HASH_ANNOTATION) != wanted:
            return True
        return self._versions.get(_key(desired)) != _version(live)

    def remember(self, applied: Obj) -> None:
        """Record the child as the apply left it."""
        self._versions[_key(applied)] = _version(applied)
