"""API objects the real node's add-ons need: RBAC for their identities, the local-path StorageClass."""

from __future__ import annotations

import json
from typing import Any

import yaml

from llmops_dev import node
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
    ]


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
