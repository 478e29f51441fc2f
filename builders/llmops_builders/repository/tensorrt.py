"""TensorRT-LLM Triton repository: preprocessing, tensorrt_llm, postprocessing, client ensemble."""

from __future__ import annotations

import os
import shutil
from dataclasses import dataclass
from pathlib import Path

from llmops_builders import versions
from llmops_builders.errors import BuildError
from llmops_builders.repository import render
from llmops_builders.repository import trtllm_tensors as tt

STEP = "repository"
TOKENIZER_FILES = (
    "tokenizer.json",
    "tokenizer.model",
    "tokenizer_config.json",
    "special_tokens_map.json",
    "generation_config.json",
    "config.json",
    "vocab.json",
    "merges.txt",
)


@dataclass(frozen=True)
class TrtOptions:
    """Serving-time facts the configs embed."""

    model_name: str
    max_batch_size: int
    artifact_root: str  # where ROOT/<hex> is mounted in the serving Pod, e.g. /models/artifacts/<hex>
    triton_models_dir: Path  # upstream inflight_batcher_llm tree with preprocessing/postprocessing model.py
    kv_cache_free_gpu_mem_fraction: float = 0.9
    decoupled: bool = False
    instance_count: int = 1
    max_queue_delay_us: int = 1000


def default_triton_models_dir() -> Path:
    """The upstream Python models inside the TensorRT-LLM tree of the builder image."""
    root = os.environ.get("LLMOPS_TRTLLM_ROOT") or "/opt/tensorrt_llm"
    return Path(root) / versions.TRTLLM_TRITON_MODELS_DIR


def _copy_files(src: Path, dst: Path, names: tuple[str, ...] | None = None) -> int:
    dst.mkdir(parents=True, exist_ok=True)
    copied = 0
    for path in sorted(src.iterdir()):
        if path.is_file() and (names is None or path.name in names):
            shutil.copy2(path, dst / path.name)
            copied += 1
    return copied


def _python_model(
    out: Path,
    role: str,
    *,
    opts: TrtOptions,
    inputs: tuple[tt.Tensor, ...],
    outputs: tuple[tt.Tensor, ...],
    parameters: dict[str, str],
) -> None:
    upstream = opts.triton_models_dir / role / "1" / "model.py"
    if not upstream.is_file():
        raise BuildError(STEP, f"upstream {role} model.py not found at {upstream}")
    (out / role / "1").mkdir(parents=True, exist_ok=True)
    shutil.copy2(upstream, out / role / "1" / "model.py")
    config = render(
        "trtllm_python.pbtxt.j2",
        role=role,
        name=role,
        max_batch_size=opts.max_batch_size,
        max_queue_delay_us=opts.max_queue_delay_us,
        inputs=inputs,
        outputs=outputs,
        instance_count=opts.instance_count,
        parameters=parameters,
    )
    (out / role / "config.pbtxt").write_text(config, encoding="utf-8")


def build(engine_dir: Path, tokenizer_dir: Path, out: Path, opts: TrtOptions) -> None:
    """Write the four models into OUT (= <staging>/triton) and put engine/ and tokenizer/ beside it."""
    if not list(engine_dir.glob("rank*.engine")) or not (engine_dir / "config.json").is_file():
        raise BuildError(STEP, f"{engine_dir} holds no TensorRT-LLM engine (rank*.engine + config.json)")
    if not any((tokenizer_dir / n).is_file() for n in ("tokenizer.json", "tokenizer.model", "vocab.json")):
        raise BuildError(STEP, f"no tokenizer files in {tokenizer_dir}")
    if opts.max_batch_size < 1:
        raise BuildError(STEP, "--max-batch-size must be >= 1")
    if opts.model_name in ("preprocessing", "tensorrt_llm", "postprocessing"):
        raise BuildError(STEP, f"--model-name {opts.model_name!r} collides with a model of the ensemble")
    staging = out.parent
    # The configs point at <artifact-root>/engine and /tokenizer, so the artifact must hold them there.
    if engine_dir.resolve() != (staging / "engine").resolve():
        _copy_files(engine_dir, staging / "engine")
    _copy_files(tokenizer_dir, staging / "tokenizer", TOKENIZER_FILES)
    root = opts.artifact_root.rstrip("/")
    engine_path, tokenizer_path = f"{root}/engine", f"{root}/tokenizer"
    if out.exists():
        shutil.rmtree(out)
    out.mkdir(parents=True)
    _python_model(
        out,
        "preprocessing",
        opts=opts,
        inputs=tt.PREPROCESSING_INPUTS,
        outputs=tt.PREPROCESSING_OUTPUTS,
        parameters={
            "tokenizer_dir": tokenizer_path,
            "add_special_tokens": "true",
            "multimodal_model_path": "",
            "max_num_images": "",
            "gpt_model_path": engine_path,
            "hf_model_path": "",
        },
    )
    _python_model(
        out,
        "postprocessing",
        opts=opts,
        inputs=tt.POSTPROCESSING_INPUTS,
        outputs=tt.POSTPROCESSING_OUTPUTS,
        parameters={"tokenizer_dir": tokenizer_path, "skip_special_tokens": "true"},
    )
    (out / "tensorrt_llm" / "1").mkdir(parents=True)
    engine_config = render(
        "trtllm_engine.pbtxt.j2",
        max_batch_size=opts.max_batch_size,
        decoupled=opts.decoupled,
        max_queue_delay_us=opts.max_queue_delay_us,
        inputs=tt.TENSORRT_LLM_INPUTS,
        outputs=tt.TENSORRT_LLM_OUTPUTS,
        parameters={
            "gpt_model_type": "inflight_fused_batching",
            "gpt_model_path": engine_path,
            "batch_scheduler_policy": "guaranteed_no_evict",
            "kv_cache_free_gpu_mem_fraction": str(opts.kv_cache_free_gpu_mem_fraction),
            "max_beam_width": "1",
            "exclude_input_in_output": "true",
            "enable_kv_cache_reuse": "false",
            "executor_worker_path": "/opt/tritonserver/backends/tensorrtllm/trtllmExecutorWorker",
        },
    )
    (out / "tensorrt_llm" / "config.pbtxt").write_text(engine_config, encoding="utf-8")
    steps = [
        {"model": "preprocessing", "inputs": tt.PREPROCESSING_MAP[0], "outputs": tt.PREPROCESSING_MAP[1]},
        {"model": "tensorrt_llm", "inputs": tt.TENSORRT_LLM_MAP[0], "outputs": tt.TENSORRT_LLM_MAP[1]},
        {"model": "postprocessing", "inputs": tt.POSTPROCESSING_MAP[0], "outputs": tt.POSTPROCESSING_MAP[1]},
    ]
    (out / opts.model_name / "1").mkdir(parents=True)
    ensemble = render(
        "trtllm_ensemble.pbtxt.j2",
        name=opts.model_name,
        max_batch_size=opts.max_batch_size,
        inputs=tt.ENSEMBLE_INPUTS,
        outputs=tt.ENSEMBLE_OUTPUTS,
        steps=steps,
    )
    (out / opts.model_name / "config.pbtxt").write_text(ensemble, encoding="utf-8")
