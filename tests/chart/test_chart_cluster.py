"""The chart on the real control plane.

`helm install` creates everything and the operator pod passes Pod Security `restricted` admission; then the
operator runs as a local process authenticated with a real token of the chart's ServiceAccount (TokenRequest),
through a recording proxy, and reconciles examples to Ready in both RBAC modes. That proves the RBAC sufficient
(no request denied) and minimal (every permission granted was used, except those listed with the reason the
scenario cannot reach them), and `kubectl auth can-i --list` shows no wildcard and nothing on Secrets.
"""

from __future__ import annotations

import base64
import os
import re
import secrets
import shutil
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import NamedTuple

import pytest
import yaml

from llmops_dev.kubectl import Kubectl, wait_for
from tests.chart.apiproxy import RecordingProxy
from tests.chart.argocd import health
from tests.chart.chart import CHART, CRD_SOURCE, Obj, hook_pod, mounted_config, operator_pod, render
from tests.integration.operator_fixtures import OperatorProcess, example, llmd, wait_phase
from tests.integration.test_operator import precreate_job, rendered
from tests.unit.test_images import containers

pytestmark = pytest.mark.cluster

RESTRICTED = "pod-security.kubernetes.io/enforce=restricted"
# What the operator's log shows when RBAC denies it something (kopf's own fallbacks included).
DENIALS = ("forbidden", "Forbidden", "Not enough permissions", " 403", "Unauthorized")
Grant = tuple[str, str]  # (resource[.group][/subresource], verb), as `kubectl auth can-i --list` names them


def _verbs(resource: str, *verbs: str) -> set[Grant]:
    return {(resource, verb) for verb in verbs}


# What every authenticated user may do anyway (system:basic-user): reviews of oneself.
SELF_REVIEWS = _verbs("selfsubjectreviews.authentication.k8s.io", "create") | {
    ("selfsubjectaccessreviews.authorization.k8s.io", "create"),
    ("selfsubjectrulesreviews.authorization.k8s.io", "create"),
}
# What the chart grants (charts/llmops/templates/_helpers.tpl), as can-i lists it.
CLUSTER_READS = _verbs("nodes", "list", "watch") | _verbs(
    "customresourcedefinitions.apiextensions.k8s.io", "list", "watch"
)
NAMESPACE_READS = _verbs("namespaces", "list", "watch")
NAMESPACED = (
    _verbs("llmdeployments.llmops.dev", "list", "watch", "patch")
    | _verbs("llmdeployments.llmops.dev/status", "patch")
    | _verbs("events", "create")
    | _verbs("jobs.batch", "get", "list", "watch", "create")
    | _verbs("pods", "list")
    | _verbs("deployments.apps", "get", "list", "watch", "create", "patch")
    | _verbs("services", "get", "create", "patch")
    | _verbs("horizontalpodautoscalers.autoscaling", "get", "create", "patch", "delete")
    | _verbs("configmaps", "get", "create")
    | _verbs("persistentvolumeclaims", "get", "create")
    | _verbs("servicemonitors.monitoring.coreos.com", "get", "create", "patch", "delete")
)
# Granted but not reached here, and why: prometheus-operator's CRDs are not installed on the test cluster, and
# the operator only manages ServiceMonitors where they are (it checks with discovery).
NOT_REACHED = _verbs("servicemonitors.monitoring.coreos.com", "get", "create", "patch", "delete")


class CanI(NamedTuple):
    """One line of `kubectl auth can-i --list`."""

    resource: str
    names: tuple[str, ...]
    urls: tuple[str, ...]
    verbs: tuple[str, ...]


