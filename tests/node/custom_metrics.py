"""prometheus-adapter on this machine, serving custom.metrics.k8s.io from a test's Prometheus to the HPA controller."""

from __future__ import annotations

import subprocess
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import yaml

from llmops_dev import localconfig, node_addons, pki, storage
from llmops_dev.kubectl import Kubectl, wait_for
from tests.observability.prometheus import binary, die_with_parent, free_port

SERVICE = "prometheus-adapter"
GROUP_VERSION = "custom.metrics.k8s.io/v1beta2"


def pods_rule(metric: str) -> dict[str, Any]:
    """An adapter rule serving METRIC (as scraped, by its own name) per pod, from the serving job's labels."""
    return {
        "seriesQuery": f'{{__name__="{metric}",namespace!="",pod!=""}}',
        "resources": {"overrides": {"namespace": {"resource": "namespace"}, "pod": {"resource": "pod"}}},
        "name": {"matches": "^(.*)$", "as": "${1}"},
        "metricsQuery": "sum(<<.Series>>{<<.LabelMatchers>>}) by (<<.GroupBy>>)",
    }


@contextmanager
def adapter(kubeconfig: str, prometheus_url: str, workdir: Path, metrics: list[str]) -> Iterator[None]:
    """Run prometheus-adapter for METRICS and register it as an APIService until the block ends.

    It listens on the host end of the node's link, where the apiserver (a process on this machine) dials it,
    with a certificate of a CA of its own that the APIService's caBundle names. It reads the cluster as the
    test's admin: it is the test's process, not a workload.
    """
    host = localconfig.hub_host(Path(kubeconfig))
    port = free_port()
    serving = pki.serving_certificate(workdir / "pki", SERVICE, dns_names=(f"{SERVICE}.kube-system.svc",), ips=(host,))
    config = workdir / "adapter.yaml"
    config.write_text(yaml.safe_dump({"rules": [pods_rule(m) for m in metrics]}, sort_keys=False))
    argv = [
        binary("prometheus-adapter"),
        f"--lister-kubeconfig={kubeconfig}",
        f"--authentication-kubeconfig={kubeconfig}",
        f"--authorization-kubeconfig={kubeconfig}",
        f"--prometheus-url={prometheus_url}",
        f"--config={config}",
        # New series are found on each relist (default 10 minutes).
        "--metrics-relist-interval=5s",
        f"--bind-address={host}",
        f"--secure-port={port}",
        f"--tls-cert-file={serving.cert}",
        f"--tls-private-key-file={serving.key}",
    ]
    ca = serving.cert.with_name(f"{SERVICE}-ca.crt")
    objects = node_addons.aggregated_api(GROUP_VERSION, SERVICE, host, port, ca)
    log = workdir / "prometheus-adapter.log"
    kubectl = Kubectl(kubeconfig)
    with log.open("wb") as out:
        process = subprocess.Popen(argv, stdout=out, stderr=subprocess.STDOUT, preexec_fn=die_with_parent)  # noqa: PLW1509
    try:
        storage.create_objects(Path(kubeconfig), objects)
        apiservice = objects[-1]["metadata"]["name"]

        def available() -> bool:
            assert process.poll() is None, f"prometheus-adapter exited: {log.read_text()[-2000:]}"
            conditions = kubectl.json("get", "apiservice", apiservice).get("status", {}).get("conditions", [])
            return any(c["type"] == "Available" and c["status"] == "True" for c in conditions)

        wait_for(available, timeout=60, what=f"APIService {apiservice} Available (log: {log})")
        yield
    finally:
        # An APIService left without its server breaks discovery for every client of the cluster.
        for obj in reversed(objects):
            namespace = ["-n", obj["metadata"]["namespace"]] if "namespace" in obj["metadata"] else []
            kubectl.run("delete", obj["kind"].lower(), obj["metadata"]["name"], *namespace, "--ignore-not-found",
                        check=False)  # fmt: skip
        process.terminate()
        process.wait(timeout=15)
