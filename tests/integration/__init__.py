"""Tests against a real Kubernetes control plane (the embedded cluster or $LLMOPS_TEST_KUBECONFIG)."""
