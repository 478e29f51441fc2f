#!/usr/bin/env bash
# Build (or reuse) the pinned control-plane binaries the embedded cluster runs.
#
# Output: $LLMOPS_BIN_DIR (default ~/.cache/llmops/bin/<versions>) holding etcd, kube-apiserver,
# kube-controller-manager, kube-scheduler, kwok and helm; the directory is the last line on stdout.
# Idempotent: each binary is built once, verified (its --version must report the pinned version),
# and then recorded in a stamp file ($bin_dir/.built-<name>); later runs only read the stamps.
# Needs Go >= 1.26 and the Go module proxy for a cold build (~10 min on 2 cores, see README.md).
set -euo pipefail

K8S_VERSION="${K8S_VERSION:-1.36.3}"
ETCD_VERSION="${ETCD_VERSION:-3.6.16}"
KWOK_VERSION="${KWOK_VERSION:-0.8.0}"
HELM_VERSION="${HELM_VERSION:-4.3.1}"

cache_root="${LLMOPS_CACHE_DIR:-${XDG_CACHE_HOME:-$HOME/.cache}/llmops}"
tag="k8s${K8S_VERSION}-etcd${ETCD_VERSION}-kwok${KWOK_VERSION}-helm${HELM_VERSION}"
bin_dir="${LLMOPS_BIN_DIR:-$cache_root/bin/$tag}"
work_dir="$cache_root/build/$tag"
mkdir -p "$bin_dir" "$work_dir"

export CGO_ENABLED=0 GOTOOLCHAIN=local GOFLAGS=-mod=mod
# Keep module and build caches beside the binaries so a warm machine never re-downloads.
export GOMODCACHE="${GOMODCACHE:-$cache_root/gomod}" GOCACHE="${GOCACHE:-$cache_root/gocache}"

log() { printf '[build-binaries] %s\n' "$*" >&2; }

# Two callers at once (a test run and `llmops dev up`) must not build into the same files.
exec 9>"$work_dir/.lock"
flock 9

# cached NAME VERSION PROBE...: true when NAME is built at VERSION. A binary without a stamp (built
# before stamps existed) is adopted when PROBE's output contains VERSION.
cached() {
  local name="$1" version="$2"; shift 2
  [ -x "$bin_dir/$name" ] || return 1
  [ "$(cat "$bin_dir/.built-$name" 2>/dev/null)" = "$version" ] && return 0
  if "$@" 2>/dev/null | grep -qF -- "$version"; then stamp "$name" "$version"; return 0; fi
  return 1
}

# verify NAME VERSION PROBE...: a fresh build must report the pinned version, else the build failed.
verify() {
  local name="$1" version="$2"; shift 2
  local out; out=$("$@" 2>&1 || true)
  if ! grep -qF -- "$version" <<<"$out"; then
    log "$name: built binary reports '$out', expected $version"; exit 1
  fi
  stamp "$name" "$version"
}

stamp() { printf '%s\n' "$2" >"$bin_dir/.built-$1"; }

require_go() {
  command -v go >/dev/null || { log "go not found: a cold build needs Go >= 1.26 (or set LLMOPS_BIN_DIR to prebuilt binaries)"; exit 1; }
}

