package kube

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// functionYAML is a Function object as `faas-cli generate` writes it.
func functionYAML(name, image, extra string) string {
	return `---
apiVersion: openfaas.com/v1
kind: Function
metadata:
  name: ` + name + `
  namespace: ` + fnNS + `
spec:
  name: ` + name + `
  image: ` + image + `
  environment:
    GREETING: hi
  labels:
    com.openfaas.scale.min: "1"
` + extra
}

func kubectlApply(t *testing.T, yaml string) {
	t.Helper()
	f := filepath.Join(t.TempDir(), "fn.yaml")
	if err := os.WriteFile(f, []byte(yaml), 0o600); err != nil {
		t.Fatal(err)
	}
	if out, err := cluster.Kubectl("apply", "-f", f); err != nil {
		t.Fatalf("kubectl apply: %v: %s", err, out)
	}
}

// readyCondition waits (up to d) for the object's Ready condition to have
// the wanted status and reason, and returns its message.
func readyCondition(t *testing.T, name, status, reason string, d time.Duration) string {
	t.Helper()
	var last string
	for end := time.Now().Add(d); time.Now().Before(end); time.Sleep(250 * time.Millisecond) {
		out, _ := cluster.Kubectl("get", "function", name, "-n", fnNS, "-o",
			`jsonpath={.status.conditions[?(@.type=="Ready")].status}|{.status.conditions[?(@.type=="Ready")].reason}|{.status.conditions[?(@.type=="Ready")].message}`)
		last = strings.TrimSpace(out)
		if p := strings.SplitN(last, "|", 3); len(p) == 3 && p[0] == status && p[1] == reason {
			return p[2]
		}
	}
	t.Fatalf("Function %s: Ready condition %q, want status %s reason %s", name, last, status, reason)
	return ""
}

// TestFunctionObject: a Function applied with kubectl becomes a function
// the gateway lists and invokes, reports Ready, follows a changed image,
// cannot be deleted through the REST API behind its back, and goes away
// with the object.
func TestFunctionObject(t *testing.T) {
	kubeTest(t)
	defer cluster.Kubectl("delete", "function", "crdfn", "-n", fnNS, "--ignore-not-found")
	start := time.Now()
	kubectlApply(t, functionYAML("crdfn", images["v1"], ""))
	waitReady(t, "crdfn", fnNS, 1)
	if code, body, err := call("crdfn", "", "x"); code != 200 || !strings.HasPrefix(body, "v1 ") {
		t.Fatalf("call: %d %q %v", code, body, err)
	}
	t.Logf("FIGURE kubectl apply to first answer: %s", time.Since(start).Round(time.Millisecond))
	readyCondition(t, "crdfn", "True", "Available", 30*time.Second)
	if code, b, _ := ferry.Do("GET", "/system/functions?namespace="+fnNS, nil); code != 200 || !strings.Contains(string(b), `"name":"crdfn"`) {
		t.Fatalf("GET /system/functions: %d %s", code, b)
	}
	if code, b, _ := ferry.Do("DELETE", "/system/functions", map[string]string{"functionName": "crdfn", "namespace": fnNS}); code != 409 || !strings.Contains(string(b), "Function object") {
		t.Fatalf("REST delete of an object's function: %d %s, want 409", code, b)
	}

	kubectlApply(t, functionYAML("crdfn", images["v2"], ""))
	var body string
	for end := time.Now().Add(90 * time.Second); !strings.HasPrefix(body, "v2 "); time.Sleep(250 * time.Millisecond) {
		if time.Now().After(end) {
			t.Fatalf("still answering %q after the object's image changed", body)
		}
		_, body, _ = call("crdfn", "", "x")
	}

	if out, err := cluster.Kubectl("delete", "function", "crdfn", "-n", fnNS); err != nil {
		t.Fatal(out)
	}
	for end := time.Now().Add(30 * time.Second); ; time.Sleep(250 * time.Millisecond) {
		code, _, _ := ferry.Do("GET", "/system/function/crdfn?namespace="+fnNS, nil)
		if code == 404 {
			break
		}
		if time.Now().After(end) {
			t.Fatalf("function still listed (%d) 30 s after its object was deleted", code)
		}
	}
	if out, _ := cluster.Kubectl("get", "deploy,svc", "-n", fnNS, "crdfn", "--ignore-not-found", "-o", "name"); strings.TrimSpace(out) != "" {
		t.Fatalf("left behind: %s", out)
	}
}

// TestFunctionObjectBad: objects that cannot become a function say why in
// their Ready condition and create nothing.
func TestFunctionObjectBad(t *testing.T) {
	kubeTest(t)
	deployFn(t, "crdrest", fnNS, images["v1"], nil)
	defer ferry.Do("DELETE", "/system/functions", map[string]string{"functionName": "crdrest", "namespace": fnNS})
	for _, c := range []struct{ name, extra, reason, says string }{
		{"crdbad", "  limits:\n    memory: lots\n", "InvalidSpec", "limits"},
		{"crdnosecret", "  secrets:\n  - does-not-exist\n", "InvalidSpec", "does-not-exist"},
		{"crdrest", "", "Conflict", "already exists"},
	} {
		kubectlApply(t, functionYAML(c.name, images["v1"], c.extra))
		defer cluster.Kubectl("delete", "function", c.name, "-n", fnNS, "--ignore-not-found")
		msg := readyCondition(t, c.name, "False", c.reason, 30*time.Second)
		if !strings.Contains(msg, c.says) {
			t.Errorf("%s: condition message %q does not mention %q", c.name, msg, c.says)
		}
		t.Logf("%s: Ready=False %s: %s", c.name, c.reason, msg)
	}
	if out, _ := cluster.Kubectl("get", "deploy", "-n", fnNS, "crdbad", "crdnosecret", "--ignore-not-found", "-o", "name"); strings.TrimSpace(out) != "" {
		t.Fatalf("bad objects created: %s", out)
	}
	// The REST function is untouched by the clashing object.
	if code, body, _ := call("crdrest", "", "x"); code != 200 {
		t.Fatalf("REST function after a clashing object: %d %q", code, body)
	}
}
