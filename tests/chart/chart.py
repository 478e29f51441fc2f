"""Rendering the chart with helm, and reading the YAML it renders strictly (a duplicate key is an error)."""

from __future__ import annotations

import subprocess
from collections.abc import Callable, Iterable
from pathlib import Path
from typing import Any

import yaml

ROOT = Path(__file__).resolve().parents[2]
CHART = ROOT / "charts" / "llmops"
CI_VALUES = sorted((CHART / "ci").glob("*-values.yaml"))
CRD_SOURCE = ROOT / "crds" / "llmdeployments.llmops.dev.yaml"
MONITORING_KINDS = {"ServiceMonitor", "PrometheusRule"}

Obj = dict[str, Any]


class StrictLoader(yaml.SafeLoader):
    """A SafeLoader refusing duplicate mapping keys (PyYAML keeps the last one silently; the API server errors)."""


def _no_duplicates(loader: StrictLoader, node: yaml.MappingNode, deep: bool = False) -> dict[Any, Any]:
    keys = [loader.construct_object(key, deep=deep) for key, _ in node.value]
    duplicates = {k for k in keys if keys.count(k) > 1}
    if duplicates:
        raise yaml.constructor.ConstructorError(None, None, f"duplicate keys {sorted(duplicates)}", node.start_mark)
    return loader.construct_mapping(node, deep=deep)


StrictLoader.add_constructor(yaml.resolver.BaseResolver.DEFAULT_MAPPING_TAG, _no_duplicates)


def load_all(text: str) -> list[Obj]:
    """Every non-empty document of a YAML stream."""
    return [d for d in yaml.load_all(text, Loader=StrictLoader) if d]


def template(
    helm: str,
    *args: str,
    values: Iterable[Path] = (),
    release: str = "llmops",
    namespace: str = "llmops-system",
    chart: Path = CHART,
    check: bool = True,
) -> subprocess.CompletedProcess[str]:
    """`helm template RELEASE CHART -n NAMESPACE [-f VALUES...] ARGS`."""
    command = [helm, "template", release, str(chart), "--namespace", namespace]
    for path in values:
        command += ["--values", str(path)]
    return subprocess.run([*command, *args], capture_output=True, text=True, check=check)


def render(helm: str, *args: str, values: Iterable[Path] = (), **kwargs: Any) -> list[Obj]:
    """The objects `helm template` renders (test hooks included unless --skip-tests is passed)."""
    return load_all(template(helm, *args, values=values, **kwargs).stdout)


def of_kind(objects: Iterable[Obj], kind: str) -> list[Obj]:
    return [o for o in objects if o["kind"] == kind]


def one(objects: Iterable[Obj], kind: str) -> Obj:
    (found,) = of_kind(objects, kind)
    return found


def operator_pod(objects: Iterable[Obj]) -> Obj:
    """The operator Deployment's pod template as a Pod (Pod Security admission judges Pods, not templates)."""
    deployment = one(objects, "Deployment")
    template_ = deployment["spec"]["template"]
    return {
        "apiVersion": "v1",
        "kind": "Pod",
        "metadata": {"name": deployment["metadata"]["name"], "labels": template_["metadata"]["labels"]},
        "spec": template_["spec"],
    }


def hook_pod(objects: Iterable[Obj]) -> Obj:
    """The `helm test` hook Pod."""
    (pod,) = [o for o in of_kind(objects, "Pod") if o["metadata"]["annotations"].get("helm.sh/hook") == "test"]
    return pod


def mounted_config(pod_spec: Obj, flag: str, configmap: Callable[[str], Obj | None]) -> str:
    """The text of the file the operator container's FLAG (--images-config) names, through its mounts: a
    ConfigMap volume or a projected one of several; `configmap` looks a ConfigMap up by name."""
    container = pod_spec["containers"][0]
    (path,) = [a.split("=", 1)[1] for a in container["args"] if a.startswith(f"{flag}=")]
    (mount,) = [m for m in container["volumeMounts"] if path.startswith(m["mountPath"] + "/")]
    (volume,) = [v for v in pod_spec["volumes"] if v["name"] == mount["name"]]
    key = path.removeprefix(mount["mountPath"] + "/")
    sources = [volume] if "configMap" in volume else volume["projected"]["sources"]
    texts = []
    for source in sources:
        data = (configmap(source["configMap"]["name"]) or {}).get("data") or {}
        if key in data:
            texts.append(data[key])
    (text,) = texts
    return str(text)


def scrape_configs(helm: str, *args: str, kubeconfig: str | None = None, **kwargs: Any) -> list[Obj]:
    """The chart's Prometheus scrape_configs (metrics.scrapeConfigs.enabled); given KUBECONFIG, each Kubernetes
    discovery reads the cluster through it, as a Prometheus outside the cluster must."""
    objects = render(helm, "--set", "metrics.scrapeConfigs.enabled=true", *args, **kwargs)
    (configmap,) = [c for c in of_kind(objects, "ConfigMap") if c["metadata"]["name"].endswith("-scrape-configs")]
    configs: list[Obj] = yaml.safe_load(configmap["data"]["scrape-configs.yaml"])
    for config in configs if kubeconfig else ():
        for discovery in config["kubernetes_sd_configs"]:
            discovery["kubeconfig_file"] = kubeconfig
    return configs
