"""Cluster facts the planner reads: node pools by accelerator class, monitoring CRDs, known artifacts, images."""

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

from llmops.api.enums import Accelerator
from llmops.planning.conversionconfig import ConversionConfig
from llmops.planning.hardware import CLASS_LABEL, GPU_RESOURCE, PRODUCT_LABEL, class_of_product
from llmops.planning.imageconfig import ImageConfig
from llmops.planning.modelfacts import ModelFacts


@dataclass(frozen=True)
class NodePool:
    """The nodes of one accelerator class."""

    accelerator: Accelerator
    nodes: int
    max_gpus_per_node: int
    products: frozenset[str] = frozenset()


@dataclass(frozen=True)
class ClusterFacts:
    """Everything outside the spec that planning and rendering depend on.

    pools is None when nothing is known about nodes (`llmops plan` without --nodes): then an explicit
    accelerator is trusted and `auto` is refused. images and conversion are the operator's configuration
    (`--images-config`, `--conversion-config` and its HF_ENDPOINT), read once at start.
    """

    pools: Mapping[Accelerator, NodePool] | None = None
    service_monitor_crd: bool = False
    resolved_revision: str | None = None
    model: ModelFacts | None = None  # config.json sizes and weight bytes; None: the fit is not checked
    cached_artifacts: frozenset[str] = field(default_factory=frozenset)
    images: ImageConfig = field(default_factory=ImageConfig)
    conversion: ConversionConfig = field(default_factory=ConversionConfig)


def _quantity_int(value: Any) -> int:
    try:
        return int(str(value))
    except ValueError:
        return 0


def accelerator_of_node(node: Mapping[str, Any]) -> Accelerator | None:
    """A node's class: its llmops.dev/accelerator label, else its GPU product, else cpu if it has no GPU."""
    labels = node.get("metadata", {}).get("labels") or {}
    explicit = labels.get(CLASS_LABEL)
    if explicit:
        try:
            return Accelerator(explicit)
        except ValueError:
            return None
    capacity = (node.get("status") or {}).get("capacity") or {}
    product = labels.get(PRODUCT_LABEL)
    if product:
        return class_of_product(product)
    if _quantity_int(capacity.get(GPU_RESOURCE, 0)) > 0:
        return None  # a GPU llmops cannot name: never guess a class for it
    return Accelerator.CPU


def pools_from_nodes(nodes: Iterable[Mapping[str, Any]]) -> dict[Accelerator, NodePool]:
    """Group Node objects (as `kubectl get nodes -o yaml` prints them) into pools; unschedulable nodes skipped."""
    grouped: dict[Accelerator, list[Mapping[str, Any]]] = {}
    for node in nodes:
        if (node.get("spec") or {}).get("unschedulable"):
            continue
        accelerator = accelerator_of_node(node)
        if accelerator is not None:
            grouped.setdefault(accelerator, []).append(node)
    pools = {}
    for accelerator, members in grouped.items():
        gpus = [_quantity_int(((n.get("status") or {}).get("allocatable") or {}).get(GPU_RESOURCE, 0)) for n in members]
        products = frozenset(
            str(n["metadata"]["labels"][PRODUCT_LABEL])
            for n in members
            if PRODUCT_LABEL in (n.get("metadata", {}).get("labels") or {})
        )
        pools[accelerator] = NodePool(accelerator, len(members), max(gpus, default=0), products)
    return pools
