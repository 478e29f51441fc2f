"""The pins behind the serving images: one vLLM version, one llama.cpp source for the converter and both
llama.cpp servers, one CUDA cmake command that keeps every flag of the CPU build, and the local cluster still
serving llama.cpp from its locally built image."""

from __future__ import annotations

import os
import re
import shlex
import subprocess
from pathlib import Path

import pytest

from llmops.planning import images
from llmops.planning.images import DEFAULTS, Image
from llmops_builders import versions
from llmops_dev import localconfig
from llmops_dev.node_runtime import Image as LocalImage

ROOT = Path(__file__).resolve().parents[2]
DOCKER = ROOT / "builders" / "docker"
CPU_DOCKERFILE = DOCKER / "llama-cpp-server.Dockerfile"
CUDA_DOCKERFILE = DOCKER / "llama-cpp-server-cuda.Dockerfile"
CUDA_SCRIPT = ROOT / "builders" / "scripts" / "build-llama-cpp-cuda.sh"
SETUP_LAB = ROOT / "builders" / "scripts" / "setup-lab.sh"
PIN = versions.LLAMA_CPP_PYTHON_VERSION
# The GPU classes llmops plans: A100, A10G, RTX 3090 (sm_80/86); L4, L40S, RTX 40 (sm_89); H100, H200 (sm_90).
CUDA_ARCHITECTURES = "80;86;89;90"
# Flags of the CPU build that a CUDA build must not have. None: GGML_NATIVE=OFF also keeps the CUDA
# architectures explicit (native would compile for the build machine's GPU only), and GGML_OPENMP=OFF is about
# ggml's CPU threads, which a CUDA build still has.
CPU_ONLY_FLAGS: set[str] = set()
# How a copy of the pin X.Y.Z is written: "llama-cpp-python X.Y.Z", "llama_cpp_python-X.Y.Z.tar.gz",
# "llama-cpp-python==X.Y.Z", "LLAMA_CPP_PYTHON_VERSION=X.Y.Z".
MENTION = re.compile(r"(?:llama[-_]cpp[-_]python[ =_-]{1,2}|LLAMA_CPP_PYTHON_VERSION=)(\d+\.\d+\.\d+)")
SCANNED = ("builders", "operator", "e2e", "scripts", "bench", "docs", "tests", "README.md")
SUFFIXES = {".py", ".sh", ".md", ".txt", ".toml", ".yaml", ".yml", ".json", ".Dockerfile"}


def _text_files() -> list[Path]:
    found: list[Path] = []
    for name in SCANNED:
        top = ROOT / name
        candidates = [top] if top.is_file() else top.rglob("*")
        found += [p for p in candidates if p.is_file() and (p.suffix in SUFFIXES or p.name.endswith(".Dockerfile"))]
    return [p for p in found if "golden" not in p.relative_to(ROOT).parts and "__pycache__" not in p.parts]


def _stage(text: str, name: str) -> str:
    match = re.search(rf"^FROM \S+ AS {name}\n.*?(?=^FROM )", text, re.M | re.S)
    assert match, f"no stage {name}"
    return match[0]


def _cpu_cmake_flags() -> list[str]:
    """The -D flags of the CPU Dockerfile's `RUN cmake -S ...` step, as the shell passes them."""
    run = re.search(r"^RUN (cmake -S .*?)(?=^\S)", CPU_DOCKERFILE.read_text(), re.M | re.S)
    assert run, "no RUN cmake in the CPU Dockerfile"
    words = shlex.split(run[1].replace("\\\n", " "))
    configure = words[: words.index("&&")]
    return [w for w in configure if w.startswith("-D")]


def _run_script(tmp_path: Path, *args: str) -> tuple[subprocess.CompletedProcess[str], list[list[str]]]:
    """The CUDA script with a cmake that records its arguments: one line per call, NUL after each argument."""
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir(exist_ok=True)
    log = tmp_path / "cmake.log"
    fake = bin_dir / "cmake"
    fake.write_text(f'#!/usr/bin/env bash\n{{ printf "%s\\0" "$@"; echo; }} >> {shlex.quote(str(log))}\n')
    fake.chmod(0o755)
    env = {**os.environ, "PATH": f"{bin_dir}:{os.environ['PATH']}", "LLMOPS_BUILD_JOBS": "3"}
    proc = subprocess.run(["bash", str(CUDA_SCRIPT), *args], capture_output=True, text=True, env=env, check=False)
    calls = [line.split("\0")[:-1] for line in log.read_text().splitlines()] if log.exists() else []
    return proc, calls


def _llama_cpp_tree(tmp_path: Path) -> Path:
    src = tmp_path / "llama.cpp"
    (src / "ggml" / "src" / "ggml-cuda").mkdir(parents=True)
    (src / "CMakeLists.txt").write_text("project(llama.cpp)\n")
    return src


