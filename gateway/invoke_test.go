package gateway

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/ferryfaas/ferry/api"
	"github.com/ferryfaas/ferry/provider/providertest"
)

const ns = api.DefaultNamespace

func TestInvokePassesRequestThrough(t *testing.T) {
	type seen struct {
		method, uri, body string
		h                 http.Header
	}
	got := make(chan seen, 4)
	addr := upstream(t, func(w http.ResponseWriter, r *http.Request) {
		b, _ := io.ReadAll(r.Body)
		got <- seen{r.Method, r.RequestURI, string(b), r.Header.Clone()}
		w.Header().Set("X-Fn", "yes")
		w.WriteHeader(201)
		w.Write([]byte("reply:" + string(b)))
	})
	fp := providertest.New()
	fp.Add(ns, "echo", 1, addr)
	fp.Add("team-a", "echo", 1, addr)
	obs := &recordingObserver{}
	_, srv := newTestGateway(t, fp, func(c *Config) { c.Observer = obs })

	r := call(t, "PUT", srv.URL+"/function/echo/a/b%2Fc?x=1&y=%20z", "hello", false, "X-Custom", "v1")
	expect(t, r, 201, "reply:hello")
	s := <-got
	if s.method != "PUT" || s.uri != "/a/b%2Fc?x=1&y=%20z" || s.body != "hello" || s.h.Get("X-Custom") != "v1" {
		t.Fatalf("upstream saw %+v", s)
	}
	id := s.h.Get("X-Call-Id")
	if len(id) != 36 || r.header.Get("X-Call-Id") != id || r.header.Get("X-Fn") != "yes" {
		t.Fatalf("call id upstream %q, response %q", id, r.header.Get("X-Call-Id"))
	}
	if st := s.h.Get("X-Start-Time"); len(st) < 18 {
		t.Fatalf("X-Start-Time %q", st)
	}
	if s.h.Get("X-Forwarded-For") != "127.0.0.1" || !strings.HasPrefix(s.h.Get("X-Forwarded-Host"), "127.0.0.1:") {
		t.Fatalf("forwarded headers %q %q", s.h.Get("X-Forwarded-For"), s.h.Get("X-Forwarded-Host"))
	}
	if r.header.Get("X-OpenFaaS-Internal") != "" {
		t.Fatal("a function's answer must not be marked as a platform error")
	}

	// The caller's X-Call-Id is kept, its X-Forwarded-For too with the
	// peer appended; ".ns" selects
	// the namespace; no path gives "/".
	r = call(t, "GET", srv.URL+"/function/echo.team-a", "", false, "X-Call-Id", "chain-1", "X-Forwarded-For", "10.0.0.1")
	expect(t, r, 201, "reply:")
	s = <-got
	if s.uri != "/" || s.h.Get("X-Call-Id") != "chain-1" || r.header.Get("X-Call-Id") != "chain-1" || s.h.Get("X-Forwarded-For") != "10.0.0.1, 127.0.0.1" {
		t.Fatalf("upstream saw %+v", s)
	}

	obs.mu.Lock()
	defer obs.mu.Unlock()
	if fmt.Sprint(obs.started) != "[echo.openfaas-fn echo.team-a]" || fmt.Sprint(obs.codes) != "[201 201]" {
		t.Fatalf("observer started %v finished %v codes %v", obs.started, obs.finished, obs.codes)
	}
}

