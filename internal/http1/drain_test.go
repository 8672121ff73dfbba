package http1

import (
	"context"
	"net"
	"net/http"
	"testing"
	"time"
)

// Drain keeps serving for its time, but no longer than a connection is
// left: the stop is not held up once every caller has gone.
func TestDrainEndsWhenNoConnectionIsLeft(t *testing.T) {
	addr, s := start(t, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {}), nil)
	c, err := net.Dial("tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	waitOpen(t, s)
	done := make(chan struct{})
	go func() { s.Drain(context.Background(), time.Minute); close(done) }()
	select {
	case <-done:
		t.Fatal("Drain returned while a caller's connection was open")
	case <-time.After(100 * time.Millisecond):
	}
	c.Close()
	select {
	case <-done:
	case <-time.After(10 * time.Second):
		t.Fatal("Drain did not return once the last connection closed")
	}
	// Its time bounds it too.
	c2, err := net.Dial("tcp", addr)
	if err != nil {
		t.Fatal(err) // (still accepting while draining)
	}
	defer c2.Close()
	waitOpen(t, s)
	t0 := time.Now()
	s.Drain(context.Background(), 50*time.Millisecond)
	if d := time.Since(t0); d > 5*time.Second {
		t.Fatalf("Drain(50ms) took %v", d)
	}
}

// waitOpen waits until the accept loop took a connection.
func waitOpen(t *testing.T, s *Server) {
	t.Helper()
	for deadline := time.Now().Add(10 * time.Second); s.Open() == 0; time.Sleep(time.Millisecond) {
		if time.Now().After(deadline) {
			t.Fatal("the connection was not taken")
		}
	}
}
