package queue

import (
	"context"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/nats-io/nats.go/jetstream"
)

func sum(m map[string]uint64) (n uint64) {
	for _, v := range m {
		n += v
	}
	return n
}

// callbacksQueued is how many callbacks went through the callback queue.
func callbacksQueued(t *testing.T, r *rig) uint64 {
	t.Helper()
	c, err := r.js.JS.Consumer(context.Background(), StreamWork, callbackConsumer)
	if err != nil {
		t.Fatal(err)
	}
	info, err := c.Info(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	return info.Delivered.Consumer
}

// TestDirectCallbackSkipsTheQueue: a receiver that answers at once gets
// the callback from the worker itself; nothing is written to the callback
// queue for it.
func TestDirectCallbackSkipsTheQueue(t *testing.T) {
	r := newRig(t, rigOptions{callbackDirect: 2 * time.Second, fn: func(w http.ResponseWriter, req *http.Request) {
		io.WriteString(w, "done")
	}})
	r.fns.add("openfaas-fn", "echo", nil, nil)
	cb := newCallbacks(t)
	post(t, "POST", r.async.URL+"/async-function/echo", nil, map[string]string{"X-Callback-Url": cb.srv.URL, "X-Call-Id": "direct-1"})
	c := cb.next(t, 10*time.Second)
	if c.body != "done" || c.header.Get("X-Call-Id") != "direct-1" || c.header.Get("X-Function-Status") != "200" {
		t.Fatalf("callback %q %v", c.body, c.header)
	}
	if n := callbacksQueued(t, r); n != 0 {
		t.Fatalf("%d callbacks went through the queue, want 0", n)
	}
}

// TestDirectCallbackFallsBackToTheQueue: a receiver that refuses the
// direct attempt (502) or is slower than the direct wait still gets the
// callback, from the queue, with its retries.
func TestDirectCallbackFallsBackToTheQueue(t *testing.T) {
	var tries [2]atomic.Int32
	got := make(chan string, 4)
	cb := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		id := r.Header.Get("X-Call-Id")
		first := tries[strings.TrimPrefix(id, "fb-")[0]-'1'].Add(1) == 1
		switch {
		case first && id == "fb-1":
			w.WriteHeader(http.StatusBadGateway)
			return
		case first && id == "fb-2":
			time.Sleep(700 * time.Millisecond) // over the direct wait
		}
		got <- id
	}))
	defer cb.Close()
	r := newRig(t, rigOptions{callbackDirect: 300 * time.Millisecond, fn: func(http.ResponseWriter, *http.Request) {}})
	r.fns.add("openfaas-fn", "echo", nil, nil)
	post(t, "POST", r.async.URL+"/async-function/echo", nil, map[string]string{"X-Callback-Url": cb.URL, "X-Call-Id": "fb-1"})
	post(t, "POST", r.async.URL+"/async-function/echo", nil, map[string]string{"X-Callback-Url": cb.URL, "X-Call-Id": "fb-2"})
	seen := map[string]bool{}
	deadline := time.After(20 * time.Second)
	for !seen["fb-1"] || !seen["fb-2"] {
		select {
		case id := <-got:
			seen[id] = true
		case <-deadline:
			t.Fatalf("callbacks delivered: %v after %d and %d tries", seen, tries[0].Load(), tries[1].Load())
		}
	}
	if n := callbacksQueued(t, r); n < 2 {
		t.Fatalf("%d callbacks went through the queue, want both", n)
	}
}

// TestInProcessInvoke: a worker given the gateway's handler calls it in
// process (the rig's HTTP gateway fails the test if it is called), with
// the same request and the same judgement of the answer.
func TestInProcessInvoke(t *testing.T) {
	r := newRig(t, rigOptions{inProcess: true, fn: func(w http.ResponseWriter, req *http.Request) {
		b, _ := io.ReadAll(req.Body)
		w.Header().Set("X-Fn", req.Method+" "+req.URL.Path+"?"+req.URL.RawQuery+" "+req.Header.Get("X-Custom")+" ["+req.RemoteAddr+"]")
		w.WriteHeader(201)
		w.Write(b)
	}})
	r.fns.add("openfaas-fn", "echo", nil, nil)
	cb := newCallbacks(t)
	post(t, http.MethodPut, r.async.URL+"/async-function/echo/sub?a=1", []byte("hello"),
		map[string]string{"X-Custom": "v", "X-Callback-Url": cb.srv.URL, "X-Call-Id": "local-1"})
	c := cb.next(t, 10*time.Second)
	if c.body != "hello" || c.header.Get("X-Function-Status") != "201" ||
		c.header.Get("X-Fn") != "PUT /function/echo.openfaas-fn/sub?a=1 v []" { // no peer: see invokeDirect
		t.Fatalf("callback %q status %q X-Fn %q", c.body, c.header.Get("X-Function-Status"), c.header.Get("X-Fn"))
	}
}

