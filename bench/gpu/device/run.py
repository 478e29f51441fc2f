"""The GPU harness's phases on the device (`python3 -m device.run PHASE ...` from bench/gpu, PYTHONPATH with it).

  prepare                      facts of the machine; llama.cpp build and the models, in the background
  install PARTS                vLLM from the staged parts into /opt/site (bytecode compiled, as an image has it)
  serve NAME [NAME...]         each rendered deployment: a cold pod, answers, metric names, the bench, then
                               (vLLM) a second pod of the same compile-cache key, started warm
Every phase writes OUT/<phase>.json and a tarball of its logs. Paths: models under /srv/models (bound at
/models in the pods), the vLLM install in /opt/site, llama.cpp in /opt/llama.cpp.
"""

from __future__ import annotations

import functools
import json
import os
import shutil
import signal
import subprocess
import sys
import tarfile
import time
import urllib.request
from pathlib import Path
from typing import Any

from . import bench

HERE = Path(__file__).resolve().parent
REPO = HERE.parents[2]
OUT = Path(os.environ.get("OUT", "/root/out"))
WORK = Path("/root/harness")
MODELS = Path("/srv/models")  # the models claim
HF = Path("/srv/hf")  # checkpoints as made, before they are placed at their artifact paths
SITE = Path("/opt/site")
LLAMA = Path("/opt/llama.cpp")
START_LIMIT = float(os.environ.get("START_LIMIT", "420"))
LEVELS = [1, 8, 32, 128]


def sh(command: str, log: Path | None = None, check: bool = True) -> str:
    """Run a shell command; its output (also appended to LOG)."""
    result = subprocess.run(["bash", "-c", command], capture_output=True, text=True, check=False)
    output = result.stdout + result.stderr
    if log:
        with log.open("a") as f:
            f.write(f"$ {command}\n{output}\n")
    if check and result.returncode != 0:
        raise RuntimeError(f"{command}: exit {result.returncode}: {output[-2000:]}")
    return output


@functools.cache
def plan() -> dict[str, Any]:
    """The rendered plan (bench/gpu/plan.py, made before the call), read once."""
    return dict(json.loads(Path(os.environ.get("PLAN", HERE.parent / "plan.json")).read_text()))


def write(phase: str, result: dict[str, Any], logs: list[Path]) -> None:
    """OUT/<phase>.json and OUT/<phase>-logs.tgz."""
    OUT.mkdir(parents=True, exist_ok=True)
    (OUT / f"{phase}.json").write_text(json.dumps(result, indent=1, sort_keys=True, default=str))
    with tarfile.open(OUT / f"{phase}-logs.tgz", "w:gz") as tar:
        for path in logs:
            if path.exists():
                tar.add(path, arcname=path.name)


def prepare(parts: Path) -> dict[str, Any]:
    """Machine facts; start the llama.cpp build (niced) and the model creation in the background."""
    WORK.mkdir(parents=True, exist_ok=True)
    facts = {
        "nvidia_smi": sh("nvidia-smi --query-gpu=name,memory.total,driver_version --format=csv,noheader"),
        "nvcc": sh("nvcc --version | tail -2", check=False),
        "python": sh(
            "python3 -c 'import sys,torch,transformers; print(sys.version.split()[0], torch.__version__, "
            "transformers.__version__)'"
        ),
        "kernel": sh("uname -r"),
        "cpus": os.cpu_count(),
    }
    LLAMA.mkdir(parents=True, exist_ok=True)
    sh(f"tar -xJf {parts}/llama.cpp-*-trim.tar.xz -C {LLAMA} --strip-components=1")
    build = REPO / "builders" / "scripts" / "build-llama-cpp-cuda.sh"
    # Niced: vLLM's cold start, measured meanwhile, keeps the CPUs it needs.
    build_command = f"nice -n 19 bash {build} {LLAMA} {LLAMA}/build 90; echo BUILD DONE $?"
    sh(f"setsid nohup bash -c '{build_command}' > {WORK}/llama-build.log 2>&1 < /dev/null &")
    env = f"PYTHONPATH={REPO}/builders"
    sh(f"setsid nohup env {env} python3 {HERE}/models.py {HF} > {WORK}/models.log 2>&1 < /dev/null &")
    return facts


