#!/usr/bin/env bash
# Build (or reuse) the pinned binaries the embedded cluster runs: the control plane, and what its one
# real worker node needs.
#
# Output: $LLMOPS_BIN_DIR (default ~/.cache/llmops/bin/<versions>) holding etcd, kube-apiserver,
# kube-controller-manager, kube-scheduler, kwok and helm (control plane); kubelet, kube-proxy,
# containerd, containerd-shim-runc-v2, ctr, crictl, coredns, local-path-provisioner, pause and the
# CNI plugins in cni/ (the real node); metrics-server, prometheus-adapter, prometheus and promtool
# (metrics and autoscaling). The directory is the last line on stdout.
# Idempotent: each binary is built once, verified (its --version must report the pinned version),
# and then recorded in a stamp file (.built-<name> beside it); later runs only read the stamps.
# Needs Go >= 1.26 and the Go module proxy for a cold build (~10 min on 2 cores, see README.md), and
# gcc with a static libc (Debian's libc6-dev) for pause. runc, iptables and conntrack are Debian's
# (scripts/install-debian-packages.sh): runc needs cgo and libseccomp.
set -euo pipefail

K8S_VERSION="${K8S_VERSION:-1.36.3}"
ETCD_VERSION="${ETCD_VERSION:-3.6.16}"
KWOK_VERSION="${KWOK_VERSION:-0.8.0}"
HELM_VERSION="${HELM_VERSION:-4.3.1}"
# The real node. kubelet and kube-proxy are K8S_VERSION. Each is the newest release the Go module
# proxy serves (with a checksum) that builds with Go 1.26; see README.md for why each one.
CONTAINERD_VERSION="${CONTAINERD_VERSION:-2.4.2}"
CNI_PLUGINS_VERSION="${CNI_PLUGINS_VERSION:-1.10.0}"
COREDNS_VERSION="${COREDNS_VERSION:-1.15.0}"
LOCAL_PATH_VERSION="${LOCAL_PATH_VERSION:-0.0.30}"
CRICTL_VERSION="${CRICTL_VERSION:-1.36.0}"
# Metrics and autoscaling. Debian's Prometheus (2.42) is built without Kubernetes service discovery.
METRICS_SERVER_VERSION="${METRICS_SERVER_VERSION:-0.8.0}"
PROMETHEUS_ADAPTER_VERSION="${PROMETHEUS_ADAPTER_VERSION:-0.12.0}"
PROMETHEUS_VERSION="${PROMETHEUS_VERSION:-3.16.0}"

script_dir=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
cache_root="${LLMOPS_CACHE_DIR:-${XDG_CACHE_HOME:-$HOME/.cache}/llmops}"
tag="k8s${K8S_VERSION}-etcd${ETCD_VERSION}-kwok${KWOK_VERSION}-helm${HELM_VERSION}"
tag+="-containerd${CONTAINERD_VERSION}-cni${CNI_PLUGINS_VERSION}-coredns${COREDNS_VERSION}"
tag+="-lpp${LOCAL_PATH_VERSION}-crictl${CRICTL_VERSION}"
tag+="-ms${METRICS_SERVER_VERSION}-pa${PROMETHEUS_ADAPTER_VERSION}-prom${PROMETHEUS_VERSION}"
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

# NAME is a path under $bin_dir (cni/bridge); its stamp lies beside it (cni/.built-bridge).
stamp_file() { local path="$bin_dir/$1"; printf '%s/.built-%s' "${path%/*}" "${path##*/}"; }

# cached NAME VERSION PROBE...: true when NAME is built at VERSION. A binary without a stamp (built
# before stamps existed) is adopted when PROBE's output contains VERSION.
cached() {
  local name="$1" version="$2"; shift 2
  [ -x "$bin_dir/$name" ] || return 1
  [ "$(cat "$(stamp_file "$name")" 2>/dev/null)" = "$version" ] && return 0
  if "$@" 2>/dev/null | grep -qF -- "$version"; then stamp "$name" "$version"; return 0; fi
  return 1
}

