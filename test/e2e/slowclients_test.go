package e2e

import (
	"bytes"
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

// TestSlowAndOversizedClients runs `ferry serve` with a small connection
// cap and short head deadline: connections held open by silent or
// trickling callers do not stop health and API calls, a trickled head is
// cut at its deadline, and an oversized body is a 413 the caller reads.
func TestSlowAndOversizedClients(t *testing.T) {
	f := harness.T(t, harness.Options{Args: []string{"--max-conns", "60", "--read-header-timeout", "1s", "--max-invoke-body", "1048576"}})
	deployCat(t, f, "slowcat")
	host := strings.TrimPrefix(f.URL, "http://")

	var held []net.Conn
	defer func() {
		for _, c := range held {
			c.Close()
		}
	}()
	for i := 0; i < 150; i++ { // bounded: 2.5 times the cap
		c, err := net.Dial("tcp", host)
		if err != nil {
			t.Fatal(err)
		}
		if i%2 == 1 {
			io.WriteString(c, "GET /function/slowcat HTTP/1.1\r\n")
		}
		held = append(held, c)
	}
	for i := 0; i < 3; i++ {
		resp, err := http.Get(f.URL + "/healthz")
		if err != nil || resp.StatusCode != 200 {
			t.Fatalf("/healthz with the cap filled by slow callers: %v", err)
		}
		resp.Body.Close()
		req, _ := http.NewRequest("GET", f.URL+"/system/functions", nil)
		req.SetBasicAuth(f.User, f.Password)
		resp, err = http.DefaultClient.Do(req)
		if err != nil || resp.StatusCode != 200 {
			t.Fatalf("/system/functions with the cap filled by slow callers: %v", err)
		}
		resp.Body.Close()
	}
	var open atomic.Int64
	var wg sync.WaitGroup
	for _, c := range held {
		wg.Add(1)
		go func() {
			defer wg.Done()
			c.SetReadDeadline(time.Now().Add(200 * time.Millisecond))
			if _, err := c.Read(make([]byte, 1)); err != io.EOF {
				open.Add(1)
			}
		}()
	}
	wg.Wait()
	if n := open.Load(); n > 60 {
		t.Errorf("%d slow connections still open; the cap is 60", n)
	}

	c, err := net.Dial("tcp", host)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	io.WriteString(c, "GET /function/slowcat HTTP/1.1\r\nHost: x\r\n")
	start := time.Now()
	for time.Since(start) < 10*time.Second {
		if _, err := io.WriteString(c, "X-Slow: 1\r\n"); err != nil {
			break
		}
		time.Sleep(100 * time.Millisecond)
	}
	if el := time.Since(start); el > 5*time.Second {
		t.Errorf("a head trickled every 100 ms was held %v (deadline 1s)", el)
	}

	req, _ := http.NewRequest("POST", f.URL+"/function/slowcat", bytes.NewReader(make([]byte, 8<<20)))
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatalf("an 8 MiB body over the 1 MiB limit: %v, want a 413 answer", err)
	}
	b, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != 413 || !strings.Contains(string(b), "1048576 bytes (--max-invoke-body)") {
		t.Fatalf("an 8 MiB body over the 1 MiB limit: %d %q", resp.StatusCode, b)
	}
}
