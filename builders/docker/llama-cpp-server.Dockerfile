# llama.cpp server image (CPU) for the GGUF artifact: llama-server from the same llama.cpp as the GGUF
# builder (the vendored tree of the llama-cpp-python sdist), built in the very same compile stage.
# The operator runs /app/llama-server --model /models/artifacts/<hex>/model.gguf --metrics ... as a
# non-root user with a read-only root filesystem; the binary needs nothing but glibc.
# Build from the repository root: docker build -f builders/docker/llama-cpp-server.Dockerfile .
ARG BUILD_IMAGE=python:3.11.7-bookworm
ARG BASE_IMAGE=debian:bookworm-slim

# The llama.cpp compile stage is byte-identical to the one of gguf-builder.Dockerfile, so a layer
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
LABEL org.opencontainers.image.title="llmops llama.cpp server (CPU)" \
      org.opencontainers.image.licenses="MIT"
COPY --from=llama-cpp /llama.cpp/build/bin/llama-server /app/llama-server
ENV PATH=/app:${PATH}
WORKDIR /app
USER 1000:1000
EXPOSE 8080
ENTRYPOINT ["/app/llama-server"]
