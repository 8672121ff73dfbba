#!/usr/bin/env bash
# Builds the image of Ferry itself without Docker: static bin/ferry-kubernetes and
# bin/watchdog (scripts/build.sh) on an empty base, user 65534, as a docker
# archive. Import it on a node with
#   ctr -n k8s.io images import ferry-image.tar
# or push it with any registry tool, then apply deploy/kubernetes.
# Usage: scripts/ferry-image.sh [OUT.tar] [TAG]   (default tag: the manifests')
set -euo pipefail
cd "$(dirname "$0")/.."
out=${1:-ferry-image.tar}
tag=${2:-ferry.local/ferry:dev}
./scripts/build.sh
go run ./deploy/kubernetes/image -ferry bin/ferry-kubernetes -watchdog bin/watchdog -tag "$tag" -o "$out"
