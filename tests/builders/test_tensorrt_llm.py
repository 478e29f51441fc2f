"""TensorRT-LLM cannot run here (no GPU, no wheel): its steps are checked to the exact command line and files.

Stand-in tools record the argv they receive and write what the real ones would, so the CLI's
wiring, validation and failure reporting run for real; the Triton configs are golden files and
are parsed with Triton's own ModelConfig protobuf.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path

import pytest
from google.protobuf import text_format  # type: ignore[import-untyped]
from tritonclient.grpc import model_config_pb2  # type: ignore[import-untyped]

from llmops_builders import commands, versions

CliRunner = Callable[..., subprocess.CompletedProcess[str]]
GOLDEN = Path(__file__).parent / "golden" / "trtllm"
ARTIFACT_ROOT = "/models/artifacts/" + "ef" * 32

# A stand-in for convert_checkpoint.py / quantize.py / trtllm-build: records argv, writes the outputs.
FAKE_TOOL = """\
import json, os, sys
args = sys.argv[1:]
def opt(name, default=None):
    return args[args.index(name) + 1] if name in args else default
with open(os.environ["FAKE_ARGV_LOG"], "a") as fh:
    fh.write(json.dumps([os.path.basename(sys.argv[0])] + args) + "\\n")
if os.environ.get("FAKE_FAIL"):
    print("Traceback (most recent call last):", file=sys.stderr)
    print("RuntimeError: CUDA error: no CUDA-capable device is detected", file=sys.stderr)
    sys.exit(1)
out = opt("--output_dir")
os.makedirs(out, exist_ok=True)
with open(os.path.join(out, "config.json"), "w") as fh:
    json.dump({"fake": True}, fh)
if "--checkpoint_dir" in args:
    open(os.path.join(out, "rank0.engine"), "wb").write(b"engine")
else:
    for rank in range(int(opt("--tp_size", "1")) * int(opt("--pp_size", "1"))):
        open(os.path.join(out, f"rank{rank}.safetensors"), "wb").write(b"weights")
