package process

import (
	"context"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/ferryfaas/ferry/api"
	"github.com/ferryfaas/ferry/provider"
)

// What `faas-cli deploy --image X --name echo --fprocess cat` sends.
func TestForkModeCat(t *testing.T) {
	e := newEnv(t, nil)
	start := time.Now()
	e.deploy(api.FunctionDeployment{Service: "echo", Image: "ghcr.io/example/echo:latest", EnvProcess: "cat"})
	r := e.waitReady("echo", 1)
	t.Logf("deploy to ready: %s", time.Since(start))
	if r.Failure != "" {
		t.Fatalf("failure on a healthy function: %s", r.Failure)
	}
	code, body := invoke(t, r.Endpoints[0], "hello ferry")
	if code != 200 || body != "hello ferry" {
		t.Fatalf("invoke: %d %q", code, body)
	}
	if want := "echo-0"; r.Endpoints[0].Instance != want {
		t.Errorf("instance %q, want %q", r.Endpoints[0].Instance, want)
	}
	st, err := e.p.Get(context.Background(), ns, "echo")
	if err != nil {
		t.Fatal(err)
	}
	if st.Replicas != 1 || st.AvailableReplicas != 1 || st.ReadyReplicas != 1 || st.CreatedAt.IsZero() || st.EnvProcess != "cat" {
		t.Fatalf("status: %+v", st)
	}
	if st.Usage == nil || st.Usage.TotalMemoryBytes <= 0 {
		t.Errorf("usage: %+v", st.Usage)
	}
	if err := e.p.Deploy(context.Background(), api.FunctionDeployment{Service: "echo", Image: "x", Namespace: ns, EnvProcess: "cat"}); !api.IsConflict(err) {
		t.Errorf("duplicate deploy: %v, want 409", err)
	}
}

func TestScaleZeroThreeOne(t *testing.T) {
	e := newEnv(t, nil)
	e.deploy(api.FunctionDeployment{Service: "sc", EnvProcess: "cat"})
	e.waitReady("sc", 1)
	ctx := context.Background()
	for _, n := range []int{0, 3, 1} {
		if err := e.p.Scale(ctx, ns, "sc", uint64(n)); err != nil {
			t.Fatal(err)
		}
		r := e.waitReady("sc", n)
		for _, ep := range r.Endpoints {
			if code, body := invoke(t, ep, "x"); code != 200 || body != "x" {
				t.Fatalf("replica %s: %d %q", ep.Instance, code, body)
			}
		}
		st, _ := e.p.Get(ctx, ns, "sc")
		if st.Replicas != uint64(n) || st.AvailableReplicas != uint64(n) {
			t.Fatalf("scale %d: status replicas %d available %d", n, st.Replicas, st.AvailableReplicas)
		}
	}
	if err := e.p.Scale(ctx, ns, "nope", 1); !api.IsNotFound(err) {
		t.Fatalf("scale of a missing function: %v", err)
	}
}

// kill -9 of a replica: out of the endpoints at once, back after back-off
// as a new process with the same instance name.
func TestKilledReplicaRestarts(t *testing.T) {
	e := newEnv(t, func(c *Config) { c.BackoffMin = 300 * time.Millisecond })
	e.deploy(api.FunctionDeployment{Service: "kl", EnvProcess: "cat", Labels: map[string]string{"com.openfaas.scale.min": "2"}})
	e.waitReady("kl", 2)
	pids := e.p.pids(ns, "kl")
	victim := pids["kl-1"]
	if victim == 0 {
		t.Fatalf("no pid for kl-1: %v", pids)
	}
	if err := syscall.Kill(victim, syscall.SIGKILL); err != nil {
		t.Fatal(err)
	}
	r := e.waitRoute("kl", 10*time.Second, "kl-1 removed", func(r provider.Route) bool {
		return len(r.Endpoints) == 1
	})
	if r.Endpoints[0].Instance != "kl-0" {
		t.Fatalf("the wrong replica left: %+v", r.Endpoints)
	}
	if code, _ := invoke(t, r.Endpoints[0], "still up"); code != 200 {
		t.Fatalf("survivor: %d", code)
	}
	r = e.waitReady("kl", 2)
	if now := e.p.pids(ns, "kl")["kl-1"]; now == victim || now == 0 {
		t.Fatalf("kl-1 pid %d after restart (was %d)", now, victim)
	}
	for _, ep := range r.Endpoints {
		if code, body := invoke(t, ep, "again"); code != 200 || body != "again" {
			t.Fatalf("%s after restart: %d %q", ep.Instance, code, body)
		}
	}
}