# building WHAT: log the start of a build; verify reports how long it took.
building() { log "$1: building"; build_start=$SECONDS; }
build_start=$SECONDS

# verify NAME VERSION PROBE...: a fresh build must report the pinned version, else the build failed.
verify() {
  local name="$1" version="$2"; shift 2
  local out; out=$("$@" 2>&1 || true)
  if ! grep -qF -- "$version" <<<"$out"; then
    log "$name: built binary reports '$out', expected $version"; exit 1
  fi
  stamp "$name" "$version"
  log "$name $version: built and verified (build took $((SECONDS - build_start)) s)"
}

stamp() { printf '%s\n' "$2" >"$(stamp_file "$1")"; }

require_go() {
  command -v go >/dev/null || { log "go not found: a cold build needs Go >= 1.26 (or set LLMOPS_BIN_DIR to prebuilt binaries)"; exit 1; }
}

build_kubernetes() {
  # One `go build` for all five: they share most packages, which are compiled once.
  local v="v$K8S_VERSION" names=(kube-apiserver kube-controller-manager kube-scheduler kubelet kube-proxy)
  local all=1 n
  for n in "${names[@]}"; do cached "$n" "$v" "$bin_dir/$n" --version || all=0; done
  if [ "$all" = 1 ]; then log "kubernetes $v: cached"; return; fi
  require_go
  building "kubernetes $v (cold: ~10 min on 2 cores)"
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
  go build -trimpath -ldflags "$ldf" -o "$bin_dir/" "${names[@]/#/k8s.io/kubernetes/cmd/}"
  for n in "${names[@]}"; do verify "$n" "$v" "$bin_dir/$n" --version; done
}

build_etcd() {
  local v="$ETCD_VERSION"
  if cached etcd "$v" "$bin_dir/etcd" --version; then log "etcd v$v: cached"; return; fi
  require_go
  building "etcd v$v"
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
  building "kwok $v"
  GOBIN="$bin_dir" go install -trimpath -ldflags "-s -w" "sigs.k8s.io/kwok/cmd/kwok@$v"
  verify kwok "$v" "$bin_dir/kwok" --version
}

build_helm() {
  # helm v4: the current major, and it builds with Go 1.26. Without the Makefile's ldflags it would
  # call itself "v4.3", so the full version is stamped the same way.
  local v="v$HELM_VERSION"
  if cached helm "$v" "$bin_dir/helm" version --template '{{.Version}}'; then log "helm $v: cached"; return; fi
  require_go
  building "helm $v"
  GOBIN="$bin_dir" go install -trimpath \
    -ldflags "-s -w -X helm.sh/helm/v4/internal/version.version=$v -X helm.sh/helm/v4/internal/version.gitTreeState=clean" \
    "helm.sh/helm/v4/cmd/helm@$v"
  verify helm "$v" "$bin_dir/helm" version --template '{{.Version}}'
}

build_containerd() {
  # containerd's version package says "2.4.2+unknown" unless the Makefile's ldflags set it. The tags
  # are upstream's defaults minus the snapshotters the node does not use (btrfs needs cgo; devmapper,
  # zfs); the node runs overlayfs. urfave_cli_no_docs leaves out the man-page generator, as upstream.
  local v="v$CONTAINERD_VERSION" mod=github.com/containerd/containerd/v2 all=1
  cached containerd "$v" "$bin_dir/containerd" --version || all=0
  cached containerd-shim-runc-v2 "$v" "$bin_dir/containerd-shim-runc-v2" -v || all=0
  cached ctr "$v" "$bin_dir/ctr" --version || all=0
  if [ "$all" = 1 ]; then log "containerd $v: cached"; return; fi
  require_go
  building "containerd $v"
  # go install MOD/PKG@V resolves the deps from containerd's own go.mod (it has no replace directives).
  GOBIN="$bin_dir" go install -trimpath -tags "no_btrfs no_devmapper no_zfs urfave_cli_no_docs" \
    -ldflags "-s -w -X $mod/version.Version=$v -X $mod/version.Package=$mod" \
    "$mod/cmd/containerd@$v" "$mod/cmd/containerd-shim-runc-v2@$v" "$mod/cmd/ctr@$v"
  verify containerd "$v" "$bin_dir/containerd" --version
  verify containerd-shim-runc-v2 "$v" "$bin_dir/containerd-shim-runc-v2" -v
  verify ctr "$v" "$bin_dir/ctr" --version
}

