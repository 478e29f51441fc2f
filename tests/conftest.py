"""Fixtures for every test that needs a real Kubernetes control plane (marker `cluster`), shared by the whole suite.

By default one embedded cluster (llmops_dev.LocalCluster) is started per test session in a pytest
temp directory and stopped at the end; its daemons die with the test process even if it is killed.
Set LLMOPS_TEST_KUBECONFIG to run against an existing cluster instead, e.g. a running
`llmops dev up` cluster (`export LLMOPS_TEST_KUBECONFIG=~/.cache/llmops/cluster/kubeconfig`) or kind;
that cluster is neither started nor stopped, and must carry the node pools of e2e/cluster/nodes.yaml.
"""

from __future__ import annotations

import os
import re
import secrets
import sys
from collections.abc import Generator, Iterator
from pathlib import Path

import pytest

from llmops_dev import ClusterError, LocalCluster, paths
from llmops_dev.kubectl import Kubectl, wait_for

ENV_TEST_KUBECONFIG = "LLMOPS_TEST_KUBECONFIG"
# Set while an embedded cluster runs, so a failing test's report says where its daemons' logs are.
_cluster_logs: list[Path] = []


@pytest.hookimpl(wrapper=True)
def pytest_runtest_makereport(
    item: pytest.Item, call: pytest.CallInfo[None]
) -> Generator[None, pytest.TestReport, pytest.TestReport]:
    report = yield
    if report.failed and _cluster_logs and "kubeconfig" in getattr(item, "fixturenames", ()):
        report.sections.append(("embedded cluster", f"daemon logs: {_cluster_logs[0]}"))
    return report


@pytest.fixture(scope="session")
def bin_dir() -> Path | None:
    """The control-plane bin dir (it also holds helm); None if an external cluster is tested without it."""
    try:
        return paths.resolve_bin_dir()
    except ClusterError:
        if os.environ.get(ENV_TEST_KUBECONFIG):
            return None  # helm then comes from PATH
        raise


@pytest.fixture(scope="session")
def kubeconfig(tmp_path_factory: pytest.TempPathFactory, bin_dir: Path | None) -> Iterator[str]:
    """Path of an admin kubeconfig for the session's cluster (embedded, or $LLMOPS_TEST_KUBECONFIG)."""
    external = os.environ.get(ENV_TEST_KUBECONFIG)
    if external:
        yield external
        return
    state_dir = tmp_path_factory.mktemp("llmops-cluster")
    cluster = LocalCluster(
        state_dir,
        bin_dir=bin_dir,
        progress=lambda msg: print(f"[cluster] {msg}", file=sys.stderr),
        die_with_parent=True,
    )
    print(f"[cluster] starting the embedded cluster in {state_dir} (logs: {cluster.logs_dir})", file=sys.stderr)
    _cluster_logs.append(cluster.logs_dir)
    cluster.start()
    try:
        yield str(cluster.kubeconfig)
    finally:
        cluster.stop()
        _cluster_logs.clear()


@pytest.fixture(scope="session")
def kubectl(kubeconfig: str) -> Kubectl:
    """kubectl bound to the session's cluster."""
    return Kubectl(kubeconfig)


@pytest.fixture(scope="session")
def helm(bin_dir: Path | None) -> str:
    """The helm binary (built with the control plane, else from PATH)."""
    return paths.helm(bin_dir)


@pytest.fixture
def namespace(request: pytest.FixtureRequest, kubectl: Kubectl) -> Iterator[str]:
    """A fresh namespace named after the test, ready for pods (its default ServiceAccount exists)."""
    stem = re.sub(r"[^a-z0-9-]+", "-", request.node.name.lower()).strip("-")[:40].rstrip("-")
    name = f"{stem}-{secrets.token_hex(3)}"
    kubectl.run("create", "namespace", name)
    wait_for(
        lambda: kubectl.run("get", "serviceaccount", "default", "-n", name, check=False).returncode == 0,
        timeout=60,
        what=f"serviceaccount default in namespace {name}",
    )
    yield name
    kubectl.run("delete", "namespace", name, "--wait=false", check=False)
