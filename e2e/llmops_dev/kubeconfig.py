"""Kubeconfig files for the local cluster's users (admin and each component)."""

from __future__ import annotations

import base64
from pathlib import Path

import yaml

from llmops_dev.pki import KeyPair

CONTEXT = "llmops-local"


def _b64(path: Path) -> str:
    return base64.b64encode(path.read_bytes()).decode()


def write(path: Path, *, server: str, ca_cert: Path, user: str, credentials: KeyPair) -> Path:
    """Write a self-contained kubeconfig (certificates embedded) for one client identity."""
    config = {
        "apiVersion": "v1",
        "kind": "Config",
        "clusters": [{"name": CONTEXT, "cluster": {"server": server, "certificate-authority-data": _b64(ca_cert)}}],
        "users": [
            {
                "name": user,
                "user": {
                    "client-certificate-data": _b64(credentials.cert),
                    "client-key-data": _b64(credentials.key),
                },
            }
        ],
        "contexts": [{"name": CONTEXT, "context": {"cluster": CONTEXT, "user": user}}],
        "current-context": CONTEXT,
        "preferences": {},
    }
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(yaml.safe_dump(config, sort_keys=False))
    path.chmod(0o600)
    return path
