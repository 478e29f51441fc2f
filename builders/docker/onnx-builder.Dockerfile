# ONNX builder: optimum-cli (optimum-onnx) exports the decoder with its KV cache, and llmops-build
# writes the Triton Python-backend repository around it.
# Build from the repository root: docker build -f builders/docker/onnx-builder.Dockerfile .
# The base is a build argument, so the same file builds where no registry is reachable
# (e2e/images/build-images.sh passes a locally built stand-in of the same Debian bookworm base).
ARG BASE_IMAGE=python:3.11.7-slim-bookworm

FROM ${BASE_IMAGE}
# The same first steps as gguf-builder.Dockerfile, so the two images share the torch layer.
ARG TORCH_INDEX_URL=https://download.pytorch.org/whl/cpu
ARG TORCH_VERSION=2.13.0+cpu
ENV PYTHONDONTWRITEBYTECODE=1 \
    PIP_NO_CACHE_DIR=1 \
    HF_HOME=/tmp/hf
# CPU-only torch: export runs on CPU; the CUDA build would add gigabytes.
RUN pip install --no-cache-dir --index-url "${TORCH_INDEX_URL}" "torch==${TORCH_VERSION}"
# A layer of its own above the shared torch layer.
# hadolint ignore=DL3059
RUN pip install --no-cache-dir transformers==4.57.6 optimum-onnx==0.1.0 onnx==1.23.2 onnxruntime==1.32.0 \
      sentencepiece==0.2.1 "protobuf>=4.21,<7" "huggingface-hub>=0.34,<1.0"
COPY pyproject.toml /src/
COPY builders /src/builders
COPY operator /src/operator
RUN pip install --no-cache-dir /src && rm -rf /src
USER 65532:65532
ENTRYPOINT ["llmops-build"]
