#!/usr/bin/env bash
# Builds the test cluster's binaries, once per version, under
# ${FERRY_KUBE_CACHE:-~/.cache/ferry/kube}/VERSION:
#   - kube-apiserver, kube-controller-manager, kube-scheduler, kubelet,
#     kube-proxy and kubectl from the k8s.io/kubernetes module (build/);
#   - CoreDNS from github.com/coredns/coredns (build/coredns, only the
#     plugins a one-node cluster needs) into coredns/VERSION;
#   - helm from helm.sh/helm/v4 into helm/VERSION.
# Cold on 2 cores: kube ~25 min, kube-proxy ~2 min, CoreDNS ~3 min, helm
# ~4 min. Prints the kube directory last.
set -euo pipefail
cd "$(dirname "$0")/build"
VERSION=v1.37.2
MINOR=37
COREDNS=v1.15.0
HELM=v4.3.2
CACHE=${FERRY_KUBE_CACHE:-$HOME/.cache/ferry/kube}
OUT=$CACHE/$VERSION
mkdir -p "$OUT" "$CACHE/coredns/$COREDNS" "$CACHE/helm/$HELM"
export GOFLAGS=-mod=mod CGO_ENABLED=0

# build NAME DEST PACKAGE LDFLAGS: go build PACKAGE into DEST once.
build() {
  if [ -x "$2" ]; then echo "kube: $1 cached" >&2; return; fi
  echo "kube: building $1 (first time only) ..." >&2
  local start; start=$(date +%s)
  go build -trimpath -ldflags "$4" -o "$2.tmp" "$3"
  mv "$2.tmp" "$2"
  echo "kube: built $1 in $(( $(date +%s) - start ))s" >&2
}

ld="-s -w -X k8s.io/component-base/version.gitVersion=$VERSION -X k8s.io/component-base/version.gitMajor=1 -X k8s.io/component-base/version.gitMinor=$MINOR -X k8s.io/component-base/version.gitTreeState=clean"
for c in kube-scheduler kubelet kube-proxy kubectl kube-controller-manager kube-apiserver; do
  build "$c $VERSION" "$OUT/$c" "k8s.io/kubernetes/cmd/$c" "$ld"
done
(cd coredns && build "coredns $COREDNS" "$CACHE/coredns/$COREDNS/coredns" . "-s -w")
# helm is built from its own module and go.mod (go install pkg@version);
# the version variable is what `helm version` and chart kubeVersion checks see.
if [ -x "$CACHE/helm/$HELM/helm" ]; then echo "kube: helm $HELM cached" >&2; else
  echo "kube: building helm $HELM (first time only) ..." >&2
  start=$(date +%s)
  GOFLAGS= GOBIN="$CACHE/helm/$HELM/.bin" go install -trimpath \
    -ldflags "-s -w -X helm.sh/helm/v4/internal/version.version=$HELM" "helm.sh/helm/v4/cmd/helm@$HELM"
  mv "$CACHE/helm/$HELM/.bin/helm" "$CACHE/helm/$HELM/helm"
  echo "kube: built helm $HELM in $(( $(date +%s) - start ))s" >&2
fi
echo "$OUT"
