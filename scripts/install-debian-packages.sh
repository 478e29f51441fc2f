#!/usr/bin/env bash
# Install what the project takes from Debian, in one apt-get call (idempotent; a warm run only looks for
# the commands). Needs root (or sudo) and apt. What each package is for:
#   runc         the OCI runtime that containerd's runc shim calls on the real worker node (built from source
#                it would need cgo and libseccomp, so it is the one node binary not built by build-binaries.sh)
#   iptables     kube-proxy's default (iptables) mode writes Service rules with iptables-restore; the CNI
#                bridge (ipMasq) and portmap (hostPort) plugins add their NAT rules with iptables
#   conntrack    to inspect and flush the node's connection tracking table when a Service test misbehaves
#                (kube-proxy 1.36 itself clears stale UDP entries over netlink, without it)
#   buildah      builds the container images for the real node (e2e/images) without a Docker daemon
#   debootstrap  makes those images' Debian root filesystems (it verifies with gpgv and the archive keyring,
#                which apt itself depends on)
# Left out on purpose: socat and ethtool (kubeadm's preflight asks for them, but containerd's CRI port-forward
# is in-process Go and the CNI plugins set up veths over netlink), ipset (kube-proxy's ipvs mode only), nftables
# (kube-proxy's nftables mode only), kmod (this kernel has its modules built in), and gcc/libc6-dev for the
# static pause binary (g++ is already a prerequisite of the whole set-up, see README.md), and prometheus: Debian's
# (2.42.0+ds) is built without Kubernetes service discovery, so build-binaries.sh builds Prometheus 3.
#
# LLMOPS_SBIN_PATH (default /usr/local/sbin:/usr/sbin:/sbin) is searched besides PATH, because a user's PATH on
# Debian lacks the sbin directories where runc, iptables and conntrack live; the set-up tests set it empty.
set -euo pipefail

# package:commands; the package counts as installed when all its commands are found.
packages=(
  "runc:runc"
  "iptables:iptables iptables-save iptables-restore"
  "conntrack:conntrack"
  "buildah:buildah"
  "debootstrap:debootstrap"
)

sbin_path="${LLMOPS_SBIN_PATH-/usr/local/sbin:/usr/sbin:/sbin}"
have() { PATH="$PATH${sbin_path:+:$sbin_path}" command -v "$1" >/dev/null 2>&1; }

missing=()
for entry in "${packages[@]}"; do
  for cmd in ${entry#*:}; do
    if ! have "$cmd"; then missing+=("${entry%%:*}"); break; fi
  done
done
if [ "${#missing[@]}" -eq 0 ]; then
  exit 0
fi

sudo=""
if [ "$(id -u)" -ne 0 ]; then
  sudo="sudo"
fi
export DEBIAN_FRONTEND=noninteractive
# A fresh machine has no package lists yet; refresh them only when a package is unknown.
if ! apt-cache show "${missing[@]}" >/dev/null 2>&1; then
  $sudo apt-get update -qq
fi
# No recommends: criu (runc), fuse-overlayfs (buildah) are not needed.
# Stale package lists: refresh once and retry.
install() { $sudo apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null; }
if ! install; then
  $sudo apt-get update -qq
  install
fi

for entry in "${packages[@]}"; do
  for cmd in ${entry#*:}; do
    if ! have "$cmd"; then
      echo "install-debian-packages: ${entry%%:*} is installed, but $cmd is not found" >&2
      exit 1
    fi
  done
done
