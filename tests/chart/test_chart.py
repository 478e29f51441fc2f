"""The chart, statically: lint, every ci scenario renders, the values schema, the CRD copy, RBAC and pod shape."""

from __future__ import annotations

import json
import re
import subprocess
from pathlib import Path
from typing import Any

import jsonschema
import pytest
import yaml

from llmops.observability.conventions import DEPLOYMENT, OPERATOR_JOB, RUNTIME
from tests.chart.chart import (
    CHART,
    CI_VALUES,
    CRD_SOURCE,
    Obj,
    hook_pod,
    load_all,
    of_kind,
    one,
    operator_pod,
    render,
    scrape_configs,
    template,
)
from tests.observability.prometheus import binary

SCHEMA = json.loads((CHART / "values.schema.json").read_text())
CONFIG_ARGS = ["--images-config=/etc/llmops/images.yaml", "--conversion-config=/etc/llmops/conversion.yaml"]
CONFIGMAPS = ["llmops-conversion", "llmops-images"]
VALUES = yaml.safe_load((CHART / "values.yaml").read_text())
CI_IDS = [p.name for p in CI_VALUES]
# Values typed by Kubernetes itself (the API server validates them; tests/chart dry-runs the render): open objects.
KUBERNETES_TYPED = {
    "affinity.nodeAffinity",
    "affinity.podAffinity",
    "affinity.podAntiAffinity",
    "tolerations[]",
    "conversion.tolerations[]",
    "networkPolicy.from[]",
    "podSecurityContext.seLinuxOptions",
    "podSecurityContext.appArmorProfile",
    "podSecurityContext.sysctls[]",
    "podSecurityContext.windowsOptions",
    "securityContext.seLinuxOptions",
    "securityContext.appArmorProfile",
    "securityContext.windowsOptions",
    "resources.claims[]",
    "tests.resources.claims[]",
    "global",
}


def test_ci_scenarios_exist() -> None:
    assert CI_IDS == [
        "airgapped-values.yaml",
        "default-values.yaml",
        "monitoring-values.yaml",
        "namespaced-values.yaml",
        "production-values.yaml",
    ]


@pytest.mark.parametrize("values", CI_VALUES, ids=CI_IDS)
def test_helm_lint_strict_is_clean(helm: str, values: Path) -> None:
    proc = subprocess.run(
        [helm, "lint", "--strict", str(CHART), "--values", str(values)], capture_output=True, text=True, check=False
    )
    assert proc.returncode == 0, proc.stdout + proc.stderr
    # helm lint turns `fail` and `required` into log lines instead of errors; none may appear.
    assert "[ERROR]" not in proc.stdout and "[WARNING]" not in proc.stdout and "fail" not in proc.stderr, proc.stderr


@pytest.mark.parametrize("values", CI_VALUES, ids=CI_IDS)
def test_every_scenario_renders_valid_kubernetes_objects(helm: str, values: Path) -> None:
    objects = render(helm, values=[values])
    for obj in objects:
        assert {"apiVersion", "kind", "metadata"} <= obj.keys(), obj
        name = obj["metadata"]["name"]
        assert re.fullmatch(r"[a-z0-9]([-a-z0-9.]*[a-z0-9])?", name), name
        assert len(name) <= 63 or obj["kind"] == "CustomResourceDefinition", name
    namespaced = {"Deployment", "ServiceAccount", "Service", "NetworkPolicy", "Role", "RoleBinding", "Pod", "ConfigMap"}
    for obj in objects:
        if obj["kind"] in namespaced:
            assert obj["metadata"].get("namespace"), f"{obj['kind']} {obj['metadata']['name']} has no namespace"


def test_lint_catches_a_broken_chart(helm: str, tmp_path: Path) -> None:
    broken = tmp_path / "llmops"
    subprocess.run(["cp", "-r", str(CHART), str(broken)], check=True)
    (broken / "templates" / "broken.yaml").write_text("apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: {{ .Oops\n")
    proc = subprocess.run([helm, "lint", "--strict", str(broken)], capture_output=True, text=True, check=False)
    assert proc.returncode != 0


# --- values.schema.json -------------------------------------------------------------------------------------------


