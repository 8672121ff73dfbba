//go:build linux

package eventloop

import (
	"bufio"
	"bytes"
	"fmt"
	"io"
	"math/rand/v2"
	"net"
	"net/http"
	"os"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"
)

// stressReplica answers /function/s/{mode}/{n} with the request body
// repeated n times, framed as mode says: "len" (Content-Length), "chunk"
// (flushed in pieces), "close" (until the connection closes), "slow"
// (Content-Length, after a pause), "die" (hangs up before answering).
func stressReplica(w http.ResponseWriter, r *http.Request) {
	parts := strings.Split(strings.TrimPrefix(r.URL.Path, "/"), "/")
	body, _ := io.ReadAll(r.Body)
	n, _ := strconv.Atoi(parts[2])
	out := bytes.Repeat(body, n)
	switch parts[1] {
	case "len":
		w.Header().Set("Content-Length", strconv.Itoa(len(out)))
		w.Write(out)
	case "slow":
		time.Sleep(time.Duration(rand.IntN(20)) * time.Millisecond)
		w.Header().Set("Content-Length", strconv.Itoa(len(out)))
		w.Write(out)
	case "chunk":
		for len(out) > 0 {
			k := min(len(out), 1+rand.IntN(3000))
			w.Write(out[:k])
			w.(http.Flusher).Flush()
			out = out[k:]
		}
	case "close":
		c, brw, _ := http.NewResponseController(w).Hijack()
		brw.WriteString("HTTP/1.1 200 OK\r\nContent-Type: application/octet-stream\r\n\r\n")
		brw.Write(out)
		brw.Flush()
		c.Close()
	case "die":
		c, _, _ := http.NewResponseController(w).Hijack()
		c.Close()
	}
}

// TestStress sends calls of every framing from many callers at once,
// pipelined or not, some over the body limit (handed back), some left
// half-way, with a replica that sometimes hangs up: every answer that
// arrives must be the right one, and nothing may be left open.
func TestStress(t *testing.T) {
	fdsBefore := openFDs(t)
	r := newRig(t, http.HandlerFunc(stressReplica), func(s *Server) { s.MaxBody = 4096 })
	const callers, calls = 12, 150
	deadline := time.Now().Add(20 * time.Second)
	var wg sync.WaitGroup
	errs := make(chan error, callers)
	for i := 0; i < callers; i++ {
		wg.Add(1)
		go func(seed uint64) {
			defer wg.Done()
			errs <- stressCaller(r.addr, rand.New(rand.NewPCG(seed, 7)), calls, deadline)
		}(uint64(i))
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		if err != nil {
			t.Error(err)
		}
	}
	done, resumed := r.planner.statuses()
	t.Logf("%d calls done in the loop, %d resumed", len(done), len(resumed))
	if len(done) < callers*calls/4 {
		t.Errorf("only %d calls went through the loop", len(done))
	}
	r.front.Shutdown(t.Context())
	r.upstream.Close()
	// Every socket the loop held is closed (give the closes a moment).
	for i := 0; ; i++ {
		if n := openFDs(t); n <= fdsBefore+2 || i == 100 {
			if n > fdsBefore+2 {
				t.Errorf("%d fds open after the test, %d before", n, fdsBefore)
			}
			break
		}
		time.Sleep(20 * time.Millisecond)
	}
}

func stressCaller(addr string, rnd *rand.Rand, calls int, deadline time.Time) error {
	modes := []string{"len", "len", "chunk", "close", "slow", "die"}
	var c net.Conn
	var br *bufio.Reader
	for i := 0; i < calls && time.Now().Before(deadline); i++ {
		if c == nil {
			var err error
			if c, err = net.Dial("tcp", addr); err != nil {
				return err
			}
			br = bufio.NewReader(c)
		}
		c.SetDeadline(time.Now().Add(10 * time.Second))
		mode := modes[rnd.IntN(len(modes))]
		size := rnd.IntN(3000)
		if rnd.IntN(10) == 0 {
			size = 5000 + rnd.IntN(3000) // over MaxBody: handed back
		}
		n := rnd.IntN(4)
		body := make([]byte, size)
		for j := range body {
			body[j] = byte('a' + rnd.IntN(26))
		}
		req := fmt.Sprintf("POST /function/s/%s/%d HTTP/1.1\r\nHost: h\r\nContent-Length: %d\r\n\r\n", mode, n, size)
		batch := 1
		if mode == "len" && rnd.IntN(3) == 0 {
			batch = 2 // pipelined
		}
		wire := bytes.Repeat(append([]byte(req), body...), batch)
		// Written in random pieces.
		for len(wire) > 0 {
			k := min(len(wire), 1+rnd.IntN(1500))
			if _, err := c.Write(wire[:k]); err != nil {
				return err
			}
			wire = wire[k:]
		}
		if rnd.IntN(25) == 0 { // leave half-way
			c.Close()
			c = nil
			continue
		}
		for b := 0; b < batch; b++ {
			resp, err := http.ReadResponse(br, nil)
			if err != nil {
				return fmt.Errorf("%s call %d: %v", mode, i, err)
			}
			got, err := io.ReadAll(resp.Body)
			resp.Body.Close()
			want := bytes.Repeat(body, n)
			switch {
			case mode == "die":
				// Resumed off the loop (the fake planner's handler), or, over
				// MaxBody, served by the fallback: either is an answer, not
				// the replica's.
				if resp.StatusCode != 200 || !bytes.HasPrefix(got, []byte("resumed ")) && !bytes.HasPrefix(got, []byte("fallback ")) {
					return fmt.Errorf("die call %d: %d %.60q", i, resp.StatusCode, got)
				}
			case size > 4096:
				if !bytes.HasPrefix(got, []byte("fallback /function/s/")) {
					return fmt.Errorf("%s call %d over MaxBody: %.60q", mode, i, got)
				}
			case err != nil || !bytes.Equal(got, want):
				return fmt.Errorf("%s call %d (%d bytes x%d): got %d bytes %.40q (%v), want %d", mode, i, size, n, len(got), got, err, len(want))
			}
			if resp.Close || size > 4096 || mode == "die" {
				c.Close()
				c = nil
				break
			}
		}
	}
	if c != nil {
		c.Close()
	}
	return nil
}

func openFDs(t *testing.T) int {
	ents, err := os.ReadDir("/proc/self/fd")
	if err != nil {
		t.Skip("no /proc/self/fd")
	}
	return len(ents)
}
