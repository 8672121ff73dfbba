// Package governor sizes GOMAXPROCS to the load a Ferry server actually has.
//
// The gateway and the watchdog are proxies: per call they do a little work
// between two socket waits. With more Ps than busy goroutines, Go's
// scheduler wakes an idle thread for each goroutine readied by the network
// poller, and that thread spins looking for work before it sleeps again.
// On a small machine shared with the functions themselves, that churn cost
// more than the proxying: with GOMAXPROCS=1 the gateway used about 25%
// less CPU per call at 16 concurrent callers on 2 cores, and added half
// the latency (see bench "core"). One P is not enough for a heavy load
// though, so a Governor starts at Min and adds Ps as the process's CPU use
// approaches what its Ps can give, and takes them back when the load goes.
//
// A GOMAXPROCS set in the environment is obeyed and disables the governor.
package governor

import (
	"context"
	"fmt"
	"math"
	"os"
	"runtime"
	"time"
)

// Config holds every tunable of the governor.
type Config struct {
	// Interval between two decisions; the CPU use is averaged over it.
	Interval time.Duration
	// Raise: more Ps are given when CPU use exceeds Raise × Ps (in cores);
	// the new count is the one that brings use back under Raise.
	Raise float64
	// Lower: a P is taken back when use stays below Lower × (Ps-1) for
	// LowerAfter intervals in a row (raise at once, lower slowly: a burst's
	// lull does not take a P back that the next second needs again).
	Lower      float64
	LowerAfter int
	// Min and Max bound the count. Max defaults to the GOMAXPROCS Go chose
	// at start (the CPU count, or the cgroup's CPU limit).
	Min, Max int
}

// Defaults returns the shipped tunables.
func Defaults() Config {
	return Config{Interval: 250 * time.Millisecond, Raise: 0.7, Lower: 0.35, LowerAfter: 8, Min: 1, Max: runtime.GOMAXPROCS(0)}
}

// Validate names the first tunable that is out of range.
func (c Config) Validate() error {
	switch {
	case c.Interval < 10*time.Millisecond:
		return fmt.Errorf("procs: Interval %s is below 10ms", c.Interval)
	case c.Raise <= 0 || c.Raise > 1:
		return fmt.Errorf("procs: Raise %.2f is not in (0, 1]", c.Raise)
	case c.Lower <= 0 || c.Lower >= c.Raise:
		return fmt.Errorf("procs: Lower %.2f is not in (0, Raise=%.2f)", c.Lower, c.Raise)
	case c.LowerAfter < 1:
		return fmt.Errorf("procs: LowerAfter %d is below 1", c.LowerAfter)
	case c.Min < 1:
		return fmt.Errorf("procs: Min %d is below 1", c.Min)
	case c.Max < c.Min:
		return fmt.Errorf("procs: Max %d is below Min %d", c.Max, c.Min)
	}
	return nil
}

// Governor decides the P count from samples of the process's CPU time.
// It keeps no clock of its own: Step is given the time, so tests decide.
type Governor struct {
	cfg    Config
	cpu    func() time.Duration // CPU time used by the process so far
	set    func(int)            // applies a P count
	procs  int
	lastAt time.Time
	last   time.Duration
	low    int // intervals in a row under the Lower line
}

// NewGovernor starts at cfg.Min Ps (applied through set at once).
func NewGovernor(cfg Config, now time.Time, cpu func() time.Duration, set func(int)) (*Governor, error) {
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	g := &Governor{cfg: cfg, cpu: cpu, set: set, procs: cfg.Min, lastAt: now, last: cpu()}
	set(g.procs)
	return g, nil
}

// Procs is the current count.
func (g *Governor) Procs() int { return g.procs }

// Step takes a sample at now and changes the count if the load asks for
// it; it returns the count.
func (g *Governor) Step(now time.Time) int {
	used := g.cpu()
	wall := now.Sub(g.lastAt)
	if wall <= 0 {
		return g.procs
	}
	load := float64(used-g.last) / float64(wall) // cores busy
	g.last, g.lastAt = used, now
	want := g.procs
	switch {
	case load > g.cfg.Raise*float64(g.procs):
		want = int(math.Ceil(load / g.cfg.Raise)) // > procs
		g.low = 0
	case g.procs > g.cfg.Min && load < g.cfg.Lower*float64(g.procs-1):
		if g.low++; g.low >= g.cfg.LowerAfter {
			want, g.low = g.procs-1, 0
		}
	default:
		g.low = 0
	}
	want = max(g.cfg.Min, min(g.cfg.Max, want))
	if want != g.procs {
		g.procs = want
		g.set(want)
	}
	return g.procs
}

// Start runs a governor with the defaults, changed by tweak when not nil,
// until ctx ends, unless the environment sets GOMAXPROCS or the machine
// has one CPU. It returns whether it runs.
func Start(ctx context.Context, tweak func(*Config)) bool {
	cfg := Defaults()
	if tweak != nil {
		tweak(&cfg)
	}
	if os.Getenv("GOMAXPROCS") != "" || cfg.Max <= cfg.Min || processCPU() < 0 {
		return false
	}
	g, err := NewGovernor(cfg, time.Now(), processCPU, func(n int) { runtime.GOMAXPROCS(n) })
	if err != nil {
		return false
	}
	go func() {
		t := time.NewTicker(cfg.Interval)
		defer t.Stop()
		for {
			select {
			case <-ctx.Done():
				runtime.GOMAXPROCS(cfg.Max)
				return
			case now := <-t.C:
				g.Step(now)
			}
		}
	}()
	return true
}
