"""`download` and `resolve` against a local fake of the Hugging Face Hub API, and pvc:// sources in place."""

from __future__ import annotations

import dataclasses
import json
import subprocess
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from llmops_dev.hub import ModelHub, read_repo

CliRunner = Callable[..., subprocess.CompletedProcess[str]]
TOKEN = "hf_abcdefghijklmnopqrstuvwxyz123456"
ACCEPTED = "hf_accepted0123456789abcdefghijklmn"


@pytest.fixture(scope="module")
def hub(tiny_model: Path) -> Iterator[ModelHub]:
    """The local model hub (llmops_dev.hub) serving the tiny model, and a gated repo only TOKEN can read."""
    with ModelHub() as server:
        server.add("test/tiny-llama", read_repo(tiny_model))
        server.add("test/gated", read_repo(tiny_model, gated=True, tokens=frozenset({ACCEPTED})))
        yield server


@pytest.fixture
def commit(hub: ModelHub) -> str:
    return hub.repos["test/tiny-llama"].commit


@pytest.fixture
def online(hub: ModelHub, tmp_path: Path) -> dict[str, str]:
    """Environment for a CLI run that talks to the local hub, with an empty HF cache."""
    return {"HF_ENDPOINT": hub.url, "HF_HUB_OFFLINE": "0", "HF_HOME": str(tmp_path / "hf-home")}


def test_resolve_prints_the_commit(cli: CliRunner, online: dict[str, str], commit: str) -> None:
    proc = cli("resolve", "--source", "hf://test/tiny-llama", "--revision", "main", env=online)
    assert proc.stdout.strip() == commit


def test_resolve_pvc_returns_the_revision_unchanged(cli: CliRunner) -> None:
    assert cli("resolve", "--source", "pvc://models/llama", "--revision", "v1").stdout.strip() == "v1"


def test_download_fetches_the_pinned_snapshot(
    *, cli: CliRunner, online: dict[str, str], tmp_path: Path, tiny_model: Path, hub: ModelHub, commit: str
) -> None:
    dest = tmp_path / "model"
    proc = cli(
        "download", "--source", "hf://test/tiny-llama", "--revision", "main", "--dest", str(dest),
        "--allow-pattern", "*.json", "--allow-pattern", "*.safetensors", "--allow-pattern", "tokenizer.model",
        env=online,
    )  # fmt: skip
    assert proc.stdout.strip() == str(dest)
    assert (dest / "model.safetensors").read_bytes() == (tiny_model / "model.safetensors").read_bytes()
    assert (dest / "tokenizer.model").is_file() and (dest / "config.json").is_file()
    record = json.loads((dest / ".llmops-source.json").read_text())
    assert record == {"source": "hf://test/tiny-llama", "revision": "main", "resolvedRevision": commit}
    # Files are fetched by commit, not by the branch name, so a moving branch cannot mix revisions.
    assert any(r.startswith(f"GET /test/tiny-llama/resolve/{commit}/model.safetensors") for r in hub.requests)


def test_download_skips_files_outside_the_patterns(
    cli: CliRunner, online: dict[str, str], tmp_path: Path, commit: str
) -> None:
    dest = tmp_path / "model"
    cli("download", "--source", "hf://test/tiny-llama", "--revision", commit, "--dest", str(dest),
        "--allow-pattern", "config.json", env=online)  # fmt: skip
    assert sorted(p.name for p in dest.iterdir() if not p.name.startswith(".")) == ["config.json"]


def test_rerun_resumes_without_refetching(
    cli: CliRunner, online: dict[str, str], tmp_path: Path, hub: ModelHub
) -> None:
    dest = tmp_path / "model"
    args = ("download", "--source", "hf://test/tiny-llama", "--revision", "main", "--dest", str(dest))
    cli(*args, env=online)
    hub.requests.clear()
    cli(*args, env=online)
    assert not [r for r in hub.requests if r.startswith("GET /test/tiny-llama/resolve/")]


def test_a_gated_repo_downloads_with_an_accepted_token(
    cli: CliRunner, online: dict[str, str], tmp_path: Path, tiny_model: Path
) -> None:
    dest = tmp_path / "model"
    cli("download", "--source", "hf://test/gated", "--revision", "main", "--dest", str(dest),
        env={**online, "HF_TOKEN": ACCEPTED})  # fmt: skip
    assert (dest / "model.safetensors").read_bytes() == (tiny_model / "model.safetensors").read_bytes()


