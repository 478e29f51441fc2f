"""The embedded local Kubernetes cluster (real control-plane binaries, kwok nodes) for tests and demos."""

from llmops.dev.cluster import ClusterStatus, LocalCluster, StartResult
from llmops.dev.errors import ClusterError

__all__ = ["ClusterError", "ClusterStatus", "LocalCluster", "StartResult"]
