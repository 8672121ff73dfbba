package kube

import (
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/ferryfaas/ferry/test/harness"
)

// secondGateway starts another gateway against the cluster, as a second
// replica of the gateway Deployment would run, with the same service
// account and flags as the shared one.
func secondGateway(t *testing.T, extra ...string) *harness.Ferry {
	t.Helper()
	kc, err := gatewayKubeconfig()
	if err != nil {
		t.Fatal(err)
	}
	logf, _ := os.Create(filepath.Join(os.TempDir(), "ferry-kube-serve2.log"))
	t.Cleanup(func() { logf.Close() })
	g, err := harness.Start(harness.Options{
		Args: append([]string{"--provider", "kubernetes", "--kubeconfig", kc}, extra...),
		Env:  []string{"FERRY_KUBE_IMAGE_PULL_POLICY=Never"},
		Log:  logf,
	})
	if err != nil {
		t.Fatal(err)
	}
	return g
}

// leads reads a gateway's ferry_gateway_leader gauge (false when the
// gateway does not answer).
func leads(g *harness.Ferry) bool {
	code, b, err := g.Do("GET", "/metrics", nil)
	return err == nil && code == 200 && strings.Contains(string(b), "\nferry_gateway_leader 1")
}

// whoLeads waits (up to 15 s) for exactly one of a and b to lead.
func whoLeads(t *testing.T, a, b *harness.Ferry) (leader, follower *harness.Ferry) {
	t.Helper()
	for end := time.Now().Add(15 * time.Second); ; time.Sleep(100 * time.Millisecond) {
		switch la, lb := leads(a), leads(b); {
		case la && lb:
			t.Fatal("both gateways lead")
		case la:
			return a, b
		case lb:
			return b, a
		}
		if time.Now().After(end) {
			t.Fatal("no gateway leads")
		}
	}
}

// decided reports whether gateway g made a scaling decision about fn.
func decided(t *testing.T, g *harness.Ferry, fn string) bool {
	code, b, err := g.Do("GET", "/system/function/"+fn+"?namespace="+fnNS, nil)
	if err != nil || code != 200 {
		t.Fatalf("get %s: %d %s %v", fn, code, b, err)
	}
	var st struct{ Autoscaler *json.RawMessage }
	json.Unmarshal(b, &st)
	return st.Autoscaler != nil
}

// loadBoth calls fn through the gateways (4 workers each, 10 ms apart),
// for at most d and 2000 calls per gateway, until stop is closed.
func loadBoth(fn string, gws []*harness.Ferry, d time.Duration, stop <-chan struct{}) *sync.WaitGroup {
	var wg sync.WaitGroup
	deadline := time.Now().Add(d)
	for _, g := range gws {
		var n atomic.Int64
		for w := 0; w < 4; w++ {
			wg.Add(1)
			go func() {
				defer wg.Done()
				for time.Now().Before(deadline) && n.Add(1) <= 2000 {
					select {
					case <-stop:
						return
					default:
					}
					g.Invoke(fn, "x")
					time.Sleep(10 * time.Millisecond)
				}
			}()
		}
	}
	return &wg
}

