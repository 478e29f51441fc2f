"""The embedded local Kubernetes cluster (real control-plane binaries, kwok nodes) for tests and demos."""

from llmops_dev.cluster import ClusterStatus, LocalCluster, StartResult
from llmops_dev.errors import ClusterError

__all__ = ["ClusterError", "ClusterStatus", "LocalCluster", "StartResult"]
