package queue

import (
	"bytes"
	"fmt"
	"io"
	"net/http"
	"runtime"
	"runtime/debug"
	"sync"
	"sync/atomic"
	"testing"
	"time"
)

// heapInUse is the heap in use after collecting garbage.
func heapInUse() uint64 {
	runtime.GC()
	debug.FreeOSMemory()
	var ms runtime.MemStats
	runtime.ReadMemStats(&ms)
	return ms.HeapInuse
}

// TestBurstMemoryComesBack: 256 calls of 1 MB from 256 clients at once
// keep the heap bounded while they are stored (the stream holds them on
// disk, not in memory), and once run and drained the heap comes back down
// by itself, with the garbage collector tuned as in `ferry serve`.
func TestBurstMemoryComesBack(t *testing.T) {
	if testing.Short() {
		t.Skip("moves 256 MB through the queue")
	}
	defer debug.SetGCPercent(debug.SetGCPercent(400)) // as cli/gc.go
	var ran atomic.Int32
	r := newRig(t, rigOptions{maxBody: 2 << 20, fn: func(w http.ResponseWriter, req *http.Request) {
		io.Copy(io.Discard, req.Body)
		ran.Add(1)
	}})
	r.fns.add("openfaas-fn", "burst", nil, nil)
	post(t, "POST", r.async.URL+"/async-function/burst", nil, nil) // warm up: queue, consumer, worker
	for ran.Load() < 1 {
		time.Sleep(10 * time.Millisecond)
	}
	before := heapInUse()
	const calls, size = 256, 1_000_000
	body := bytes.Repeat([]byte("x"), size)
	var wg sync.WaitGroup
	var accepted atomic.Int32
	var peak atomic.Uint64
	stop := make(chan struct{})
	go func() {
		t := time.NewTicker(5 * time.Millisecond)
		defer t.Stop()
		for {
			select {
			case <-stop:
				return
			case <-t.C:
				var ms runtime.MemStats
				runtime.ReadMemStats(&ms)
				if ms.HeapInuse > peak.Load() {
					peak.Store(ms.HeapInuse)
				}
			}
		}
	}()
	const clients = 256
	t0 := time.Now()
	for g := 0; g < clients; g++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := g; i < calls; i += clients {
				resp, err := http.Post(r.async.URL+"/async-function/burst", "application/octet-stream", bytes.NewReader(body))
				if err != nil {
					t.Error(err)
					return
				}
				resp.Body.Close()
				if resp.StatusCode == http.StatusAccepted {
					accepted.Add(1)
				}
			}
		}()
	}
	wg.Wait()
	stored := time.Since(t0)
	close(stop)
	body = nil
	deadline := time.Now().Add(60 * time.Second)
	for ran.Load() < 1+accepted.Load() && time.Now().Before(deadline) {
		time.Sleep(20 * time.Millisecond)
	}
	if ran.Load() < 1+accepted.Load() {
		t.Fatalf("%d of %d calls ran", ran.Load()-1, accepted.Load())
	}
	time.Sleep(3 * time.Second) // idle: no allocation drives a collection
	var ms runtime.MemStats
	runtime.ReadMemStats(&ms)
	after := ms.HeapInuse
	t.Logf("heap in use: %.1f MB before, %.1f MB peak while storing (%v), %.1f MB after %d x %d B calls (%d accepted) drained",
		float64(before)/1e6, float64(peak.Load())/1e6, stored.Round(time.Millisecond), float64(after)/1e6, calls, size, accepted.Load())
	// Without a bound on the bodies being stored at once, this burst
	// peaked over 1 GB.
	if peak.Load() > before+768<<20 {
		t.Errorf("heap peaked at %.1f MB while storing the burst", float64(peak.Load())/1e6)
	}
	// Without a release after the burst, the garbage stayed: 1.4 GB.
	if after > before+32<<20 {
		t.Errorf("heap grew by %s after the burst drained", fmt.Sprintf("%.1f MB", float64(after-before)/1e6))
	}
}

// TestMemoryComesBackAfterSlowCallbacks: the release after a burst waits
// until the calls are over, callbacks included. It once counted a call
// when its function answered: with a callback receiver slower than the
// release's quiet second, the collection ran while every call still held
// its body, and that garbage then stayed (the rare failure of the burst
// test above on a loaded host).
func TestMemoryComesBackAfterSlowCallbacks(t *testing.T) {
	if testing.Short() {
		t.Skip("moves 64 MB through the queue")
	}
	defer debug.SetGCPercent(debug.SetGCPercent(400)) // as cli/gc.go
	var called atomic.Int32
	slow, _ := target(t, func(w http.ResponseWriter, r *http.Request) {
		time.Sleep(2 * releaseQuiet)
		called.Add(1)
	})
	r := newRig(t, rigOptions{maxBody: 2 << 20, callbackDirect: time.Minute, fn: func(w http.ResponseWriter, req *http.Request) {
		io.Copy(io.Discard, req.Body)
	}})
	r.fns.add("openfaas-fn", "burst", map[string]string{LabelMaxInflight: "64"}, nil)
	hdr := map[string]string{"X-Callback-Url": slow.URL}
	post(t, "POST", r.async.URL+"/async-function/burst", nil, hdr) // warm up
	for called.Load() < 1 {
		time.Sleep(10 * time.Millisecond)
	}
	time.Sleep(2 * releaseQuiet)
	before := heapInUse()
	const calls = 64
	body := bytes.Repeat([]byte("x"), 1_000_000)
	for i := 0; i < calls; i++ {
		if resp := post(t, "POST", r.async.URL+"/async-function/burst", body, hdr); resp.StatusCode != http.StatusAccepted {
			t.Fatalf("enqueue %d: %d", i, resp.StatusCode)
		}
	}
	body = nil
	deadline := time.Now().Add(60 * time.Second)
	for called.Load() < 1+calls && time.Now().Before(deadline) {
		time.Sleep(20 * time.Millisecond)
	}
	if called.Load() < 1+calls {
		t.Fatalf("%d of %d callbacks arrived", called.Load()-1, calls)
	}
	time.Sleep(3 * releaseQuiet) // idle: no allocation drives a collection
	var ms runtime.MemStats
	runtime.ReadMemStats(&ms)
	t.Logf("heap in use: %.1f MB before, %.1f MB after %d calls of 1 MB with slow callbacks", float64(before)/1e6, float64(ms.HeapInuse)/1e6, calls)
	if ms.HeapInuse > before+32<<20 {
		t.Errorf("heap grew by %.1f MB after the calls and their callbacks were over", float64(ms.HeapInuse-before)/1e6)
	}
}
