package metrics

import (
	"bytes"
	"context"
	"fmt"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/ferryfaas/ferry/api"
)

// A fake /api/v1/query (the e2e test uses the real Prometheus): one query
// per TTL, its figures win, the local count fills gaps and outages.
func TestPromCounts(t *testing.T) {
	var queries atomic.Int32
	var down atomic.Bool
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path != "/prom/api/v1/query" || r.URL.Query().Get("query") != PromQuery {
			t.Errorf("query %s", r.URL)
		}
		queries.Add(1)
		if down.Load() {
			http.Error(w, "down", http.StatusServiceUnavailable)
			return
		}
		fmt.Fprintf(w, `{"status":"success","data":{"resultType":"vector","result":[{"metric":{"function_name":"cat.openfaas-fn"},"value":[1700000000.1,"%d"]}]}}`, 1000+queries.Load())
	}))
	defer srv.Close()
	var logs bytes.Buffer
	local := map[string]float64{"cat.openfaas-fn": 7, "new.openfaas-fn": 2}
	p, err := NewPromCounts(srv.URL+"/prom/", func(fn string) float64 { return local[fn] }, slog.New(slog.NewTextHandler(&logs, nil)))
	if err != nil {
		t.Fatal(err)
	}
	now := time.Unix(1700000000, 0)
	p.now = func() time.Time { return now }
	ctx := context.Background()

	st := api.FunctionStatus{Name: "cat", Namespace: "openfaas-fn"}
	p.Decorate(ctx, &st)
	if st.InvocationCount != 1001 {
		t.Errorf("count = %v, want Prometheus's 1001", st.InvocationCount)
	}
	if got := p.Count(ctx, "new.openfaas-fn"); got != 2 {
		t.Errorf("no series yet: %v, want the local 2", got)
	}
	now = now.Add(promTTL / 2)
	p.Count(ctx, "cat.openfaas-fn")
	if n := queries.Load(); n != 1 {
		t.Errorf("%d queries within the TTL, want 1", n)
	}
	now = now.Add(promTTL)
	if got := p.Count(ctx, "cat.openfaas-fn"); got != 1002 {
		t.Errorf("after the TTL: %v, want 1002", got)
	}

	down.Store(true)
	now = now.Add(promTTL)
	if got := p.Count(ctx, "cat.openfaas-fn"); got != 7 {
		t.Errorf("Prometheus down: %v, want the local 7", got)
	}
	now = now.Add(promTTL)
	p.Count(ctx, "cat.openfaas-fn")
	if n := strings.Count(logs.String(), "cannot read invocation counts"); n != 1 {
		t.Errorf("%d warnings during one short outage, want 1:\n%s", n, logs.String())
	}
	down.Store(false)
	now = now.Add(promTTL)
	if got := p.Count(ctx, "cat.openfaas-fn"); got < 1000 {
		t.Errorf("after recovery: %v, want Prometheus's figure", got)
	}
}

// An unreachable Prometheus costs at most the timeout once per TTL.
func TestPromCountsUnreachable(t *testing.T) {
	srv := httptest.NewServer(http.NotFoundHandler())
	url := srv.URL
	srv.Close() // nothing listens there now
	p, err := NewPromCounts(url, func(string) float64 { return 3 }, nil)
	if err != nil {
		t.Fatal(err)
	}
	start := time.Now()
	for range 50 {
		if got := p.Count(context.Background(), "f.ns"); got != 3 {
			t.Fatalf("count %v, want the local 3", got)
		}
	}
	if d := time.Since(start); d > promTimeout+500*time.Millisecond {
		t.Errorf("50 lookups took %s", d)
	}
}

func TestPromCountsBadURL(t *testing.T) {
	for _, u := range []string{"", "127.0.0.1:9090", "ftp://x", "http://"} {
		if _, err := NewPromCounts(u, func(string) float64 { return 0 }, nil); err == nil {
			t.Errorf("%q accepted", u)
		}
	}
}
