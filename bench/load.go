package bench

import (
	"context"
	"io"
	"net"
	"net/http"
	"sort"
	"strings"
	"sync"
	"sync/atomic"
	"time"
)

// LoadResult summarises a closed-loop load run.
type LoadResult struct {
	Requests int64
	Errors   int64
	Elapsed  time.Duration
	RPS      float64
	P50, P99 time.Duration
}

// NewClient is a keep-alive HTTP client sized for concurrency c.
func NewClient(c int) *http.Client {
	return &http.Client{Transport: &http.Transport{
		Proxy:               nil,
		DialContext:         (&net.Dialer{Timeout: 5 * time.Second}).DialContext,
		MaxIdleConns:        c * 2,
		MaxIdleConnsPerHost: c * 2,
		DisableCompression:  true,
	}, Timeout: 30 * time.Second}
}

// Load runs c workers sending POST url with body in a closed loop for d, or
// until max requests (bounded in time AND count). A non-2xx answer counts as
// an error. Latencies are recorded per request.
func Load(ctx context.Context, url, body string, c int, d time.Duration, max int64) LoadResult {
	client := NewClient(c)
	defer client.CloseIdleConnections()
	ctx, cancel := context.WithTimeout(ctx, d)
	defer cancel()
	var n, errs atomic.Int64
	lat := make([][]time.Duration, c)
	var wg sync.WaitGroup
	start := time.Now()
	for w := 0; w < c; w++ {
		wg.Add(1)
		go func(w int) {
			defer wg.Done()
			l := make([]time.Duration, 0, 4096)
			for ctx.Err() == nil && n.Add(1) <= max {
				t0 := time.Now()
				req, _ := http.NewRequestWithContext(ctx, "POST", url, strings.NewReader(body))
				resp, err := client.Do(req)
				if err != nil {
					if ctx.Err() == nil {
						errs.Add(1)
					} else {
						n.Add(-1)
					}
					continue
				}
				io.Copy(io.Discard, resp.Body)
				resp.Body.Close()
				if resp.StatusCode/100 != 2 {
					errs.Add(1)
				}
				l = append(l, time.Since(t0))
			}
			lat[w] = l
		}(w)
	}
	wg.Wait()
	el := time.Since(start)
	var all []time.Duration
	for _, l := range lat {
		all = append(all, l...)
	}
	sort.Slice(all, func(i, j int) bool { return all[i] < all[j] })
	r := LoadResult{Requests: int64(len(all)), Errors: errs.Load(), Elapsed: el}
	if el > 0 {
		r.RPS = float64(len(all)) / el.Seconds()
	}
	r.P50, r.P99 = Percentile(all, 0.50), Percentile(all, 0.99)
	return r
}

// Percentile of sorted durations.
func Percentile(sorted []time.Duration, p float64) time.Duration {
	if len(sorted) == 0 {
		return 0
	}
	i := int(float64(len(sorted)-1) * p)
	return sorted[i]
}

// Ms converts to float milliseconds.
func Ms(d time.Duration) float64 { return float64(d) / 1e6 }

// Us converts to float microseconds.
func Us(d time.Duration) float64 { return float64(d) / 1e3 }
