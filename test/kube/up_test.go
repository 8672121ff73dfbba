package kube

import (
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
)

// TestFerryUp deploys from a stack file with the CLI, as a user would on a
// cluster: the image is already on the node, so `ferry up --skip-build`.
func TestFerryUp(t *testing.T) {
	kubeTest(t)
	dir := t.TempDir()
	st := `version: 1.0
provider:
  name: openfaas
  gateway: ` + ferry.URL + `
functions:
  upfn:
    image: ` + images["v1"] + `
    labels: {via: ferry-up}
    environment: {MODE: up}
`
	os.WriteFile(filepath.Join(dir, "stack.yml"), []byte(st), 0o644)
	cmd := exec.Command(filepath.Join(binDir, "ferry"), "up", "--skip-build", "-f", "stack.yml")
	cmd.Dir = dir
	cmd.Env = append(os.Environ(), "FERRY_PASSWORD="+ferry.Password, "FERRY_USER="+ferry.User)
	out, err := cmd.CombinedOutput()
	if err != nil {
		t.Fatalf("ferry up: %v\n%s", err, out)
	}
	// ferry up waits for the rollout: the function answers at once.
	if !strings.Contains(string(out), "upfn is ready (1/1)") {
		t.Fatalf("ferry up did not wait for the function:\n%s", out)
	}
	if code, body, err := call("upfn", "", "first"); code != 200 || !strings.HasSuffix(body, "first") {
		t.Fatalf("invoke right after ferry up: %d %q %v", code, body, err)
	}
	waitReady(t, "upfn", fnNS, 1)
	o := kget(t, fnNS, "deployment", "faas_function=upfn")
	if len(o.Items) != 1 || o.Items[0].Metadata.Labels["via"] != "ferry-up" {
		t.Fatalf("kubectl get deploy -l faas_function=upfn: %+v", o.Items)
	}
	if code, body, err := call("upfn", "", "hello"); code != 200 || !strings.HasSuffix(body, "hello") {
		t.Fatalf("invoke: %d %q %v", code, body, err)
	}
	if code, b, _ := ferry.Do("DELETE", "/system/functions", map[string]string{"functionName": "upfn", "namespace": fnNS}); code != 202 {
		t.Fatalf("delete: %d %s", code, b)
	}
}
