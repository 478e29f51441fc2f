"""Create the cluster's own objects: the default StorageClass (kwok's or the real node's) and add-ons."""

from __future__ import annotations

from pathlib import Path
from typing import Any, cast

import yaml
from kubernetes import client
from kubernetes.client.exceptions import ApiException
from kubernetes.dynamic import DynamicClient

from llmops_dev import kube

_HTTP_CONFLICT = 409


def create_storage_classes(kubeconfig: Path, path: Path) -> list[str]:
    """Create every StorageClass in `path` (existing ones are left alone); returns their names."""
    names = []
    with kube.api_client(kubeconfig) as api:
        storage = client.StorageV1Api(api)
        for doc in yaml.safe_load_all(path.read_text()):
            if not doc or doc.get("kind") != "StorageClass":
                continue
            try:
                storage.create_storage_class(body=cast(client.V1StorageClass, doc))
            except ApiException as err:
                if err.status != _HTTP_CONFLICT:
                    raise
            names.append(doc["metadata"]["name"])
    return names


def create_objects(kubeconfig: Path, objects: list[dict[str, Any]]) -> None:
    """Create each object (any kind; existing ones are left alone), in order."""
    with kube.api_client(kubeconfig) as api:
        dynamic = DynamicClient(api)  # type: ignore[no-untyped-call]
        for obj in objects:
            resource = dynamic.resources.get(api_version=obj["apiVersion"], kind=obj["kind"])
            try:
                resource.create(body=obj, namespace=obj["metadata"].get("namespace"))
            except ApiException as err:
                if err.status != _HTTP_CONFLICT:
                    raise
