#!/usr/bin/env bash
# Install Prometheus and promtool from Debian's `prometheus` package (idempotent; a warm run is instant).
# The observability tests (tests/observability) run `promtool check rules`, `promtool test rules` and a
# real `prometheus` that scrapes the operator. Needs root (or sudo) and apt; the package's own service
# is not used: the tests start their own Prometheus on 127.0.0.1 with a temporary TSDB.
set -euo pipefail

if command -v prometheus >/dev/null 2>&1 && command -v promtool >/dev/null 2>&1; then
  exit 0
fi

sudo=""
if [ "$(id -u)" -ne 0 ]; then
  sudo="sudo"
fi
export DEBIAN_FRONTEND=noninteractive
# A fresh machine has no package lists yet; refresh them only when the package is unknown.
if ! apt-cache show prometheus >/dev/null 2>&1; then
  $sudo apt-get update -qq
fi
# The package's own service must not start (it would listen on :9090 with a TSDB in /var/lib/prometheus):
# without a policy-rc.d (Docker images have one), install a temporary one that forbids service starts.
policy=/usr/sbin/policy-rc.d
if [ ! -e "$policy" ]; then
  printf '#!/bin/sh\nexit 101\n' | $sudo tee "$policy" >/dev/null
  $sudo chmod 755 "$policy"
  trap '$sudo rm -f "$policy"' EXIT
fi
# No recommends: prometheus-node-exporter is not needed. Stale package lists: refresh once and retry.
install() { $sudo apt-get install -y -qq --no-install-recommends prometheus >/dev/null; }
if ! install; then
  $sudo apt-get update -qq
  install
fi

command -v prometheus >/dev/null && command -v promtool >/dev/null
