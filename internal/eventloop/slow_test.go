//go:build linux

package eventloop

import (
	"bufio"
	"io"
	"net"
	"net/http"
	"strings"
	"testing"
	"time"
)

// closedWithin reads c until it is closed and reports how long that took
// (failing past limit); what was read comes back.
func closedWithin(t *testing.T, c net.Conn, limit time.Duration, during func()) (time.Duration, string) {
	t.Helper()
	start := time.Now()
	done := make(chan string, 1)
	go func() {
		c.SetReadDeadline(time.Now().Add(limit))
		b, _ := io.ReadAll(c)
		done <- string(b)
	}()
	stop := make(chan struct{})
	if during != nil {
		go func() {
			for {
				select {
				case <-stop:
					return
				case <-time.After(40 * time.Millisecond):
					during()
				}
			}
		}()
	}
	got := <-done
	close(stop)
	el := time.Since(start)
	if el >= limit {
		t.Fatalf("the connection was still open after %v", el)
	}
	return el, got
}

// A head trickled a line at a time is cut off at its deadline: reads do
// not move it.
func TestTrickledHeadClosedAtItsDeadline(t *testing.T) {
	r := newRig(t, http.HandlerFunc(echoHeaders), func(s *Server) { s.HeadTimeout = 300 * time.Millisecond })
	c, err := net.Dial("tcp", r.addr)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	io.WriteString(c, "GET /function/x HTTP/1.1\r\nHost: x\r\n")
	el, _ := closedWithin(t, c, 3*time.Second, func() { io.WriteString(c, "X-Slow: 1\r\n") })
	if el < 250*time.Millisecond {
		t.Errorf("closed after %v, before the deadline", el)
	}
}

// A connection that sends nothing is closed at the head deadline from its
// accept, not held for IdleTimeout; idle between requests, IdleTimeout.
func TestSilentConnectionClosedAtTheHeadDeadline(t *testing.T) {
	r := newRig(t, http.HandlerFunc(echoHeaders), func(s *Server) { s.HeadTimeout = 200 * time.Millisecond })
	c, err := net.Dial("tcp", r.addr)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	closedWithin(t, c, 2*time.Second, nil)

	c2, err := net.Dial("tcp", r.addr)
	if err != nil {
		t.Fatal(err)
	}
	defer c2.Close()
	io.WriteString(c2, "GET /function/x HTTP/1.1\r\nHost: x\r\n\r\n")
	resp, err := http.ReadResponse(bufio.NewReader(c2), nil)
	if err != nil {
		t.Fatal(err)
	}
	io.ReadAll(resp.Body)
	time.Sleep(400 * time.Millisecond) // past HeadTimeout, within IdleTimeout (5 s)
	io.WriteString(c2, "GET /function/x HTTP/1.1\r\nHost: x\r\n\r\n")
	c2.SetReadDeadline(time.Now().Add(3 * time.Second))
	if resp, err := http.ReadResponse(bufio.NewReader(c2), nil); err != nil || resp.StatusCode != 200 {
		t.Fatalf("a kept-alive connection idle less than IdleTimeout: %v", err)
	}
}

// A body that stops coming is answered 408, saying why, and closed.
func TestStalledBodyAnswers408(t *testing.T) {
	r := newRig(t, http.HandlerFunc(echoHeaders), func(s *Server) { s.BodyTimeout = 300 * time.Millisecond })
	c, err := net.Dial("tcp", r.addr)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	io.WriteString(c, "POST /function/x HTTP/1.1\r\nHost: x\r\nContent-Length: 100\r\n\r\n0123456789")
	_, got := closedWithin(t, c, 3*time.Second, func() { io.WriteString(c, "a") })
	if !strings.HasPrefix(got, "HTTP/1.1 408 ") || !strings.Contains(got, "did not arrive within 300ms") || !strings.Contains(got, "Connection: close") {
		t.Fatalf("answer %q, want a 408 that says why", got)
	}
}
