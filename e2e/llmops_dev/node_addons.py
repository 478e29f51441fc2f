"""API objects the real node's add-ons need: RBAC for their identities, the local-path StorageClass, and the
APIService through which the apiserver reaches metrics-server (or any aggregated API served on the node)."""

from __future__ import annotations

import base64
import json
from pathlib import Path
from typing import Any

import yaml

from llmops_dev import node, pki
from llmops_dev.node import NodeLayout

_RBAC = "rbac.authorization.k8s.io/v1"


def _cluster_role(name: str, rules: list[dict[str, Any]], user: str) -> list[dict[str, Any]]:
    return [
        {"apiVersion": _RBAC, "kind": "ClusterRole", "metadata": {"name": name}, "rules": rules},
        {
            "apiVersion": _RBAC,
            "kind": "ClusterRoleBinding",
            "metadata": {"name": name},
            "roleRef": {"apiGroup": "rbac.authorization.k8s.io", "kind": "ClusterRole", "name": name},
            "subjects": [{"apiGroup": "rbac.authorization.k8s.io", "kind": "User", "name": user}],
        },
    ]


def rbac() -> list[dict[str, Any]]:
    """Least privilege for each identity of pki.NodePki (kube-proxy's is built in: system:node-proxier)."""
    read = ["get", "list", "watch"]
    return [
        # The apiserver calls the kubelet (logs, exec, port-forward) as this user; the kubelet asks the
        # apiserver whether it may (webhook authorization).
        {
            "apiVersion": _RBAC,
            "kind": "ClusterRoleBinding",
            "metadata": {"name": "llmops:apiserver-kubelet-client"},
            "roleRef": {
                "apiGroup": "rbac.authorization.k8s.io",
                "kind": "ClusterRole",
                "name": "system:kubelet-api-admin",
            },
            "subjects": [
                {"apiGroup": "rbac.authorization.k8s.io", "kind": "User", "name": "kube-apiserver-kubelet-client"}
            ],
        },
        *_cluster_role(
            "llmops:coredns",
            [
                {"apiGroups": [""], "resources": ["endpoints", "services", "pods", "namespaces"], "verbs": read},
                {"apiGroups": ["discovery.k8s.io"], "resources": ["endpointslices"], "verbs": read},
            ],
            "llmops:coredns",
        ),
        *_cluster_role(
            "llmops:local-path-provisioner",
            [
                {
                    "apiGroups": [""],
                    "resources": ["nodes", "persistentvolumeclaims", "configmaps", "pods/log"],
                    "verbs": read,
                },
                {"apiGroups": [""], "resources": ["pods"], "verbs": [*read, "create", "patch", "update", "delete"]},
                {
                    "apiGroups": [""],
                    "resources": ["persistentvolumes"],
                    "verbs": [*read, "create", "patch", "update", "delete"],
                },
                {"apiGroups": [""], "resources": ["events"], "verbs": ["create", "patch"]},
                {"apiGroups": ["storage.k8s.io"], "resources": ["storageclasses"], "verbs": read},
            ],
            "llmops:local-path-provisioner",
        ),
        *_cluster_role(
            "llmops:metrics-server",
            [
                {"apiGroups": [""], "resources": ["nodes/metrics"], "verbs": ["get"]},
                {"apiGroups": [""], "resources": ["pods", "nodes"], "verbs": read},
            ],
            pki.METRICS_SERVER_USER,
        ),
        *delegated_authentication("llmops:metrics-server", pki.METRICS_SERVER_USER),
    ]


def delegated_authentication(name: str, user: str) -> list[dict[str, Any]]:
    """What an aggregated API server needs to check the apiserver's callers: token and access reviews, and the
    front-proxy CA in kube-system's extension-apiserver-authentication ConfigMap."""
    subjects = [{"apiGroup": "rbac.authorization.k8s.io", "kind": "User", "name": user}]
    return [
        {
            "apiVersion": _RBAC,
            "kind": "ClusterRoleBinding",
            "metadata": {"name": f"{name}:auth-delegator"},
            "roleRef": {
                "apiGroup": "rbac.authorization.k8s.io",
                "kind": "ClusterRole",
                "name": "system:auth-delegator",
            },
            "subjects": subjects,
        },
        {
            "apiVersion": _RBAC,
            "kind": "RoleBinding",
            "metadata": {"name": f"{name}:auth-reader", "namespace": "kube-system"},
            "roleRef": {
                "apiGroup": "rbac.authorization.k8s.io",
                "kind": "Role",
                "name": "extension-apiserver-authentication-reader",
            },
            "subjects": subjects,
        },
    ]


