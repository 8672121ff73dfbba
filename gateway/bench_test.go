package gateway

import (
	"github.com/ferryfaas/ferry/provider/providertest"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"runtime"
	"strings"
	"sync/atomic"
	"syscall"
	"testing"
	"time"
)

// Benchmarks compare a call straight to an upstream with the same call
// through the gateway; the difference is the gateway's cost (allocations
// of the client and upstream are in both).
//
//	go test -run XXX -bench . -benchmem ./gateway/

func benchUpstream(b *testing.B) string {
	s := httptest.NewUnstartedServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		io.Copy(io.Discard, r.Body)
		w.Write([]byte("ok"))
	}))
	s.Config.ConnState = func(c net.Conn, st http.ConnState) {
		if st == http.StateNew {
			upstreamConns.Add(1)
		}
	}
	s.Start()
	b.Cleanup(s.Close)
	return strings.TrimPrefix(s.URL, "http://")
}

// upstreamConns counts connections opened to benchmark upstreams: it must
// stay near the concurrency, not grow with b.N (keep-alive works).
var upstreamConns atomic.Int64

// cpuTime is this process's user+system CPU time.
func cpuTime() time.Duration {
	var ru syscall.Rusage
	syscall.Getrusage(syscall.RUSAGE_SELF, &ru)
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

func benchClient() *http.Client {
	return &http.Client{Transport: &http.Transport{MaxIdleConnsPerHost: 256, DisableCompression: true}}
}

func runCalls(b *testing.B, url string, parallel int) {
	c := benchClient()
	body := strings.Repeat("x", 64)
	do := func() {
		resp, err := c.Post(url, "text/plain", strings.NewReader(body))
		if err != nil {
			b.Fatal(err)
		}
		io.Copy(io.Discard, resp.Body)
		resp.Body.Close()
		if resp.StatusCode != 200 {
			b.Fatalf("status %d", resp.StatusCode)
		}
	}
	b.ReportAllocs()
	conns0 := upstreamConns.Load()
	b.ResetTimer()
	cpu0 := cpuTime()
	if parallel <= 1 {
		for i := 0; i < b.N; i++ {
			do()
		}
	} else {
		// SetParallelism multiplies by GOMAXPROCS; aim at `parallel` callers.
		b.SetParallelism((parallel + runtime.GOMAXPROCS(0) - 1) / runtime.GOMAXPROCS(0))
		b.RunParallel(func(pb *testing.PB) {
			for pb.Next() {
				do()
			}
		})
	}
	b.StopTimer()
	b.ReportMetric(float64((cpuTime()-cpu0).Microseconds())/float64(b.N), "cpu-us/op")
	b.ReportMetric(float64(upstreamConns.Load()-conns0), "upstream-conns")
}

func benchGateway(b *testing.B, replicas int) string {
	fp := providertest.New()
	var addrs []string
	for i := 0; i < replicas; i++ {
		addrs = append(addrs, benchUpstream(b))
	}
	fp.Add(ns, "echo", uint64(replicas), addrs...)
	// RestrictHosts, as ferry serve on loopback: its Host check is on the path.
	_, srv := newTestGateway(b, fp, func(c *Config) { c.Observer = &nopObserver{}; c.RestrictHosts = true })
	return srv.URL + "/function/echo"
}

type nopObserver struct{}

func (nopObserver) Started(string)                      {}
func (nopObserver) Finished(string, int, time.Duration) {}

func BenchmarkDirect(b *testing.B) { runCalls(b, "http://"+benchUpstream(b)+"/", 1) }

func BenchmarkInvoke(b *testing.B) { runCalls(b, benchGateway(b, 1), 1) }

func BenchmarkDirectParallel16(b *testing.B) { runCalls(b, "http://"+benchUpstream(b)+"/", 16) }

func BenchmarkInvokeParallel16(b *testing.B) { runCalls(b, benchGateway(b, 1), 16) }

// BenchmarkInvokeHandler drives ServeHTTP directly (no client, no inbound
// server): the gateway's own path plus the upstream round trip.
func BenchmarkInvokeHandler(b *testing.B) {
	fp := providertest.New()
	fp.Add(ns, "echo", 1, benchUpstream(b))
	g, _ := newTestGateway(b, fp, func(c *Config) { c.Observer = &nopObserver{} })
	w := &discardWriter{h: http.Header{}}
	b.ReportAllocs()
	b.ResetTimer()
	cpu0 := cpuTime()
	defer func() {
		b.ReportMetric(float64((cpuTime()-cpu0).Microseconds())/float64(b.N), "cpu-us/op")
	}()
	for i := 0; i < b.N; i++ {
		req, _ := http.NewRequest("GET", "http://gw/function/echo/x?y=1", nil)
		req.RemoteAddr = "127.0.0.1:5555"
		clear(w.h)
		g.ServeHTTP(w, req)
		if w.code != 200 {
			b.Fatalf("status %d", w.code)
		}
	}
}

type discardWriter struct {
	h    http.Header
	code int
}

func (d *discardWriter) Header() http.Header         { return d.h }
func (d *discardWriter) Write(p []byte) (int, error) { return len(p), nil }
func (d *discardWriter) WriteHeader(c int)           { d.code = c }
