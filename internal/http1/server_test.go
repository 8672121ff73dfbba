package http1

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/ferryfaas/ferry/test/harness"
)

// start serves h on a loopback port through the lean loop (every path
// takes it unless fast says otherwise) and returns the address.
func start(t *testing.T, h http.Handler, fast func(string) bool) (string, *Server) {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	if fast == nil {
		fast = func(string) bool { return true }
	}
	s := &Server{HTTP: &http.Server{Handler: h, ReadHeaderTimeout: 5 * time.Second, IdleTimeout: 5 * time.Second}, Fast: fast, WatchAfter: 20 * time.Millisecond}
	go s.Serve(ln)
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		s.Shutdown(ctx)
	})
	return ln.Addr().String(), s
}

// exchange writes raw requests on one connection and reads n responses.
func exchange(t *testing.T, addr, raw string, n int) []*http.Response {
	t.Helper()
	c, err := net.Dial("tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close() })
	c.SetDeadline(time.Now().Add(10 * time.Second))
	if _, err := io.WriteString(c, raw); err != nil {
		t.Fatal(err)
	}
	br := bufio.NewReader(c)
	var out []*http.Response
	method := raw[:strings.IndexByte(raw, ' ')] // of the first request
	for i := 0; i < n; i++ {
		resp, err := http.ReadResponse(br, &http.Request{Method: method})
		if err != nil {
			t.Fatalf("response %d: %v", i, err)
		}
		b, err := io.ReadAll(resp.Body)
		if err != nil {
			t.Fatalf("response %d body: %v", i, err)
		}
		resp.Body = io.NopCloser(strings.NewReader(string(b)))
		out = append(out, resp)
	}
	return out
}

func body(r *http.Response) string { b, _ := io.ReadAll(r.Body); return string(b) }

// echo answers with what it was sent and how it was served.
var echo = http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
	b, _ := io.ReadAll(r.Body)
	lean := "net/http"
	if _, ok := w.(*response); ok {
		lean = "lean"
	}
	w.Header().Set("X-Served-By", lean)
	fmt.Fprintf(w, "%s %s %s te=%v", r.Method, r.URL.RequestURI(), b, r.TransferEncoding)
})

// TestKeepAliveAndFallback: plain requests stay in the lean loop on one
// connection; a chunked one moves the connection to net/http, which
// serves it and the requests after it.
func TestKeepAliveAndFallback(t *testing.T) {
	addr, _ := start(t, echo, nil)
	raw := "POST /a HTTP/1.1\r\nHost: x\r\nContent-Length: 3\r\n\r\nabc" +
		"GET /b?q=1 HTTP/1.1\r\nHost: x\r\n\r\n" +
		"POST /c HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n2\r\nhi\r\n0\r\n\r\n" +
		"GET /d HTTP/1.1\r\nHost: x\r\n\r\n"
	rs := exchange(t, addr, raw, 4)
	want := []struct{ by, body string }{
		{"lean", "POST /a abc te=[]"},
		{"lean", "GET /b?q=1  te=[]"},
		{"net/http", "POST /c hi te=[chunked]"},
		{"net/http", "GET /d  te=[]"},
	}
	for i, w := range want {
		if got := rs[i].Header.Get("X-Served-By"); got != w.by {
			t.Errorf("request %d served by %s, want %s", i, got, w.by)
		}
		if got := body(rs[i]); got != w.body {
			t.Errorf("request %d: %q, want %q", i, got, w.body)
		}
	}
	if rs[0].ContentLength != int64(len(want[0].body)) {
		t.Errorf("small answer: Content-Length %d, want exact %d", rs[0].ContentLength, len(want[0].body))
	}
}

func TestFastSelectsPaths(t *testing.T) {
	addr, _ := start(t, echo, func(p string) bool { return strings.HasPrefix(p, "/function/") })
	rs := exchange(t, addr, "GET /function/f HTTP/1.1\r\nHost: x\r\n\r\nGET /system/info HTTP/1.1\r\nHost: x\r\n\r\n", 2)
	if a, b := rs[0].Header.Get("X-Served-By"), rs[1].Header.Get("X-Served-By"); a != "lean" || b != "net/http" {
		t.Fatalf("served by %s and %s, want lean then net/http", a, b)
	}
}

