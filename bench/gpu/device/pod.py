"""Run a rendered pod spec as the kubelet would, on a machine without Kubernetes.

`unshare --mount --propagation private python3 pod.py SPEC.json LOGDIR`, in a mount namespace of its own: a fresh
tmpfs on /tmp (the pod's emptyDir),
the models directory bound read-only at /models and its compile-cache directory read-write where the sidecar
mounts it, and, when the kernel allows it, the root filesystem remounted read-only (readOnlyRootFilesystem).
Init containers run in order (a restartPolicy Always one stays running, a native sidecar), then the containers,
each as the pod's runAsUser/runAsGroup with no supplementary groups and exactly the rendered environment plus
what the image itself would set (IMAGE_ENV). SIGTERM stops the containers as the kubelet does: SIGTERM to each
main process, SIGKILL after the grace period.
"""

from __future__ import annotations

import contextlib
import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

# What the serving image itself provides (PATH to its binaries, its site-packages): the only variables added.
IMAGE_ENV_KEYS = ("PATH", "PYTHONPATH", "LD_LIBRARY_PATH", "CUDA_HOME")


def _mount(*args: str) -> bool:
    return subprocess.run(["mount", *args], capture_output=True, check=False).returncode == 0


def prepare_mounts(volumes: dict[str, str], log: Any) -> dict[str, bool]:
    """The pod's filesystem view; returns which isolation steps took effect."""
    done = {"tmp_tmpfs": False}
    done["tmp_tmpfs"] = _mount("-t", "tmpfs", "-o", "mode=1777,size=64g", "tmpfs", "/tmp")
    for spec, source in volumes.items():
        read_only = spec.endswith(":ro")
        target = spec.removesuffix(":ro")
        os.makedirs(target, exist_ok=True)
        ok = _mount("--bind", source, target)
        if ok and read_only:
            ok = _mount("-o", "remount,bind,ro", target)
        done[f"bind {target}"] = ok
    done["read_only_root"] = _mount("-o", "remount,bind,ro", "/")
    print(f"pod: mounts {json.dumps(done)}", file=log, flush=True)
    return done


def _demote(uid: int, gid: int) -> Any:
    def run() -> None:
        os.setsid()
        os.setgroups([])
        os.setgid(gid)
        os.setuid(uid)

    return run


def _env(container: dict[str, Any], image_env: dict[str, str]) -> dict[str, str]:
    env = dict(image_env)
    for item in container.get("env", []):
        if "value" in item:
            env[item["name"]] = item["value"]
    return env


def start(
    container: dict[str, Any], image_env: dict[str, str], uid: int, gid: int, out: Any
) -> subprocess.Popen[bytes]:
    """Start one container's process in its own session, its output to OUT."""
    argv = [*container.get("command", []), *container.get("args", [])]
    return subprocess.Popen(
        argv, env=_env(container, image_env), cwd="/tmp", stdout=out, stderr=subprocess.STDOUT,
        preexec_fn=_demote(uid, gid),  # noqa: PLW1509 - single-threaded here
    )  # fmt: skip


def stop(processes: list[subprocess.Popen[bytes]], grace: float) -> None:
    """SIGTERM to each main process (as the kubelet), then SIGKILL to whatever is left of its session."""
    for p in processes:
        if p.poll() is None:
            p.send_signal(signal.SIGTERM)
    deadline = time.monotonic() + grace
    for p in processes:
        with contextlib.suppress(subprocess.TimeoutExpired):
            p.wait(timeout=max(0.1, deadline - time.monotonic()))
    for p in processes:
        with contextlib.suppress(ProcessLookupError):
            os.killpg(p.pid, signal.SIGKILL)
        p.wait()


def run(spec: dict[str, Any], logs: Path) -> int:
    """Run the pod until SIGTERM or until its first container exits."""
    pod, image_env, volumes = spec["pod"], spec["image_env"], spec["volumes"]
    security = pod.get("securityContext", {})
    uid, gid = int(security.get("runAsUser", 1000)), int(security.get("runAsGroup", 1000))
    # Log files are opened before the root filesystem turns read-only, through a mount of their own: a file open
    # for writing on the root mount would make its read-only remount fail (EBUSY).
    _mount("--bind", str(logs), str(logs))
    log = (logs / "pod.log").open("a")
    outs = {
        c["name"]: (logs / f"{c['name']}.log").open("ab") for c in [*pod.get("initContainers", []), *pod["containers"]]
    }
    prepare_mounts(volumes, log)
    stopping = False

    def on_term(*_: object) -> None:
        nonlocal stopping
        stopping = True

    signal.signal(signal.SIGTERM, on_term)
    sidecars: list[subprocess.Popen[bytes]] = []
    for init in pod.get("initContainers", []):
        process = start(init, image_env, uid, gid, outs[init["name"]])
        if init.get("restartPolicy") == "Always":
            sidecars.append(process)
            continue
        code = process.wait()
        print(f"pod: init container {init['name']} exited {code}", file=log, flush=True)
        if code != 0:
            stop(sidecars, 5)
            return code
    mains = [start(c, image_env, uid, gid, outs[c["name"]]) for c in pod["containers"]]
    print(f"pod: started {[c['name'] for c in pod['containers']]} as {uid}:{gid}", file=log, flush=True)
    while not stopping and all(p.poll() is None for p in mains):
        time.sleep(0.2)
    codes = [p.poll() for p in mains]
    stop(mains, float(pod.get("terminationGracePeriodSeconds", 30)))
    stop(sidecars, 5)
    print(f"pod: stopped (main exit codes before stop: {codes})", file=log, flush=True)
    return 0


if __name__ == "__main__":
    spec_path, log_dir = Path(sys.argv[1]), Path(sys.argv[2])
    log_dir.mkdir(parents=True, exist_ok=True)
    sys.exit(run(json.loads(spec_path.read_text()), log_dir))
