#!/usr/bin/env bash
# On the device: vLLM from the parts ../shared/gpu-lab/prepare.sh staged (the trimmed tree in split xz parts, its
# sha256, flashinfer and the wheels the device image lacks) into SITE, with a guarded `vllm` console script.
# Usage: install-vllm.sh PARTS SITE
set -euo pipefail
parts="$1" site="$2"
cat "$parts"/vllm-*-trim.tar.xz.part-* >/root/vllm.tar.xz
sed "s#/root/vllm.tar.xz#/root/vllm.tar.xz#" "$parts/vllm.sha256" | sha256sum -c -
mkdir -p "$site/bin"
tar -xJf /root/vllm.tar.xz -C "$site" 2>/dev/null || python3 -c "import sys, tarfile; tarfile.open(sys.argv[1]).extractall(sys.argv[2])" /root/vllm.tar.xz "$site"
python3 -m pip install -q --no-index --no-deps --no-compile --no-cache-dir --target "$site" "$parts"/*.whl 2>&1 \
  | grep -v "Running pip as the 'root'" || true
# vLLM starts its engine with multiprocessing spawn, which re-imports the main module: the guard is required.
printf '#!%s\nimport sys\nfrom vllm.entrypoints.cli.main import main\nif __name__ == "__main__":\n    sys.exit(main())\n' \
  "$(command -v python3)" >"$site/bin/vllm"
chmod a+x "$site/bin/vllm"
