package kube

import (
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/ferryfaas/ferry/test/harness"
)

// The cluster and the function images are shared by every test of this
// package: starting them costs tens of seconds.
var (
	cluster *Cluster
	ferry   *harness.Ferry
	images  = map[string]string{} // version → image ref
)

func TestMain(m *testing.M) {
	if why := Available(); why != "" {
		if os.Getenv("FERRY_KUBE_REQUIRED") == "1" {
			fmt.Println("FAIL: Kubernetes e2e required but unavailable:", why)
			os.Exit(1)
		}
		fmt.Println("SKIP: Kubernetes e2e:", why)
		os.Exit(0)
	}
	mRun = m.Run
	code, err := setup()
	if err != nil {
		fmt.Println("FAIL: Kubernetes e2e setup:", err)
		code = 1
	}
	if cluster != nil {
		if code != 0 {
			for _, n := range []string{"kubelet", "containerd", "kube-apiserver"} {
				fmt.Printf("---- %s log tail (all logs: %s)\n%s\n", n, KeptLogs(), cluster.logTail(n))
			}
		}
		cluster.Stop()
		if left := cluster.Leftovers(); len(left) > 0 {
			fmt.Println("FAIL: left on the host after the cluster stopped:", left)
			code = 1
		}
	}
	os.Exit(code)
}

func setup() (int, error) {
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
	defer cancel()
	t0 := time.Now()
	var err error
	cluster, err = Start(ctx, Options{Logf: func(f string, a ...any) { fmt.Printf(f+"\n", a...) }})
	if err != nil {
		return 1, err
	}
	fmt.Printf("kube: cluster ready in %s\n", time.Since(t0).Round(time.Millisecond))
	bin, err := harness.Build()
	if err != nil {
		return 1, err
	}
	binDir = bin
	for _, v := range []string{"v1", "v2"} {
		ref, err := buildFunctionImage(bin, v)
		if err != nil {
			return 1, fmt.Errorf("build function image %s: %w", v, err)
		}
		images[v] = ref
	}
	// The gateway runs with the service account and least-privilege RBAC
	// of deploy/kubernetes (the API server authorizes with RBAC), so every
	// test also proves that those rules are enough.
	kc, err := gatewayKubeconfig()
	if err != nil {
		return 1, err
	}
	logf, _ := os.Create(filepath.Join(os.TempDir(), "ferry-kube-serve.log"))
	ferry, err = harness.Start(harness.Options{
		Args: []string{"--provider", "kubernetes", "--kubeconfig", kc},
		// Never pull: every image is imported on the node, and a pull
		// would reach for a registry off this machine.
		Env: []string{"FERRY_KUBE_IMAGE_PULL_POLICY=Never"},
		Log: logf,
	})
	if err != nil {
		return 1, err
	}
	fmt.Printf("kube: setup done in %s\n", time.Since(t0).Round(time.Millisecond))
	code := mRun()
	if ferry != nil {
		ferry.Stop()
	}
	return code, nil
}

var (
	mRun   func() int
	binDir string // ferry and watchdog built from this tree
)

// gatewayKubeconfig applies the namespaces and RBAC of deploy/kubernetes
// and returns a kubeconfig holding a token of the gateway's service account.
func gatewayKubeconfig() (string, error) {
	dir := filepath.Join(harness.Root(), "deploy", "kubernetes")
	for _, f := range []string{"functions-crd.yaml", "namespaces.yaml", "rbac.yaml"} {
		if out, err := cluster.Kubectl("apply", "-f", filepath.Join(dir, f)); err != nil {
			return "", fmt.Errorf("%v: %s", err, out)
		}
	}
	tok, err := cluster.Kubectl("create", "token", "ferry-gateway", "-n", "openfaas", "--duration=3h")
	if err != nil {
		return "", err
	}
	return cluster.KubeconfigFor("ferry-gateway", strings.TrimSpace(tok))
}

// buildFunctionImage makes the test function with `ferry new` and `ferry
// build --image`, as a user would, and imports it into the node's
// containerd. The handler answers with its version, its pod name and, on
// /secret?name=S, the content of the secret file; it logs every call.
func buildFunctionImage(bin, version string) (string, error) {
	dir, err := os.MkdirTemp("", "kfn-")
	if err != nil {
		return "", err
	}
	defer os.RemoveAll(dir)
	ferryBin := filepath.Join(bin, "ferry")
	if out, err := runIn(dir, ferryBin, "new", "kfn", "--lang", "golang-http"); err != nil {
		return "", fmt.Errorf("ferry new: %v: %s", err, out)
	}
	handler := `package function

import (
	"fmt"
	"io"
	"net/http"
	"os"
)

func Handle(w http.ResponseWriter, r *http.Request) {
	if name := r.URL.Query().Get("name"); r.URL.Path == "/secret" {
		b, err := os.ReadFile("/var/openfaas/secrets/" + name)
		if err != nil {
			http.Error(w, err.Error(), 404)
			return
		}
		w.Write(b)
		return
	}
	body, _ := io.ReadAll(r.Body)
	host, _ := os.Hostname()
	// The trigger headers let a test count the runs of each cron tick.
	fmt.Fprintf(os.Stderr, "kfn handled %s tick=%s topic=%s\n", r.URL.Path, r.Header.Get("X-Cron-Tick"), r.Header.Get("X-Topic"))
	fmt.Fprintf(w, "VERSION %s %s", host, body)
}
`
	handler = strings.Replace(handler, "VERSION", version, 1)
	if err := os.WriteFile(filepath.Join(dir, "kfn", "handler.go"), []byte(handler), 0o644); err != nil {
		return "", err
	}
	ref := "ferry.local/kfn:" + version
	stackFile := filepath.Join(dir, "stack.yml")
	b, err := os.ReadFile(stackFile)
	if err != nil {
		return "", err
	}
	st := string(b)
	if strings.Contains(st, "image:") {
		lines := strings.Split(st, "\n")
		for i, l := range lines {
			if strings.Contains(l, "image:") {
				lines[i] = l[:strings.Index(l, "image:")] + "image: " + ref
			}
		}
		st = strings.Join(lines, "\n")
	}
	os.WriteFile(stackFile, []byte(st), 0o644)
	if out, err := runIn(dir, ferryBin, "build", "-f", stackFile, "--image", "--format", "docker",
		"--watchdog", filepath.Join(bin, "watchdog"), "--out", filepath.Join(dir, "build")); err != nil {
		return "", fmt.Errorf("ferry build: %v: %s", err, out)
	}
	tars, _ := filepath.Glob(filepath.Join(dir, "build", "*-image.tar"))
	if len(tars) != 1 {
		return "", fmt.Errorf("ferry build made %d image archives", len(tars))
	}
	return ref, cluster.ImportImage(tars[0])
}

func runIn(dir, bin string, args ...string) (string, error) {
	cmd := exec.Command(bin, args...)
	cmd.Dir = dir
	out, err := cmd.CombinedOutput()
	return string(out), err
}

// kubeTest skips cleanly when setup did not run (go vet, -list).
func kubeTest(t *testing.T) {
	t.Helper()
	if cluster == nil || ferry == nil {
		t.Skip("no cluster")
	}
}
