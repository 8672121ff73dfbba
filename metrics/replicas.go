package metrics

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"math"
	"net"
	"net/http"
	"sort"
	"strings"
	"sync"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	dto "github.com/prometheus/client_model/go"
	"github.com/prometheus/common/expfmt"
	"github.com/prometheus/common/model"
)

// ReplicaTarget is one ready replica whose watchdog metrics the gateway
// re-exposes on its own /metrics.
type ReplicaTarget struct {
	Function string // "name.namespace", as the gateway metrics' function_name
	Instance string // the replica id
	Address  string // host:port of the replica's metrics server (loopback only)
}

// TargetsFunc lists the replicas to scrape; it is called once per scrape of
// the gateway's /metrics, never on the invocation path.
type TargetsFunc func(ctx context.Context) ([]ReplicaTarget, error)

// Replica scrape bounds: a scrape of the gateway's /metrics waits at most
// ScrapeTimeout for all replicas together, with at most scrapeParallel
// fetches at once and scrapeMaxBody bytes read from each.
const (
	DefaultReplicaScrapeTimeout = time.Second
	scrapeParallel              = 16
	scrapeMaxBody               = 1 << 20
	scrapeMaxTargets            = 2000
	// scrapeReuse: scrapes closer together than this (two Prometheus
	// servers, a person refreshing) share one fan-out.
	scrapeReuse = 250 * time.Millisecond
)

// ReplicaCollector is a prometheus.Collector that, at scrape time, fetches
// every ready replica's /metrics concurrently and re-exposes those series
// unchanged in name, with the labels function_name and instance added, so
// OpenFaaS dashboards built on the watchdog metrics work against the
// gateway alone. A replica that does not answer in time is left out of
// that scrape (and counted in ferry_replica_metrics_scrape_errors).
type ReplicaCollector struct {
	targets TargetsFunc
	timeout time.Duration
	client  *http.Client
	log     *slog.Logger

	mu     sync.Mutex // one fan-out at a time
	lastAt time.Time
	last   []prometheus.Metric

	durDesc, errDesc, tgtDesc *prometheus.Desc
}

var _ prometheus.Collector = (*ReplicaCollector)(nil)

// NewReplicaCollector returns a collector over the replicas targets lists;
// timeout <= 0 means DefaultReplicaScrapeTimeout; log may be nil.
func NewReplicaCollector(targets TargetsFunc, timeout time.Duration, log *slog.Logger) *ReplicaCollector {
	if timeout <= 0 {
		timeout = DefaultReplicaScrapeTimeout
	}
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	tr := &http.Transport{
		// Loopback only: no proxy, and keep connections to the replicas
		// warm between scrapes.
		Proxy:               nil,
		MaxIdleConnsPerHost: 1,
		MaxIdleConns:        256,
		IdleConnTimeout:     30 * time.Second,
		DisableCompression:  true,
	}
	return &ReplicaCollector{
		targets: targets,
		timeout: timeout,
		client:  &http.Client{Transport: tr, Timeout: timeout},
		log:     log,
		durDesc: prometheus.NewDesc("ferry_replica_metrics_scrape_seconds",
			"Seconds the last fetch of all replicas' watchdog metrics took.", nil, nil),
		errDesc: prometheus.NewDesc("ferry_replica_metrics_scrape_errors",
			"Replicas whose watchdog metrics could not be fetched in the last scrape.", nil, nil),
		tgtDesc: prometheus.NewDesc("ferry_replica_metrics_scrape_targets",
			"Replicas whose watchdog metrics were fetched in the last scrape.", nil, nil),
	}
}

// Describe sends only the collector's own metrics: the replica series are
// not known in advance, so the rest is unchecked.
func (c *ReplicaCollector) Describe(ch chan<- *prometheus.Desc) {
	ch <- c.durDesc
	ch <- c.errDesc
	ch <- c.tgtDesc
}

// Collect fetches the replicas (or reuses a fan-out younger than
// scrapeReuse) and sends their series.
func (c *ReplicaCollector) Collect(ch chan<- prometheus.Metric) {
	c.mu.Lock()
	if c.last == nil || time.Since(c.lastAt) >= scrapeReuse {
		c.last = c.scrape()
		c.lastAt = time.Now()
	}
	ms := c.last
	c.mu.Unlock()
	for _, m := range ms {
		ch <- m
	}
}

type replicaResult struct {
	t   ReplicaTarget
	mfs map[string]*dto.MetricFamily
	err error
}

