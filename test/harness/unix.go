package harness

import (
	"context"
	"fmt"
	"net"
	"net/http"
	"os"
	"sync/atomic"
	"testing"
)

var unixSeq atomic.Int64

// ServeUnix serves srv on a fresh abstract Unix socket (Linux) until the
// test ends, and returns its name ('@' first); the test is skipped where
// abstract sockets do not exist.
func ServeUnix(t testing.TB, srv *http.Server) string {
	t.Helper()
	name := fmt.Sprintf("@ferry-test-%d-%d", os.Getpid(), unixSeq.Add(1))
	ln, err := net.Listen("unix", name)
	if err != nil {
		t.Skipf("no abstract Unix sockets here: %v", err)
	}
	go srv.Serve(ln)
	t.Cleanup(func() { srv.Close() })
	return name
}

// UnixClient is an HTTP client whose every connection goes to the Unix
// socket name, whatever the URL's host.
func UnixClient(name string) *http.Client {
	return &http.Client{Transport: &http.Transport{DialContext: func(ctx context.Context, _, _ string) (net.Conn, error) {
		return (&net.Dialer{}).DialContext(ctx, "unix", name)
	}}}
}