func TestLeastInFlight(t *testing.T) {
	release := make(chan struct{})
	var releaseOnce sync.Once
	free := func() { releaseOnce.Do(func() { close(release) }) }
	defer free() // never leave upstream handlers blocked (server Close waits on them)
	arrived := make(chan string, 16)
	hold := func(name string) http.HandlerFunc {
		return func(w http.ResponseWriter, r *http.Request) {
			arrived <- name
			<-release
			w.Write([]byte(name))
		}
	}
	a, b := upstream(t, hold("a")), upstream(t, hold("b"))
	fp := providertest.New()
	fp.Add(ns, "slow", 2, a, b)
	_, srv := newTestGateway(t, fp, nil)

	// Send one at a time, each waiting for the previous to arrive, so
	// the counts are exact: in-flight calls must alternate.
	var wg sync.WaitGroup
	count := map[string]int{}
	for i := 0; i < 6; i++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			call(t, "GET", srv.URL+"/function/slow", "", false)
		}()
		count[wait(t, arrived, "a call to arrive")]++
	}
	free()
	wg.Wait()
	if count["a"] != 3 || count["b"] != 3 {
		t.Fatalf("in-flight spread %v, want 3 and 3", count)
	}

	// Idle endpoints tie; the random tie-break must use both.
	for i := 0; i < 60; i++ {
		call(t, "GET", srv.URL+"/function/slow", "", false)
		count[wait(t, arrived, "a call to arrive")]++
	}
	if count["a"] < 10 || count["b"] < 10 {
		t.Fatalf("ties not spread: %v", count)
	}
}

func TestRetryOnConnectionRefused(t *testing.T) {
	var got atomic.Int64
	good := upstream(t, func(w http.ResponseWriter, r *http.Request) {
		b, _ := io.ReadAll(r.Body)
		got.Add(int64(len(b)))
		w.Write(b)
	})
	fp := providertest.New()
	fp.Add(ns, "f", 2, closedAddr(t), good)
	_, srv := newTestGateway(t, fp, nil)
	for i := 0; i < 20; i++ {
		expect(t, call(t, "POST", srv.URL+"/function/f", "payload", false), 200, "payload")
	}
	// A streamed (chunked, unknown length) body is also resent when the
	// connection was refused: nothing of it was read.
	for i := 0; i < 10; i++ {
		pr, pw := io.Pipe()
		go func() { pw.Write([]byte(strings.Repeat("s", 100<<10))); pw.Close() }()
		resp, err := http.Post(srv.URL+"/function/f", "text/plain", pr)
		if err != nil {
			t.Fatal(err)
		}
		b, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		if resp.StatusCode != 200 || len(b) != 100<<10 {
			t.Fatalf("streamed call %d: %d, %d bytes", i, resp.StatusCode, len(b))
		}
	}
}

func TestRetryWhenReplicaDiesBeforeAnswering(t *testing.T) {
	// A replica that accepts the request and drops the connection, as one
	// killed with SIGKILL mid-call does; the provider drops it from the
	// route as it dies.
	fp := providertest.New()
	var good string
	dying := upstream(t, func(w http.ResponseWriter, r *http.Request) {
		fp.SetEndpoints(ns, "f", good)
		conn, _, err := http.NewResponseController(w).Hijack()
		if err == nil {
			conn.Close()
		}
	})
	good = upstream(t, func(w http.ResponseWriter, r *http.Request) { io.Copy(w, r.Body) })
	_, srv := newTestGateway(t, fp, nil)
	for i := 0; i < 20; i++ {
		fp.Add(ns, "f", 2, dying, good)
		expect(t, call(t, "POST", srv.URL+"/function/f", "body", false), 200, "body")
	}
}

// TestNoTwinForACallALiveReplicaDropped: a replica that ran the call and
// then closed the connection without answering is still there: the call
// is not sent to another replica (it would run twice) but answered 502.
func TestNoTwinForACallALiveReplicaDropped(t *testing.T) {
	var runs atomic.Int64
	dropper := upstream(t, func(w http.ResponseWriter, r *http.Request) {
		runs.Add(1)
		time.Sleep(100 * time.Millisecond) // the function runs, then the connection is lost
		conn, _, err := http.NewResponseController(w).Hijack()
		if err == nil {
			conn.Close()
		}
	})
	fp := providertest.New()
	fp.Add(ns, "f", 2, dropper, upstream(t, func(w http.ResponseWriter, r *http.Request) {
		runs.Add(1)
		io.Copy(w, r.Body)
	}))
	_, srv := newTestGateway(t, fp, nil, func(g *Gateway) { g.goneWait = 50 * time.Millisecond })
	failed := 0
	for i := 0; i < 10; i++ {
		r := call(t, "POST", srv.URL+"/function/f", "body", false)
		switch {
		case r.code == 502 && r.header.Get("X-OpenFaaS-Internal") == "gateway":
			failed++
		case r.code != 200:
			t.Fatalf("call %d: %d %q", i, r.code, r.body)
		}
	}
	if n := runs.Load(); n != 10 || failed == 0 {
		t.Fatalf("10 calls ran %d times (%d answered 502): a call a live replica dropped went to the other", n, failed)
	}
}

