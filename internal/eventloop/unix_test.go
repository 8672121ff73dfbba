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
// leaves the call to the TCP address, and a replica refused on both is
// resumed like a refused TCP connection.
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

	post := func(path string) string {
		resp, err := http.Post(r.url+path, "text/plain", strings.NewReader("again"))
		if err != nil {
			t.Fatal(err)
		}
		b, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		return string(b)
	}
	if got := post("/function/unixgone/y"); got != "tcp" {
		t.Fatalf("a Unix socket nobody listens on: answered %q, want the TCP address's %q", got, "tcp")
	}
	if got, want := post("/function/unixdead/y"), "resumed /function/unixdead/y call-1 again"; got != want {
		t.Fatalf("a dead replica (no socket, TCP refused) answered %q, want %q", got, want)
	}
	if _, resumed := r.planner.statuses(); len(resumed) != 1 {
		t.Fatalf("resumed %d calls, want 1", len(resumed))
	}
}
