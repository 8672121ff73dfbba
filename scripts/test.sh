#!/usr/bin/env bash
# Runs every test suite of Ferry in one pass: go vet, unit and race tests,
# end-to-end tests against the real binary and real components (NATS,
# containerd, Prometheus, Alertmanager, Chromium), and the Kubernetes suite on
# a real single-node cluster. Installs what it needs first; the Kubernetes
# binaries are built once (about 40 min on 2 cores: control plane, kubelet, kube-proxy, CoreDNS, helm) in parallel with the
# other suites and cached under ~/.cache/ferry/kube/VERSION.
set -euo pipefail
cd "$(dirname "$0")/.."
export PATH=$PATH:/usr/local/go/bin:/usr/sbin:/sbin
export GOFLAGS=${GOFLAGS:-}
./scripts/install-deps.sh
log=$(mktemp -d /tmp/ferry-test.XXXX)
kube=${FERRY_KUBE:-1}
if [ "$kube" = 1 ]; then
  echo "== building Kubernetes test binaries in the background (cached by version) -> $log/kube-build.log"
  nice -n 10 ./test/kube/build.sh >"$log/kube-build.log" 2>&1 &
  kube_build=$!
fi
./scripts/build.sh
echo "== go vet"
go vet ./...
(cd test/kube && go vet ./...)
echo "== go test -race (unit + e2e)"
status=0
# FERRY_TOOLS_REQUIRED=1: the Debian tools installed above (Chromium,
# promtool, amtool) must be there; a test fails rather than skips without one.
FERRY_TOOLS_REQUIRED=1 FERRY_COMPAT_REAL=1 go test -race -count=1 -timeout 45m ./... >"$log/go-test.log" 2>&1 || status=$?
grep -Ev '^(=== (RUN|PAUSE|CONT|NAME)|--- PASS|PASS$)' "$log/go-test.log" | grep -Ev '^\s+--- PASS' || true
# The gateway's tests above run behind the event loop, as ferry serve runs;
# run them on the goroutine path too (h1 alone, and net/http).
for front in h1 http; do
  if FERRY_TOOLS_REQUIRED=1 FERRY_TEST_FRONT=$front go test -race -count=1 ./gateway >"$log/gateway-$front.log" 2>&1; then
    echo "ok   gateway tests with FERRY_TEST_FRONT=$front" | tee -a "$log/go-test.log"
  else
    status=1
    tail -40 "$log/gateway-$front.log"
    echo "FAIL gateway tests with FERRY_TEST_FRONT=$front" | tee -a "$log/go-test.log"
  fi
done
if [ "$kube" = 1 ]; then
  echo "== Kubernetes e2e (waiting for the binaries)"
  if wait "$kube_build"; then
    (cd test/kube && FERRY_KUBE_REQUIRED=1 go test -count=1 -timeout 25m -v ./... >"$log/kube-test.log" 2>&1) || status=1
    grep -E '^(---|ok|FAIL|PASS|SKIP|kube:|\s+\w+_test.go)' "$log/kube-test.log" || true
    grep -q '^ok' "$log/kube-test.log" && echo "ok   kubernetes e2e" >>"$log/go-test.log" || echo "FAIL kubernetes e2e" >>"$log/go-test.log"
  else
    echo "Kubernetes build failed:"; tail -30 "$log/kube-build.log"; status=1
    echo "FAIL kubernetes build" >>"$log/go-test.log"
  fi
fi
passed=$(grep -c '^ok ' "$log/go-test.log" || true)
# One line per failed package or suite ("FAIL<tab>pkg", "FAIL kubernetes
# e2e"), not go test's bare "FAIL" that follows each.
failed=$(grep -cE '^FAIL[[:space:]]+[^[:space:]]' "$log/go-test.log" || true)
echo "logs: $log"
echo "$passed passed, $failed failed"
exit $status
