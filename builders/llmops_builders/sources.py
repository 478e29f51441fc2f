"""Parses the model source URIs of an LLMDeployment: hf://ORG/NAME and pvc://CLAIM/PATH."""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import PurePosixPath

from llmops_builders.errors import BuildError

# Hugging Face repo ids: an optional namespace and a name of letters, digits, '-', '_' and '.'.
_REPO_ID = re.compile(r"^(?:[A-Za-z0-9][A-Za-z0-9._-]*/)?[A-Za-z0-9][A-Za-z0-9._-]*$")
# Kubernetes object names (DNS-1123 subdomain).
_CLAIM = re.compile(r"^[a-z0-9]([-a-z0-9.]*[a-z0-9])?$")


@dataclass(frozen=True)
class HubSource:
    """A Hugging Face Hub model repository."""

    repo_id: str


@dataclass(frozen=True)
class PvcSource:
    """A directory inside a PersistentVolumeClaim, read in place."""

    claim: str
    path: str


Source = HubSource | PvcSource


def parse(uri: str, step: str = "source") -> Source:
    """Parse a source URI or fail with a reason that names the accepted forms."""
    if uri.startswith("hf://"):
        repo_id = uri.removeprefix("hf://").strip("/")
        if not _REPO_ID.match(repo_id) or ".." in repo_id:
            raise BuildError(step, f"invalid Hugging Face source {uri!r}: expected hf://ORG/NAME")
        return HubSource(repo_id)
    if uri.startswith("pvc://"):
        claim, _, path = uri.removeprefix("pvc://").partition("/")
        if not _CLAIM.match(claim):
            raise BuildError(step, f"invalid PVC source {uri!r}: expected pvc://CLAIM/PATH")
        parts = PurePosixPath(path).parts
        if ".." in parts:
            raise BuildError(step, f"invalid PVC source {uri!r}: '..' is not allowed in the path")
        return PvcSource(claim, "/".join(parts))
    raise BuildError(step, f"unsupported source {uri!r}: expected hf://ORG/NAME or pvc://CLAIM/PATH")
