// Package metrics counts gateway invocations: the Prometheus metrics of the
// OpenFaaS contract (section 5) at /metrics, per-second history for the
// portal at /system/stats, and invocation totals that survive restarts
// (kept in the store's Counters bucket).
//
// Started and Finished run on every request, so each function's metric
// children are created once and cached; the hot path is a sync.Map load and
// a few atomic adds, with no label slices and no WithLabelValues calls.
package metrics

import (
	"strconv"
	"sync"
	"sync/atomic"
	"time"

	"github.com/prometheus/client_golang/prometheus"
)

// Recorder is the gateway.Observer that feeds Prometheus, the stats ring
// and the durable counters. Safe for concurrent use.
type Recorder struct {
	reg *prometheus.Registry

	total    *prometheus.CounterVec
	seconds  *prometheus.HistogramVec
	started  *prometheus.CounterVec
	service  *prometheus.GaugeVec
	inflight *prometheus.GaugeVec
	ready    *prometheus.GaugeVec
	// coldStarts: time from a wake-up from zero to the first ready replica.
	coldStarts *prometheus.HistogramVec
	restarts   *prometheus.CounterVec

	fns      sync.Map // "name.ns" -> *fnMetrics
	mu       sync.Mutex
	sampleMu sync.Mutex
	epoch    uint64 // under mu
}

// fnMetrics is one function's cached children and counters.
type fnMetrics struct {
	name     string
	epoch    uint64 // distinguishes a re-created entry after Forget
	started  prometheus.Counter
	inflight prometheus.Gauge
	service  prometheus.Gauge
	ready    prometheus.Gauge
	codes    [500]atomic.Pointer[codeMetrics] // codes 100..599
	other    sync.Map                         // codes outside 100..599

	nStarted  atomic.Uint64
	nFinished atomic.Uint64
	nErrors   atomic.Uint64 // 5xx answers
	nInflight atomic.Int64
	lat       latency

	desired   atomic.Uint64
	restarts  atomic.Uint64 // the provider's count last seen
	readyReps atomic.Uint64

	ring    ring // per second; written only by Sample
	minutes ring // per minute
}

type codeMetrics struct {
	total   prometheus.Counter
	seconds prometheus.Observer
}

// NewRecorder makes a Recorder with its own registry (which also carries
// the Go and process collectors).
func NewRecorder() *Recorder {
	r := &Recorder{reg: prometheus.NewRegistry()}
	fn := []string{"function_name"}
	fnCode := []string{"function_name", "code"}
	r.total = prometheus.NewCounterVec(prometheus.CounterOpts{
		Name: "gateway_function_invocation_total", Help: "Function invocations completed, by status code.",
	}, fnCode)
	r.seconds = prometheus.NewHistogramVec(prometheus.HistogramOpts{
		Name: "gateway_functions_seconds", Help: "Function invocation time taken.",
		Buckets: []float64{.001, .0025, .005, .01, .025, .05, .1, .25, .5, 1, 2.5, 5, 10, 30, 60},
	}, fnCode)
	r.started = prometheus.NewCounterVec(prometheus.CounterOpts{
		Name: "gateway_function_invocation_started", Help: "Function invocations started.",
	}, fn)
	r.service = prometheus.NewGaugeVec(prometheus.GaugeOpts{
		Name: "gateway_service_count", Help: "Desired replicas of a function.",
	}, fn)
	r.inflight = prometheus.NewGaugeVec(prometheus.GaugeOpts{
		Name: "gateway_function_invocation_inflight", Help: "Function invocations in progress.",
	}, fn)
	r.ready = prometheus.NewGaugeVec(prometheus.GaugeOpts{
		Name: "gateway_function_replicas_ready", Help: "Ready replicas of a function.",
	}, fn)
	r.coldStarts = prometheus.NewHistogramVec(prometheus.HistogramOpts{
		Name: "gateway_function_cold_start_seconds", Help: "Time from a call waking a function at zero replicas to its first ready replica.",
		Buckets: []float64{.005, .01, .025, .05, .1, .25, .5, 1, 2.5, 5, 10, 30},
	}, fn)
	r.restarts = prometheus.NewCounterVec(prometheus.CounterOpts{
		Name: "ferry_function_restarts_total", Help: "Replicas of a function that exited and were started again.",
	}, fn)
	r.reg.MustRegister(r.total, r.seconds, r.started, r.service, r.inflight, r.ready, r.coldStarts, r.restarts,
		prometheus.NewGoCollector(), prometheus.NewProcessCollector(prometheus.ProcessCollectorOpts{}))
	return r
}

// ColdStarted records how long a call waited for the function it woke
// from zero replicas (gateway.ColdStartObserver).
func (r *Recorder) ColdStarted(fn string, d time.Duration) {
	r.coldStarts.WithLabelValues(fn).Observe(d.Seconds())
}

