"""manifests/: generated from the chart without drift, kustomize-buildable, ArgoCD sync waves and Application."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
import yaml

from llmops.api.resource import parse_resource
from llmops_dev import paths
from llmops_dev.kubectl import Kubectl, wait_for
from tests.chart.argocd import HEALTH_LUA
from tests.chart.chart import CRD_SOURCE, ROOT, load_all

MANIFESTS = ROOT / "manifests"
ARGOCD = MANIFESTS / "argocd"
WAVE = "argocd.argoproj.io/sync-wave"


def _generate(helm: str, root: Path, *args: str) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "HELM": helm}
    return subprocess.run(
        [sys.executable, str(root / "manifests" / "generate.py"), *args],
        capture_output=True,
        text=True,
        env=env,
        check=False,
    )


def _kustomize(path: Path) -> list[dict[str, Any]]:
    proc = subprocess.run([paths.kubectl(), "kustomize", str(path)], capture_output=True, text=True, check=True)
    return load_all(proc.stdout)


def test_generated_files_are_current(helm: str) -> None:
    proc = _generate(helm, ROOT, "--check")
    assert proc.returncode == 0, f"stale generated files, run manifests/generate.py:\n{proc.stdout}{proc.stderr}"


@pytest.mark.parametrize(
    ("edit", "stale"),
    [
        ("charts/llmops/values.yaml", "manifests/install/operator.yaml"),
        ("crds/llmdeployments.llmops.dev.yaml", "charts/llmops/crds-templates/llmdeployments.llmops.dev.yaml"),
        ("manifests/argocd/health.lua", "manifests/argocd/argocd-cm.yaml"),
    ],
)
def test_drift_is_detected_and_regenerating_fixes_it(helm: str, tmp_path: Path, edit: str, stale: str) -> None:
    for part in ("charts", "crds", "manifests"):
        shutil.copytree(ROOT / part, tmp_path / part)
    target = tmp_path / edit
    if edit.endswith("values.yaml"):
        target.write_text(target.read_text().replace("memory: 512Mi", "memory: 768Mi"))
    else:
        target.write_text(target.read_text() + ("-- edited\n" if edit.endswith(".lua") else "# edited\n"))
    checked = _generate(helm, tmp_path, "--check")
    assert checked.returncode == 1 and stale in checked.stdout, checked.stdout + checked.stderr
    assert _generate(helm, tmp_path).returncode == 0
    assert _generate(helm, tmp_path, "--check").returncode == 0


def test_kustomization_builds_the_crd_namespace_and_operator_in_sync_waves() -> None:
    objects = _kustomize(MANIFESTS)
    waves = {(o["kind"], o["metadata"]["name"]): o["metadata"]["annotations"][WAVE] for o in objects}
    assert waves.pop(("CustomResourceDefinition", "llmdeployments.llmops.dev")) == "-1"
    assert waves.pop(("Namespace", "llmops-system")) == "-1"
    assert set(waves.values()) == {"0"}
    assert {kind for kind, _ in waves} == {
        "ServiceAccount",
        "ClusterRole",
        "ClusterRoleBinding",
        "Service",
        "Deployment",
        "NetworkPolicy",
        "ConfigMap",
    }
    namespace = next(o for o in objects if o["kind"] == "Namespace")
    assert namespace["metadata"]["labels"]["pod-security.kubernetes.io/enforce"] == "restricted"
    crd = next(o for o in objects if o["kind"] == "CustomResourceDefinition")
    assert crd["metadata"]["annotations"]["argocd.argoproj.io/sync-options"] == "Prune=false"
    assert "helm.sh/resource-policy" not in crd["metadata"]["annotations"]
    assert crd["spec"] == yaml.safe_load(CRD_SOURCE.read_text())["spec"]
    assert not [o for o in objects if o["kind"] == "Pod"], "no helm test hook in plain manifests"


def test_crd_fits_client_side_apply() -> None:
    """Under 262144 bytes, so even client-side apply's last-applied annotation fits (ServerSideApply is still set)."""
    assert len((MANIFESTS / "install" / "crds.yaml").read_bytes()) < 262144 // 2


def test_example_application_syncs_crd_then_operator_then_llmdeployments() -> None:
    objects = _kustomize(ARGOCD / "example")
    waves = {o["kind"]: int(o["metadata"]["annotations"][WAVE]) for o in objects}
    assert waves["CustomResourceDefinition"] < waves["Deployment"] < waves["LLMDeployment"]
    (model,) = [o for o in objects if o["kind"] == "LLMDeployment"]
    assert "SkipDryRunOnMissingResource=true" in model["metadata"]["annotations"]["argocd.argoproj.io/sync-options"]
    spec = parse_resource(model).spec
    assert spec.autoscaling.enabled


def test_application_has_server_side_apply_and_ignores_the_hpa_replicas() -> None:
    app = yaml.safe_load((ARGOCD / "application.yaml").read_text())
    assert app["apiVersion"] == "argoproj.io/v1alpha1" and app["kind"] == "Application"
    assert (ROOT / app["spec"]["source"]["path"] / "kustomization.yaml").is_file()
    options = app["spec"]["syncPolicy"]["syncOptions"]
    assert "ServerSideApply=true" in options and "RespectIgnoreDifferences=true" in options
    (ignored,) = app["spec"]["ignoreDifferences"]
    assert (ignored["group"], ignored["kind"]) == ("llmops.dev", "LLMDeployment")
    # exactly the field the HPA writes: the scale subresource's spec replicas path
    scale = yaml.safe_load(CRD_SOURCE.read_text())["spec"]["versions"][0]["subresources"]["scale"]
    assert ignored["jsonPointers"] == ["/" + scale["specReplicasPath"].lstrip(".").replace(".", "/")]


def test_argocd_cm_registers_the_health_check_verbatim() -> None:
    configmap = yaml.safe_load((ARGOCD / "argocd-cm.yaml").read_text())
    assert (configmap["metadata"]["name"], configmap["metadata"]["namespace"]) == ("argocd-cm", "argocd")
    assert configmap["data"] == {"resource.customizations.health.llmops.dev_LLMDeployment": HEALTH_LUA.read_text()}


@pytest.mark.cluster
def test_plain_manifests_install_the_operator(kubectl: Kubectl) -> None:
    """What ArgoCD applies: the namespace (restricted) and the operator; the pod is admitted and runs (kwok)."""
    objects = [o for o in _kustomize(MANIFESTS) if o["kind"] != "CustomResourceDefinition"]
    kubectl.run("apply", "--server-side", "--force-conflicts", "-f", str(MANIFESTS / "install" / "crds.yaml"))
    stream = yaml.safe_dump_all(objects)
    kubectl.run("apply", "--server-side", "-f", "-", stdin=stream)
    try:
        wait_for(
            lambda: kubectl.json("get", "deployment", "llmops", "-n", "llmops-system")["status"].get(
                "availableReplicas"
            ),
            timeout=90,
            what="the llmops Deployment from manifests/ available",
        )
        (pod,) = kubectl.json("get", "pods", "-n", "llmops-system", "-l", "app.kubernetes.io/name=llmops")["items"]
        assert pod["spec"]["serviceAccountName"] == "llmops" and pod["status"]["phase"] == "Running"
    finally:
        kubectl.run("delete", "-f", "-", "--wait=false", "--ignore-not-found", stdin=stream, check=False)
