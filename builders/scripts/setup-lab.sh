#!/usr/bin/env bash
# Install everything the builder tests need on a CPU machine: Python deps, llama.cpp tools, a Triton venv.
#
# Idempotent: every expensive step (sdist download, llama.cpp build, side venv) is cached under
# ${LLMOPS_CACHE_DIR:-$HOME/.cache/llmops}/lab/<versioned-name> and skipped when its stamp is present,
# so a second run takes seconds. At the end it writes $LAB/lab.env, which the tests read.
#
# Usage: builders/scripts/setup-lab.sh [--python PATH]   (default: <repo>/.venv/bin/python)
set -euo pipefail

here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
repo="$(cd "$here/../.." && pwd)"
python="$repo/.venv/bin/python"
while [[ $# -gt 0 ]]; do
  case "$1" in
    --python) python="$2"; shift 2 ;;
    *) echo "setup-lab: unknown argument $1" >&2; exit 2 ;;
  esac
done

LAB="${LLMOPS_CACHE_DIR:-${XDG_CACHE_HOME:-$HOME/.cache}/llmops}/lab"
LLAMA_CPP_PYTHON_VERSION=0.3.36
PYTRITON_VERSION=0.7.0
jobs="${LLMOPS_BUILD_JOBS:-$(nproc)}"
mkdir -p "$LAB"
start=$SECONDS
say() { printf 'setup-lab [%4ss] %s\n' "$((SECONDS - start))" "$*"; }

# --- 1. llama-cpp-python sdist: the only PyPI source of llama.cpp's own convert_hf_to_gguf.py -------
lc_root="$LAB/llama-cpp-python-$LLAMA_CPP_PYTHON_VERSION"
lc_src="$lc_root/src"
if [[ ! -f "$lc_root/.unpacked" ]]; then
  say "downloading llama-cpp-python $LLAMA_CPP_PYTHON_VERSION sdist"
  mkdir -p "$lc_root/dl"
  # --no-binary for this package only: with :all: pip would also build every build dependency from source.
  "$python" -m pip download --quiet --no-deps --no-binary llama-cpp-python \
    "llama-cpp-python==$LLAMA_CPP_PYTHON_VERSION" -d "$lc_root/dl"
  rm -rf "$lc_src.tmp" && mkdir -p "$lc_src.tmp"
  tar -xzf "$lc_root/dl/llama_cpp_python-$LLAMA_CPP_PYTHON_VERSION.tar.gz" -C "$lc_src.tmp" --strip-components=1
  rm -rf "$lc_src" && mv "$lc_src.tmp" "$lc_src"
  touch "$lc_root/.unpacked"
fi
llama_cpp_dir="$lc_src/vendor/llama.cpp"

# --- 2. llama-server, llama-quantize and the shared libraries, from that same vendored llama.cpp -----
# One shared-library build serves the native tools and the Python binding (via LLAMA_CPP_LIB_PATH),
# which halves the compile time compared with building the wheel and the tools separately.
lc_build="$lc_root/build"
build_llama_cpp() {
  # The web UI is not needed (probes and the OpenAI API only); ON would download it at build time.
  cmake -S "$llama_cpp_dir" -B "$lc_build" -DCMAKE_BUILD_TYPE=Release \
    -DBUILD_SHARED_LIBS=ON -DLLAMA_BUILD_TESTS=OFF -DLLAMA_BUILD_EXAMPLES=OFF -DLLAMA_BUILD_APP=OFF \
    -DLLAMA_BUILD_TOOLS=ON -DLLAMA_BUILD_SERVER=ON -DLLAMA_BUILD_UI=OFF -DLLAMA_USE_PREBUILT_UI=OFF \
    -DLLAMA_OPENSSL=OFF -DLLAMA_CURL=OFF >"$lc_root/cmake-configure.log" 2>&1 \
    || { tail -40 "$lc_root/cmake-configure.log" >&2; exit 1; }
  cmake --build "$lc_build" --target llama-server llama-quantize -j "$jobs" >"$lc_root/cmake-build.log" 2>&1 \
    || { tail -40 "$lc_root/cmake-build.log" >&2; exit 1; }
  touch "$lc_build/.built"
}
build_pid=""
# Never leave a compiler running behind a failed setup. An `a && b` list whose last command fails trips
# errexit inside the trap and turns a successful run's status into 1: keep the status explicitly.
stop_build() {
  local status=$?
  if [[ -n "$build_pid" ]]; then kill "$build_pid" 2>/dev/null || true; fi
  exit "$status"
}
trap stop_build EXIT
if [[ ! -f "$lc_build/.built" ]]; then
  say "building llama-server + llama-quantize in the background (several minutes on 2 cores)"
  # Compiling is CPU-bound and the pip steps below are mostly downloads: run them side by side.
  build_llama_cpp &
  build_pid=$!
fi