class ChartOperator(OperatorProcess):
    """`llmops run` with the chart Deployment's arguments (local ports instead of the container's, and a local
    copy of the images and conversion configuration the pod mounts)."""

    def __init__(
        self, kubeconfig: str, log: Path, deployment_args: list[str], images_config: Path, conversion_config: Path
    ) -> None:
        super().__init__(kubeconfig, log)
        self.namespace_args = [a for a in deployment_args if a.startswith("--namespace=")]
        self.images_config, self.conversion_config = images_config, conversion_config

    def start(self) -> None:
        env = {**os.environ, "KUBECONFIG": self.kubeconfig}
        command = [sys.executable, "-m", "llmops.cli", "run", *self.namespace_args]
        command += ["--images-config", str(self.images_config), "--conversion-config", str(self.conversion_config)]
        command += ["--metrics-port", str(self.metrics_port), "--probe-port", str(self.probe_port)]
        with self.log.open("ab") as log:
            self.process = subprocess.Popen(command, env=env, stdout=log, stderr=subprocess.STDOUT)
        wait_for(self.healthy, timeout=60, what=f"operator /healthz (log: {self.log})")

    def denials(self) -> list[str]:
        return [line for line in self.log.read_text().splitlines() if any(word in line for word in DENIALS)]


def _new_namespace(kubectl: Kubectl, stem: str, *labels: str) -> str:
    name = f"{stem}-{secrets.token_hex(3)}"
    kubectl.run("create", "namespace", name)
    if labels:
        kubectl.run("label", "namespace", name, *labels)
    wait_for(
        lambda: kubectl.run("get", "serviceaccount", "default", "-n", name, check=False).returncode == 0,
        timeout=60,
        what=f"serviceaccount default in {name}",
    )
    return name


@pytest.fixture
def namespaces(kubectl: Kubectl) -> Iterator[list[str]]:
    """Namespaces a test creates with `_new_namespace`; deleted afterwards."""
    created: list[str] = []
    yield created
    for name in created:
        # The operator is stopped by now: release its finalizers, or the namespaces would never go away.
        finalizers = '{"metadata":{"finalizers":null}}'
        found = kubectl.run("get", "llmdeployments", "-n", name, "-o", "name", check=False).stdout.split()
        for obj in found:
            kubectl.run("patch", obj, "-n", name, "--type=merge", "-p", finalizers, check=False)
        kubectl.run("delete", "namespace", name, "--wait=false", check=False)


def _helm(helm: str, kubeconfig: str, *args: str, timeout: float = 180) -> subprocess.CompletedProcess[str]:
    proc = subprocess.run(
        [helm, f"--kubeconfig={kubeconfig}", *args], capture_output=True, text=True, timeout=timeout, check=False
    )
    assert proc.returncode == 0, f"helm {' '.join(args)}:\n{proc.stdout}\n{proc.stderr}"
    return proc


def _install(helm: str, kubeconfig: str, release: str, namespace: str, *args: str, chart: Path = CHART) -> None:
    _helm(helm, kubeconfig, "install", release, str(chart), "-n", namespace, "--wait", "--timeout=120s", *args)


def _assert_installed(kubectl: Kubectl, namespace: str, release: str) -> None:
    """Everything the chart creates exists; the operator pod was admitted under `restricted` and runs (kwok)."""
    kubectl.wait_established("llmdeployments.llmops.dev")
    kubectl.run("get", "serviceaccount", release, "-n", namespace)
    kubectl.run("get", "clusterrole", release)
    kubectl.run("get", "clusterrolebinding", release)
    kubectl.run("get", "service", f"{release}-metrics", "-n", namespace)
    kubectl.run("get", "networkpolicy", release, "-n", namespace)
    deployment = kubectl.json("get", "deployment", release, "-n", namespace)
    assert deployment["status"].get("availableReplicas") == 1, deployment["status"]
    (pod,) = kubectl.json("get", "pods", "-n", namespace, "-l", "app.kubernetes.io/component=operator")["items"]
    assert pod["status"]["phase"] == "Running"


