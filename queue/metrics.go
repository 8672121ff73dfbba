package queue

import (
	"context"
	"strings"
	"sync/atomic"
	"time"

	"github.com/prometheus/client_golang/prometheus"
)

// Metrics are the queue's Prometheus metrics. function_name is
// "name.namespace" as in the gateway metrics. Register it (it is a
// prometheus.Collector) on the registry that /metrics serves.
type Metrics struct {
	Enqueued    *prometheus.CounterVec
	Full        *prometheus.CounterVec
	Completed   *prometheus.CounterVec
	Retries     *prometheus.CounterVec
	DeadLetters *prometheus.CounterVec
	Callbacks   *prometheus.CounterVec
	InFlight    *prometheus.GaugeVec

	js    atomic.Pointer[JetStream] // nil: no depth gauges (not started yet)
	depth *prometheus.Desc
	pend  *prometheus.Desc
	retry *prometheus.Desc
	cbs   *prometheus.Desc
	dead  *prometheus.Desc
}

// NewMetrics builds the metrics; js (may be nil) is asked for queue depths
// at scrape time.
func NewMetrics(js *JetStream) *Metrics {
	fn := []string{"function_name"}
	m := &Metrics{
		Enqueued: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "ferry_queue_enqueued_total", Help: "Asynchronous calls accepted (202) by this process."}, fn),
		Full: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "ferry_queue_full_total", Help: "Asynchronous calls refused (429) because a queue bound was reached, by bound (function, calls, bytes)."}, []string{"function_name", "bound"}),
		Completed: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "ferry_queue_completed_total", Help: "Queued calls finished by this worker, by final function status (503: unreachable)."}, []string{"function_name", "code"}),
		Retries: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "ferry_queue_retries_total", Help: "Queued calls scheduled for another attempt after a retryable failure."}, fn),
		DeadLetters: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "ferry_queue_dead_lettered_total", Help: "Queued calls moved to the dead-letter queue after their last attempt."}, fn),
		Callbacks: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "ferry_queue_callbacks_total", Help: "Callback deliveries by result (ok, failed after retries)."}, []string{"result"}),
		InFlight: prometheus.NewGaugeVec(prometheus.GaugeOpts{
			Name: "ferry_queue_inflight", Help: "Queued calls this worker is running now."}, fn),
		depth: prometheus.NewDesc("ferry_queue_depth", "Calls waiting in a queue (not yet delivered to a worker).",
			[]string{"queue", "function_name"}, nil),
		pend: prometheus.NewDesc("ferry_queue_unacked", "Calls of a queue delivered to workers and not yet finished (all workers).",
			[]string{"queue", "function_name"}, nil),
		retry: prometheus.NewDesc("ferry_queue_retrying", "Calls of a queue waiting out a back-off before their next attempt.",
			[]string{"queue", "function_name"}, nil),
		cbs: prometheus.NewDesc("ferry_queue_callbacks_pending", "Results of a function's calls still to be delivered to their X-Callback-Url (including failing ones being retried).",
			[]string{"function_name"}, nil),
		dead: prometheus.NewDesc("ferry_queue_dead_letters", "Calls in the dead-letter queue now.",
			[]string{"function_name"}, nil),
	}
	m.js.Store(js)
	return m
}

// attach gives the metrics a JetStream to read depths from.
func (m *Metrics) attach(js *JetStream) { m.js.Store(js) }

func (m *Metrics) vecs() []prometheus.Collector {
	return []prometheus.Collector{m.Enqueued, m.Full, m.Completed, m.Retries, m.DeadLetters, m.Callbacks, m.InFlight}
}

// Describe implements prometheus.Collector.
func (m *Metrics) Describe(ch chan<- *prometheus.Desc) {
	for _, c := range m.vecs() {
		c.Describe(ch)
	}
	ch <- m.depth
	ch <- m.pend
	ch <- m.retry
	ch <- m.cbs
	ch <- m.dead
}

// Collect implements prometheus.Collector; it asks JetStream for depths.
func (m *Metrics) Collect(ch chan<- prometheus.Metric) {
	for _, c := range m.vecs() {
		c.Collect(ch)
	}
	js := m.js.Load()
	if js == nil {
		return
	}
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
	defer cancel()
	st, err := Status(ctx, js)
	if err != nil {
		return // JetStream not answering: the counters above still go out
	}
	gauge := func(d *prometheus.Desc, v float64, labels ...string) {
		ch <- prometheus.MustNewConstMetric(d, prometheus.GaugeValue, v, labels...)
	}
	for _, q := range st {
		gauge(m.depth, float64(q.Pending), q.Queue, q.Function)
		gauge(m.pend, float64(q.InFlight), q.Queue, q.Function)
		gauge(m.retry, float64(q.Retrying), q.Queue, q.Function)
		if q.Function != "" {
			gauge(m.cbs, float64(q.CallbacksPending), q.Function)
			gauge(m.dead, float64(q.DeadLetters), q.Function)
		}
	}
}

// labelsOfToken gives the queue label and, for a per-function queue, the
// function_name label.
func labelsOfToken(tok string) (queue, fn string) {
	parts := strings.Split(tok, ".")
	if len(parts) == 3 && parts[0] == "fn" {
		return tok, parts[2] + "." + parts[1]
	}
	return tok, ""
}
