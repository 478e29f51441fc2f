"""The real worker node's daemons: containerd, kubelet, kube-proxy, CoreDNS, local-path-provisioner, metrics-server.

Pure: paths, configuration files (as text) and command lines. node_runtime.py starts and stops them;
each node daemon runs inside the node's network namespace (netns.py), the provisioner on the host.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path

import yaml

from llmops_dev.components import Component
from llmops_dev.netns import BRIDGE, NodeNetwork
from llmops_dev.pki import ClusterPki, KeyPair, NodePki

NODE_NAME = "llmops-worker"
# Real pods land here only when they tolerate it: every other test workload stays on the kwok pools.
TAINT_KEY = "llmops.dev/real-node"
NODE_LABELS = {"llmops.dev/real-node": "true"}
CLUSTER_DOMAIN = "cluster.local"
LOCAL_PATH_NAMESPACE = "local-path-storage"
LOCAL_PATH_CONFIGMAP = "local-path-config"
LOCAL_PATH_HELPER_SA = "local-path-helper"
# Ports inside the node's namespace (its own: no clash with the host or another cluster's node).
KUBELET_PORT = 10250
KUBELET_HEALTHZ_PORT = 10248
KUBE_PROXY_HEALTHZ_PORT = 10256
KUBE_PROXY_METRICS_PORT = 10249
CONTAINERD_METRICS_PORT = 1338
COREDNS_HEALTH_PORT = 8080
COREDNS_READY_PORT = 8181
METRICS_SERVER_PORT = 10254
RUNC = "/usr/sbin/runc"


@dataclass(frozen=True)
class NodeLayout:
    """Where the node keeps its files: configuration and kubelet state under the cluster's state dir,
    containerd's image store (see `store`), sockets and runtime state under a short /run path (a unix
    socket path may not exceed 107 bytes)."""

    root: Path
    network: NodeNetwork
    # containerd's content store and snapshots: the machine-wide one (images imported once for every
    # cluster; node_runtime.claim_shared_store) or, while another cluster holds that, one of its own.
    store: Path | None = None

    @property
    def config(self) -> Path:
        """Configuration files."""
        return self.root / "node"

    @property
    def containerd_root(self) -> Path:
        """containerd's root directory."""
        return self.store or self.root / "containerd"

    @property
    def run(self) -> Path:
        """Sockets and runtime state."""
        return Path("/run") / f"llmops-{self.network.index}"

    @property
    def containerd_socket(self) -> Path:
        """containerd's gRPC socket (CRI included)."""
        return self.run / "containerd.sock"

    @property
    def kubelet_root(self) -> Path:
        """kubelet's --root-dir: pods, volumes, plugins."""
        return self.root / "kubelet"

    @property
    def pod_logs(self) -> Path:
        """Container logs (`kubectl logs` reads them through the kubelet)."""
        return self.root / "pod-logs"

    @property
    def cni_conf_dir(self) -> Path:
        """The CNI network configuration containerd loads."""
        return self.config / "cni"

    @property
    def volumes(self) -> Path:
        """The directory local-path-provisioner makes volumes in (one per claim)."""
        return self.root / "volumes"

    def file(self, name: str) -> Path:
        """A configuration file."""
        return self.config / name