def _ca_pem(kubectl: Kubectl) -> tuple[str, str]:
    """The API server URL and CA (PEM) of the admin kubeconfig."""
    admin = yaml.safe_load(Path(kubectl.kubeconfig).read_text())
    context = next(c for c in admin["contexts"] if c["name"] == admin["current-context"])["context"]
    cluster = next(c for c in admin["clusters"] if c["name"] == context["cluster"])["cluster"]
    return cluster["server"], base64.b64decode(cluster["certificate-authority-data"]).decode()


def _token_kubeconfig(kubectl: Kubectl, namespace: str, service_account: str, server: str, path: Path) -> Path:
    """A kubeconfig authenticating with a real token of the ServiceAccount (TokenRequest), as the pod would."""
    token = kubectl.run("create", "token", service_account, "-n", namespace, "--duration=2h").stdout.strip()
    user = f"system:serviceaccount:{namespace}:{service_account}"
    config = {
        "apiVersion": "v1",
        "kind": "Config",
        "clusters": [{"name": "proxy", "cluster": {"server": server}}],
        "users": [{"name": user, "user": {"token": token}}],
        "contexts": [{"name": "operator", "context": {"cluster": "proxy", "user": user}}],
        "current-context": "operator",
    }
    path.write_text(yaml.safe_dump(config))
    path.chmod(0o600)
    return path


def _operator(kubectl: Kubectl, proxy: RecordingProxy, tmp_path: Path, system: str, release: str) -> ChartOperator:
    config = _token_kubeconfig(kubectl, system, release, proxy.url, tmp_path / "operator.kubeconfig")
    pod = kubectl.json("get", "deployment", release, "-n", system)["spec"]["template"]["spec"]
    args = list(pod["containers"][0]["args"])
    # The pod's mounted files, copied from the installed ConfigMaps.
    configs = []
    for flag in ("--images-config", "--conversion-config"):
        configs.append(tmp_path / f"{flag.strip('-')}.yaml")
        configs[-1].write_text(mounted_config(pod, flag, lambda name: kubectl.json("get", "cm", name, "-n", system)))
    operator = ChartOperator(str(config), tmp_path / "operator.log", args, *configs)
    operator.start()
    return operator


def _ready(kubectl: Kubectl, operator: ChartOperator, namespace: str, name: str, phase: str = "Ready") -> Obj:
    try:
        return wait_phase(kubectl, namespace, name, phase, timeout=150)
    except TimeoutError:
        raise AssertionError(f"{name} not {phase}; operator log:\n{operator.log.read_text()[-4000:]}") from None


def _can_i_list(kubectl: Kubectl, user: str, namespace: str) -> list[CanI]:
    """`kubectl auth can-i --list` as the user, parsed."""
    out = kubectl.run("auth", "can-i", "--list", f"--as={user}", "-n", namespace).stdout
    lines = out.splitlines()
    assert lines[0].split() == ["Resources", "Non-Resource", "URLs", "Resource", "Names", "Verbs"], out
    rows = []
    for line in lines[1:]:
        match = re.fullmatch(r"(\S*)\s+\[(.*?)\]\s+\[(.*?)\]\s+\[(.*?)\]\s*", line)
        assert match, line
        resource, urls, names, verbs = match.groups()
        rows.append(CanI(resource, tuple(names.split()), tuple(urls.split()), tuple(verbs.split())))
    return rows


def _granted(rows: list[CanI]) -> set[Grant]:
    """Resource grants of any name (can-i also lists non-resource URLs, e.g. discovery, which every user has)."""
    return {(row.resource, verb) for row in rows if row.resource and not row.names for verb in row.verbs}


def _assert_no_secrets_and_no_wildcards(kubectl: Kubectl, user: str, namespace: str, rows: list[CanI]) -> None:
    for row in rows:
        assert "*" not in row.verbs and not row.resource.startswith("*") and ".*" not in row.resource, row
        assert not row.resource.startswith("secrets"), row
    for verb in ("get", "list", "watch"):
        for scope in (["-n", namespace], ["-A"]):
            proc = kubectl.run("auth", "can-i", verb, "secrets", f"--as={user}", *scope, check=False)
            assert proc.stdout.strip() == "no", (verb, scope, proc.stdout)


