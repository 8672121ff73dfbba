package metrics

import (
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus/testutil"
)

// The names and labels are the OpenFaaS contract (section 5): dashboards
// and alert rules depend on them.
func TestMetricNamesAndLabels(t *testing.T) {
	r := NewRecorder()
	r.Started("echo.openfaas-fn")
	r.Finished("echo.openfaas-fn", 200, 3*time.Millisecond)
	r.Started("echo.openfaas-fn")
	r.Finished("echo.openfaas-fn", 500, time.Millisecond)
	r.SetReplicas("echo.openfaas-fn", 3, 2)

	mfs, err := r.Registry().Gather()
	if err != nil {
		t.Fatal(err)
	}
	want := map[string][]string{
		"gateway_function_invocation_total":    {"code", "function_name"},
		"gateway_functions_seconds":            {"code", "function_name"},
		"gateway_function_invocation_started":  {"function_name"},
		"gateway_service_count":                {"function_name"},
		"gateway_function_invocation_inflight": {"function_name"},
		"gateway_function_replicas_ready":      {"function_name"},
	}
	found := map[string]bool{}
	for _, mf := range mfs {
		labels, ok := want[mf.GetName()]
		if !ok {
			continue
		}
		found[mf.GetName()] = true
		for _, m := range mf.GetMetric() {
			var got []string
			for _, lp := range m.GetLabel() {
				got = append(got, lp.GetName())
				if lp.GetName() == "function_name" && lp.GetValue() != "echo.openfaas-fn" {
					t.Errorf("%s: function_name=%q", mf.GetName(), lp.GetValue())
				}
			}
			sort.Strings(got)
			if strings.Join(got, ",") != strings.Join(labels, ",") {
				t.Errorf("%s labels = %v, want %v", mf.GetName(), got, labels)
			}
		}
	}
	for n := range want {
		if !found[n] {
			t.Errorf("metric %s missing", n)
		}
	}
	if v := testutil.ToFloat64(r.total.WithLabelValues("echo.openfaas-fn", "200")); v != 1 {
		t.Errorf("invocation_total{200} = %v", v)
	}
	if v := testutil.ToFloat64(r.started.WithLabelValues("echo.openfaas-fn")); v != 2 {
		t.Errorf("started = %v", v)
	}
	if v := testutil.ToFloat64(r.inflight.WithLabelValues("echo.openfaas-fn")); v != 0 {
		t.Errorf("inflight = %v", v)
	}
	if v := testutil.ToFloat64(r.service.WithLabelValues("echo.openfaas-fn")); v != 3 {
		t.Errorf("service_count = %v", v)
	}
	if c := r.Counts("echo.openfaas-fn"); c.Finished != 2 || c.Errors != 1 || c.Started != 2 {
		t.Errorf("counts = %+v", c)
	}
}

func TestForgetDropsDeletedFunctions(t *testing.T) {
	r := NewRecorder()
	r.Started("a.ns")
	r.Finished("a.ns", 200, time.Millisecond)
	r.Started("b.ns") // still in flight: kept
	r.Forget(map[string]bool{})
	if n := testutil.CollectAndCount(r.total); n != 0 {
		t.Errorf("invocation_total series after forget = %d", n)
	}
	if r.Counts("b.ns").Inflight != 1 {
		t.Error("in-flight function was forgotten")
	}
}

func TestQuantileEstimate(t *testing.T) {
	var l latency
	for i := 1; i <= 100; i++ {
		l.observe(time.Duration(i) * time.Millisecond)
	}
	var c [numBuckets]uint64
	l.snapshot(&c)
	p50, p99 := quantile(&c, .5), quantile(&c, .99)
	if p50 < 0.045 || p50 > 0.062 {
		t.Errorf("p50 = %v, want ~0.050", p50)
	}
	if p99 < 0.095 || p99 > 0.12 {
		t.Errorf("p99 = %v, want ~0.099", p99)
	}
	for i := 0; i < numBuckets-1; i++ {
		if bucketUpper(i) >= bucketUpper(i+1) {
			t.Fatalf("bucket bounds not increasing at %d", i)
		}
	}
	for _, d := range []time.Duration{0, time.Microsecond, 7 * time.Microsecond, time.Second, time.Hour} {
		if up := bucketUpper(bucketOf(d)); up < d.Seconds() {
			t.Errorf("%v lands in bucket with upper bound %v", d, up)
		}
	}
}

func TestSampleRing(t *testing.T) {
	r := NewRecorder()
	t0 := time.Unix(1000, 0)
	r.Started("f.ns")
	r.Finished("f.ns", 200, 10*time.Millisecond)
	r.Sample(t0)
	for i := 0; i < 10; i++ {
		r.Started("f.ns")
		r.Finished("f.ns", 502, 10*time.Millisecond)
	}
	r.Started("f.ns") // in flight
	r.SetReplicas("f.ns", 2, 2)
	r.Sample(t0.Add(time.Second))
	pts, _ := r.History("f.ns", HistorySeconds)
	if len(pts) != 2 {
		t.Fatalf("points = %d", len(pts))
	}
	p := pts[1]
	if p.T != 1001 || p.RPS != 10 || p.Errors != 10 || p.Inflight != 1 || p.Replicas != 2 {
		t.Errorf("point = %+v", p)
	}
	if p.P50 < 0.009 || p.P50 > 0.013 {
		t.Errorf("p50 = %v", p.P50)
	}
	for i := 0; i < HistorySeconds+5; i++ {
		r.Sample(t0.Add(time.Duration(2+i) * time.Second))
	}
	pts, _ = r.History("f.ns", HistorySeconds)
	if len(pts) != HistorySeconds || pts[len(pts)-1].T != 1000+HistorySeconds+6 || pts[0].T != 1007 {
		t.Errorf("ring: %d points, first %d last %d", len(pts), pts[0].T, pts[len(pts)-1].T)
	}
}

// The gateway CPU budget is <= 150 us per request in total; the observer
// must be a tiny part of it and allocate nothing.
func TestHotPathDoesNotAllocate(t *testing.T) {
	r := NewRecorder()
	r.Started("f.ns")
	r.Finished("f.ns", 200, time.Millisecond)
	allocs := testing.AllocsPerRun(1000, func() {
		r.Started("f.ns")
		r.Finished("f.ns", 200, time.Millisecond)
	})
	if allocs != 0 {
		t.Errorf("Started+Finished allocate %v times per call", allocs)
	}
}

func BenchmarkStartedFinished(b *testing.B) {
	r := NewRecorder()
	b.ReportAllocs()
	b.RunParallel(func(pb *testing.PB) {
		for pb.Next() {
			r.Started("f.ns")
			r.Finished("f.ns", 200, time.Millisecond)
		}
	})
}