def containerd_config(layout: NodeLayout, cni_bin_dir: Path, sandbox_image: str) -> str:
    """containerd 2.x configuration (version 3): CRI with runc on cgroupfs, our CNI, our pause image."""
    run = layout.run
    cri_runtime = "plugins.'io.containerd.cri.v1.runtime'"
    return f"""version = 3
root = {json.dumps(str(layout.containerd_root))}
state = {json.dumps(str(run / "containerd"))}

[grpc]
  address = {json.dumps(str(layout.containerd_socket))}

[ttrpc]
  address = {json.dumps(str(run / "containerd.sock.ttrpc"))}

[metrics]
  # Also the health check: the host reaches the node's address, not its loopback.
  address = {json.dumps(f"{layout.network.node_ip}:{CONTAINERD_METRICS_PORT}")}

[plugins]
  [plugins.'io.containerd.cri.v1.images']
    snapshotter = 'overlayfs'
    [plugins.'io.containerd.cri.v1.images'.pinned_images]
      sandbox = {json.dumps(sandbox_image)}

  [{cri_runtime}]
    enable_selinux = false
    # Pod network namespaces under our state dir, not /var/run/netns: `down` finds and removes them.
    netns_mounts_under_state_dir = true
    cdi_spec_dirs = []
    # This machine's root lacks CAP_SYS_RESOURCE, so no process may lower its oom_score_adj: the
    # sandbox (-998) and critical pods would fail to start. Keep them at containerd's own value.
    restrict_oom_score_adj = true
    [{cri_runtime}.containerd]
      default_runtime_name = 'runc'
      [{cri_runtime}.containerd.runtimes.runc]
        runtime_type = 'io.containerd.runc.v2'
        [{cri_runtime}.containerd.runtimes.runc.options]
          BinaryName = {json.dumps(RUNC)}
          Root = {json.dumps(str(run / "runc"))}
          SystemdCgroup = false
    [{cri_runtime}.cni]
      bin_dirs = [{json.dumps(str(cni_bin_dir))}]
      conf_dir = {json.dumps(str(layout.cni_conf_dir))}

  [plugins.'io.containerd.grpc.v1.cri']
    stream_server_address = '127.0.0.1'
"""


def cni_config(layout: NodeLayout) -> str:
    """One bridge network on the node's pod range (no masquerade: nothing outside this machine to reach)."""
    network = layout.network
    conflist = {
        "cniVersion": "1.0.0",
        "name": "llmops",
        "plugins": [
            {
                "type": "bridge",
                "bridge": BRIDGE,
                "isGateway": True,
                "ipMasq": False,
                # A pod reaching a Service whose endpoint is itself.
                "hairpinMode": True,
                "ipam": {
                    "type": "host-local",
                    "ranges": [[{"subnet": network.pod_cidr, "gateway": network.bridge_ip}]],
                    "routes": [{"dst": "0.0.0.0/0"}],
                    "dataDir": str(layout.root / "cni-ipam"),
                },
            },
            {"type": "portmap", "capabilities": {"portMappings": True}},
        ],
    }
    return json.dumps(conflist, indent=2) + "\n"


def kubelet_config(layout: NodeLayout, pki: ClusterPki, node_pki: NodePki) -> str:
    """KubeletConfiguration for cgroup v1 (this VM's hierarchy), webhook authn/authz, our DNS."""
    network = layout.network
    config = {
        "apiVersion": "kubelet.config.k8s.io/v1beta1",
        "kind": "KubeletConfiguration",
        # Kubernetes 1.35+ refuses cgroup v1 unless told; this VM boots a v1 hybrid hierarchy and moving
        # it to pure cgroup2 needs a reboot with another kernel command line (see e2e/cluster/README.md).
        "failCgroupV1": False,
        "cgroupDriver": "cgroupfs",
        # The node's pods in a hierarchy of their own, so `down` can find and remove every one of them.
        "cgroupRoot": f"/llmops-{network.index}",
        "containerRuntimeEndpoint": f"unix://{layout.containerd_socket}",
        "address": network.node_ip,
        "port": KUBELET_PORT,
        "readOnlyPort": 0,
        "healthzBindAddress": network.node_ip,
        "healthzPort": KUBELET_HEALTHZ_PORT,
        "tlsCertFile": str(node_pki.kubelet_serving.cert),
        "tlsPrivateKeyFile": str(node_pki.kubelet_serving.key),
        "authentication": {
            "anonymous": {"enabled": False},
            "webhook": {"enabled": True},
            "x509": {"clientCAFile": str(pki.ca.cert)},
        },
        "authorization": {"mode": "Webhook"},
        "clusterDNS": [network.bridge_ip],
        "clusterDomain": CLUSTER_DOMAIN,
        "resolvConf": str(layout.file("resolv.conf")),
        "podLogsDir": str(layout.pod_logs),
        "registerWithTaints": [{"key": TAINT_KEY, "value": "true", "effect": "NoSchedule"}],
        "failSwapOn": False,
        "serializeImagePulls": False,
        # cAdvisor finds no filesystem stats for this VM's root device (/dev/vda), so disk-based eviction
        # and image garbage collection cannot work: evict on memory only, and never collect images (all
        # are imported locally; nothing could pull them back).
        "evictionHard": {"memory.available": "100Mi"},
        "imageGCHighThresholdPercent": 100,
        "imageGCLowThresholdPercent": 99,
        "localStorageCapacityIsolation": False,
        "maxPods": 110,
        "nodeStatusReportFrequency": "10s",
        "shutdownGracePeriod": "0s",
    }
    return yaml.safe_dump(config, sort_keys=False)


