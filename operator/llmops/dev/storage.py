"""The cluster's default StorageClass, whose provisioner kwok plays (see e2e/cluster/storage.yaml)."""

from __future__ import annotations

from pathlib import Path
from typing import cast

import yaml
from kubernetes import client
from kubernetes.client.exceptions import ApiException

from llmops.dev import kube

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
