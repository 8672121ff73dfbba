#!/usr/bin/env bash
# Builds Ferry's binaries into ./bin: ferry, watchdog, ferry-containerd and
# ferry-kubernetes,
# or only those named (./scripts/build.sh ferry watchdog).
set -euo pipefail
cd "$(dirname "$0")/.."
ver=$(git describe --tags --always --dirty 2>/dev/null || echo dev)
sha=$(git rev-parse --short HEAD 2>/dev/null || echo unknown)
ld="-s -w -X github.com/ferryfaas/ferry/cli.Version=$ver -X github.com/ferryfaas/ferry/cli.Commit=$sha"
mkdir -p bin
targets=("$@")
[ ${#targets[@]} -gt 0 ] || targets=(ferry watchdog ferry-containerd ferry-kubernetes)
for t in "${targets[@]}"; do
  start=$(date +%s)
  case "$t" in
    ferry) echo "build: bin/ferry (the CLI and server)..." ;;
    watchdog) echo "build: bin/watchdog (runs in front of every function)..." ;;
    ferry-containerd) echo "build: bin/ferry-containerd (ferry with the containerd runtime: serve --runtime containerd runs it)..." ;;
    ferry-kubernetes) echo "build: bin/ferry-kubernetes (ferry with the Kubernetes provider; the first build takes a few minutes)..." ;;
    *) echo "build: unknown binary $t (ferry, watchdog, ferry-containerd, ferry-kubernetes)" >&2; exit 2 ;;
  esac
  flags=$ld
  [ "$t" = watchdog ] && flags="-s -w"
  CGO_ENABLED=0 go build -trimpath -ldflags "$flags" -o "bin/$t" "./cmd/$t"
  echo "build: bin/$t done in $(( $(date +%s) - start ))s"
done
