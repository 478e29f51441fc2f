"""Every container image llmops renders, pinned in one place, by its key in the images configuration.

The TensorRT-LLM engine path pins a release that still has the TensorRT engine backend (≤ 1.2:
`convert_checkpoint.py` and `trtllm-build` were removed later) and the Triton image built with that same
TensorRT-LLM, because an engine only loads in the TensorRT-LLM version that built it.

llama.cpp is served by the project's own images, built from the builders' single llama.cpp pin (the tree vendored
by the llama-cpp-python sdist, `LLAMA_CPP_PYTHON_VERSION` in builders/llmops_builders/versions.py) that the GGUF
builder converts with: a GGUF written by a newer converter may not load in an older llama-server, so the server
and the converter are one llama.cpp.
"""

from enum import StrEnum
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
# The vLLM release the GPU harness measures (bench/gpu reads VLLM_VERSION); the image is its vllm-openai tag.
VLLM_VERSION: Final = "0.26.0"
VLLM: Final = f"docker.io/vllm/vllm-openai:v{VLLM_VERSION}"
LLAMA_CPP_CPU: Final = f"{REGISTRY}/llama-cpp-server:{LLMOPS_VERSION}"  # builders/docker/llama-cpp-server.Dockerfile
# builders/docker/llama-cpp-server-cuda.Dockerfile (its cmake: builders/scripts/build-llama-cpp-cuda.sh)
LLAMA_CPP_CUDA: Final = f"{REGISTRY}/llama-cpp-server-cuda:{LLMOPS_VERSION}"

# Builder images: builders/docker/<name>.Dockerfile, each with llmops-build and one conversion toolchain.
GGUF_BUILDER: Final = f"{REGISTRY}/gguf-builder:{LLMOPS_VERSION}"
ONNX_BUILDER: Final = f"{REGISTRY}/onnx-builder:{LLMOPS_VERSION}"
TENSORRT_LLM_BUILDER: Final = f"{REGISTRY}/tensorrt-llm-builder:{LLMOPS_VERSION}"


class Image(StrEnum):
    """An image llmops renders; the value is its key in the images configuration (Helm values `images.*`)."""

    TRITON_TRTLLM = "tritonTrtllm"
    TRITON_ONNX = "tritonOnnx"
    TRTLLM_SERVE = "trtllmServe"
    NIM = "nim"
    VLLM = "vllm"
    LLAMA_CPP_CPU = "llamaCppCpu"
    LLAMA_CPP_CUDA = "llamaCppCuda"
    GGUF_BUILDER = "ggufBuilder"
    ONNX_BUILDER = "onnxBuilder"
    TENSORRT_LLM_BUILDER = "tensorrtLlmBuilder"


DEFAULTS: Final[dict[Image, str]] = {
    Image.TRITON_TRTLLM: TRITON_TRTLLM,
    Image.TRITON_ONNX: TRITON_ONNX,
    Image.TRTLLM_SERVE: TRTLLM_SERVE,
    Image.NIM: NIM,
    Image.VLLM: VLLM,
    Image.LLAMA_CPP_CPU: LLAMA_CPP_CPU,
    Image.LLAMA_CPP_CUDA: LLAMA_CPP_CUDA,
    Image.GGUF_BUILDER: GGUF_BUILDER,
    Image.ONNX_BUILDER: ONNX_BUILDER,
    Image.TENSORRT_LLM_BUILDER: TENSORRT_LLM_BUILDER,
}

# Any builder downloads; formats served as downloaded use the smallest one.
BUILDER_BY_FORMAT: Final[dict[ModelFormat, Image]] = {
    ModelFormat.GGUF: Image.GGUF_BUILDER,
    ModelFormat.ONNX: Image.ONNX_BUILDER,
    ModelFormat.TENSORRT_ENGINE: Image.TENSORRT_LLM_BUILDER,
    ModelFormat.SAFETENSORS: Image.GGUF_BUILDER,
    ModelFormat.PYTORCH: Image.GGUF_BUILDER,
}


def serving_image(runtime: Runtime, served: ModelFormat, on_gpu: bool) -> Image:
    """The image of a runtime serving a format."""
    if runtime is Runtime.TRITON:
        return Image.TRITON_TRTLLM if served is ModelFormat.TENSORRT_ENGINE else Image.TRITON_ONNX
    if runtime is Runtime.LLAMA_CPP:
        return Image.LLAMA_CPP_CUDA if on_gpu else Image.LLAMA_CPP_CPU
    return {Runtime.TENSORRT_LLM: Image.TRTLLM_SERVE, Runtime.NIM: Image.NIM, Runtime.VLLM: Image.VLLM}[runtime]