@pytest.mark.parametrize(
    ("source", "revision", "token", "reason"),
    [
        ("hf://test/missing", "main", None,
         "download: repository test/missing not found (404) (or it is private and no token was given)"),
        ("hf://test/gated", "main", None,
         "download: repository test/gated is gated: no token was given (set spec.model.tokenSecretRef); "
         "accept its license on the Hub"),
        ("hf://test/gated", "main", TOKEN,
         "download: repository test/gated is gated: the token has no access; accept its license on the Hub"),
        ("hf://test/tiny-llama", "no-such-branch", None,
         "download: revision 'no-such-branch' not found in test/tiny-llama"),
    ],
)  # fmt: skip
def test_hub_failures_leave_a_short_reason(
    *,
    cli: CliRunner, online: dict[str, str], tmp_path: Path, termination_log: Path,
    source: str, revision: str, token: str | None, reason: str,
) -> None:  # fmt: skip
    env = {**online, **({"HF_TOKEN": token} if token else {})}
    proc = cli(
        "download", "--source", source, "--revision", revision, "--dest", str(tmp_path / "d"), env=env, check=False
    )
    assert proc.returncode == 1
    written = termination_log.read_text()
    assert written == reason + "\n"
    assert TOKEN not in written and TOKEN not in proc.stderr


def test_unreachable_hub_is_reported(
    cli: CliRunner, tmp_path: Path, termination_log: Path, port: Callable[[], int]
) -> None:
    env = {"HF_ENDPOINT": f"http://127.0.0.1:{port()}", "HF_HUB_OFFLINE": "0", "HF_HUB_ETAG_TIMEOUT": "2"}
    proc = cli("download", "--source", "hf://test/tiny-llama", "--revision", "main", "--dest", str(tmp_path / "d"),
               env=env, check=False)  # fmt: skip
    assert proc.returncode == 1
    assert termination_log.read_text().startswith("download: cannot download test/tiny-llama@main:")


def test_not_enough_disk_fails_before_downloading(
    *, cli: CliRunner, online: dict[str, str], tmp_path: Path, termination_log: Path, hub: ModelHub, commit: str
) -> None:
    tiny = hub.repos["test/tiny-llama"]
    hub.add("test/huge", dataclasses.replace(tiny, listed_sizes={"model.safetensors": 10**15}))
    proc = cli("download", "--source", "hf://test/huge", "--revision", "main",
               "--dest", str(tmp_path / "d"), env=online, check=False)  # fmt: skip
    assert proc.returncode == 1
    reason = termination_log.read_text()
    assert reason.startswith(f"download: disk full: test/huge@{commit[:12]} needs 931322.6 GiB but ")
    assert reason.rstrip().endswith("GiB free (raise spec.storage.size)")
    assert not (tmp_path / "d" / "model.safetensors").exists()


def test_pvc_source_is_read_in_place(cli: CliRunner, tmp_path: Path, tiny_model: Path) -> None:
    root = tmp_path / "pvc"
    (root / "models").mkdir(parents=True)
    (root / "models" / "llama").symlink_to(tiny_model)
    proc = cli("download", "--source", "pvc://models/llama", "--revision", "v1", "--dest", str(tmp_path / "d"),
               "--pvc-root", str(root))  # fmt: skip
    assert proc.stdout.strip() == str(root / "models" / "llama")
    record = json.loads((tmp_path / "d" / ".llmops-source.json").read_text())
    assert record["path"] == str(root / "models" / "llama") and record["resolvedRevision"] == "v1"


@pytest.mark.parametrize(
    ("source", "patterns", "reason"),
    [
        ("pvc://absent/x", (), "download: claim absent is not mounted at {root}/absent"),
        ("pvc://models/nope", (), "download: pvc://models/nope does not exist in claim models"),
        ("pvc://models/llama", ("*.gguf",), "download: pvc://models/llama holds no files matching *.gguf"),
        ("pvc://models/../etc", (),
         "download: invalid PVC source 'pvc://models/../etc': '..' is not allowed in the path"),
        ("s3://bucket/x", (),
         "download: unsupported source 's3://bucket/x': expected hf://ORG/NAME or pvc://CLAIM/PATH"),
    ],
)  # fmt: skip
def test_bad_pvc_sources_are_explained(
    *,
    cli: CliRunner, tmp_path: Path, tiny_model: Path, termination_log: Path,
    source: str, patterns: tuple[str, ...], reason: str,
) -> None:  # fmt: skip
    root = tmp_path / "pvc"
    (root / "models").mkdir(parents=True)
    (root / "models" / "llama").symlink_to(tiny_model)
    extra = [arg for p in patterns for arg in ("--allow-pattern", p)]
    proc = cli("download", "--source", source, "--revision", "v1", "--dest", str(tmp_path / "d"),
               "--pvc-root", str(root), *extra, check=False)  # fmt: skip
    assert proc.returncode == 1
    assert termination_log.read_text() == reason.format(root=root) + "\n"