build_crictl() {
  local v="v$CRICTL_VERSION"
  if cached crictl "$v" "$bin_dir/crictl" --version; then log "crictl $v: cached"; return; fi
  require_go
  building "crictl $v"
  GOBIN="$bin_dir" go install -trimpath -ldflags "-s -w -X sigs.k8s.io/cri-tools/pkg/version.Version=$v" \
    "sigs.k8s.io/cri-tools/cmd/crictl@$v"
  verify crictl "$v" "$bin_dir/crictl" --version
}

# A CNI plugin has no --version: called without CNI_COMMAND it prints "CNI <name> plugin <version>"
# on stderr.
cni_about() { (unset CNI_COMMAND; "$1" 2>&1) || true; }

build_cni_plugins() {
  # What the node's bridge network needs: bridge + host-local IPAM for pods, loopback for every
  # sandbox's lo, portmap for hostPort. containerd finds them in $bin_dir/cni.
  local v="v$CNI_PLUGINS_VERSION" mod=github.com/containernetworking/plugins all=1 p
  local plugins=(main/bridge ipam/host-local main/loopback meta/portmap)
  for p in "${plugins[@]}"; do cached "cni/${p#*/}" "$v" cni_about "$bin_dir/cni/${p#*/}" || all=0; done
  if [ "$all" = 1 ]; then log "cni plugins $v: cached"; return; fi
  require_go
  building "cni plugins $v"
  mkdir -p "$bin_dir/cni"
  local pkgs=("${plugins[@]/#/$mod/plugins/}")
  GOBIN="$bin_dir/cni" go install -trimpath \
    -ldflags "-s -w -X $mod/pkg/utils/buildversion.BuildVersion=$v" "${pkgs[@]/%/@$v}"
  for p in "${plugins[@]}"; do verify "cni/${p#*/}" "$v" cni_about "$bin_dir/cni/${p#*/}"; done
}

build_coredns() {
  # The committed core/plugin/zplugin.go (generated from plugin.cfg) compiles in the kubernetes
  # plugin; coremain.CoreVersion is a constant, so no version ldflag is needed.
  local v="$COREDNS_VERSION"
  if cached coredns "$v" "$bin_dir/coredns" -version; then log "coredns v$v: cached"; return; fi
  require_go
  building "coredns v$v"
  GOBIN="$bin_dir" go install -trimpath -ldflags "-s -w" "github.com/coredns/coredns@v$v"
  verify coredns "$v" "$bin_dir/coredns" -version
}

build_local_path_provisioner() {
  # v0.0.30 is the newest release the Go proxy serves with a checksum (later tags are refused or
  # missing from sum.golang.org). Its scripts/build stamps main.VERSION; without it, it says 0.0.1.
  local v="v$LOCAL_PATH_VERSION"
  if cached local-path-provisioner "$v" "$bin_dir/local-path-provisioner" --version; then
    log "local-path-provisioner $v: cached"; return
  fi
  require_go
  building "local-path-provisioner $v"
  GOBIN="$bin_dir" go install -trimpath -ldflags "-s -w -X main.VERSION=$v" \
    "github.com/rancher/local-path-provisioner@$v"
  verify local-path-provisioner "$v" "$bin_dir/local-path-provisioner" --version
}

