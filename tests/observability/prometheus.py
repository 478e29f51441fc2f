"""A real Prometheus (built with the cluster's binaries) on 127.0.0.1 with a temporary TSDB, and its HTTP API."""

from __future__ import annotations

import ctypes
import functools
import json
import math
import os
import shutil
import signal
import socket
import subprocess
import time
import urllib.parse
import urllib.request
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any, TypeVar

import yaml

from llmops_dev import paths

T = TypeVar("T")
INTERVAL = "1s"  # scrape and rule evaluation


@functools.cache
def binary(name: str) -> str:
    """A binary of e2e/cluster/build-binaries.sh (prometheus, promtool, prometheus-adapter), resolved once."""
    found = paths.resolve_bin_dir() / name
    assert os.access(found, os.X_OK), f"{found} is missing: run e2e/cluster/build-binaries.sh"
    return str(found)


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def die_with_parent() -> None:
    ctypes.CDLL("libc.so.6", use_errno=True).prctl(1, signal.SIGKILL)  # PR_SET_PDEATHSIG


def wait_until(probe: Callable[[], T | None], timeout: float, what: str, every: float = 0.5) -> T:
    deadline = time.monotonic() + timeout
    while True:
        result = probe()
        if result:
            return result
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out after {timeout:.0f} s waiting for {what}")
        time.sleep(every)


class Prometheus:
    """The HTTP API of a running Prometheus."""

    def __init__(self, base: str, log: Path) -> None:
        self.base, self.log = base, log

    def get(self, path: str, **params: str) -> Any:
        url = f"{self.base}{path}" + (f"?{urllib.parse.urlencode(params)}" if params else "")
        with urllib.request.urlopen(url, timeout=10) as response:
            body = json.loads(response.read())
        assert body["status"] == "success", body
        return body["data"]

    def query(self, expr: str) -> list[dict[str, Any]]:
        """An instant query's vector (a scalar result comes back as one unlabelled sample)."""
        data = self.get("/api/v1/query", query=expr)
        if data["resultType"] == "scalar":
            return [{"metric": {}, "value": data["result"]}]
        result: list[dict[str, Any]] = data["result"]
        return result

    def finite(self, expr: str) -> list[dict[str, Any]]:
        """The query's samples with a finite value (a histogram_quantile over no new observations is NaN)."""
        return [s for s in self.query(expr) if math.isfinite(float(s["value"][1]))]

    def targets(self) -> list[dict[str, Any]]:
        active: list[dict[str, Any]] = self.get("/api/v1/targets")["activeTargets"]
        return active

    def rules(self) -> list[dict[str, Any]]:
        groups: list[dict[str, Any]] = self.get("/api/v1/rules")["groups"]
        return groups

    def wait_scraped(self, job: str, timeout: float = 60) -> None:
        def healthy() -> bool:
            mine = [t for t in self.targets() if t["labels"].get("job") == job]
            return bool(mine) and all(t["health"] == "up" for t in mine)

        wait_until(healthy, timeout, f"Prometheus to scrape job {job} (log: {self.log})")


@contextmanager
def running(workdir: Path, scrape_configs: list[dict[str, Any]], rule_files: list[Path]) -> Iterator[Prometheus]:
    """Start Prometheus with these scrape configs and rule files; stop it (and drop its TSDB) afterwards."""
    workdir.mkdir(parents=True, exist_ok=True)
    config = {
        "global": {"scrape_interval": INTERVAL, "scrape_timeout": INTERVAL, "evaluation_interval": INTERVAL},
        "rule_files": [str(p) for p in rule_files],
        "scrape_configs": scrape_configs,
    }
    (workdir / "prometheus.yml").write_text(yaml.safe_dump(config, sort_keys=False))
    check = subprocess.run([binary("promtool"), "check", "config", str(workdir / "prometheus.yml")],
                           capture_output=True, text=True, check=False)  # fmt: skip
    assert check.returncode == 0, check.stdout + check.stderr
    port = free_port()
    log = workdir / "prometheus.log"
    argv = [
        binary("prometheus"),
        f"--config.file={workdir / 'prometheus.yml'}",
        f"--storage.tsdb.path={workdir / 'data'}",
        f"--web.listen-address=127.0.0.1:{port}",
        "--storage.tsdb.retention.time=1h",
    ]
    with log.open("wb") as out:
        process = subprocess.Popen(argv, stdout=out, stderr=subprocess.STDOUT, preexec_fn=die_with_parent)  # noqa: PLW1509
    prometheus = Prometheus(f"http://127.0.0.1:{port}", log)

    def ready() -> bool:
        assert process.poll() is None, f"prometheus exited {process.returncode}: {log.read_text()[-2000:]}"
        try:
            with urllib.request.urlopen(f"{prometheus.base}/-/ready", timeout=2) as response:
                return bool(response.status == 200)
        except OSError:
            return False

    try:
        wait_until(ready, 30, f"Prometheus /-/ready (log: {log})")
        yield prometheus
    finally:
        process.terminate()
        try:
            process.wait(timeout=15)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()
        shutil.rmtree(workdir / "data", ignore_errors=True)
