package gateway

import (
	"cmp"
	"context"
	"encoding/base64"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/ferryfaas/ferry/internal/eventloop"
	"github.com/ferryfaas/ferry/internal/http1"
	"github.com/ferryfaas/ferry/provider/providertest"
	"github.com/ferryfaas/ferry/test/harness"
)

const (
	testUser = "admin"
	testPass = "s3cret-pass"
)

// testFront is how newTestGateway serves the gateway: "loop" (as ferry
// serve does: http1 with the event loop in front), "h1" (http1 alone: the
// goroutine path) or "http" (net/http). scripts/test.sh runs this
// package's tests with each.
var testFront = cmp.Or(os.Getenv("FERRY_TEST_FRONT"), "loop")

// testServer is the served gateway: its URL, Close, and drain, which
// starts a graceful stop as ferry serve does on SIGTERM (the gateway's
// Drain, then the front's) and returns at once.
type testServer struct {
	URL   string
	close func()
	drain func()
}

func (s *testServer) Close() { s.close() }

// newTestGateway serves a gateway over a fake provider on loopback; tune
// changes the gateway before it serves.
func newTestGateway(t testing.TB, fp *providertest.Provider, edit func(*Config), tune ...func(*Gateway)) (*Gateway, *testServer) {
	t.Helper()
	return newLimitedGateway(t, fp, edit, frontLimits{}, tune...)
}

// newLimitedGateway is newTestGateway with the front's limits set.
func newLimitedGateway(t testing.TB, fp *providertest.Provider, edit func(*Config), lim frontLimits, tune ...func(*Gateway)) (*Gateway, *testServer) {
	t.Helper()
	cfg := Config{Provider: fp, Credentials: Credentials{User: testUser, Password: testPass},
		Log: slog.New(slog.NewTextHandler(io.Discard, nil))}
	if edit != nil {
		edit(&cfg)
	}
	g, err := New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	for _, f := range tune {
		f(g)
	}
	srv := serveFrontLimited(t, g, testFront, lim)
	t.Cleanup(func() {
		srv.Close()
		g.Close()
	})
	return g, srv
}

// serveFront serves g on loopback the way front says (see testFront).
func serveFront(t testing.TB, g *Gateway, front string) *testServer {
	return serveFrontLimited(t, g, front, frontLimits{})
}

// frontLimits are the fronts' limits a test sets (zero: the defaults).
type frontLimits struct {
	head, body time.Duration
	maxConns   int // (not for net/http alone)
}

func serveFrontLimited(t testing.TB, g *Gateway, front string, lim frontLimits) *testServer {
	t.Helper()
	head := cmp.Or(lim.head, 10*time.Second)
	if front == "http" {
		s := httptest.NewUnstartedServer(g)
		s.Config.ReadHeaderTimeout = head
		s.Start()
		return &testServer{URL: s.URL, close: s.Close, drain: func() { g.Drain(); s.Config.SetKeepAlivesEnabled(false) }}
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	hs := &http.Server{Handler: g, ReadHeaderTimeout: head, IdleTimeout: 30 * time.Second}
	f := &http1.Server{HTTP: hs, Fast: IsInvocation, Log: g.log, BodyTimeout: lim.body, MaxConns: lim.maxConns}
	if front == "loop" {
		f.Loop = &eventloop.Server{Planner: g, Fallback: f.ServeConn, Log: g.log, HeadTimeout: head, BodyTimeout: lim.body}
	} else if front != "h1" {
		t.Fatalf("FERRY_TEST_FRONT=%q: use loop, h1 or http", front)
	}
	go f.Serve(ln)
	var once sync.Once
	return &testServer{URL: "http://" + ln.Addr().String(), close: func() {
		once.Do(func() {
			ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
			defer cancel()
			f.Shutdown(ctx)
		})
	}, drain: func() {
		g.Drain()
		f.Drain(context.Background(), 0) // (0: no wait, only the switch)
	}}
}

type result struct {
	code   int
	body   string
	header http.Header
}

// call sends a request; auth adds the admin credentials.
func call(t testing.TB, method, url, body string, auth bool, hdr ...string) result {
	t.Helper()
	if auth {
		hdr = append([]string{"Authorization", "Basic " + base64.StdEncoding.EncodeToString([]byte(testUser+":"+testPass))}, hdr...)
	}
	code, h, b := harness.Call(t, noRedirect, method, url, body, hdr...)
	return result{code, b, h}
}

var noRedirect = &http.Client{CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}

// closedAddr is a loopback address nothing listens on (connection refused).
func closedAddr(t testing.TB) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := ln.Addr().String()
	ln.Close()
	return addr
}

// upstream starts an httptest server and returns its host:port.
func upstream(t testing.TB, h http.HandlerFunc) string {
	t.Helper()
	s := httptest.NewServer(h)
	t.Cleanup(s.Close)
	return strings.TrimPrefix(s.URL, "http://")
}

func expect(t *testing.T, r result, code int, sub string) {
	t.Helper()
	if r.code != code || !strings.Contains(r.body, sub) {
		t.Fatalf("got %d %q, want %d with %q", r.code, r.body, code, sub)
	}
}

// wait receives from ch, failing the test instead of hanging.
func wait[T any](t testing.TB, ch <-chan T, what string) T {
	t.Helper()
	select {
	case v := <-ch:
		return v
	case <-time.After(10 * time.Second):
		t.Fatalf("timed out waiting for %s", what)
		panic("unreachable")
	}
}