def install(parts: Path) -> dict[str, Any]:
    """vLLM into /opt/site with the shared installer, then bytecode compiled and world-readable."""
    log = WORK / "install.log"
    started = time.monotonic()
    sh(f"bash {HERE.parent}/install-vllm.sh {parts} {SITE}", log)
    sh(f"python3 -m compileall -q -j 16 {SITE} > /dev/null 2>&1 || true; chmod -R a+rX {SITE}", log)
    version = sh(f"PYTHONPATH={SITE} python3 -c 'import vllm; print(vllm.__version__)'", log).strip().splitlines()[-1]
    wanted = plan()["versions"]["vllm"]
    return {"seconds": round(time.monotonic() - started, 1), "vllm": version, "pinned": wanted,
            "matches_pin": version == wanted}  # fmt: skip


def _wait_models() -> dict[str, Any]:
    deadline = time.monotonic() + 300
    while not (HF / "models.json").exists():
        if time.monotonic() > deadline:
            raise RuntimeError("models not made: " + (WORK / "models.log").read_text()[-3000:])
        time.sleep(2)
    return dict(json.loads((HF / "models.json").read_text()))


def _place(entry: dict[str, Any]) -> None:
    """Put the checkpoint (or its GGUF) where the rendered pod reads it: /models/... is /srv/models/..."""
    target = MODELS / Path(entry["artifact_path"]).relative_to("/models")
    if target.exists():
        return
    target.parent.mkdir(parents=True, exist_ok=True)
    if entry["runtime"] == "vllm":
        shutil.copytree(HF / entry["model"], target)
    else:
        _gguf(entry, target)
    sh(f"chmod -R a+rX {MODELS}")


def _gguf(entry: dict[str, Any], target: Path) -> None:
    """convert_hf_to_gguf.py and llama-quantize of the same llama.cpp as the server (the converter's pin)."""
    log = WORK / f"gguf-{entry['model']}.log"
    deadline = time.monotonic() + 420
    while "BUILD DONE" not in _tail(WORK / "llama-build.log", 200):
        if time.monotonic() > deadline:
            raise RuntimeError("llama.cpp build not done: " + _tail(WORK / "llama-build.log"))
        time.sleep(3)
    if not (LLAMA / "build" / "bin" / "llama-quantize").exists():
        raise RuntimeError("llama.cpp build failed: " + _tail(WORK / "llama-build.log"))
    target.mkdir(parents=True, exist_ok=True)
    f16 = WORK / f"{entry['model']}-f16.gguf"
    if not f16.exists():
        sh(f"PYTHONPATH={LLAMA}/gguf-py python3 {LLAMA}/convert_hf_to_gguf.py {HF / entry['model']} --outtype f16 "
           f"--outfile {f16}", log)  # fmt: skip
    sh(f"{LLAMA}/build/bin/llama-quantize {f16} {target}/model.gguf {entry['quantization'].upper()}", log)
    os.makedirs("/app", exist_ok=True)
    shutil.copy2(LLAMA / "build" / "bin" / "llama-server", "/app/llama-server")
    os.chmod("/app/llama-server", 0o755)


def _tail(path: Path, chars: int = 3000) -> str:
    return path.read_text()[-chars:] if path.exists() else ""


def _volumes(pod: dict[str, Any]) -> dict[str, str]:
    """Mount targets of the models claim (the pod's volume named models), `:ro` where every mount is read-only."""
    claims = {v["name"] for v in pod["volumes"] if "persistentVolumeClaim" in v}
    targets: dict[str, tuple[str, bool]] = {}
    for container in [*pod.get("initContainers", []), *pod["containers"]]:
        for mount in container.get("volumeMounts", []):
            if mount["name"] in claims:
                source = str(MODELS / mount.get("subPath", ""))
                read_only = mount.get("readOnly", False) and targets.get(mount["mountPath"], ("", True))[1]
                targets[mount["mountPath"]] = (source, read_only)
    for source, _ in targets.values():
        os.makedirs(source, exist_ok=True)
    sh(f"chown -R 1000:1000 {MODELS}/.cache 2>/dev/null || true")
    return {f"{t}:ro" if ro else t: s for t, (s, ro) in targets.items()}