// TestDirectInvoke: a worker given a LocalGateway hands it the call's
// parts (no URL to route: its handler fails the test if used), and judges
// the answer the same way: a 429 is retried, then the answer is called
// back with the call's id.
func TestDirectInvoke(t *testing.T) {
	var runs atomic.Int32
	r := newRig(t, rigOptions{inProcess: true, direct: true, fn: func(w http.ResponseWriter, req *http.Request) {
		if runs.Add(1) == 1 {
			w.WriteHeader(http.StatusTooManyRequests)
			return
		}
		b, _ := io.ReadAll(req.Body)
		w.Header().Set("X-Fn", req.Method+" "+req.URL.Path+"?"+req.URL.RawQuery+" "+req.Header.Get("X-Custom")+" "+
			req.Header.Get("X-Call-Id")+" "+req.Host+" "+req.Header.Get("X-Forwarded-Host"))
		if req.Header.Get("X-Queue-Worker") == "" {
			w.Header().Set("X-Fn", "no X-Queue-Worker")
		}
		w.WriteHeader(201)
		w.Write(b)
	}})
	r.fns.add("openfaas-fn", "echo", nil, nil)
	cb := newCallbacks(t)
	post(t, http.MethodPut, r.async.URL+"/async-function/echo/sub%2Fx?a=1", []byte("hello"),
		map[string]string{"X-Custom": "v", "X-Callback-Url": cb.srv.URL, "X-Call-Id": "direct-1"})
	c := cb.next(t, 20*time.Second)
	host := strings.TrimPrefix(r.gateway.URL, "http://")
	want := "PUT /function/echo.openfaas-fn/sub%2Fx?a=1 v direct-1 " + host + " " + strings.TrimPrefix(r.async.URL, "http://")
	if c.body != "hello" || c.header.Get("X-Function-Status") != "201" || c.header.Get("X-Retry") != "1" || c.header.Get("X-Fn") != want {
		t.Fatalf("callback %q status %q retry %q X-Fn %q, want %q", c.body, c.header.Get("X-Function-Status"),
			c.header.Get("X-Retry"), c.header.Get("X-Fn"), want)
	}
}

// TestInProcessBrokenOffResponse: the gateway aborting a response cut
// short upstream is a 500 with what was written, as over HTTP.
func TestInProcessBrokenOffResponse(t *testing.T) {
	r := newRig(t, rigOptions{inProcess: true, maxAttempts: 1, fn: func(w http.ResponseWriter, req *http.Request) {
		io.WriteString(w, "out")
		panic(http.ErrAbortHandler)
	}})
	r.fns.add("openfaas-fn", "broke", nil, nil)
	cb := newCallbacks(t)
	post(t, "POST", r.async.URL+"/async-function/broke", nil, map[string]string{"X-Callback-Url": cb.srv.URL})
	c := cb.next(t, 10*time.Second)
	if c.header.Get("X-Function-Status") != "500" || !strings.HasPrefix(c.body, "out\n[the function's response broke off") {
		t.Fatalf("callback status %q body %q", c.header.Get("X-Function-Status"), c.body)
	}
}

// TestDirectCallbackCutByShutdown: when the shutdown's grace ends during
// a direct callback, the call is handed back (it stays in the queue, to
// run again with its callback), not acked with the callback lost.
func TestDirectCallbackCutByShutdown(t *testing.T) {
	hit, release := make(chan struct{}, 1), make(chan struct{})
	cb := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		hit <- struct{}{}
		<-release
	}))
	defer cb.Close()
	defer close(release)
	r := newRig(t, rigOptions{callbackDirect: time.Minute, fn: func(http.ResponseWriter, *http.Request) {}})
	r.fns.add("openfaas-fn", "echo", nil, nil)
	post(t, "POST", r.async.URL+"/async-function/echo", nil, map[string]string{"X-Callback-Url": cb.URL, "X-Call-Id": "cut-1"})
	select {
	case <-hit:
	case <-time.After(10 * time.Second):
		t.Fatal("the callback was not attempted")
	}
	ctx, cancel := context.WithTimeout(context.Background(), 200*time.Millisecond)
	defer cancel()
	_ = r.worker.Stop(ctx)
	// Whatever the worker sent (an ack or a nak) has been taken in and
	// applied once a round trip is done and JetStream had a moment.
	if err := r.js.NC.Flush(); err != nil {
		t.Fatal(err)
	}
	time.Sleep(500 * time.Millisecond)
	s, err := r.js.JS.Stream(context.Background(), StreamWork)
	if err != nil {
		t.Fatal(err)
	}
	info, err := s.Info(context.Background(), jetstream.WithSubjectFilter(subjWorkPrefix+">"))
	if err != nil {
		t.Fatal(err)
	}
	if n := sum(info.State.Subjects); n != 1 {
		t.Fatalf("the queue holds %d calls after the cut callback, want the call (1)", n)
	}
}