def _objects_in_schema(node: dict[str, Any], path: str = "") -> list[tuple[str, dict[str, Any]]]:
    found = []
    if node.get("type") == "object":
        found.append((path, node))
    for key, child in (node.get("properties") or {}).items():
        found += _objects_in_schema(child, f"{path}.{key}".lstrip("."))
    if isinstance(node.get("items"), dict):
        found += _objects_in_schema(node["items"], f"{path}[]")
    return found


def test_schema_is_a_valid_draft7_schema_and_accepts_the_defaults_and_every_scenario() -> None:
    jsonschema.Draft7Validator.check_schema(SCHEMA)
    jsonschema.validate(VALUES, SCHEMA)
    for path in CI_VALUES:
        merged = _merge(VALUES, yaml.safe_load(path.read_text()) or {})
        jsonschema.validate(merged, SCHEMA)


def _merge(base: Any, override: Any) -> Any:
    if isinstance(base, dict) and isinstance(override, dict):
        return {**base, **{k: _merge(base.get(k), v) for k, v in override.items()}}
    return override


def test_every_object_in_the_schema_is_closed_except_kubernetes_typed_ones() -> None:
    objects = _objects_in_schema(SCHEMA)
    assert len(objects) > 20
    for path, node in objects:
        if path in KUBERNETES_TYPED:
            assert "additionalProperties" not in node, path
            continue
        assert "additionalProperties" in node, f"{path or '<root>'} accepts unknown keys"
        assert node["additionalProperties"] is False or isinstance(node["additionalProperties"], dict), path


def _every_values_path(values: Any, path: tuple[str, ...] = ()) -> list[tuple[str, ...]]:
    paths = [path] if isinstance(values, dict) else []
    if isinstance(values, dict):
        for key, child in values.items():
            paths += _every_values_path(child, (*path, key))
    return paths


def _with_unknown_key(values: Any, path: tuple[str, ...]) -> Any:
    copy = json.loads(json.dumps(values))
    node = copy
    for key in path:
        node = node[key]
    node["typoedKey"] = True
    return copy


# Maps whose keys are free (labels, annotations, node labels, resource names): an unknown key is allowed there,
# but its value is still typed, so the test's `True` is rejected all the same.
FREE_FORM_MAPS = {"nodeSelector", "resources.requests", "resources.limits"}
FREE_FORM_MAPS |= {"tests.resources.requests", "tests.resources.limits"}


@pytest.mark.parametrize("path", _every_values_path(VALUES), ids=lambda p: ".".join(p) or "<root>")
def test_schema_rejects_an_unknown_key_at_every_level_of_values(path: tuple[str, ...]) -> None:
    dotted = ".".join(path)
    free = dotted in FREE_FORM_MAPS or dotted.lower().endswith(("annotations", "labels"))
    with pytest.raises(jsonschema.ValidationError, match=None if free else "typoedKey"):
        jsonschema.validate(_with_unknown_key(VALUES, path), SCHEMA)


@pytest.mark.parametrize(
    "override",
    [
        "operator.watchNamespace={a}",
        "image.digest=sha256:abc",
        "operator.watchNamespaces[0]=Not_A_Namespace",
        "metrics.serviceMonitor.interval=30",
        "resources.limits.memory=1Gx",
        "crds.keep=maybe",
        "images.nim=nvcr.io/nim/nvidia/llm-nim",  # no tag: would mean :latest
        "images.vllm=Docker.io/vllm:v1 x",
        "images.registry=mirror",  # no dot, no port: a Docker Hub namespace, not a registry
        "images.pullPolicy=Sometimes",
        "images.tritonTRTLLM=nvcr.io/x:1",
    ],
)
def test_helm_itself_rejects_bad_values(helm: str, override: str) -> None:
    proc = template(helm, "--set", override, check=False)
    assert proc.returncode != 0 and "schema" in proc.stderr, proc.stderr


# --- the CRD ------------------------------------------------------------------------------------------------------


def test_chart_crd_copy_is_identical_to_the_generated_crd() -> None:
    copy = CHART / "crds-templates" / CRD_SOURCE.name
    assert copy.read_text() == CRD_SOURCE.read_text(), "run manifests/generate.py to refresh the chart's CRD"


def _without_chart_metadata(crd: Obj) -> Obj:
    crd = json.loads(json.dumps(crd))
    crd["metadata"].pop("annotations", None)
    crd["metadata"]["labels"] = {
        k: v for k, v in crd["metadata"]["labels"].items() if not k.startswith(("helm.sh/", "app.kubernetes.io/"))
    }
    return crd