// TestResponsesMatchNetHTTP serves the same handlers through the lean
// loop and through net/http and compares what a client sees.
func TestResponsesMatchNetHTTP(t *testing.T) {
	handlers := map[string]http.HandlerFunc{
		"small": func(w http.ResponseWriter, r *http.Request) { io.WriteString(w, "<html>hi</html>") },
		"empty": func(w http.ResponseWriter, r *http.Request) {},
		"status": func(w http.ResponseWriter, r *http.Request) {
			w.Header().Set("Content-Type", "text/plain")
			w.WriteHeader(http.StatusTeapot)
			io.WriteString(w, "short and stout")
		},
		"no-content": func(w http.ResponseWriter, r *http.Request) { w.WriteHeader(http.StatusNoContent) },
		"large": func(w http.ResponseWriter, r *http.Request) {
			io.WriteString(w, strings.Repeat("x", 10000))
		},
		"length": func(w http.ResponseWriter, r *http.Request) {
			w.Header().Set("Content-Length", "5000")
			io.WriteString(w, strings.Repeat("y", 5000))
		},
		"flushed": func(w http.ResponseWriter, r *http.Request) {
			w.Header().Set("Content-Type", "text/event-stream")
			io.WriteString(w, "data: 1\n\n")
			w.(http.Flusher).Flush()
			io.WriteString(w, "data: 2\n\n")
		},
		"trailer": func(w http.ResponseWriter, r *http.Request) {
			w.Header().Set("Trailer", "X-Sum")
			io.WriteString(w, "body")
			w.Header().Set("X-Sum", "42")
		},
		"odd-status": func(w http.ResponseWriter, r *http.Request) { w.WriteHeader(599) },
		"no-content-length": func(w http.ResponseWriter, r *http.Request) {
			w.Header().Set("Content-Length", "0")
			w.WriteHeader(http.StatusNoContent)
		},
		"not-modified": func(w http.ResponseWriter, r *http.Request) {
			w.Header().Set("Content-Type", "text/plain")
			w.Header().Set("Content-Length", "5")
			w.WriteHeader(http.StatusNotModified)
		},
		"blank-encoding": func(w http.ResponseWriter, r *http.Request) {
			w.Header()["Content-Encoding"] = []string{""}
			io.WriteString(w, "<html>sniffed</html>")
		},
		"crlf-value": func(w http.ResponseWriter, r *http.Request) {
			w.Header().Set("X-Evil", "a\r\nSet-Cookie: b")
		},
	}
	mux := http.NewServeMux()
	for name, h := range handlers {
		mux.Handle("/"+name, h)
	}
	lean, _ := start(t, mux, nil)
	std, _ := start(t, mux, func(string) bool { return false })
	for name := range handlers {
		for _, method := range []string{"GET", "HEAD"} {
			raw := method + " /" + name + " HTTP/1.1\r\nHost: x\r\n\r\n"
			a, b := exchange(t, lean, raw, 1)[0], exchange(t, std, raw, 1)[0]
			what := method + " /" + name
			if a.StatusCode != b.StatusCode || a.Status != b.Status {
				t.Errorf("%s: status %q, net/http %q", what, a.Status, b.Status)
			}
			if fmt.Sprint(a.TransferEncoding) != fmt.Sprint(b.TransferEncoding) || a.ContentLength != b.ContentLength {
				t.Errorf("%s: framing %v/%d, net/http %v/%d", what, a.TransferEncoding, a.ContentLength, b.TransferEncoding, b.ContentLength)
			}
			a.Header.Del("Date")
			b.Header.Del("Date")
			if fmt.Sprint(a.Header) != fmt.Sprint(b.Header) {
				t.Errorf("%s: headers\nlean     %v\nnet/http %v", what, a.Header, b.Header)
			}
			if fmt.Sprint(a.Trailer) != fmt.Sprint(b.Trailer) {
				t.Errorf("%s: trailers %v, net/http %v", what, a.Trailer, b.Trailer)
			}
			if x, y := body(a), body(b); x != y {
				t.Errorf("%s: body %q, net/http %q", what, x, y)
			}
		}
	}
}

// TestUnreadBodyIsDrained: a handler that ignores the body does not
// spoil the next request on the connection.
func TestUnreadBodyIsDrained(t *testing.T) {
	addr, _ := start(t, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { io.WriteString(w, r.URL.Path) }), nil)
	rs := exchange(t, addr, "POST /a HTTP/1.1\r\nHost: x\r\nContent-Length: 5\r\n\r\nhelloGET /b HTTP/1.1\r\nHost: x\r\n\r\n", 2)
	if body(rs[0]) != "/a" || body(rs[1]) != "/b" {
		t.Fatal("the unread body was taken for the next request")
	}
}

