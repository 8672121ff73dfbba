package metrics

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/ferryfaas/ferry/api"
)

// PromQuery is how OpenFaaS reads invocation totals from Prometheus.
const PromQuery = "sum by (function_name) (gateway_function_invocation_total)"

// Prometheus count source bounds: one query answers every function for
// promTTL; a query waits at most promTimeout; while Prometheus is
// unreachable the warning repeats at most every promWarnEvery.
const (
	promTTL       = 1500 * time.Millisecond
	promTimeout   = time.Second
	promWarnEvery = 30 * time.Second
	promMaxBody   = 8 << 20
)

// PromCounts is the Decorate hook used when `ferry serve --prometheus-url`
// is set: invocationCount is what Prometheus holds for the function (as in
// OpenFaaS), read with one query for all functions and cached for promTTL.
// When Prometheus cannot be queried, or has no series for a function yet,
// the durable local count is shown instead (with a logged warning for the
// former), so listings never fail or stall because of Prometheus.
type PromCounts struct {
	query    string // full /api/v1/query URL
	client   *http.Client
	fallback func(fn string) float64
	log      *slog.Logger
	now      func() time.Time // injected in tests

	mu       sync.Mutex // held during a query: concurrent listings share it
	at       time.Time  // of the last query, successful or not
	counts   map[string]float64
	failing  bool
	warnedAt time.Time
}

// NewPromCounts checks base (Prometheus's URL, e.g. http://127.0.0.1:9090,
// with any path prefix) and returns the hook; fallback is the local count
// (Durable.Total); log may be nil.
func NewPromCounts(base string, fallback func(fn string) float64, log *slog.Logger) (*PromCounts, error) {
	u, err := url.Parse(strings.TrimRight(strings.TrimSpace(base), "/"))
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		return nil, fmt.Errorf("--prometheus-url %q: give Prometheus's base URL, like http://127.0.0.1:9090", base)
	}
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	q := u.JoinPath("api", "v1", "query")
	q.RawQuery = url.Values{"query": {PromQuery}}.Encode()
	return &PromCounts{
		query:    q.String(),
		client:   &http.Client{Timeout: promTimeout},
		fallback: fallback,
		log:      log,
		now:      time.Now,
	}, nil
}

// Decorate sets st.InvocationCount (a gateway.Config.Decorate hook).
func (p *PromCounts) Decorate(ctx context.Context, st *api.FunctionStatus) {
	st.InvocationCount = p.Count(ctx, FunctionName(st))
}

// Count is fn's ("name.namespace") total from Prometheus, or the local one
// when Prometheus is unreachable or has no series for fn.
func (p *PromCounts) Count(ctx context.Context, fn string) float64 {
	p.mu.Lock()
	if p.at.IsZero() || p.now().Sub(p.at) >= promTTL {
		p.refreshLocked(ctx)
	}
	v, ok := p.counts[fn]
	p.mu.Unlock()
	if !ok {
		return p.fallback(fn)
	}
	return v
}

func (p *PromCounts) refreshLocked(ctx context.Context) {
	counts, err := p.fetch(ctx)
	p.at = p.now()
	if err != nil {
		// Keep no stale figures: the local count is more current than a
		// Prometheus answer from before the outage.
		p.counts = nil
		if !p.failing || p.now().Sub(p.warnedAt) >= promWarnEvery {
			p.log.Warn("cannot read invocation counts from Prometheus; showing the local counts (check --prometheus-url and that Prometheus is up)", "err", err)
			p.warnedAt = p.now()
		}
		p.failing = true
		return
	}
	if p.failing {
		p.log.Info("invocation counts are read from Prometheus again")
	}
	p.counts, p.failing = counts, false
}

// promResponse is the part of /api/v1/query's answer used here.
type promResponse struct {
	Status string `json:"status"`
	Error  string `json:"error"`
	Data   struct {
		ResultType string `json:"resultType"`
		Result     []struct {
			Metric map[string]string `json:"metric"`
			Value  [2]any            `json:"value"` // [unix seconds, "value"]
		} `json:"result"`
	} `json:"data"`
}

func (p *PromCounts) fetch(ctx context.Context) (map[string]float64, error) {
	ctx, cancel := context.WithTimeout(ctx, promTimeout)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, p.query, nil)
	if err != nil {
		return nil, err
	}
	resp, err := p.client.Do(req)
	if err != nil {
		return nil, err
	}
	defer resp.Body.Close()
	var pr promResponse
	if err := json.NewDecoder(io.LimitReader(resp.Body, promMaxBody)).Decode(&pr); err != nil {
		return nil, fmt.Errorf("prometheus query: %s, unreadable answer: %w", resp.Status, err)
	}
	if pr.Status != "success" {
		return nil, fmt.Errorf("prometheus query: %s: %s", resp.Status, pr.Error)
	}
	if pr.Data.ResultType != "vector" {
		return nil, fmt.Errorf("prometheus query: result type %q, want vector", pr.Data.ResultType)
	}
	out := make(map[string]float64, len(pr.Data.Result))
	for _, r := range pr.Data.Result {
		s, _ := r.Value[1].(string)
		v, err := strconv.ParseFloat(s, 64)
		if err != nil {
			return nil, fmt.Errorf("prometheus query: value %q of %s: %w", s, r.Metric["function_name"], err)
		}
		out[r.Metric["function_name"]] = v
	}
	return out, nil
}
