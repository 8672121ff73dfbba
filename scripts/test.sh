#!/usr/bin/env bash
# Runs every test suite of Ferry in one pass: vet, unit and race tests,
# end-to-end tests against real components (NATS, containerd, Prometheus,
# Alertmanager, Chromium). Installs what it needs first.
set -euo pipefail
cd "$(dirname "$0")/.."
export PATH=$PATH:/usr/local/go/bin:/usr/sbin:/sbin
./scripts/install-deps.sh
./scripts/build.sh
echo "== go vet"
go vet ./...
echo "== go test -race (unit + e2e)"
go test -race -count=1 -timeout 40m ./... 2>&1 | tee /tmp/ferry-test.log | grep -Ev '^(=== RUN|=== PAUSE|=== CONT)'
echo "$(grep -c '^ok' /tmp/ferry-test.log) passed, $(grep -c '^FAIL' /tmp/ferry-test.log) failed"