// scrape fetches every target and converts their families.
func (c *ReplicaCollector) scrape() []prometheus.Metric {
	start := time.Now()
	ctx, cancel := context.WithTimeout(context.Background(), c.timeout)
	defer cancel()
	targets, err := c.targets(ctx)
	if err != nil {
		c.log.Warn("replica metrics: cannot list replicas", "err", err)
	}
	if len(targets) > scrapeMaxTargets {
		c.log.Warn("replica metrics: too many replicas; scraping the first ones only", "replicas", len(targets), "max", scrapeMaxTargets)
		targets = targets[:scrapeMaxTargets]
	}
	results := make([]replicaResult, len(targets))
	sem := make(chan struct{}, scrapeParallel)
	var wg sync.WaitGroup
	for i, t := range targets {
		results[i].t = t
		if !loopback(t.Address) {
			results[i].err = fmt.Errorf("%s is not a loopback address", t.Address)
			continue
		}
		wg.Add(1)
		go func() {
			defer wg.Done()
			select {
			case sem <- struct{}{}:
			case <-ctx.Done():
				results[i].err = ctx.Err()
				return
			}
			defer func() { <-sem }()
			results[i].mfs, results[i].err = c.fetch(ctx, t.Address)
		}()
	}
	wg.Wait()

	var out []prometheus.Metric
	fams := map[string]familyShape{} // first replica's help and type win
	failed := 0
	for _, r := range results {
		if r.err != nil {
			failed++
			c.log.Debug("replica metrics: fetch failed", "function", r.t.Function, "instance", r.t.Instance, "err", r.err)
			continue
		}
		out = appendReplica(out, fams, r)
	}
	out = append(out,
		prometheus.MustNewConstMetric(c.durDesc, prometheus.GaugeValue, time.Since(start).Seconds()),
		prometheus.MustNewConstMetric(c.errDesc, prometheus.GaugeValue, float64(failed)),
		prometheus.MustNewConstMetric(c.tgtDesc, prometheus.GaugeValue, float64(len(targets))))
	return out
}

// fetch GETs one replica's /metrics and parses the text format.
func (c *ReplicaCollector) fetch(ctx context.Context, addr string) (map[string]*dto.MetricFamily, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, "http://"+addr+"/metrics", nil)
	if err != nil {
		return nil, err
	}
	// Ask for the text format: it is the one parsed here.
	req.Header.Set("Accept", "text/plain;version=0.0.4")
	resp, err := c.client.Do(req)
	if err != nil {
		return nil, err
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		io.Copy(io.Discard, io.LimitReader(resp.Body, 4096))
		return nil, fmt.Errorf("GET /metrics: %s", resp.Status)
	}
	p := expfmt.NewTextParser(model.UTF8Validation)
	return p.TextToMetricFamilies(io.LimitReader(resp.Body, scrapeMaxBody))
}

func loopback(addr string) bool {
	host, _, err := net.SplitHostPort(addr)
	if err != nil {
		return false
	}
	if host == "localhost" {
		return true
	}
	ip := net.ParseIP(host)
	return ip != nil && ip.IsLoopback()
}

type familyShape struct {
	help string
	typ  dto.MetricType
}

// skipFamily: the gateway exposes its own process and Go metrics; a
// replica's would clash with them.
func skipFamily(name string) bool {
	return strings.HasPrefix(name, "go_") || strings.HasPrefix(name, "process_") || strings.HasPrefix(name, "promhttp_")
}

// appendReplica converts one replica's families into const metrics with
// function_name and instance added.
func appendReplica(out []prometheus.Metric, fams map[string]familyShape, r replicaResult) []prometheus.Metric {
	names := make([]string, 0, len(r.mfs))
	for name := range r.mfs {
		names = append(names, name)
	}
	sort.Strings(names)
	for _, name := range names {
		mf := r.mfs[name]
		if skipFamily(name) {
			continue
		}
		shape, seen := fams[name]
		if !seen {
			shape = familyShape{mf.GetHelp(), mf.GetType()}
			fams[name] = shape
		} else if shape.typ != mf.GetType() {
			continue // replicas disagree on the type: keep the first kind only
		}
		for _, m := range mf.GetMetric() {
			if cm, err := constMetric(name, shape.help, shape.typ, m, r.t); err == nil {
				out = append(out, cm)
			}
		}
	}
	return out
}

func constMetric(name, help string, typ dto.MetricType, m *dto.Metric, t ReplicaTarget) (prometheus.Metric, error) {
	var keys, vals []string
	for _, lp := range m.GetLabel() {
		k := lp.GetName()
		if k == "function_name" || k == "instance" {
			k = "exported_" + k // Prometheus's own convention for clashing target labels
		}
		keys = append(keys, k)
		vals = append(vals, lp.GetValue())
	}
	keys = append(keys, "function_name", "instance")
	vals = append(vals, t.Function, t.Instance)
	desc := prometheus.NewDesc(name, help, keys, nil)
	switch typ {
	case dto.MetricType_COUNTER:
		return prometheus.NewConstMetric(desc, prometheus.CounterValue, m.GetCounter().GetValue(), vals...)
	case dto.MetricType_GAUGE:
		return prometheus.NewConstMetric(desc, prometheus.GaugeValue, m.GetGauge().GetValue(), vals...)
	case dto.MetricType_HISTOGRAM:
		h := m.GetHistogram()
		buckets := make(map[float64]uint64, len(h.GetBucket()))
		for _, b := range h.GetBucket() {
			if !math.IsInf(b.GetUpperBound(), +1) { // +Inf is implied by the count
				buckets[b.GetUpperBound()] = b.GetCumulativeCount()
			}
		}
		return prometheus.NewConstHistogram(desc, h.GetSampleCount(), h.GetSampleSum(), buckets, vals...)
	case dto.MetricType_SUMMARY:
		s := m.GetSummary()
		qs := make(map[float64]float64, len(s.GetQuantile()))
		for _, q := range s.GetQuantile() {
			qs[q.GetQuantile()] = q.GetValue()
		}
		return prometheus.NewConstSummary(desc, s.GetSampleCount(), s.GetSampleSum(), qs, vals...)
	default:
		return prometheus.NewConstMetric(desc, prometheus.UntypedValue, m.GetUntyped().GetValue(), vals...)
	}
}
