//go:build tools

// Package build pins the Kubernetes commands that ../build.sh compiles for
// Ferry's test cluster. It is a module of its own, requiring only
// k8s.io/kubernetes, so that neither Ferry's main module nor the harness
// module changes the versions Kubernetes is built with.
package build

import (
	_ "k8s.io/kubernetes/cmd/kube-apiserver"
	_ "k8s.io/kubernetes/cmd/kube-controller-manager"
	_ "k8s.io/kubernetes/cmd/kube-proxy"
	_ "k8s.io/kubernetes/cmd/kube-scheduler"
	_ "k8s.io/kubernetes/cmd/kubectl"
	_ "k8s.io/kubernetes/cmd/kubelet"
)
