package queue

import (
	"bytes"
	"io"
	"net/http"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus/testutil"
)

// enqueueRaw posts to the rig and returns the answer with its body.
func enqueueRaw(t *testing.T, r *rig, fn string, body []byte) (*http.Response, string) {
	t.Helper()
	resp, err := http.Post(r.async.URL+"/async-function/"+fn, "application/octet-stream", bytes.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	b, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	return resp, string(b)
}

// wantFull checks a 429 with Retry-After naming the flag.
func wantFull(t *testing.T, resp *http.Response, body, flag string) {
	t.Helper()
	if resp.StatusCode != http.StatusTooManyRequests || resp.Header.Get("Retry-After") == "" || !strings.Contains(body, flag) {
		t.Fatalf("got %d (Retry-After %q) %q; want 429 with Retry-After naming %s", resp.StatusCode, resp.Header.Get("Retry-After"), body, flag)
	}
}

// depth counts the calls stored for a queue.
func depth(t *testing.T, r *rig, token string) int64 {
	n, _, err := r.enq.countQueue(t.Context(), token)
	if err != nil {
		t.Fatal(err)
	}
	return n
}

// TestQueueBoundPerFunction: a function's queue takes PerQueue calls, then
// 429s; other functions are still accepted and nothing accepted is lost.
func TestQueueBoundPerFunction(t *testing.T) {
	r := newRig(t, rigOptions{noWorker: true, bounds: Bounds{PerQueue: 5}, fn: func(http.ResponseWriter, *http.Request) {}})
	r.fns.add("openfaas-fn", "flood", nil, nil)
	r.fns.add("openfaas-fn", "other", nil, nil)
	for i := 0; i < 5; i++ {
		if resp, body := enqueueRaw(t, r, "flood", []byte("x")); resp.StatusCode != 202 {
			t.Fatalf("call %d: %d %s", i, resp.StatusCode, body)
		}
	}
	resp, body := enqueueRaw(t, r, "flood", []byte("x"))
	wantFull(t, resp, body, "--async-max-queued-per-function")
	if resp, body := enqueueRaw(t, r, "other", []byte("x")); resp.StatusCode != 202 {
		t.Fatalf("another function refused: %d %s", resp.StatusCode, body)
	}
	if n := depth(t, r, "fn.openfaas-fn.flood"); n != 5 {
		t.Fatalf("%d calls stored, want the 5 accepted", n)
	}
}

// TestQueueBoundTotal: the bounds over all functions, in calls and bytes.
func TestQueueBoundTotal(t *testing.T) {
	r := newRig(t, rigOptions{noWorker: true, maxBody: 2 << 20, bounds: Bounds{Calls: 4, Bytes: 3 << 20}, fn: func(http.ResponseWriter, *http.Request) {}})
	for _, f := range []string{"a", "b", "c"} {
		r.fns.add("openfaas-fn", f, nil, nil)
	}
	mb := bytes.Repeat([]byte("m"), 1_000_000)
	for i, f := range []string{"a", "b", "c"} {
		if resp, body := enqueueRaw(t, r, f, mb); resp.StatusCode != 202 {
			t.Fatalf("call %d: %d %s", i, resp.StatusCode, body)
		}
	}
	resp, body := enqueueRaw(t, r, "a", mb)
	wantFull(t, resp, body, "--async-max-queued-bytes")
	if resp, body := enqueueRaw(t, r, "b", []byte("small")); resp.StatusCode != 202 {
		t.Fatalf("a small call under both bounds: %d %s", resp.StatusCode, body)
	}
	resp, body = enqueueRaw(t, r, "c", []byte("small"))
	wantFull(t, resp, body, "--async-max-queued")
	full := r.enq.cfg.Metrics.Full
	if b, c := testutil.ToFloat64(full.WithLabelValues("a.openfaas-fn", "bytes")), testutil.ToFloat64(full.WithLabelValues("c.openfaas-fn", "calls")); b != 1 || c != 1 {
		t.Fatalf("ferry_queue_full_total: bytes %v, calls %v; want 1 and 1", b, c)
	}
}

// TestFullQueueStillRetries: calls accepted up to the bound still move
// through their retries (the bound refuses new calls only).
func TestFullQueueStillRetries(t *testing.T) {
	var calls, ok atomic.Int32
	r := newRig(t, rigOptions{noWorker: true, maxAttempts: 3, bounds: Bounds{PerQueue: 3}, fn: func(w http.ResponseWriter, _ *http.Request) {
		if calls.Add(1) <= 3 {
			w.WriteHeader(http.StatusServiceUnavailable)
			return
		}
		ok.Add(1)
	}})
	r.fns.add("openfaas-fn", "flaky", nil, nil)
	for i := 0; i < 3; i++ {
		if resp, body := enqueueRaw(t, r, "flaky", []byte("x")); resp.StatusCode != 202 {
			t.Fatalf("call %d: %d %s", i, resp.StatusCode, body)
		}
	}
	if err := r.worker.Start(t.Context()); err != nil {
		t.Fatal(err)
	}
	deadline := time.Now().Add(20 * time.Second)
	for ok.Load() < 3 && time.Now().Before(deadline) {
		time.Sleep(20 * time.Millisecond)
	}
	if ok.Load() != 3 {
		t.Fatalf("%d of 3 accepted calls succeeded after their retries", ok.Load())
	}
}

// TestDeadLettersExpire: dead letters go after DeadLetterTTL.
func TestDeadLettersExpire(t *testing.T) {
	r := newRig(t, rigOptions{maxAttempts: 1, bounds: Bounds{DeadLetterTTL: time.Second}, fn: func(w http.ResponseWriter, _ *http.Request) {
		w.WriteHeader(http.StatusInternalServerError)
	}})
	r.fns.add("openfaas-fn", "broken", nil, nil)
	enqueueRaw(t, r, "broken", []byte("x"))
	seen := false
	deadline := time.Now().Add(15 * time.Second)
	for time.Now().Before(deadline) {
		dl, err := ListDeadLetters(t.Context(), r.js, "", "openfaas-fn", 10)
		if err != nil {
			t.Fatal(err)
		}
		if len(dl) == 1 {
			seen = true
		} else if seen && len(dl) == 0 {
			return
		}
		time.Sleep(100 * time.Millisecond)
	}
	t.Fatalf("dead letter seen=%v, never expired", seen)
}

// TestSetupChangesBounds: a restart with other flags updates the existing
// streams, a process without bound flags (a queue worker) keeps them, and
// a byte bound larger than the disk does not stop the queue (JetStream
// reserves a stream's MaxBytes).
func TestSetupChangesBounds(t *testing.T) {
	r := newRig(t, rigOptions{noWorker: true, fn: func(http.ResponseWriter, *http.Request) {}})
	ctx := t.Context()
	if err := Setup(ctx, r.js, 0, &Bounds{Bytes: 1 << 50}); err != nil {
		t.Fatalf("a byte bound over the disk's size: %v", err)
	}
	want := Bounds{PerQueue: 10, Calls: 400, Bytes: 64 << 20, DeadLetterTTL: time.Hour}
	if err := Setup(ctx, r.js, 0, &want); err != nil {
		t.Fatal(err)
	}
	if err := Setup(ctx, r.js, 0, nil); err != nil {
		t.Fatal(err)
	}
	work, err := r.js.JS.Stream(ctx, StreamWork)
	if err != nil {
		t.Fatal(err)
	}
	dead, err := r.js.JS.Stream(ctx, StreamDead)
	if err != nil {
		t.Fatal(err)
	}
	if w, d := work.CachedInfo().Config, dead.CachedInfo().Config; w.MaxMsgs != hard(want.Calls) || w.MaxBytes != hard(want.Bytes) || d.MaxAge != want.DeadLetterTTL {
		t.Fatalf("limits after a worker's setup: %d calls, %d bytes, dead letters %v; want those of %+v", w.MaxMsgs, w.MaxBytes, d.MaxAge, want)
	}
	st, err := r.js.JS.Stream(ctx, "OBJ_"+BodiesBucket)
	if err != nil {
		t.Fatal(err)
	}
	if c := st.CachedInfo().Config; c.MaxBytes != hard(want.Bytes) || c.MaxAge != 2*time.Hour {
		t.Fatalf("body store limits %d bytes, %v", c.MaxBytes, c.MaxAge)
	}
}
