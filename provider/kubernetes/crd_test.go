package kubernetes

import (
	"bytes"
	"os"
	"path/filepath"
	"testing"
)

// The chart's CRD and the kustomize manifests' copy are the same file.
func TestFunctionCRDCopiesAgree(t *testing.T) {
	root := filepath.Join("..", "..")
	a, err := os.ReadFile(filepath.Join(root, "charts", "ferry", "crds", "functions.openfaas.com.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	b, err := os.ReadFile(filepath.Join(root, "deploy", "kubernetes", "functions-crd.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(a, b) {
		t.Fatal("charts/ferry/crds/functions.openfaas.com.yaml and deploy/kubernetes/functions-crd.yaml differ: copy the chart's over")
	}
}