def test_rendered_crd_is_the_generated_crd_plus_chart_labels(helm: str) -> None:
    crd = one(render(helm), "CustomResourceDefinition")
    source = yaml.safe_load(CRD_SOURCE.read_text())
    assert _without_chart_metadata(crd) == _without_chart_metadata(source)
    assert crd["metadata"]["annotations"] == {"helm.sh/resource-policy": "keep"}
    assert crd["metadata"]["labels"]["app.kubernetes.io/managed-by"] == "Helm"


def test_crd_toggles(helm: str) -> None:
    assert "annotations" not in one(render(helm, "--set", "crds.keep=false"), "CustomResourceDefinition")["metadata"]
    assert not of_kind(render(helm, "--set", "crds.enabled=false"), "CustomResourceDefinition")
    annotated = one(render(helm, "--set-string", "crds.annotations.a=b"), "CustomResourceDefinition")
    assert annotated["metadata"]["annotations"] == {"a": "b", "helm.sh/resource-policy": "keep"}


def test_crd_template_reads_the_chart_copy(helm: str, tmp_path: Path) -> None:
    """A drifted copy changes the render: the template does not embed its own CRD."""
    chart = tmp_path / "llmops"
    subprocess.run(["cp", "-r", str(CHART), str(chart)], check=True)
    copy = chart / "crds-templates" / CRD_SOURCE.name
    copy.write_text(copy.read_text().replace("shortNames:\n    - llmd", "shortNames:\n    - llmdx"))
    crd = one(render(helm, chart=chart), "CustomResourceDefinition")
    assert crd["spec"]["names"]["shortNames"] == ["llmdx"]


# --- the operator pod ---------------------------------------------------------------------------------------------


def test_operator_deployment_shape(helm: str) -> None:
    objects = render(helm)
    deployment = one(objects, "Deployment")
    spec = deployment["spec"]
    assert spec["replicas"] == 1 and spec["strategy"] == {"type": "Recreate"}
    assert spec["selector"]["matchLabels"] == spec["template"]["metadata"]["labels"]
    pod = spec["template"]["spec"]
    (container,) = pod["containers"]
    assert container["image"] == "ghcr.io/llmops-dev/operator:0.1.0"
    assert container["args"] == ["--metrics-port=8080", "--probe-port=8081", *CONFIG_ARGS]
    for probe in ("startupProbe", "livenessProbe", "readinessProbe"):
        assert container[probe]["httpGet"] == {"path": "/healthz", "port": "http-probes"}
    assert container["resources"]["requests"] and container["resources"]["limits"]["memory"]
    assert pod["serviceAccountName"] == one(objects, "ServiceAccount")["metadata"]["name"]
    service = one(objects, "Service")
    assert service["spec"]["selector"] == spec["selector"]["matchLabels"]
    assert service["spec"]["ports"][0]["targetPort"] == "http-metrics"


def test_restricted_security_context_everywhere(helm: str) -> None:
    """The Pod Security "restricted" rules, checked statically (tests/chart also has the API server judge)."""
    for values in CI_VALUES:
        objects = render(helm, values=[values])
        for pod in (operator_pod(objects), hook_pod(objects)):
            spec = pod["spec"]
            assert spec["securityContext"]["runAsNonRoot"] is True
            assert spec["securityContext"]["seccompProfile"] == {"type": "RuntimeDefault"}
            assert not any(spec.get(k) for k in ("hostNetwork", "hostPID", "hostIPC"))
            # restricted admits emptyDir and configMap volumes (the images configuration), never a hostPath
            assert all(v.keys() & {"emptyDir", "configMap", "projected"} for v in spec.get("volumes", []))
            for container in spec["containers"]:
                context = container["securityContext"]
                assert context["allowPrivilegeEscalation"] is False
                assert context["capabilities"] == {"drop": ["ALL"]}
                assert context["readOnlyRootFilesystem"] is True
                assert context["runAsUser"] != 0


