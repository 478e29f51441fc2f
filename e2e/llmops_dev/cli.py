"""`llmops dev up | down | status`: the embedded local cluster from the command line."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from llmops_dev.cluster import ClusterStatus, LocalCluster
from llmops_dev.errors import ClusterError

_MIB = 1024 * 1024


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="llmops dev",
        description="A local Kubernetes control plane (etcd, kube-apiserver, controller-manager, "
        "scheduler) with kwok-simulated GPU node pools and one real worker node (containerd, kubelet, "
        "kube-proxy, CoreDNS, local-path-provisioner, metrics-server). No Docker needed.",
    )
    parser.add_argument(
        "--state-dir",
        type=Path,
        default=None,
        help="where pki, kubeconfig, pids, logs and data live "
        "(default: $LLMOPS_CLUSTER_DIR or ~/.cache/llmops/cluster)",
    )
    sub = parser.add_subparsers(dest="command", required=True)
    up = sub.add_parser("up", help="start the cluster (a no-op when it already runs) and wait for Ready nodes")
    up.add_argument(
        "--no-real-node",
        action="store_true",
        help="kwok pools only: no real worker node (the default runs one when this process is root on Linux)",
    )
    sub.add_parser("down", help="stop every daemon of the cluster")
    sub.add_parser("status", help="show each daemon and node; exit 0 only when all are healthy")
    return parser


def _progress(message: str) -> None:
    print(f"  {message}", file=sys.stderr, flush=True)


def _print_usage(cluster: LocalCluster) -> None:
    print(f"  export KUBECONFIG={cluster.kubeconfig}")
    print("  kubectl get nodes")
    print(f"logs: {cluster.logs_dir}   stop: llmops dev down")


def _up(cluster: LocalCluster) -> int:
    print(f"llmops dev: starting the local cluster in {cluster.state_dir}", file=sys.stderr, flush=True)
    result = cluster.start()
    if result.already_running:
        print(f"the local cluster is already running ({cluster.state_dir})")
    else:
        print(f"the local cluster is ready ({result.seconds:.1f}s)")
    _print_usage(cluster)
    return 0


def _down(cluster: LocalCluster) -> int:
    stopped = cluster.stop()
    if stopped:
        print(f"stopped {', '.join(stopped)}; no cluster process is left")
    else:
        print("the local cluster is not running")
    return 0


def _render_status(status: ClusterStatus) -> str:
    if not status.components:
        return f"the local cluster is not running ({status.state_dir})"
    verdict = "healthy" if status.healthy else ("running, NOT healthy" if status.running else "NOT running")
    lines = [
        f"cluster: {verdict}   server: {status.server}",
        f"kubeconfig: {status.kubeconfig}",
        "",
        f"{'COMPONENT':<25} {'PID':>8}  {'STATE':<9} {'RSS':>9}  LOG",
    ]
    for c in status.components:
        state = "healthy" if c.healthy else ("unhealthy" if c.running else "stopped")
        lines.append(f"{c.name:<25} {c.pid:>8}  {state:<9} {c.rss_bytes / _MIB:>6.0f} MiB  {c.log}")
        if c.running and not c.healthy:
            lines.append(f"{'':<25} {'':>8}  {c.detail}")
    total = sum(c.rss_bytes for c in status.components)
    lines.append(f"{'total':<25} {'':>8}  {'':<9} {total / _MIB:>6.0f} MiB")
    lines.append("")
    if status.nodes is None:
        lines.append(f"nodes: unknown ({status.nodes_error})")
    else:
        lines.append(f"{'NODE':<12} {'READY':<6} {'GPUS':>4}  {'ACCELERATOR':<26} TAINTS")
        for n in status.nodes:
            lines.append(f"{n.name:<12} {n.ready!s:<6} {n.gpus:>4}  {n.product:<26} {','.join(n.lifecycle_taints)}")
    return "\n".join(lines)


def _status(cluster: LocalCluster) -> int:
    status = cluster.status()
    print(_render_status(status))
    return 0 if status.healthy else 1


def main(argv: list[str] | None = None) -> int:
    """Run `up`, `down` or `status`; returns the process exit code."""
    args = _parser().parse_args(argv)
    real_node = False if getattr(args, "no_real_node", False) else None
    cluster = LocalCluster(args.state_dir, progress=_progress, real_node=real_node)
    commands = {"up": _up, "down": _down, "status": _status}
    try:
        return commands[args.command](cluster)
    except ClusterError as err:
        print(f"llmops dev {args.command}: {err}", file=sys.stderr)
        return 1


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
