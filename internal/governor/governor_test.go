package governor

import (
	"context"
	"os"
	"runtime"
	"strings"
	"testing"
	"time"
)

// fakeProcess is a process whose CPU use the test decides.
type fakeProcess struct {
	now  time.Time
	cpu  time.Duration
	sets []int
}

// run advances the clock by d with the process using load cores.
func (f *fakeProcess) run(d time.Duration, load float64) time.Time {
	f.now = f.now.Add(d)
	f.cpu += time.Duration(load * float64(d))
	return f.now
}

func newFake(t *testing.T, cfg Config) (*fakeProcess, *Governor) {
	t.Helper()
	f := &fakeProcess{now: time.Unix(1000, 0)}
	g, err := NewGovernor(cfg, f.now, func() time.Duration { return f.cpu }, func(n int) { f.sets = append(f.sets, n) })
	if err != nil {
		t.Fatal(err)
	}
	return f, g
}

func TestGovernorFollowsLoad(t *testing.T) {
	cfg := Defaults()
	cfg.Max = 8
	cfg.LowerAfter = 1 // one step down per low interval (see TestGovernorLowersSlowly)
	f, g := newFake(t, cfg)
	steps := []struct {
		load float64
		want int
	}{
		{0.1, 1},  // idle gateway: one P
		{0.6, 1},  // busy but under 0.7 of one core: still one
		{0.95, 2}, // one P saturated: ceil(0.95/0.7) = 2
		{1.9, 3},  // two saturated: ceil(1.9/0.7) = 3
		{2.9, 5},  // ceil(2.9/0.7) = 5
		{7.9, 8},  // capped at Max
		{2.0, 7},  // load falls: one P back per interval while under 0.35 × (Ps-1)
		{2.0, 6},
		{2.0, 6}, // 2.0 >= 0.35 × 5: held (hysteresis, no flapping)
		{0.0, 5},
		{0.0, 4},
		{0.0, 3},
		{0.0, 2},
		{0.0, 1},
		{0.0, 1}, // never below Min
	}
	for i, s := range steps {
		if got := g.Step(f.run(time.Second, s.load)); got != s.want {
			t.Fatalf("step %d (load %.2f): %d Ps, want %d", i, s.load, got, s.want)
		}
	}
	if f.sets[0] != 1 {
		t.Fatalf("the governor must start at Min: first set %v", f.sets)
	}
	for i := 1; i < len(f.sets); i++ {
		if f.sets[i] == f.sets[i-1] {
			t.Fatalf("GOMAXPROCS set again to the same value (%v): each change stops the world", f.sets)
		}
	}
}

// TestGovernorLowersSlowly: a P is given at the first busy interval but
// taken back only after LowerAfter quiet ones in a row; a busy one in
// between starts the count again.
func TestGovernorLowersSlowly(t *testing.T) {
	cfg := Defaults()
	cfg.Max, cfg.Raise, cfg.LowerAfter = 2, 0.5, 3
	f, g := newFake(t, cfg)
	for i, s := range []struct {
		load float64
		want int
	}{
		{0.6, 2},           // over 0.5 of one P: a second one at once
		{0.1, 2}, {0.1, 2}, // quiet, but not yet three in a row
		{0.4, 2},                     // a busy interval (over 0.35 x 1): the count starts again
		{0.1, 2}, {0.1, 2}, {0.1, 1}, // three quiet ones: back to one
	} {
		if got := g.Step(f.run(cfg.Interval, s.load)); got != s.want {
			t.Fatalf("step %d (load %.2f): %d Ps, want %d", i, s.load, got, s.want)
		}
	}
}

func TestGovernorIgnoresClockGoingBack(t *testing.T) {
	f, g := newFake(t, Config{Interval: time.Second, Raise: 0.7, Lower: 0.35, LowerAfter: 1, Min: 1, Max: 4})
	if got := g.Step(f.now.Add(-time.Second)); got != 1 {
		t.Fatalf("%d Ps after a clock step back", got)
	}
}

func TestValidateNamesTheKey(t *testing.T) {
	for key, mutate := range map[string]func(*Config){
		"Interval":   func(c *Config) { c.Interval = 0 },
		"Raise":      func(c *Config) { c.Raise = 1.5 },
		"Lower":      func(c *Config) { c.Lower = 0.9 },
		"LowerAfter": func(c *Config) { c.LowerAfter = 0 },
		"Min":        func(c *Config) { c.Min = 0 },
		"Max":        func(c *Config) { c.Min, c.Max = 2, 1 },
	} {
		c := Defaults()
		mutate(&c)
		err := c.Validate()
		if err == nil || !strings.Contains(err.Error(), key) {
			t.Errorf("%s out of range: error %v does not name it", key, err)
		}
	}
	if err := Defaults().Validate(); err != nil {
		t.Fatalf("the shipped defaults are invalid: %v", err)
	}
}

// TestStart runs the real governor on this process: it must begin at one
// P and give the original count back when stopped.
func TestStart(t *testing.T) {
	before := runtime.GOMAXPROCS(0)
	if before < 2 || os.Getenv("GOMAXPROCS") != "" {
		t.Skip("needs 2+ CPUs and no GOMAXPROCS in the environment")
	}
	ctx, cancel := context.WithCancel(context.Background())
	if !Start(ctx, nil) {
		t.Fatal("the governor did not start")
	}
	if n := runtime.GOMAXPROCS(0); n != 1 {
		t.Fatalf("GOMAXPROCS %d after start, want 1", n)
	}
	cancel()
	deadline := time.Now().Add(5 * time.Second)
	for runtime.GOMAXPROCS(0) != before && time.Now().Before(deadline) {
		time.Sleep(10 * time.Millisecond)
	}
	if n := runtime.GOMAXPROCS(0); n != before {
		t.Fatalf("GOMAXPROCS %d after stop, want %d back", n, before)
	}
}

func TestStartObeysEnvironment(t *testing.T) {
	t.Setenv("GOMAXPROCS", "2")
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	if Start(ctx, nil) {
		t.Fatal("the governor started although GOMAXPROCS is set")
	}
}
