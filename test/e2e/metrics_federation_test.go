package e2e

import (
	"bytes"
	"context"
	"sort"
	"testing"
	"time"

	"github.com/ferryfaas/ferry/test/harness"
	dto "github.com/prometheus/client_model/go"
	"github.com/prometheus/common/expfmt"
	"github.com/prometheus/common/model"
)

// scrape GETs the gateway's /metrics (with the admin's basic auth, as the
// shipped Prometheus config does) and parses it.
func scrape(t testing.TB, f *harness.Ferry) map[string]*dto.MetricFamily {
	t.Helper()
	code, b, err := f.Do("GET", "/metrics", nil)
	if err != nil {
		t.Fatal(err)
	}
	if code != 200 {
		t.Fatalf("/metrics: %d %s", code, b)
	}
	p := expfmt.NewTextParser(model.UTF8Validation)
	mfs, err := p.TextToMetricFamilies(bytes.NewReader(b))
	if err != nil {
		t.Fatalf("/metrics is not valid text exposition: %v", err)
	}
	return mfs
}

// completeScrape scrapes until one fetched all the replicas, at least
// want (up to ten tries).
func completeScrape(t *testing.T, f *harness.Ferry, want float64) map[string]*dto.MetricFamily {
	t.Helper()
	var mfs map[string]*dto.MetricFamily
	for try := 0; try < 10; try++ {
		if try > 0 {
			time.Sleep(300 * time.Millisecond) // past the fan-out's reuse window
		}
		mfs = scrape(t, f)
		errs := mfs["ferry_replica_metrics_scrape_errors"].GetMetric()
		tgts := mfs["ferry_replica_metrics_scrape_targets"].GetMetric()
		if len(errs) == 1 && len(tgts) == 1 && errs[0].GetGauge().GetValue() == 0 && tgts[0].GetGauge().GetValue() >= want {
			return mfs
		}
		t.Logf("scrape %d incomplete: errors %v, targets %v", try, errs, tgts)
	}
	return mfs
}

// replicaSeries returns the series of family name for fn, by instance.
func replicaSeries(mfs map[string]*dto.MetricFamily, name, fn string) map[string][]*dto.Metric {
	out := map[string][]*dto.Metric{}
	for _, m := range mfs[name].GetMetric() {
		l := map[string]string{}
		for _, lp := range m.GetLabel() {
			l[lp.GetName()] = lp.GetValue()
		}
		if l["function_name"] == fn {
			out[l["instance"]] = append(out[l["instance"]], m)
		}
	}
	return out
}

// TestWatchdogMetricsOnGateway: the watchdog metrics of every replica of a
// process-runtime function show up on the gateway's /metrics under their
// OpenFaaS names, with function_name and instance added, and count exactly
// the invocations made. Also measures a /metrics scrape with 10 replicas.
func TestWatchdogMetricsOnGateway(t *testing.T) {
	f := harness.T(t, harness.Options{})
	deploy(t, f, map[string]any{"service": "cat", "image": "cat", "envProcess": "cat", "labels": map[string]string{
		"com.openfaas.scale.min": "2", "com.openfaas.scale.max": "2",
	}})
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	if err := f.WaitReady(ctx, "cat", ns, 2); err != nil {
		t.Fatal(err)
	}
	const n = 25
	for i := 0; i < n; i++ {
		if c, _, b := invoke(t, f, "POST", "cat", "hello", nil); c != 200 || b != "hello" {
			t.Fatalf("invoke %d: %d %q", i, c, b)
		}
	}

	// A scrape leaves out a replica that does not answer within the
	// fan-out's bound (1 s; counted in ferry_replica_metrics_scrape_errors),
	// and the functions it lists may be up to 500 ms old (the listing the
	// autoscaler shares): just after a deploy it can miss the function.
	// Judge a complete scrape.
	mfs := completeScrape(t, f, 2)
	fn := "cat." + ns
	totals := replicaSeries(mfs, "http_requests_total", fn)
	var sum float64
	for inst, ms := range totals {
		for _, m := range ms {
			sum += m.GetCounter().GetValue()
			t.Logf("http_requests_total instance=%s %v = %v", inst, m.GetLabel(), m.GetCounter().GetValue())
		}
	}
	if sum != n {
		t.Errorf("http_requests_total{function_name=%q} sums to %v, want %d", fn, sum, n)
	}
	if mfs["http_requests_total"].GetType() != dto.MetricType_COUNTER {
		t.Errorf("http_requests_total type %v", mfs["http_requests_total"].GetType())
	}
	var count uint64
	for _, ms := range replicaSeries(mfs, "http_request_duration_seconds", fn) {
		for _, m := range ms {
			count += m.GetHistogram().GetSampleCount()
		}
	}
	if mfs["http_request_duration_seconds"].GetType() != dto.MetricType_HISTOGRAM || count != n {
		t.Errorf("http_request_duration_seconds: type %v, count %d, want histogram of %d", mfs["http_request_duration_seconds"].GetType(), count, n)
	}
	inflight := replicaSeries(mfs, "http_requests_in_flight", fn)
	if len(inflight) != 2 {
		t.Errorf("http_requests_in_flight for %d instances, want one per replica (2): %v", len(inflight), inflight)
	}
	// The gateway's own metrics are still there, with the same function_name.
	if g := replicaSeries(mfs, "gateway_function_invocation_total", fn); len(g) == 0 {
		t.Error("gateway_function_invocation_total missing next to the replica metrics")
	}

	// Scrape latency with 10 replicas: the fan-out is concurrent.
	deploy(t, f, map[string]any{"service": "many", "image": "cat", "envProcess": "cat", "labels": map[string]string{
		"com.openfaas.scale.min": "10", "com.openfaas.scale.max": "10",
	}})
	if err := f.WaitReady(ctx, "many", ns, 10); err != nil {
		t.Fatal(err)
	}
	var took []time.Duration
	for range 20 {
		start := time.Now()
		mfs = scrape(t, f)
		took = append(took, time.Since(start))
		time.Sleep(300 * time.Millisecond) // past the collector's reuse window: every scrape fans out
	}
	if got := len(replicaSeries(mfs, "http_requests_in_flight", "many."+ns)); got != 10 {
		t.Errorf("replica series for %d instances of many, want 10", got)
	}
	sort.Slice(took, func(i, j int) bool { return took[i] < took[j] })
	fanout := mfs["ferry_replica_metrics_scrape_seconds"].GetMetric()[0].GetGauge().GetValue()
	errs := mfs["ferry_replica_metrics_scrape_errors"].GetMetric()[0].GetGauge().GetValue()
	t.Logf("/metrics with 12 replicas (10 of many, 2 of cat): p50 %s, max %s over 20 scrapes; last fan-out %.1f ms, %v replicas failed",
		took[len(took)/2].Round(10*time.Microsecond), took[len(took)-1].Round(10*time.Microsecond), fanout*1000, errs)
	if errs != 0 {
		t.Errorf("%v replicas failed to answer", errs)
	}
	if p50 := took[len(took)/2]; p50 > time.Second {
		t.Errorf("/metrics p50 %s with 12 replicas", p50)
	}
}
