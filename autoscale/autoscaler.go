package autoscale

import (
	"context"
	"fmt"
	"log/slog"
	"math"
	"sync"
	"time"

	"github.com/ferryfaas/ferry/api"
	"github.com/ferryfaas/ferry/internal/serveconfig"
	"github.com/ferryfaas/ferry/metrics"
)

// Source gives a function's cumulative invocation counters (the metrics
// Recorder).
type Source interface {
	Counts(fn string) metrics.Counts
}

// Scaler sets a function's desired replicas (the provider).
type Scaler interface {
	Scale(ctx context.Context, namespace, name string, replicas uint64) error
}

// Options tune the autoscaler; zero values take the defaults.
type Options struct {
	// Window is the scale-down stabilisation window: replicas only go down
	// to the highest recommendation seen within it (default 30s).
	Window time.Duration
	// DownPeriod is the least time between two scale-down steps (default 5s).
	DownPeriod time.Duration
	Log        *slog.Logger
	// Elsewhere, when set, gives a function's calls counted by the other
	// gateways sharing the cluster (a cumulative figure that moves in
	// steps, when they flush their counts): the leader adds their rate to
	// its own and never idles a function that is busy only through them.
	Elsewhere func(fn string) float64
}

// Autoscaler decides replicas once per Tick from load and labels.
type Autoscaler struct {
	list      metrics.ListFunc
	src       Source
	scaler    Scaler
	decisions *Decisions
	opt       Options

	mu  sync.Mutex
	fns map[string]*fnState
}

type fnState struct {
	prevT       time.Time
	prevStarted uint64
	prevEpoch   uint64
	lastActive  time.Time
	lastChange  time.Time
	lastSeen    uint64    // desired replicas at the previous tick
	windowFrom  time.Time // scale-down needs a full window of low need since then
	recs        []rec     // recommendations within the window, oldest first
	labelErr    string
	away        awayRate // calls served by other gateways
}

// awayRate turns the other gateways' cumulative count, which moves in
// steps, into a rate: each step's size over the time since the previous
// step, held until the steps stop coming (twice the last gap).
type awayRate struct {
	val  float64
	at   time.Time // of the last step
	gap  time.Duration
	rate float64
}

func (w *awayRate) sample(v float64, now time.Time) float64 {
	switch {
	case w.at.IsZero():
		w.val, w.at = v, now
	case v < w.val: // the function was deleted and made again
		w.val, w.at, w.rate = v, now, 0
	case v > w.val:
		if w.gap = now.Sub(w.at); w.gap > 0 {
			w.rate = (v - w.val) / w.gap.Seconds()
		}
		w.val, w.at = v, now
	case now.Sub(w.at) > 2*w.gap:
		w.rate = 0
	}
	return w.rate
}

type rec struct {
	t time.Time
	n uint64
}

// New makes an autoscaler; call Run (or Tick from tests).
func New(list metrics.ListFunc, src Source, scaler Scaler, decisions *Decisions, opt Options) *Autoscaler {
	if opt.Window <= 0 {
		opt.Window = serveconfig.AutoscaleWindow
	}
	if opt.DownPeriod <= 0 {
		opt.DownPeriod = serveconfig.AutoscaleDownPeriod
	}
	if opt.Log == nil {
		opt.Log = slog.Default()
	}
	return &Autoscaler{list: list, src: src, scaler: scaler, decisions: decisions, opt: opt, fns: map[string]*fnState{}}
}

// Run ticks at once and then every second until ctx ends. The first tick
// only takes each function's baseline (a rate needs two samples), so
// taking it at once lets a new leader decide one second after it took
// over rather than two.
func (a *Autoscaler) Run(ctx context.Context, clock Clock) {
	t := time.NewTicker(time.Second)
	defer t.Stop()
	a.Tick(ctx, clock.Now())
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
			a.Tick(ctx, clock.Now())
		}
	}
}

// Touch marks fn active now (a wake from zero), so that the idle timer
// starts again.
func (a *Autoscaler) Touch(fn string, now time.Time) {
	a.mu.Lock()
	defer a.mu.Unlock()
	if s := a.fns[fn]; s != nil {
		s.lastActive = now
	}
}

// Tick samples every function and scales those whose recommendation moved.
func (a *Autoscaler) Tick(ctx context.Context, now time.Time) {
	list, err := a.list(ctx)
	if err != nil {
		if ctx.Err() == nil {
			a.opt.Log.Warn("autoscale: list functions", "err", err)
		}
		return
	}
	a.mu.Lock()
	defer a.mu.Unlock()
	seen := make(map[string]bool, len(list))
	for i := range list {
		st := &list[i]
		fn := functionName(st.Name, st.Namespace)
		seen[fn] = true
		s := a.fns[fn]
		if s == nil {
			s = &fnState{lastActive: now, windowFrom: now, lastSeen: st.Replicas}
			a.fns[fn] = s
		}
		a.tickOne(ctx, now, fn, st, s)
	}
	for fn := range a.fns {
		if !seen[fn] {
			delete(a.fns, fn)
		}
	}
}

