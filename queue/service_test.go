package queue

import (
	"context"
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
