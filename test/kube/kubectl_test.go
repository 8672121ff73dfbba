package kube

import (
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// TestKubectlCreatedFunction: the cluster is Ferry's only store, so a
// Deployment and Service made with kubectl that carry faas_function show
// up in the function list at once and can be invoked.
func TestKubectlCreatedFunction(t *testing.T) {
	kubeTest(t)
	manifest := `apiVersion: apps/v1
kind: Deployment
metadata: {name: kctl, namespace: ` + fnNS + `, labels: {faas_function: kctl}}
spec:
  replicas: 1
  selector: {matchLabels: {faas_function: kctl}}
  template:
    metadata: {labels: {faas_function: kctl}}
    spec:
      containers:
      - name: kctl
        image: ` + images["v1"] + `
        imagePullPolicy: Never
        ports: [{name: http, containerPort: 8080}]
        readinessProbe: {httpGet: {path: /_/ready, port: 8080}, periodSeconds: 1}
---
apiVersion: v1
kind: Service
metadata: {name: kctl, namespace: ` + fnNS + `, labels: {faas_function: kctl}}
spec:
  selector: {faas_function: kctl}
  ports: [{name: http, port: 8080, targetPort: 8080}]
`
	f := filepath.Join(t.TempDir(), "kctl.yaml")
	os.WriteFile(f, []byte(manifest), 0o644)
	if out, err := cluster.Kubectl("apply", "-f", f); err != nil {
		t.Fatal(out)
	}
	defer cluster.Kubectl("delete", "-f", f, "--wait=false")
	deadline := time.Now().Add(5 * time.Second)
	for {
		code, b, _ := ferry.Do("GET", "/system/functions?namespace="+fnNS, nil)
		var fns []struct{ Name string }
		json.Unmarshal(b, &fns)
		found := false
		for _, fn := range fns {
			found = found || fn.Name == "kctl"
		}
		if found {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("kubectl-made function not listed: %d %s", code, b)
		}
		time.Sleep(50 * time.Millisecond)
	}
	waitReady(t, "kctl", fnNS, 1)
	if code, body, err := call("kctl", "", "via kubectl"); code != 200 || !strings.HasSuffix(body, "via kubectl") {
		t.Fatalf("invoke: %d %q %v", code, body, err)
	}
}