"""


@pytest.fixture
def trtllm_root(tmp_path: Path) -> Path:
    """A TensorRT-LLM source tree at the pinned tag, with stand-ins at the real script paths."""
    root = tmp_path / "tensorrt_llm"
    for script in (versions.TRTLLM_LLAMA_CONVERT_SCRIPT, versions.TRTLLM_QUANTIZE_SCRIPT):
        (root / script).parent.mkdir(parents=True, exist_ok=True)
        (root / script).write_text(FAKE_TOOL)
    build = tmp_path / "bin" / "trtllm-build"
    build.parent.mkdir()
    build.write_text(f"#!{sys.executable}\n{FAKE_TOOL}")
    build.chmod(0o755)
    models = root / versions.TRTLLM_TRITON_MODELS_DIR
    for role in ("preprocessing", "postprocessing"):
        (models / role / "1").mkdir(parents=True)
        (models / role / "1" / "model.py").write_text(f"# upstream {role} model\n")
    return root


@pytest.fixture
def trt_env(trtllm_root: Path, tmp_path: Path) -> dict[str, str]:
    return {
        "LLMOPS_TRTLLM_ROOT": str(trtllm_root),
        "LLMOPS_TRTLLM_BUILD": str(tmp_path / "bin" / "trtllm-build"),
        "FAKE_ARGV_LOG": str(tmp_path / "argv.jsonl"),
    }


def _recorded(tmp_path: Path) -> list[list[str]]:
    return [json.loads(line) for line in (tmp_path / "argv.jsonl").read_text().splitlines()]


@pytest.mark.parametrize(
    ("quantization", "script"),
    [("none", "convert_checkpoint.py"), ("int8", "convert_checkpoint.py"),
     ("fp8", "quantize.py"), ("int4-awq", "quantize.py")],
)  # fmt: skip
def test_checkpoint_step_runs_the_exact_upstream_command(
    *,
    cli: CliRunner, tiny_model: Path, tmp_path: Path, trt_env: dict[str, str], trtllm_root: Path,
    quantization: commands.TrtQuantization, script: str,
) -> None:  # fmt: skip
    out = tmp_path / "ckpt"
    cli("convert", "--to", "tensorrt-checkpoint", "--src", str(tiny_model), "--out", str(out),
        "--dtype", "bfloat16", "--tp", "2", "--pp", "2", "--quantization", quantization, env=trt_env)  # fmt: skip
    expected = commands.trtllm_checkpoint(
        python=sys.executable, trtllm_root=str(trtllm_root), src=str(tiny_model), out=str(out),
        dtype="bfloat16", tp=2, pp=2, quantization=quantization,
    )  # fmt: skip
    assert _recorded(tmp_path) == [[script, *expected[2:]]]
    assert sorted(p.name for p in out.glob("rank*.safetensors")) == [f"rank{r}.safetensors" for r in range(4)]


def test_engine_step_runs_trtllm_build_with_the_planned_limits(
    cli: CliRunner, tmp_path: Path, trt_env: dict[str, str]
) -> None:
    ckpt = tmp_path / "ckpt"
    ckpt.mkdir()
    (ckpt / "config.json").write_text("{}")
    cli("convert", "--to", "tensorrt-engine", "--src", str(ckpt), "--out", str(tmp_path / "engine"),
        "--max-batch-size", "8", "--max-input-len", "4096", "--max-seq-len", "5120", env=trt_env)  # fmt: skip
    assert _recorded(tmp_path) == [[
        "trtllm-build", "--checkpoint_dir", str(ckpt), "--output_dir", str(tmp_path / "engine"),
        "--gemm_plugin", "auto", "--max_batch_size", "8", "--max_input_len", "4096", "--max_seq_len", "5120",
    ]]  # fmt: skip
    journal = [json.loads(line) for line in (tmp_path / "engine" / ".llmops-journal.jsonl").read_text().splitlines()]
    assert journal[-1]["step"] == "build-tensorrt-engine"
    assert journal[-1]["tools"]["tensorrt_llm"] == f"pinned {versions.TENSORRT_LLM_VERSION}"


def test_tool_failure_reports_its_last_words(
    cli: CliRunner, tiny_model: Path, tmp_path: Path, trt_env: dict[str, str], termination_log: Path
) -> None:
    proc = cli("convert", "--to", "tensorrt-checkpoint", "--src", str(tiny_model), "--out", str(tmp_path / "c"),
               "--dtype", "float16", env={**trt_env, "FAKE_FAIL": "1"}, check=False)  # fmt: skip
    assert proc.returncode == 1
    assert termination_log.read_text() == (
        "convert: convert_checkpoint.py exited with 1: Traceback (most recent call last): | "
        "RuntimeError: CUDA error: no CUDA-capable device is detected\n"
    )


def test_missing_tensorrt_llm_tree_is_explained(
    cli: CliRunner, tiny_model: Path, tmp_path: Path, termination_log: Path
) -> None:
    proc = cli("convert", "--to", "tensorrt-checkpoint", "--src", str(tiny_model), "--out", str(tmp_path / "c"),
               "--dtype", "float16", env={"LLMOPS_TRTLLM_ROOT": str(tmp_path / "none")}, check=False)  # fmt: skip
    assert proc.returncode == 1
    assert termination_log.read_text().strip() == (
        f"convert: TensorRT-LLM {versions.TRTLLM_LLAMA_CONVERT_SCRIPT} not found under {tmp_path / 'none'}"
    )


@pytest.fixture
def trt_staging(cli: CliRunner, tiny_model: Path, tmp_path: Path, trt_env: dict[str, str]) -> Path:
    """engine/ from the stand-in trtllm-build, then `repository --format tensorrt-engine` into triton/."""
    staging = tmp_path / "staging"
    ckpt = tmp_path / "ckpt"
    ckpt.mkdir()
    (ckpt / "config.json").write_text("{}")
    cli("convert", "--to", "tensorrt-engine", "--src", str(ckpt), "--out", str(staging / "engine"),
        "--max-batch-size", "8", "--max-input-len", "1024", "--max-seq-len", "2048", env=trt_env)  # fmt: skip
    cli("repository", "--format", "tensorrt-engine", "--src", str(staging / "engine"), "--tokenizer", str(tiny_model),
        "--out", str(staging / "triton"), "--model-name", "llama3-8b", "--max-batch-size", "8",
        "--artifact-root", ARTIFACT_ROOT, env=trt_env)  # fmt: skip
    return staging


MODELS = ("preprocessing", "tensorrt_llm", "postprocessing", "llama3-8b")


@pytest.mark.parametrize("model", MODELS)
def test_repository_configs_match_golden_and_parse_as_model_config(trt_staging: Path, model: str) -> None:
    text = (trt_staging / "triton" / model / "config.pbtxt").read_text()
    golden = GOLDEN / f"{model}.pbtxt"
    if os.environ.get("LLMOPS_UPDATE_GOLDEN"):
        golden.parent.mkdir(parents=True, exist_ok=True)
        golden.write_text(text)
    assert text == golden.read_text()
    config = text_format.Parse(text, model_config_pb2.ModelConfig())
    assert config.max_batch_size == 8


def test_repository_points_at_the_artifact_paths_the_pod_mounts(trt_staging: Path) -> None:
    engine = text_format.Parse(
        (trt_staging / "triton" / "tensorrt_llm" / "config.pbtxt").read_text(), model_config_pb2.ModelConfig()
    )
    assert engine.backend == "tensorrtllm"
    assert engine.parameters["gpt_model_path"].string_value == f"{ARTIFACT_ROOT}/engine"
    pre = text_format.Parse(
        (trt_staging / "triton" / "preprocessing" / "config.pbtxt").read_text(), model_config_pb2.ModelConfig()
    )
    assert pre.parameters["tokenizer_dir"].string_value == f"{ARTIFACT_ROOT}/tokenizer"
    assert (trt_staging / "tokenizer" / "tokenizer.json").is_file()
    assert (
        trt_staging / "triton" / "preprocessing" / "1" / "model.py"
    ).read_text() == "# upstream preprocessing model\n"
    assert (trt_staging / "triton" / "tensorrt_llm" / "1").is_dir()


def test_ensemble_wiring_is_consistent(trt_staging: Path) -> None:
    """Every step input comes from an ensemble input or an earlier step's output, and names exist."""
    configs = {
        m: text_format.Parse((trt_staging / "triton" / m / "config.pbtxt").read_text(), model_config_pb2.ModelConfig())
        for m in MODELS
    }
    ensemble = configs["llama3-8b"]
    available = {i.name for i in ensemble.input}
    for step in ensemble.ensemble_scheduling.step:
        model = configs[step.model_name]
        assert set(step.input_map) <= {i.name for i in model.input}
        assert set(step.input_map.values()) <= available, step.model_name
        assert set(step.output_map) <= {o.name for o in model.output}
        available |= set(step.output_map.values())
    assert {o.name for o in ensemble.output} <= available


