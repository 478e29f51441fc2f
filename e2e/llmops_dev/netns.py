"""The real node's network: its own network namespace, joined to the host by a veth pair.

Everything the node runs (containerd, kubelet, kube-proxy, CoreDNS) lives in that namespace, so its
iptables rules, bridge and pod veths never touch the host's, two clusters on one machine do not collide,
and deleting the namespace takes every one of them away. The host side of the pair is where the
apiserver listens for the node and its pods.

    host netns                         node netns llmops-<N>
    apiserver on 10.87.N.1 ── veth ── 10.87.N.2 ── bridge cni0 10.88.N.1 ── pods 10.88.N.0/24
"""

from __future__ import annotations

import subprocess
from dataclasses import dataclass
from pathlib import Path

from llmops_dev.errors import ClusterError

_MAX_NETWORKS = 64
BRIDGE = "cni0"
NETNS_DIR = Path("/run/netns")


@dataclass(frozen=True)
class NodeNetwork:
    """The addresses of one cluster's real node, derived from its index N (0 ≤ N < 64)."""

    index: int

    @property
    def netns(self) -> str:
        """The network namespace's name (`ip netns` shows it)."""
        return f"llmops-{self.index}"

    @property
    def netns_path(self) -> Path:
        """The namespace's bind mount, for `nsenter --net=`."""
        return NETNS_DIR / self.netns

    @property
    def host_link(self) -> str:
        """The host end of the veth pair."""
        return f"llmh{self.index}"

    @property
    def node_link(self) -> str:
        """The node end of the veth pair, inside the namespace."""
        return f"llmn{self.index}"

    @property
    def host_ip(self) -> str:
        """Where the apiserver listens for the node (the host end)."""
        return f"10.87.{self.index}.1"

    @property
    def node_ip(self) -> str:
        """The node's InternalIP (the namespace's end): kubelet serves here."""
        return f"10.87.{self.index}.2"

    @property
    def pod_cidr(self) -> str:
        """The pods' addresses on the node's bridge."""
        return f"10.88.{self.index}.0/24"

    @property
    def bridge_ip(self) -> str:
        """The pods' gateway, where CoreDNS listens."""
        return f"10.88.{self.index}.1"

    def enter(self) -> list[str]:
        """The command prefix that runs a program inside the namespace (only the network is entered)."""
        return ["nsenter", f"--net={self.netns_path}", "--"]


def _ip(*args: str) -> None:
    proc = subprocess.run(["ip", *args], capture_output=True, text=True, check=False)
    if proc.returncode != 0:
        raise ClusterError(f"ip {' '.join(args)}: {proc.stderr.strip()}")


def _claim(preferred: int | None) -> NodeNetwork:
    """Create the first free namespace; `ip netns add` fails on an existing name, so the claim is atomic."""
    candidates = ([preferred] if preferred is not None else []) + list(range(_MAX_NETWORKS))
    for index in candidates:
        network = NodeNetwork(index)
        if network.netns_path.exists():
            continue
        if subprocess.run(["ip", "netns", "add", network.netns], capture_output=True, check=False).returncode == 0:
            return network
    raise ClusterError(f"no free llmops network namespace (llmops-0 … llmops-{_MAX_NETWORKS - 1} exist): ip netns")


def create(preferred: int | None = None) -> NodeNetwork:
    """Make the namespace, the veth pair with its addresses and routes, and the node's forwarding sysctls."""
    network = _claim(preferred)
    try:
        ns = network.netns
        _ip("link", "add", network.host_link, "type", "veth", "peer", "name", network.node_link, "netns", ns)
        _ip("addr", "add", f"{network.host_ip}/30", "dev", network.host_link)
        _ip("link", "set", network.host_link, "up")
        _ip("-n", ns, "link", "set", "lo", "up")
        _ip("-n", ns, "addr", "add", f"{network.node_ip}/30", "dev", network.node_link)
        _ip("-n", ns, "link", "set", network.node_link, "up")
        _ip("-n", ns, "route", "add", "default", "via", network.host_ip)
        # The pods' bridge exists before the first pod (the CNI bridge plugin adopts it), so CoreDNS can
        # bind the gateway address at start.
        _ip("-n", ns, "link", "add", BRIDGE, "type", "bridge")
        _ip("-n", ns, "addr", "add", f"{network.bridge_ip}/24", "dev", BRIDGE)
        _ip("-n", ns, "link", "set", BRIDGE, "up")
        # Replies from the apiserver to pods go back through the node.
        _ip("route", "add", network.pod_cidr, "via", network.node_ip)
        # The node routes between its bridge and the veth, and kube-proxy's rules must see bridged traffic
        # (a pod reaching a Service whose endpoint is on the same bridge); both sysctls are per namespace.
        sysctls = ["net.ipv4.ip_forward=1", "net.bridge.bridge-nf-call-iptables=1"]
        proc = subprocess.run([*network.enter(), "sysctl", "-q", "-w", *sysctls], capture_output=True, text=True,
                              check=False)  # fmt: skip
        if proc.returncode != 0:
            raise ClusterError(f"sysctl in {ns}: {proc.stderr.strip()}")
    except BaseException:
        destroy(network)
        raise
    return network


def destroy(network: NodeNetwork) -> None:
    """Delete the namespace: the veth pair, the host route and every rule inside go with it."""
    subprocess.run(["ip", "route", "del", network.pod_cidr], capture_output=True, check=False)
    subprocess.run(["ip", "link", "del", network.host_link], capture_output=True, check=False)
    if network.netns_path.exists():
        _ip("netns", "del", network.netns)


def exists(network: NodeNetwork) -> bool:
    """True while the namespace is there."""
    return network.netns_path.exists()