// TestLeaderAutoscales: two gateways share the cluster; exactly one leads
// (the ferry_gateway_leader gauge) and only it makes scaling decisions,
// also for load that reaches only the other gateway. Killed (SIGKILL, no lease release), the other takes
// over within 10 s and autoscaling resumes.
func TestLeaderAutoscales(t *testing.T) {
	kubeTest(t)
	g2 := secondGateway(t, "--counter-flush", "1s")
	defer func() {
		if g2 != nil {
			g2.Stop()
		}
	}()
	deployFn(t, "ha", fnNS, images["v1"], map[string]any{"labels": map[string]string{
		"com.openfaas.scale.type": "rps", "com.openfaas.scale.target": "5",
		"com.openfaas.scale.min": "1", "com.openfaas.scale.max": "3",
	}})
	defer ferry.Do("DELETE", "/system/functions", map[string]string{"functionName": "ha", "namespace": fnNS})
	waitReady(t, "ha", fnNS, 1)

	leader, follower := whoLeads(t, ferry, g2)
	holder, _ := cluster.Kubectl("get", "lease", "ferry-gateway", "-n", "openfaas", "-o", "jsonpath={.spec.holderIdentity}")
	t.Logf("leader %s (lease holder %s)", leader.Addr, strings.TrimSpace(holder))

	replicas := func() string {
		out, _ := cluster.Kubectl("get", "deploy", "ha", "-n", fnNS, "-o", "jsonpath={.spec.replicas}")
		return strings.TrimSpace(out)
	}
	waitGrow := func(what string, d time.Duration) time.Duration {
		t.Helper()
		start := time.Now()
		for end := start.Add(d); ; time.Sleep(200 * time.Millisecond) {
			if r := replicas(); r != "" && r != "1" && r != "0" {
				return time.Since(start)
			}
			if time.Now().After(end) {
				t.Fatalf("%s: replicas stayed at %s", what, replicas())
			}
		}
	}
	// Load through the follower only: the leader learns of it from the
	// counts the follower flushes, and scales.
	stop := make(chan struct{})
	wg := loadBoth("ha", []*harness.Ferry{follower}, 30*time.Second, stop)
	viaFollower := waitGrow("under load through the follower", 25*time.Second)
	close(stop)
	wg.Wait()
	if !decided(t, leader, "ha") || decided(t, follower, "ha") {
		t.Fatalf("scaling decisions: leader %v, follower %v; want only the leader", decided(t, leader, "ha"), decided(t, follower, "ha"))
	}

	// Kill the leader without a chance to release its lease; then back to
	// one replica by hand.
	killed := time.Now()
	leader.Kill()
	if out, err := cluster.Kubectl("scale", "deploy", "ha", "-n", fnNS, "--replicas=1"); err != nil {
		t.Fatal(out)
	}
	for !leads(follower) {
		if time.Since(killed) > 10*time.Second {
			t.Fatalf("no takeover within 10 s of the leader's death")
		}
		time.Sleep(100 * time.Millisecond)
	}
	takeover := time.Since(killed)
	stop = make(chan struct{})
	wg = loadBoth("ha", []*harness.Ferry{follower}, 30*time.Second, stop)
	grow := waitGrow("after the takeover", 25*time.Second)
	close(stop)
	wg.Wait()
	t.Logf("FIGURE scaled up by the leader %s after load began through the follower (its counts flushed every 1s)", viaFollower.Round(time.Millisecond))
	t.Logf("FIGURE leader takeover after SIGKILL: %s (lease duration 5s, retry 1s); autoscaling resumed %s after the takeover", takeover.Round(time.Millisecond), grow.Round(time.Millisecond))

	if leader == ferry { // the shared gateway: bring it back for the other tests
		if err := ferry.Relaunch(); err != nil {
			t.Fatal(err)
		}
	} else {
		g2 = nil
	}
}

// TestCountsAcrossGateways: calls spread over two gateways are counted
// once each: the ConfigMap holds the sum, and both gateways show it.
func TestCountsAcrossGateways(t *testing.T) {
	kubeTest(t)
	g2 := secondGateway(t, "--counter-flush", "1s")
	defer g2.Stop()
	deployFn(t, "hacnt", fnNS, images["v1"], nil)
	defer ferry.Do("DELETE", "/system/functions", map[string]string{"functionName": "hacnt", "namespace": fnNS})
	waitReady(t, "hacnt", fnNS, 1)
	const n1, n2 = 20, 13
	for i := 0; i < n1+n2; i++ {
		g := ferry
		if i >= n1 {
			g = g2
		}
		if code, body, err := g.Invoke("hacnt", "x"); code != 200 {
			t.Fatalf("call %d: %d %q %v", i, code, body, err)
		}
	}
	count := func(g *harness.Ferry) float64 {
		_, b, _ := g.Do("GET", "/system/function/hacnt", nil)
		var st struct{ InvocationCount float64 }
		json.Unmarshal(b, &st)
		return st.InvocationCount
	}
	// Each gateway learns the other's calls at its next flush (5 s for
	// the shared one, 1 s for the second).
	var c1, c2 float64
	var stored string
	for end := time.Now().Add(20 * time.Second); time.Now().Before(end); time.Sleep(250 * time.Millisecond) {
		c1, c2 = count(ferry), count(g2)
		out, _ := cluster.Kubectl("get", "configmap", "-n", fnNS, "ferry-invocation-counts", "-o", "jsonpath={.data.hacnt\\."+fnNS+"}")
		stored = strings.TrimSpace(out)
		if c1 == n1+n2 && c2 == n1+n2 && stored == fmt.Sprint(n1+n2) {
			return
		}
	}
	t.Fatalf("invocationCount %v and %v on the two gateways, %q in the cluster; want %d everywhere", c1, c2, stored, n1+n2)
}

// TestLeaderStepsDownCleanly: a leader stopped with SIGTERM (a rolling
// update) releases the Lease, so the other gateway leads within seconds,
// not after the lease duration.
func TestLeaderStepsDownCleanly(t *testing.T) {
	kubeTest(t)
	g2 := secondGateway(t)
	leader, follower := whoLeads(t, ferry, g2)
	start := time.Now()
	leader.Stop()
	for !leads(follower) {
		if time.Since(start) > 4*time.Second {
			t.Fatalf("no takeover within 4 s of a clean stop (lease duration 5s)")
		}
		time.Sleep(50 * time.Millisecond)
	}
	t.Logf("FIGURE takeover after the leader's clean stop: %s", time.Since(start).Round(time.Millisecond))
	if leader == ferry {
		if err := ferry.Relaunch(); err != nil {
			t.Fatal(err)
		}
	}
	g2.Stop()
}
