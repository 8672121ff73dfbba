#!/usr/bin/env bash
# Builds Ferry and starts `ferry serve` on the embedded default
# (http://127.0.0.1:8080). Extra arguments go to `ferry serve`. The first
# build downloads the Go modules it needs (about a minute); later ones take
# seconds.
set -euo pipefail
cd "$(dirname "$0")/.."
export PATH=$PATH:/usr/local/go/bin
command -v go >/dev/null || { echo "serve: Go is required (Debian: see README), put it on PATH"; exit 1; }
bins=(ferry watchdog)   # the default needs no ferry-kubernetes
[[ " $* ${FERRY_RUNTIME:-} " == *containerd* ]] && bins+=(ferry-containerd)
./scripts/build.sh "${bins[@]}"
exec ./bin/ferry serve "$@"