# --- 3. Triton: pytriton's bundled tritonserver needs numpy<2, so it gets its own venv -------------
py_tag="$("$python" -c 'import sys; print(f"py{sys.version_info[0]}{sys.version_info[1]}")')"
tr_root="$LAB/triton-pytriton-$PYTRITON_VERSION-$py_tag"
tr_req="$repo/builders/requirements-triton.txt"
tr_stamp="$tr_root/.ready-$(sha256sum <"$tr_req" | cut -c1-16)"
if [[ ! -f "$tr_stamp" ]]; then
  say "creating the Triton venv (nvidia-pytriton $PYTRITON_VERSION)"
  rm -rf "$tr_root"
  # The venv must be made from the real interpreter: the python backend stub embeds its libpython.
  base_python="$("$python" -c 'import sys; print(sys._base_executable)')"
  "$base_python" -m venv "$tr_root/venv"
  "$tr_root/venv/bin/pip" install --quiet -r "$tr_req"
  site="$("$tr_root/venv/bin/python" -c 'import sysconfig; print(sysconfig.get_paths()["purelib"])')"
  # A standalone server tree: the bundled server plus the stub for this Python in backends/python.
  cp -a "$site/pytriton/tritonserver" "$tr_root/server"
  pyver="$("$python" -c 'import sys; print(f"{sys.version_info[0]}.{sys.version_info[1]}")')"
  stub="$(find "$tr_root/server" -path "*python_backend_stubs/$pyver/triton_python_backend_stub" | head -1)"
  [[ -n "$stub" ]] || { echo "setup-lab: no python backend stub for Python $pyver" >&2; exit 1; }
  cp "$stub" "$tr_root/server/backends/python/triton_python_backend_stub"
  touch "$tr_stamp"
fi

# --- 4. Python packages of the builders into the given interpreter --------------------------------
req="$repo/builders/requirements-lab.txt"
# The stamp lives inside the target environment, so a recreated venv is always filled again.
prefix="$("$python" -c 'import sys; print(sys.prefix)')"
req_stamp="$prefix/.llmops-lab-$(cat "$req" <(echo "$LLAMA_CPP_PYTHON_VERSION") | sha256sum | cut -c1-16)"
if [[ ! -f "$req_stamp" ]]; then
  say "installing builder Python packages into $python"
  # scripts/setup.sh installs the project into the same environment at the same time: one pip at a time.
  exec 8>"$prefix/.llmops-pip.lock"
  flock 8
  "$python" -m pip install --quiet -r "$req"
  # The binding's own build would compile llama.cpp a second time; its libraries come from step 2.
  wheel_dir="$lc_root/wheel"
  if ! compgen -G "$wheel_dir/llama_cpp_python-*.whl" >/dev/null; then
    CMAKE_ARGS="-DLLAMA_BUILD=OFF -DLLAVA_BUILD=OFF" "$python" -m pip wheel --quiet --no-deps \
      "$lc_root/dl/llama_cpp_python-$LLAMA_CPP_PYTHON_VERSION.tar.gz" -w "$wheel_dir"
  fi
  "$python" -m pip install --quiet --no-deps "$wheel_dir"/llama_cpp_python-*.whl \
    "typing-extensions>=4.5" "diskcache>=5.6.1"
  touch "$req_stamp"
  exec 8>&-
fi

if [[ -n "$build_pid" ]]; then
  say "waiting for the llama.cpp build"
  wait "$build_pid" || { echo "setup-lab: the llama.cpp build failed (see $lc_root/cmake-build.log)" >&2; exit 1; }
  build_pid=""  # reaped: its pid may belong to another process by the time the script exits
fi

# --- 5. What the tests read ------------------------------------------------------------------------
tr_site="$("$tr_root/venv/bin/python" -c 'import sysconfig; print(sysconfig.get_paths()["purelib"])')"
libpython_dir="$("$python" -c 'import sysconfig; print(sysconfig.get_config_var("LIBDIR"))')"
cat >"$LAB/lab.env.tmp" <<EOF
LLMOPS_LLAMA_CPP_DIR=$llama_cpp_dir
LLMOPS_LLAMA_SERVER=$lc_build/bin/llama-server
LLMOPS_LLAMA_QUANTIZE=$lc_build/bin/llama-quantize
LLAMA_CPP_LIB_PATH=$lc_build/bin
LLMOPS_TRITON_VENV=$tr_root/venv
LLMOPS_TRITONSERVER=$tr_root/server/bin/tritonserver
LLMOPS_TRITON_BACKENDS=$tr_root/server/backends
LLMOPS_TRITON_LD_LIBRARY_PATH=$libpython_dir:$tr_site/nvidia_pytriton.libs:$tr_root/server/external_libs
EOF
mv "$LAB/lab.env.tmp" "$LAB/lab.env"
say "ready: $LAB/lab.env"
