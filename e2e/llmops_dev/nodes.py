"""The simulated node pools: created from nodes.yaml, then watched until kwok has them Ready."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any, cast

import yaml
from kubernetes import client
from kubernetes.client.exceptions import ApiException

# Taints the node-lifecycle controller sets while a node is not (yet) Ready; the scheduler avoids them.
_LIFECYCLE_TAINT_PREFIX = "node.kubernetes.io/"
_HTTP_CONFLICT = 409


@dataclass(frozen=True)
class NodeState:
    """What `status` shows for one node."""

    name: str
    ready: bool
    gpus: str
    product: str
    lifecycle_taints: tuple[str, ...]

    @property
    def schedulable(self) -> bool:
        """Ready and free of not-ready/unreachable taints."""
        return self.ready and not self.lifecycle_taints


def load(path: Path) -> list[dict[str, Any]]:
    """Node objects from a `kind: List` or a multi-document YAML file."""
    nodes: list[dict[str, Any]] = []
    for doc in yaml.safe_load_all(path.read_text()):
        if not doc:
            continue
        items = doc.get("items", []) if doc.get("kind") == "List" else [doc]
        nodes.extend(item for item in items if item.get("kind") == "Node")
    return nodes


def create_all(core: client.CoreV1Api, nodes: list[dict[str, Any]]) -> None:
    """Create each Node with its status (allowed on create only); existing ones are left alone."""
    for node in nodes:
        try:
            # The client serialises a plain dict as it is; a V1Node round trip would add nothing.
            core.create_node(body=cast(client.V1Node, node))
        except ApiException as err:
            if err.status != _HTTP_CONFLICT:
                raise


def states(core: client.CoreV1Api, label_selector: str = "") -> list[NodeState]:
    """The current state of every node (matching the selector)."""
    result = []
    for node in core.list_node(label_selector=label_selector).items:
        meta = node.metadata or client.V1ObjectMeta()
        spec = node.spec or client.V1NodeSpec()
        status = node.status or client.V1NodeStatus()
        ready = any(c.type == "Ready" and c.status == "True" for c in status.conditions or [])
        taints = tuple(f"{t.key}:{t.effect}" for t in spec.taints or [] if t.key.startswith(_LIFECYCLE_TAINT_PREFIX))
        labels = meta.labels or {}
        allocatable = status.allocatable or {}
        result.append(
            NodeState(
                name=meta.name or "",
                ready=ready,
                gpus=allocatable.get("nvidia.com/gpu", "0"),
                product=labels.get("nvidia.com/gpu.product", labels.get("llmops.dev/accelerator", "cpu")),
                lifecycle_taints=taints,
            )
        )
    return result
