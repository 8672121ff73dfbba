package process

import (
	"context"
	"errors"
	"log/slog"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/ferryfaas/ferry/api"
	"github.com/ferryfaas/ferry/provider"
	"github.com/ferryfaas/ferry/test/harness"
)

// fakeRuntime is a Runtime without processes, for narrow tests of what the
// Provider owns (supervision, back-off, rolling updates). A function's
// env var "fake" picks what its replicas do: "ok" (ready at once),
// "crash" (exit at once, printing "boom"), "never" (never ready) or
// "gate" (ready once the runtime's gate is closed). "v" tags a version.
type fakeRuntime struct {
	gate chan struct{}

	mu     sync.Mutex
	starts []fakeEvent
	stops  []fakeEvent
	asked  map[string]int // version -> calls of its replicas' Ready: the provider waits on them
}

type fakeEvent struct {
	instance, version string
	at                time.Time
	grace             time.Duration
}

type fakeVersion struct{ mode, tag string }

func (rt *fakeRuntime) Prepare(_ context.Context, v *Version) (Prepared, error) {
	d := v.Deployment
	return Prepared{Run: fakeVersion{mode: d.EnvVars["fake"], tag: d.EnvVars["v"]}}, nil
}

func (rt *fakeRuntime) Start(_ context.Context, r ReplicaSpec) (Replica, error) {
	fv := r.Prepared.Run.(fakeVersion)
	x := &fakeReplica{rt: rt, ev: fakeEvent{instance: r.Instance, version: fv.tag, at: time.Now()},
		ready: make(chan struct{}), done: make(chan struct{})}
	x.ep = provider.Endpoint{Address: fv.tag + "/" + r.Instance}
	rt.mu.Lock()
	rt.starts = append(rt.starts, x.ev)
	rt.mu.Unlock()
	switch fv.mode {
	case "ok":
		close(x.ready)
	case "crash":
		r.Output(0, "boom")
		x.end(errors.New("exited with status 1; last output: boom"))
	case "gate":
		go func() {
			select {
			case <-rt.gate:
				close(x.ready)
			case <-x.done:
			}
		}()
	}
	return x, nil
}

func (rt *fakeRuntime) events() (starts, stops []fakeEvent) {
	rt.mu.Lock()
	defer rt.mu.Unlock()
	return append([]fakeEvent(nil), rt.starts...), append([]fakeEvent(nil), rt.stops...)
}

// waitStarts waits until n replicas of version have been started and the
// provider has asked whether one of them is ready.
func (rt *fakeRuntime) waitStarts(t *testing.T, version string, n int) {
	t.Helper()
	for deadline := time.Now().Add(10 * time.Second); ; time.Sleep(5 * time.Millisecond) {
		starts, _ := rt.events()
		got := 0
		for _, s := range starts {
			if s.version == version {
				got++
			}
		}
		rt.mu.Lock()
		asked := rt.asked[version]
		rt.mu.Unlock()
		if got >= n && asked > 0 {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("%d %s replicas started (readiness asked %d times) within 10s, want %d", got, version, asked, n)
		}
	}
}

type fakeReplica struct {
	rt    *fakeRuntime
	ev    fakeEvent
	ep    provider.Endpoint
	ready chan struct{}
	once  sync.Once
	done  chan struct{}
	err   error
}

func (x *fakeReplica) Ready() <-chan struct{} {
	x.rt.mu.Lock()
	if x.rt.asked == nil {
		x.rt.asked = map[string]int{}
	}
	x.rt.asked[x.ev.version]++
	x.rt.mu.Unlock()
	return x.ready
}

func (x *fakeReplica) Endpoint() provider.Endpoint { return x.ep }
func (x *fakeReplica) Done() <-chan struct{}       { return x.done }
func (x *fakeReplica) Err() error                  { return x.err }

func (x *fakeReplica) end(err error) {
	x.once.Do(func() { x.err = err; close(x.done) })
}

func (x *fakeReplica) Stop(_ context.Context, grace time.Duration) error {
	ev := x.ev
	ev.at, ev.grace = time.Now(), grace
	x.rt.mu.Lock()
	x.rt.stops = append(x.rt.stops, ev)
	x.rt.mu.Unlock()
	x.end(errors.New("stopped"))
	return nil
}

func fakeEnv(t *testing.T, tweak func(*Config)) (*env, *fakeRuntime) {
	rt := &fakeRuntime{gate: make(chan struct{})}
	e := newEnv(t, func(c *Config) {
		c.Runtime, c.Watchdog = rt, nil
		if tweak != nil {
			tweak(c)
		}
	})
	return e, rt
}

