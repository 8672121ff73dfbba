package watchdog

import (
	"cmp"
	"math"
	"net/http"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"
)

// metrics are the three watchdog metrics of the contract, written in
// Prometheus's text format by hand. client_golang's package init (its
// default registry's collectors, procfs) took 1.4 ms of every replica's
// start and 4 MB of the binary: cold-start time for three metrics.
type metrics struct {
	inflight gauge

	mu     sync.RWMutex
	series map[metricKey]*series // by status code and method
}

type metricKey struct {
	code   int
	method string
}

// durationBuckets are client_golang's default buckets (seconds), which
// OpenFaaS's watchdogs use.
var durationBuckets = [...]float64{.005, .01, .025, .05, .1, .25, .5, 1, 2.5, 5, 10}

// series is one label set: its request count and duration histogram.
type series struct {
	code, method string                                  // label values
	buckets      [len(durationBuckets) + 1]atomic.Uint64 // per bucket (not cumulative); the last is +Inf
	count        atomic.Uint64                           // also http_requests_total
	sumBits      atomic.Uint64                           // float64 bits of the sum of durations
}

// gauge is http_requests_in_flight.
type gauge struct{ n atomic.Int64 }

func (g *gauge) Inc() { g.n.Add(1) }
func (g *gauge) Dec() { g.n.Add(-1) }

func newMetrics() *metrics { return &metrics{series: map[metricKey]*series{}} }

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
	s := m.series[k]
	m.mu.RUnlock()
	if s == nil {
		label := knownMethods[method]
		if label == "" {
			label = "other"
		}
		m.mu.Lock()
		if s = m.series[k]; s == nil {
			s = &series{code: strconv.Itoa(code), method: label}
			m.series[k] = s
		}
		m.mu.Unlock()
	}
	secs := d.Seconds()
	i, _ := slices.BinarySearch(durationBuckets[:], secs) // le: a value on a bound counts in it
	s.buckets[i].Add(1)
	for {
		old := s.sumBits.Load()
		if s.sumBits.CompareAndSwap(old, math.Float64bits(math.Float64frombits(old)+secs)) {
			break
		}
	}
	s.count.Add(1)
}

func (m *metrics) handler() http.Handler {
	mux := http.NewServeMux()
	mux.HandleFunc("/metrics", func(w http.ResponseWriter, _ *http.Request) {
		w.Header().Set("Content-Type", "text/plain; version=0.0.4; charset=utf-8")
		w.Write(m.appendText(nil))
	})
	return mux
}

// appendText writes the exposition: families sorted by name, series by
// their labels, as client_golang does.
func (m *metrics) appendText(b []byte) []byte {
	m.mu.RLock()
	all := make([]*series, 0, len(m.series))
	for _, s := range m.series {
		all = append(all, s)
	}
	m.mu.RUnlock()
	slices.SortFunc(all, func(a, b *series) int {
		return cmp.Or(strings.Compare(a.code, b.code), strings.Compare(a.method, b.method))
	})
	labels := func(b []byte, s *series) []byte {
		return append(append(append(append(b, `code="`...), s.code...), `",method="`...), s.method...)
	}
	b = append(b, "# HELP http_request_duration_seconds Seconds spent serving function requests, by status code and method.\n"+
		"# TYPE http_request_duration_seconds histogram\n"...)
	for _, s := range all {
		var cum uint64
		for i := range s.buckets {
			cum += s.buckets[i].Load()
			b = labels(append(b, "http_request_duration_seconds_bucket{"...), s)
			b = append(b, `",le="`...)
			if i < len(durationBuckets) {
				b = strconv.AppendFloat(b, durationBuckets[i], 'g', -1, 64)
			} else {
				b = append(b, "+Inf"...)
			}
			b = strconv.AppendUint(append(b, `"} `...), cum, 10)
			b = append(b, '\n')
		}
		b = labels(append(b, "http_request_duration_seconds_sum{"...), s)
		b = strconv.AppendFloat(append(b, `"} `...), math.Float64frombits(s.sumBits.Load()), 'g', -1, 64)
		b = labels(append(b, "\nhttp_request_duration_seconds_count{"...), s)
		b = strconv.AppendUint(append(b, `"} `...), cum, 10)
		b = append(b, '\n')
	}
	b = append(b, "# HELP http_requests_in_flight Function requests being served now.\n"+
		"# TYPE http_requests_in_flight gauge\nhttp_requests_in_flight "...)
	b = strconv.AppendInt(b, m.inflight.n.Load(), 10)
	b = append(b, "\n# HELP http_requests_total Requests handled by the function, by status code and method.\n"+
		"# TYPE http_requests_total counter\n"...)
	for _, s := range all {
		b = labels(append(b, "http_requests_total{"...), s)
		b = strconv.AppendUint(append(b, `"} `...), s.count.Load(), 10)
		b = append(b, '\n')
	}
	return b
}