def test_cluster_wide_install_runs_the_operator_with_sufficient_and_minimal_rbac(
    helm: str, kubeconfig: str, kubectl: Kubectl, namespaces: list[str], tmp_path: Path
) -> None:
    release = "llmops-cw"
    system = _new_namespace(kubectl, "llmops-system", RESTRICTED)
    workload = _new_namespace(kubectl, "models")
    namespaces += [system, workload]
    # The CRD may exist already (another suite, an earlier run): the chart adopts it, as when moving from
    # plain manifests to the chart.
    _install(helm, kubeconfig, release, system, "--take-ownership")
    _assert_installed(kubectl, system, release)
    manifest = _helm(helm, kubeconfig, "get", "manifest", release, "-n", system).stdout
    installed = {(o["kind"], o["metadata"]["name"]) for o in yaml.safe_load_all(manifest) if o}
    rendered_ = render(helm, "--skip-tests", namespace=system, release=release)
    assert installed == {(o["kind"], o["metadata"]["name"]) for o in rendered_}
    crd = kubectl.json("get", "crd", "llmdeployments.llmops.dev")
    assert crd["metadata"]["annotations"]["helm.sh/resource-policy"] == "keep"

    with RecordingProxy(*_ca_pem(kubectl)) as proxy:
        operator = _operator(kubectl, proxy, tmp_path, system, release)
        try:
            # 1. CPU, fixed replicas: conversion Jobs, the PVC, the cache record, Deployment, Service, events.
            plain = example("cpu-triton-onnx", serving={"replicas": 1})
            kubectl.apply(plain, namespace=workload)
            ready = _ready(kubectl, operator, workload, plain["metadata"]["name"])
            assert ready["status"]["plan"]["accelerator"] == "cpu"
            assert health(ready) == {"status": "Healthy", "message": "1/1 replicas ready"}
            # 2. The same model autoscaled (a cache hit; an HPA), then autoscaling turned off (the HPA deleted).
            scaled = example("cpu-triton-onnx", name="autoscaled", autoscaling={"enabled": True})
            kubectl.apply(scaled, namespace=workload)
            _ready(kubectl, operator, workload, "autoscaled")
            kubectl.run("get", "hpa", "autoscaled", "-n", workload)
            kubectl.apply(
                example("cpu-triton-onnx", name="autoscaled", autoscaling={"enabled": False}), namespace=workload
            )
            wait_for(
                lambda: kubectl.run("get", "hpa", "autoscaled", "-n", workload, check=False).returncode != 0,
                timeout=60,
                what="the HPA deleted once autoscaling is off",
            )
            # 3. A failing conversion: the Job's pods are read for the termination message.
            failing = example("edge-llamacpp")
            precreate_job(kubectl, rendered(failing, workload), 1, {"kwok.llmops.dev/exit-code": "3"})
            kubectl.apply(failing, namespace=workload)
            failed = _ready(kubectl, operator, workload, failing["metadata"]["name"], phase="Failed")
            assert health(failed)["status"] == "Degraded"
            assert "llmops_" in operator.metrics()
            assert not operator.denials(), "\n".join(operator.denials()[:20])
        finally:
            assert operator.stop() == 0
        used = proxy.used()
        denied = proxy.used(statuses=[401, 403])

    user = f"system:serviceaccount:{system}:{release}"
    rows = _can_i_list(kubectl, user, workload)
    _assert_no_secrets_and_no_wildcards(kubectl, user, workload, rows)
    granted = _granted(rows) - SELF_REVIEWS
    assert granted == NAMESPACED | CLUSTER_READS, sorted(granted ^ (NAMESPACED | CLUSTER_READS))
    assert not denied, denied
    assert used <= granted, f"used without a grant: {sorted(used - granted)}"
    assert granted - used == NOT_REACHED, f"granted, never used: {sorted(granted - used - NOT_REACHED)}"

    _helm(helm, kubeconfig, "uninstall", release, "-n", system, "--wait")
    # kept: deleting the CRD would delete every LLMDeployment
    kubectl.run("get", "crd", "llmdeployments.llmops.dev")
    assert llmd(kubectl, workload, plain["metadata"]["name"])["status"]["phase"] == "Ready"
    assert kubectl.run("get", "clusterrole", release, check=False).returncode != 0