def _image_env() -> dict[str, str]:
    """What the runtime image would set: its binaries on PATH, vLLM's site-packages, the CUDA libraries."""
    system = "/usr/local/cuda/bin:/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"
    path = f"{SITE}/bin:{Path(sys.executable).parent}:{system}"
    env = {"PATH": path, "PYTHONPATH": str(SITE)}
    for name in ("LD_LIBRARY_PATH", "CUDA_HOME"):
        if os.environ.get(name):
            env[name] = os.environ[name]
    return env


class Pod:
    """One run of the rendered pod (device/pod.py in a mount namespace of its own)."""

    def __init__(self, name: str, entry: dict[str, Any], logs: Path) -> None:
        self.entry, self.logs = entry, logs
        self.base = f"http://127.0.0.1:{entry['port']}"
        spec = {"pod": entry["pod"], "image_env": _image_env(), "volumes": _volumes(entry["pod"])}
        self.spec_path = logs / "pod-spec.json"
        logs.mkdir(parents=True, exist_ok=True)
        self.spec_path.write_text(json.dumps(spec, indent=1))
        self.started = time.monotonic()
        # A mount namespace of its own, mounts private to it (util-linux unshare).
        argv = ["unshare", "--mount", "--propagation", "private", sys.executable, str(HERE / "pod.py")]
        self.process = subprocess.Popen([*argv, str(self.spec_path), str(logs)], start_new_session=True)

    def wait_healthy(self) -> float | None:
        """Seconds from the pod's start to /health 200, or None if it exited or ran out of time."""
        url = self.base + self.entry["health_path"]
        while time.monotonic() - self.started < START_LIMIT:
            if self.process.poll() is not None:
                return None
            try:
                with urllib.request.urlopen(url, timeout=2) as response:
                    if response.status == 200:
                        return round(time.monotonic() - self.started, 2)
            except OSError:
                pass
            time.sleep(0.25)
        return None

    def stop(self) -> float:
        """SIGTERM the pod; seconds until it is gone."""
        started = time.monotonic()
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)
            try:
                self.process.wait(timeout=90)
            except subprocess.TimeoutExpired:
                os.killpg(self.process.pid, signal.SIGKILL)
                self.process.wait()
        sh("pkill -9 -u 1000 || true", check=False)
        return round(time.monotonic() - started, 2)


def _request(base: str, path: str, body: dict[str, Any] | None = None) -> dict[str, Any]:
    data = json.dumps(body).encode() if body is not None else None
    request = urllib.request.Request(base + path, data, {"Content-Type": "application/json"})
    try:
        with urllib.request.urlopen(request, timeout=60) as response:
            return {"status": response.status, "body": json.loads(response.read())}
    except urllib.error.HTTPError as error:
        return {"status": error.code, "body": error.read().decode()[:2000]}
    except OSError as error:
        return {"status": None, "body": repr(error)}


def answers(base: str, model: str) -> dict[str, Any]:
    """/v1/models, a completion and a chat completion."""
    completion = {"model": model, "prompt": "The list of values", "max_tokens": 16, "temperature": 0}
    chat = {"model": model, "messages": [{"role": "user", "content": "Say hello."}], "max_tokens": 16}
    result: dict[str, Any] = {
        "models": _request(base, "/v1/models"),
        "completion": _request(base, "/v1/completions", completion),
        "chat": _request(base, "/v1/chat/completions", chat),
    }
    result["ok"] = all(r["status"] == 200 for r in result.values() if isinstance(r, dict))
    return result


def _published(key: str) -> Path:
    return MODELS / str(plan()["compile_cache"]["volume_dir"]) / key


def _wait_published(key: str, seconds: float = 120) -> float | None:
    started = time.monotonic()
    while time.monotonic() - started < seconds:
        if _published(key).is_dir():
            return round(time.monotonic() - started, 1)
        time.sleep(1)
    return None


