#!/usr/bin/env bash
# Runs every benchmark scenario once and prints one table, each figure beside
# its same-run baseline and the issue's target (docs/performance.md).
# Installs the load generator (wrk) and the reference proxy (nginx-light)
# first. Arguments go to ferrybench: -run core, -o table.md, -quick.
set -euo pipefail
cd "$(dirname "$0")/.."
export PATH=$PATH:/usr/local/go/bin
./scripts/install-deps.sh wrk nginx-light
command -v go >/dev/null || { echo "bench: Go is required (Debian: see README), put it on PATH"; exit 1; }
exec go run ./bench/cmd/ferrybench "$@"
