"""Start the lab's real servers (llama-server, tritonserver) on loopback and wait until they are ready."""

from __future__ import annotations

import os
import socket
import subprocess
import time
import urllib.request
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

LAB_ENV_FILE = "lab.env"


def lab_dir() -> Path:
    """Where builders/scripts/setup-lab.sh caches everything."""
    cache = os.environ.get("LLMOPS_CACHE_DIR") or str(Path.home() / ".cache" / "llmops")
    return Path(cache) / "lab"


def read_lab_env() -> dict[str, str]:
    """The tool paths setup-lab.sh wrote; raises FileNotFoundError if it has not run."""
    env: dict[str, str] = {}
    for line in (lab_dir() / LAB_ENV_FILE).read_text(encoding="utf-8").splitlines():
        key, _, value = line.partition("=")
        if key and value:
            env[key] = value
    return env


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def _wait_ready(proc: subprocess.Popen[bytes], url: str, timeout: float, log: Path) -> None:
    deadline = time.monotonic() + timeout
    while True:
        if proc.poll() is not None:
            raise RuntimeError(f"{url}: server exited with {proc.returncode}:\n{log.read_text()[-3000:]}")
        try:
            with urllib.request.urlopen(url, timeout=1) as resp:
                if resp.status == 200:
                    return
        except OSError:
            pass
        if time.monotonic() > deadline:
            raise RuntimeError(f"{url}: not ready after {timeout:.0f} s:\n{log.read_text()[-3000:]}")
        time.sleep(0.1)


@contextmanager
def _running(
    argv: Sequence[str], ready_url: str, log: Path, env: dict[str, str] | None = None, timeout: float = 90
) -> Iterator[None]:
    with log.open("wb") as out:
        proc = subprocess.Popen(list(argv), env=env, stdout=out, stderr=subprocess.STDOUT)
    try:
        _wait_ready(proc, ready_url, timeout, log)
        yield
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=20)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()


@dataclass(frozen=True)
class TritonEndpoints:
    """Where a started tritonserver answers."""

    http: str  # host:port, as tritonclient wants it
    grpc: str
    metrics: str  # base URL of the Prometheus endpoint


@contextmanager
def llama_server(lab: dict[str, str], args: Sequence[str], port: int, log: Path) -> Iterator[str]:
    """Run llama-server with ARGS (which must bind 127.0.0.1:PORT); yield its base URL once /health is 200."""
    base = f"http://127.0.0.1:{port}"
    with _running([lab["LLMOPS_LLAMA_SERVER"], *args], f"{base}/health", log, timeout=60):
        yield base


@contextmanager
def tritonserver(
    lab: dict[str, str], repository: Path, log: Path, metrics_port: int | None = None
) -> Iterator[TritonEndpoints]:
    """Run pytriton's bundled tritonserver (Python backend, CPU) on REPOSITORY; yield once it is ready."""
    http_port, grpc_port = free_port(), free_port()
    metrics_port = metrics_port or free_port()
    env = dict(os.environ)
    # The python backend stub embeds libpython: it must be this interpreter's, and find the side venv.
    env["LD_LIBRARY_PATH"] = lab["LLMOPS_TRITON_LD_LIBRARY_PATH"]
    env["PATH"] = f"{lab['LLMOPS_TRITON_VENV']}/bin:{env['PATH']}"
    argv = [
        lab["LLMOPS_TRITONSERVER"],
        f"--model-repository={repository}",
        f"--backend-directory={lab['LLMOPS_TRITON_BACKENDS']}",
        "--http-address=127.0.0.1", f"--http-port={http_port}",
        "--grpc-address=127.0.0.1", f"--grpc-port={grpc_port}",
        "--metrics-address=127.0.0.1", f"--metrics-port={metrics_port}",
        "--allow-cpu-metrics=true",
        "--exit-timeout-secs=3",
    ]  # fmt: skip
    with _running(argv, f"http://127.0.0.1:{http_port}/v2/health/ready", log, env=env):
        yield TritonEndpoints(f"127.0.0.1:{http_port}", f"127.0.0.1:{grpc_port}", f"http://127.0.0.1:{metrics_port}")
