"""A small kubectl runner bound to one kubeconfig, for tests, demos and e2e scenarios."""

from __future__ import annotations

import json
import subprocess
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any, TypeVar

import yaml

from llmops_dev import paths

T = TypeVar("T")


class KubectlError(RuntimeError):
    """kubectl exited non-zero; the message carries its command line and stderr."""

    def __init__(self, args: Sequence[str], result: subprocess.CompletedProcess[str]) -> None:
        super().__init__(f"kubectl {' '.join(args)} exited {result.returncode}: {result.stderr.strip()}")
        self.result = result


@dataclass(frozen=True)
class Kubectl:
    """Runs kubectl with `--kubeconfig` set; `binary` defaults to the one beside the running Python."""

    kubeconfig: str
    binary: str = field(default_factory=paths.kubectl)

    def run(
        self, *args: str, stdin: str | None = None, check: bool = True, timeout: float = 60.0
    ) -> subprocess.CompletedProcess[str]:
        """Run `kubectl ARGS`; raises KubectlError on a non-zero exit when `check`."""
        result = subprocess.run(
            [self.binary, f"--kubeconfig={self.kubeconfig}", *args],
            input=stdin,
            capture_output=True,
            text=True,
            timeout=timeout,
            check=False,
        )
        if check and result.returncode != 0:
            raise KubectlError(args, result)
        return result

    def json(self, *args: str) -> Any:
        """Run `kubectl ARGS -o json` and parse the output."""
        return json.loads(self.run(*args, "-o", "json").stdout)

    def apply(self, *objects: dict[str, Any], namespace: str | None = None) -> str:
        """Server-side apply the given objects (one YAML stream)."""
        ns = [f"--namespace={namespace}"] if namespace else []
        stream = yaml.safe_dump_all(list(objects), sort_keys=False)
        return self.run("apply", "--server-side", "-f", "-", *ns, stdin=stream).stdout

    def wait_established(self, crd: str, timeout: float = 60.0) -> None:
        """Wait until the CRD serves its API. (`kubectl wait --for=condition=Established` fails at once instead
        of waiting while a just-created CRD has no status conditions yet.)"""
        jsonpath = '{.status.conditions[?(@.type=="Established")].status}'

        def established() -> bool:
            return self.run("get", f"crd/{crd}", "-o", f"jsonpath={jsonpath}", check=False).stdout == "True"

        wait_for(established, timeout=timeout, what=f"CRD {crd} Established")

    def create(
        self, *objects: dict[str, Any], namespace: str | None = None, check: bool = True
    ) -> subprocess.CompletedProcess[str]:
        """Create the given objects; with `check=False` the result carries a rejection's stderr."""
        ns = [f"--namespace={namespace}"] if namespace else []
        stream = yaml.safe_dump_all(list(objects), sort_keys=False)
        return self.run("create", "-f", "-", *ns, stdin=stream, check=check)


def wait_for(probe: Callable[[], T | None], *, timeout: float, what: str, interval: float = 0.5) -> T:
    """Call `probe` until it returns something other than None/False; raise TimeoutError after `timeout`.

    The error names `what` and the last value seen, so a failing test says what it waited for.
    """
    deadline = time.monotonic() + timeout
    last: Any = None
    while True:
        value = probe()
        if value is not None and value is not False:
            return value
        last = value
        if time.monotonic() >= deadline:
            raise TimeoutError(f"timed out after {timeout:.0f}s waiting for {what} (last: {last!r})")
        time.sleep(interval)
