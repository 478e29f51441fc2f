"""A local model hub: enough of the Hugging Face Hub's HTTP API for huggingface_hub, serving directories."""

from __future__ import annotations

import argparse
import contextlib
import hashlib
import json
import re
import sys
import threading
from collections.abc import Mapping
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from types import TracebackType
from typing import Any
from urllib.parse import unquote, urlparse

MAIN = "main"
_RANGE = re.compile(r"^bytes=(\d+)-(\d*)$")


@dataclass(frozen=True)
class Repo:
    """One model repository: its files (name → bytes, read once), who may read it, and its commit."""

    files: Mapping[str, bytes]
    gated: bool = False
    tokens: frozenset[str] = frozenset()  # the tokens that have accepted a gated repo's license
    listed_sizes: Mapping[str, int] = field(default_factory=dict)  # sizes model info reports instead

    @property
    def commit(self) -> str:
        """A 40-hex commit id derived from the content, so the same files always name the same commit."""
        digest = hashlib.sha1(usedforsecurity=False)
        for name in sorted(self.files):
            digest.update(f"{name}\0{hashlib.sha256(self.files[name]).hexdigest()}\n".encode())
        return digest.hexdigest()


def read_repo(directory: Path, *, gated: bool = False, tokens: frozenset[str] = frozenset()) -> Repo:
    """A repository holding every file under DIRECTORY (hidden files left out)."""
    files = {
        str(path.relative_to(directory)): path.read_bytes()
        for path in sorted(directory.rglob("*"))
        if path.is_file() and not any(part.startswith(".") for part in path.relative_to(directory).parts)
    }
    return Repo(files, gated=gated, tokens=tokens)


class _Handler(BaseHTTPRequestHandler):
    """Routes: model info by revision, file HEAD/GET by revision (with ranges), the Hub's error headers."""

    hub: ModelHub  # set on the per-server subclass

    def log_message(self, format: str, *args: Any) -> None:
        return

    def do_GET(self) -> None:
        self._route(head=False)

    def do_HEAD(self) -> None:
        self._route(head=True)

    def _route(self, head: bool) -> None:
        path = unquote(urlparse(self.path).path)
        self.hub.record(f"{self.command} {path}")
        parts = path.strip("/").split("/")
        if parts[:2] == ["api", "models"] and len(parts) >= 4:
            if "revision" in parts:
                i = parts.index("revision")
                repo_id, revision = "/".join(parts[2:i]), "/".join(parts[i + 1 :])
            else:
                repo_id, revision = "/".join(parts[2:4]), MAIN
            repo = self._allowed(repo_id, revision)
            if repo is not None:
                self._info(repo_id, repo, head)
            return
        if len(parts) >= 5 and parts[2] == "resolve":
            repo_id, revision, name = "/".join(parts[:2]), parts[3], "/".join(parts[4:])
            repo = self._allowed(repo_id, revision)
            if repo is None:
                return
            if name not in repo.files:
                self._error(404, "EntryNotFound", "Entry not found")
                return
            self._file(repo, repo.files[name], head)
            return
        self._error(404, "RepoNotFound", "Not found")

    def _allowed(self, repo_id: str, revision: str) -> Repo | None:
        """The repo if it exists at this revision and the caller may read it; else the Hub's error is sent."""
        repo = self.hub.repos.get(repo_id)
        if repo is None:
            self._error(404, "RepoNotFound", "Repository not found")
            return None
        if repo.gated:
            token = (self.headers.get("Authorization") or "").removeprefix("Bearer ").strip()
            if token not in repo.tokens:
                # The Hub answers 401 without a token and 403 with one that has not accepted the license.
                status = 403 if token else 401
                self._error(status, "GatedRepo", f"Access to model {repo_id} is restricted")
                return None
        if revision not in (MAIN, repo.commit):
            self._error(404, "RevisionNotFound", f"Invalid rev id: {revision}")
            return None
        return repo

    def _info(self, repo_id: str, repo: Repo, head: bool) -> None:
        siblings = [
            {"rfilename": name, "size": repo.listed_sizes.get(name, len(data))}
            for name, data in sorted(repo.files.items())
        ]
        info = {
            "id": repo_id,
            "modelId": repo_id,
            "sha": repo.commit,
            "siblings": siblings,
            "private": False,
            "gated": "manual" if repo.gated else False,
        }
        self._send(200, json.dumps(info).encode(), {"Content-Type": "application/json"}, head)

    def _file(self, repo: Repo, data: bytes, head: bool) -> None:
        headers = {
            "X-Repo-Commit": repo.commit,
            "ETag": f'"{hashlib.sha256(data).hexdigest()}"',
            "Accept-Ranges": "bytes",
            "Content-Type": "application/octet-stream",
        }
        wanted = _RANGE.match(self.headers.get("Range") or "")
        if wanted and not head:
            # huggingface_hub resumes an interrupted download with `Range: bytes=N-`.
            start = int(wanted.group(1))
            end = int(wanted.group(2)) if wanted.group(2) else len(data) - 1
            headers["Content-Range"] = f"bytes {start}-{end}/{len(data)}"
            self._send(206, data[start : end + 1], headers, head)
            return
        self._send(200, data, headers, head)

    def _error(self, status: int, code: str, message: str) -> None:
        body = json.dumps({"error": message}).encode()
        headers = {"X-Error-Code": code, "X-Error-Message": message, "Content-Type": "application/json"}
        self._send(status, body, headers, head=False)

    def _send(self, status: int, body: bytes, headers: Mapping[str, str], head: bool) -> None:
        self.send_response(status)
        for key, value in headers.items():
            self.send_header(key, value)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        if not head:
            self.wfile.write(body)


