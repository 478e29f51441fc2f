"""Command lines of the five daemons (etcd, kube-apiserver, controller-manager, scheduler, kwok)."""

from __future__ import annotations

import socket
from dataclasses import asdict, dataclass, field
from pathlib import Path

from llmops_dev.pki import ClusterPki

LOOPBACK = "127.0.0.1"
SERVICE_CIDR = "10.96.0.0/16"
# Pod IPs kwok hands out; apart from the service range so the two never collide.
POD_CIDR = "10.244.0.0/16"
# kwok renews every node's Lease; the node-lifecycle controller's default grace period is 50 s.
NODE_LEASE_SECONDS = 40
KWOK_NODE_SELECTOR = "type=kwok"


@dataclass(frozen=True)
class Ports:
    """Loopback ports picked free at start."""

    etcd_client: int
    etcd_peer: int
    apiserver: int
    controller_manager: int
    scheduler: int
    kwok: int

    @classmethod
    def pick(cls) -> Ports:
        """Ask the kernel for distinct free ports (all sockets held open until every one is chosen)."""
        sockets = []
        try:
            for _ in range(len(cls.__dataclass_fields__)):
                s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
                s.bind((LOOPBACK, 0))
                sockets.append(s)
            return cls(*(s.getsockname()[1] for s in sockets))
        finally:
            for s in sockets:
                s.close()

    def as_dict(self) -> dict[str, int]:
        """The ports by name, for the state file."""
        return asdict(self)


@dataclass(frozen=True)
class Layout:
    """Paths inside the state directory."""

    root: Path

    @property
    def pki(self) -> Path:
        """Certificates and keys."""
        return self.root / "pki"

    @property
    def logs(self) -> Path:
        """One log file per daemon."""
        return self.root / "logs"

    @property
    def pids(self) -> Path:
        """One pid file per daemon."""
        return self.root / "pids"

    @property
    def etcd_data(self) -> Path:
        """etcd's data directory (wiped on every `up`)."""
        return self.root / "data" / "etcd"

    @property
    def kubeconfig(self) -> Path:
        """The admin kubeconfig users export."""
        return self.root / "kubeconfig"

    @property
    def component_kubeconfigs(self) -> Path:
        """Kubeconfigs of the controller-manager, scheduler and kwok."""
        return self.root / "kubeconfigs"

    @property
    def kwok_workdir(self) -> Path:
        """kwok's work dir, so a stray ~/.kwok/kwok.yaml is never loaded into our cluster."""
        return self.root / "kwok"

    @property
    def state_file(self) -> Path:
        """Ports, pids and where the binaries came from."""
        return self.root / "cluster.json"

    def log(self, name: str) -> Path:
        """The log file of one daemon."""
        return self.logs / f"{name}.log"


@dataclass(frozen=True)
class Component:
    """One daemon: how to run it and how to tell it is healthy."""

    name: str
    argv: list[str]
    # None: the daemon has no health endpoint; it counts as healthy while it runs.
    health_url: str | None
    # CA to verify an https health endpoint with; None for plain http.
    health_ca: Path | None
    env: dict[str, str] = field(default_factory=dict)


def etcd(bin_dir: Path, layout: Layout, ports: Ports) -> Component:
    """Single-member etcd on loopback, fsync off (the data is thrown away on every `up`)."""
    client = f"http://{LOOPBACK}:{ports.etcd_client}"
    peer = f"http://{LOOPBACK}:{ports.etcd_peer}"
    return Component(
        name="etcd",
        argv=[
            str(bin_dir / "etcd"),
            "--name=llmops",
            f"--data-dir={layout.etcd_data}",
            f"--listen-client-urls={client}",
            f"--advertise-client-urls={client}",
            f"--listen-peer-urls={peer}",
            f"--initial-advertise-peer-urls={peer}",
            f"--initial-cluster=llmops={peer}",
            "--initial-cluster-state=new",
            "--unsafe-no-fsync=true",
            "--auto-compaction-mode=periodic",
            "--auto-compaction-retention=5m",
            "--quota-backend-bytes=2147483648",
            "--log-level=warn",
        ],
        health_url=f"{client}/health",
        health_ca=None,
    )


