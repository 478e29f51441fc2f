"""The vLLM compile/JIT cache: the rendered init container and sidecar, and their program run for real."""

from __future__ import annotations

import http.server
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import yaml

from llmops.render import compilecache
from tests.unit.test_render import ROOT, render, render_object

VLLM_EXAMPLE = ROOT / "examples" / "rtx4090-vllm.yaml"


def pod(example: Path | dict[str, Any]) -> dict[str, Any]:
    state = render(example) if isinstance(example, Path) else render_object(example)
    deployment = next(o for o in state.objects if o["kind"] == "Deployment")
    return dict(deployment["spec"]["template"]["spec"])


def vllm_object(**spec: Any) -> dict[str, Any]:
    obj = yaml.safe_load(VLLM_EXAMPLE.read_text())
    obj["spec"] |= spec
    return dict(obj)


def test_vllm_pods_restore_then_publish_the_cache_of_their_key() -> None:
    spec = pod(VLLM_EXAMPLE)
    restore, publish = spec["initContainers"]
    main = spec["containers"][0]
    assert (restore["name"], publish["name"]) == ("compile-cache-restore", "compile-cache-publish")
    assert "restartPolicy" not in restore and publish["restartPolicy"] == "Always"  # a native sidecar
    assert restore["image"] == publish["image"] == main["image"]  # no other image to pull onto the GPU node
    key = restore["args"][1].rsplit("/", 1)[1]
    assert restore["args"] == ["restore", f"/compile-cache/{key}", "/tmp/compile-cache"]
    assert publish["args"] == ["publish", "/tmp/compile-cache", "/compile-cache", key, "http://127.0.0.1:8000/health"]
    cache_mounts = {c["name"]: c["volumeMounts"][0] for c in (restore, publish)}
    assert {m["subPath"] for m in cache_mounts.values()} == {".cache/compile"}
    assert cache_mounts["compile-cache-restore"]["readOnly"] is True
    assert cache_mounts["compile-cache-publish"]["readOnly"] is False
    models = next(m for m in main["volumeMounts"] if m["name"] == "models")
    assert models["readOnly"] is True  # the server itself still cannot write the models claim
    env = {e["name"]: e["value"] for e in main["env"] if "value" in e}
    for name in ("VLLM_CACHE_ROOT", "FLASHINFER_WORKSPACE_BASE", "TRITON_CACHE_DIR", "CUDA_CACHE_PATH"):
        assert env[name].startswith("/tmp/compile-cache"), name


def _key(obj: dict[str, Any]) -> str:
    return str(pod(obj)["initContainers"][0]["args"][1].rsplit("/", 1)[1])


def test_the_program_is_lint_clean_python(tmp_path: Path) -> None:
    program = tmp_path / "compile_cache.py"
    program.write_text(compilecache.PROGRAM)
    compile(compilecache.PROGRAM, "compile_cache.py", "exec")
    ruff = Path(sys.executable).with_name("ruff")
    config = ROOT / "pyproject.toml"  # the project's own rules, not ruff's defaults
    lint = subprocess.run([str(ruff), "check", "--no-cache", "--config", str(config), str(program)],
                          capture_output=True, text=True, check=False)  # fmt: skip
    assert lint.returncode == 0, lint.stdout


def test_the_key_is_runtime_image_gpu_architecture_and_artifact() -> None:
    base = _key(vllm_object())
    renamed = vllm_object()
    renamed["metadata"]["name"] = "another-deployment"
    assert _key(renamed) == base  # a later LLMDeployment of the same key starts warm
    assert _key(vllm_object(serving={"replicas": 3, "args": ["--enable-chunked-prefill"]})) == base
    assert _key(vllm_object(serving={"image": "registry.local/vllm:v9.9.9"})) != base
    assert _key(vllm_object(hardware={"accelerator": "rtx3090"})) != base  # sm_86, not sm_89
    assert _key(vllm_object(model={"source": "hf://org/other-model"})) != base


def test_runtimes_without_a_compile_step_have_no_cache_containers() -> None:
    for example in ("rtx3090-llamacpp", "cpu-triton-onnx", "h100-nim"):
        assert "initContainers" not in pod(ROOT / "examples" / f"{example}.yaml"), example


