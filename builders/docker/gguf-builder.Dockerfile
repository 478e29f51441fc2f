# GGUF builder: llama.cpp's own convert_hf_to_gguf.py (with its vendored gguf-py) and llama-quantize,
# both from the llama-cpp-python sdist (the builders' single llama.cpp pin), plus llmops-build.
# Build from the repository root: docker build -f builders/docker/gguf-builder.Dockerfile .
# The bases are build arguments, so the same file builds where no registry is reachable
# (e2e/images/build-images.sh passes locally built stand-ins of the same Debian bookworm bases).
ARG BUILD_IMAGE=python:3.11.7-bookworm
ARG BASE_IMAGE=python:3.11.7-slim-bookworm

# The llama.cpp compile stage is byte-identical to the one of llama-cpp-server.Dockerfile, so a layer
# cache (buildah --layers, BuildKit) compiles llama.cpp once for both images.
FROM ${BUILD_IMAGE} AS llama-cpp
ARG LLAMA_CPP_PYTHON_VERSION=0.3.36
WORKDIR /build
RUN pip install --no-cache-dir cmake==3.31.6 \
 && pip download --no-cache-dir --no-deps --no-binary llama-cpp-python "llama-cpp-python==${LLAMA_CPP_PYTHON_VERSION}" -d . \
 && tar -xzf "llama_cpp_python-${LLAMA_CPP_PYTHON_VERSION}.tar.gz" \
 && mv "llama_cpp_python-${LLAMA_CPP_PYTHON_VERSION}/vendor/llama.cpp" /llama.cpp
# Portable (no -march=native), static and without OpenMP so the binaries run on a slim image.
# llama-server without its web UI (probes and the OpenAI API only) and without curl or OpenSSL.
RUN cmake -S /llama.cpp -B /llama.cpp/build -DCMAKE_BUILD_TYPE=Release -DBUILD_SHARED_LIBS=OFF \
      -DGGML_NATIVE=OFF -DGGML_OPENMP=OFF -DLLAMA_BUILD_TESTS=OFF -DLLAMA_BUILD_EXAMPLES=OFF \
      -DLLAMA_BUILD_TOOLS=ON -DLLAMA_BUILD_SERVER=ON -DLLAMA_BUILD_UI=OFF -DLLAMA_USE_PREBUILT_UI=OFF \
      -DLLAMA_OPENSSL=OFF -DLLAMA_CURL=OFF -DCMAKE_EXE_LINKER_FLAGS="-static-libgcc -static-libstdc++" \
 && cmake --build /llama.cpp/build --target llama-quantize llama-server -j "$(nproc)"

FROM ${BASE_IMAGE}
# The same first steps as onnx-builder.Dockerfile, so the two images share the torch layer.
ARG TORCH_INDEX_URL=https://download.pytorch.org/whl/cpu
ARG TORCH_VERSION=2.13.0+cpu
ENV PYTHONDONTWRITEBYTECODE=1 \
    PIP_NO_CACHE_DIR=1 \
    HF_HOME=/tmp/hf
# CPU-only torch: the CUDA build would add gigabytes the converter never uses.
RUN pip install --no-cache-dir --index-url "${TORCH_INDEX_URL}" "torch==${TORCH_VERSION}"
ENV LLMOPS_LLAMA_CPP_DIR=/opt/llama.cpp \
    LLMOPS_LLAMA_QUANTIZE=/usr/local/bin/llama-quantize
RUN pip install --no-cache-dir transformers==4.57.6 sentencepiece==0.2.1 "protobuf>=4.21,<7" \
      "huggingface-hub>=0.34,<1.0" numpy==2.2.6
COPY --from=llama-cpp /llama.cpp/convert_hf_to_gguf.py /opt/llama.cpp/convert_hf_to_gguf.py
COPY --from=llama-cpp /llama.cpp/conversion /opt/llama.cpp/conversion
COPY --from=llama-cpp /llama.cpp/gguf-py /opt/llama.cpp/gguf-py
COPY --from=llama-cpp /llama.cpp/build/bin/llama-quantize /usr/local/bin/llama-quantize
COPY pyproject.toml /src/
COPY builders /src/builders
COPY operator /src/operator
RUN pip install --no-cache-dir /src && rm -rf /src
USER 65532:65532
ENTRYPOINT ["llmops-build"]
