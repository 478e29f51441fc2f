# ONNX builder: optimum-cli (optimum-onnx) exports the decoder with its KV cache, and llmops-build
# writes the Triton Python-backend repository around it.
# Build from the repository root: docker build -f builders/docker/onnx-builder.Dockerfile .

FROM python:3.11.7-slim-bookworm
ENV PYTHONDONTWRITEBYTECODE=1 \
    PIP_NO_CACHE_DIR=1 \
    HF_HOME=/tmp/hf
# CPU-only torch: export runs on CPU; the CUDA build would add gigabytes.
RUN pip install --no-cache-dir --index-url https://download.pytorch.org/whl/cpu torch==2.13.0+cpu \
 && pip install --no-cache-dir transformers==4.57.6 optimum-onnx==0.1.0 onnx==1.23.2 onnxruntime==1.32.0 \
      sentencepiece==0.2.1 "protobuf>=4.21,<7" "huggingface-hub>=0.34,<1.0"
COPY pyproject.toml README.md /src/
COPY builders /src/builders
COPY operator /src/operator
RUN pip install --no-cache-dir /src && rm -rf /src
USER 65532:65532
ENTRYPOINT ["llmops-build"]
