#!/usr/bin/env bash
# Build llama-server and llama-quantize with CUDA from a llama.cpp source tree: the one CUDA cmake
# command of the project, run by builders/docker/llama-cpp-server-cuda.Dockerfile and by the GPU harness.
#
# Usage: builders/scripts/build-llama-cpp-cuda.sh SRC BUILD [ARCHS]
#   SRC    a llama.cpp tree: vendor/llama.cpp of the llama-cpp-python sdist, the builders' one pin
#          (LLAMA_CPP_PYTHON_VERSION in builders/llmops_builders/versions.py)
#   BUILD  the build directory; the binaries land in BUILD/bin
#   ARCHS  CMAKE_CUDA_ARCHITECTURES, default "80;86;89;90": the GPU classes llmops plans
#          (A100, A10G, RTX 3090: sm_80/86; L4, L40S, RTX 40: sm_89; H100, H200: sm_90).
#          One GPU's own, e.g. 90 on an H200, compiles several times faster.
# Environment: LLMOPS_BUILD_JOBS (default: nproc) parallel compile jobs.
# Needs cmake >= 3.18, a C/C++ compiler and the CUDA toolkit (nvcc; CUDACXX or PATH finds it).
# Run on an H200 machine (CUDA 13.0, GCC 13, cmake 4, ARCHS=90): 336 s on 16 cores; its llama-server
# lists CUDA0 and links libcudart/libcublas(Lt) 13, libnccl and the driver's libcuda.
#
# The flags are those of the CPU build (builders/docker/llama-cpp-server.Dockerfile; a test keeps them a
# superset of its cmake line) plus CUDA: portable (GGML_NATIVE=OFF: no -march=native and no "native"
# CUDA architectures), static llama/ggml libraries, libgcc and libstdc++, no OpenMP, llama-server without
# its web UI and without curl or OpenSSL. The binaries then need glibc, the CUDA runtime and cuBLAS of the
# toolkit's major version (which bring the system's libstdc++), libcuda from the driver, and libnccl if the
# build found NCCL (GGML_CUDA_NCCL is ggml's default, ON: multi-GPU reductions; the nvidia/cuda devel
# images have it, their runtime images too).
set -euo pipefail

if (($# < 2 || $# > 3)); then
  echo "usage: $0 SRC BUILD [ARCHS]" >&2
  exit 2
fi
src="$1"
build="$2"
archs="${3:-80;86;89;90}"
jobs="${LLMOPS_BUILD_JOBS:-$(nproc)}"
if [[ ! -f "$src/CMakeLists.txt" || ! -d "$src/ggml/src/ggml-cuda" ]]; then
  echo "build-llama-cpp-cuda: $src is not a llama.cpp source tree with the CUDA backend" >&2
  exit 2
fi
if [[ ! "$archs" =~ ^[0-9]+[a-z]?(-real|-virtual)?(\;[0-9]+[a-z]?(-real|-virtual)?)*$ ]]; then
  echo "build-llama-cpp-cuda: ARCHS must be CUDA architectures separated by ';', e.g. 80;86;89;90 (got $archs)" >&2
  exit 2
fi

cmake -S "$src" -B "$build" -DCMAKE_BUILD_TYPE=Release -DBUILD_SHARED_LIBS=OFF \
  -DGGML_NATIVE=OFF -DGGML_OPENMP=OFF -DLLAMA_BUILD_TESTS=OFF -DLLAMA_BUILD_EXAMPLES=OFF \
  -DLLAMA_BUILD_TOOLS=ON -DLLAMA_BUILD_SERVER=ON -DLLAMA_BUILD_UI=OFF -DLLAMA_USE_PREBUILT_UI=OFF \
  -DLLAMA_OPENSSL=OFF -DLLAMA_CURL=OFF -DCMAKE_EXE_LINKER_FLAGS="-static-libgcc -static-libstdc++" \
  -DGGML_CUDA=ON -DCMAKE_CUDA_ARCHITECTURES="$archs"
cmake --build "$build" --target llama-quantize llama-server -j "$jobs"