func TestRetryWhenWatchdogLostItsFunction(t *testing.T) {
	// A watchdog whose function died under the call answers its own 502,
	// marked as a platform error: the call goes to another replica. A
	// function's own 502 (no mark) is the function's answer and is kept.
	lost := upstream(t, func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("X-OpenFaaS-Internal", "watchdog")
		http.Error(w, "function unreachable: EOF", http.StatusBadGateway)
	})
	good := upstream(t, func(w http.ResponseWriter, r *http.Request) { io.Copy(w, r.Body) })
	fp := providertest.New()
	fp.Add(ns, "f", 2, lost, good)
	_, srv := newTestGateway(t, fp, nil)
	for i := 0; i < 20; i++ {
		expect(t, call(t, "POST", srv.URL+"/function/f", "body", false), 200, "body")
	}
	own := upstream(t, func(w http.ResponseWriter, r *http.Request) { http.Error(w, "my own 502", http.StatusBadGateway) })
	fp.Add(ns, "g", 2, own, good)
	got := map[int]int{}
	for i := 0; i < 20; i++ {
		got[call(t, "POST", srv.URL+"/function/g", "body", false).code]++
	}
	if got[502] == 0 {
		t.Fatalf("a function's own 502 was retried away: %v", got)
	}
}

func TestAllReplicasFailing502(t *testing.T) {
	fp := providertest.New()
	fp.Add(ns, "f", 1, closedAddr(t))
	_, srv := newTestGateway(t, fp, nil, func(g *Gateway) { g.retryWait = 50 * time.Millisecond })
	r := call(t, "GET", srv.URL+"/function/f", "", false)
	expect(t, r, 502, "failed")
	if r.header.Get("X-OpenFaaS-Internal") != "gateway" {
		t.Fatalf("platform error without X-OpenFaaS-Internal: %v", r.header)
	}
}

func TestRetryWaitsForReplacementReplica(t *testing.T) {
	// The only replica is dead; the provider replaces it while the call
	// waits (what a restart after kill -9 looks like).
	fp := providertest.New()
	fp.Routed = make(chan struct{}, 8)
	fp.Add(ns, "f", 1, closedAddr(t))
	good := upstream(t, func(w http.ResponseWriter, r *http.Request) { w.Write([]byte("new replica")) })
	_, srv := newTestGateway(t, fp, nil)
	done := make(chan result, 1)
	go func() { done <- call(t, "GET", srv.URL+"/function/f", "", false) }()
	wait(t, fp.Routed, "the first Route (the dead replica is picked)")
	wait(t, fp.Routed, "a second Route, after the refused attempt")
	fp.SetEndpoints(ns, "f", good)
	expect(t, wait(t, done, "the call"), 200, "new replica")
}

