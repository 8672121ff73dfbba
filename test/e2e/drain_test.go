package e2e

import (
	"bufio"
	"io"
	"net"
	"net/http"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/ferryfaas/ferry/test/harness"
)

// TestDrainTellsCallersToReconnect: ferry serve told to stop (SIGTERM)
// while keep-alive callers keep calling (each with a think time between
// calls, its connection idle meanwhile) answers each of them with
// Connection: close (then they go elsewhere, as behind a Service) instead
// of closing a connection under a request: every request sent on an open
// connection gets its whole answer.
func TestDrainTellsCallersToReconnect(t *testing.T) {
	f := harness.T(t, harness.Options{Args: []string{"--drain-keepalive", "5s"}})
	deployCat(t, f, "drainfn")
	host := strings.TrimPrefix(f.URL, "http://")
	req := "POST /function/drainfn HTTP/1.1\r\nHost: " + host + "\r\nContent-Length: 2\r\n\r\nhi"

	const callers = 4
	var (
		signalled atomic.Bool
		calls     atomic.Int64
		lost      atomic.Int64
		told      atomic.Int64
		wg        sync.WaitGroup
	)
	deadline := time.Now().Add(60 * time.Second)
	for range callers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for n := 0; n < 20000 && time.Now().Before(deadline); {
				nc, err := net.Dial("tcp", host)
				if err != nil {
					lost.Add(1) // (refused before this caller was told)
					return
				}
				nc.SetDeadline(deadline)
				br := bufio.NewReader(nc)
				for ; n < 20000; n++ {
					if _, err := io.WriteString(nc, req); err != nil {
						lost.Add(1)
						break
					}
					resp, err := http.ReadResponse(br, nil)
					if err == nil {
						var b []byte
						b, err = io.ReadAll(resp.Body)
						if err == nil && (resp.StatusCode != 200 || string(b) != "hi") {
							t.Errorf("answer %d %q", resp.StatusCode, b)
						}
					}
					if err != nil {
						t.Errorf("a request on an open connection got no answer: %v (signalled %v)", err, signalled.Load())
						lost.Add(1)
						break
					}
					calls.Add(1)
					if resp.Close {
						if signalled.Load() {
							told.Add(1)
							nc.Close()
							return // gone to another gateway
						}
						break // (a close before the stop: reconnect)
					}
					// Think time: the stop most likely finds the connection
					// waiting for the caller's next request.
					time.Sleep(20 * time.Millisecond)
				}
				nc.Close()
			}
		}()
	}
	for calls.Load() < 200 && time.Now().Before(deadline) {
		time.Sleep(10 * time.Millisecond)
	}
	signalled.Store(true)
	start := time.Now()
	f.Stop()
	wg.Wait()
	t.Logf("%d calls; stopped in %v", calls.Load(), time.Since(start).Round(time.Millisecond))
	if lost.Load() != 0 || told.Load() != callers {
		t.Fatalf("%d of %d callers told to reconnect, %d requests lost", told.Load(), callers, lost.Load())
	}
}
