// Package triggertest runs a real gateway (client/clienttest: gateway.New
// over echo functions) behind a recording proxy, for the trigger tests:
// the proxy logs every call the trigger makes, can make named functions
// fail with 500, and stands in for the async queue (202) when asked to.
package triggertest

import (
	"context"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"net/http/httputil"
	"net/url"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/ferryfaas/ferry/api"
	"github.com/ferryfaas/ferry/client"
	"github.com/ferryfaas/ferry/client/clienttest"
	"github.com/ferryfaas/ferry/trigger"
	"github.com/prometheus/client_golang/prometheus"
)

// Call is one request that reached the gateway.
type Call struct {
	Async    bool
	Function string // name.namespace
	Header   http.Header
	Body     string
	Status   int
}

// Env is a gateway, its proxy and a trigger Index and Invoker on it.
type Env struct {
	GW      *clienttest.Gateway
	URL     string // the proxy
	Client  *client.Client
	Index   *trigger.Index
	Invoker *trigger.Invoker
	Metrics *trigger.Metrics

	mu    sync.Mutex
	calls []Call
	fail  map[string]bool
	queue bool
	delay time.Duration
}

// Start runs the gateway and proxy until the test ends.
func Start(t testing.TB) *Env {
	t.Helper()
	e := &Env{GW: clienttest.Start(t), fail: map[string]bool{}}
	u, _ := url.Parse(e.GW.URL)
	rp := httputil.NewSingleHostReverseProxy(u)
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		c, ok := e.record(r)
		if !ok {
			rp.ServeHTTP(w, r)
			return
		}
		e.mu.Lock()
		fail, queue, delay := e.fail[c.Function], e.queue, e.delay
		e.mu.Unlock()
		time.Sleep(delay)
		rec := &statusRecorder{ResponseWriter: w, status: 200}
		switch {
		case c.Async && queue:
			rec.WriteHeader(http.StatusAccepted)
		case !c.Async && fail:
			rec.WriteHeader(http.StatusInternalServerError)
			io.WriteString(rec, "boom")
		default:
			rp.ServeHTTP(rec, r)
		}
		c.Status = rec.status
		e.mu.Lock()
		e.calls = append(e.calls, c)
		e.mu.Unlock()
	}))
	t.Cleanup(srv.Close)
	e.URL = srv.URL
	e.Client = client.New(srv.URL, clienttest.User, clienttest.Password)
	e.Metrics = trigger.NewMetrics()
	e.Index = trigger.NewIndex(e.Client, 100*time.Millisecond, slog.Default())
	e.Invoker = trigger.NewInvoker(e.Client, e.Metrics, slog.Default())
	e.Invoker.Backoff = 50 * time.Millisecond
	return e
}

type statusRecorder struct {
	http.ResponseWriter
	status int
}

func (s *statusRecorder) WriteHeader(code int) {
	s.status = code
	s.ResponseWriter.WriteHeader(code)
}

// record reads an invocation (and puts its body back for the proxy).
func (e *Env) record(r *http.Request) (Call, bool) {
	var c Call
	rest, ok := strings.CutPrefix(r.URL.Path, "/function/")
	if !ok {
		if rest, ok = strings.CutPrefix(r.URL.Path, "/async-function/"); !ok {
			return c, false
		}
		c.Async = true
	}
	c.Function, _, _ = strings.Cut(rest, "/")
	b, _ := io.ReadAll(r.Body)
	r.Body = io.NopCloser(strings.NewReader(string(b)))
	c.Body, c.Header = string(b), r.Header.Clone()
	return c, true
}

// Fail makes synchronous calls of fn (name.namespace) answer 500.
func (e *Env) Fail(fn string) {
	e.mu.Lock()
	e.fail[fn] = true
	e.mu.Unlock()
}

// Queue makes /async-function/ calls answer 202 (the gateway under test
// has no queue; the queue's own retries are tested in package queue).
func (e *Env) Queue() {
	e.mu.Lock()
	e.queue = true
	e.mu.Unlock()
}

// Delay slows every call down (a slow function).
func (e *Env) Delay(d time.Duration) {
	e.mu.Lock()
	e.delay = d
	e.mu.Unlock()
}

// Calls returns the calls so far.
func (e *Env) Calls() []Call {
	e.mu.Lock()
	defer e.mu.Unlock()
	return append([]Call(nil), e.calls...)
}

// WaitCalls waits until match accepts n calls, and returns those.
func (e *Env) WaitCalls(t testing.TB, n int, timeout time.Duration, match func(Call) bool) []Call {
	t.Helper()
	deadline := time.Now().Add(timeout)
	for {
		var got []Call
		for _, c := range e.Calls() {
			if match(c) {
				got = append(got, c)
			}
		}
		if len(got) >= n {
			return got
		}
		if time.Now().After(deadline) {
			t.Fatalf("%d matching calls after %v, want %d; all calls: %+v", len(got), timeout, n, e.Calls())
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// Deploy deploys an echo function in the default namespace and waits
// until the Index has seen it.
func (e *Env) Deploy(t testing.TB, name string, annotations map[string]string) {
	t.Helper()
	if err := e.GW.Provider.Deploy(context.Background(), api.FunctionDeployment{Service: name, Image: "echo",
		Namespace: api.DefaultNamespace, Annotations: annotations}); err != nil {
		t.Fatal(err)
	}
	if err := e.Index.Refresh(context.Background()); err != nil {
		t.Fatal(err)
	}
}

// Key names a default-namespace function as the calls do.
func Key(name string) string { return name + "." + api.DefaultNamespace }

// Gauge reads ferry_trigger_connected for a trigger (-1 when unset).
func (e *Env) Gauge(t testing.TB, trig string) float64 {
	t.Helper()
	reg := prometheus.NewPedanticRegistry()
	reg.MustRegister(e.Metrics)
	mfs, err := reg.Gather()
	if err != nil {
		t.Fatal(err)
	}
	for _, mf := range mfs {
		if mf.GetName() != "ferry_trigger_connected" {
			continue
		}
		for _, m := range mf.GetMetric() {
			for _, l := range m.GetLabel() {
				if l.GetName() == "trigger" && l.GetValue() == trig {
					return m.GetGauge().GetValue()
				}
			}
		}
	}
	return -1
}