def kube_proxy_config(layout: NodeLayout) -> str:
    """KubeProxyConfiguration: iptables mode inside the node's namespace."""
    network = layout.network
    config = {
        "apiVersion": "kubeproxy.config.k8s.io/v1alpha1",
        "kind": "KubeProxyConfiguration",
        "clientConnection": {"kubeconfig": str(layout.file("kube-proxy.kubeconfig"))},
        "hostnameOverride": NODE_NAME,
        "mode": "iptables",
        "clusterCIDR": network.pod_cidr,
        "bindAddress": network.node_ip,
        "healthzBindAddress": f"{network.node_ip}:{KUBE_PROXY_HEALTHZ_PORT}",
        "metricsBindAddress": f"{network.node_ip}:{KUBE_PROXY_METRICS_PORT}",
        # Leave nf_conntrack_max alone: it is global to the machine, not the node's to set.
        "conntrack": {"maxPerCore": 0, "min": 0},
        "nodePortAddresses": [f"{network.node_ip}/32"],
    }
    return yaml.safe_dump(config, sort_keys=False)


def corefile(layout: NodeLayout) -> str:
    """CoreDNS: cluster names only, on the pods' gateway; other names are not served (no outside network)."""
    network = layout.network
    kubeconfig = layout.file("coredns.kubeconfig")
    return f""".:53 {{
    bind {network.bridge_ip}
    errors
    health {network.node_ip}:{COREDNS_HEALTH_PORT}
    ready {network.node_ip}:{COREDNS_READY_PORT}
    kubernetes {CLUSTER_DOMAIN} in-addr.arpa ip6.arpa {{
        kubeconfig {kubeconfig}
        pods insecure
        fallthrough in-addr.arpa ip6.arpa
        ttl 5
    }}
    cache 5
}}
"""


def resolv_conf() -> str:
    """The host resolver file kubelet gives pods as upstream: none, so a pod's lookups stay in the cluster."""
    return "# llmops real node: cluster DNS only\noptions ndots:5\n"


def containerd(bin_dir: Path, layout: NodeLayout) -> Component:
    """containerd with the CRI plugin, in the node's namespace."""
    return Component(
        name="containerd",
        argv=[*layout.network.enter(), str(bin_dir / "containerd"), f"--config={layout.file('containerd.toml')}"],
        health_url=f"http://{layout.network.node_ip}:{CONTAINERD_METRICS_PORT}/v1/metrics",
        health_ca=None,
        env={"PATH": f"{bin_dir}:/usr/sbin:/usr/bin:/sbin:/bin"},
    )


