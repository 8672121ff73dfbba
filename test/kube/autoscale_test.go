package kube

import (
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"
)

// TestAutoscale: the built-in autoscaler works on this provider by writing
// the Deployment's scale subresource: load above the rps target adds
// replicas, and an idle function with scale.zero goes to zero and is woken
// by the next call.
func TestAutoscale(t *testing.T) {
	kubeTest(t)
	deployFn(t, "auto", fnNS, images["v1"], map[string]any{"labels": map[string]string{
		"com.openfaas.scale.type": "rps", "com.openfaas.scale.target": "5",
		"com.openfaas.scale.min": "1", "com.openfaas.scale.max": "3",
		"com.openfaas.scale.zero": "true", "com.openfaas.scale.zero-duration": "3s",
	}})
	defer ferry.Do("DELETE", "/system/functions", map[string]string{"functionName": "auto", "namespace": fnNS})
	waitReady(t, "auto", fnNS, 1)
	replicas := func() string {
		out, _ := cluster.Kubectl("get", "deploy", "auto", "-n", fnNS, "-o", "jsonpath={.spec.replicas}")
		return strings.TrimSpace(out)
	}

	// Load: 4 workers, at most 20 s and 4000 calls, until replicas grow.
	var stop atomic.Bool
	var calls atomic.Int64
	var wg sync.WaitGroup
	deadline := time.Now().Add(20 * time.Second)
	for w := 0; w < 4; w++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for !stop.Load() && time.Now().Before(deadline) && calls.Add(1) <= 4000 {
				call("auto", "", "x")
				time.Sleep(10 * time.Millisecond)
			}
		}()
	}
	grew := ""
	for time.Now().Before(deadline) {
		if r := replicas(); r != "" && r != "1" && r != "0" {
			grew = r
			break
		}
		time.Sleep(250 * time.Millisecond)
	}
	stop.Store(true)
	wg.Wait()
	if grew == "" {
		t.Fatalf("replicas stayed at %s under %d calls (rps target 5)", replicas(), calls.Load())
	}
	t.Logf("scaled to %s replicas under load (%d calls)", grew, calls.Load())

	// Idle: scale.zero-duration 3 s, then to zero.
	deadline = time.Now().Add(60 * time.Second)
	for replicas() != "0" {
		if time.Now().After(deadline) {
			t.Fatalf("idle function not scaled to zero: replicas %s", replicas())
		}
		time.Sleep(500 * time.Millisecond)
	}
	start := time.Now()
	if code, body, err := call("auto", "", "wake"); code != 200 || !strings.HasSuffix(body, "wake") {
		t.Fatalf("call after scale to zero: %d %q %v", code, body, err)
	}
	t.Logf("woken from zero in %s", time.Since(start).Round(time.Millisecond))
}
