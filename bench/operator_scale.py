"""Benchmark of the operator on the embedded cluster: N LLMDeployments created in a burst, after one
warm-up LLMDeployment has published the shared artifact (so every one of the N is a cache hit).

Measures time until every child exists and until every LLMDeployment is Ready, p50/p99 create→Ready,
the operator's API writes per LLMDeployment, its writes during idle minutes, its peak RSS, and a baseline:
the same Deployments and Services created directly by a plain concurrent client (ratio = baseline time /
operator time to all children). Prints a Markdown table; never part of the test run.

    .venv/bin/python bench/operator_scale.py --n 100 --n 1000 [--idle-seconds 300]
"""

from __future__ import annotations

import argparse
import asyncio
import json
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.request
from datetime import datetime
from pathlib import Path
from typing import Any, cast

import yaml
from kubernetes import client, config

from llmops.api.resource import parse_resource
from llmops.desired import DesiredState, desired_state
from llmops.planning.facts import ClusterFacts
from llmops_dev import LocalCluster
from llmops_dev.kubectl import Kubectl, wait_for

ROOT = Path(__file__).resolve().parents[1]
EXAMPLE = ROOT / "examples" / "cpu-triton-onnx.yaml"
BENCH_NODES = 12  # fake CPU nodes with room for 200 pods each


def bench_nodes() -> list[dict[str, Any]]:
    nodes = []
    for i in range(BENCH_NODES):
        name = f"bench-cpu-{i}"
        capacity = {"cpu": "2000", "memory": "16Ti", "pods": "200"}
        nodes.append({
            "apiVersion": "v1", "kind": "Node",
            "metadata": {"name": name, "labels": {"type": "kwok", "kubernetes.io/hostname": name,
                                                    "kubernetes.io/os": "linux"},
                         "annotations": {"kwok.x-k8s.io/node": "fake"}},
            "status": {"capacity": capacity, "allocatable": capacity},
        })  # fmt: skip
    return nodes


def deployment_object(name: str) -> dict[str, Any]:
    obj: dict[str, Any] = yaml.safe_load(EXAMPLE.read_text())
    obj["metadata"]["name"] = name
    obj["spec"]["serving"] = {"replicas": 1}
    return obj


def metric(port: int, name: str) -> float:
    with urllib.request.urlopen(f"http://127.0.0.1:{port}/metrics", timeout=5) as response:
        text = response.read().decode()
    return sum(float(line.rsplit(" ", 1)[1]) for line in text.splitlines() if line.startswith(name + "{"))


def operator_up(port: int) -> bool:
    try:
        metric(port, "controller_runtime_reconcile_total")
    except OSError:
        return False
    return True


def peak_rss_mib(pid: int) -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1]) / 1024
    return 0.0


def parse_time(value: str) -> float:
    return datetime.strptime(value, "%Y-%m-%dT%H:%M:%SZ").timestamp()


def count(kubectl: Kubectl, namespace: str, kind: str) -> int:
    out = kubectl.run("get", kind, "-n", namespace, "-l", "app.kubernetes.io/managed-by=llmops", "-o", "name")
    return len(out.stdout.split())


def run_operator(n: int, kubectl: Kubectl, kubeconfig: str, idle_seconds: int, log: Path) -> dict[str, Any]:
    namespace = f"bench-op-{n}"
    kubectl.run("create", "namespace", namespace)
    port, probe = 19080 + n % 1000, 19500 + n % 1000
    with log.open("wb") as out:
        operator = subprocess.Popen(
            [sys.executable, "-m", "llmops.cli", "run", "--metrics-port", str(port), "--probe-port", str(probe)],
            env={"KUBECONFIG": kubeconfig, "PATH": "/usr/bin:/bin"}, stdout=out, stderr=subprocess.STDOUT,
        )  # fmt: skip
    try:
        wait_for(lambda: operator_up(port), timeout=60, what="operator up")
        # Warm the artifact first: the burst then measures the operator, not the (simulated) conversion.
        kubectl.run("create", "-n", namespace, "-f", "-", stdin=yaml.safe_dump(deployment_object("warmup")))
        wait_for(
            lambda: (
                (kubectl.json("get", "llmd", "warmup", "-n", namespace).get("status") or {}).get("phase") == "Ready"
            ),
            timeout=120,
            what="warm-up Ready",
        )
        writes_before = metric(port, "llmops_kubernetes_writes_total")
        stream = yaml.safe_dump_all([deployment_object(f"m{i:04d}") for i in range(n)])
        started = time.monotonic()
        kubectl.run("create", "-n", namespace, "-f", "-", stdin=stream, timeout=600)
        created = time.monotonic()

        def children_exist() -> bool:
            return count(kubectl, namespace, "deployments") > n and count(kubectl, namespace, "services") > n

        wait_for(children_exist, timeout=1800, what="all children", interval=1)
        children_at = time.monotonic() - started

        def all_ready() -> list[dict[str, Any]] | None:
            objs = kubectl.json("get", "llmd", "-n", namespace)["items"]
            ready = [
                o for o in objs if (o.get("status") or {}).get("phase") == "Ready" and o["metadata"]["name"] != "warmup"
            ]
            return ready if len(ready) == n else None

        objs = wait_for(all_ready, timeout=1800, what="all Ready", interval=1)
        ready_at = time.monotonic() - started
        latencies = sorted(
            parse_time(o["status"]["timings"]["ready"]) - parse_time(o["metadata"]["creationTimestamp"]) for o in objs
        )
        writes = metric(port, "llmops_kubernetes_writes_total")
        time.sleep(idle_seconds)
        idle_writes = metric(port, "llmops_kubernetes_writes_total") - writes
        writes -= writes_before
        return {
            "n": n,
            "create_seconds": created - started,
            "children_seconds": children_at,
            "ready_seconds": ready_at,
            "p50": statistics.median(latencies),
            "p99": latencies[min(len(latencies) - 1, int(len(latencies) * 0.99))],
            "writes_per_cr": writes / n,
            "idle_writes": idle_writes,
            "idle_seconds": idle_seconds,
            "rss_mib": peak_rss_mib(operator.pid),
        }
    finally:
        operator.terminate()
        operator.wait(timeout=60)