def aggregated_api(
    group_version: str, service: str, address: str, port: int, ca_cert: Path | None
) -> list[dict[str, Any]]:
    """APIService GROUP_VERSION served at ADDRESS:PORT, through a selector-less Service in kube-system and its
    EndpointSlice (the server is a process on the node, not a pod). ca_cert None skips TLS verification."""
    group, version = group_version.split("/")
    tls: dict[str, Any] = (
        {"caBundle": base64.b64encode(ca_cert.read_bytes()).decode()}
        if ca_cert is not None
        else {"insecureSkipTLSVerify": True}
    )
    return [
        {
            "apiVersion": "v1",
            "kind": "Service",
            "metadata": {"name": service, "namespace": "kube-system"},
            "spec": {"ports": [{"name": "https", "port": 443, "targetPort": port, "protocol": "TCP"}]},
        },
        {
            "apiVersion": "discovery.k8s.io/v1",
            "kind": "EndpointSlice",
            "metadata": {
                "name": service,
                "namespace": "kube-system",
                "labels": {
                    "kubernetes.io/service-name": service,
                    "endpointslice.kubernetes.io/managed-by": "llmops-dev",
                },
            },
            "addressType": "IPv4",
            "endpoints": [{"addresses": [address], "conditions": {"ready": True}}],
            "ports": [{"name": "https", "port": port, "protocol": "TCP"}],
        },
        {
            "apiVersion": "apiregistration.k8s.io/v1",
            "kind": "APIService",
            "metadata": {"name": f"{version}.{group}"},
            "spec": {
                "group": group,
                "version": version,
                "service": {"namespace": "kube-system", "name": service, "port": 443},
                "groupPriorityMinimum": 100,
                "versionPriority": 100,
                **tls,
            },
        },
    ]


def metrics_api(node_ip: str, port: int, ca_cert: Path) -> list[dict[str, Any]]:
    """metrics.k8s.io/v1beta1, served by the node's metrics-server with a certificate of the cluster CA."""
    return aggregated_api("metrics.k8s.io/v1beta1", "metrics-server", node_ip, port, ca_cert)


def _helper_pod(image: str) -> dict[str, Any]:
    # The helper makes (and on reclaim removes) the claim's directory: it must run on the real node.
    return {
        "apiVersion": "v1",
        "kind": "Pod",
        "metadata": {"name": "helper-pod"},
        "spec": {
            "nodeSelector": {"kubernetes.io/hostname": node.NODE_NAME},
            "tolerations": [
                {"key": node.TAINT_KEY, "operator": "Exists", "effect": "NoSchedule"},
                {"key": "node.kubernetes.io/disk-pressure", "operator": "Exists", "effect": "NoSchedule"},
            ],
            # The provisioner runs the template's image (its --helper-image flag is not used for it).
            "containers": [{"name": "helper-pod", "image": image, "imagePullPolicy": "Never"}],
        },
    }


def storage(layout: NodeLayout, helper_image: str) -> list[dict[str, Any]]:
    """The default StorageClass `standard`, provisioned by local-path-provisioner on one shared directory.

    Shared-filesystem mode: every claim is a directory under NodeLayout.volumes with no node affinity,
    ReadWriteMany allowed, so conversion Jobs and servers on the real node share the models claim.
    """
    namespace = node.LOCAL_PATH_NAMESPACE
    config = {"sharedFileSystemPath": str(layout.volumes)}
    return [
        {"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": namespace}},
        {"apiVersion": "v1", "kind": "ServiceAccount",
         "metadata": {"name": node.LOCAL_PATH_HELPER_SA, "namespace": namespace}},
        {
            "apiVersion": "v1",
            "kind": "ConfigMap",
            "metadata": {"name": node.LOCAL_PATH_CONFIGMAP, "namespace": namespace},
            "data": {
                "config.json": json.dumps(config),
                "setup": '#!/bin/sh\nset -eu\nmkdir -m 0777 -p "$VOL_DIR"\n',
                "teardown": '#!/bin/sh\nset -eu\nrm -rf "$VOL_DIR"\n',
                "helperPod.yaml": yaml.safe_dump(_helper_pod(helper_image), sort_keys=False),
            },
        },
        {
            "apiVersion": "storage.k8s.io/v1",
            "kind": "StorageClass",
            "metadata": {"name": "standard",
                         "annotations": {"storageclass.kubernetes.io/is-default-class": "true"}},
            "provisioner": "rancher.io/local-path",
            "reclaimPolicy": "Delete",
            "volumeBindingMode": "Immediate",
        },
    ]  # fmt: skip