class ModelHub:
    """The hub server on HOST:PORT (0: any free port), in a daemon thread; repos may be added while it runs."""

    def __init__(self, host: str = "127.0.0.1", port: int = 0) -> None:
        self.repos: dict[str, Repo] = {}
        self.requests: list[str] = []
        self._lock = threading.Lock()
        handler = type("Handler", (_Handler,), {"hub": self})
        self._server = ThreadingHTTPServer((host, port), handler)
        self._server.daemon_threads = True
        self._thread: threading.Thread | None = None

    @property
    def url(self) -> str:
        """The endpoint to give huggingface_hub (HF_ENDPOINT)."""
        host, port = self._server.server_address[:2]
        return f"http://{host!s}:{port}"

    def add(self, repo_id: str, repo: Repo) -> Repo:
        """Serve REPO as REPO_ID (ORG/NAME); returns it."""
        self.repos[repo_id] = repo
        return repo

    def record(self, request: str) -> None:
        """Keep the request line, for tests that check what was (not) fetched."""
        with self._lock:
            self.requests.append(request)

    def start(self) -> ModelHub:
        self._thread = threading.Thread(target=self._server.serve_forever, name="model-hub", daemon=True)
        self._thread.start()
        return self

    def serve_forever(self) -> None:
        """Serve in this thread until interrupted (the command line's way)."""
        try:
            self._server.serve_forever()
        finally:
            self._server.server_close()

    def stop(self) -> None:
        self._server.shutdown()
        self._server.server_close()

    def __enter__(self) -> ModelHub:
        return self.start()

    def __exit__(
        self, kind: type[BaseException] | None, error: BaseException | None, traceback: TracebackType | None
    ) -> None:
        self.stop()


def serve_directory(root: Path, host: str, port: int) -> ModelHub:
    """A hub with every ROOT/ORG/NAME directory as repository ORG/NAME."""
    hub = ModelHub(host, port)
    for directory in sorted(p for p in root.glob("*/*") if p.is_dir()):
        hub.add(f"{directory.parent.name}/{directory.name}", read_repo(directory))
    return hub


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m llmops_dev.hub", description=__doc__)
    parser.add_argument("--root", type=Path, required=True, help="directory of ORG/NAME model directories")
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=0)
    args = parser.parse_args(argv)
    hub = serve_directory(args.root, args.host, args.port)
    print(f"model hub on {hub.url}: {', '.join(sorted(hub.repos)) or 'no repositories'}", flush=True)
    with contextlib.suppress(KeyboardInterrupt):
        hub.serve_forever()
    return 0


if __name__ == "__main__":
    sys.exit(main())