async def run_baseline(n: int, kubeconfig: str, kubectl: Kubectl) -> float:
    """The same Deployments and Services, created by a plain concurrent client (no planning, no status)."""
    namespace = f"bench-base-{n}"
    kubectl.run("create", "namespace", namespace)
    api = config.new_client_from_config(kubeconfig)  # type: ignore[no-untyped-call]
    apps, core = client.AppsV1Api(api), client.CoreV1Api(api)
    objects = []
    for i in range(n):
        obj = deployment_object(f"m{i:04d}")
        resource = parse_resource(obj | {"metadata": {**obj["metadata"], "namespace": namespace, "uid": "u"}})
        state = desired_state(resource, ClusterFacts())
        assert isinstance(state, DesiredState)
        for child in state.objects:
            if child["kind"] in ("Deployment", "Service"):
                child["metadata"].pop("ownerReferences", None)
                objects.append(child)
    semaphore = asyncio.Semaphore(16)

    async def create(child: dict[str, Any]) -> None:
        async with semaphore:
            if child["kind"] == "Deployment":
                await asyncio.to_thread(apps.create_namespaced_deployment, namespace, cast(Any, child))
            else:
                await asyncio.to_thread(core.create_namespaced_service, namespace, cast(Any, child))

    started = time.monotonic()
    await asyncio.gather(*(create(child) for child in objects))
    return time.monotonic() - started


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--n", type=int, action="append", help="burst sizes (default 100 and 1000)")
    parser.add_argument("--idle-seconds", type=int, default=300)
    args = parser.parse_args()
    sizes = args.n or [100, 1000]
    work = Path(tempfile.mkdtemp(prefix="llmops-bench-"))
    cluster = LocalCluster(
        work / "cluster", progress=lambda m: print(f"[cluster] {m}", file=sys.stderr), die_with_parent=True
    )
    cluster.start()
    try:
        kubeconfig = str(cluster.kubeconfig)
        kubectl = Kubectl(kubeconfig)
        kubectl.run("apply", "--server-side", "-f", str(ROOT / "crds" / "llmdeployments.llmops.dev.yaml"))
        kubectl.wait_established("llmdeployments.llmops.dev")
        kubectl.run(
            "create", "-f", "-", stdin=yaml.safe_dump({"apiVersion": "v1", "kind": "List", "items": bench_nodes()})
        )
        rows = []
        for n in sizes:
            result = run_operator(n, kubectl, kubeconfig, args.idle_seconds, work / f"operator-{n}.log")
            result["baseline_seconds"] = asyncio.run(run_baseline(n, kubeconfig, kubectl))
            result["ratio"] = result["baseline_seconds"] / result["children_seconds"]
            print(json.dumps(result), file=sys.stderr)
            rows.append(result)
        header = ["N", "all children", "all Ready", "p50 create→Ready", "p99", "writes/CR", "idle writes", "peak RSS"]
        print("| " + " | ".join([*header, "baseline", "ratio"]) + " |")
        print("|---|---|---|---|---|---|---|---|---|---|")
        for r in rows:
            print(
                f"| {r['n']} | {r['children_seconds']:.1f} s | {r['ready_seconds']:.1f} s | {r['p50']:.0f} s | "
                f"{r['p99']:.0f} s | {r['writes_per_cr']:.1f} | {r['idle_writes']:.0f} in {r['idle_seconds']} s | "
                f"{r['rss_mib']:.0f} MiB | {r['baseline_seconds']:.1f} s | {r['ratio']:.2f} |"
            )
    finally:
        cluster.stop()
    return 0


if __name__ == "__main__":
    sys.exit(main())
