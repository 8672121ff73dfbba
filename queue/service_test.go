package queue

import (
	"context"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"sync/atomic"
	"testing"
	"time"
)

func TestServiceStartsOnFirstUse(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "nats")
	fns := &fakeFunctions{}
	fns.add("openfaas-fn", "echo", nil, nil)
	ran := make(chan string, 1)
	gw := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { ran <- r.URL.Path }))
	defer gw.Close()
	var connects atomic.Int32
	svc := NewService(ServiceConfig{
		Connect: func() (*JetStream, func(), error) {
			connects.Add(1)
			emb, err := StartEmbedded(EmbeddedOptions{StoreDir: dir})
			if err != nil {
				return nil, nil, err
			}
			nc, err := emb.Connect("test")
			if err != nil {
				return nil, nil, err
			}
			js, err := NewJetStream(nc)
			return js, func() { nc.Close(); emb.Shutdown() }, err
		},
		Enqueuer: EnqueuerConfig{Functions: fns},
		Worker:   &WorkerConfig{GatewayURL: gw.URL},
	})
	if err := svc.Run(t.Context()); err != nil {
		t.Fatal(err)
	}
	defer func() {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		svc.Stop(ctx)
	}()
	if _, err := os.Stat(dir); !os.IsNotExist(err) || connects.Load() != 0 {
		t.Fatalf("NATS started before any async call (connects %d, stat %v)", connects.Load(), err)
	}
	srv := httptest.NewServer(svc.Async())
	defer srv.Close()
	if resp, err := http.Post(srv.URL+"/async-function/nope", "text/plain", nil); err != nil || resp.StatusCode != 404 || connects.Load() != 0 {
		t.Fatalf("unknown function: %v %v, connects %d", resp, err, connects.Load())
	}
	for i := 0; i < 3; i++ {
		resp, err := http.Post(srv.URL+"/async-function/echo", "text/plain", strings.NewReader("x"))
		if err != nil || resp.StatusCode != 202 {
			t.Fatalf("enqueue %d: %v %v", i, resp, err)
		}
		resp.Body.Close()
	}
	for i := 0; i < 3; i++ {
		select {
		case <-ran:
		case <-time.After(10 * time.Second):
			t.Fatal("queued call never ran")
		}
	}
	if connects.Load() != 1 {
		t.Fatalf("connected %d times", connects.Load())
	}
	dl := httptest.NewServer(svc.DeadLetterList())
	defer dl.Close()
	resp, err := http.Get(dl.URL)
	if err != nil || resp.StatusCode != 200 {
		t.Fatalf("dead letters: %v %v", resp, err)
	}
	resp.Body.Close()
}

// An eager service whose external NATS is not up yet (a gateway pod
// started beside the NATS pod) serves on, answers async calls 503, and
// starts once NATS is there, instead of failing Run (the process exited).
func TestServiceWaitsForExternalNATS(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := ln.Addr().String()
	ln.Close() // nothing listens there until NATS starts below
	fns := &fakeFunctions{}
	fns.add("openfaas-fn", "echo", nil, nil)
	ran := make(chan string, 1)
	gw := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { ran <- r.URL.Path }))
	defer gw.Close()
	svc := NewService(ServiceConfig{
		Connect: func() (*JetStream, func(), error) {
			nc, err := ConnectExternal(ConnectOptions{URL: "nats://" + addr, User: "u", Password: "p", Name: "test"})
			if err != nil {
				return nil, nil, err
			}
			js, err := NewJetStream(nc)
			return js, nc.Close, err
		},
		Eager: true, Retry: true,
		Enqueuer: EnqueuerConfig{Functions: fns},
		Worker:   &WorkerConfig{GatewayURL: gw.URL},
	})
	if err := svc.Run(t.Context()); err != nil {
		t.Fatalf("Run with NATS not up yet: %v", err)
	}
	defer func() {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		svc.Stop(ctx)
	}()
	srv := httptest.NewServer(svc.Async())
	defer srv.Close()
	post := func() int {
		resp, err := http.Post(srv.URL+"/async-function/echo", "text/plain", strings.NewReader("x"))
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		return resp.StatusCode
	}
	if code := post(); code != 503 {
		t.Fatalf("async call without NATS: %d, want 503", code)
	}
	emb, err := StartEmbedded(EmbeddedOptions{StoreDir: t.TempDir(), Listen: addr, User: "u", Password: "p"})
	if err != nil {
		t.Fatal(err)
	}
	defer emb.Shutdown()
	// The retry (1 s, then 2 s) starts the queue without any async call.
	for end := time.Now().Add(10 * time.Second); svc.enq.Load() == nil; time.Sleep(50 * time.Millisecond) {
		if time.Now().After(end) {
			t.Fatal("the queue did not start once NATS was up")
		}
	}
	if code := post(); code != 202 {
		t.Fatalf("async call once NATS is up: %d", code)
	}
	select {
	case <-ran:
	case <-time.After(10 * time.Second):
		t.Fatal("queued call never ran")
	}
}
