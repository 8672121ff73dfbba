package cron

import (
	"context"
	"log/slog"
	"path/filepath"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/ferryfaas/ferry/queue"
	"github.com/ferryfaas/ferry/trigger"
	"github.com/ferryfaas/ferry/trigger/triggertest"
	"github.com/nats-io/nats.go/jetstream"
)

var everySecond = map[string]string{"topic": "cron-function", "schedule": "* * * * * *"}

func isTick(fn string) func(triggertest.Call) bool {
	return func(c triggertest.Call) bool { return c.Function == fn && c.Header.Get("X-Cron-Tick") != "" }
}

// run starts a source on env's index until the returned stop is called.
func run(t *testing.T, env *triggertest.Env, cfg Config) (stop func()) {
	t.Helper()
	s, err := New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() {
		defer close(done)
		trigger.Run(ctx, env.Index, env.Invoker, slog.Default(), s)
	}()
	return func() { cancel(); <-done }
}

// Two schedulers sharing one NATS (two gateways) run each tick once.
func TestOncePerTickWithTwoSchedulers(t *testing.T) {
	env := triggertest.Start(t)
	env.Deploy(t, "tick", everySecond)
	emb, err := queue.StartEmbedded(queue.EmbeddedOptions{StoreDir: t.TempDir()})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(emb.Shutdown)
	var stops []func()
	for i := range 2 {
		stops = append(stops, run(t, env, Config{Claims: claimsOn(t, emb), StatePath: filepath.Join(t.TempDir(), "s.json"), Log: slog.Default().With("gw", i)}))
	}
	env.WaitCalls(t, 3, 10*time.Second, isTick(triggertest.Key("tick")))
	for _, s := range stops {
		s()
	}
	ticks := map[string]int{}
	for _, c := range env.Calls() {
		if isTick(triggertest.Key("tick"))(c) {
			ticks[c.Header.Get("X-Cron-Tick")]++
		}
	}
	for tick, n := range ticks {
		if n != 1 {
			t.Errorf("tick %s ran %d times, want once", tick, n)
		}
	}
	if len(ticks) < 3 {
		t.Errorf("only %d ticks ran", len(ticks))
	}
}

// A tick missed while the scheduler was down runs once after it starts
// again, and no tick runs twice across the restart.
func TestMissedTickRunsOnceAfterRestart(t *testing.T) {
	env := triggertest.Start(t)
	env.Deploy(t, "tick", everySecond)
	cfg := Config{StatePath: filepath.Join(t.TempDir(), "cron.json"), Grace: time.Minute}
	stop := run(t, env, cfg)
	env.WaitCalls(t, 1, 5*time.Second, isTick(triggertest.Key("tick")))
	stop()
	down := time.Now()
	time.Sleep(2500 * time.Millisecond)
	up := time.Now()
	stop = run(t, env, cfg)
	env.WaitCalls(t, 2, 5*time.Second, func(c triggertest.Call) bool {
		tick, _ := time.Parse(time.RFC3339, c.Header.Get("X-Cron-Tick"))
		return isTick(triggertest.Key("tick"))(c) && tick.After(down.Add(-time.Second))
	})
	stop()
	checkOneMissed(t, env, down, up)
}

// Only the latest tick missed within the grace window runs after a
// restart; older ones do not.
func TestMissedTickGraceWindow(t *testing.T) {
	for _, c := range []struct {
		grace time.Duration
		want  []string
	}{
		{10 * time.Minute, nil},
		{45 * time.Minute, []string{"2026-01-01T12:00:00Z"}},
		{5 * time.Hour, []string{"2026-01-01T12:00:00Z"}}, // one run stands for both missed ticks
	} {
		env := triggertest.Start(t)
		env.Deploy(t, "hourly", map[string]string{"topic": "cron-function", "schedule": "CRON_TZ=UTC 0 * * * *"})
		fns, _ := env.Index.Snapshot()
		now := time.Date(2026, 1, 1, 12, 30, 0, 0, time.UTC)
		path := filepath.Join(t.TempDir(), "cron.json")
		st, _ := loadState(path)
		st.set(entryID(&fns[0]), time.Date(2026, 1, 1, 10, 0, 0, 0, time.UTC), func(string) bool { return true })
		s, err := New(Config{StatePath: path, Grace: c.grace, Now: func() time.Time { return now }})
		if err != nil {
			t.Fatal(err)
		}
		var wg sync.WaitGroup
		s.sync(context.Background(), &wg, env.Invoker, fns, map[string]*entry{})
		wg.Wait()
		var got []string
		for _, call := range env.Calls() {
			got = append(got, call.Header.Get("X-Cron-Tick"))
		}
		if !slices.Equal(got, c.want) {
			t.Errorf("grace %v: ran %v, want %v", c.grace, got, c.want)
		}
	}
}

// With no local state (a new pod of the cluster's trigger Deployment), a
// tick missed while every scheduler was down is caught up from the shared
// claims, once.
func TestMissedTickCaughtUpFromSharedClaims(t *testing.T) {
	env := triggertest.Start(t)
	env.Deploy(t, "tick", everySecond)
	emb, err := queue.StartEmbedded(queue.EmbeddedOptions{StoreDir: t.TempDir()})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(emb.Shutdown)
	scheduler := func() func() { return run(t, env, Config{Claims: claimsOn(t, emb), Grace: time.Minute}) }
	stop := scheduler()
	env.WaitCalls(t, 1, 5*time.Second, isTick(triggertest.Key("tick")))
	stop()
	down := time.Now()
	time.Sleep(2500 * time.Millisecond)
	up := time.Now()
	stop = scheduler()
	env.WaitCalls(t, 2, 5*time.Second, func(c triggertest.Call) bool {
		tick, _ := time.Parse(time.RFC3339, c.Header.Get("X-Cron-Tick"))
		return isTick(triggertest.Key("tick"))(c) && tick.After(down.Add(-time.Second))
	})
	stop()
	checkOneMissed(t, env, down, up)
}

// checkOneMissed checks that no tick ran twice and that exactly one tick
// of the downtime (down, up] ran.
func checkOneMissed(t *testing.T, env *triggertest.Env, down, up time.Time) {
	t.Helper()
	var missed int
	seen := map[string]bool{}
	for _, c := range env.Calls() {
		v := c.Header.Get("X-Cron-Tick")
		if seen[v] {
			t.Errorf("tick %s ran twice", v)
		}
		seen[v] = true
		tick, _ := time.Parse(time.RFC3339, v)
		if tick.After(down) && !tick.After(up) {
			missed++
		}
	}
	if missed != 1 {
		t.Errorf("%d ticks from the downtime ran, want exactly the latest one; calls: %+v", missed, env.Calls())
	}
}

// claimsOn opens the claim bucket on emb through a connection of its own,
// as each gateway has.
func claimsOn(t *testing.T, emb *queue.Embedded) func(context.Context) (jetstream.KeyValue, error) {
	t.Helper()
	nc, err := emb.Connect("gateway")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(nc.Close)
	js, err := jetstream.New(nc)
	if err != nil {
		t.Fatal(err)
	}
	return func(ctx context.Context) (jetstream.KeyValue, error) { return OpenClaims(ctx, js) }
}
