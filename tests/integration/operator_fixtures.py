"""The operator as a real subprocess (`llmops run`) against the test cluster, and helpers to drive it."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path
from typing import Any

import yaml

from llmops_dev.kubectl import Kubectl, wait_for

ROOT = Path(__file__).resolve().parents[2]
CRD = ROOT / "crds" / "llmdeployments.llmops.dev.yaml"


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


class OperatorProcess:
    """`llmops run` in a subprocess; start/stop so tests can kill and restart it."""

    def __init__(self, kubeconfig: str, log: Path, args: tuple[str, ...] = ()) -> None:
        self.kubeconfig, self.log, self.args = kubeconfig, log, args
        self.metrics_port, self.probe_port = free_port(), free_port()
        self.process: subprocess.Popen[bytes] | None = None

    def start(self) -> None:
        env = {**os.environ, "KUBECONFIG": self.kubeconfig}
        command = [sys.executable, "-m", "llmops.cli", "run", "--metrics-port", str(self.metrics_port)]
        command += ["--probe-port", str(self.probe_port), *self.args]
        with self.log.open("ab") as log:
            self.process = subprocess.Popen(command, env=env, stdout=log, stderr=subprocess.STDOUT)
        wait_for(self.healthy, timeout=60, what=f"operator /healthz (log: {self.log})")

    def healthy(self) -> bool:
        try:
            with urllib.request.urlopen(f"http://127.0.0.1:{self.probe_port}/healthz", timeout=2) as response:
                return bool(response.status == 200)
        except OSError:
            return False

    def metrics(self) -> str:
        with urllib.request.urlopen(f"http://127.0.0.1:{self.metrics_port}/metrics", timeout=5) as response:
            return str(response.read().decode())

    def stop(self, kill: bool = False) -> int:
        """SIGTERM (graceful) or SIGKILL; returns the exit code."""
        assert self.process is not None
        self.process.send_signal(signal.SIGKILL if kill else signal.SIGTERM)
        code = self.process.wait(timeout=30)
        self.process = None
        return code


def example(file: str, **overrides: Any) -> dict[str, Any]:
    """An examples/ LLMDeployment, with spec sections merged over (one level deep); name= renames it."""
    obj: dict[str, Any] = yaml.safe_load((ROOT / "examples" / f"{file}.yaml").read_text())
    for key, value in overrides.items():
        if key == "name":
            obj["metadata"]["name"] = value
        elif isinstance(value, dict):
            obj["spec"][key] = {**obj["spec"].get(key, {}), **value}
        else:
            obj["spec"][key] = value
    return obj


def llmd(kubectl: Kubectl, namespace: str, name: str) -> dict[str, Any]:
    return dict(kubectl.json("get", "llmdeployment", name, "-n", namespace))


def wait_phase(kubectl: Kubectl, namespace: str, name: str, phase: str, timeout: float = 90) -> dict[str, Any]:
    """Wait until status.phase == phase for the current generation; return the object."""

    def probe() -> dict[str, Any] | None:
        obj = llmd(kubectl, namespace, name)
        status = obj.get("status") or {}
        current = status.get("observedGeneration") == obj["metadata"]["generation"]
        return obj if current and status.get("phase") == phase else None

    return wait_for(probe, timeout=timeout, what=f"LLMDeployment {namespace}/{name} phase {phase}")


def condition(obj: dict[str, Any], type_: str) -> dict[str, Any]:
    return next(c for c in obj["status"]["conditions"] if c["type"] == type_)


def items(
    kubectl: Kubectl, namespace: str, kind: str, selector: str = "app.kubernetes.io/managed-by=llmops"
) -> list[Any]:
    return list(kubectl.json("get", kind, "-n", namespace, "-l", selector)["items"])


def settle(seconds: float) -> None:
    time.sleep(seconds)