def apiserver(bin_dir: Path, layout: Layout, ports: Ports, pki: ClusterPki, address: str = LOOPBACK) -> Component:
    """kube-apiserver with client-certificate authn, Node+RBAC authz and the default admission chain.

    `address` is where it listens and what it advertises: loopback, or with a real node the host end of
    the node's veth pair (netns.py), which the node's pods reach through the `kubernetes` Service.
    """
    node_flags = (
        [
            # The apiserver calls the kubelet (logs, exec, port-forward) and verifies its serving certificate.
            f"--kubelet-client-certificate={pki.node.apiserver_kubelet_client.cert}",
            f"--kubelet-client-key={pki.node.apiserver_kubelet_client.key}",
            f"--kubelet-certificate-authority={pki.ca.cert}",
            "--kubelet-preferred-address-types=InternalIP",
            # An aggregated API (metrics-server on the node) is dialled at its endpoint: this host has no
            # route to Service IPs, which only the node's kube-proxy programs.
            "--enable-aggregator-routing=true",
        ]
        if pki.node is not None
        # The "kubernetes" Service would point at 127.0.0.1, which Endpoints reject; no pod needs it.
        else ["--endpoint-reconciler-type=none"]
    )
    return Component(
        name="kube-apiserver",
        argv=[
            str(bin_dir / "kube-apiserver"),
            f"--etcd-servers=http://{LOOPBACK}:{ports.etcd_client}",
            f"--bind-address={address}",
            # Without it the apiserver looks for a default route and exits on a loopback-only host.
            f"--advertise-address={address}",
            f"--secure-port={ports.apiserver}",
            f"--tls-cert-file={pki.apiserver.cert}",
            f"--tls-private-key-file={pki.apiserver.key}",
            f"--client-ca-file={pki.ca.cert}",
            "--authorization-mode=Node,RBAC",
            # Added to the default-on set (which already has ServiceAccount and PodSecurity); named
            # here so the cluster's admission chain is visible in one place.
            "--enable-admission-plugins=NodeRestriction,PodSecurity,ServiceAccount",
            "--allow-privileged=true",
            f"--service-cluster-ip-range={SERVICE_CIDR}",
            "--service-account-issuer=https://kubernetes.default.svc.cluster.local",
            f"--service-account-key-file={pki.service_account_pub}",
            f"--service-account-signing-key-file={pki.service_account_key}",
            # Front-proxy (aggregation layer) trust, so an aggregated API such as metrics-server works.
            f"--requestheader-client-ca-file={pki.front_proxy_ca.cert}",
            "--requestheader-allowed-names=front-proxy-client",
            "--requestheader-username-headers=X-Remote-User",
            "--requestheader-group-headers=X-Remote-Group",
            "--requestheader-extra-headers-prefix=X-Remote-Extra-",
            f"--proxy-client-cert-file={pki.front_proxy_client.cert}",
            f"--proxy-client-key-file={pki.front_proxy_client.key}",
            *node_flags,
            "--profiling=false",
        ],
        health_url=f"https://{address}:{ports.apiserver}/readyz",
        health_ca=pki.ca.cert,
    )


def controller_manager(bin_dir: Path, layout: Layout, ports: Ports, pki: ClusterPki) -> Component:
    """kube-controller-manager with every default controller, as kubeadm configures it."""
    kubeconfig = layout.component_kubeconfigs / "kube-controller-manager.kubeconfig"
    return Component(
        name="kube-controller-manager",
        argv=[
            str(bin_dir / "kube-controller-manager"),
            f"--kubeconfig={kubeconfig}",
            f"--authentication-kubeconfig={kubeconfig}",
            f"--authorization-kubeconfig={kubeconfig}",
            f"--bind-address={LOOPBACK}",
            f"--secure-port={ports.controller_manager}",
            f"--tls-cert-file={pki.controller_manager_serving.cert}",
            f"--tls-private-key-file={pki.controller_manager_serving.key}",
            f"--client-ca-file={pki.ca.cert}",
            "--controllers=*",
            "--leader-elect=false",
            # Each controller acts as its own service account, so RBAC is exercised as in production.
            "--use-service-account-credentials=true",
            f"--service-account-private-key-file={pki.service_account_key}",
            f"--root-ca-file={pki.ca.cert}",
            f"--cluster-signing-cert-file={pki.ca.cert}",
            f"--cluster-signing-key-file={pki.ca.key}",
            "--cluster-name=llmops-local",
            # Client limits raised (defaults 20/30) so the controllers are not a benchmark's bottleneck.
            "--kube-api-qps=500",
            "--kube-api-burst=1000",
            "--profiling=false",
        ],
        health_url=f"https://{LOOPBACK}:{ports.controller_manager}/healthz",
        health_ca=pki.ca.cert,
    )


def scheduler(bin_dir: Path, layout: Layout, ports: Ports, pki: ClusterPki) -> Component:
    """kube-scheduler with the default profile."""
    kubeconfig = layout.component_kubeconfigs / "kube-scheduler.kubeconfig"
    return Component(
        name="kube-scheduler",
        argv=[
            str(bin_dir / "kube-scheduler"),
            f"--kubeconfig={kubeconfig}",
            f"--authentication-kubeconfig={kubeconfig}",
            f"--authorization-kubeconfig={kubeconfig}",
            f"--bind-address={LOOPBACK}",
            f"--secure-port={ports.scheduler}",
            f"--tls-cert-file={pki.scheduler_serving.cert}",
            f"--tls-private-key-file={pki.scheduler_serving.key}",
            f"--client-ca-file={pki.ca.cert}",
            "--leader-elect=false",
            "--kube-api-qps=500",
            "--kube-api-burst=1000",
            "--profiling=false",
        ],
        health_url=f"https://{LOOPBACK}:{ports.scheduler}/healthz",
        health_ca=pki.ca.cert,
    )


def kwok(bin_dir: Path, layout: Layout, ports: Ports, stages: list[Path]) -> Component:
    """kwok: plays kubelet for every node labelled type=kwok, driven by our Stage files."""
    return Component(
        name="kwok",
        argv=[
            str(bin_dir / "kwok"),
            f"--kubeconfig={layout.component_kubeconfigs / 'kwok.kubeconfig'}",
            *(f"--config={stage}" for stage in stages),
            f"--manage-nodes-with-label-selector={KWOK_NODE_SELECTOR}",
            f"--node-lease-duration-seconds={NODE_LEASE_SECONDS}",
            f"--cidr={POD_CIDR}",
            f"--node-ip={LOOPBACK}",
            f"--server-address={LOOPBACK}:{ports.kwok}",
        ],
        health_url=f"http://{LOOPBACK}:{ports.kwok}/healthz",
        health_ca=None,
        env={"KWOK_WORKDIR": str(layout.kwok_workdir)},
    )
