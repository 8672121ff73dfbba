package queue

import (
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync/atomic"
	"testing"
	"time"
)

// BenchmarkEnqueue measures the enqueue path (handler + JetStream ack) in
// process, without HTTP transport: go test -bench Enqueue -cpu 64 ./queue/
func BenchmarkEnqueue(b *testing.B) {
	r := newRigB(b)
	r.fns.add("openfaas-fn", "echo", nil, nil)
	b.ReportAllocs()
	b.ResetTimer()
	b.RunParallel(func(pb *testing.PB) {
		for pb.Next() {
			req := httptest.NewRequest("POST", "/async-function/echo", strings.NewReader("hello ferry"))
			w := httptest.NewRecorder()
			r.enq.ServeHTTP(w, req)
			if w.Code != http.StatusAccepted {
				b.Fatalf("enqueue: %d %s", w.Code, w.Body)
			}
		}
	})
}

// BenchmarkEndToEnd measures enqueue -> worker -> function -> callback in
// process (fake gateway and callback server on loopback).
func BenchmarkEndToEnd(b *testing.B) {
	var done atomic.Int64
	all := make(chan struct{})
	n := int64(b.N)
	cb := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if done.Add(1) == n {
			close(all)
		}
	}))
	defer cb.Close()
	r := &rig{t: b, fns: &fakeFunctions{}, dir: b.TempDir()}
	fn := func(w http.ResponseWriter, req *http.Request) { io.Copy(w, req.Body) }
	// Unbounded (the bound would refuse a long run), with the worker's
	// defaults in serve: in-process invoke, direct callbacks.
	r.start(rigOptions{fn: fn, inProcess: true, callbackDirect: 2 * time.Second,
		bounds: Bounds{PerQueue: 1 << 40, Calls: 1 << 40}})
	b.Cleanup(r.stop)
	r.fns.add("openfaas-fn", "echo", map[string]string{LabelMaxInflight: "64"}, nil)
	b.ResetTimer()
	b.RunParallel(func(pb *testing.PB) {
		for pb.Next() {
			req := httptest.NewRequest("POST", "/async-function/echo", strings.NewReader("hello ferry"))
			req.Header.Set("X-Callback-Url", cb.URL)
			w := httptest.NewRecorder()
			r.enq.ServeHTTP(w, req)
			if w.Code != http.StatusAccepted {
				b.Fatalf("enqueue: %d %s", w.Code, w.Body)
			}
		}
	})
	select {
	case <-all:
	case <-time.After(2 * time.Minute):
		b.Fatalf("%d of %d called back", done.Load(), n)
	}
}