func (a *Autoscaler) tickOne(ctx context.Context, now time.Time, fn string, st *api.FunctionStatus, s *fnState) {
	c := a.src.Counts(fn)
	var rps float64
	first := s.prevT.IsZero()
	if !first {
		if dt := now.Sub(s.prevT).Seconds(); dt > 0 {
			started := c.Started
			if c.Epoch == s.prevEpoch && started >= s.prevStarted {
				started -= s.prevStarted
			}
			rps = float64(started) / dt
		}
	}
	s.prevT, s.prevStarted, s.prevEpoch = now, c.Started, c.Epoch
	if a.opt.Elsewhere != nil {
		rps += s.away.sample(a.opt.Elsewhere(fn), now)
	}
	if rps > 0 || c.Inflight > 0 {
		s.lastActive = now
	}

	p, err := ParsePolicy(st.Labels)
	if err != nil {
		if s.labelErr != err.Error() {
			s.labelErr = err.Error()
			a.opt.Log.Warn("autoscale: function not scaled", "function", fn, "err", err)
		}
		return
	}
	s.labelErr = ""
	cur := st.Replicas
	if cur != s.lastSeen {
		// Scaled by someone else (API, alert, wake): start the
		// stabilisation window again rather than undo it at once.
		if s.lastSeen == 0 {
			// Woken from zero, maybe by another gateway whose calls this
			// one learns of only at its next flush: that is activity.
			s.lastActive = now
		}
		s.lastSeen, s.windowFrom, s.recs = cur, now, nil
	}
	if first || cur == 0 || (!p.Managed && !p.Zero) {
		// Zero is left to the Waker: a function at 0 was idled or paused on
		// purpose. Functions without target/type/zero labels are not ours.
		return
	}
	var observed float64
	var unit string
	switch p.Type {
	case TypeRPS:
		observed, unit = rps, "req/s"
	case TypeCapacity:
		observed, unit = float64(max(c.Inflight, 0)), "in flight"
	case TypeCPU:
		if st.Usage == nil {
			return // no CPU figures from this provider yet
		}
		observed, unit = st.Usage.CPU*1000, "mCPU" // Usage.CPU is in cores
	}

	if p.Zero && c.Inflight <= 0 && now.Sub(s.lastActive) >= p.ZeroDuration {
		a.scale(ctx, now, fn, st, s, cur, 0, observed,
			fmt.Sprintf("idle for %s (zero-duration %s): scaled to zero", now.Sub(s.lastActive).Round(time.Second), p.ZeroDuration))
		return
	}

	if !p.Managed {
		return // only scale to zero was asked for
	}
	floor := max(p.Min, 1)
	want := uint64(math.Ceil(observed / (p.Target * p.Proportion)))
	want = min(max(want, floor), p.Max)
	s.recs = append(s.recs, rec{now, want})
	for len(s.recs) > 0 && now.Sub(s.recs[0].t) > a.opt.Window {
		s.recs = s.recs[1:]
	}
	per := fmt.Sprintf("%.1f %s for target %g x %g per replica", observed, unit, p.Target, p.Proportion)
	switch {
	case cur > p.Max:
		a.scale(ctx, now, fn, st, s, cur, p.Max, observed, fmt.Sprintf("above max %d", p.Max))
	case cur < floor:
		a.scale(ctx, now, fn, st, s, cur, floor, observed, fmt.Sprintf("below min %d", floor))
	case want > cur:
		a.scale(ctx, now, fn, st, s, cur, want, observed, "scale up: "+per)
	default:
		stable := want
		for _, r := range s.recs {
			stable = max(stable, r.n)
		}
		if stable >= cur || now.Sub(s.lastChange) < a.opt.DownPeriod || now.Sub(s.windowFrom) < a.opt.Window {
			return
		}
		// One step per period, halving the gap: gradual, never straight to min.
		to := cur - (cur-stable+1)/2
		a.scale(ctx, now, fn, st, s, cur, to, observed,
			fmt.Sprintf("scale down one step toward %d (highest in the last %s): %s", stable, a.opt.Window, per))
	}
}

func (a *Autoscaler) scale(ctx context.Context, now time.Time, fn string, st *api.FunctionStatus, s *fnState, from, to uint64, observed float64, reason string) {
	if err := a.scaler.Scale(ctx, st.Namespace, st.Name, to); err != nil {
		a.opt.Log.Warn("autoscale: scale failed", "function", fn, "from", from, "to", to, "err", err)
		return
	}
	s.lastChange, s.lastSeen = now, to
	if to == 0 {
		s.recs = nil
	}
	a.decisions.Set(fn, api.ScaleDecision{Time: now, From: from, To: to, Desired: to, Observed: observed, Reason: reason})
	a.opt.Log.Info("autoscale", "function", fn, "from", from, "to", to, "reason", reason)
}
