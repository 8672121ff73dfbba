package watchdog

import (
	"net/http"
	"strconv"
	"sync"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/promhttp"
)

// metrics are the three watchdog metrics of the contract, on a private
// registry (so an embedding process keeps its own).
type metrics struct {
	reg      *prometheus.Registry
	total    *prometheus.CounterVec
	duration *prometheus.HistogramVec
	inflight prometheus.Gauge

	mu    sync.RWMutex
	cache map[metricKey]metricPair // label lookups, so the hot path allocates nothing
}

type metricKey struct {
	code   int
	method string
}

type metricPair struct {
	total    prometheus.Counter
	duration prometheus.Observer
}

func newMetrics() *metrics {
	m := &metrics{
		reg: prometheus.NewRegistry(),
		total: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "http_requests_total",
			Help: "Requests handled by the function, by status code and method.",
		}, []string{"code", "method"}),
		duration: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Name:    "http_request_duration_seconds",
			Help:    "Seconds spent serving function requests, by status code and method.",
			Buckets: prometheus.DefBuckets,
		}, []string{"code", "method"}),
		inflight: prometheus.NewGauge(prometheus.GaugeOpts{
			Name: "http_requests_in_flight",
			Help: "Function requests being served now.",
		}),
		cache: map[metricKey]metricPair{},
	}
	m.reg.MustRegister(m.total, m.duration, m.inflight)
	return m
}

// knownMethods bounds the method label: anything else is "other".
var knownMethods = map[string]string{"GET": "get", "HEAD": "head", "POST": "post", "PUT": "put",
	"PATCH": "patch", "DELETE": "delete", "OPTIONS": "options", "CONNECT": "connect", "TRACE": "trace"}

func (m *metrics) observe(code int, method string, d time.Duration) {
	if code < 100 || code > 999 {
		code = 0
	}
	if _, ok := knownMethods[method]; !ok {
		method = "OTHER"
	}
	k := metricKey{code, method}
	m.mu.RLock()
	p, ok := m.cache[k]
	m.mu.RUnlock()
	if !ok {
		label := knownMethods[method]
		if label == "" {
			label = "other"
		}
		codeLabel := strconv.Itoa(code)
		p = metricPair{m.total.WithLabelValues(codeLabel, label), m.duration.WithLabelValues(codeLabel, label)}
		m.mu.Lock()
		m.cache[k] = p
		m.mu.Unlock()
	}
	p.total.Inc()
	p.duration.Observe(d.Seconds())
}

func (m *metrics) handler() http.Handler {
	mux := http.NewServeMux()
	mux.Handle("/metrics", promhttp.HandlerFor(m.reg, promhttp.HandlerOpts{}))
	return mux
}
