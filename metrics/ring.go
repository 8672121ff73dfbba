package metrics

import (
	"sync"
	"time"
)

// HistorySeconds is how much per-second history each function keeps.
const HistorySeconds = 300

// Point is one second of a function's history, as served by /system/stats.
type Point struct {
	T        int64   `json:"t"` // unix seconds
	RPS      float64 `json:"rps"`
	Errors   float64 `json:"errors"` // 5xx answers per second
	P50      float64 `json:"p50"`    // seconds
	P99      float64 `json:"p99"`    // seconds
	Inflight int64   `json:"inflight"`
	Replicas uint64  `json:"replicas"` // ready replicas
}

// ring holds the last HistorySeconds points plus what Sample needs to turn
// cumulative counters into per-second rates.
type ring struct {
	mu   sync.Mutex
	pts  [HistorySeconds]Point
	n    int // points stored (<= HistorySeconds)
	next int // index of the next write

	// previous cumulative figures (touched only by Sample, under Recorder.sampleMu)
	prevT        time.Time
	prevFinished uint64
	prevErrors   uint64
	prevBuckets  [numBuckets]uint64
}

func (r *ring) push(p Point) {
	r.mu.Lock()
	r.pts[r.next] = p
	r.next = (r.next + 1) % HistorySeconds
	if r.n < HistorySeconds {
		r.n++
	}
	r.mu.Unlock()
}

// points returns the stored points, oldest first.
func (r *ring) points() []Point {
	r.mu.Lock()
	defer r.mu.Unlock()
	out := make([]Point, 0, r.n)
	start := (r.next - r.n + HistorySeconds) % HistorySeconds
	for i := 0; i < r.n; i++ {
		out = append(out, r.pts[(start+i)%HistorySeconds])
	}
	return out
}

// last returns the newest point, if any.
func (r *ring) last() (Point, bool) {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.n == 0 {
		return Point{}, false
	}
	return r.pts[(r.next-1+HistorySeconds)%HistorySeconds], true
}

// Sample appends one point per known function. Call it once a second
// (tests call it with a fake time).
func (r *Recorder) Sample(now time.Time) {
	r.sampleMu.Lock()
	defer r.sampleMu.Unlock()
	var cur, delta [numBuckets]uint64
	r.fns.Range(func(_, v any) bool {
		m := v.(*fnMetrics)
		g := &m.ring
		fin, errs := m.nFinished.Load(), m.nErrors.Load()
		m.lat.snapshot(&cur)
		dt := 1.0
		if !g.prevT.IsZero() {
			if s := now.Sub(g.prevT).Seconds(); s > 0 {
				dt = s
			}
		}
		for i := range cur {
			delta[i] = cur[i] - g.prevBuckets[i]
		}
		p := Point{
			T:        now.Unix(),
			RPS:      float64(fin-g.prevFinished) / dt,
			Errors:   float64(errs-g.prevErrors) / dt,
			P50:      quantile(&delta, 0.50),
			P99:      quantile(&delta, 0.99),
			Inflight: max(m.nInflight.Load(), 0),
			Replicas: m.readyReps.Load(),
		}
		g.prevT, g.prevFinished, g.prevErrors, g.prevBuckets = now, fin, errs, cur
		g.push(p)
		return true
	})
}

// History returns fn's last points, oldest first (nil for an unknown function).
func (r *Recorder) History(fn string) []Point {
	v, ok := r.fns.Load(fn)
	if !ok {
		return nil
	}
	return v.(*fnMetrics).ring.points()
}

// Latest returns the newest point of every function that has one.
func (r *Recorder) Latest() map[string]Point {
	out := map[string]Point{}
	r.fns.Range(func(k, v any) bool {
		if p, ok := v.(*fnMetrics).ring.last(); ok {
			out[k.(string)] = p
		}
		return true
	})
	return out
}
