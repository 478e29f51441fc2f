"""Runs the upstream converters (llama.cpp, optimum, TensorRT-LLM) and checks what they produced."""

from __future__ import annotations

import os
import sys
import time
from pathlib import Path

from llmops_builders import commands, journal, process, versions
from llmops_builders.errors import BuildError

# Where the builder images put the upstream trees; the environment overrides them (tests, other images).
DEFAULT_LLAMA_CPP_DIR = "/opt/llama.cpp"
DEFAULT_TRTLLM_ROOT = "/opt/tensorrt_llm"
GGUF_MAGIC = b"GGUF"


def _env(name: str, default: str) -> str:
    return os.environ.get(name) or default


def _require_hf_checkpoint(step: str, src: Path) -> None:
    if not (src / "config.json").is_file():
        raise BuildError(step, f"{src} is not a Hugging Face checkpoint (no config.json)")


def _require_gguf(step: str, path: Path, *, produced: bool) -> None:
    try:
        with path.open("rb") as fh:
            magic = fh.read(4)
    except OSError as exc:
        raise BuildError(step, f"no GGUF file {'was written ' if produced else ''}at {path}") from exc
    if magic != GGUF_MAGIC:
        raise BuildError(step, f"{path} is not a GGUF file")


def _llama_cpp_tools() -> dict[str, str]:
    tools = journal.package_versions("torch", "transformers", "sentencepiece")
    tools["llama.cpp"] = _env("LLMOPS_LLAMA_CPP_VERSION", f"llama-cpp-python-{versions.LLAMA_CPP_PYTHON_VERSION}")
    return tools


def to_gguf(src: Path, out: Path, outtype: commands.GgufOuttype) -> None:
    """HF checkpoint -> one GGUF file with llama.cpp's own convert_hf_to_gguf.py."""
    step = "convert"
    _require_hf_checkpoint(step, src)
    llama_cpp_dir = _env("LLMOPS_LLAMA_CPP_DIR", DEFAULT_LLAMA_CPP_DIR)
    if not Path(llama_cpp_dir, "convert_hf_to_gguf.py").is_file():
        raise BuildError(step, f"llama.cpp's convert_hf_to_gguf.py not found in {llama_cpp_dir}")
    out.parent.mkdir(parents=True, exist_ok=True)
    argv = commands.convert_hf_to_gguf(
        python=_env("LLMOPS_CONVERT_PYTHON", sys.executable),
        llama_cpp_dir=llama_cpp_dir,
        src=str(src),
        out=str(out),
        outtype=outtype,
    )
    seconds = process.run(step, argv)
    _require_gguf(step, out, produced=True)
    journal.record(out, "convert-gguf", argv=argv, seconds=round(seconds, 3), tools=_llama_cpp_tools())


def quantize_gguf(src: Path, out: Path, qtype: commands.GgufQuantType) -> None:
    """GGUF -> quantized GGUF with llama-quantize from the same llama.cpp tree."""
    step = "quantize"
    _require_gguf(step, src, produced=False)
    out.parent.mkdir(parents=True, exist_ok=True)
    binary = _env("LLMOPS_LLAMA_QUANTIZE", process.find_executable("llama-quantize"))
    argv = commands.llama_quantize(binary=binary, src=str(src), out=str(out), qtype=qtype)
    seconds = process.run(step, argv)
    _require_gguf(step, out, produced=True)
    journal.record(out, "quantize-gguf", argv=argv, seconds=round(seconds, 3), tools=_llama_cpp_tools())


def to_onnx(src: Path, out: Path) -> None:
    """HF checkpoint -> ONNX decoder with KV cache (optimum-cli), tokenizer files copied beside it."""
    step = "convert"
    _require_hf_checkpoint(step, src)
    argv = commands.optimum_export_onnx(
        src=str(src),
        out=str(out),
        optimum_cli=_env("LLMOPS_OPTIMUM_CLI", process.find_executable("optimum-cli")),
    )
    seconds = process.run(step, argv)
    if not (out / "model.onnx").is_file():
        raise BuildError(step, f"optimum-cli wrote no model.onnx into {out}")
    tools = journal.package_versions("optimum", "optimum-onnx", "onnx", "onnxruntime", "torch", "transformers")
    journal.record(out, "convert-onnx", argv=argv, seconds=round(seconds, 3), tools=tools)


def _trtllm_tools() -> dict[str, str]:
    tools = journal.package_versions("tensorrt_llm", "tensorrt", "nvidia-modelopt", "transformers")
    tools.setdefault("tensorrt_llm", f"pinned {versions.TENSORRT_LLM_VERSION}")
    return tools


def to_trt_checkpoint(
    *,
    src: Path,
    out: Path,
    dtype: commands.TrtDtype,
    tp: int,
    pp: int,
    quantization: commands.TrtQuantization,
) -> None:
    """HF checkpoint -> TensorRT-LLM checkpoint (one rank<N>.safetensors per TP x PP rank)."""
    step = "convert"
    _require_hf_checkpoint(step, src)
    trtllm_root = _env("LLMOPS_TRTLLM_ROOT", DEFAULT_TRTLLM_ROOT)
    script = (
        versions.TRTLLM_QUANTIZE_SCRIPT if quantization in ("fp8", "int4-awq") else versions.TRTLLM_LLAMA_CONVERT_SCRIPT
    )
    if not Path(trtllm_root, script).is_file():
        raise BuildError(step, f"TensorRT-LLM {script} not found under {trtllm_root}")
    argv = commands.trtllm_checkpoint(
        python=_env("LLMOPS_TRTLLM_PYTHON", sys.executable),
        trtllm_root=trtllm_root,
        src=str(src),
        out=str(out),
        dtype=dtype,
        tp=tp,
        pp=pp,
        quantization=quantization,
    )
    seconds = process.run(step, argv)
    missing = [f"rank{r}.safetensors" for r in range(tp * pp) if not (out / f"rank{r}.safetensors").is_file()]
    if not (out / "config.json").is_file() or missing:
        raise BuildError(
            step, f"the TensorRT-LLM checkpoint in {out} is incomplete (missing {missing or 'config.json'})"
        )
    journal.record(out, "convert-tensorrt-checkpoint", argv=argv, seconds=round(seconds, 3), tools=_trtllm_tools())


def to_trt_engine(src: Path, out: Path, max_batch_size: int, max_input_len: int, max_seq_len: int) -> None:
    """TensorRT-LLM checkpoint -> engines with trtllm-build."""
    step = "convert"
    if not (src / "config.json").is_file():
        raise BuildError(step, f"{src} is not a TensorRT-LLM checkpoint (no config.json)")
    try:
        argv = commands.trtllm_build(
            checkpoint_dir=str(src),
            out=str(out),
            max_batch_size=max_batch_size,
            max_input_len=max_input_len,
            max_seq_len=max_seq_len,
            trtllm_build_bin=_env("LLMOPS_TRTLLM_BUILD", process.find_executable("trtllm-build")),
        )
    except ValueError as exc:
        raise BuildError(step, str(exc)) from exc
    started = time.monotonic()
    process.run(step, argv)
    if not list(out.glob("rank*.engine")):
        raise BuildError(step, f"trtllm-build wrote no rank*.engine into {out}")
    journal.record(
        out,
        "build-tensorrt-engine",
        argv=argv,
        seconds=round(time.monotonic() - started, 3),
        tools=_trtllm_tools(),
    )
