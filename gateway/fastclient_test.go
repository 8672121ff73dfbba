package gateway

import (
	"github.com/ferryfaas/ferry/provider/providertest"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync/atomic"
	"testing"
	"time"
)

// serveOn runs h on an existing listener until the test ends or stop.
func serveOn(t *testing.T, ln net.Listener, h http.HandlerFunc) *httptest.Server {
	s := &httptest.Server{Listener: ln, Config: &http.Server{Handler: h}}
	s.Start()
	t.Cleanup(s.Close)
	return s
}

func TestReplicaRestartOnSamePort(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := ln.Addr().String()
	first := serveOn(t, ln, func(w http.ResponseWriter, r *http.Request) { w.Write([]byte("first")) })
	fp := providertest.New()
	fp.Add(ns, "f", 1, addr)
	_, srv := newTestGateway(t, fp, nil)
	for i := 0; i < 3; i++ { // leaves kept-alive connections in the pool
		expect(t, call(t, "POST", srv.URL+"/function/f", "x", false), 200, "first")
	}
	first.Close() // closes those connections: they are stale now
	ln2, err := net.Listen("tcp", addr)
	if err != nil {
		t.Skipf("port %s was taken meanwhile: %v", addr, err)
	}
	serveOn(t, ln2, func(w http.ResponseWriter, r *http.Request) { w.Write([]byte("second")) })
	for i := 0; i < 3; i++ {
		expect(t, call(t, "POST", srv.URL+"/function/f", "x", false), 200, "second")
	}
}

// countingUpstream serves h and counts the connections made to it.
func countingUpstream(t *testing.T, h http.HandlerFunc) (addr string, conns *atomic.Int64) {
	t.Helper()
	conns = new(atomic.Int64)
	up := httptest.NewUnstartedServer(h)
	up.Config.ConnState = func(c net.Conn, s http.ConnState) {
		if s == http.StateNew {
			conns.Add(1)
		}
	}
	up.Start()
	t.Cleanup(up.Close)
	return strings.TrimPrefix(up.URL, "http://"), conns
}

func TestFastClientEdgeCases(t *testing.T) {
	addr, conns := countingUpstream(t, func(w http.ResponseWriter, r *http.Request) {
		switch r.URL.Path {
		case "/nocontent":
			w.WriteHeader(204)
		case "/close":
			w.Header().Set("Connection", "close")
			w.Write([]byte("closing"))
		case "/big":
			w.Write([]byte(strings.Repeat("b", 1<<20)))
		case "/hints":
			w.Header().Set("Link", "</a.css>; rel=preload")
			w.WriteHeader(103)
			w.Write([]byte("after hints"))
		default:
			b, _ := io.ReadAll(r.Body)
			w.Header().Set("X-Len", r.Header.Get("Content-Length"))
			w.Write([]byte(r.Method + ":" + string(b)))
		}
	})
	fp := providertest.New()
	fp.Add(ns, "f", 1, addr)
	_, srv := newTestGateway(t, fp, nil)
	u := srv.URL + "/function/f"

	r := call(t, "HEAD", u+"/x", "", false)
	if r.code != 200 || r.body != "" {
		t.Fatalf("HEAD: %d %q", r.code, r.body)
	}
	expect(t, call(t, "GET", u+"/nocontent", "", false), 204, "")
	expect(t, call(t, "GET", u+"/close", "", false), 200, "closing")
	expect(t, call(t, "GET", u+"/after-close", "", false), 200, "GET:")
	if r := call(t, "GET", u+"/big", "", false); r.code != 200 || len(r.body) != 1<<20 {
		t.Fatalf("big: %d, %d bytes", r.code, len(r.body))
	}
	expect(t, call(t, "GET", u+"/hints", "", false), 200, "after hints")
	r = call(t, "POST", u, "", false)
	if r.code != 200 || r.header.Get("X-Len") != "0" {
		t.Fatalf("empty POST: %d, upstream saw Content-Length %q", r.code, r.header.Get("X-Len"))
	}
	expect(t, call(t, "DELETE", u, "", false), 200, "DELETE:")
	expect(t, call(t, "PATCH", u, "patch-body", false), 200, "PATCH:patch-body")
	// One connection before "Connection: close", one after: keep-alive
	// works for every other answer.
	if n := conns.Load(); n != 2 {
		t.Fatalf("%d upstream connections, want 2", n)
	}
}

func TestPoolSweepsExpiredConnections(t *testing.T) {
	p := newFastPool()
	a, b := net.Pipe()
	defer b.Close()
	old := &upConn{Conn: a, addr: "gone:1", key: "gone:1"}
	p.put(old)
	old.idleAt = old.idleAt.Add(-2 * fastIdleTimeout) // its replica went away long ago
	p.swept = p.swept.Add(-fastIdleTimeout)
	c, d := net.Pipe()
	defer d.Close()
	p.put(&upConn{Conn: c, addr: "live:1", key: "live:1"})
	if _, ok := p.idle["gone:1"]; ok {
		t.Fatal("expired connection kept")
	}
	if _, err := b.Write([]byte("x")); err == nil {
		t.Fatal("expired connection not closed")
	}
	if len(p.idle["live:1"]) != 1 {
		t.Fatal("live connection dropped")
	}
}

// A call's deadline is set on the pooled connection and left there: the
// next call on it, after that deadline has passed, must set its own and
// go through on the same connection. A timed-out call's connection is not
// reused.
func TestPooledConnectionOutlivesCallDeadline(t *testing.T) {
	addr, conns := countingUpstream(t, func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path == "/slow" {
			time.Sleep(300 * time.Millisecond)
		}
		w.Write([]byte("ok"))
	})
	fp := providertest.New()
	fp.Add(ns, "f", 1, addr)
	fp.Edit(ns, "f", func(fn *providertest.Function) { fn.Timeout = 150 * time.Millisecond })
	_, srv := newTestGateway(t, fp, nil)
	expect(t, call(t, "GET", srv.URL+"/function/f", "", false), 200, "ok")
	time.Sleep(200 * time.Millisecond) // the first call's deadline passes
	expect(t, call(t, "GET", srv.URL+"/function/f", "", false), 200, "ok")
	if n := conns.Load(); n != 1 {
		t.Fatalf("%d upstream connections, want the first one reused", n)
	}
	expect(t, call(t, "GET", srv.URL+"/function/f/slow", "", false), 504, "did not answer within 150ms")
	expect(t, call(t, "GET", srv.URL+"/function/f", "", false), 200, "ok")
	if n := conns.Load(); n != 2 {
		t.Fatalf("%d upstream connections, want a new one after the timeout", n)
	}
}