def test_image_digest_wins_over_the_tag(helm: str) -> None:
    digest = "sha256:" + "ab" * 32
    objects = render(helm, "--set", f"image.digest={digest}", "--set", "image.tag=9.9.9")
    assert one(objects, "Deployment")["spec"]["template"]["spec"]["containers"][0]["image"] == (
        f"ghcr.io/llmops-dev/operator@{digest}"
    )
    assert hook_pod(objects)["spec"]["containers"][0]["image"].endswith(digest)
    assert render(helm, "--set", "image.tag=9.9.9")[0]  # tag-only renders too
    tagged = one(render(helm, "--set", "image.tag=9.9.9"), "Deployment")
    assert tagged["spec"]["template"]["spec"]["containers"][0]["image"].endswith(":9.9.9")


def test_namespaced_mode_passes_the_namespaces_to_the_operator(helm: str) -> None:
    objects = render(helm, "--set", "operator.watchNamespaces={team-a,team-b}", "--set", "operator.verbose=true")
    args = one(objects, "Deployment")["spec"]["template"]["spec"]["containers"][0]["args"]
    assert args == [
        "--namespace=team-a",
        "--namespace=team-b",
        "--metrics-port=8080",
        "--probe-port=8081",
        *CONFIG_ARGS,
        "--verbose",
    ]


def test_helm_test_hook_fetches_the_metrics_service(helm: str) -> None:
    objects = render(helm, namespace="ops")
    pod = hook_pod(objects)
    assert pod["metadata"]["annotations"]["helm.sh/hook-delete-policy"] == "before-hook-creation,hook-succeeded"
    assert pod["spec"]["restartPolicy"] == "Never" and pod["spec"]["automountServiceAccountToken"] is False
    script = pod["spec"]["containers"][0]["command"][-1]
    assert "http://llmops-metrics.ops.svc:8080/metrics" in script
    # it must not be selected by the metrics Service (that would scrape the test pod)
    selector = one(objects, "Service")["spec"]["selector"]
    assert not selector.items() <= pod["metadata"]["labels"].items()
    assert not of_kind(render(helm, "--set", "metrics.service.enabled=false"), "Pod")
    scheduled = render(helm, values=[CHART / "ci" / "production-values.yaml"])
    operator_spec = one(scheduled, "Deployment")["spec"]["template"]["spec"]
    for key in ("nodeSelector", "tolerations", "affinity"):
        assert hook_pod(scheduled)["spec"][key] == operator_spec[key], key


def test_service_account_token_is_mounted_only_into_the_operator(helm: str) -> None:
    objects = render(helm)
    assert one(objects, "ServiceAccount")["automountServiceAccountToken"] is False
    assert one(objects, "Deployment")["spec"]["template"]["spec"]["automountServiceAccountToken"] is True
    existing = render(helm, "--set", "serviceAccount.create=false", "--set", "serviceAccount.name=mine")
    assert not of_kind(existing, "ServiceAccount")
    assert {s["name"] for b in of_kind(existing, "ClusterRoleBinding") for s in b["subjects"]} == {"mine"}
    missing = template(helm, "--set", "serviceAccount.create=false", check=False)
    assert missing.returncode != 0 and "serviceAccount.name is required" in missing.stderr


def test_network_policy_admits_only_the_metrics_and_probe_ports(helm: str) -> None:
    objects = render(helm)
    policy = one(objects, "NetworkPolicy")
    selected = policy["spec"]["podSelector"]["matchLabels"].items()
    assert selected <= one(objects, "Deployment")["spec"]["template"]["metadata"]["labels"].items()
    assert selected <= hook_pod(objects)["metadata"]["labels"].items()
    assert policy["spec"]["policyTypes"] == ["Ingress"]
    (rule,) = policy["spec"]["ingress"]
    assert {p["port"] for p in rule["ports"]} == {"http-metrics", "http-probes"} and "from" not in rule
    peers = [{"namespaceSelector": {"matchLabels": {"kubernetes.io/metadata.name": "monitoring"}}}]
    restricted = render(helm, "--values", str(CHART / "ci" / "production-values.yaml"))
    assert one(restricted, "NetworkPolicy")["spec"]["ingress"][0]["from"] == peers
    assert not of_kind(render(helm, "--set", "networkPolicy.enabled=false"), "NetworkPolicy")


def test_common_labels_and_annotations_reach_every_object(helm: str) -> None:
    objects = render(helm, "--set-string", "commonLabels.team=x", "--set-string", "commonAnnotations.owner=y")
    for obj in objects:
        assert obj["metadata"]["labels"]["team"] == "x", obj["kind"]
        if obj["kind"] not in {"CustomResourceDefinition", "Pod"}:
            assert obj["metadata"]["annotations"]["owner"] == "y", obj["kind"]