class _Health(http.server.BaseHTTPRequestHandler):
    healthy = threading.Event()

    def do_GET(self) -> None:
        self.send_response(200 if self.healthy.is_set() else 503)
        self.end_headers()

    def log_message(self, *_: object) -> None:
        pass


@pytest.fixture
def health() -> Iterator[str]:
    _Health.healthy.clear()
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), _Health)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    yield f"http://127.0.0.1:{server.server_address[1]}/health"
    server.shutdown()


def program(*args: str | Path) -> subprocess.Popen[str]:
    """The rendered command: the program's source passed to python3 -c, as the pod runs it."""
    return subprocess.Popen([sys.executable, "-c", compilecache.PROGRAM, *map(str, args)],
                            stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)  # fmt: skip


def _fill(local: Path, tag: str) -> None:
    (local / "vllm" / "torch_compile_cache").mkdir(parents=True)
    (local / "vllm" / "torch_compile_cache" / "graph.py").write_text(f"compiled {tag}")
    (local / ".cache" / "flashinfer").mkdir(parents=True)
    (local / ".cache" / "flashinfer" / "sampling.so").write_bytes(tag.encode() * 1000)


def _wait_for(path: Path, seconds: float = 20) -> None:
    deadline = time.monotonic() + seconds
    while not path.exists():
        assert time.monotonic() < deadline, f"{path} never appeared"
        time.sleep(0.05)


def _stop(process: subprocess.Popen[str]) -> tuple[int, str]:
    process.send_signal(signal.SIGTERM)
    out, _ = process.communicate(timeout=20)
    return process.returncode, out


def test_a_cold_pod_publishes_once_healthy_and_a_warm_pod_restores_it(tmp_path: Path, health: str) -> None:
    volume, cold, warm = tmp_path / "volume", tmp_path / "cold-tmp", tmp_path / "warm-tmp"
    volume.mkdir()
    restore = program("restore", volume / "k1", cold)
    assert restore.wait(timeout=20) == 0 and "nothing published" in restore.communicate()[0]
    _fill(cold, "a")
    sidecar = program("publish", cold, volume, "k1", health)
    time.sleep(1)
    assert not (volume / "k1").exists()  # not before the server is healthy (still compiling, warming up)
    _Health.healthy.set()
    _wait_for(volume / "k1")
    code, out = _stop(sidecar)
    assert code == 0 and "published 2 files" in out
    assert sorted(p.name for p in volume.iterdir()) == ["k1"]  # no staging directory left behind
    restore = program("restore", volume / "k1", warm)
    assert restore.wait(timeout=20) == 0
    assert (warm / "vllm" / "torch_compile_cache" / "graph.py").read_text() == "compiled a"
    assert (warm / ".cache" / "flashinfer" / "sampling.so").read_bytes() == b"a" * 1000


def test_replicas_publishing_at_once_leave_exactly_one_whole_cache(tmp_path: Path, health: str) -> None:
    volume = tmp_path / "volume"
    volume.mkdir()
    locals_ = []
    for tag in "abcd":
        local = tmp_path / f"tmp-{tag}"
        _fill(local, tag)
        locals_.append(local)
    _Health.healthy.set()
    sidecars = [program("publish", local, volume, "k1", health) for local in locals_]
    _wait_for(volume / "k1")
    time.sleep(2)
    outputs = [_stop(s) for s in sidecars]
    assert all(code == 0 for code, _ in outputs)
    assert sum("published 2 files" in out for _, out in outputs) == 1, outputs
    assert sorted(p.name for p in volume.iterdir()) == ["k1"]
    graph = (volume / "k1" / "vllm" / "torch_compile_cache" / "graph.py").read_text()
    tag = graph.removeprefix("compiled ")
    assert (volume / "k1" / ".cache" / "flashinfer" / "sampling.so").read_bytes() == tag.encode() * 1000  # one whole


def test_a_cache_problem_never_fails_the_pod(tmp_path: Path) -> None:
    published, local = tmp_path / "published", tmp_path / "local"
    _fill(published, "a")
    local.write_text("not a directory")  # the pod's cache directory cannot be made, whoever runs it
    restore = program("restore", published, local)
    assert restore.wait(timeout=20) == 0
    assert "starting cold" in restore.communicate()[0]
