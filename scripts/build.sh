#!/usr/bin/env bash
# Builds ferry and the static watchdog into ./bin.
set -euo pipefail
cd "$(dirname "$0")/.."
ver=$(git describe --tags --always --dirty 2>/dev/null || echo dev)
sha=$(git rev-parse --short HEAD 2>/dev/null || echo unknown)
ld="-s -w -X github.com/ferryfaas/ferry/cli.Version=$ver -X github.com/ferryfaas/ferry/cli.Commit=$sha"
mkdir -p bin
CGO_ENABLED=0 go build -trimpath -ldflags "$ld" -o bin/ferry ./cmd/ferry
CGO_ENABLED=0 go build -trimpath -ldflags "$ld" -o bin/ferry-kubernetes ./cmd/ferry-kubernetes
CGO_ENABLED=0 go build -trimpath -ldflags "-s -w" -o bin/watchdog ./cmd/watchdog
