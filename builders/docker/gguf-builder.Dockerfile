# GGUF builder: llama.cpp's own convert_hf_to_gguf.py (with its vendored gguf-py) and llama-quantize,
# both from the llama-cpp-python sdist (the builders' single llama.cpp pin), plus llmops-build.
# Build from the repository root: docker build -f builders/docker/gguf-builder.Dockerfile .

FROM python:3.11.7-bookworm AS llama-cpp
ARG LLAMA_CPP_PYTHON_VERSION=0.3.36
WORKDIR /build
RUN pip install --no-cache-dir cmake==3.31.6 \
 && pip download --no-cache-dir --no-deps --no-binary llama-cpp-python "llama-cpp-python==${LLAMA_CPP_PYTHON_VERSION}" -d . \
 && tar -xzf "llama_cpp_python-${LLAMA_CPP_PYTHON_VERSION}.tar.gz" \
 && mv "llama_cpp_python-${LLAMA_CPP_PYTHON_VERSION}/vendor/llama.cpp" /llama.cpp
# Portable (no -march=native), static and without OpenMP so the binary runs on the slim image.
RUN cmake -S /llama.cpp -B /llama.cpp/build -DCMAKE_BUILD_TYPE=Release -DBUILD_SHARED_LIBS=OFF \
      -DGGML_NATIVE=OFF -DGGML_OPENMP=OFF -DLLAMA_BUILD_TESTS=OFF -DLLAMA_BUILD_EXAMPLES=OFF \
      -DLLAMA_BUILD_SERVER=OFF -DLLAMA_BUILD_UI=OFF -DLLAMA_USE_PREBUILT_UI=OFF -DLLAMA_OPENSSL=OFF \
      -DLLAMA_CURL=OFF -DCMAKE_EXE_LINKER_FLAGS="-static-libgcc -static-libstdc++" \
 && cmake --build /llama.cpp/build --target llama-quantize -j "$(nproc)"

FROM python:3.11.7-slim-bookworm
ENV PYTHONDONTWRITEBYTECODE=1 \
    PIP_NO_CACHE_DIR=1 \
    HF_HOME=/tmp/hf \
    LLMOPS_LLAMA_CPP_DIR=/opt/llama.cpp \
    LLMOPS_LLAMA_QUANTIZE=/usr/local/bin/llama-quantize
# CPU-only torch: the CUDA build would add gigabytes the converter never uses.
RUN pip install --no-cache-dir --index-url https://download.pytorch.org/whl/cpu torch==2.13.0+cpu \
 && pip install --no-cache-dir transformers==4.57.6 sentencepiece==0.2.1 "protobuf>=4.21,<7" \
      "huggingface-hub>=0.34,<1.0" numpy==2.2.6
COPY --from=llama-cpp /llama.cpp/convert_hf_to_gguf.py /opt/llama.cpp/convert_hf_to_gguf.py
COPY --from=llama-cpp /llama.cpp/conversion /opt/llama.cpp/conversion
COPY --from=llama-cpp /llama.cpp/gguf-py /opt/llama.cpp/gguf-py
COPY --from=llama-cpp /llama.cpp/build/bin/llama-quantize /usr/local/bin/llama-quantize
COPY pyproject.toml README.md /src/
COPY builders /src/builders
COPY operator /src/operator
RUN pip install --no-cache-dir /src && rm -rf /src
USER 65532:65532
ENTRYPOINT ["llmops-build"]
