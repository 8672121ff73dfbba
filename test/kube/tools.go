//go:build tools

// Package kube is the real single-node Kubernetes harness for Ferry's
// end-to-end tests. It is its own module so that the main module never
// depends on k8s.io/kubernetes; this file pins the server commands that
// build.sh compiles from the k8s.io/kubernetes module.
package kube

import (
	_ "k8s.io/kubernetes/cmd/kube-apiserver"
	_ "k8s.io/kubernetes/cmd/kube-controller-manager"
	_ "k8s.io/kubernetes/cmd/kube-scheduler"
	_ "k8s.io/kubernetes/cmd/kubelet"
	_ "k8s.io/kubernetes/cmd/kubectl"
)
