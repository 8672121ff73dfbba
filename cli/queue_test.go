package cli

import (
	"context"
	"encoding/json"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/ferryfaas/ferry/queue"
)

func TestQueueDeadLettersCLI(t *testing.T) {
	isolate(t)
	t.Setenv("FERRY_PASSWORD", "pw")
	var redriveQuery string
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if u, p, ok := r.BasicAuth(); !ok || u != "admin" || p != "pw" {
			w.WriteHeader(http.StatusUnauthorized)
			return
		}
		switch r.Method + " " + r.URL.Path {
		case "GET /system/queue/dead-letters":
			json.NewEncoder(w).Encode([]queue.DeadLetter{{Seq: 7, CallID: "c-1", Function: "f.openfaas-fn", Method: "PUT",
				Attempts: 8, LastStatus: 503, LastError: "upstream down\nsecond line"}})
		case "POST /system/queue/dead-letters/redrive":
			redriveQuery = r.URL.RawQuery
			json.NewEncoder(w).Encode(queue.RedriveResult{Redriven: 1, CallIDs: []string{"c-1"}})
		default:
			http.NotFound(w, r)
		}
	}))
	defer srv.Close()

	out := runCLI(t, "", "queue", "dead-letters", "list", "--gateway", srv.URL).must(t).stdout
	for _, want := range []string{"SEQ", "c-1", "f.openfaas-fn", "PUT", "503", "upstream down"} {
		if !strings.Contains(out, want) {
			t.Errorf("list output lacks %q:\n%s", want, out)
		}
	}
	if strings.Contains(out, "second line") {
		t.Errorf("multi-line error not cut:\n%s", out)
	}
	out = runCLI(t, "", "queue", "dlq", "redrive", "--gateway", srv.URL, "--function", "f", "--seq", "7").must(t).stdout
	if !strings.Contains(out, "Re-queued 1 call(s)") || !strings.Contains(redriveQuery, "function=f") || !strings.Contains(redriveQuery, "seq=7") {
		t.Errorf("redrive: %q (query %q)", out, redriveQuery)
	}
	t.Setenv("FERRY_PASSWORD", "wrong")
	runCLI(t, "", "queue", "dead-letters", "list", "--gateway", srv.URL).fails(t, "authentication failed")
}

// A queue worker started before its NATS (pods started together, or NATS
// restarting) waits for it instead of exiting (and being restarted with a
// growing back-off).
func TestQueueWorkerWaitsForNATS(t *testing.T) {
	isolate(t)
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := ln.Addr().String()
	// Held until NATS starts below, speaking no NATS: a port freed here
	// could be taken by another package's NATS, with other credentials,
	// which the worker rightly takes for a configuration error.
	defer ln.Close()
	cmd := newQueueWorkerCmd()
	cmd.SetArgs([]string{"--nats-url", "nats://" + addr, "--nats-user", "u", "--nats-password", "p",
		"--gateway", "http://127.0.0.1:1", "--drain", "1s"})
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- cmd.ExecuteContext(ctx) }()
	select {
	case err := <-done:
		t.Fatalf("the worker exited without NATS: %v", err)
	case <-time.After(1500 * time.Millisecond):
	}
	ln.Close()
	emb, err := queue.StartEmbedded(queue.EmbeddedOptions{StoreDir: t.TempDir(), Listen: addr, User: "u", Password: "p"})
	if err != nil {
		t.Fatal(err)
	}
	defer emb.Shutdown()
	nc, err := queue.ConnectExternal(queue.ConnectOptions{URL: "nats://" + addr, User: "u", Password: "p"})
	if err != nil {
		t.Fatal(err)
	}
	defer nc.Close()
	js, _ := queue.NewJetStream(nc)
	// The worker sets up the queue's streams once connected.
	for end := time.Now().Add(10 * time.Second); ; time.Sleep(100 * time.Millisecond) {
		if _, err := js.JS.Stream(context.Background(), queue.StreamWork); err == nil {
			break
		}
		if time.Now().After(end) {
			t.Fatal("the worker did not set up the queue once NATS was up")
		}
	}
	cancel()
	if err := <-done; err != nil {
		t.Fatalf("worker: %v", err)
	}
}

// Refused credentials are a configuration error: the worker exits at once
// saying so, rather than waiting for ever.
func TestQueueWorkerRefusedCredentialsExit(t *testing.T) {
	isolate(t)
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := ln.Addr().String()
	ln.Close()
	emb, err := queue.StartEmbedded(queue.EmbeddedOptions{StoreDir: t.TempDir(), Listen: addr, User: "u", Password: "p"})
	if err != nil {
		t.Fatal(err)
	}
	defer emb.Shutdown()
	cmd := newQueueWorkerCmd()
	cmd.SetArgs([]string{"--nats-url", "nats://" + addr, "--nats-user", "u", "--nats-password", "wrong", "--gateway", "http://127.0.0.1:1"})
	done := make(chan error, 1)
	go func() { done <- cmd.ExecuteContext(t.Context()) }()
	select {
	case err := <-done:
		if err == nil || !strings.Contains(strings.ToLower(err.Error()), "authorization") {
			t.Fatalf("want an authorization error, got %v", err)
		}
	case <-time.After(5 * time.Second):
		t.Fatal("the worker kept waiting with refused credentials")
	}
}