def kubelet(bin_dir: Path, layout: NodeLayout, pki: ClusterPki) -> Component:
    """The kubelet of the real node."""
    labels = ",".join(f"{k}={v}" for k, v in NODE_LABELS.items())
    return Component(
        name="kubelet",
        argv=[
            *layout.network.enter(),
            str(bin_dir / "kubelet"),
            f"--config={layout.file('kubelet.yaml')}",
            f"--kubeconfig={layout.file('kubelet.kubeconfig')}",
            f"--root-dir={layout.kubelet_root}",
            f"--hostname-override={NODE_NAME}",
            f"--node-ip={layout.network.node_ip}",
            f"--node-labels={labels}",
            "--v=1",
        ],
        health_url=f"http://{layout.network.node_ip}:{KUBELET_HEALTHZ_PORT}/healthz",
        health_ca=None,
        env={"PATH": f"{bin_dir}:/usr/sbin:/usr/bin:/sbin:/bin"},
    )


def kube_proxy(bin_dir: Path, layout: NodeLayout) -> Component:
    """kube-proxy of the real node (Services → pod endpoints, inside the node's namespace)."""
    return Component(
        name="kube-proxy",
        argv=[*layout.network.enter(), str(bin_dir / "kube-proxy"), f"--config={layout.file('kube-proxy.yaml')}"],
        health_url=f"http://{layout.network.node_ip}:{KUBE_PROXY_HEALTHZ_PORT}/healthz",
        health_ca=None,
    )


def coredns(bin_dir: Path, layout: NodeLayout) -> Component:
    """CoreDNS answering the cluster's names on the pods' gateway."""
    return Component(
        name="coredns",
        argv=[*layout.network.enter(), str(bin_dir / "coredns"), "-conf", str(layout.file("Corefile"))],
        health_url=f"http://{layout.network.node_ip}:{COREDNS_READY_PORT}/ready",
        health_ca=None,
    )


def local_path_provisioner(bin_dir: Path, layout: NodeLayout, helper_image: str) -> Component:
    """local-path-provisioner: the default StorageClass's claims become directories on this machine.

    v0.0.30 (the newest the module proxy serves) has no health endpoint: it is healthy while it runs.
    """
    return Component(
        name="local-path-provisioner",
        argv=[
            str(bin_dir / "local-path-provisioner"),
            "start",
            f"--kubeconfig={layout.file('local-path-provisioner.kubeconfig')}",
            f"--namespace={LOCAL_PATH_NAMESPACE}",
            f"--configmap-name={LOCAL_PATH_CONFIGMAP}",
            f"--service-account-name={LOCAL_PATH_HELPER_SA}",
            f"--helper-image={helper_image}",
        ],
        health_url=None,
        health_ca=None,
    )


def metrics_server(bin_dir: Path, layout: NodeLayout, ca_cert: Path, serving: KeyPair) -> Component:
    """metrics-server: the kubelet's resource metrics as the aggregated metrics.k8s.io API (kubectl top, HPAs).

    It scrapes the real node only (kwok's nodes have no kubelet to ask), verifying the kubelet's certificate.
    """
    kubeconfig = str(layout.file("metrics-server.kubeconfig"))
    ip = layout.network.node_ip
    return Component(
        name="metrics-server",
        argv=[
            *layout.network.enter(),
            str(bin_dir / "metrics-server"),
            f"--kubeconfig={kubeconfig}",
            f"--authentication-kubeconfig={kubeconfig}",
            f"--authorization-kubeconfig={kubeconfig}",
            f"--bind-address={ip}",
            f"--secure-port={METRICS_SERVER_PORT}",
            f"--tls-cert-file={serving.cert}",
            f"--tls-private-key-file={serving.key}",
            f"--kubelet-certificate-authority={ca_cert}",
            "--kubelet-preferred-address-types=InternalIP",
            f"--node-selector=kubernetes.io/hostname={NODE_NAME}",
            # Down from 1m, so an HPA sees load within seconds; it must exceed the kubelet request timeout.
            "--metric-resolution=10s",
            "--kubelet-request-timeout=5s",
        ],
        health_url=f"https://{ip}:{METRICS_SERVER_PORT}/livez",
        health_ca=ca_cert,
    )