build_kubernetes() {
  local v="v$K8S_VERSION" names=(kube-apiserver kube-controller-manager kube-scheduler) all=1 n
  for n in "${names[@]}"; do cached "$n" "$v" "$bin_dir/$n" --version || all=0; done
  if [ "$all" = 1 ]; then log "kubernetes $v: cached"; return; fi
  require_go
  log "kubernetes $v: building (cold: ~10 min on 2 cores)"
  local minor="${K8S_VERSION#*.}"; minor="${minor%%.*}"
  local mod="$work_dir/k8s"; rm -rf "$mod"; mkdir -p "$mod"; cd "$mod"
  go mod init local/llmops-k8s-bins >/dev/null 2>&1
  local upstream_gomod
  upstream_gomod=$(go mod download -json "k8s.io/kubernetes@$v" \
    | python3 -c 'import json,sys; print(json.load(sys.stdin)["GoMod"])')
  # Copy upstream's go/godebug lines: the main module's lines decide GODEBUG defaults.
  local go_line godebug
  go_line=$(sed -n 's/^go \([0-9.]*\)$/\1/p' "$upstream_gomod" | head -1)
  godebug=$(sed -n 's/^godebug default=\(go[0-9.]*\)$/\1/p' "$upstream_gomod" | head -1)
  go mod edit -go="$go_line"
  if [ -n "$godebug" ]; then go mod edit -godebug="default=$godebug"; fi
  # Every staging module is required at v0.0.0 upstream; point each at its published v0.<minor>.<patch>.
  local staging m
  staging=$(sed -n 's#^[[:space:]]*\(k8s\.io/[a-z0-9-]*\) => \./staging/.*#\1#p' "$upstream_gomod")
  for m in $staging; do go mod edit -replace="$m=$m@v0.${K8S_VERSION#1.}"; done
  go get "k8s.io/kubernetes@$v"
  # The variables hack/lib/version.sh sets: without them /version says v0.0.0-master.
  local ldf="-s -w" p
  for p in k8s.io/component-base/version k8s.io/client-go/pkg/version; do
    ldf="$ldf -X $p.gitVersion=$v -X $p.gitMajor=1 -X $p.gitMinor=$minor -X $p.gitTreeState=clean"
  done
  go build -trimpath -ldflags "$ldf" -o "$bin_dir/" \
    k8s.io/kubernetes/cmd/kube-apiserver k8s.io/kubernetes/cmd/kube-controller-manager k8s.io/kubernetes/cmd/kube-scheduler
  for n in "${names[@]}"; do verify "$n" "$v" "$bin_dir/$n" --version; done
}

build_etcd() {
  local v="$ETCD_VERSION"
  if cached etcd "$v" "$bin_dir/etcd" --version; then log "etcd v$v: cached"; return; fi
  require_go
  log "etcd v$v: building"
  local mod="$work_dir/etcd"; rm -rf "$mod"; mkdir -p "$mod"; cd "$mod"
  go mod init local/llmops-etcd-bin >/dev/null 2>&1
  go get "go.etcd.io/etcd/server/v3@v$v"
  go build -trimpath -ldflags "-s -w" -o "$bin_dir/etcd" go.etcd.io/etcd/server/v3
  verify etcd "$v" "$bin_dir/etcd" --version
}

build_kwok() {
  local v="v$KWOK_VERSION"
  # kwok prints the module version `go install` embeds ("kwok version v0.8.0 go1.26.8 ...").
  if cached kwok "$v" "$bin_dir/kwok" --version; then log "kwok $v: cached"; return; fi
  require_go
  log "kwok $v: building"
  GOBIN="$bin_dir" go install -trimpath -ldflags "-s -w" "sigs.k8s.io/kwok/cmd/kwok@$v"
  verify kwok "$v" "$bin_dir/kwok" --version
}

build_helm() {
  # helm v4: the current major, and it builds with Go 1.26. Without the Makefile's ldflags it would
  # call itself "v4.3", so the full version is stamped the same way.
  local v="v$HELM_VERSION"
  if cached helm "$v" "$bin_dir/helm" version --template '{{.Version}}'; then log "helm $v: cached"; return; fi
  require_go
  log "helm $v: building"
  GOBIN="$bin_dir" go install -trimpath \
    -ldflags "-s -w -X helm.sh/helm/v4/internal/version.version=$v -X helm.sh/helm/v4/internal/version.gitTreeState=clean" \
    "helm.sh/helm/v4/cmd/helm@$v"
  verify helm "$v" "$bin_dir/helm" version --template '{{.Version}}'
}

build_etcd
build_kwok
build_helm
build_kubernetes
log "binaries ready in $bin_dir"
echo "$bin_dir"