func TestStreamingIsNotBuffered(t *testing.T) {
	next := make(chan struct{})
	addr := upstream(t, func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "text/event-stream")
		for i := 1; i <= 3; i++ {
			fmt.Fprintf(w, "data: %d\n\n", i)
			w.(http.Flusher).Flush()
			select {
			case <-next:
			case <-r.Context().Done():
				return
			}
		}
	})
	fp := providertest.New()
	fp.Add(ns, "sse", 1, addr)
	_, srv := newTestGateway(t, fp, nil)
	req, _ := http.NewRequest("GET", srv.URL+"/function/sse", nil)
	req.Header.Set("Accept", "text/event-stream")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	rd := bufio.NewReader(resp.Body)
	for i := 1; i <= 3; i++ {
		// Each event must arrive while the handler is still blocked.
		line, err := rd.ReadString('\n')
		if err != nil || line != fmt.Sprintf("data: %d\n", i) {
			t.Fatalf("event %d: %q %v", i, line, err)
		}
		rd.ReadString('\n')
		select {
		case next <- struct{}{}:
		case <-time.After(10 * time.Second):
			t.Fatal("upstream stopped")
		}
	}
}

func TestChunkedResponseStreams(t *testing.T) {
	next := make(chan struct{})
	var nextOnce sync.Once
	free := func() { nextOnce.Do(func() { close(next) }) }
	defer free()
	addr := upstream(t, func(w http.ResponseWriter, r *http.Request) {
		w.Write([]byte("first\n"))
		w.(http.Flusher).Flush() // no Content-Length: chunked
		<-next
		w.Write([]byte("second\n"))
	})
	fp := providertest.New()
	fp.Add(ns, "chunky", 1, addr)
	_, srv := newTestGateway(t, fp, nil)
	resp, err := http.Get(srv.URL + "/function/chunky")
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	rd := bufio.NewReader(resp.Body)
	if l, err := rd.ReadString('\n'); l != "first\n" || err != nil {
		t.Fatalf("first chunk %q %v", l, err)
	}
	free()
	if l, _ := rd.ReadString('\n'); l != "second\n" {
		t.Fatalf("second chunk %q", l)
	}
}

func TestTimeout504(t *testing.T) {
	addr := upstream(t, func(w http.ResponseWriter, r *http.Request) { <-r.Context().Done() })
	fp := providertest.New()
	fp.Add(ns, "slow", 1, addr)
	fp.Edit(ns, "slow", func(fn *providertest.Function) { fn.Timeout = 100 * time.Millisecond })
	_, srv := newTestGateway(t, fp, nil)
	r := call(t, "GET", srv.URL+"/function/slow", "", false)
	expect(t, r, 504, "did not answer within 100ms")
	if r.header.Get("X-OpenFaaS-Internal") != "gateway" {
		t.Fatal("504 must carry X-OpenFaaS-Internal")
	}
	// The gateway default applies without a per-function timeout.
	fp.Edit(ns, "slow", func(fn *providertest.Function) { fn.Timeout = 0 })
	_, srv2 := newTestGateway(t, fp, func(c *Config) { c.DefaultTimeout = 80 * time.Millisecond })
	expect(t, call(t, "GET", srv2.URL+"/function/slow", "", false), 504, "80ms")
}

func TestWaitsForStartingReplica(t *testing.T) {
	fp := providertest.New()
	fp.Routed = make(chan struct{}, 1)
	fp.Add(ns, "cold", 1) // desired 1, none ready yet
	addr := upstream(t, func(w http.ResponseWriter, r *http.Request) { w.Write([]byte("warm")) })
	_, srv := newTestGateway(t, fp, nil)
	done := make(chan result, 1)
	go func() { done <- call(t, "GET", srv.URL+"/function/cold", "", false) }()
	wait(t, fp.Routed, "Route")
	fp.SetEndpoints(ns, "cold", addr)
	expect(t, wait(t, done, "the call"), 200, "warm")

	// No replica within the timeout: 503.
	fp.Add(ns, "never", 1)
	_, srv2 := newTestGateway(t, fp, func(c *Config) { c.DefaultTimeout = 50 * time.Millisecond })
	expect(t, call(t, "GET", srv2.URL+"/function/never", "", false), 503, "no ready replica")
}

