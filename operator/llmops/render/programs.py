"""Programs rendered into pods as `python3 -c <source>`: they run in the runtime's own image, standard library only.

The renderer is pure, so each program is its source text here, the only copy; tests/unit/test_compile_cache.py
runs it as the pods do and lints it with ruff.
"""

from typing import Final

# Keeps a vLLM pod's compile and JIT caches on the models volume (render/compilecache.py renders its two
# containers): restore before start, publish once healthy.
COMPILE_CACHE: Final = r'''
"""Keeps a vLLM pod's compile and JIT caches on the models volume: restore before start, publish once healthy.

Runs inside the serving image (`python3 -c <this file> ...`), so it uses the standard library only. A cache is an
optimisation: every failure is reported and the pod goes on (cold), never crashes.
"""

import os
import shutil
import signal
import sys
import time
import urllib.request
import uuid

STAGING_PREFIX = ".staging-"
STALE_STAGING_SECONDS = 3600


def _files(root: str) -> int:
    return sum(len(names) for _, _, names in os.walk(root))


def restore(published: str, local: str) -> int:
    """Copy the published cache of this pod's key (if any) into the pod's own writable cache directory."""
    try:
        os.makedirs(local, exist_ok=True)
        if not os.path.isdir(published):
            print(f"compile cache: nothing published at {published}; this pod compiles and publishes it", flush=True)
            return 0
        shutil.copytree(published, local, symlinks=True, dirs_exist_ok=True)
    except OSError as error:
        print(f"compile cache: restore from {published} failed ({error}); starting cold", flush=True)
        return 0
    print(f"compile cache: restored {_files(local)} files from {published}", flush=True)
    return 0


def _healthy(url: str) -> bool:
    try:
        with urllib.request.urlopen(url, timeout=5) as response:
            return bool(response.status == 200)
    except OSError:
        return False


def _remove_stale_staging(root: str, key: str) -> None:
    # A pod killed while copying leaves its staging directory behind; none of them is ever read.
    for name in os.listdir(root):
        path = os.path.join(root, name)
        if name.startswith(f"{STAGING_PREFIX}{key}-") and time.time() - os.path.getmtime(path) > STALE_STAGING_SECONDS:
            shutil.rmtree(path, ignore_errors=True)


def publish_once(local: str, root: str, key: str) -> str:
    """Publish LOCAL as ROOT/KEY unless that exists: copied to a staging directory, then renamed into place, so a
    reader sees a whole cache or none, and of two replicas publishing at once exactly one wins."""
    final = os.path.join(root, key)
    if os.path.isdir(final):
        return f"already published at {final}"
    if not os.path.isdir(local) or _files(local) == 0:
        return f"nothing to publish: {local} is empty"
    _remove_stale_staging(root, key)
    staging = os.path.join(root, f"{STAGING_PREFIX}{key}-{uuid.uuid4().hex}")
    try:
        shutil.copytree(local, staging, symlinks=True)
        os.rename(staging, final)
    except OSError as error:
        shutil.rmtree(staging, ignore_errors=True)
        if os.path.isdir(final):
            return f"another replica published {final} first"
        return f"publish to {final} failed ({error})"
    return f"published {_files(final)} files at {final}"


def publish(local: str, root: str, key: str, health_url: str, poll_seconds: float = 5.0) -> int:
    """Wait until the server is healthy (compiled, warmed up), publish, then idle as a sidecar until stopped."""
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(0))
    while not _healthy(health_url):
        time.sleep(poll_seconds)
    print(f"compile cache: {publish_once(local, root, key)}", flush=True)
    while True:
        signal.pause()


def main(argv: list[str]) -> int:
    """`restore PUBLISHED LOCAL` or `publish LOCAL ROOT KEY HEALTH_URL`."""
    if len(argv) == 3 and argv[0] == "restore":
        return restore(argv[1], argv[2])
    if len(argv) == 5 and argv[0] == "publish":
        return publish(argv[1], argv[2], argv[3], argv[4])
    print("usage: restore PUBLISHED LOCAL | publish LOCAL ROOT KEY HEALTH_URL", file=sys.stderr)
    return 2


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
'''[1:]
