package gateway

import (
	"bufio"
	"bytes"
	"github.com/ferryfaas/ferry/provider/providertest"
	"io"
	"net"
	"net/http"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"
)

// A caller's X-Forwarded-For is kept and the peer appended (it does not
// replace the peer), on whichever front serves the call.
func TestForwardedForAppendsThePeer(t *testing.T) {
	got := make(chan http.Header, 4)
	addr := upstream(t, func(w http.ResponseWriter, r *http.Request) {
		io.Copy(io.Discard, r.Body)
		got <- r.Header.Clone()
	})
	fp := providertest.New()
	fp.Add(ns, "echo", 1, addr)
	_, srv := newTestGateway(t, fp, nil)
	for _, body := range []string{"", strings.Repeat("b", 100<<10)} { // held in memory, streamed
		expect(t, call(t, "POST", srv.URL+"/function/echo", body, false, "X-Forwarded-For", "203.0.113.9"), 200, "")
		if h := <-got; !equal(h["X-Forwarded-For"], "203.0.113.9, 127.0.0.1") {
			t.Fatalf("body of %d bytes: X-Forwarded-For %q, want the caller's then the peer", len(body), h["X-Forwarded-For"])
		}
	}
}

func equal(v []string, want ...string) bool {
	return strings.Join(v, "\n") == strings.Join(want, "\n")
}

// Callers holding connections open (silent, or trickling a head) do not
// stop the gateway: at the connection cap the ones waiting longest are
// shed, so health and API calls are still served; heads are cut off at
// their deadline however they trickle.
func TestSlowCallersDoNotStopTheGateway(t *testing.T) {
	fp := providertest.New()
	lim := frontLimits{head: 400 * time.Millisecond, maxConns: 100}
	_, srv := newLimitedGateway(t, fp, nil, lim)
	host := strings.TrimPrefix(srv.URL, "http://")

	trickler, err := net.Dial("tcp", host)
	if err != nil {
		t.Fatal(err)
	}
	defer trickler.Close()
	io.WriteString(trickler, "GET /function/echo HTTP/1.1\r\nHost: x\r\n")
	closed := make(chan time.Duration, 1)
	start := time.Now()
	go func() {
		trickler.SetReadDeadline(time.Now().Add(5 * time.Second))
		io.Copy(io.Discard, trickler)
		closed <- time.Since(start)
	}()
	tick := time.NewTicker(50 * time.Millisecond)
	defer tick.Stop()
wait:
	for {
		select {
		case el := <-closed:
			if el >= 5*time.Second {
				t.Fatalf("a head trickled a line every 50 ms was still open after %v (deadline %v)", el, lim.head)
			}
			break wait
		case <-tick.C:
			io.WriteString(trickler, "X-Slow: 1\r\n")
		}
	}

	if testFront == "http" {
		t.Log("net/http alone has no connection cap (ferry serve puts http1 in front of it): the cap is not tested")
		return
	}
	// The cap, with heads that have their whole deadline (10 s) to come.
	lim = frontLimits{maxConns: 100}
	_, srv = newLimitedGateway(t, fp, nil, lim)
	host = strings.TrimPrefix(srv.URL, "http://")
	var held []net.Conn
	defer func() {
		for _, c := range held {
			c.Close()
		}
	}()
	for i := 0; i < 2*lim.maxConns; i++ { // twice the cap: silent, or a head begun
		c, err := net.Dial("tcp", host)
		if err != nil {
			t.Fatal(err)
		}
		if i%2 == 1 {
			io.WriteString(c, "GET /healthz HTTP/1.1\r\n")
		}
		held = append(held, c)
	}
	for i := 0; i < 5; i++ {
		expect(t, call(t, "GET", srv.URL+"/healthz", "", false), 200, "")
		expect(t, call(t, "GET", srv.URL+"/system/functions", "", true), 200, "[")
	}
	// The gateway held no more than the cap: the oldest were closed.
	var shed atomic.Int64
	var wg sync.WaitGroup
	for _, c := range held {
		wg.Add(1)
		go func() {
			defer wg.Done()
			c.SetReadDeadline(time.Now().Add(time.Second))
			if _, err := c.Read(make([]byte, 1)); err == io.EOF {
				shed.Add(1)
			}
		}()
	}
	wg.Wait()
	if n := int(shed.Load()); n < len(held)-lim.maxConns {
		t.Fatalf("%d of %d waiting connections were closed; the cap is %d", n, len(held), lim.maxConns)
	}
}

// A body over the limit is a 413 naming the limit and its flag, and the
// answer reaches the caller (no reset while it is still sending); a body
// that stops coming is a 408. Both for a body held in memory (the loop's
// own) and a streamed one.
func TestOversizedAndStalledBodies(t *testing.T) {
	addr := upstream(t, func(w http.ResponseWriter, r *http.Request) { io.Copy(io.Discard, r.Body) })
	fp := providertest.New()
	fp.Add(ns, "echo", 1, addr)
	lim := frontLimits{body: 300 * time.Millisecond}
	_, srv := newLimitedGateway(t, fp, func(c *Config) {
		c.MaxInvokeBodyBytes = 256 << 10
		c.BodyTimeout = lim.body
	}, lim)

	big := bytes.Repeat([]byte("x"), 4<<20)
	for _, chunked := range []bool{false, true} {
		var body io.Reader = bytes.NewReader(big)
		if chunked {
			body = io.MultiReader(body) // no length: sent chunked
		}
		req, _ := http.NewRequest("POST", srv.URL+"/function/echo", body)
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatalf("chunked=%v: %v (want a 413 answer)", chunked, err)
		}
		b, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		if resp.StatusCode != 413 || !strings.Contains(string(b), "262144 bytes (--max-invoke-body)") {
			t.Fatalf("chunked=%v: %d %q", chunked, resp.StatusCode, b)
		}
	}

	for _, n := range []int{1000, 100 << 10} {
		c, err := net.Dial("tcp", strings.TrimPrefix(srv.URL, "http://"))
		if err != nil {
			t.Fatal(err)
		}
		defer c.Close()
		io.WriteString(c, "POST /function/echo HTTP/1.1\r\nHost: x\r\nContent-Length: "+strconv.Itoa(n)+"\r\n\r\n")
		c.Write(big[:n/2]) // then nothing
		c.SetReadDeadline(time.Now().Add(5 * time.Second))
		resp, err := http.ReadResponse(bufio.NewReader(c), nil)
		if err != nil {
			t.Fatalf("a %d-byte body stalled half way: %v, want a 408", n, err)
		}
		b, _ := io.ReadAll(resp.Body)
		if resp.StatusCode != 408 || !strings.Contains(string(b), "--body-timeout") {
			t.Fatalf("a %d-byte body stalled half way: %d %q", n, resp.StatusCode, b)
		}
	}
}

// A replica that drops the connection while a streamed body is still
// being sent (its watchdog's read_timeout cut the upload) is a 502 that
// says so, not a bare "connection reset".
func TestUploadCutByTheReplicaSaysSo(t *testing.T) {
	addr := upstream(t, func(w http.ResponseWriter, r *http.Request) {
		io.CopyN(io.Discard, r.Body, 8<<10)
		c, _, err := http.NewResponseController(w).Hijack()
		if err == nil {
			c.Close()
		}
	})
	fp := providertest.New()
	fp.Add(ns, "cut", 1, addr)
	_, srv := newTestGateway(t, fp, nil)
	r := call(t, "POST", srv.URL+"/function/cut", strings.Repeat("x", 4<<20), false)
	expect(t, r, 502, "while the request body was still being sent")
}