// A replica that keeps dying is restarted with a growing delay, and the
// function reports the crash loop with the replica's last output.
func TestSeamCrashLoopBacksOff(t *testing.T) {
	var serverLog harness.LockedBuffer
	e, rt := fakeEnv(t, func(c *Config) {
		c.BackoffMin, c.BackoffMax = 40*time.Millisecond, time.Second
		c.Log = slog.New(slog.NewTextHandler(&serverLog, nil))
	})
	e.deploy(api.FunctionDeployment{Service: "loop", EnvVars: map[string]string{"fake": "crash"}})
	r := e.waitRoute("loop", 10*time.Second, "crash loop reported", func(r provider.Route) bool {
		return strings.Contains(r.Failure, "keeps crashing") && strings.Contains(r.Failure, "boom")
	})
	if len(r.Endpoints) != 0 {
		t.Fatalf("endpoints of a crashing function: %v", r.Endpoints)
	}
	deadline := time.Now().Add(5 * time.Second)
	var starts []fakeEvent
	for starts, _ = rt.events(); len(starts) < 5 && time.Now().Before(deadline); starts, _ = rt.events() {
		time.Sleep(20 * time.Millisecond)
	}
	if len(starts) < 5 {
		t.Fatalf("%d starts in 5s", len(starts))
	}
	for i := 1; i < 5; i++ {
		gap, want := starts[i].at.Sub(starts[i-1].at), 40*time.Millisecond<<(i-1)
		if gap < want {
			t.Errorf("restart %d came %s after the previous one, before the back-off of %s", i, gap, want)
		}
	}
	st, _ := e.p.Get(context.Background(), ns, "loop")
	if c := st.Conditions[0]; c.Reason != "CrashLoop" || !strings.Contains(c.Message, "boom") {
		t.Errorf("Ready condition %+v, want CrashLoop with the last output", c)
	}
	if st.Restarts < 4 {
		t.Errorf("restarts %d after %d starts", st.Restarts, len(starts))
	}
	// One server log line per attempt, the same output only the first time.
	logs := serverLog.String()
	if n := strings.Count(logs, "boom"); n != 1 {
		t.Errorf("the same crash output logged %d times, want once:\n%s", n, logs)
	}
	if !strings.Contains(logs, "replica exited again, as before") {
		t.Errorf("repeated crashes not logged as repeats:\n%s", logs)
	}
}

// A replica that never becomes ready is killed at StartTimeout (no grace)
// and the reason says so.
func TestSeamStartTimeoutKills(t *testing.T) {
	e, rt := fakeEnv(t, func(c *Config) { c.StartTimeout = 100 * time.Millisecond })
	e.deploy(api.FunctionDeployment{Service: "stuck", EnvVars: map[string]string{"fake": "never"}})
	e.waitRoute("stuck", 10*time.Second, "start timeout reported", func(r provider.Route) bool {
		return strings.Contains(r.Failure, "not ready after 100ms")
	})
	_, stops := rt.events()
	if len(stops) == 0 || stops[0].grace != 0 {
		t.Fatalf("stops %+v: want the stuck replica stopped without grace", stops)
	}
}

// An update keeps every old replica serving until a new one is ready to
// take its place, even when new ones are slow, and never routes to one of
// a version that only crashes.
func TestSeamRollingUpdateWaitsForReady(t *testing.T) {
	e, rt := fakeEnv(t, nil)
	d := api.FunctionDeployment{Service: "roll", Namespace: ns, Image: "x", Labels: map[string]string{"com.openfaas.scale.min": "2"},
		EnvVars: map[string]string{"fake": "ok", "v": "v1"}}
	e.deploy(d)
	e.waitReady("roll", 2)

	// Watch every route snapshot: never fewer than 2 endpoints.
	stop := make(chan struct{})
	watched := make(chan string, 1)
	go func() {
		var bad string
		defer func() { watched <- bad }()
		for {
			r, _ := e.p.Route(ns, "roll")
			if len(r.Endpoints) < 2 && bad == "" {
				bad = "a snapshot had fewer than 2 endpoints"
			}
			select {
			case <-r.Changed:
			case <-stop:
				return
			}
		}
	}()

	d.EnvVars = map[string]string{"fake": "crash", "v": "v2"}
	if err := e.p.Update(context.Background(), d); err != nil {
		t.Fatal(err)
	}
	rt.waitStarts(t, "v2", 2) // crashed, and started again after the backoff
	if r, _ := e.p.Route(ns, "roll"); len(r.Endpoints) != 2 || !strings.HasPrefix(r.Endpoints[0].Address, "v1/") || !strings.HasPrefix(r.Endpoints[1].Address, "v1/") {
		t.Fatalf("during an update to a crashing version: %+v, want the 2 v1 replicas", r.Endpoints)
	}

	d.EnvVars = map[string]string{"fake": "gate", "v": "v3"}
	if err := e.p.Update(context.Background(), d); err != nil {
		t.Fatal(err)
	}
	rt.waitStarts(t, "v3", 1) // the rollout waits on a v3 replica
	for _, s := range func() []fakeEvent { _, s := rt.events(); return s }() {
		if s.version == "v1" {
			t.Fatalf("v1 replica %s stopped before any v3 one was ready", s.instance)
		}
	}
	close(rt.gate)
	e.waitRoute("roll", 10*time.Second, "2 v3 replicas", func(r provider.Route) bool {
		return len(r.Endpoints) == 2 && strings.HasPrefix(r.Endpoints[0].Address, "v3/") && strings.HasPrefix(r.Endpoints[1].Address, "v3/")
	})
	close(stop)
	if bad := <-watched; bad != "" {
		t.Error(bad)
	}
	// The old replicas are stopped by their own supervisors once the new
	// ones took the route: wait for both stops, then check their grace.
	v1 := 0
	for deadline := time.Now().Add(10 * time.Second); ; time.Sleep(20 * time.Millisecond) {
		_, stops := rt.events()
		v1 = 0
		for _, s := range stops {
			if s.version == "v1" {
				v1++
				if s.grace <= 0 {
					t.Fatalf("v1 replica %s stopped with no grace", s.instance)
				}
			}
		}
		if v1 >= 2 || time.Now().After(deadline) {
			break
		}
	}
	if v1 != 2 {
		t.Errorf("%d v1 replicas stopped, want 2", v1)
	}
}
