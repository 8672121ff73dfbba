package http1

import (
	"bufio"
	"context"
	"errors"
	"io"
	"net"
	"net/http"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/ferryfaas/ferry/test/harness"
)

// startFront serves h with head and idle timeouts and a connection cap.
func startFront(t *testing.T, h http.Handler, head, idle time.Duration, maxConns int) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	s := &Server{HTTP: &http.Server{Handler: h, ReadHeaderTimeout: head, IdleTimeout: idle}, MaxConns: maxConns}
	go s.Serve(ln)
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		s.Shutdown(ctx)
	})
	return ln.Addr().String()
}

// waitClosed fails unless the server closes c within limit, while tick
// runs every 40 ms.
func waitClosed(t *testing.T, c net.Conn, limit time.Duration, tick func()) time.Duration {
	t.Helper()
	start := time.Now()
	done := make(chan struct{})
	go func() {
		c.SetReadDeadline(time.Now().Add(limit))
		io.Copy(io.Discard, c)
		close(done)
	}()
	for {
		select {
		case <-done:
			if el := time.Since(start); el < limit {
				return el
			}
			t.Fatalf("the connection was still open after %v", limit)
		case <-time.After(40 * time.Millisecond):
			if tick != nil {
				tick()
			}
		}
	}
}

func TestHeadDeadlineIsAbsolute(t *testing.T) {
	addr := startFront(t, echo, 300*time.Millisecond, 5*time.Second, 0)
	c, err := net.Dial("tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	br := bufio.NewReader(c)
	callOn(t, c, br, "GET /warm HTTP/1.1\r\nHost: h\r\n\r\n")
	io.WriteString(c, "GET /x HTTP/1.1\r\nHost: h\r\n")
	if el := waitClosed(t, c, 3*time.Second, func() { io.WriteString(c, "X-Slow: 1\r\n") }); el < 250*time.Millisecond {
		t.Errorf("closed after %v, before the deadline", el)
	}
}

// A new connection's first head is due ReadHeaderTimeout after the accept,
// not IdleTimeout.
func TestSilentNewConnectionClosedAtHeadDeadline(t *testing.T) {
	addr := startFront(t, echo, 200*time.Millisecond, 5*time.Second, 0)
	c, err := net.Dial("tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	waitClosed(t, c, 2*time.Second, nil)
}

// At the cap, the connections that waited longest are shed so that new
// callers are served; a call in progress is not shed.
func TestCapShedsWaitingConnections(t *testing.T) {
	entered, release := make(chan struct{}), make(chan struct{})
	h := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path == "/hold" {
			close(entered)
			<-release
		}
		echo(w, r)
	})
	defer close(release)
	addr := startFront(t, h, 10*time.Second, 10*time.Second, 10)
	held, err := net.Dial("tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	defer held.Close()
	io.WriteString(held, "GET /hold HTTP/1.1\r\nHost: h\r\n\r\n")
	harness.WaitClosed(t, entered, "/hold at its handler")
	var idle []net.Conn
	for i := 0; i < 20; i++ { // twice the cap, silent or a head begun
		c, err := net.Dial("tcp", addr)
		if err != nil {
			t.Fatal(err)
		}
		defer c.Close()
		if i%2 == 0 {
			io.WriteString(c, "GET /x HTTP/1.1\r\n")
		}
		idle = append(idle, c)
	}
	for i := 0; i < 5; i++ {
		c, err := net.Dial("tcp", addr)
		if err != nil {
			t.Fatal(err)
		}
		got := callOn(t, c, bufio.NewReader(c), "GET /ok HTTP/1.1\r\nHost: h\r\n\r\n")
		c.Close()
		if !strings.HasPrefix(got, "GET /ok") {
			t.Fatalf("call %d at the cap: %q", i, got)
		}
	}
	// The first idle ones were shed; the held call was not.
	idle[0].SetReadDeadline(time.Now().Add(2 * time.Second))
	// Closed shows as EOF, or as a reset when the server closed it with its
	// begun head still unread (the kernel then answers with RST).
	if _, err := idle[0].Read(make([]byte, 1)); err != io.EOF && !errors.Is(err, syscall.ECONNRESET) {
		t.Errorf("the oldest waiting connection: %v, want closed", err)
	}
	release <- struct{}{}
	held.SetReadDeadline(time.Now().Add(3 * time.Second))
	if resp, err := http.ReadResponse(bufio.NewReader(held), nil); err != nil || resp.StatusCode != 200 {
		t.Fatalf("the call in progress at the cap: %v", err)
	}
}
