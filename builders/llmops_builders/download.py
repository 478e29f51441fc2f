"""Fetches a model at a pinned revision: a Hugging Face snapshot, or a PVC directory validated in place."""

from __future__ import annotations

import errno
import fnmatch
import json
import os
import shutil
import time
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

from huggingface_hub import HfApi, ModelInfo, snapshot_download
from huggingface_hub import errors as hf_errors
from huggingface_hub.utils import filter_repo_objects  # type: ignore[attr-defined]

from llmops_builders import journal, sources
from llmops_builders.errors import BuildError

STEP = "download"
_GIB = 1024**3


@dataclass(frozen=True)
class Fetched:
    """Where the model files are and which commit they are."""

    path: Path
    resolved_revision: str


def _token() -> str | bool:
    # Only the Job's HF_TOKEN counts; False stops huggingface_hub from reading a token file on the node.
    return os.environ.get("HF_TOKEN") or False


def _api() -> HfApi:
    return HfApi(token=_token())


@contextmanager
def _hub_errors(repo_id: str, revision: str) -> Iterator[None]:
    """Translate huggingface_hub's exceptions into reasons a user can act on."""
    try:
        yield
    # GatedRepoError is a RepositoryNotFoundError, so it must be caught first.
    except hf_errors.GatedRepoError as exc:
        hint = "the token has no access" if _token() else "no token was given (set spec.model.tokenSecretRef)"
        raise BuildError(STEP, f"repository {repo_id} is gated: {hint}; accept its license on the Hub") from exc
    except hf_errors.RepositoryNotFoundError as exc:
        extra = "" if _token() else " (or it is private and no token was given)"
        raise BuildError(STEP, f"repository {repo_id} not found (404){extra}") from exc
    except hf_errors.RevisionNotFoundError as exc:
        raise BuildError(STEP, f"revision {revision!r} not found in {repo_id}") from exc
    except hf_errors.EntryNotFoundError as exc:
        raise BuildError(STEP, f"a file of {repo_id}@{revision} is missing: {exc}") from exc
    except hf_errors.LocalEntryNotFoundError as exc:
        raise BuildError(STEP, f"cannot reach the Hugging Face Hub for {repo_id}: {exc}") from exc
    except hf_errors.HfHubHTTPError as exc:
        status = exc.response.status_code if exc.response is not None else "?"
        if status == 401:
            raise BuildError(STEP, f"the Hub refused the token for {repo_id} (401)") from exc
        raise BuildError(STEP, f"the Hub answered {status} for {repo_id}@{revision}") from exc
    except OSError as exc:
        if exc.errno == errno.ENOSPC:
            raise BuildError(STEP, f"disk full while downloading {repo_id}: {exc.filename or ''}") from exc
        # requests' connection errors are OSErrors too.
        raise BuildError(STEP, f"cannot download {repo_id}@{revision}: {exc}") from exc


def resolve(source_uri: str, revision: str) -> str:
    """The 40-hex commit a branch/tag/commit names (pvc:// revisions are returned unchanged)."""
    source = sources.parse(source_uri, STEP)
    if isinstance(source, sources.PvcSource):
        return revision
    with _hub_errors(source.repo_id, revision):
        info = _api().model_info(source.repo_id, revision=revision)
    if not info.sha:
        raise BuildError(STEP, f"the Hub returned no commit for {source.repo_id}@{revision}")
    return info.sha


def _existing_ancestor(path: Path) -> Path:
    while not path.exists():
        path = path.parent
    return path


def _check_free_space(info: ModelInfo, commit: str, dest: Path, patterns: Sequence[str] | None) -> None:
    """Fail before downloading when the files cannot fit, instead of half-way through."""
    siblings = list(
        filter_repo_objects(
            info.siblings or [],
            allow_patterns=list(patterns) if patterns else None,
            key=lambda s: s.rfilename,
        )
    )
    needed = 0
    for sibling in siblings:
        local = dest / sibling.rfilename
        size = sibling.size or 0
        # Files already complete from an earlier, interrupted attempt need no new space.
        if not (local.is_file() and local.stat().st_size == size):
            needed += size
    free = shutil.disk_usage(_existing_ancestor(dest)).free
    if needed > free:
        raise BuildError(
            STEP,
            f"disk full: {info.id}@{commit[:12]} needs {needed / _GIB:.1f} GiB but {dest} has "
            f"{free / _GIB:.1f} GiB free (raise spec.storage.size)",
        )


def _download_hub(source: sources.HubSource, revision: str, dest: Path, patterns: Sequence[str] | None) -> Fetched:
    with _hub_errors(source.repo_id, revision):
        # files_metadata gives each file's size, for the disk-space check.
        info = _api().model_info(source.repo_id, revision=revision, files_metadata=True)
        commit = info.sha or revision
        _check_free_space(info, commit, dest, patterns)
        # Downloading by commit (not by branch) keeps every file from one revision even if the branch moves.
        snapshot_download(
            repo_id=source.repo_id,
            revision=commit,
            local_dir=str(dest),
            allow_patterns=list(patterns) if patterns else None,
            token=_token(),
        )
    return Fetched(dest, commit)


def _locate_pvc(source: sources.PvcSource, revision: str, pvc_root: Path, patterns: Sequence[str] | None) -> Fetched:
    path = pvc_root / source.claim / source.path
    uri = f"pvc://{source.claim}/{source.path}"
    if not (pvc_root / source.claim).is_dir():
        raise BuildError(STEP, f"claim {source.claim} is not mounted at {pvc_root / source.claim}")
    if not path.exists():
        raise BuildError(STEP, f"{uri} does not exist in claim {source.claim}")
    if path.is_dir():
        files = [p for p in path.rglob("*") if p.is_file()]
        if patterns:
            files = [p for p in files if any(fnmatch.fnmatch(str(p.relative_to(path)), pat) for pat in patterns)]
        if not files:
            wanted = f" matching {', '.join(patterns)}" if patterns else ""
            raise BuildError(STEP, f"{uri} holds no files{wanted}")
    return Fetched(path, revision)


def download(
    source_uri: str,
    revision: str,
    dest: Path,
    allow_patterns: Sequence[str] | None = None,
    pvc_root: Path = Path("/mnt/pvc"),
) -> Fetched:
    """Fetch (hf://) or locate (pvc://) the model and write DEST/.llmops-source.json."""
    started = time.monotonic()
    source = sources.parse(source_uri, STEP)
    try:
        dest.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise BuildError(STEP, f"cannot create {dest}: {exc.strerror}") from exc
    if isinstance(source, sources.HubSource):
        fetched = _download_hub(source, revision, dest, allow_patterns)
    else:
        fetched = _locate_pvc(source, revision, pvc_root, allow_patterns)
    record = {"source": source_uri, "revision": revision, "resolvedRevision": fetched.resolved_revision}
    if isinstance(source, sources.PvcSource):
        record["path"] = str(fetched.path)
    (dest / journal.SOURCE_FILE).write_text(json.dumps(record, indent=2, sort_keys=True) + "\n", encoding="utf-8")
    journal.record(
        dest,
        STEP,
        source=source_uri,
        revision=revision,
        resolvedRevision=fetched.resolved_revision,
        seconds=round(time.monotonic() - started, 3),
        tools=journal.package_versions("huggingface-hub"),
    )
    return fetched