build_pause() {
  # Our own e2e/node/pause.c. Its "version" is a hash of the source and the flags, so an edit rebuilds.
  local src="${script_dir%/*}/node/pause.c" cc="${CC:-gcc}" v
  local cflags=(-Os -static -s -Wall -Wextra -Werror)
  [ -f "$src" ] || { log "pause: $src not found (build from a source checkout)"; exit 1; }
  v=$({ cat "$src"; echo "${cflags[*]}"; } | sha256sum | cut -c1-12)
  if cached pause "$v" "$bin_dir/pause" -v; then log "pause $v: cached"; return; fi
  command -v "$cc" >/dev/null || { log "$cc not found: pause needs a C compiler and a static libc (Debian: gcc libc6-dev)"; exit 1; }
  building "pause $v"
  # Statically linked: the sandbox image holds this one file and no libc.
  "$cc" "${cflags[@]}" -DPAUSE_VERSION="\"$v\"" -o "$bin_dir/pause" "$src"
  verify pause "$v" "$bin_dir/pause" -v
}

build_metrics_server() {
  # Its Makefile stamps client-go's version package; without it --version says v0.0.0-master.
  local v="v$METRICS_SERVER_VERSION"
  if cached metrics-server "$v" "$bin_dir/metrics-server" --version; then log "metrics-server $v: cached"; return; fi
  require_go
  building "metrics-server $v"
  GOBIN="$bin_dir" go install -trimpath -ldflags "-s -w -X k8s.io/client-go/pkg/version.gitVersion=$v" \
    "sigs.k8s.io/metrics-server/cmd/metrics-server@$v"
  verify metrics-server "$v" "$bin_dir/metrics-server" --version
}

build_prometheus_adapter() {
  # The proxy serves this exact version but lists none, so `go install MOD@V` (which asks for the list
  # to check deprecation) fails: it is required from a module of our own, as etcd is. It has no
  # --version flag; the build info that Go embeds names the module's version.
  local v="v$PROMETHEUS_ADAPTER_VERSION"
  if cached prometheus-adapter "$v" go version -m "$bin_dir/prometheus-adapter"; then
    log "prometheus-adapter $v: cached"; return
  fi
  require_go
  building "prometheus-adapter $v"
  local mod="$work_dir/prometheus-adapter"; rm -rf "$mod"; mkdir -p "$mod"; cd "$mod"
  go mod init local/llmops-prometheus-adapter-bin >/dev/null 2>&1
  go get "sigs.k8s.io/prometheus-adapter@$v"
  go build -trimpath -ldflags "-s -w" -o "$bin_dir/prometheus-adapter" sigs.k8s.io/prometheus-adapter/cmd/adapter
  verify prometheus-adapter "$v" go version -m "$bin_dir/prometheus-adapter"
}

build_prometheus() {
  # Prometheus 3.x is the module's v0.3xx.y. The build tags leave out every service discovery but
  # Kubernetes' (the cloud SDKs would double the build); without builtinassets the web UI is not
  # embedded, which the HTTP API does not need.
  local v="$PROMETHEUS_VERSION" mod=github.com/prometheus/prometheus all=1
  cached prometheus "$v" "$bin_dir/prometheus" --version || all=0
  cached promtool "$v" "$bin_dir/promtool" --version || all=0
  if [ "$all" = 1 ]; then log "prometheus $v: cached"; return; fi
  require_go
  building "prometheus $v"
  local major="${v%%.*}" rest="${v#*.}" module_version
  module_version="v0.$((major * 100 + ${rest%%.*})).${rest#*.}"
  GOBIN="$bin_dir" go install -trimpath -tags "remove_all_sd enable_kubernetes_sd" \
    -ldflags "-s -w -X github.com/prometheus/common/version.Version=$v -X github.com/prometheus/common/version.Branch=HEAD" \
    "$mod/cmd/prometheus@$module_version" "$mod/cmd/promtool@$module_version"
  verify prometheus "$v" "$bin_dir/prometheus" --version
  verify promtool "$v" "$bin_dir/promtool" --version
}

build_etcd
build_kwok
build_helm
build_kubernetes
build_containerd
build_crictl
build_cni_plugins
build_coredns
build_local_path_provisioner
build_pause
build_metrics_server
build_prometheus_adapter
build_prometheus
log "binaries ready in $bin_dir"
echo "$bin_dir"
