package queue

import (
	"fmt"
	"net"
	"net/http"
	"sync"
	"sync/atomic"
	"testing"
	"time"
)

// tarpit accepts connections and never answers; it reports how many it
// holds open now and at most.
func tarpit(t *testing.T) (url string, open, peak *atomic.Int64) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	open, peak = new(atomic.Int64), new(atomic.Int64)
	var conns sync.WaitGroup
	t.Cleanup(func() { ln.Close(); conns.Wait() })
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			n := open.Add(1)
			for p := peak.Load(); n > p && !peak.CompareAndSwap(p, n); p = peak.Load() {
			}
			conns.Add(1)
			go func() {
				defer conns.Done()
				defer open.Add(-1)
				buf := make([]byte, 4096)
				c.SetDeadline(time.Now().Add(40 * time.Second))
				for {
					if _, err := c.Read(buf); err != nil {
						c.Close()
						return
					}
				}
			}()
		}
	}()
	return "http://" + ln.Addr().String() + "/cb", open, peak
}

// Callbacks to a receiver that never answers hold only that receiver's
// share of the delivery slots: more of them than the callback consumer has
// slots still leave a healthy receiver's callbacks arriving at once.
func TestTarpitCallbacksDoNotStarveOthers(t *testing.T) {
	r := newRig(t, rigOptions{fn: func(w http.ResponseWriter, _ *http.Request) { w.Write([]byte("ok")) },
		bounds: Bounds{PerQueue: 1 << 20, Calls: 1 << 20}})
	r.fns.add("openfaas-fn", "slowcb", nil, nil)
	r.fns.add("openfaas-fn", "fastcb", nil, nil)
	pit, _, peak := tarpit(t)
	const n = 1100 // over the callback consumer's 1024 slots
	var wg sync.WaitGroup
	for g := 0; g < 10; g++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := g; i < n; i += 10 {
				req, _ := http.NewRequest("POST", r.async.URL+"/async-function/slowcb", nil)
				req.Header.Set("X-Callback-Url", pit)
				req.Header.Set("X-Call-Id", fmt.Sprint("pit-", i))
				resp, err := http.DefaultClient.Do(req)
				if err != nil {
					t.Error(err)
					return
				}
				resp.Body.Close()
				if resp.StatusCode != 202 {
					t.Errorf("enqueue: %d", resp.StatusCode)
				}
			}
		}()
	}
	wg.Wait()
	// Let the tarpit's callbacks be taken (the function answers at once).
	time.Sleep(3 * time.Second)
	cb := newCallbacks(t)
	start := time.Now()
	for i := 0; i < 5; i++ {
		post(t, "POST", r.async.URL+"/async-function/fastcb", nil, map[string]string{"X-Callback-Url": cb.srv.URL, "X-Call-Id": fmt.Sprint("ok-", i)})
	}
	for i := 0; i < 5; i++ {
		cb.next(t, 10*time.Second)
	}
	el := time.Since(start)
	t.Logf("5 healthy callbacks in %v; the tarpit held at most %d connections", el.Round(time.Millisecond), peak.Load())
	if el > 5*time.Second {
		t.Errorf("healthy callbacks took %v behind the tarpit's", el)
	}
	if p := peak.Load(); p < 1 || p > DefaultCallbackPerHost {
		t.Errorf("the tarpit held %d connections at once, want 1..%d", p, DefaultCallbackPerHost)
	}
}

func TestCallbackHost(t *testing.T) {
	for in, want := range map[string]string{
		"http://Example.com/x":       "example.com:80",
		"https://example.com/x":      "example.com:443",
		"http://127.0.0.1:9000/cb?a": "127.0.0.1:9000",
		"http://[::1]:9000/":         "[::1]:9000",
	} {
		if got := callbackHost(in); got != want {
			t.Errorf("%s: %s, want %s", in, got, want)
		}
	}
}

// A backlog of queued callbacks to one healthy receiver arrives at the
// receiver's pace: a callback that finds the receiver's share busy waits
// for a slot briefly instead of being put back for seconds (a backlog of
// thousands was spread over minutes).
func TestQueuedCallbackBacklogFlows(t *testing.T) {
	r := newRig(t, rigOptions{fn: func(w http.ResponseWriter, _ *http.Request) { w.Write([]byte("ok")) },
		bounds: Bounds{PerQueue: 1 << 20, Calls: 1 << 20}})
	r.fns.add("openfaas-fn", "backlog", map[string]string{LabelMaxInflight: "64"}, nil)
	cb := newCallbacks(t)
	const n = 2000
	start := time.Now()
	var wg sync.WaitGroup
	for g := 0; g < 16; g++ {
		wg.Go(func() {
			for i := g; i < n; i += 16 {
				req, _ := http.NewRequest("POST", r.async.URL+"/async-function/backlog", nil)
				req.Header.Set("X-Callback-Url", cb.srv.URL)
				resp, err := http.DefaultClient.Do(req)
				if err != nil {
					t.Error(err)
					return
				}
				resp.Body.Close()
			}
		})
	}
	wg.Wait()
	for range n {
		cb.next(t, 30*time.Second)
	}
	el := time.Since(start)
	t.Logf("%d queued callbacks in %v (%.0f/s)", n, el.Round(time.Millisecond), n/el.Seconds())
	if el > 12*time.Second && !raceEnabled { // 144/s before (14 s)

		t.Errorf("%d queued callbacks to a healthy receiver took %v", n, el)
	}
}
