"""LocalCluster: bring the embedded control plane up, report on it, and take it down."""

from __future__ import annotations

import json
import os
import shutil
import sys
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from kubernetes.client.exceptions import ApiException

from llmops_dev import (
    components,
    health,
    kube,
    kubeconfig,
    netns,
    node,
    node_addons,
    node_runtime,
    nodes,
    paths,
    pki,
    procs,
    storage,
)
from llmops_dev.errors import ClusterError

ORDER = ("etcd", "kube-apiserver", "kube-controller-manager", "kube-scheduler", "kwok")
NODE_ORDER = ("containerd", "kubelet", "kube-proxy", "coredns", "local-path-provisioner", "metrics-server")
# Generous for a busy 2-core machine; a warm start takes far less (see e2e/cluster/README.md).
_HEALTH_TIMEOUT = {"etcd": 30.0, "kube-apiserver": 90.0, "kubelet": 90.0}
_DEFAULT_HEALTH_TIMEOUT = 60.0
_NODES_TIMEOUT = 90.0
_SERVICE_ACCOUNT_TIMEOUT = 60.0
_LOG_TAIL_LINES = 15


@dataclass(frozen=True)
class ComponentStatus:
    """One daemon as `status` sees it."""

    name: str
    pid: int
    running: bool
    healthy: bool
    detail: str
    rss_bytes: int
    log: Path


@dataclass(frozen=True)
class ClusterStatus:
    """The whole cluster as `status` sees it; `nodes` is None when the apiserver cannot be asked."""

    state_dir: Path
    kubeconfig: Path
    server: str | None
    components: list[ComponentStatus]
    nodes: list[nodes.NodeState] | None
    nodes_error: str | None = None

    @property
    def running(self) -> bool:
        """Every daemon is alive."""
        return bool(self.components) and all(c.running for c in self.components)

    @property
    def healthy(self) -> bool:
        """Every daemon is alive and healthy and every node is Ready and schedulable."""
        return (
            self.running
            and all(c.healthy for c in self.components)
            and bool(self.nodes)
            and all(n.schedulable for n in self.nodes or [])
        )


@dataclass(frozen=True)
class StartResult:
    """What `start` did."""

    already_running: bool
    seconds: float
    kubeconfig: Path


def _tail(path: Path, lines: int = _LOG_TAIL_LINES) -> str:
    try:
        return "\n".join(path.read_text(errors="replace").splitlines()[-lines:])
    except FileNotFoundError:
        return "(no log written)"


