"""The exact upstream command lines of every conversion step, as pure functions (no I/O, no heavy imports).

The CLI runs these argv lists, the tests golden them, and the docs print them: one source for all.
"""

from __future__ import annotations

import shlex
from typing import Final, Literal

from llmops_builders import versions

GgufOuttype = Literal["f16", "bf16", "f32", "q8_0"]
GgufQuantType = Literal["q4_k_m", "q5_k_m", "q8_0"]
TrtDtype = Literal["float16", "bfloat16"]
TrtQuantization = Literal["none", "fp8", "int8", "int4-awq"]

GGUF_OUTTYPES: Final[tuple[GgufOuttype, ...]] = ("f16", "bf16", "f32", "q8_0")
GGUF_QUANT_TYPES: Final[tuple[GgufQuantType, ...]] = ("q4_k_m", "q5_k_m", "q8_0")
TRT_DTYPES: Final[tuple[TrtDtype, ...]] = ("float16", "bfloat16")
TRT_QUANTIZATIONS: Final[tuple[TrtQuantization, ...]] = ("none", "fp8", "int8", "int4-awq")

ONNX_TASK: Final = "text-generation-with-past"

# llama-quantize names its types in upper case (Q4_K_M); the API uses the lower-case spelling.
_LLAMA_QUANTIZE_TYPES: Final[dict[GgufQuantType, str]] = {
    "q4_k_m": "Q4_K_M",
    "q5_k_m": "Q5_K_M",
    "q8_0": "Q8_0",
}

# Calibration sizes from TensorRT-LLM's Llama example: 512 samples for FP8, 32 for INT4-AWQ.
_FP8_CALIB_SIZE: Final = 512
_AWQ_CALIB_SIZE: Final = 32
_AWQ_BLOCK_SIZE: Final = 128


def convert_hf_to_gguf(*, python: str, llama_cpp_dir: str, src: str, out: str, outtype: GgufOuttype) -> list[str]:
    """llama.cpp's own converter; it puts its vendored gguf-py first on sys.path by itself."""
    if outtype not in GGUF_OUTTYPES:
        raise ValueError(f"unsupported GGUF outtype {outtype!r}")
    return [python, f"{llama_cpp_dir}/convert_hf_to_gguf.py", src, "--outtype", outtype, "--outfile", out]


def llama_quantize(*, binary: str, src: str, out: str, qtype: GgufQuantType) -> list[str]:
    """`llama-quantize IN OUT TYPE` from the same llama.cpp tree."""
    if qtype not in _LLAMA_QUANTIZE_TYPES:
        raise ValueError(f"unsupported GGUF quantization {qtype!r}")
    return [binary, src, out, _LLAMA_QUANTIZE_TYPES[qtype]]


def optimum_export_onnx(*, src: str, out: str, optimum_cli: str = "optimum-cli") -> list[str]:
    """Decoder with KV-cache inputs/outputs, as the generation loop in the Triton model needs."""
    return [optimum_cli, "export", "onnx", "--model", src, "--task", ONNX_TASK, out]


def trtllm_checkpoint(
    *,
    python: str,
    trtllm_root: str,
    src: str,
    out: str,
    dtype: TrtDtype,
    tp: int,
    pp: int,
    quantization: TrtQuantization,
) -> list[str]:
    """HF -> TensorRT-LLM checkpoint: convert_checkpoint.py, or quantize.py (ModelOpt) for fp8, int4-awq."""
    if dtype not in TRT_DTYPES:
        raise ValueError(f"unsupported TensorRT-LLM dtype {dtype!r}")
    if tp < 1 or pp < 1:
        raise ValueError("tensor and pipeline parallel sizes must be >= 1")
    parallel = ["--tp_size", str(tp), "--pp_size", str(pp)]
    if quantization in ("none", "int8"):
        argv = [
            python,
            f"{trtllm_root}/{versions.TRTLLM_LLAMA_CONVERT_SCRIPT}",
            "--model_dir", src,
            "--output_dir", out,
            "--dtype", dtype,
            *parallel,
        ]  # fmt: skip
        if quantization == "int8":
            # INT8 weight-only needs no calibration data, so it stays in convert_checkpoint.py.
            argv += ["--use_weight_only", "--weight_only_precision", "int8"]
        return argv
    quantize = [
        python,
        f"{trtllm_root}/{versions.TRTLLM_QUANTIZE_SCRIPT}",
        "--model_dir",
        src,
        "--dtype",
        dtype,
    ]
    if quantization == "fp8":
        fmt = ["--qformat", "fp8", "--kv_cache_dtype", "fp8", "--calib_size", str(_FP8_CALIB_SIZE)]
    elif quantization == "int4-awq":
        fmt = [
            "--qformat", "int4_awq",
            "--awq_block_size", str(_AWQ_BLOCK_SIZE),
            "--calib_size", str(_AWQ_CALIB_SIZE),
        ]  # fmt: skip
    else:
        raise ValueError(f"unsupported TensorRT-LLM quantization {quantization!r}")
    return [*quantize, *fmt, "--output_dir", out, *parallel]


def trtllm_build(
    *,
    checkpoint_dir: str,
    out: str,
    max_batch_size: int,
    max_input_len: int,
    max_seq_len: int,
    trtllm_build_bin: str = "trtllm-build",
) -> list[str]:
    """Engine build; the paged KV cache and packed inputs the inflight batcher needs are defaults."""
    if min(max_batch_size, max_input_len, max_seq_len) < 1:
        raise ValueError("max batch size and lengths must be >= 1")
    if max_seq_len < max_input_len:
        raise ValueError("max_seq_len must be >= max_input_len")
    return [
        trtllm_build_bin,
        "--checkpoint_dir", checkpoint_dir,
        "--output_dir", out,
        "--gemm_plugin", "auto",
        "--max_batch_size", str(max_batch_size),
        "--max_input_len", str(max_input_len),
        "--max_seq_len", str(max_seq_len),
    ]  # fmt: skip


def shell_line(argv: list[str]) -> str:
    """Render an argv list as one copy-pasteable shell line (for docs and logs)."""
    return shlex.join(argv)