def test_rendered_yaml_has_no_duplicate_keys() -> None:
    with pytest.raises(yaml.constructor.ConstructorError, match="duplicate"):
        load_all("a: 1\na: 2\n")


# --- RBAC ---------------------------------------------------------------------------------------------------------

SECRETS_OR_WILDCARDS = re.compile(r"^(\*|secrets)$")


def _rules(objects: list[Obj], kind: str) -> list[dict[str, Any]]:
    return [rule for role in of_kind(objects, kind) for rule in role["rules"]]


def _grants(rules: list[dict[str, Any]]) -> set[tuple[str, str, str]]:
    return {(g, r, v) for rule in rules for g in rule["apiGroups"] for r in rule["resources"] for v in rule["verbs"]}


@pytest.mark.parametrize("values", CI_VALUES, ids=CI_IDS)
def test_rbac_has_no_wildcards_no_secrets_and_no_escalation(helm: str, values: Path) -> None:
    objects = render(helm, values=[values])
    rules = _rules(objects, "ClusterRole") + _rules(objects, "Role")
    assert rules
    for group, resource, verb in _grants(rules):
        assert "*" not in (group, resource, verb)
        assert resource != "secrets"
        assert verb not in {"escalate", "bind", "impersonate", "deletecollection"}
        assert not resource.startswith(("roles", "rolebindings", "clusterroles", "clusterrolebindings"))
    for rule in rules:
        assert "resourceNames" not in rule and "nonResourceURLs" not in rule


def test_cluster_wide_mode_uses_one_cluster_role(helm: str) -> None:
    objects = render(helm)
    assert not of_kind(objects, "Role") and not of_kind(objects, "RoleBinding")
    grants = _grants(_rules(objects, "ClusterRole"))
    assert ("", "nodes", "watch") in grants and ("llmops.dev", "llmdeployments/status", "patch") in grants
    assert not any(resource == "namespaces" for _, resource, _ in grants)
    binding = one(objects, "ClusterRoleBinding")
    assert binding["roleRef"]["name"] == one(objects, "ClusterRole")["metadata"]["name"]


def test_namespaced_mode_has_roles_per_namespace_and_a_cluster_role_for_cluster_scoped_reads_only(helm: str) -> None:
    objects = render(helm, values=[CHART / "ci" / "namespaced-values.yaml"])
    roles = of_kind(objects, "Role")
    assert sorted(r["metadata"]["namespace"] for r in roles) == ["team-a", "team-b"]
    assert sorted(b["metadata"]["namespace"] for b in of_kind(objects, "RoleBinding")) == ["team-a", "team-b"]
    cluster = _grants(_rules(objects, "ClusterRole"))
    assert {resource for _, resource, _ in cluster} == {"nodes", "customresourcedefinitions", "namespaces"}
    assert {verb for _, _, verb in cluster} == {"list", "watch"}
    cluster_wide = _grants(_rules(render(helm), "ClusterRole"))
    namespaced_part = {g for g in cluster_wide if g[1] not in {"nodes", "customresourcedefinitions"}}
    assert _grants(roles[0]["rules"]) == namespaced_part


def test_rbac_can_be_left_to_the_user(helm: str) -> None:
    objects = render(helm, "--set", "rbac.create=false")
    assert not [o for o in objects if o["apiVersion"].startswith("rbac.authorization.k8s.io")]


# --- monitoring -----------------------------------------------------------------------------------------------------