// TestCallerGoneCancels: a caller that hangs up during a long call
// cancels the request's context (the gateway then abandons the call).
func TestCallerGoneCancels(t *testing.T) {
	entered, cancelled := make(chan struct{}), make(chan struct{})
	addr, _ := start(t, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		close(entered)
		select {
		case <-r.Context().Done():
			close(cancelled)
		case <-time.After(5 * time.Second):
		}
	}), nil)
	c, err := net.Dial("tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	io.WriteString(c, "GET /slow HTTP/1.1\r\nHost: x\r\n\r\n")
	// Gone during the call: the watch, started WatchAfter into it, reads
	// the hang-up whether it came before or after.
	harness.WaitClosed(t, entered, "call at the handler")
	c.Close()
	select {
	case <-cancelled:
	case <-time.After(3 * time.Second):
		t.Fatal("the request's context was not cancelled when the caller went away")
	}
}

// TestSlowCallKeepsPipelinedRequest: the watcher's read-ahead byte of a
// pipelined request is given back to the parser.
func TestSlowCallKeepsPipelinedRequest(t *testing.T) {
	watching, release := make(chan struct{}), make(chan struct{})
	var once sync.Once
	testHookWatching = func() { once.Do(func() { close(watching) }) }
	t.Cleanup(func() { testHookWatching = nil }) // after the server's Shutdown
	addr, _ := start(t, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path == "/slow" {
			<-release
		}
		io.WriteString(w, r.Method+" "+r.URL.Path) // a lost byte would leave "ET /next"
	}), nil)
	c, err := net.Dial("tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	io.WriteString(c, "GET /slow HTTP/1.1\r\nHost: x\r\n\r\n")
	harness.WaitClosed(t, watching, "watch of the slow call")
	io.WriteString(c, "GET /next HTTP/1.1\r\nHost: x\r\n\r\n") // the watcher reads its first byte
	close(release)
	br := bufio.NewReader(c)
	for _, want := range []string{"GET /slow", "GET /next"} {
		resp, err := http.ReadResponse(br, nil)
		if err != nil {
			t.Fatal(err)
		}
		if got := body(resp); got != want {
			t.Fatalf("got %q, want %q", got, want)
		}
	}
}

// TestShutdownWaitsForCalls: Shutdown lets a call in progress finish,
// closes idle keep-alive connections and refuses new ones.
func TestShutdownWaitsForCalls(t *testing.T) {
	var finished atomic.Bool
	entered, release := make(chan struct{}), make(chan struct{})
	addr, s := start(t, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path == "/slow" {
			close(entered)
			<-release
			finished.Store(true)
		}
		io.WriteString(w, "ok")
	}), nil)
	idle, _ := net.Dial("tcp", addr)
	defer idle.Close()
	io.WriteString(idle, "GET /quick HTTP/1.1\r\nHost: x\r\n\r\n")
	ibr := bufio.NewReader(idle)
	if resp, err := http.ReadResponse(ibr, nil); err != nil || body(resp) != "ok" {
		t.Fatal(err)
	}
	busy, _ := net.Dial("tcp", addr)
	defer busy.Close()
	io.WriteString(busy, "GET /slow HTTP/1.1\r\nHost: x\r\n\r\n")
	harness.WaitClosed(t, entered, "/slow at its handler")
	done := make(chan error, 1)
	go func() { done <- s.Shutdown(context.Background()) }()
	// The idle connection closing is Shutdown under way.
	idle.SetReadDeadline(time.Now().Add(2 * time.Second))
	if _, err := ibr.ReadByte(); err == nil {
		t.Fatal("the idle connection was not closed by Shutdown")
	}
	select {
	case <-done:
		t.Fatal("Shutdown returned while a call was in progress")
	default:
	}
	close(release)
	resp, err := http.ReadResponse(bufio.NewReader(busy), nil)
	if err != nil || body(resp) != "ok" || !finished.Load() {
		t.Fatalf("the call in progress did not finish: %v", err)
	}
	if err := <-done; err != nil {
		t.Fatalf("Shutdown: %v", err)
	}
	if c, err := net.DialTimeout("tcp", addr, time.Second); err == nil {
		c.Close()
		t.Fatal("the listener still accepts after Shutdown")
	}
}

