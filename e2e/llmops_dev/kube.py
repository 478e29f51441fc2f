"""Kubernetes API clients bound to one kubeconfig file (never the process-wide default)."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from kubernetes import client, config


@contextmanager
def api_client(kubeconfig: Path) -> Iterator[client.ApiClient]:
    """An ApiClient for `kubeconfig`, closed (its connection pool too) on exit."""
    api: client.ApiClient = config.new_client_from_config(  # type: ignore[no-untyped-call]
        config_file=str(kubeconfig)
    )
    with api:
        yield api


@contextmanager
def core_v1(kubeconfig: Path) -> Iterator[client.CoreV1Api]:
    """A CoreV1Api for `kubeconfig`."""
    with api_client(kubeconfig) as api:
        yield client.CoreV1Api(api)
