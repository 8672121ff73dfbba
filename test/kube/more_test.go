package kube

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"os"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/ferryfaas/ferry/test/harness"
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
// gateway, image already on the node, 10 tries; p50 target 1 s. It runs the
// series twice: with the gateway's direct /_/ready check of starting pods
// (the default), and with a second gateway that waits for the kubelet's
// readiness to reach the EndpointSlice (FERRY_KUBE_DIRECT_READINESS=0), to
// show what the direct check saves. With FERRY_KUBE_BENCH_OUT set, the
// figures are written there for the benchmark table:
// "p50 min max p50-kubelet-only" in ms.
func TestColdStart(t *testing.T) {
	kubeTest(t)
	// A short drain after SIGTERM: each try waits for the previous pod to be
	// gone, and the default drain (5 s) would dominate the test's time.
	deployFn(t, "cold", fnNS, images["v1"], map[string]any{"envVars": map[string]string{"healthcheck_interval": "500ms"}})
	waitReady(t, "cold", fnNS, 1)
	direct := coldSeries(t, ferry, 10)
	kc, err := gatewayKubeconfig()
	if err != nil {
		t.Fatal(err)
	}
	slow, err := harness.Start(harness.Options{Args: []string{"--provider", "kubernetes", "--kubeconfig", kc},
		Env: []string{"FERRY_KUBE_IMAGE_PULL_POLICY=Never", "FERRY_KUBE_DIRECT_READINESS=0"}})
	if err != nil {
		t.Fatal(err)
	}
	kubelet := coldSeries(t, slow, 10)
	slow.Stop()
	t.Logf("kubernetes cold start over 10 tries: p50 %s, min %s, max %s (kubelet readiness only: p50 %s, min %s, max %s)",
		direct[5], direct[0], direct[9], kubelet[5], kubelet[0], kubelet[9])
	if out := os.Getenv("FERRY_KUBE_BENCH_OUT"); out != "" {
		ms := func(d time.Duration) float64 { return d.Seconds() * 1000 }
		os.WriteFile(out, []byte(fmt.Sprintf("%f %f %f %f\n", ms(direct[5]), ms(direct[0]), ms(direct[9]), ms(kubelet[5]))), 0o644)
	}
	ferry.Do("DELETE", "/system/functions", map[string]string{"functionName": "cold", "namespace": fnNS})
}

// coldSeries scales "cold" to zero, waits until no pod is left, and times
// one call through gw, n times; the result is sorted.
func coldSeries(t *testing.T, gw *harness.Ferry, n int) []time.Duration {
	t.Helper()
	var times []time.Duration
	for i := 0; i < n; i++ {
		if code, b, _ := gw.Do("POST", "/system/scale-function/cold", map[string]any{"serviceName": "cold", "replicas": 0}); code != 202 {
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
			time.Sleep(100 * time.Millisecond)
		}
		start := time.Now()
		resp, err := http.Post(gw.URL+"/function/cold", "text/plain", strings.NewReader("x"))
		d := time.Since(start)
		if err != nil {
			t.Fatalf("cold call %d: %v", i, err)
		}
		b, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		if resp.StatusCode != 200 {
			t.Fatalf("cold call %d: %d %s", i, resp.StatusCode, b)
		}
		times = append(times, d)
	}
	sort.Slice(times, func(i, j int) bool { return times[i] < times[j] })
	return times
}
