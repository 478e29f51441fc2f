"""Health probes of the daemons' /health, /readyz and /healthz endpoints."""

from __future__ import annotations

import ssl
import time
import urllib.error
import urllib.request
from collections.abc import Callable
from pathlib import Path


def probe(url: str | None, ca_file: Path | None, *, timeout: float = 2.0) -> tuple[bool, str]:
    """GET `url` (verifying https against `ca_file`); healthy means HTTP 200. Returns (ok, detail).

    A daemon without a health endpoint (`url` None) is healthy while it runs; the caller checks that.
    """
    if url is None:
        return True, "no health endpoint"
    context = ssl.create_default_context(cafile=str(ca_file)) if ca_file else None
    try:
        with urllib.request.urlopen(url, timeout=timeout, context=context) as response:
            body = response.read(200).decode(errors="replace").strip()
            return response.status == 200, body or str(response.status)
    except urllib.error.HTTPError as err:
        return False, f"HTTP {err.code}"
    except (urllib.error.URLError, OSError) as err:
        return False, str(getattr(err, "reason", err))


def wait_for(
    check: Callable[[], tuple[bool, str]],
    *,
    timeout: float,
    interval: float = 0.25,
    abort: Callable[[], str | None] = lambda: None,
) -> tuple[bool, str]:
    """Poll `check` until it passes or `timeout` elapses; `abort` returning a reason stops early.

    Returns (passed, last detail or the abort reason).
    """
    deadline = time.monotonic() + timeout
    detail = "not checked yet"
    while True:
        ok, detail = check()
        if ok:
            return True, detail
        if reason := abort():
            return False, reason
        if time.monotonic() >= deadline:
            return False, detail
        time.sleep(interval)
