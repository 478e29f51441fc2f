# llama.cpp server image (CUDA) for the GGUF artifact on GPUs: llama-server from the same llama.cpp as the
# GGUF builder and the CPU server (the vendored tree of the llama-cpp-python sdist, the builders' one pin),
# compiled by builders/scripts/build-llama-cpp-cuda.sh, the CUDA cmake command the GPU harness runs too.
# The operator runs /app/llama-server --model /models/artifacts/<hex>/model.gguf --metrics ... as a
# non-root user with a read-only root filesystem, like the CPU image.
# Build from the repository root: docker build -f builders/docker/llama-cpp-server-cuda.Dockerfile .
#
# Not built here: no NVIDIA image is reachable from the machines that build the other images
# (e2e/images/build-images.sh builds every Dockerfile but this one and tensorrt-llm-builder's); tests check
# it statically (hadolint, the pin, the cmake flags against the CPU image's).
#
# CUDA 12.8.1 on Ubuntu 24.04: the pair upstream llama.cpp's own CUDA image uses at this vendored commit
# (.devops/cuda.Dockerfile, with GCC 14), the oldest toolkit that still covers every class llmops plans
# (sm_80/86/89/90), and one that runs on R570+ drivers (CUDA minor-version compatibility: R525+ for the
# prebuilt sm_80..90 code), where CUDA 13 would need R580+. For a CUDA 13 image pass BUILD_IMAGE and
# BASE_IMAGE of a 13.x release (nvidia/cuda:13.0.2-devel-ubuntu24.04 / -runtime-ubuntu24.04).
# The runtime image carries what the binary links besides glibc: libcudart, libcublas(Lt), libnccl;
# libcuda comes from the node's driver (NVIDIA container toolkit).
ARG BUILD_IMAGE=nvidia/cuda:12.8.1-devel-ubuntu24.04
ARG BASE_IMAGE=nvidia/cuda:12.8.1-runtime-ubuntu24.04

FROM ${BUILD_IMAGE} AS llama-cpp
ARG LLAMA_CPP_PYTHON_VERSION=0.3.36
ARG GCC_VERSION=14
# Host compiler, Python (pip download of the sdist) and, in a venv, the same cmake as the CPU build.
# hadolint ignore=DL3008
RUN apt-get update \
 && apt-get install -y --no-install-recommends "gcc-${GCC_VERSION}" "g++-${GCC_VERSION}" make python3 python3-venv \
 && rm -rf /var/lib/apt/lists/* \
 && python3 -m venv /opt/tools \
 && /opt/tools/bin/pip install --no-cache-dir cmake==3.31.6
ENV PATH=/opt/tools/bin:${PATH} \
    CC=gcc-${GCC_VERSION} \
    CXX=g++-${GCC_VERSION} \
    CUDAHOSTCXX=g++-${GCC_VERSION}
WORKDIR /build
RUN pip download --no-cache-dir --no-deps --no-binary llama-cpp-python "llama-cpp-python==${LLAMA_CPP_PYTHON_VERSION}" -d . \
 && tar -xzf "llama_cpp_python-${LLAMA_CPP_PYTHON_VERSION}.tar.gz" \
 && mv "llama_cpp_python-${LLAMA_CPP_PYTHON_VERSION}/vendor/llama.cpp" /llama.cpp \
 && rm -rf "llama_cpp_python-${LLAMA_CPP_PYTHON_VERSION}" "llama_cpp_python-${LLAMA_CPP_PYTHON_VERSION}.tar.gz"
# sm_80/86 (A100, A10G, RTX 3090), sm_89 (L4, L40S, RTX 40) and sm_90 (H100, H200); override for fewer.
ARG CUDA_ARCHITECTURES="80;86;89;90"
COPY builders/scripts/build-llama-cpp-cuda.sh /build/build-llama-cpp-cuda.sh
RUN /build/build-llama-cpp-cuda.sh /llama.cpp /llama.cpp/build "${CUDA_ARCHITECTURES}"

FROM ${BASE_IMAGE}
LABEL org.opencontainers.image.title="llmops llama.cpp server (CUDA)" \
      org.opencontainers.image.licenses="MIT"
COPY --from=llama-cpp /llama.cpp/build/bin/llama-server /app/llama-server
ENV PATH=/app:${PATH}
WORKDIR /app
USER 1000:1000
EXPOSE 8080
ENTRYPOINT ["/app/llama-server"]