# --- vLLM ------------------------------------------------------------------------------------------------------


def test_vllm_is_one_pin_the_gpu_harness_reads() -> None:
    assert re.fullmatch(r"\d+\.\d+\.\d+", images.VLLM_VERSION)
    assert images.VLLM.endswith(f"v{images.VLLM_VERSION}")
    assert images.VLLM == f"docker.io/vllm/vllm-openai:v{images.VLLM_VERSION}" == DEFAULTS[Image.VLLM]


# --- llama.cpp: one source -------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "path",
    [DOCKER / "gguf-builder.Dockerfile", CPU_DOCKERFILE, CUDA_DOCKERFILE],
    ids=lambda p: p.name,
)
def test_every_llama_cpp_image_builds_the_builders_pin(path: Path) -> None:
    assert re.findall(r"^ARG LLAMA_CPP_PYTHON_VERSION=(\S+)$", path.read_text(), re.M) == [PIN]


def test_the_lab_builds_the_same_pin() -> None:
    assert re.findall(r"^LLAMA_CPP_PYTHON_VERSION=(\S+)$", SETUP_LAB.read_text(), re.M) == [PIN]


def test_every_written_copy_of_the_pin_is_the_same() -> None:
    """Docs, tests and scripts that name the sdist's version name this one (so a bump finds every copy)."""
    copies = {
        f"{path.relative_to(ROOT)}: {match[0]}"
        for path in _text_files()
        for match in MENTION.finditer(path.read_text(errors="replace"))
        if match[1] != PIN
    }
    assert not copies


def test_the_cuda_image_fetches_the_source_like_the_cpu_image() -> None:
    """The same pip download of the sdist, unpacked the same way, with the same cmake."""

    def steps(stage: str) -> list[str]:
        joined = stage.replace("\\\n", " ")
        return [s.strip() for s in re.split(r"&&|\n", joined) if re.search(r"pip download|tar -xzf|^\s*mv ", s)]

    cpu = steps(_stage(CPU_DOCKERFILE.read_text(), "llama-cpp"))
    cuda = _stage(CUDA_DOCKERFILE.read_text(), "llama-cpp")
    assert len(cpu) == 3
    for step in cpu:
        assert step.removeprefix("RUN ") in cuda.replace("\\\n", " "), step
    assert "cmake==3.31.6" in _stage(CPU_DOCKERFILE.read_text(), "llama-cpp") and "cmake==3.31.6" in cuda


# --- llama.cpp: one CUDA cmake command ---------------------------------------------------------------------------


def test_the_cuda_dockerfile_runs_the_script_and_has_no_cmake_of_its_own() -> None:
    text = CUDA_DOCKERFILE.read_text()
    stage = _stage(text, "llama-cpp")
    assert "COPY builders/scripts/build-llama-cpp-cuda.sh /build/build-llama-cpp-cuda.sh" in stage
    assert 'RUN /build/build-llama-cpp-cuda.sh /llama.cpp /llama.cpp/build "${CUDA_ARCHITECTURES}"' in stage
    assert not re.search(r"^\s*(RUN\s+)?cmake\b", stage, re.M)
    assert re.findall(r'^ARG CUDA_ARCHITECTURES="(.*)"$', text, re.M) == [CUDA_ARCHITECTURES]
    assert "Not built here: no NVIDIA image is reachable" in text  # the header says why it is checked statically


def test_the_cuda_image_runs_what_the_operator_renders_like_the_cpu_image() -> None:
    cuda, cpu = (path.read_text().rsplit("\nFROM ", 1)[1] for path in (CUDA_DOCKERFILE, CPU_DOCKERFILE))
    assert "COPY --from=llama-cpp /llama.cpp/build/bin/llama-server /app/llama-server" in cuda
    for directive in ("ENTRYPOINT", "USER", "EXPOSE", "WORKDIR", "ENV PATH"):
        final = rf"^{directive} (.+)$"
        assert re.findall(final, cuda, re.M) == re.findall(final, cpu, re.M), directive
    assert re.findall(r"^USER (\S+)$", cuda, re.M) == ["1000:1000"]


def test_the_cuda_bases_are_a_matching_nvidia_cuda_pair() -> None:
    args = dict(re.findall(r"^ARG (\w+)=(\S+)$", CUDA_DOCKERFILE.read_text(), re.M))
    build = re.fullmatch(r"nvidia/cuda:(\d+\.\d+\.\d+)-devel-(ubuntu\d+\.\d+)", args["BUILD_IMAGE"])
    base = re.fullmatch(r"nvidia/cuda:(\d+\.\d+\.\d+)-runtime-(ubuntu\d+\.\d+)", args["BASE_IMAGE"])
    assert build and base and build.groups() == base.groups()
    assert int(build[1].split(".")[0]) in (12, 13)  # sm_80..sm_90 all build with CUDA 12.x and 13.x