// A replica that can never start is a crash loop: Route.Failure and a
// condition carry its last output.
func TestCrashLoopReported(t *testing.T) {
	e := newEnv(t, func(c *Config) { c.BackoffMin = 10 * time.Millisecond; c.BackoffMax = 50 * time.Millisecond })
	e.deploy(api.FunctionDeployment{Service: "crash", EnvProcess: "cat", EnvVars: map[string]string{"mode": "bogus"}})
	r := e.waitRoute("crash", 20*time.Second, "crash loop failure", func(r provider.Route) bool { return r.Failure != "" })
	if !strings.Contains(r.Failure, "keeps crashing") || !strings.Contains(r.Failure, "bogus") {
		t.Fatalf("failure %q should say it keeps crashing and show the watchdog's error", r.Failure)
	}
	st, _ := e.p.Get(context.Background(), ns, "crash")
	if st.Conditions[0].Type != "Ready" || st.Conditions[0].Status != "False" || st.Conditions[0].Reason != "CrashLoop" {
		t.Fatalf("conditions: %+v", st.Conditions)
	}
}

// No command and no artifact: stored, but the runtime says it cannot run it.
func TestBareImageCannotRun(t *testing.T) {
	e := newEnv(t, nil)
	e.deploy(api.FunctionDeployment{Service: "bare", Image: "nginx:latest"})
	r, ok := e.p.Route(ns, "bare")
	if !ok || !strings.Contains(r.Failure, "can't run the bare image") || !strings.Contains(r.Failure, "--runtime containerd") {
		t.Fatalf("route: %+v", r)
	}
	st, _ := e.p.Get(context.Background(), ns, "bare")
	if st.Conditions[0].Reason != "CannotRun" {
		t.Fatalf("conditions: %+v", st.Conditions)
	}
}

// Close + New on the same store and data dir: every function is back with
// its replica count.
func TestRestartRestoresFunctions(t *testing.T) {
	e := newEnv(t, nil)
	e.deploy(api.FunctionDeployment{Service: "two", EnvProcess: "cat", Labels: map[string]string{"com.openfaas.scale.min": "2"}})
	e.deploy(api.FunctionDeployment{Service: "zero", EnvProcess: "cat"})
	if err := e.p.Scale(context.Background(), ns, "zero", 0); err != nil {
		t.Fatal(err)
	}
	e.waitReady("two", 2)
	e.waitReady("zero", 0)
	old := e.p.pids(ns, "two")
	e.reopen()
	r := e.waitReady("two", 2)
	for _, ep := range r.Endpoints {
		if code, body := invoke(t, ep, "back"); code != 200 || body != "back" {
			t.Fatalf("%s: %d %q", ep.Instance, code, body)
		}
	}
	for inst, pid := range e.p.pids(ns, "two") {
		if old[inst] == pid {
			t.Fatalf("%s still has pid %d: Close did not stop it", inst, pid)
		}
		if err := syscall.Kill(old[inst], 0); err == nil {
			t.Fatalf("old replica %d still alive after Close", old[inst])
		}
	}
	e.waitReady("zero", 0)
	list, err := e.p.List(context.Background(), ns)
	if err != nil || len(list) != 2 || list[0].Name != "two" || list[1].Name != "zero" {
		t.Fatalf("list after restart: %v %+v", err, list)
	}
}

func TestRouteDoesNotAllocate(t *testing.T) {
	e := newEnv(t, nil)
	e.deploy(api.FunctionDeployment{Service: "hot", EnvProcess: "cat"})
	e.waitReady("hot", 1)
	if n := testing.AllocsPerRun(1000, func() { e.p.Route(ns, "hot") }); n != 0 {
		t.Fatalf("Route allocates %.1f times per call", n)
	}
}

func BenchmarkRoute(b *testing.B) {
	e := newEnv(b, nil)
	e.deploy(api.FunctionDeployment{Service: "hot", EnvProcess: "cat"})
	b.ReportAllocs()
	b.ResetTimer()
	b.RunParallel(func(pb *testing.PB) {
		for pb.Next() {
			e.p.Route(ns, "hot")
		}
	})
}