func TestScaledToZero(t *testing.T) {
	fp := providertest.New()
	fp.Add(ns, "idle", 0)
	fp.Add(ns, "broken", 1)
	fp.Edit(ns, "broken", func(fn *providertest.Function) { fn.Failure = "image not found" })
	_, srv := newTestGateway(t, fp, nil)
	expect(t, call(t, "GET", srv.URL+"/function/idle", "", false), 503, "scaled to zero")
	expect(t, call(t, "GET", srv.URL+"/function/broken", "", false), 503, "image not found")

	// With a Waker: the gateway wakes, then waits on Changed.
	addr := upstream(t, func(w http.ResponseWriter, r *http.Request) { w.Write([]byte("awake")) })
	waker := &funcWaker{f: func(ns, name string) error {
		fp.Edit(ns, name, func(fn *providertest.Function) { fn.Replicas = 1 })
		go fp.SetEndpoints(ns, name, addr) // ready a little later
		return nil
	}}
	obs := &recordingObserver{}
	_, srv2 := newTestGateway(t, fp, func(c *Config) { c.Waker, c.Observer = waker, obs })
	expect(t, call(t, "GET", srv2.URL+"/function/idle", "", false), 200, "awake")
	if n := waker.calls.Load(); n != 1 {
		t.Fatalf("Wake called %d times", n)
	}
	// The call that woke it reports its cold start; a warm one does not.
	expect(t, call(t, "GET", srv2.URL+"/function/idle", "", false), 200, "awake")
	obs.mu.Lock()
	if len(obs.cold) != 1 || obs.cold[0] <= 0 {
		t.Errorf("cold starts observed: %v, want one", obs.cold)
	}
	obs.mu.Unlock()
	// A Waker that cannot start the function: its error is the answer.
	fp.Add(ns, "nostart", 0)
	_, srv3 := newTestGateway(t, fp, func(c *Config) {
		c.Waker = &funcWaker{f: func(string, string) error {
			return api.Errorf(503, "function nostart cannot start: out of memory")
		}}
	})
	expect(t, call(t, "GET", srv3.URL+"/function/nostart", "", false), 503, "out of memory")
}

func TestInvokeBodyLimit(t *testing.T) {
	addr := upstream(t, func(w http.ResponseWriter, r *http.Request) { io.Copy(io.Discard, r.Body) })
	fp := providertest.New()
	fp.Add(ns, "f", 1, addr)
	_, srv := newTestGateway(t, fp, func(c *Config) { c.MaxInvokeBodyBytes = 1000 })
	expect(t, call(t, "POST", srv.URL+"/function/f", strings.Repeat("x", 1001), false), 413, "larger than")
	expect(t, call(t, "POST", srv.URL+"/function/f", strings.Repeat("x", 1000), false), 200, "")
	pr, pw := io.Pipe()
	go func() { pw.Write(make([]byte, 5000)); pw.Close() }()
	resp, err := http.Post(srv.URL+"/function/f", "", pr)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != 413 {
		t.Fatalf("chunked body over the limit: %d", resp.StatusCode)
	}
}

func TestLogs(t *testing.T) {
	fp := providertest.New()
	fp.Add(ns, "echo", 1)
	ts := time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)
	fp.Edit(ns, "echo", func(fn *providertest.Function) {
		fn.Logs = []api.LogMessage{
			{Name: "echo", Namespace: ns, Instance: "1", Timestamp: ts, Text: "one"},
			{Name: "echo", Namespace: ns, Instance: "1", Timestamp: ts, Text: "two"},
		}
	})
	_, srv := newTestGateway(t, fp, nil)
	r := call(t, "GET", srv.URL+"/system/logs?name=echo&tail=5&since=2026-01-01T00:00:00Z&instance=1", "", true)
	expect(t, r, 200, `"text":"one"`)
	if lines := strings.Split(strings.TrimSpace(r.body), "\n"); len(lines) != 2 || r.header.Get("Content-Type") != "application/x-ndjson" {
		t.Fatalf("ndjson %q (%s)", r.body, r.header.Get("Content-Type"))
	}
	lr := fp.LastLogRequest()
	if lr.Tail != 5 || lr.Instance != "1" || lr.Since == nil || lr.Namespace != ns || lr.Follow {
		t.Fatalf("provider got %+v", lr)
	}

	// follow: each line reaches the client while the stream stays open.
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	req, _ := http.NewRequestWithContext(ctx, "GET", srv.URL+"/system/logs?name=echo&follow=true&tail=0", nil)
	req.SetBasicAuth(testUser, testPass)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	rd := bufio.NewReader(resp.Body)
	for i := 0; i < 3; i++ {
		// One line at a time: each must reach the client before the next
		// is printed (the provider drops lines for a follower that lags).
		fp.Log(ns, "echo", fmt.Sprint("line", i))
		l, err := rd.ReadString('\n')
		if err != nil || !strings.Contains(l, fmt.Sprint("line", i)) {
			t.Fatalf("followed line %d: %q %v", i, l, err)
		}
	}
}