def test_namespaced_install_reconciles_only_its_namespaces_with_roles(
    helm: str, kubeconfig: str, kubectl: Kubectl, namespaces: list[str], tmp_path: Path
) -> None:
    release = "llmops-ns"
    system = _new_namespace(kubectl, "llmops-system", RESTRICTED)
    watched = _new_namespace(kubectl, "team-a")
    other = _new_namespace(kubectl, "team-b")
    namespaces += [system, watched, other]
    kubectl.run("apply", "--server-side", "--force-conflicts", "-f", str(CRD_SOURCE))
    values = ["--set", "crds.enabled=false", "--set", f"operator.watchNamespaces={{{watched}}}"]
    values += ["--set", "images.registry=registry.local:5000"]  # a mirror, through the ConfigMap the pod mounts
    _install(helm, kubeconfig, release, system, *values)
    _assert_installed(kubectl, system, release)
    kubectl.run("get", "role", release, "-n", watched)
    assert kubectl.run("get", "role", release, "-n", other, check=False).returncode != 0

    ignored = example("cpu-triton-onnx", name="not-watched", serving={"replicas": 1})
    kubectl.apply(ignored, namespace=other)
    with RecordingProxy(*_ca_pem(kubectl)) as proxy:
        operator = _operator(kubectl, proxy, tmp_path, system, release)
        assert operator.namespace_args == [f"--namespace={watched}"]
        try:
            obj = example("cpu-triton-onnx", serving={"replicas": 1})
            kubectl.apply(obj, namespace=watched)
            assert health(_ready(kubectl, operator, watched, obj["metadata"]["name"]))["status"] == "Healthy"
            children = kubectl.json("get", "jobs,deployments", "-n", watched)["items"]
            hosts = {c["image"].split("/", 1)[0] for c in containers(children)}
            assert hosts == {"registry.local:5000"}, hosts
            assert not operator.denials(), "\n".join(operator.denials()[:20])
            # the other namespace's LLMDeployment is left alone: the operator could not even read it
            assert "status" not in llmd(kubectl, other, "not-watched")
            assert not kubectl.json("get", "jobs", "-n", other)["items"]
        finally:
            assert operator.stop() == 0
        used = proxy.used()
        denied = proxy.used(statuses=[401, 403])

    user = f"system:serviceaccount:{system}:{release}"
    in_watched = _can_i_list(kubectl, user, watched)
    _assert_no_secrets_and_no_wildcards(kubectl, user, watched, in_watched)
    granted = _granted(in_watched) - SELF_REVIEWS
    assert granted == NAMESPACED | CLUSTER_READS | NAMESPACE_READS
    assert _granted(_can_i_list(kubectl, user, other)) - SELF_REVIEWS == CLUSTER_READS | NAMESPACE_READS
    assert not denied, denied
    assert used <= granted, f"used without a grant: {sorted(used - granted)}"
    # kopf lists and watches namespaces in namespaced mode (it would log a warning without them)
    assert used >= NAMESPACE_READS
    _helm(helm, kubeconfig, "uninstall", release, "-n", system, "--wait")


