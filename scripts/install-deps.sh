#!/usr/bin/env bash
# Installs what Ferry's tests need on a fresh Debian 12 machine (idempotent).
# Nothing here is needed to *run* `ferry serve` on the embedded default.
# With arguments, installs those Debian packages instead (scripts/bench.sh).
set -euo pipefail
pkgs=(containerd runc containernetworking-plugins iptables iproute2 etcd-server
      prometheus prometheus-alertmanager nats-server wrk chromium python3 nodejs
      openssl procps psmisc python3-pip kcat buildah busybox-static
      rustc cargo libstd-rust-dev-wasm32)  # the rust-wasm template (wasm32-wasi std)
(($#)) && pkgs=("$@")
missing=()
for p in "${pkgs[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
if ((${#missing[@]})); then
  echo "install-deps: installing ${missing[*]}"
  SUDO=""; [ "$(id -u)" = 0 ] || SUDO=sudo
  for try in 1 2 3 4 5; do
    if $SUDO apt-get update -qq && DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq "${missing[@]}" >/tmp/ferry-apt.log 2>&1; then
      break
    fi
    echo "install-deps: apt-get failed (try $try), retrying in 5s; see /tmp/ferry-apt.log"; sleep 5
    [ "$try" = 5 ] && { tail -20 /tmp/ferry-apt.log; exit 1; }
  done
fi
command -v go >/dev/null || { echo "install-deps: Go is required (https://go.dev/dl), put it on PATH"; exit 1; }
