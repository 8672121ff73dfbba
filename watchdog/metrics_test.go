package watchdog

import (
	"bytes"
	"net/http/httptest"
	"strconv"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/promhttp"
	"github.com/prometheus/common/expfmt"
	"github.com/prometheus/common/model"
)

// The hand-written exposition is byte for byte what client_golang writes
// for the same observations (bounds, +Inf, sums, label order, sorting),
// and Prometheus's own parser reads it.
func TestMetricsTextMatchesClientGolang(t *testing.T) {
	ours := newMetrics()
	reg := prometheus.NewRegistry()
	total := prometheus.NewCounterVec(prometheus.CounterOpts{Name: "http_requests_total",
		Help: "Requests handled by the function, by status code and method."}, []string{"code", "method"})
	dur := prometheus.NewHistogramVec(prometheus.HistogramOpts{Name: "http_request_duration_seconds",
		Help: "Seconds spent serving function requests, by status code and method.", Buckets: prometheus.DefBuckets}, []string{"code", "method"})
	inflight := prometheus.NewGauge(prometheus.GaugeOpts{Name: "http_requests_in_flight", Help: "Function requests being served now."})
	reg.MustRegister(total, dur, inflight)

	obs := []struct {
		code   int
		method string
		label  string
		d      time.Duration
	}{
		{200, "POST", "post", 1200 * time.Microsecond},
		{200, "POST", "post", 5 * time.Millisecond}, // on a bound: counted in le="0.005"
		{200, "GET", "get", 30 * time.Second},       // past every bound
		{429, "POST", "post", 0},
		{502, "BREW", "other", 250 * time.Millisecond},
		{1200, "GET", "get", 7 * time.Millisecond}, // an impossible code is 0
		{200, "POST", "post", 2500 * time.Millisecond},
	}
	for _, o := range obs {
		ours.observe(o.code, o.method, o.d)
		code := o.code
		if code > 999 {
			code = 0
		}
		c := strconv.Itoa(code)
		total.WithLabelValues(c, o.label).Inc()
		dur.WithLabelValues(c, o.label).Observe(o.d.Seconds())
	}
	ours.inflight.Inc()
	ours.inflight.Inc()
	ours.inflight.Dec()
	inflight.Set(1)

	want := httptest.NewRecorder()
	promhttp.HandlerFor(reg, promhttp.HandlerOpts{}).ServeHTTP(want, httptest.NewRequest("GET", "/metrics", nil))
	got := httptest.NewRecorder()
	ours.handler().ServeHTTP(got, httptest.NewRequest("GET", "/metrics", nil))
	if got.Code != 200 || got.Body.String() != want.Body.String() {
		t.Fatalf("exposition differs from client_golang's (status %d)\n--- ours\n%s\n--- client_golang\n%s", got.Code, got.Body, want.Body)
	}
	p := expfmt.NewTextParser(model.UTF8Validation)
	fams, err := p.TextToMetricFamilies(bytes.NewReader(got.Body.Bytes()))
	if err != nil || len(fams) != 3 {
		t.Fatalf("parse: %v (%d families)", err, len(fams))
	}
	if ct := got.Header().Get("Content-Type"); ct != "text/plain; version=0.0.4; charset=utf-8" {
		t.Errorf("Content-Type %q", ct)
	}
}

// The hot path allocates nothing once a label set has been seen.
func TestObserveAllocatesNothing(t *testing.T) {
	m := newMetrics()
	m.observe(200, "POST", time.Millisecond)
	if n := testing.AllocsPerRun(100, func() { m.observe(200, "POST", time.Millisecond) }); n != 0 {
		t.Fatalf("%v allocations per observation", n)
	}
}
