package eventloop

import (
	"fmt"
	"io"
	"net"
	"net/http"
	"strings"
	"sync/atomic"
	"testing"

	"github.com/ferryfaas/ferry/test/harness"
)

// TestUnixUpstream: a call planned with a Unix socket reaches the replica
// through it (an abstract name), with the TCP address as its Host, and
// the connection is pooled for the next call; a socket nobody listens on
// is a failed replica, resumed like a refused TCP connection.
func TestUnixUpstream(t *testing.T) {
	var conns atomic.Int64
	name := harness.ServeUnix(t, &http.Server{
		Handler: http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			body, _ := io.ReadAll(r.Body)
			fmt.Fprintf(w, "unix %s %s %s", r.Host, r.URL.Path, body)
		}),
		ConnState: func(_ net.Conn, s http.ConnState) {
			if s == http.StateNew {
				conns.Add(1)
			}
		},
	})

	tcp := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { io.WriteString(w, "tcp") })
	// set before the loop starts: the race detector cannot see the
	// ordering a request over a socket gives
	r := newRig(t, tcp, func(s *Server) { s.Planner.(*fakePlanner).unix = name })
	for i := 0; i < 3; i++ {
		resp, err := http.Post(r.url+"/function/unix/x", "text/plain", strings.NewReader("hi"))
		if err != nil {
			t.Fatal(err)
		}
		b, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		if want := "unix " + r.planner.addr.String() + " /unix/x hi"; string(b) != want {
			t.Fatalf("call %d answered %q, want %q", i, b, want)
		}
	}
	if n := conns.Load(); n != 1 {
		t.Errorf("%d connections to the Unix socket for 3 sequential calls, want 1 (pooled)", n)
	}

	resp, err := http.Post(r.url+"/function/unixgone/y", "text/plain", strings.NewReader("again"))
	if err != nil {
		t.Fatal(err)
	}
	b, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if want := "resumed /function/unixgone/y call-1 again"; string(b) != want {
		t.Fatalf("a dead Unix socket answered %q, want %q", b, want)
	}
	if _, resumed := r.planner.statuses(); len(resumed) != 1 {
		t.Fatalf("resumed %d calls, want 1", len(resumed))
	}
}
