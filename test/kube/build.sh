#!/usr/bin/env bash
# Builds kube-apiserver, kube-controller-manager, kube-scheduler, kubelet and
# kubectl from the k8s.io/kubernetes module, once per version, into
# ${FERRY_KUBE_CACHE:-~/.cache/ferry/kube}/VERSION. Cold: ~25 min on 2 cores.
set -euo pipefail
cd "$(dirname "$0")/build"
VERSION=v1.37.2
MINOR=37
OUT=${FERRY_KUBE_CACHE:-$HOME/.cache/ferry/kube}/$VERSION
mkdir -p "$OUT"
ld="-s -w -X k8s.io/component-base/version.gitVersion=$VERSION -X k8s.io/component-base/version.gitMajor=1 -X k8s.io/component-base/version.gitMinor=$MINOR -X k8s.io/component-base/version.gitTreeState=clean"
export GOFLAGS=-mod=mod CGO_ENABLED=0
for c in kube-scheduler kubelet kubectl kube-controller-manager kube-apiserver; do
  if [ -x "$OUT/$c" ]; then echo "kube: $c $VERSION cached"; continue; fi
  echo "kube: building $c $VERSION (first time only) ..."
  start=$(date +%s)
  go build -trimpath -ldflags "$ld" -o "$OUT/$c.tmp" "k8s.io/kubernetes/cmd/$c"
  mv "$OUT/$c.tmp" "$OUT/$c"
  echo "kube: built $c in $(( $(date +%s) - start ))s"
done
echo "$OUT"