def test_helm_upgrade_updates_the_crd(
    helm: str, kubeconfig: str, kubectl: Kubectl, namespaces: list[str], tmp_path: Path
) -> None:
    """The CRD is a template: upgrading to a chart whose CRD changed applies the change (Helm's crds/ would not)."""
    release = "llmops-up"
    system = _new_namespace(kubectl, "llmops-system", RESTRICTED)
    namespaces.append(system)
    older = tmp_path / "llmops"
    shutil.copytree(CHART, older)
    copy = older / "crds-templates" / CRD_SOURCE.name
    crd = yaml.safe_load(copy.read_text())
    version = crd["spec"]["versions"][0]
    version["additionalPrinterColumns"] = [c for c in version["additionalPrinterColumns"] if c["name"] != "Format"]
    copy.write_text(yaml.safe_dump(crd, sort_keys=False))

    def columns() -> list[str]:
        live = kubectl.json("get", "crd", "llmdeployments.llmops.dev")
        return [c["name"] for c in live["spec"]["versions"][0]["additionalPrinterColumns"]]

    # The CRD was applied before by another field manager (kubectl, another release): adopt it, take its fields.
    _install(helm, kubeconfig, release, system, "--take-ownership", "--force-conflicts", chart=older)
    assert "Format" not in columns()
    upgrade = ["upgrade", release, str(CHART), "-n", system, "--wait", "--timeout=120s", "--force-conflicts"]
    _helm(helm, kubeconfig, *upgrade)
    assert "Format" in columns()
    _helm(helm, kubeconfig, "uninstall", release, "-n", system, "--wait")


def _dry_run_pod(kubectl: Kubectl, namespace: str, pod: Obj) -> subprocess.CompletedProcess[str]:
    """Server dry-run of a Pod (its ServiceAccount must exist: admission looks it up)."""
    account = pod["spec"].get("serviceAccountName", "default")
    if kubectl.run("get", "serviceaccount", account, "-n", namespace, check=False).returncode != 0:
        kubectl.run("create", "serviceaccount", account, "-n", namespace)
    stream = yaml.safe_dump(pod)
    return kubectl.run("create", "--dry-run=server", "-n", namespace, "-f", "-", stdin=stream, check=False)


@pytest.mark.parametrize("values", ["default-values.yaml", "production-values.yaml", "namespaced-values.yaml"])
def test_rendered_chart_passes_server_dry_run_and_restricted_admission(
    helm: str, kubectl: Kubectl, namespaces: list[str], values: str
) -> None:
    system = _new_namespace(kubectl, "restricted", RESTRICTED)
    namespaces.append(system)
    objects = render(helm, values=[CHART / "ci" / values], namespace=system, release="dry")
    for target in sorted({o["metadata"].get("namespace") for o in objects} - {None, system}):  # team-a, team-b
        if kubectl.run("get", "namespace", target, check=False).returncode != 0:
            kubectl.run("create", "namespace", target)
            namespaces.append(target)
    # Every object the API server knows the kind of (the CRD included), validated by it.
    known = [o for o in objects if o["kind"] not in {"ServiceMonitor", "PrometheusRule"}]
    stream = yaml.safe_dump_all(known)
    kubectl.run("apply", "--server-side", "--dry-run=server", "--force-conflicts", "-f", "-", stdin=stream)
    # Pod Security admission judges Pods: the operator's pod and the helm test pod, both as Pods.
    for pod in (operator_pod(objects), hook_pod(objects)):
        proc = _dry_run_pod(kubectl, system, pod)
        assert proc.returncode == 0, proc.stderr


def test_restricted_namespace_does_reject_a_weaker_pod(helm: str, kubectl: Kubectl, namespaces: list[str]) -> None:
    """The control for the test above: the same pod, with privilege escalation allowed, is refused."""
    system = _new_namespace(kubectl, "restricted", RESTRICTED)
    namespaces.append(system)
    pod = operator_pod(render(helm, namespace=system))
    assert _dry_run_pod(kubectl, system, pod).returncode == 0
    pod["spec"]["containers"][0]["securityContext"]["allowPrivilegeEscalation"] = True
    proc = _dry_run_pod(kubectl, system, pod)
    assert proc.returncode != 0 and "violates PodSecurity" in proc.stderr, proc.stderr