func TestClientGoneIsNotAnError(t *testing.T) {
	arrived := make(chan struct{})
	addr := upstream(t, func(w http.ResponseWriter, r *http.Request) {
		close(arrived)
		<-r.Context().Done()
	})
	fp := providertest.New()
	fp.Add(ns, "f", 1, addr)
	obs := &recordingObserver{done: make(chan int, 1)}
	_, srv := newTestGateway(t, fp, func(c *Config) { c.Observer = obs })
	ctx, cancel := context.WithCancel(context.Background())
	req, _ := http.NewRequestWithContext(ctx, "GET", srv.URL+"/function/f", nil)
	go func() { <-arrived; cancel() }()
	_, err := http.DefaultClient.Do(req)
	if !errors.Is(err, context.Canceled) {
		t.Fatalf("err %v", err)
	}
	select {
	case code := <-obs.done:
		if code != statusClientClosed {
			t.Fatalf("code %d, want %d", code, statusClientClosed)
		}
	case <-time.After(5 * time.Second):
		t.Fatal("Observer.Finished never called")
	}
}

func TestConcurrentColdCallsAllWait(t *testing.T) {
	fp := providertest.New()
	fp.Add(ns, "idle", 0)
	addr := upstream(t, func(w http.ResponseWriter, r *http.Request) { w.Write([]byte("awake")) })
	var once sync.Once
	start := make(chan struct{})
	const n = 8
	called := make(chan struct{}, n)
	waker := &funcWaker{f: func(ns, name string) error {
		called <- struct{}{}
		// A real Waker shares one start between callers; here the start
		// completes when the test says so, after every caller is waiting.
		once.Do(func() {
			go func() {
				<-start
				fp.Edit(ns, name, func(fn *providertest.Function) { fn.Replicas = 1 })
				fp.SetEndpoints(ns, name, addr)
			}()
		})
		return nil
	}}
	_, srv := newTestGateway(t, fp, func(c *Config) { c.Waker = waker })
	results := make(chan result, n)
	for i := 0; i < n; i++ {
		go func() { results <- call(t, "GET", srv.URL+"/function/idle", "", false) }()
	}
	for i := 0; i < n; i++ {
		wait(t, called, "a Wake call") // every caller reaches Wake before the start completes
	}
	close(start)
	for i := 0; i < n; i++ {
		expect(t, wait(t, results, "a cold call"), 200, "awake")
	}
}

func TestUnknownFunctionIsNotObserved(t *testing.T) {
	obs := &recordingObserver{}
	_, srv := newTestGateway(t, providertest.New(), func(c *Config) { c.Observer = obs })
	expect(t, call(t, "GET", srv.URL+"/function/ghost", "", false), 404, "not found")
	expect(t, call(t, "GET", srv.URL+"/function/Bad", "", false), 400, "invalid")
	obs.mu.Lock()
	defer obs.mu.Unlock()
	if len(obs.started)+len(obs.finished) != 0 {
		t.Fatalf("observer saw %v %v: unknown names would grow metric labels without bound", obs.started, obs.finished)
	}
}

