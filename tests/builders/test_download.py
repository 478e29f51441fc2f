"""`download` and `resolve` against a local fake of the Hugging Face Hub API, and pvc:// sources in place."""

from __future__ import annotations

import hashlib
import json
import subprocess
import threading
from collections.abc import Callable, Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any, ClassVar
from urllib.parse import unquote, urlparse

import pytest

CliRunner = Callable[..., subprocess.CompletedProcess[str]]
COMMIT = "0123456789abcdef0123456789abcdef01234567"
TOKEN = "hf_abcdefghijklmnopqrstuvwxyz123456"


class FakeHub(BaseHTTPRequestHandler):
    """Just enough of the Hub's API for huggingface_hub: repo info, file HEAD/GET, its error headers."""

    files: ClassVar[dict[str, bytes]] = {}
    repos: ClassVar[dict[str, str]] = {}  # repo id -> "public" | "gated"
    huge: ClassVar[set[str]] = set()  # files whose listed size is absurd (the disk-space pre-check)
    requests: ClassVar[list[str]] = []

    def log_message(self, format: str, *args: Any) -> None:
        return

    def _error(self, status: int, code: str, message: str) -> None:
        body = json.dumps({"error": message}).encode()
        self.send_response(status)
        self.send_header("X-Error-Code", code)
        self.send_header("X-Error-Message", message)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def _repo_checks(self, repo: str, revision: str) -> bool:
        if repo not in self.repos:
            self._error(404, "RepoNotFound", "Repository not found")
            return False
        if self.repos[repo] == "gated":
            self._error(
                401 if not self.headers.get("Authorization") else 403, "GatedRepo", "Access to model is restricted"
            )
            return False
        if revision not in ("main", COMMIT):
            self._error(404, "RevisionNotFound", f"Invalid rev id: {revision}")
            return False
        return True

    def _send(self, body: bytes, extra: dict[str, str], head: bool) -> None:
        self.send_response(200)
        for key, value in extra.items():
            self.send_header(key, value)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        if not head:
            self.wfile.write(body)

    def _route(self, head: bool) -> None:
        path = unquote(urlparse(self.path).path)
        self.requests.append(f"{self.command} {path}")
        parts = path.strip("/").split("/")
        if parts[:2] == ["api", "models"] and "revision" in parts:
            i = parts.index("revision")
            repo, revision = "/".join(parts[2:i]), "/".join(parts[i + 1 :])
            if self._repo_checks(repo, revision):
                siblings = [
                    {"rfilename": name, "size": 10**15 if name in self.huge else len(data)}
                    for name, data in sorted(self.files.items())
                ]
                info = {"id": repo, "modelId": repo, "sha": COMMIT, "siblings": siblings, "private": False}
                self._send(json.dumps(info).encode(), {"Content-Type": "application/json"}, head)
            return
        if len(parts) >= 5 and parts[2] == "resolve":
            repo, revision, name = "/".join(parts[:2]), parts[3], "/".join(parts[4:])
            if not self._repo_checks(repo, revision):
                return
            if name not in self.files:
                self._error(404, "EntryNotFound", "Entry not found")
                return
            data = self.files[name]
            etag = hashlib.sha256(data).hexdigest()
            self._send(data, {"X-Repo-Commit": COMMIT, "ETag": f'"{etag}"', "Accept-Ranges": "bytes"}, head)
            return
        self._error(404, "RepoNotFound", "Not found")

    def do_GET(self) -> None:
        self._route(head=False)

    def do_HEAD(self) -> None:
        self._route(head=True)


@pytest.fixture(scope="module")
def hub(tiny_model: Path) -> Iterator[str]:
    FakeHub.files = {p.name: p.read_bytes() for p in tiny_model.iterdir() if p.is_file()}
    FakeHub.repos = {"test/tiny-llama": "public", "test/gated": "gated"}
    server = ThreadingHTTPServer(("127.0.0.1", 0), FakeHub)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_address[1]}"
    server.shutdown()
    server.server_close()


@pytest.fixture
def online(hub: str, tmp_path: Path) -> dict[str, str]:
    """Environment for a CLI run that talks to the fake hub, with an empty HF cache."""
    return {"HF_ENDPOINT": hub, "HF_HUB_OFFLINE": "0", "HF_HOME": str(tmp_path / "hf-home")}


def test_resolve_prints_the_commit(cli: CliRunner, online: dict[str, str]) -> None:
    proc = cli("resolve", "--source", "hf://test/tiny-llama", "--revision", "main", env=online)
    assert proc.stdout.strip() == COMMIT


def test_resolve_pvc_returns_the_revision_unchanged(cli: CliRunner) -> None:
    assert cli("resolve", "--source", "pvc://models/llama", "--revision", "v1").stdout.strip() == "v1"


def test_download_fetches_the_pinned_snapshot(
    cli: CliRunner, online: dict[str, str], tmp_path: Path, tiny_model: Path
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
    assert record == {"source": "hf://test/tiny-llama", "revision": "main", "resolvedRevision": COMMIT}
    # Files are fetched by commit, not by the branch name, so a moving branch cannot mix revisions.
    assert any(r.startswith(f"GET /test/tiny-llama/resolve/{COMMIT}/model.safetensors") for r in FakeHub.requests)


def test_download_skips_files_outside_the_patterns(cli: CliRunner, online: dict[str, str], tmp_path: Path) -> None:
    dest = tmp_path / "model"
    cli("download", "--source", "hf://test/tiny-llama", "--revision", COMMIT, "--dest", str(dest),
        "--allow-pattern", "config.json", env=online)  # fmt: skip
    assert sorted(p.name for p in dest.iterdir() if not p.name.startswith(".")) == ["config.json"]


def test_rerun_resumes_without_refetching(cli: CliRunner, online: dict[str, str], tmp_path: Path) -> None:
    dest = tmp_path / "model"
    args = ("download", "--source", "hf://test/tiny-llama", "--revision", "main", "--dest", str(dest))
    cli(*args, env=online)
    FakeHub.requests.clear()
    cli(*args, env=online)
    assert not [r for r in FakeHub.requests if r.startswith("GET /test/tiny-llama/resolve/")]


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
    cli: CliRunner, online: dict[str, str], tmp_path: Path, termination_log: Path
) -> None:
    FakeHub.huge = {"model.safetensors"}
    try:
        proc = cli("download", "--source", "hf://test/tiny-llama", "--revision", "main",
                   "--dest", str(tmp_path / "d"), env=online, check=False)  # fmt: skip
    finally:
        FakeHub.huge = set()
    assert proc.returncode == 1
    reason = termination_log.read_text()
    assert reason.startswith(f"download: disk full: test/tiny-llama@{COMMIT[:12]} needs 931322.6 GiB but ")
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
