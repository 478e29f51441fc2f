"""Every container image llmops renders, pinned in one place.

The TensorRT-LLM engine path pins a release that still has the TensorRT engine backend (≤ 1.2:
`convert_checkpoint.py` and `trtllm-build` were removed later) and the Triton image built with that same
TensorRT-LLM, because an engine only loads in the TensorRT-LLM version that built it.
"""

from typing import Final

from llmops.api.enums import ModelFormat, Runtime

LLMOPS_VERSION: Final = "0.1.0"
REGISTRY: Final = "ghcr.io/llmops-dev"

# Triton 25.12's -trtllm-python-py3 image ships TensorRT-LLM 1.1 (engine backend still present).
TRITON_TRTLLM_TAG: Final = "25.12-trtllm-python-py3"
TENSORRT_LLM_VERSION: Final = "1.1.0"

TRITON_TRTLLM: Final = f"nvcr.io/nvidia/tritonserver:{TRITON_TRTLLM_TAG}"
TRITON_ONNX: Final = f"{REGISTRY}/triton-onnx:{LLMOPS_VERSION}"  # builders/docker/triton-onnx.Dockerfile
TRTLLM_SERVE: Final = f"nvcr.io/nvidia/tensorrt-llm/release:{TENSORRT_LLM_VERSION}"
NIM: Final = "nvcr.io/nim/nvidia/llm-nim:2.0.13"
VLLM: Final = "docker.io/vllm/vllm-openai:v0.11.0"
LLAMA_CPP_CPU: Final = "ghcr.io/ggml-org/llama.cpp:server-b6715"
LLAMA_CPP_CUDA: Final = "ghcr.io/ggml-org/llama.cpp:server-cuda-b6715"

# Builder images: builders/docker/<name>.Dockerfile, each with llmops-build and one conversion toolchain.
BUILDER_DOWNLOAD: Final = f"{REGISTRY}/gguf-builder:{LLMOPS_VERSION}"  # any builder downloads; the smallest one
BUILDER_BY_FORMAT: Final[dict[ModelFormat, str]] = {
    ModelFormat.GGUF: f"{REGISTRY}/gguf-builder:{LLMOPS_VERSION}",
    ModelFormat.ONNX: f"{REGISTRY}/onnx-builder:{LLMOPS_VERSION}",
    ModelFormat.TENSORRT_ENGINE: f"{REGISTRY}/tensorrt-llm-builder:{LLMOPS_VERSION}",
    ModelFormat.SAFETENSORS: BUILDER_DOWNLOAD,
    ModelFormat.PYTORCH: BUILDER_DOWNLOAD,
}


def serving_image(runtime: Runtime, served: ModelFormat, on_gpu: bool) -> str:
    """The default image of a runtime serving a format."""
    if runtime is Runtime.TRITON:
        return TRITON_TRTLLM if served is ModelFormat.TENSORRT_ENGINE else TRITON_ONNX
    if runtime is Runtime.LLAMA_CPP:
        return LLAMA_CPP_CUDA if on_gpu else LLAMA_CPP_CPU
    return {Runtime.TENSORRT_LLM: TRTLLM_SERVE, Runtime.NIM: NIM, Runtime.VLLM: VLLM}[runtime]
