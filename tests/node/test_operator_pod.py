"""The chart's operator, for real: the locally built image as a pod on the real node, reconciling, and found by
Prometheus' own Kubernetes discovery through the chart's scrape configuration."""

from __future__ import annotations

from pathlib import Path

import pytest

from llmops.observability.conventions import OPERATOR_JOB
from llmops_dev import node
from llmops_dev.kubectl import Kubectl, wait_for
from tests.chart.chart import CRD_SOURCE, scrape_configs
from tests.chart.test_chart_cluster import RESTRICTED, _helm, _install, _new_namespace, namespaces
from tests.integration.operator_fixtures import example, llmd
from tests.node.test_real_node import image
from tests.observability.prometheus import running, wait_until

pytestmark = pytest.mark.cluster
__all__ = ["namespaces"]  # the fixture, imported so this module can use it


def test_the_chart_runs_the_operator_image_as_a_restricted_pod_that_reconciles_and_is_scraped(
    helm: str, kubeconfig: str, kubectl: Kubectl, namespaces: list[str], tmp_path: Path
) -> None:
    release = "llmops-real"
    system = _new_namespace(kubectl, "llmops-real", RESTRICTED)
    team = _new_namespace(kubectl, "team-real")
    namespaces += [system, team]
    kubectl.run("apply", "--server-side", "--force-conflicts", "-f", str(CRD_SOURCE))
    repository, tag = image("operator").rsplit(":", 1)
    values = [
        "--set", "crds.enabled=false", "--set", f"operator.watchNamespaces={{{team}}}",
        "--set", f"image.repository={repository}", "--set", f"image.tag={tag}", "--set", "image.pullPolicy=Never",
        "--set-json", f'nodeSelector={{"kubernetes.io/hostname":"{node.NODE_NAME}"}}',
        "--set-json", f'tolerations=[{{"key":"{node.TAINT_KEY}","operator":"Exists","effect":"NoSchedule"}}]',
    ]  # fmt: skip
    _install(helm, kubeconfig, release, system, *values)

    (pod,) = kubectl.json("get", "pods", "-n", system, "-l", "app.kubernetes.io/component=operator")["items"]
    assert pod["spec"]["nodeName"] == node.NODE_NAME
    container = pod["spec"]["containers"][0]
    assert container["securityContext"]["readOnlyRootFilesystem"] is True
    ready = next(c for c in pod["status"]["conditions"] if c["type"] == "Ready")
    assert ready["status"] == "True", "its readiness probe is answered by the real process"
    assert all(s["ready"] and s["restartCount"] == 0 for s in pod["status"]["containerStatuses"])

    obj = example("cpu-triton-onnx", serving={"replicas": 1})
    kubectl.apply(obj, namespace=team)
    name = obj["metadata"]["name"]
    wait_for(
        lambda: llmd(kubectl, team, name).get("status", {}).get("phase") == "Ready" or None,
        timeout=180,
        what=f"{name} Ready, reconciled by the operator pod",
    )
    # `kubectl logs` reaches the real process (through the kubelet), which logged its start.
    logs = kubectl.run("logs", "-n", system, pod["metadata"]["name"]).stdout
    assert "images configuration: the pinned defaults" in logs, logs[-2000:]
    restarts = kubectl.json("get", "pod", "-n", system, pod["metadata"]["name"])["status"]["containerStatuses"]
    assert restarts[0]["restartCount"] == 0

    # Prometheus with the chart's scrape configuration (same release and values) finds the pod behind the
    # chart's metrics Service and scrapes it under the job the rules and dashboards select.
    configs = scrape_configs(helm, *values, "--set", "metrics.scrapeConfigs.interval=2s", release=release,
                             namespace=system, kubeconfig=kubeconfig)  # fmt: skip
    with running(tmp_path / "prometheus", configs, []) as prometheus:
        prometheus.wait_scraped(OPERATOR_JOB)
        (target,) = [t for t in prometheus.targets() if t["labels"]["job"] == OPERATOR_JOB]
        (service,) = kubectl.json("get", "services", "-n", system)["items"]
        assert target["labels"]["pod"] == pod["metadata"]["name"] and target["labels"]["namespace"] == system
        assert target["labels"]["service"] == service["metadata"]["name"]
        query = f'llmops_llmdeployments{{job="{OPERATOR_JOB}",phase="Ready"}}'
        wait_until(lambda: [s for s in prometheus.query(query) if float(s["value"][1]) >= 1], 30, query)
    _helm(helm, kubeconfig, "uninstall", release, "-n", system, "--wait")
