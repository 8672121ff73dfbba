package kube

import (
	"context"
	"fmt"
	"net/http"
	"os"
	"sort"
	"strings"
	"testing"
	"time"
)

// TestSecretsAndNamespaces: a secret projected read-only and readable by
// its function; a second function namespace created through the API works
// the same; a namespace not marked for Ferry is refused.
func TestSecretsAndNamespaces(t *testing.T) {
	kubeTest(t)
	for _, ns := range []string{fnNS, "team-b"} {
		if ns != fnNS {
			if code, b, _ := ferry.Do("POST", "/system/namespace/"+ns, map[string]any{"name": ns}); code/100 != 2 {
				t.Fatalf("create namespace: %d %s", code, b)
			}
		}
		if code, b, _ := ferry.Do("POST", "/system/secrets?namespace="+ns, map[string]string{"name": "db-pass", "namespace": ns, "value": "pw-" + ns}); code/100 != 2 {
			t.Fatalf("create secret in %s: %d %s", ns, code, b)
		}
		deployFn(t, "sfn", ns, images["v1"], map[string]any{"secrets": []string{"db-pass"}})
		waitReady(t, "sfn", ns, 1)
		if code, body, err := call("sfn."+ns, "/secret?name=db-pass", ""); code != 200 || body != "pw-"+ns {
			t.Fatalf("secret in %s: %d %q %v", ns, code, body, err)
		}
		if code, b, _ := ferry.Do("GET", "/system/secrets?namespace="+ns, nil); code != 200 || strings.Contains(string(b), "pw-") {
			t.Fatalf("secret list: %d %s", code, b)
		}
	}
	if out, err := cluster.Kubectl("create", "namespace", "not-ferry"); err != nil {
		t.Fatal(out)
	}
	code, b, _ := ferry.Do("POST", "/system/functions", map[string]any{"service": "x", "namespace": "not-ferry", "image": images["v1"]})
	if code != 403 {
		t.Fatalf("deploy into an unmarked namespace: %d %s, want 403", code, b)
	}
	code, b, _ = ferry.Do("POST", "/system/functions", map[string]any{"service": "nosecret", "image": images["v1"], "secrets": []string{"missing"}})
	if code != 400 || !strings.Contains(string(b), "missing") {
		t.Fatalf("deploy with a missing secret: %d %s, want 400", code, b)
	}
	if out, _ := cluster.Kubectl("get", "deploy", "-n", fnNS, "nosecret"); !strings.Contains(out, "NotFound") {
		t.Fatalf("a deployment was created for a rejected request: %s", out)
	}
}

// TestMissingImage: a function whose image is not on the node reports why
// in its status, and a call answers 503 with that reason instead of hanging.
func TestMissingImage(t *testing.T) {
	kubeTest(t)
	deployFn(t, "noimg", fnNS, "ferry.local/does-not-exist:v9", nil)
	deadline := time.Now().Add(60 * time.Second)
	for {
		code, b, _ := ferry.Do("GET", "/system/function/noimg", nil)
		if code == 200 && strings.Contains(string(b), "Image") {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("status never explained the missing image: %s", b)
		}
		time.Sleep(500 * time.Millisecond)
	}
	start := time.Now()
	code, body, err := call("noimg", "", "")
	if code != 503 || !strings.Contains(body, "Image") || time.Since(start) > 10*time.Second {
		t.Fatalf("call to a function with a missing image: %d %q %v after %s", code, body, err, time.Since(start))
	}
}

// TestAPIServerRestart: the API server goes away and comes back; the
// gateway keeps serving invocations from its caches meanwhile and recovers
// writes without a restart.
func TestAPIServerRestart(t *testing.T) {
	kubeTest(t)
	deployFn(t, "afn", fnNS, images["v1"], nil)
	waitReady(t, "afn", fnNS, 1)
	cluster.StopAPIServer()
	code, body, err := call("afn", "", "while down")
	if code != 200 {
		t.Errorf("invoke while the API server is down: %d %q %v", code, body, err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	if err := cluster.StartAPIServer(ctx); err != nil {
		t.Fatal(err)
	}
	deadline := time.Now().Add(60 * time.Second)
	for {
		code, b, _ := ferry.Do("POST", "/system/scale-function/afn", map[string]any{"serviceName": "afn", "replicas": 2})
		if code == 202 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("gateway did not recover after the API server came back: %d %s", code, b)
		}
		time.Sleep(time.Second)
	}
	waitReady(t, "afn", fnNS, 2)
}

// TestColdStart measures 0 → 1 replica to the first response through the
// gateway, image already on the node, 10 tries; p50 target 1 s. With
// FERRY_KUBE_BENCH_OUT set, the figures are written there for the
// benchmark table.
func TestColdStart(t *testing.T) {
	kubeTest(t)
	deployFn(t, "cold", fnNS, images["v1"], map[string]any{"labels": map[string]string{"com.openfaas.scale.zero": "true"}})
	waitReady(t, "cold", fnNS, 1)
	var times []time.Duration
	for i := 0; i < 10; i++ {
		if code, b, _ := ferry.Do("POST", "/system/scale-function/cold", map[string]any{"serviceName": "cold", "replicas": 0}); code != 202 {
			t.Fatalf("scale to 0: %d %s", code, b)
		}
		deadline := time.Now().Add(60 * time.Second)
		for {
			out, _ := cluster.Kubectl("get", "pods", "-n", fnNS, "-l", "faas_function=cold", "-o", "name")
			if strings.TrimSpace(out) == "" {
				break
			}
			if time.Now().After(deadline) {
				t.Fatalf("pods left after scale to 0: %s", out)
			}
			time.Sleep(200 * time.Millisecond)
		}
		start := time.Now()
		code, body, err := call("cold", "", "")
		d := time.Since(start)
		if code != 200 {
			t.Fatalf("cold call %d: %d %q %v", i, code, body, err)
		}
		times = append(times, d)
	}
	sort.Slice(times, func(i, j int) bool { return times[i] < times[j] })
	p50 := times[len(times)/2]
	t.Logf("kubernetes cold start over %d tries: p50 %s, min %s, max %s", len(times), p50, times[0], times[len(times)-1])
	if out := os.Getenv("FERRY_KUBE_BENCH_OUT"); out != "" {
		os.WriteFile(out, []byte(fmt.Sprintf("%f %f %f\n", p50.Seconds()*1000, times[0].Seconds()*1000, times[len(times)-1].Seconds()*1000)), 0o644)
	}
}

var _ = http.StatusOK
