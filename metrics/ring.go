package metrics

import (
	"sync"
	"time"
)

// HistorySeconds is how much per-second history each function keeps;
// HistoryMinutes how much per-minute history (the portal's 1 h and 24 h
// ranges). The minute ring grows as it fills, so a function that lived a
// few minutes costs a few points, and a full one about 100 KB.
const (
	HistorySeconds = 300
	HistoryMinutes = 24 * 60
)

// Point is one second of a function's history, as served by /system/stats.
type Point struct {
	T        int64   `json:"t"` // unix seconds
	RPS      float64 `json:"rps"`
	Errors   float64 `json:"errors"` // 5xx answers per second
	P50      float64 `json:"p50"`    // seconds
	P99      float64 `json:"p99"`    // seconds
	Inflight int64   `json:"inflight"`
	Replicas uint64  `json:"replicas"` // ready replicas

	// cumulative counts at this point, for totals over a window
	finished, errors uint64
}

// ring holds the last size points plus what Sample needs to turn
// cumulative counters into rates over its step.
type ring struct {
	mu   sync.Mutex
	pts  []Point // grows up to size, then wraps
	size int
	next int // index of the next write once full

	// previous cumulative figures (touched only by Sample, under Recorder.sampleMu)
	peakInflight int64 // highest in-flight count seen since the last push
	prevT        time.Time
	prevFinished uint64
	prevErrors   uint64
	prevBuckets  [numBuckets]uint64
}

func (r *ring) push(p Point) {
	r.mu.Lock()
	if len(r.pts) < r.size {
		r.pts = append(r.pts, p)
	} else {
		r.pts[r.next] = p
		r.next = (r.next + 1) % r.size
	}
	r.mu.Unlock()
}

// points returns the stored points with T >= since, oldest first.
func (r *ring) points(since int64) []Point {
	r.mu.Lock()
	defer r.mu.Unlock()
	out := make([]Point, 0, len(r.pts))
	for i := range r.pts {
		if p := r.pts[(r.next+i)%len(r.pts)]; p.T >= since {
			out = append(out, p)
		}
	}
	return out
}

// last returns the newest point, if any.
func (r *ring) last() (Point, bool) {
	r.mu.Lock()
	defer r.mu.Unlock()
	if len(r.pts) == 0 {
		return Point{}, false
	}
	return r.pts[(r.next-1+len(r.pts))%len(r.pts)], true
}

// first returns the oldest point, if any.
func (r *ring) first() (Point, bool) {
	r.mu.Lock()
	defer r.mu.Unlock()
	if len(r.pts) == 0 {
		return Point{}, false
	}
	return r.pts[r.next], true
}

// Sample appends one point per known function to its per-second history,
// and one to its per-minute history when a minute ends. Call it once a
// second (tests call it with a fake time).
func (r *Recorder) Sample(now time.Time) {
	r.sampleMu.Lock()
	defer r.sampleMu.Unlock()
	var cur [numBuckets]uint64
	r.fns.Range(func(_, v any) bool {
		m := v.(*fnMetrics)
		fin, errs := m.nFinished.Load(), m.nErrors.Load()
		m.lat.snapshot(&cur)
		p := m.ring.step(now, fin, errs, &cur)
		p.Inflight, p.Replicas = max(m.nInflight.Load(), 0), m.readyReps.Load()
		m.ring.push(p)
		mr := &m.minutes
		mr.peakInflight = max(mr.peakInflight, p.Inflight)
		switch {
		case mr.prevT.IsZero(): // the first minute starts now: no full minute to report
			mr.step(now, fin, errs, &cur)
		case now.Unix()/60 != mr.prevT.Unix()/60:
			q := mr.step(now, fin, errs, &cur)
			q.Inflight, q.Replicas = mr.peakInflight, p.Replicas
			mr.peakInflight = 0
			mr.push(q)
		}
		return true
	})
}

// step makes the point for the interval since the previous step: rates
// from the cumulative counters, quantiles from the latency buckets.
func (g *ring) step(now time.Time, fin, errs uint64, cur *[numBuckets]uint64) Point {
	dt := 1.0
	if !g.prevT.IsZero() {
		if s := now.Sub(g.prevT).Seconds(); s > 0 {
			dt = s
		}
	}
	var delta [numBuckets]uint64
	for i := range cur {
		delta[i] = cur[i] - g.prevBuckets[i]
	}
	p := Point{
		T:        now.Unix(),
		RPS:      float64(fin-g.prevFinished) / dt,
		Errors:   float64(errs-g.prevErrors) / dt,
		P50:      quantile(&delta, 0.50),
		P99:      quantile(&delta, 0.99),
		finished: fin,
		errors:   errs,
	}
	g.prevT, g.prevFinished, g.prevErrors, g.prevBuckets = now, fin, errs, *cur
	return p
}

// History returns fn's points of the last span seconds, oldest first:
// per second up to HistorySeconds, else per minute (nil for an unknown
// function). step is the seconds between points.
func (r *Recorder) History(fn string, span int64) (pts []Point, step int64) {
	v, ok := r.fns.Load(fn)
	if !ok {
		return nil, 1
	}
	m := v.(*fnMetrics)
	last, ok := m.ring.last()
	if !ok {
		return nil, 1
	}
	if span <= HistorySeconds {
		return m.ring.points(last.T - span + 1), 1
	}
	return m.minutes.points(last.T - span + 1), 60
}

// Window sums up fn's per-second history: the requests finished and the
// errors among them over the last window seconds kept (secs may be less
// than asked while the history fills up).
func (r *Recorder) Window(fn string) (requests, errors uint64, secs int64) {
	v, ok := r.fns.Load(fn)
	if !ok {
		return 0, 0, 0
	}
	g := &v.(*fnMetrics).ring
	a, ok1 := g.first()
	b, ok2 := g.last()
	if !ok1 || !ok2 {
		return 0, 0, 0
	}
	return b.finished - a.finished, b.errors - a.errors, b.T - a.T
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