class LocalCluster:
    """A real control plane (etcd, kube-apiserver, controller-manager, scheduler) with kwok nodes.

    Everything lives in `state_dir`: pki/, kubeconfig, kubeconfigs/, pids/, logs/, data/ and
    cluster.json. The daemons run detached, so a cluster started by one process is found, checked
    and stopped by another through that directory.
    """

    def __init__(
        self,
        state_dir: Path | None = None,
        *,
        bin_dir: Path | None = None,
        progress: Callable[[str], None] = lambda _msg: None,
        die_with_parent: bool = False,
        real_node: bool | None = None,
        node_images: tuple[str, ...] | None = None,
    ) -> None:
        self.layout = components.Layout(state_dir or paths.default_state_dir())
        self._bin_dir = bin_dir
        self._progress = progress
        self._die_with_parent = die_with_parent
        # None: a real node whenever this machine can run one (root on Linux); see real_node_possible.
        self._real_node = real_node_possible() if real_node is None else real_node
        # The images the real node imports (by name in the images manifest); None: all of them.
        self._node_images = node_images

    @property
    def state_dir(self) -> Path:
        """The directory holding everything the cluster writes."""
        return self.layout.root

    @property
    def kubeconfig(self) -> Path:
        """The admin kubeconfig (cluster-admin through the system:masters group)."""
        return self.layout.kubeconfig

    @property
    def logs_dir(self) -> Path:
        """The directory with one log per daemon."""
        return self.layout.logs

    # -- state file ---------------------------------------------------------------------------

    def _load_state(self) -> dict[str, Any] | None:
        try:
            state: dict[str, Any] = json.loads(self.layout.state_file.read_text())
        except FileNotFoundError:
            return None
        return state

    def _save_state(self, state: dict[str, Any]) -> None:
        tmp = self.layout.state_file.with_suffix(".tmp")
        tmp.write_text(json.dumps(state, indent=2))
        tmp.replace(self.layout.state_file)

    @staticmethod
    def _records(state: dict[str, Any]) -> list[procs.ProcessRecord]:
        return [procs.ProcessRecord(**p) for p in state.get("processes", [])]

    # -- start --------------------------------------------------------------------------------

    def start(self) -> StartResult:
        """Start the cluster and wait until every node is Ready; a no-op when it already runs healthy.

        A half-running or unhealthy cluster is stopped and started afresh (etcd data is not kept).
        On failure everything started so far is stopped again and a ClusterError names the log.
        """
        began = time.monotonic()
        if self._load_state() is not None:
            current = self.status()
            if current.healthy:
                return StartResult(True, time.monotonic() - began, self.kubeconfig)
            self._progress("a previous cluster is not healthy: stopping it and starting afresh")
            self.stop()
        bin_dir = self._bin_dir or paths.resolve_bin_dir()
        self._reset_dirs()
        state: dict[str, Any] = {"bin_dir": str(bin_dir), "started_at": time.time(), "processes": []}
        try:
            self._boot(bin_dir, state)
        except BaseException:
            self._progress(f"start failed; stopping what was started (logs kept in {self.logs_dir})")
            self.stop()
            raise
        return StartResult(False, time.monotonic() - began, self.kubeconfig)

    def _reset_dirs(self) -> None:
        for d in (
            self.layout.pki,
            self.layout.component_kubeconfigs,
            self.layout.pids,
            self.layout.etcd_data.parent,
            self.layout.kwok_workdir,
            self.layout.logs,
        ):
            shutil.rmtree(d, ignore_errors=True)
            d.mkdir(parents=True)
        self.layout.kubeconfig.unlink(missing_ok=True)

    def _boot(self, bin_dir: Path, state: dict[str, Any]) -> None:
        layout = self.layout
        network = None
        if self._real_node:
            network = netns.create()
            state["network"] = network.index
            self._save_state(state)
            self._progress(f"real node network: namespace {network.netns}, apiserver on {network.host_ip}")
        address = network.host_ip if network else components.LOOPBACK
        certs = pki.generate(
            layout.pki,
            apiserver_ip=address if network else None,
            node=(node.NODE_NAME, network.node_ip) if network else None,
        )
        ports = components.Ports.pick()
        server = f"https://{address}:{ports.apiserver}"
        state.update(server=server, ports=ports.as_dict(), health={})
        self._write_kubeconfigs(server, certs)

        self._launch(components.etcd(bin_dir, layout, ports), state)
        self._await_healthy("etcd", state)
        self._launch(components.apiserver(bin_dir, layout, ports, certs, address), state)
        self._await_healthy("kube-apiserver", state)

        node_objects = nodes.load(paths.nodes_file())
        # Nodes exist before the controllers start, so the first thing kwok and the
        # node-lifecycle controller see is the full set of pools.
        with kube.core_v1(self.kubeconfig) as core:
            nodes.create_all(core, node_objects)
        self._progress(f"created {len(node_objects)} nodes from {paths.nodes_file()}")
        if network is None:
            classes = storage.create_storage_classes(self.kubeconfig, paths.storage_file())
            self._progress(f"created StorageClass {', '.join(classes)} (default, played by kwok)")

        self._launch(components.controller_manager(bin_dir, layout, ports, certs), state)
        self._launch(components.scheduler(bin_dir, layout, ports, certs), state)
        self._launch(components.kwok(bin_dir, layout, ports, paths.kwok_stage_files()), state)
        for name in ORDER[2:]:
            self._await_healthy(name, state)

        expected = [n["metadata"]["name"] for n in node_objects]
        if network is not None:
            self._boot_node(bin_dir, network, certs, server, state)
            expected.append(node.NODE_NAME)
        self._await_nodes(expected)
        self._await_default_service_account()

    def _boot_node(
        self,
        bin_dir: Path,
        network: netns.NodeNetwork,
        certs: pki.ClusterPki,
        server: str,
        state: dict[str, Any],
    ) -> None:
        """containerd (and its images), kubelet, kube-proxy, CoreDNS, local-path-provisioner."""
        shared = paths.cache_root() / "containerd"
        store_lock = node_runtime.claim_shared_store(shared)
        layout = node.NodeLayout(self.layout.root, network, shared if store_lock is not None else None)
        state["containerd_root"] = str(layout.containerd_root)
        self._save_state(state)
        images = node_runtime.load_images(paths.images_manifest())
        sandbox, helper = images["pause"].ref, images["debian"].ref
        node_runtime.write_files(layout, certs, server, bin_dir, sandbox)
        node_pki = certs.node_identities()
        metrics_api = node_addons.metrics_api(network.node_ip, node.METRICS_SERVER_PORT, certs.ca.cert)
        storage.create_objects(
            self.kubeconfig, [*node_addons.rbac(), *node_addons.storage(layout, helper), *metrics_api]
        )
        self._progress("created the node add-ons' RBAC, StorageClass standard (default, local-path) "
                       "and the metrics.k8s.io APIService")  # fmt: skip
        try:
            self._launch(node.containerd(bin_dir, layout), state, pass_fds=() if store_lock is None else (store_lock,))
        finally:
            if store_lock is not None:
                os.close(store_lock)  # containerd holds the lock from here on
        self._await_healthy("containerd", state)
        began = time.monotonic()
        wanted = [i for name, i in images.items() if self._node_images is None or name in self._node_images]
        imported = node_runtime.import_images(bin_dir, layout, wanted)
        self._progress(f"imported {len(imported)} of {len(wanted)} images into containerd "
                       f"({time.monotonic() - began:.1f}s)")  # fmt: skip
        node_runtime.create_cgroups(layout)
        self._launch(node.kubelet(bin_dir, layout, certs), state)
        self._launch(node.kube_proxy(bin_dir, layout), state)
        self._launch(node.coredns(bin_dir, layout), state)
        self._launch(node.local_path_provisioner(bin_dir, layout, helper), state)
        self._launch(node.metrics_server(bin_dir, layout, certs.ca.cert, node_pki.metrics_server_serving), state)
        for name in NODE_ORDER[1:]:
            self._await_healthy(name, state)

    def _write_kubeconfigs(self, server: str, certs: pki.ClusterPki) -> None:
        kubeconfig.write(
            self.kubeconfig,
            server=server,
            ca_cert=certs.ca.cert,
            user="llmops-admin",
            credentials=certs.admin,
        )
        for name, creds in (
            ("kube-controller-manager", certs.controller_manager),
            ("kube-scheduler", certs.scheduler),
            ("kwok", certs.kwok),
        ):
            kubeconfig.write(
                self.layout.component_kubeconfigs / f"{name}.kubeconfig",
                server=server,
                ca_cert=certs.ca.cert,
                user=name,
                credentials=creds,
            )

    def _launch(self, component: components.Component, state: dict[str, Any], pass_fds: tuple[int, ...] = ()) -> None:
        env = {**_base_env(), **component.env}
        record = procs.start(
            component.name,
            component.argv,
            log_path=self.layout.log(component.name),
            cwd=self.state_dir,
            env=env,
            die_with_parent=self._die_with_parent,
            pass_fds=pass_fds,
        )
        state["processes"].append(record.__dict__)
        state["health"][component.name] = {
            "url": component.health_url,
            "ca": str(component.health_ca) if component.health_ca else None,
        }
        (self.layout.pids / f"{component.name}.pid").write_text(f"{record.pid}\n")
        # Saved after every launch, so `down` finds whatever a failed `up` left running.
        self._save_state(state)

    def _await_healthy(self, name: str, state: dict[str, Any]) -> None:
        began = time.monotonic()
        record = next(r for r in self._records(state) if r.name == name)
        check = state["health"][name]
        ca = Path(check["ca"]) if check["ca"] else None

        def exited() -> str | None:
            # Read the exit code before anything else reaps the process and discards it.
            code = procs.exit_status(record)
            if code is not None:
                return f"exited with code {code}"
            return None if procs.is_running(record) else "exited"

        if check["url"] is None:
            # Nothing to ask: give it a moment to fail on a bad flag or config instead.
            time.sleep(1.0)
        ok, detail = health.wait_for(
            lambda: (False, reason) if (reason := exited()) else health.probe(check["url"], ca),
            timeout=_HEALTH_TIMEOUT.get(name, _DEFAULT_HEALTH_TIMEOUT),
            abort=exited,
        )
        if not ok:
            log = self.layout.log(name)
            raise ClusterError(
                f"{name} did not become healthy at {check['url']}: {detail}\nsee {log}; its last lines:\n{_tail(log)}"
            )
        self._progress(f"{name} healthy ({time.monotonic() - began:.1f}s)")

    def _await_nodes(self, expected: list[str]) -> None:
        began = time.monotonic()
        with kube.core_v1(self.kubeconfig) as core:

            def all_schedulable() -> tuple[bool, str]:
                by_name = {n.name: n for n in nodes.states(core)}
                waiting = [name for name in expected if not (name in by_name and by_name[name].schedulable)]
                return not waiting, f"not Ready/schedulable yet: {', '.join(waiting)}"

            ok, detail = health.wait_for(all_schedulable, timeout=_NODES_TIMEOUT, interval=0.5)
        if not ok:
            raise ClusterError(
                f"nodes did not become Ready: {detail}; see {self.layout.log('kwok')} and "
                f"{self.layout.log('kube-controller-manager')}"
            )
        self._progress(f"{len(expected)} nodes Ready ({time.monotonic() - began:.1f}s)")

    def _await_default_service_account(self) -> None:
        # Pods are admitted only once the service-account controller has made "default": waiting
        # here means the first pod a test creates is never refused for that.
        with kube.core_v1(self.kubeconfig) as core:

            def exists() -> tuple[bool, str]:
                try:
                    core.read_namespaced_service_account("default", "default")
                except ApiException as err:
                    return False, f"HTTP {err.status}"
                return True, "found"

            ok, detail = health.wait_for(exists, timeout=_SERVICE_ACCOUNT_TIMEOUT)
        if not ok:
            raise ClusterError(
                f"service account default/default never appeared ({detail}); "
                f"see {self.layout.log('kube-controller-manager')}"
            )

    # -- stop ---------------------------------------------------------------------------------

    def stop(self) -> list[str]:
        """Stop every daemon (SIGTERM, then SIGKILL), newest first; returns those that were running.

        Logs, pki and data stay on disk for inspection; the next `start` wipes them.
        """
        state = self._load_state()
        if state is None:
            return []
        stopped = []
        records = self._records(state)
        network = netns.NodeNetwork(state["network"]) if "network" in state else None
        store = Path(state["containerd_root"]) if "containerd_root" in state else None
        layout = node.NodeLayout(self.layout.root, network, store) if network else None
        bin_dir = Path(state["bin_dir"])
        for record in reversed(records):
            if layout is not None and record.name == "containerd":
                # The kubelet is gone, so nothing restarts the pods: containerd stops them and tears
                # down their networks; what still remains after it, teardown() removes.
                node_runtime.drain(bin_dir, layout)
            if procs.is_running(record):
                stopped.append(record.name)
            procs.stop(record)
            (self.layout.pids / f"{record.name}.pid").unlink(missing_ok=True)
        procs.await_gone(records)
        if layout is not None:
            node_runtime.teardown(layout)
        self.layout.state_file.unlink(missing_ok=True)
        return stopped

    # -- status -------------------------------------------------------------------------------

    def status(self) -> ClusterStatus:
        """Each daemon's liveness, health and memory, and each node's readiness."""
        state = self._load_state()
        if state is None:
            return ClusterStatus(self.state_dir, self.kubeconfig, None, [], None, "not started")
        comps = []
        for record in self._records(state):
            running = procs.is_running(record)
            check = state.get("health", {}).get(record.name)
            healthy, detail = False, "not running"
            if running and check:
                healthy, detail = health.probe(check["url"], Path(check["ca"]) if check["ca"] else None)
            comps.append(
                ComponentStatus(
                    record.name,
                    record.pid,
                    running,
                    healthy,
                    detail,
                    procs.rss_bytes(record),
                    self.layout.log(record.name),
                )
            )
        node_states, nodes_error = None, None
        if any(c.name == "kube-apiserver" and c.healthy for c in comps):
            try:
                with kube.core_v1(self.kubeconfig) as core:
                    node_states = nodes.states(core)
            except Exception as err:
                nodes_error = str(err)
        else:
            nodes_error = "kube-apiserver is not healthy"
        return ClusterStatus(self.state_dir, self.kubeconfig, state.get("server"), comps, node_states, nodes_error)

    def is_healthy(self) -> bool:
        """Running, healthy and all nodes Ready."""
        return self.status().healthy


def real_node_possible() -> bool:
    """A real node needs root (namespaces, mounts, cgroups) on Linux; elsewhere the pools are kwok's only."""
    return sys.platform == "linux" and os.geteuid() == 0


def _base_env() -> dict[str, str]:
    # The daemons get explicit flags for everything; a user's KUBECONFIG must not leak into them.
    return {k: v for k, v in os.environ.items() if k != "KUBECONFIG"}


@contextmanager
def running(state_dir: Path | None = None, **kwargs: Any) -> Iterator[LocalCluster]:
    """Start a cluster for the duration of a `with` block and stop it afterwards."""
    cluster = LocalCluster(state_dir, **kwargs)
    cluster.start()
    try:
        yield cluster
    finally:
        cluster.stop()