def test_the_cuda_build_has_every_flag_of_the_cpu_build_plus_cuda(tmp_path: Path) -> None:
    src = _llama_cpp_tree(tmp_path)
    proc, calls = _run_script(tmp_path, str(src), str(tmp_path / "build"))
    assert proc.returncode == 0, proc.stderr
    (configure, build) = calls
    assert configure[:4] == ["-S", str(src), "-B", str(tmp_path / "build")]
    cpu = _cpu_cmake_flags()
    assert "-DCMAKE_EXE_LINKER_FLAGS=-static-libgcc -static-libstdc++" in cpu and len(cpu) >= 13
    assert set(cpu) >= CPU_ONLY_FLAGS
    flags = [w for w in configure if w.startswith("-D")]
    assert set(cpu) - CPU_ONLY_FLAGS <= set(flags)
    assert set(flags) - set(cpu) == {"-DGGML_CUDA=ON", f"-DCMAKE_CUDA_ARCHITECTURES={CUDA_ARCHITECTURES}"}
    # what the Dockerfile copies and what the GPU harness runs
    assert build == ["--build", str(tmp_path / "build"), "--target", "llama-quantize", "llama-server", "-j", "3"]


def test_the_cpu_build_and_the_cuda_build_name_the_same_targets() -> None:
    cpu = _stage(CPU_DOCKERFILE.read_text(), "llama-cpp")
    assert "--target llama-quantize llama-server" in cpu
    assert '--target llama-quantize llama-server -j "$jobs"' in CUDA_SCRIPT.read_text()


@pytest.mark.parametrize("archs", ["90", "80;86;89;90", "90-real;90-virtual", "120a-real"])
def test_the_architectures_can_be_narrowed(tmp_path: Path, archs: str) -> None:
    proc, calls = _run_script(tmp_path, str(_llama_cpp_tree(tmp_path)), str(tmp_path / "build"), archs)
    assert proc.returncode == 0, proc.stderr
    assert f"-DCMAKE_CUDA_ARCHITECTURES={archs}" in calls[0]


@pytest.mark.parametrize(
    ("args", "problem"),
    [
        ([], "usage:"),
        (["only-src"], "usage:"),
        (["{src}", "{build}", "90", "extra"], "usage:"),
        (["{tmp}/absent", "{build}"], "is not a llama.cpp source tree"),
        (["{src}", "{build}", "native"], "ARCHS must be CUDA architectures"),
        (["{src}", "{build}", "80,90"], "ARCHS must be CUDA architectures"),
        (["{src}", "{build}", "90;"], "ARCHS must be CUDA architectures"),
    ],
)
def test_a_bad_call_stops_before_cmake(tmp_path: Path, args: list[str], problem: str) -> None:
    src = _llama_cpp_tree(tmp_path)
    filled = [a.format(src=src, build=tmp_path / "build", tmp=tmp_path) for a in args]
    proc, calls = _run_script(tmp_path, *filled)
    assert proc.returncode == 2 and problem in proc.stderr and calls == []


# --- the images are the project's own, and the local cluster keeps its own build ---------------------------------


def test_the_llama_cpp_servers_are_the_projects_images() -> None:
    assert f"{images.REGISTRY}/llama-cpp-server:{images.LLMOPS_VERSION}" == images.LLAMA_CPP_CPU
    assert f"{images.REGISTRY}/llama-cpp-server-cuda:{images.LLMOPS_VERSION}" == images.LLAMA_CPP_CUDA


@pytest.mark.parametrize("image", [i for i in Image if DEFAULTS[i].startswith(f"{images.REGISTRY}/")])
def test_every_image_of_the_projects_registry_has_its_dockerfile(image: Image) -> None:
    name, _, tag = DEFAULTS[image].removeprefix(f"{images.REGISTRY}/").partition(":")
    assert (DOCKER / f"{name}.Dockerfile").is_file(), name
    assert tag == images.LLMOPS_VERSION


def test_the_local_cluster_serves_llama_cpp_from_its_own_build() -> None:
    """The dev cluster names the image e2e/images/build-images.sh built, whatever the default is."""
    assert localconfig.LOCAL_IMAGES[Image.LLAMA_CPP_CPU.value] == "llama-cpp-server"
    built = (ROOT / "e2e" / "images" / "build-images.sh").read_text()
    assert '"llama-cpp-server|builders/docker/llama-cpp-server.Dockerfile|' in built
    local = {
        name: LocalImage(name=name, ref=f"localhost/llmops/{name}:0123456789abcdef", archive=Path(f"/x/{name}.tar"))
        for name in localconfig.LOCAL_IMAGES.values()
    }
    config = localconfig.images_config(local)
    assert config[Image.LLAMA_CPP_CPU.value] == "localhost/llmops/llama-cpp-server:0123456789abcdef"
    assert config["pullPolicy"] == "Never"
