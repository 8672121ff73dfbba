#!/usr/bin/env bash
# Builds every image of the Ferry platform without Docker, reproducibly, as
# docker archives in OUTDIR (default: images/):
#   ferry-image.tar         ferry.local/ferry:dev (scripts/ferry-image.sh)
#   nats-image.tar          ferry.local/nats:NATS_VERSION, a static nats-server
#                           built from github.com/nats-io/nats-server/v2
#                           (cached by version under ~/.cache/ferry/nats)
#   prometheus-image.tar    ferry.local/prometheus:VERSION  } Debian's binaries
#   alertmanager-image.tar  ferry.local/alertmanager:VERSION} and their libc
# Import them on each node (ctr -n k8s.io images import F) or push them;
# charts/ferry's default values name these tags. Prints "NAME TAG" lines.
# Usage: scripts/platform-images.sh [OUTDIR]
set -euo pipefail
cd "$(dirname "$0")/.."
out=${1:-images}
mkdir -p "$out"
NATS_VERSION=v2.15.3
cache=${FERRY_NATS_CACHE:-$HOME/.cache/ferry/nats}/$NATS_VERSION
if [ ! -x "$cache/nats-server" ]; then
  echo "platform: building nats-server $NATS_VERSION (first time only) ..." >&2
  start=$(date +%s)
  mkdir -p "$cache"
  GOFLAGS= CGO_ENABLED=0 GOBIN="$cache/.bin" nice -n 10 go install -trimpath -ldflags "-s -w" \
    "github.com/nats-io/nats-server/v2@$NATS_VERSION"
  mv "$cache/.bin/nats-server" "$cache/nats-server"
  echo "platform: built nats-server in $(( $(date +%s) - start ))s" >&2
fi
# Debian's versions name the tags, so a new package is a new image.
version() { "$1" --version 2>&1 | sed -n '1s/.*version \([0-9][0-9.]*\).*/\1/p'; }
prom=$(version /usr/bin/prometheus)
am=$(version /usr/bin/prometheus-alertmanager)
./scripts/ferry-image.sh "$out/ferry-image.tar" ferry.local/ferry:dev >/dev/null
go run ./deploy/kubernetes/image -component nats -bin "$cache/nats-server" -tag "ferry.local/nats:$NATS_VERSION" -o "$out/nats-image.tar" >/dev/null
go run ./deploy/kubernetes/image -component prometheus -tag "ferry.local/prometheus:$prom" -o "$out/prometheus-image.tar" >/dev/null
go run ./deploy/kubernetes/image -component alertmanager -tag "ferry.local/alertmanager:$am" -o "$out/alertmanager-image.tar" >/dev/null
echo "ferry ferry.local/ferry:dev"
echo "nats ferry.local/nats:$NATS_VERSION"
echo "prometheus ferry.local/prometheus:$prom"
echo "alertmanager ferry.local/alertmanager:$am"
