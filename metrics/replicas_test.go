package metrics

import (
	"context"
	"fmt"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/promhttp"
	"github.com/prometheus/client_golang/prometheus/testutil"
	dto "github.com/prometheus/client_model/go"
)

// fakeReplica serves the watchdog's three metrics with n requests counted.
func fakeReplica(t *testing.T, n int) *httptest.Server {
	reg := prometheus.NewRegistry()
	total := prometheus.NewCounterVec(prometheus.CounterOpts{Name: "http_requests_total", Help: "Requests."}, []string{"code", "method"})
	dur := prometheus.NewHistogramVec(prometheus.HistogramOpts{Name: "http_request_duration_seconds", Help: "Seconds.", Buckets: prometheus.DefBuckets}, []string{"code", "method"})
	inflight := prometheus.NewGauge(prometheus.GaugeOpts{Name: "http_requests_in_flight", Help: "In flight."})
	reg.MustRegister(total, dur, inflight, prometheus.NewGoCollector())
	for range n {
		total.WithLabelValues("200", "post").Inc()
		dur.WithLabelValues("200", "post").Observe(0.003)
	}
	inflight.Set(1)
	srv := httptest.NewServer(promhttp.HandlerFor(reg, promhttp.HandlerOpts{}))
	t.Cleanup(srv.Close)
	return srv
}

func addr(s *httptest.Server) string { return strings.TrimPrefix(s.URL, "http://") }

// The replicas' series come back under their own names with function_name
// and instance added; a failing, a hanging and a non-loopback replica are
// left out within the timeout, and counted.
func TestReplicaCollector(t *testing.T) {
	a1, a2, b1 := fakeReplica(t, 3), fakeReplica(t, 4), fakeReplica(t, 5)
	broken := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { http.Error(w, "no", 500) }))
	defer broken.Close()
	release := make(chan struct{})
	hang := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		select {
		case <-release:
		case <-r.Context().Done():
		}
	}))
	defer hang.Close()
	defer close(release)

	targets := []ReplicaTarget{
		{"a.openfaas-fn", "a-1", addr(a1)},
		{"a.openfaas-fn", "a-2", addr(a2)},
		{"b.dev", "b-1", addr(b1)},
		{"b.dev", "b-2", addr(broken)},
		{"b.dev", "b-3", addr(hang)},
		{"b.dev", "b-4", "192.0.2.1:8081"},
	}
	c := NewReplicaCollector(func(context.Context) ([]ReplicaTarget, error) { return targets, nil }, 300*time.Millisecond, nil)
	reg := prometheus.NewRegistry()
	reg.MustRegister(c)

	start := time.Now()
	mfs, err := reg.Gather()
	took := time.Since(start)
	if err != nil {
		t.Fatal(err)
	}
	if took > time.Second {
		t.Errorf("scrape took %s with a 300ms timeout", took)
	}
	byName := map[string]*dto.MetricFamily{}
	for _, mf := range mfs {
		byName[mf.GetName()] = mf
	}
	if _, ok := byName["go_goroutines"]; ok {
		t.Error("replica go_* metrics must not be re-exposed")
	}
	totals := map[string]float64{}
	for _, m := range byName["http_requests_total"].GetMetric() {
		l := labels(m)
		if l["code"] != "200" || l["method"] != "post" {
			t.Errorf("labels %v", l)
		}
		totals[l["function_name"]+"/"+l["instance"]] = m.GetCounter().GetValue()
	}
	want := map[string]float64{"a.openfaas-fn/a-1": 3, "a.openfaas-fn/a-2": 4, "b.dev/b-1": 5}
	if fmt.Sprint(totals) != fmt.Sprint(want) {
		t.Errorf("http_requests_total = %v, want %v", totals, want)
	}
	h := byName["http_request_duration_seconds"]
	if h.GetType() != dto.MetricType_HISTOGRAM || len(h.GetMetric()) != 3 {
		t.Fatalf("histogram: %v", h)
	}
	for _, m := range h.GetMetric() {
		if len(m.GetHistogram().GetBucket()) != len(prometheus.DefBuckets) {
			t.Errorf("buckets: %d", len(m.GetHistogram().GetBucket()))
		}
	}
	if n := len(byName["http_requests_in_flight"].GetMetric()); n != 3 {
		t.Errorf("in flight series = %d, want 3", n)
	}
	if v := byName["ferry_replica_metrics_scrape_errors"].GetMetric()[0].GetGauge().GetValue(); v != 3 {
		t.Errorf("scrape errors = %v, want 3", v)
	}
	// The text exposition is what Prometheus reads.
	if err := testutil.GatherAndCompare(reg, strings.NewReader(`
# HELP http_requests_in_flight In flight.
# TYPE http_requests_in_flight gauge
http_requests_in_flight{function_name="a.openfaas-fn",instance="a-1"} 1
http_requests_in_flight{function_name="a.openfaas-fn",instance="a-2"} 1
http_requests_in_flight{function_name="b.dev",instance="b-1"} 1
`), "http_requests_in_flight"); err != nil {
		t.Error(err)
	}
}

// Labels named like the added ones are kept as exported_*.
func TestReplicaCollectorLabelClash(t *testing.T) {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		fmt.Fprintln(w, "# TYPE custom_total counter\ncustom_total{instance=\"inner\"} 2")
	}))
	defer srv.Close()
	c := NewReplicaCollector(func(context.Context) ([]ReplicaTarget, error) {
		return []ReplicaTarget{{"f.ns", "f-1", addr(srv)}}, nil
	}, time.Second, nil)
	reg := prometheus.NewRegistry()
	reg.MustRegister(c)
	if err := testutil.GatherAndCompare(reg, strings.NewReader(`
# HELP custom_total 
# TYPE custom_total counter
custom_total{exported_instance="inner",function_name="f.ns",instance="f-1"} 2
`), "custom_total"); err != nil {
		t.Error(err)
	}
}

func labels(m *dto.Metric) map[string]string {
	out := map[string]string{}
	for _, lp := range m.GetLabel() {
		out[lp.GetName()] = lp.GetValue()
	}
	return out
}

// BenchmarkReplicaScrape10 is one /metrics fan-out over 10 replicas.
func BenchmarkReplicaScrape10(b *testing.B) {
	var targets []ReplicaTarget
	for i := range 10 {
		reg := prometheus.NewRegistry()
		total := prometheus.NewCounterVec(prometheus.CounterOpts{Name: "http_requests_total", Help: "Requests."}, []string{"code", "method"})
		dur := prometheus.NewHistogramVec(prometheus.HistogramOpts{Name: "http_request_duration_seconds", Help: "Seconds."}, []string{"code", "method"})
		reg.MustRegister(total, dur)
		total.WithLabelValues("200", "post").Add(float64(i))
		dur.WithLabelValues("200", "post").Observe(0.01)
		srv := httptest.NewServer(promhttp.HandlerFor(reg, promhttp.HandlerOpts{}))
		defer srv.Close()
		targets = append(targets, ReplicaTarget{"f.ns", fmt.Sprint("f-", i), addr(srv)})
	}
	c := NewReplicaCollector(func(context.Context) ([]ReplicaTarget, error) { return targets, nil }, time.Second, nil)
	for b.Loop() {
		c.mu.Lock()
		ms := c.scrape()
		c.mu.Unlock()
		if len(ms) < 10 {
			b.Fatal(len(ms))
		}
	}
}
