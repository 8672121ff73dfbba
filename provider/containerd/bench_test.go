package containerd

import (
	"context"
	"fmt"
	"slices"
	"testing"
	"time"
)

// Cold start is Start until the watchdog answers its health check, for a
// Go http function image already imported; idle memory is the replica's
// memory cgroup once it has served one call.
func TestColdStartAndIdleMemory(t *testing.T) {
	e := newEnv(t, 93)
	e.importProbe(t)
	const n = 10
	var times []time.Duration
	ctx := context.Background()
	for i := 0; i < n; i++ {
		t0 := time.Now()
		x, err := e.rt.Start(ctx, ReplicaSpec{Function: "probe", Namespace: "fn", Instance: fmt.Sprintf("probe-%d", i), Image: "ferry-test/probe:1", Env: []string{"healthcheck_interval=100ms"}})
		if err != nil {
			t.Fatal(err)
		}
		select {
		case <-x.Ready():
		case <-x.Done():
			t.Fatalf("exited: %v", x.Err())
		case <-time.After(30 * time.Second):
			t.Fatal("not ready in 30s")
		}
		times = append(times, time.Since(t0))
		if i == n-1 {
			ask(t, x, "op=id")
			time.Sleep(500 * time.Millisecond)
			u, err := x.Usage(ctx)
			if err != nil {
				t.Fatal(err)
			}
			t.Logf("idle replica memory cgroup usage: %.1f MiB", float64(u.MemoryBytes)/(1<<20))
		}
		ts := time.Now()
		if err := x.Stop(ctx, 5*time.Second); err != nil {
			t.Fatal(err)
		}
		fmt.Println("TIMING stop", time.Since(ts))
	}
	slices.Sort(times)
	p50 := times[n/2]
	t.Logf("cold start (Start → ready) over %d: p50 %s, min %s, max %s", n, p50.Round(100*time.Microsecond), times[0].Round(100*time.Microsecond), times[n-1].Round(100*time.Microsecond))
	e.requireClean(t)
}
