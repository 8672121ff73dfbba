package queue

import (
	"bytes"
	"fmt"
	"io"
	"maps"
	"net"
	"net/http"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"
)

func post(t *testing.T, method, url string, body []byte, h map[string]string) *http.Response {
	t.Helper()
	req, err := http.NewRequest(method, url, bytes.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	for k, v := range h {
		req.Header.Set(k, v)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	io.Copy(io.Discard, resp.Body)
	resp.Body.Close()
	return resp
}

func TestEnqueueInvokeCallback(t *testing.T) {
	type seen struct{ method, path, query, body, hdr, callID string }
	got := make(chan seen, 1)
	r := newRig(t, rigOptions{fn: func(w http.ResponseWriter, req *http.Request) {
		b, _ := io.ReadAll(req.Body)
		if xff := req.Header.Get("X-Forwarded-For"); !strings.HasPrefix(xff, "127.0.0.1") {
			t.Errorf("X-Forwarded-For %q does not name the original client", xff)
		}
		got <- seen{req.Method, req.URL.Path, req.URL.RawQuery, string(b), req.Header.Get("X-Custom"), req.Header.Get("X-Call-Id")}
		w.Header().Set("X-Fn", "yes")
		w.WriteHeader(201)
		io.WriteString(w, "result")
	}})
	r.fns.add("openfaas-fn", "echo", nil, nil)
	cb := newCallbacks(t)
	resp := post(t, http.MethodPut, r.async.URL+"/async-function/echo/sub/path?a=1&b=2", []byte("hello"),
		map[string]string{"X-Custom": "v", "X-Callback-Url": cb.srv.URL + "/cb", "X-Call-Id": "my-id"})
	if resp.StatusCode != http.StatusAccepted || resp.Header.Get("X-Call-Id") != "my-id" {
		t.Fatalf("enqueue: %d %q", resp.StatusCode, resp.Header.Get("X-Call-Id"))
	}
	s := <-got
	want := seen{"PUT", "/function/echo.openfaas-fn/sub/path", "a=1&b=2", "hello", "v", "my-id"}
	if s != want {
		t.Fatalf("function saw %+v, want %+v", s, want)
	}
	c := cb.next(t, 10*time.Second)
	for k, v := range map[string]string{"X-Call-Id": "my-id", "X-Function-Name": "echo.openfaas-fn",
		"X-Function-Status": "201", "X-Retry": "0", "X-Fn": "yes"} {
		if c.header.Get(k) != v {
			t.Errorf("callback header %s = %q, want %q", k, c.header.Get(k), v)
		}
	}
	if c.body != "result" || c.header.Get("X-Duration-Seconds") == "" {
		t.Errorf("callback body %q duration %q", c.body, c.header.Get("X-Duration-Seconds"))
	}
}

func TestEnqueueRefusals(t *testing.T) {
	r := newRig(t, rigOptions{maxBody: 1000, allow: []string{"127.0.0.0/8,hooks.example.com"}, noWorker: true,
		fn: func(w http.ResponseWriter, _ *http.Request) {}})
	r.fns.add("openfaas-fn", "echo", nil, nil)
	cases := []struct {
		name, path string
		body       []byte
		hdr        map[string]string
		want       int
	}{
		{"unknown function", "/async-function/nope", nil, nil, 404},
		{"bad name", "/async-function/Bad_Name", nil, nil, 400},
		{"too large", "/async-function/echo", make([]byte, 1001), nil, 413},
		{"malformed callback", "/async-function/echo", nil, map[string]string{"X-Callback-Url": "::nope"}, 400},
		{"ftp callback", "/async-function/echo", nil, map[string]string{"X-Callback-Url": "ftp://127.0.0.1/x"}, 400},
		{"callback outside allow-list", "/async-function/echo", nil, map[string]string{"X-Callback-Url": "http://10.1.2.3/x"}, 400},
		{"allowed by CIDR", "/async-function/echo", nil, map[string]string{"X-Callback-Url": "http://127.0.0.9:9/x"}, 202},
		{"allowed by host", "/async-function/echo.openfaas-fn", make([]byte, 1000), map[string]string{"X-Callback-Url": "https://hooks.example.com/x"}, 202},
	}
	for _, c := range cases {
		if resp := post(t, "POST", r.async.URL+c.path, c.body, c.hdr); resp.StatusCode != c.want {
			t.Errorf("%s: got %d, want %d", c.name, resp.StatusCode, c.want)
		}
	}
}

func TestLargeBodyTravelsThroughObjectStore(t *testing.T) {
	got := make(chan []byte, 1)
	r := newRig(t, rigOptions{maxBody: 8 << 20, fn: func(w http.ResponseWriter, req *http.Request) {
		b, _ := io.ReadAll(req.Body)
		got <- b
	}})
	r.fns.add("openfaas-fn", "big", nil, nil)
	body := bytes.Repeat([]byte("0123456789abcdef"), 3<<20/16) // 3 MiB: over NATS's 1 MiB max_payload
	if resp := post(t, "POST", r.async.URL+"/async-function/big", body, nil); resp.StatusCode != 202 {
		t.Fatalf("enqueue: %d", resp.StatusCode)
	}
	select {
	case b := <-got:
		if !bytes.Equal(b, body) {
			t.Fatalf("function got %d bytes, want %d identical", len(b), len(body))
		}
	case <-time.After(20 * time.Second):
		t.Fatal("large call never ran")
	}
}

func TestRetryThenSuccess(t *testing.T) {
	var calls atomic.Int32
	r := newRig(t, rigOptions{maxAttempts: 5, fn: func(w http.ResponseWriter, _ *http.Request) {
		if calls.Add(1) <= 2 {
			w.WriteHeader(503)
			return
		}
		io.WriteString(w, "ok")
	}})
	r.fns.add("openfaas-fn", "flaky", nil, nil)
	cb := newCallbacks(t)
	post(t, "POST", r.async.URL+"/async-function/flaky", nil, map[string]string{"X-Callback-Url": cb.srv.URL})
	c := cb.next(t, 20*time.Second)
	if c.header.Get("X-Function-Status") != "200" || c.header.Get("X-Retry") != "2" || c.header.Get("X-Retry-Max") != "4" || calls.Load() != 3 {
		t.Fatalf("status %s retry %s/%s after %d calls", c.header.Get("X-Function-Status"), c.header.Get("X-Retry"),
			c.header.Get("X-Retry-Max"), calls.Load())
	}
}

func TestDeadLetterAndRedrive(t *testing.T) {
	var healthy atomic.Bool
	var calls atomic.Int32
	r := newRig(t, rigOptions{maxAttempts: 3, fn: func(w http.ResponseWriter, _ *http.Request) {
		calls.Add(1)
		if !healthy.Load() {
			w.WriteHeader(500)
			return
		}
		io.WriteString(w, "fixed")
	}})
	r.fns.add("openfaas-fn", "broken", nil, nil)
	cb := newCallbacks(t)
	t0 := time.Now()
	post(t, "PATCH", r.async.URL+"/async-function/broken/p?q=1", []byte("b"), map[string]string{"X-Callback-Url": cb.srv.URL, "X-Call-Id": "dead-1"})
	c := cb.next(t, 20*time.Second)
	t.Logf("dead-lettered after %v", time.Since(t0))
	if c.header.Get("X-Function-Status") != "500" || calls.Load() != 3 {
		t.Fatalf("final status %s after %d calls, want 500 after 3", c.header.Get("X-Function-Status"), calls.Load())
	}
	ctx := t.Context()
	t0 = time.Now()
	dl, err := ListDeadLetters(ctx, r.js, "", "openfaas-fn", 100)
	t.Logf("list %v", time.Since(t0))
	if err != nil || len(dl) != 1 {
		t.Fatalf("dead letters: %v %+v", err, dl)
	}
	d := dl[0]
	if d.CallID != "dead-1" || d.Attempts != 3 || d.LastStatus != 500 || d.Method != "PATCH" || d.Path != "/p" || d.Function != "broken.openfaas-fn" {
		t.Fatalf("dead letter %+v", d)
	}
	if other, _ := ListDeadLetters(ctx, r.js, "other", "openfaas-fn", 100); len(other) != 0 {
		t.Fatalf("filter by function leaked %+v", other)
	}
	healthy.Store(true)
	t0 = time.Now()
	res, err := Redrive(ctx, r.js, "broken.openfaas-fn", "openfaas-fn", nil, 100)
	t.Logf("redrive %v", time.Since(t0))
	if err != nil || res.Redriven != 1 {
		t.Fatalf("redrive: %v %+v", err, res)
	}
	c = cb.next(t, 20*time.Second)
	if c.header.Get("X-Function-Status") != "200" || c.header.Get("X-Call-Id") != "dead-1" || c.body != "fixed" {
		t.Fatalf("after redrive: %v %q", c.header, c.body)
	}
	if dl, _ := ListDeadLetters(ctx, r.js, "", "openfaas-fn", 100); len(dl) != 0 {
		t.Fatalf("dead letters left after redrive: %+v", dl)
	}
}

func TestConcurrencyLimit(t *testing.T) {
	var cur, peak atomic.Int32
	var done sync.WaitGroup
	const n = 16
	done.Add(n)
	r := newRig(t, rigOptions{fn: func(w http.ResponseWriter, _ *http.Request) {
		c := cur.Add(1)
		for {
			p := peak.Load()
			if c <= p || peak.CompareAndSwap(p, c) {
				break
			}
		}
		time.Sleep(150 * time.Millisecond)
		cur.Add(-1)
		done.Done()
	}})
	r.fns.add("openfaas-fn", "slow", map[string]string{LabelMaxInflight: "4"}, nil)
	start := time.Now()
	for i := 0; i < n; i++ {
		post(t, "POST", r.async.URL+"/async-function/slow", nil, nil)
	}
	waitGroup(t, &done, 20*time.Second)
	el := time.Since(start)
	if peak.Load() != 4 {
		t.Fatalf("peak concurrency %d, want 4", peak.Load())
	}
	if el < 4*150*time.Millisecond {
		t.Fatalf("%d calls at 4 at a time took only %v", n, el)
	}
}

func TestNamedQueueSharesConsumer(t *testing.T) {
	ran := make(chan string, 2)
	r := newRig(t, rigOptions{fn: func(w http.ResponseWriter, req *http.Request) { ran <- req.URL.Path }})
	ann := map[string]string{AnnotationQueue: "slow-queue"}
	r.fns.add("openfaas-fn", "a", nil, ann)
	r.fns.add("openfaas-fn", "b", nil, ann)
	post(t, "POST", r.async.URL+"/async-function/a", nil, nil)
	post(t, "POST", r.async.URL+"/async-function/b", nil, nil)
	got := map[string]bool{}
	for i := 0; i < 2; i++ {
		select {
		case p := <-ran:
			got[p] = true
		case <-time.After(10 * time.Second):
			t.Fatal("named queue calls did not run")
		}
	}
	if !got["/function/a.openfaas-fn"] || !got["/function/b.openfaas-fn"] {
		t.Fatalf("ran %v", got)
	}
	if _, err := r.js.JS.Consumer(t.Context(), StreamWork, "q_slow-queue"); err != nil {
		t.Fatalf("named queue consumer: %v", err)
	}
}

func TestAcceptedCallsSurviveRestart(t *testing.T) {
	var mu sync.Mutex
	ran := map[string]int{}
	fn := func(w http.ResponseWriter, req *http.Request) {
		mu.Lock()
		ran[req.Header.Get("X-Call-Id")]++
		mu.Unlock()
	}
	dir := t.TempDir()
	r := newRig(t, rigOptions{dir: dir, noWorker: true, fn: fn})
	r.fns.add("openfaas-fn", "echo", nil, nil)
	const n = 200
	for i := 0; i < n; i++ {
		if resp := post(t, "POST", r.async.URL+"/async-function/echo", nil, map[string]string{"X-Call-Id": fmt.Sprint("c", i)}); resp.StatusCode != 202 {
			t.Fatalf("enqueue %d: %d", i, resp.StatusCode)
		}
	}
	r.stop()
	r.start(rigOptions{fn: fn})
	deadline := time.Now().Add(20 * time.Second)
	for {
		mu.Lock()
		k := len(ran)
		mu.Unlock()
		if k == n {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("%d of %d calls ran after restart", k, n)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

func waitGroup(t *testing.T, wg *sync.WaitGroup, d time.Duration) {
	t.Helper()
	ch := make(chan struct{})
	go func() { wg.Wait(); close(ch) }()
	select {
	case <-ch:
	case <-time.After(d):
		t.Fatalf("not done within %v", d)
	}
}

// TestLongCallRunsOnce: a call three times longer than the consumer's ack
// wait runs once. The rig's worker keeps the default AckWait flag (30s), so
// this also proves that progress follows the consumer's own AckWait (set
// by the enqueuing process), not the worker's flag.
func TestLongCallRunsOnce(t *testing.T) {
	var runs atomic.Int32
	cb := newCallbacks(t)
	r := newRig(t, rigOptions{ackWait: 600 * time.Millisecond, fn: func(w http.ResponseWriter, _ *http.Request) {
		runs.Add(1)
		time.Sleep(2 * time.Second) // over three times the ack wait
	}})
	r.fns.add("openfaas-fn", "long", nil, nil)
	post(t, "POST", r.async.URL+"/async-function/long", nil, map[string]string{"X-Callback-Url": cb.srv.URL})
	cb.next(t, 20*time.Second)
	r.waitSettled(t) // acked: a redelivery would have kept it unacked, and run again
	if n := runs.Load(); n != 1 {
		t.Fatalf("a call longer than the ack wait ran %d times", n)
	}
}

// TestCallIDDedupesPerFunction: a caller's retry with the same X-Call-Id
// to the same function is dropped, but the same id sent to another function
// (a function passing its X-Call-Id along a chain) is another call, and
// runs.
func TestCallIDDedupesPerFunction(t *testing.T) {
	var mu sync.Mutex
	ran := map[string]int{}
	r := newRig(t, rigOptions{fn: func(w http.ResponseWriter, req *http.Request) {
		mu.Lock()
		ran[req.URL.Path]++
		mu.Unlock()
	}})
	r.fns.add("openfaas-fn", "a", nil, nil)
	r.fns.add("openfaas-fn", "b", nil, nil)
	for _, fn := range []string{"a", "b", "a"} {
		if resp := post(t, "POST", r.async.URL+"/async-function/"+fn, []byte("x"), map[string]string{"X-Call-Id": "shared-1"}); resp.StatusCode != 202 {
			t.Fatalf("enqueue to %s: %d", fn, resp.StatusCode)
		}
	}
	want := map[string]int{"/function/a.openfaas-fn": 1, "/function/b.openfaas-fn": 1}
	deadline := time.Now().Add(10 * time.Second)
	for {
		mu.Lock()
		done := len(ran) == 2
		mu.Unlock()
		if done || time.Now().After(deadline) {
			break
		}
		time.Sleep(20 * time.Millisecond)
	}
	r.waitSettled(t) // every queued call has run: a duplicate would have
	mu.Lock()
	defer mu.Unlock()
	if !maps.Equal(ran, want) {
		t.Fatalf("ran %v, want %v", ran, want)
	}
}

// TestCallbackDurationIsTheWholeCall: the callback's X-Duration-Seconds is
// the whole call, body included, not the watchdog's time to first byte
// (what a streaming function's X-Duration-Seconds says); and the function
// gets no Accept-Encoding the caller did not send.
func TestCallbackDurationIsTheWholeCall(t *testing.T) {
	r := newRig(t, rigOptions{fn: func(w http.ResponseWriter, req *http.Request) {
		if ae := req.Header.Get("Accept-Encoding"); ae != "" {
			t.Errorf("the function got Accept-Encoding %q the caller never sent", ae)
		}
		w.Header().Set("X-Duration-Seconds", "0.001") // a streaming watchdog's first byte
		io.WriteString(w, "start ")
		http.NewResponseController(w).Flush()
		time.Sleep(300 * time.Millisecond)
		io.WriteString(w, "end")
	}})
	r.fns.add("openfaas-fn", "stream", nil, nil)
	cb := newCallbacks(t)
	// A caller that sends no Accept-Encoding (Go's client adds one unless told not to).
	req, _ := http.NewRequest("POST", r.async.URL+"/async-function/stream", nil)
	req.Header.Set("X-Callback-Url", cb.srv.URL)
	plain := &http.Client{Transport: &http.Transport{DisableCompression: true}}
	resp, err := plain.Do(req)
	if err != nil || resp.StatusCode != 202 {
		t.Fatalf("enqueue: %v %v", resp, err)
	}
	resp.Body.Close()
	c := cb.next(t, 10*time.Second)
	d, err := strconv.ParseFloat(c.header.Get("X-Duration-Seconds"), 64)
	if err != nil || d < 0.3 || c.body != "start end" {
		t.Fatalf("callback X-Duration-Seconds %q (%v), body %q: want the whole call, >= 0.3 s", c.header.Get("X-Duration-Seconds"), err, c.body)
	}
}

// TestBrokenOffResponseIsAFailureNotUnreachable: a function that answered
// and then broke off its response (a streaming function exiting non-zero
// after some output) ran and failed: the callback gets a 500 with what it
// wrote (retried like any 500), not the 503 of an unreachable replica.
func TestBrokenOffResponseIsAFailureNotUnreachable(t *testing.T) {
	r := newRig(t, rigOptions{maxAttempts: 1, fn: func(w http.ResponseWriter, req *http.Request) {
		w.Header().Set("Content-Length", "100")
		io.WriteString(w, "out")
		http.NewResponseController(w).Flush()
		panic(http.ErrAbortHandler) // the connection is cut mid-body
	}})
	r.fns.add("openfaas-fn", "broke", nil, nil)
	cb := newCallbacks(t)
	post(t, "POST", r.async.URL+"/async-function/broke", nil, map[string]string{"X-Callback-Url": cb.srv.URL})
	c := cb.next(t, 10*time.Second)
	if c.header.Get("X-Function-Status") != "500" || !strings.HasPrefix(c.body, "out\n[the function's response broke off") {
		t.Fatalf("callback status %q body %q, want 500 starting with the output", c.header.Get("X-Function-Status"), c.body)
	}
}

// TestFailingCallbackHoldsNoSlot: a call's callback waits on its own
// queue, so a receiver that is down does not hold the function's only
// concurrency slot: the next call runs at once, while the callbacks are
// still being retried.
func TestFailingCallbackHoldsNoSlot(t *testing.T) {
	ran := make(chan string, 8)
	r := newRig(t, rigOptions{fn: func(w http.ResponseWriter, req *http.Request) {
		ran <- req.Header.Get("X-Call-Id")
	}})
	r.fns.add("openfaas-fn", "one", map[string]string{LabelMaxInflight: "1"}, nil)
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	down := "http://" + ln.Addr().String() + "/"
	ln.Close()
	for i := 0; i < 2; i++ {
		post(t, "POST", r.async.URL+"/async-function/one", nil, map[string]string{"X-Callback-Url": down, "X-Call-Id": fmt.Sprint("cb-down-", i)})
	}
	for i := 0; i < 2; i++ {
		select {
		case <-ran:
		case <-time.After(10 * time.Second):
			t.Fatal("the calls with a callback did not run")
		}
	}
	start := time.Now()
	post(t, "POST", r.async.URL+"/async-function/one", nil, map[string]string{"X-Call-Id": "plain"})
	select {
	case id := <-ran:
		if id != "plain" || time.Since(start) > time.Second {
			t.Fatalf("ran %q after %s", id, time.Since(start))
		}
	case <-time.After(10 * time.Second):
		t.Fatal("the plain call waited behind the failing callbacks")
	}
}