def _gpu_memory() -> str:
    return sh("nvidia-smi --query-gpu=memory.used --format=csv,noheader", check=False).strip()


def _writes_outside(marker: Path) -> list[str]:
    """Files uid 1000 created outside /tmp, /dev/shm and the cache volume (readOnlyRootFilesystem's question)."""
    out = sh(f"find / -xdev -user 1000 -newer {marker} 2>/dev/null | grep -v -e '^/srv/models/.cache' | head -20",
             check=False)  # fmt: skip
    return [line for line in out.splitlines() if line]


def serve(name: str, pods: int) -> dict[str, Any]:
    """Cold pod: answers, metric names, bench; then pods-1 more pods of the same key, each timed to healthy."""
    doc = plan()
    entry = doc["deployments"][name]
    logs = WORK / name
    shutil.rmtree(logs, ignore_errors=True)
    result: dict[str, Any] = {"name": name, "runtime": entry["runtime"], "args": entry["pod"]["containers"][0]["args"]}
    result["models"] = _wait_models()
    _place(entry)
    marker = WORK / f"{name}.marker"
    marker.write_text("")
    key = entry.get("compile_cache_key")
    if key and pods > 1:
        shutil.rmtree(_published(key), ignore_errors=True)  # the first pod is measured cold
    result["compile_cache_published_before"] = bool(key and _published(key).is_dir())
    pod = Pod(name, entry, logs / "pod-1")
    try:
        result["start_to_healthy_s"] = [pod.wait_healthy()]
        if result["start_to_healthy_s"][0] is None:
            result["error"] = "pod 1 never became healthy"
            return result
        result["gpu_memory_used"] = _gpu_memory()
        result["answers"] = answers(pod.base, entry["served_model_name"])
        page = bench.scrape(pod.base)
        (logs / "metrics-before.txt").write_text(page)
        result["metric_names_missing"] = bench.missing_names(page, doc["metric_names"][entry["runtime"]])
        result["bench"] = bench.run(pod.base, entry["runtime"], entry["served_model_name"], LEVELS)
        (logs / "metrics-after.txt").write_text(bench.scrape(pod.base))
        if key:
            result["published_after_s"] = _wait_published(key)
    finally:
        result["stop_s"] = [pod.stop()]
    for n in range(2, pods + 1):
        pod = Pod(name, entry, logs / f"pod-{n}")
        try:
            result["start_to_healthy_s"].append(pod.wait_healthy())
            result.setdefault("answers_warm", []).append(answers(pod.base, entry["served_model_name"])["ok"])
        finally:
            result["stop_s"].append(pod.stop())
    result["writes_outside_tmp"] = _writes_outside(marker)
    return result


def main(argv: list[str]) -> int:
    """Run one phase; its result and logs land in OUT."""
    phase, rest = argv[0], argv[1:]
    WORK.mkdir(parents=True, exist_ok=True)
    started = time.monotonic()
    result: dict[str, Any]
    try:
        if phase == "prepare":
            result = prepare(Path(rest[0]))
        elif phase == "install":
            result = install(Path(rest[0]))
        elif phase == "serve":
            pods = int(os.environ.get("PODS", "2"))
            result = {}
            for name in rest:
                result[name] = serve(name, pods if plan()["deployments"][name]["runtime"] == "vllm" else 1)
                print(
                    json.dumps({name: {k: v for k, v in result[name].items() if k != "bench"}}, default=str), flush=True
                )
        else:
            raise SystemExit(f"unknown phase {phase}")
    except Exception as error:
        result = {"error": repr(error)}
    result["phase_seconds"] = round(time.monotonic() - started, 1)
    tag = phase if phase != "serve" else "serve-" + "-".join(rest)[:60]
    served = [WORK / n for n in rest] if phase == "serve" else []
    write(tag, result, [WORK / "llama-build.log", WORK / "models.log", WORK / "install.log", *served,
                        *WORK.glob("gguf-*.log")])  # fmt: skip
    print(json.dumps(result, default=str)[-6000:], flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