// Registry is where the gateway metrics live (for /metrics and tests).
func (r *Recorder) Registry() *prometheus.Registry { return r.reg }

// get returns the cached metrics of fn, creating them on first use.
func (r *Recorder) get(fn string) *fnMetrics {
	if m, ok := r.fns.Load(fn); ok {
		return m.(*fnMetrics)
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	if m, ok := r.fns.Load(fn); ok {
		return m.(*fnMetrics)
	}
	r.epoch++
	m := &fnMetrics{
		ring:     ring{size: HistorySeconds},
		minutes:  ring{size: HistoryMinutes},
		name:     fn,
		epoch:    r.epoch,
		started:  r.started.WithLabelValues(fn),
		inflight: r.inflight.WithLabelValues(fn),
		service:  r.service.WithLabelValues(fn),
		ready:    r.ready.WithLabelValues(fn),
	}
	r.fns.Store(fn, m)
	return m
}

func (r *Recorder) code(m *fnMetrics, code int) *codeMetrics {
	if code >= 100 && code <= 599 {
		p := &m.codes[code-100]
		if c := p.Load(); c != nil {
			return c
		}
		c := r.newCode(m.name, code)
		if p.CompareAndSwap(nil, c) {
			return c
		}
		return p.Load()
	}
	if c, ok := m.other.Load(code); ok {
		return c.(*codeMetrics)
	}
	c, _ := m.other.LoadOrStore(code, r.newCode(m.name, code))
	return c.(*codeMetrics)
}

func (r *Recorder) newCode(fn string, code int) *codeMetrics {
	s := strconv.Itoa(code)
	return &codeMetrics{total: r.total.WithLabelValues(fn, s), seconds: r.seconds.WithLabelValues(fn, s)}
}

// Started counts an invocation that begins.
func (r *Recorder) Started(fn string) {
	m := r.get(fn)
	m.started.Inc()
	m.inflight.Inc()
	m.nStarted.Add(1)
	m.nInflight.Add(1)
}

// Finished counts a completed invocation with its status and duration.
func (r *Recorder) Finished(fn string, code int, d time.Duration) {
	m := r.get(fn)
	c := r.code(m, code)
	c.total.Inc()
	c.seconds.Observe(d.Seconds())
	m.inflight.Dec()
	m.nInflight.Add(-1)
	m.nFinished.Add(1)
	if code >= 500 {
		m.nErrors.Add(1)
	}
	m.lat.observe(d)
}

// Counts are a function's cumulative figures since this process started.
type Counts struct {
	Started  uint64
	Finished uint64
	Errors   uint64
	Inflight int64
	// Epoch changes when the function's counters restart from zero.
	Epoch uint64
}

// Counts returns fn's cumulative counters (zero for an unseen function).
func (r *Recorder) Counts(fn string) Counts {
	v, ok := r.fns.Load(fn)
	if !ok {
		return Counts{}
	}
	m := v.(*fnMetrics)
	return Counts{Started: m.nStarted.Load(), Finished: m.nFinished.Load(), Errors: m.nErrors.Load(), Inflight: m.nInflight.Load(), Epoch: m.epoch}
}

// SetReplicas updates gateway_service_count and the ready gauge of fn.
func (r *Recorder) SetReplicas(fn string, desired, ready uint64) {
	m := r.get(fn)
	m.desired.Store(desired)
	m.service.Set(float64(desired))
	m.readyReps.Store(ready)
	m.ready.Set(float64(ready))
}

// SetRestarts advances ferry_function_restarts_total of fn to the
// provider's count n (a count that went down restarted with the server).
func (r *Recorder) SetRestarts(fn string, n uint64) {
	m := r.get(fn)
	if last := m.restarts.Swap(n); n > last {
		r.restarts.WithLabelValues(fn).Add(float64(n - last))
	}
}

// Forget drops the series of functions that are not in keep and have
// nothing in flight (deleted functions, or names that never existed).
func (r *Recorder) Forget(keep map[string]bool) {
	r.fns.Range(func(k, v any) bool {
		fn := k.(string)
		m := v.(*fnMetrics)
		if keep[fn] || m.nInflight.Load() > 0 {
			return true
		}
		r.mu.Lock()
		r.fns.Delete(fn)
		r.mu.Unlock()
		lbl := prometheus.Labels{"function_name": fn}
		r.total.DeletePartialMatch(lbl)
		r.seconds.DeletePartialMatch(lbl)
		r.started.DeletePartialMatch(lbl)
		r.service.DeletePartialMatch(lbl)
		r.inflight.DeletePartialMatch(lbl)
		r.ready.DeletePartialMatch(lbl)
		r.restarts.DeletePartialMatch(lbl)
		r.coldStarts.DeletePartialMatch(lbl)
		return true
	})
}
