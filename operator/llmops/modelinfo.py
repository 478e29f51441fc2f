"""Model facts from a model's own files (config.json and the weights' sizes): a local directory, or the Hub."""

import json
import tempfile
from pathlib import Path

from llmops.planning.modelfacts import ModelFacts, ModelFactsError, from_config

INDEX = "model.safetensors.index.json"


def weight_bytes(directory: Path) -> int | None:
    """The checkpoint's bytes: the safetensors index's metadata.total_size, else the weight files' sizes."""
    index = directory / INDEX
    if index.is_file():
        total = json.loads(index.read_text()).get("metadata", {}).get("total_size")
        if isinstance(total, int):
            return total
    files = [*directory.glob("*.safetensors"), *directory.glob("*.bin"), *directory.glob("*.gguf")]
    return sum(f.stat().st_size for f in files) or None


def from_directory(directory: Path) -> ModelFacts:
    """ModelFacts of the model in DIRECTORY (its config.json is required)."""
    config = directory / "config.json"
    if not config.is_file():
        raise FileNotFoundError(f"{config}: no config.json, so the model's sizes are unknown")
    return from_config(json.loads(config.read_text()), weight_bytes(directory))


# Condition reasons of a source that cannot be resolved (reconcile/conditions.py uses the same words).
NOT_FOUND, REVISION_NOT_FOUND, GATED, ACCESS_DENIED = (
    "ModelNotFound",
    "RevisionNotFound",
    "ModelGated",
    "ModelAccessDenied",
)
UNREACHABLE, CONFIG_MISSING, CONFIG_UNREADABLE = "ModelUnreachable", "ModelConfigMissing", "ModelConfigUnreadable"
WEIGHT_SUFFIXES = (".safetensors", ".gguf", ".bin", ".pt", ".pth")
TIMEOUT_SECONDS = 10.0


class ModelSourceError(Exception):
    """The Hub could not tell llmops about the model; reason is a condition reason, retryable when it may pass."""

    def __init__(self, reason: str, message: str, retryable: bool = False) -> None:
        super().__init__(message)
        self.reason, self.retryable = reason, retryable


def from_hub(
    repo_id: str, revision: str, *, endpoint: str | None = None, token: str | bool | None = False
) -> ModelFacts:
    """Resolve REVISION to a commit and read config.json and the weight files' sizes from the Hub (or the mirror
    at ENDPOINT). token False sends none; None lets huggingface_hub use HF_TOKEN or the cached login."""
    import huggingface_hub  # noqa: PLC0415 - only the commands that ask the Hub load it
    from huggingface_hub import errors  # noqa: PLC0415

    api = huggingface_hub.HfApi(endpoint=endpoint or None, token=token)
    where = f"hf://{repo_id}@{revision}"
    try:
        info = api.model_info(repo_id, revision=revision, files_metadata=True, timeout=TIMEOUT_SECONDS)
        commit = str(info.sha)
        sizes = [s.size or 0 for s in info.siblings or [] if s.rfilename.endswith(WEIGHT_SUFFIXES)]
        with tempfile.TemporaryDirectory() as scratch:
            config = huggingface_hub.hf_hub_download(
                repo_id, "config.json", revision=commit, endpoint=endpoint or None, token=token,
                local_dir=scratch, etag_timeout=TIMEOUT_SECONDS,
            )  # fmt: skip
            text = Path(config).read_text()
    except errors.GatedRepoError as error:
        status = error.response.status_code if error.response is not None else 401
        if status == 403 or token:
            raise ModelSourceError(
                ACCESS_DENIED, f"{where} is gated and the token has not been granted access"
            ) from None
        raise ModelSourceError(GATED, f"{where} is gated: set model.tokenSecretRef to a token with access") from None
    except errors.RevisionNotFoundError:
        raise ModelSourceError(REVISION_NOT_FOUND, f"{where}: no such revision (branch, tag or commit)") from None
    except errors.EntryNotFoundError:
        raise ModelSourceError(CONFIG_MISSING, f"{where} has no config.json: its sizes are unknown") from None
    except errors.RepositoryNotFoundError:
        raise ModelSourceError(NOT_FOUND, f"{where}: repository not found (or private)") from None
    except (OSError, errors.HfHubHTTPError) as error:
        # Connection refused, DNS, timeouts (requests' errors are OSErrors), 5xx: the Hub may come back.
        raise ModelSourceError(UNREACHABLE, f"{where}: the Hub did not answer ({type(error).__name__})", True) from None
    try:
        return from_config(json.loads(text), sum(sizes) or None, commit=commit)
    except (ValueError, ModelFactsError) as error:
        raise ModelSourceError(CONFIG_UNREADABLE, f"{where}: config.json: {error}") from None
