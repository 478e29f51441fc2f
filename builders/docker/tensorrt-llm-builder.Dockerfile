# TensorRT-LLM builder: convert_checkpoint.py / quantize.py (ModelOpt) and trtllm-build from the last
# TensorRT-LLM line with the TensorRT engine backend, in the same Triton image that serves the engines,
# so the engine, the tensorrtllm backend and the Python models of the ensemble are one version.
# Build from the repository root: docker build -f builders/docker/tensorrt-llm-builder.Dockerfile .
# The base is a build argument like in the other images (NVIDIA's, so not built where there is no GPU).
ARG BASE_IMAGE=nvcr.io/nvidia/tritonserver:25.12-trtllm-python-py3

FROM ${BASE_IMAGE}
ARG TENSORRT_LLM_VERSION=1.1.0
SHELL ["/bin/bash", "-o", "pipefail", "-c"]
ENV PIP_NO_CACHE_DIR=1 \
    PIP_BREAK_SYSTEM_PACKAGES=1 \
    HF_HOME=/tmp/hf \
    LLMOPS_TRTLLM_ROOT=/opt/tensorrt_llm \
    LLMOPS_TRTLLM_PYTHON=python3
# The example scripts and the ensemble's Python models are not part of the wheel: take them from the
# source tree at the tag the image ships.
RUN mkdir -p /opt/tensorrt_llm \
 && curl -fsSL "https://github.com/NVIDIA/TensorRT-LLM/archive/refs/tags/v${TENSORRT_LLM_VERSION}.tar.gz" \
    | tar -xz -C /opt/tensorrt_llm --strip-components=1 \
      "TensorRT-LLM-${TENSORRT_LLM_VERSION}/examples" "TensorRT-LLM-${TENSORRT_LLM_VERSION}/triton_backend/all_models" \
 && test -f /opt/tensorrt_llm/examples/models/core/llama/convert_checkpoint.py \
 && test -f /opt/tensorrt_llm/examples/quantization/quantize.py
COPY pyproject.toml /src/
COPY builders /src/builders
COPY operator /src/operator
RUN pip install --no-cache-dir /src && rm -rf /src
USER 1000:1000
ENTRYPOINT ["llmops-build"]
