package kube

import (
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/ferryfaas/ferry/test/harness"
)

// TestInstallManifests: the image of Ferry itself is built without Docker
// (deploy/kubernetes/image), imported into the node, runs as non-root, and
// is the image the manifests name; the whole of deploy/kubernetes passes
// the API server's validation (apply --dry-run=server). The namespaces and
// RBAC are applied for real by TestMain and used by the gateway under test.
func TestInstallManifests(t *testing.T) {
	kubeTest(t)
	root := harness.Root()
	dir := filepath.Join(root, "deploy", "kubernetes")
	gw, err := os.ReadFile(filepath.Join(dir, "gateway.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	m := regexp.MustCompile(`(?m)^\s+image:\s*(\S+)`).FindSubmatch(gw)
	if m == nil {
		t.Fatal("gateway.yaml names no image")
	}
	ref := string(m[1])

	tar := filepath.Join(t.TempDir(), "ferry-image.tar")
	cmd := exec.Command("go", "run", "./deploy/kubernetes/image", "-ferry", filepath.Join(binDir, "ferry-kubernetes"),
		"-watchdog", filepath.Join(binDir, "watchdog"), "-tag", ref, "-o", tar)
	cmd.Dir = root
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("build the Ferry image: %v\n%s", err, out)
	}
	if err := cluster.ImportImage(tar); err != nil {
		t.Fatal(err)
	}
	out, err := exec.Command("ctr", "-a", cluster.CtrSocket, "-n", "k8s.io", "images", "ls", "-q").CombinedOutput()
	if err != nil || !strings.Contains(string(out), ref) {
		t.Fatalf("image %s not in the node's containerd: %v\n%s", ref, err, out)
	}

	// The image runs on the node as the unprivileged user, hardened like
	// the gateway Deployment.
	pod := `apiVersion: v1
kind: Pod
metadata: {name: ferry-image-check, namespace: openfaas}
spec:
  restartPolicy: Never
  automountServiceAccountToken: false
  securityContext: {runAsNonRoot: true, seccompProfile: {type: RuntimeDefault}}
  containers:
  - name: ferry
    image: ` + ref + `
    imagePullPolicy: Never
    args: [version, --client-only]
    securityContext: {allowPrivilegeEscalation: false, readOnlyRootFilesystem: true, capabilities: {drop: [ALL]}}
`
	f := filepath.Join(t.TempDir(), "pod.yaml")
	os.WriteFile(f, []byte(pod), 0o644)
	if out, err := cluster.Kubectl("apply", "-f", f); err != nil {
		t.Fatal(out)
	}
	defer cluster.Kubectl("delete", "pod", "-n", "openfaas", "ferry-image-check", "--wait=false")
	deadline := time.Now().Add(60 * time.Second)
	for {
		phase, _ := cluster.Kubectl("get", "pod", "-n", "openfaas", "ferry-image-check", "-o", "jsonpath={.status.phase}")
		if phase == "Succeeded" {
			break
		}
		if phase == "Failed" || time.Now().After(deadline) {
			desc, _ := cluster.Kubectl("describe", "pod", "-n", "openfaas", "ferry-image-check")
			t.Fatalf("the Ferry image did not run: phase %q\n%s", phase, desc)
		}
		time.Sleep(250 * time.Millisecond)
	}
	if logs, err := cluster.Kubectl("logs", "-n", "openfaas", "ferry-image-check"); err != nil || !strings.Contains(strings.ToLower(logs), "client") {
		t.Fatalf("ferry version in the image: %v %s", err, logs)
	}

	out2, err := cluster.Kubectl("apply", "--dry-run=server", "-k", dir)
	if err != nil {
		t.Fatalf("deploy/kubernetes does not validate: %v", err)
	}
	for _, want := range []string{"deployment.apps/ferry-gateway", "service/gateway", "deployment.apps/nats", "service/nats",
		"clusterrole.rbac.authorization.k8s.io/ferry-gateway", "serviceaccount/ferry-gateway", "persistentvolumeclaim/nats-data"} {
		if !strings.Contains(out2, want) {
			t.Errorf("dry-run apply did not mention %s:\n%s", want, out2)
		}
	}
}
