package http1

import (
	"bufio"
	"context"
	"io"
	"net"
	"net/http"
	"strings"
	"testing"
	"time"
)

// startIdle serves h with a short IdleTimeout.
func startIdle(t *testing.T, h http.Handler, idle time.Duration) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	s := &Server{HTTP: &http.Server{Handler: h, ReadHeaderTimeout: idle, IdleTimeout: idle}, WatchAfter: 20 * time.Millisecond}
	go s.Serve(ln)
	t.Cleanup(func() { s.Shutdown(context.Background()) })
	return ln.Addr().String()
}

// call sends one request on c and reads its response.
func callOn(t *testing.T, c net.Conn, br *bufio.Reader, raw string) string {
	t.Helper()
	c.SetDeadline(time.Now().Add(5 * time.Second))
	if _, err := io.WriteString(c, raw); err != nil {
		t.Fatal(err)
	}
	resp, err := http.ReadResponse(br, nil)
	if err != nil {
		t.Fatalf("response: %v", err)
	}
	return body(resp)
}

// The idle deadline is moved lazily, but it still closes a connection
// that waits longer than IdleTimeout, and never one in regular use.
func TestIdleTimeout(t *testing.T) {
	addr := startIdle(t, echo, 400*time.Millisecond)
	c, err := net.Dial("tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	br := bufio.NewReader(c)
	// In use every 100 ms for 1.2 s: three IdleTimeouts in all.
	for i := 0; i < 12; i++ {
		if got := callOn(t, c, br, "GET /x HTTP/1.1\r\nHost: h\r\n\r\n"); !strings.HasPrefix(got, "GET /x") {
			t.Fatalf("call %d: %q", i, got)
		}
		time.Sleep(100 * time.Millisecond)
	}
	// Then idle: closed after about 400 ms.
	start := time.Now()
	c.SetReadDeadline(time.Now().Add(3 * time.Second))
	if _, err := br.ReadByte(); err != io.EOF {
		t.Fatalf("idle connection: %v, want EOF from the server closing it", err)
	}
	if d := time.Since(start); d < 200*time.Millisecond || d > 2*time.Second {
		t.Fatalf("idle connection closed after %s, want about 400ms", d)
	}
}

// A call may outlast IdleTimeout: a body sent slowly, and a long call
// whose caller then goes away (the watcher must still notice).
func TestCallsOutlastIdleDeadline(t *testing.T) {
	cancelled := make(chan struct{}, 1)
	h := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path == "/wait" {
			select {
			case <-r.Context().Done():
				cancelled <- struct{}{}
			case <-time.After(5 * time.Second):
			}
			return
		}
		echo(w, r)
	})
	addr := startIdle(t, h, 300*time.Millisecond)
	c, err := net.Dial("tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	br := bufio.NewReader(c)
	callOn(t, c, br, "GET /warm HTTP/1.1\r\nHost: h\r\n\r\n") // the idle deadline is set
	c.SetDeadline(time.Now().Add(5 * time.Second))
	io.WriteString(c, "POST /slow HTTP/1.1\r\nHost: h\r\nContent-Length: 6\r\n\r\nab")
	time.Sleep(400 * time.Millisecond)
	io.WriteString(c, "cd")
	time.Sleep(400 * time.Millisecond)
	io.WriteString(c, "ef")
	resp, err := http.ReadResponse(br, nil)
	if err != nil {
		t.Fatalf("slow body: %v", err)
	}
	if got := body(resp); !strings.HasPrefix(got, "POST /slow abcdef") {
		t.Fatalf("slow body answered %q", got)
	}
	io.WriteString(c, "GET /wait HTTP/1.1\r\nHost: h\r\n\r\n")
	time.Sleep(700 * time.Millisecond) // past WatchAfter and two IdleTimeouts
	c.Close()
	select {
	case <-cancelled:
	case <-time.After(3 * time.Second):
		t.Fatal("a caller gone after IdleTimeout was not noticed")
	}
}
