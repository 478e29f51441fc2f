"""Pinned upstream versions and images the builders are made and tested against, in one place."""

from __future__ import annotations

from typing import Final

# llama.cpp comes from the llama-cpp-python sdist: its vendored tree is the only PyPI source of
# convert_hf_to_gguf.py (with the gguf-py it needs) and of the llama-server/llama-quantize sources.
LLAMA_CPP_PYTHON_VERSION: Final = "0.3.36"

# The last TensorRT-LLM line with the TensorRT engine backend (convert_checkpoint.py, trtllm-build)
# that a Triton `-trtllm-python-py3` image ships; later releases removed that backend.
TENSORRT_LLM_VERSION: Final = "1.1.0"
# Triton's compatibility matrix pairs release 25.12 with TensorRT-LLM 1.1.0.
TRITON_TRTLLM_IMAGE: Final = "nvcr.io/nvidia/tritonserver:25.12-trtllm-python-py3"
# Example scripts inside a TensorRT-LLM source tree at that tag.
TRTLLM_LLAMA_CONVERT_SCRIPT: Final = "examples/models/core/llama/convert_checkpoint.py"
TRTLLM_QUANTIZE_SCRIPT: Final = "examples/quantization/quantize.py"
# The Python models of the tensorrtllm backend's ensemble, inside that same tree.
TRTLLM_TRITON_MODELS_DIR: Final = "triton_backend/all_models/inflight_batcher_llm"

# The plain Triton image (Python backend) that serves the ONNX repository; same release line.
TRITON_IMAGE: Final = "nvcr.io/nvidia/tritonserver:25.12-py3"
