package watchdog

import (
	"bufio"
	"io"
	"net"
	"net/http"
	"sync/atomic"
	"testing"
	"time"

	"github.com/ferryfaas/ferry/internal/wire"
	"github.com/ferryfaas/ferry/test/harness"
)

// TestUpstreamRetry: a pooled connection the function closed before a
// byte of its answer is retried on a new one (the request never reached
// it); one closed mid-head is not (the function took the request and
// began answering: a retry would run it twice).
func TestUpstreamRetry(t *testing.T) {
	for _, c := range []struct {
		name   string
		second string        // written on the kept-alive connection, then closed
		after  time.Duration // how long the function holds the call first
		retry  bool
	}{
		{"closed before answering", "", 0, true},
		{"closed mid-head", "HTTP/1.1 200 OK\r\nX-A: 1\r\n", 0, false},
		// A function that took the call and died running it (a worker
		// killed at its timeout) closes it with no answer too, but later.
		{"closed while running", "", 4 * wire.StaleWindow, false},
		{"closed after 100 Continue", "HTTP/1.1 100 Continue\r\n\r\n", 0, false},
	} {
		t.Run(c.name, func(t *testing.T) {
			var conns atomic.Int32
			addr := harness.RawServer(t, func(n int, nc net.Conn, br *bufio.Reader) {
				conns.Add(1)
				for i := 0; ; i++ {
					req, err := http.ReadRequest(br)
					if err != nil {
						return
					}
					io.Copy(io.Discard, req.Body)
					if n == 0 && i == 1 {
						time.Sleep(c.after) // the function running the call
						io.WriteString(nc, c.second)
						if tc, ok := nc.(*net.TCPConn); ok && c.second != "" {
							tc.SetLinger(0) // a reset, not a close: ECONNRESET
						}
						return
					}
					io.WriteString(nc, "HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok")
				}
			})
			pool := &upstreamPool{addr: addr, maxIdle: 4}
			get := func() error {
				req, _ := http.NewRequest("POST", "http://x/", nil)
				resp, uc, err := pool.roundTrip(req, "/", []byte("b"), nil, 1, time.Now().Add(5*time.Second))
				if err != nil {
					return err
				}
				io.Copy(io.Discard, resp.Body)
				resp.Body.Close()
				pool.release(uc, true)
				return nil
			}
			if err := get(); err != nil {
				t.Fatal(err)
			}
			err := get()
			if retried := conns.Load() == 2; retried != c.retry || (err == nil) != c.retry {
				t.Fatalf("second call: %v, retried on a new connection: %v; want a retry: %v", err, retried, c.retry)
			}
		})
	}
}