// Connection-level headers stop at the gateway both ways (RFC 9110
// 7.6.1), also those the Connection header names; the rest pass.
func TestHopHeadersStop(t *testing.T) {
	seen := make(chan http.Header, 1)
	addr := upstream(t, func(w http.ResponseWriter, r *http.Request) {
		seen <- r.Header.Clone()
		w.Header().Set("Connection", "X-Resp-Drop")
		w.Header().Set("X-Resp-Drop", "1")
		w.Header().Set("Keep-Alive", "timeout=5")
		w.Header().Set("Proxy-Authenticate", "Basic")
		w.Header().Set("X-Resp-Keep", "1")
		w.Write([]byte("ok"))
	})
	fp := providertest.New()
	fp.Add(ns, "f", 1, addr)
	_, srv := newTestGateway(t, fp, nil)
	conn, err := net.Dial("tcp", strings.TrimPrefix(srv.URL, "http://"))
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	conn.SetDeadline(time.Now().Add(10 * time.Second))
	io.WriteString(conn, "GET /function/f HTTP/1.1\r\nHost: x\r\nConnection: keep-alive, X-Drop\r\n"+
		"Keep-Alive: timeout=5\r\nProxy-Authorization: Basic c2VjcmV0\r\nTe: trailers\r\nX-Drop: 1\r\nX-Keep: 1\r\n\r\n")
	resp, err := http.ReadResponse(bufio.NewReader(conn), nil)
	if err != nil {
		t.Fatal(err)
	}
	if b, _ := io.ReadAll(resp.Body); resp.StatusCode != 200 || string(b) != "ok" {
		t.Fatalf("%d %q", resp.StatusCode, b)
	}
	up := <-seen
	for _, k := range []string{"Connection", "Keep-Alive", "Proxy-Authorization", "Te", "X-Drop"} {
		if v, ok := up[k]; ok {
			t.Errorf("upstream got %s: %q", k, v)
		}
	}
	if up.Get("X-Keep") != "1" {
		t.Errorf("upstream lost X-Keep: %v", up)
	}
	for _, k := range []string{"X-Resp-Drop", "Keep-Alive", "Proxy-Authenticate"} {
		if v, ok := resp.Header[k]; ok {
			t.Errorf("caller got %s: %q", k, v)
		}
	}
	if resp.Header.Get("X-Resp-Keep") != "1" {
		t.Errorf("caller lost X-Resp-Keep: %v", resp.Header)
	}
}

// TestMalformedChunkedBodyIs400: a caller's broken chunked body is the
// caller's fault: 400 naming the body, no replica blamed (it was a 502
// "replica failed", and a warning per request in the log).
func TestMalformedChunkedBodyIs400(t *testing.T) {
	echo := upstream(t, func(w http.ResponseWriter, r *http.Request) { io.Copy(w, r.Body) })
	fp := providertest.New()
	fp.Add(ns, "f", 1, echo)
	_, srv := newTestGateway(t, fp, nil)
	for _, body := range []string{"5\nhello\n0\n\n", "ffffffffffffffff1\r\nx\r\n0\r\n\r\n"} {
		c, err := net.Dial("tcp", strings.TrimPrefix(srv.URL, "http://"))
		if err != nil {
			t.Fatal(err)
		}
		c.SetDeadline(time.Now().Add(10 * time.Second))
		io.WriteString(c, "POST /function/f HTTP/1.1\r\nHost: gw\r\nTransfer-Encoding: chunked\r\n\r\n"+body)
		resp, err := http.ReadResponse(bufio.NewReader(c), nil)
		if err != nil {
			t.Fatalf("%q: %v", body, err)
		}
		b, _ := io.ReadAll(resp.Body)
		c.Close()
		if resp.StatusCode != 400 || strings.Contains(string(b), "replica") {
			t.Errorf("body %q: %d %q, want 400 about the request body", body, resp.StatusCode, b)
		}
	}
}