// TestAbortedResponseIsCutShort: a handler that aborts (as the gateway
// does when the replica's answer breaks off) leaves the caller a response
// it can tell is incomplete, and the connection closed.
func TestAbortedResponseIsCutShort(t *testing.T) {
	addr, _ := start(t, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "text/plain")
		w.Header().Set("Content-Length", "10")
		io.WriteString(w, "12345")
		panic(http.ErrAbortHandler)
	}), nil)
	c, err := net.Dial("tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	io.WriteString(c, "GET /x HTTP/1.1\r\nHost: x\r\n\r\n")
	resp, err := http.ReadResponse(bufio.NewReader(c), nil)
	if err != nil {
		t.Fatal(err)
	}
	if b, err := io.ReadAll(resp.Body); err == nil || string(b) != "12345" {
		t.Fatalf("body %q, err %v: want the 5 bytes sent and an unexpected EOF", b, err)
	}
}

// TestBodyReadAfterHandler: a body still being read on another goroutine
// when the handler returns (a proxy's writer) gets an error, not the next
// request's bytes.
func TestBodyReadAfterHandler(t *testing.T) {
	late := make(chan error, 1)
	addr, _ := start(t, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path == "/first" {
			go func() {
				time.Sleep(50 * time.Millisecond)
				_, err := r.Body.Read(make([]byte, 10))
				late <- err
			}()
		}
		io.WriteString(w, r.URL.Path)
	}), nil)
	rs := exchange(t, addr, "POST /first HTTP/1.1\r\nHost: x\r\nContent-Length: 3\r\n\r\nabc", 1)
	if body(rs[0]) != "/first" {
		t.Fatal(body(rs[0]))
	}
	if err := <-late; err != http.ErrBodyReadAfterClose {
		t.Fatalf("late read: %v, want ErrBodyReadAfterClose", err)
	}
}

// TestConnectionClose: a caller asking to close gets "Connection: close"
// and the connection is closed after the answer.
func TestConnectionClose(t *testing.T) {
	addr, _ := start(t, echo, nil)
	c, err := net.Dial("tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	c.SetDeadline(time.Now().Add(5 * time.Second))
	io.WriteString(c, "GET /a HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n")
	b, err := io.ReadAll(c) // ends only if the server closes
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(string(b), "\r\nConnection: close\r\n") || !strings.HasSuffix(string(b), "GET /a  te=[]") {
		t.Fatalf("answer %q", b)
	}
}

// TestSlowHeadIsCut: a caller trickling its request head (slowloris) is
// disconnected after ReadHeaderTimeout.
func TestSlowHeadIsCut(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	s := &Server{HTTP: &http.Server{Handler: echo, ReadHeaderTimeout: 300 * time.Millisecond}}
	go s.Serve(ln)
	defer s.Shutdown(context.Background())
	c, err := net.Dial("tcp", ln.Addr().String())
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	start := time.Now()
	io.WriteString(c, "GET /slow HTTP/1.1\r\n")
	for time.Since(start) < 3*time.Second {
		if _, err := io.WriteString(c, "X: y\r\n"); err != nil {
			break
		}
		c.SetReadDeadline(time.Now().Add(100 * time.Millisecond))
		if _, err := c.Read(make([]byte, 1)); err != nil && !errors.Is(err, os.ErrDeadlineExceeded) {
			break // closed by the server
		}
	}
	if d := time.Since(start); d > 2*time.Second {
		t.Fatalf("a trickled head kept the connection for %s (ReadHeaderTimeout 300ms)", d)
	}
}

// An empty Write in the middle of a chunked response writes no chunk: a
// zero-size chunk is the last one, and would end the body early (and the
// rest would be read as the next response), as net/http never does.
func TestEmptyWriteKeepsChunkedBody(t *testing.T) {
	part := strings.Repeat("a", chunkAfter+1)
	addr, _ := start(t, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		io.WriteString(w, part)
		w.Write(nil)
		io.WriteString(w, "tail")
	}), nil)
	rs := exchange(t, addr, "GET /x HTTP/1.1\r\nHost: a\r\n\r\nGET /y HTTP/1.1\r\nHost: a\r\n\r\n", 2)
	for i, resp := range rs {
		if got := body(resp); got != part+"tail" {
			t.Fatalf("response %d: body of %d bytes, want %d", i, len(got), len(part)+4)
		}
	}
}