def test_monitoring_objects_are_off_by_default_and_complete_when_on(helm: str) -> None:
    assert not [o for o in render(helm) if o["kind"] in {"ServiceMonitor", "PrometheusRule"}]
    assert sorted(c["metadata"]["name"] for c in of_kind(render(helm), "ConfigMap")) == CONFIGMAPS
    objects = render(helm, values=[CHART / "ci" / "monitoring-values.yaml"])
    monitor = one(objects, "ServiceMonitor")
    assert monitor["metadata"]["labels"]["release"] == "kube-prometheus-stack"
    assert monitor["spec"]["selector"]["matchLabels"].items() <= one(objects, "Service")["metadata"]["labels"].items()
    assert monitor["spec"]["namespaceSelector"] == {"matchNames": ["llmops-system"]}
    (endpoint,) = monitor["spec"]["endpoints"]
    assert endpoint["port"] == "http-metrics" and endpoint["path"] == "/metrics" and endpoint["interval"] == "15s"
    # the rules and dashboards select the operator by job, whatever the release's Service is called
    assert endpoint["relabelings"] == [{"action": "replace", "targetLabel": "job", "replacement": OPERATOR_JOB}]
    assert f'job="{OPERATOR_JOB}"' in (CHART / "files" / "prometheus-rules.yaml").read_text()
    rules = yaml.safe_load((CHART / "files" / "prometheus-rules.yaml").read_text())
    rule = one(objects, "PrometheusRule")
    assert rule["spec"]["groups"] == rules["groups"] and rule["spec"]["groups"]
    dashboards = [c for c in of_kind(objects, "ConfigMap") if c["metadata"]["name"] not in CONFIGMAPS]
    files = sorted((CHART / "files" / "dashboards").glob("*.json"))
    assert len(dashboards) == len(files) >= 1
    for configmap, path in zip(sorted(dashboards, key=lambda c: c["metadata"]["name"]), files, strict=True):
        assert configmap["metadata"]["labels"]["grafana_dashboard"] == "1"
        assert configmap["metadata"]["namespace"] == "monitoring"
        assert configmap["metadata"]["annotations"]["grafana_folder"] == "llmops"
        assert json.loads(configmap["data"][path.name]) == json.loads(path.read_text())


def test_scrape_configs_for_a_plain_prometheus_pass_promtool_and_select_what_the_service_monitors_do(
    helm: str, tmp_path: Path
) -> None:
    assert not [c for c in of_kind(render(helm), "ConfigMap") if c["metadata"]["name"].endswith("-scrape-configs")]
    configs = scrape_configs(helm, "--set", "operator.watchNamespaces={team-a,team-b}", release="ops")
    config = tmp_path / "prometheus.yml"
    config.write_text(yaml.safe_dump({"scrape_configs": configs}))
    check = subprocess.run(
        [binary("promtool"), "check", "config", str(config)], capture_output=True, text=True, check=False
    )
    assert check.returncode == 0, check.stdout + check.stderr
    jobs = {c["job_name"]: c for c in configs}
    assert set(jobs) == {OPERATOR_JOB, "llmops-serving"}
    operator = jobs[OPERATOR_JOB]
    assert operator["kubernetes_sd_configs"] == [{"role": "endpoints", "namespaces": {"names": ["llmops-system"]}}]
    assert operator["relabel_configs"][0]["regex"] == "ops-llmops-metrics;http-metrics"
    serving = jobs["llmops-serving"]
    assert serving["kubernetes_sd_configs"] == [{"role": "pod", "namespaces": {"names": ["team-a", "team-b"]}}]
    # The target labels the dashboards and alerts select on.
    targets = {r.get("target_label") for r in serving["relabel_configs"]}
    assert {DEPLOYMENT, RUNTIME, "namespace", "pod", "__address__", "__metrics_path__"} <= targets
    cluster_wide = {c["job_name"]: c for c in scrape_configs(helm)}["llmops-serving"]
    assert cluster_wide["kubernetes_sd_configs"] == [{"role": "pod"}]


def test_service_monitor_needs_the_service(helm: str) -> None:
    proc = template(
        helm, "--set", "metrics.serviceMonitor.enabled=true", "--set", "metrics.service.enabled=false", check=False
    )
    assert proc.returncode != 0 and "needs metrics.service.enabled" in proc.stderr


def test_notes_tell_the_mode(helm: str) -> None:
    def notes(*args: str) -> str:
        proc = subprocess.run(
            [helm, "install", "llmops", str(CHART), "--dry-run=client", "-n", "x", *args],
            capture_output=True,
            text=True,
            check=True,
        )
        return proc.stdout.split("NOTES:", 1)[1]

    assert "Mode: cluster-wide" in notes()
    namespaced = notes("--set", "operator.watchNamespaces={team-a}")
    assert "Mode: namespaced" in namespaced and "kubectl apply -n team-a" in namespaced
    assert "kubectl delete crd llmdeployments.llmops.dev" in notes()