def test_tensorrt_artifact_publishes_with_its_layout(cli: CliRunner, trt_staging: Path, tmp_path: Path) -> None:
    cli("publish", "--src", str(trt_staging), "--artifacts-root", str(tmp_path / "root"),
        "--key", "sha256:" + "ef" * 32, "--source", "hf://meta-llama/x", "--revision", "main",
        "--format", "tensorrt-engine", "--quantization", "fp8")  # fmt: skip
    artifact = tmp_path / "root" / ("ef" * 32)
    assert {p.name for p in artifact.iterdir()} == {"engine", "tokenizer", "triton", "manifest.json"}
    assert (artifact / "triton" / "tensorrt_llm" / "1").is_dir()  # empty version dir survives the copy


def test_onnx_config_parses_as_model_config(onnx_export: Path, tmp_path: Path, cli: CliRunner) -> None:
    cli("repository", "--format", "onnx", "--src", str(onnx_export), "--tokenizer", str(onnx_export),
        "--out", str(tmp_path / "triton"), "--model-name", "m", "--max-batch-size", "2")  # fmt: skip
    config = text_format.Parse((tmp_path / "triton" / "m" / "config.pbtxt").read_text(), model_config_pb2.ModelConfig())
    assert config.backend == "python" and config.max_batch_size == 2
    assert [i.name for i in config.input] == ["text_input", "max_tokens"]
