package bench

import (
	"context"
	"fmt"
	"net/http"
	"sort"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/ferryfaas/ferry/test/harness"
)

// Autoscaler reaction: time from a load step (0 to 200 req/s on
// a function with type=rps, target=50) to an extra replica ready, over a
// few tries. Published: OpenFaaS's alert-driven scaling reacts in tens of
// seconds; Knative decides every 2 s from 1 s samples.
func init() { Register(Scenario{Name: "autoscale", Order: 40, Run: runAutoscale}) }

func runAutoscale(ctx context.Context, env *Env) ([]Row, error) {
	// A short stabilisation window so that each try starts from min again.
	f, err := harness.Start(harness.Options{Args: []string{"--autoscale-window", "2s", "--autoscale-down-period", "500ms"}})
	if err != nil {
		return nil, err
	}
	defer f.Stop()
	const name = "react"
	if err := Deploy(f, map[string]any{"service": name, "image": "cat", "envProcess": "cat", "labels": map[string]string{
		"com.openfaas.scale.type": "rps", "com.openfaas.scale.target": "50", "com.openfaas.scale.max": "8",
	}}); err != nil {
		return nil, err
	}
	tries := 5
	if env.Quick {
		tries = 1
	}
	var reacts []time.Duration
	var failed int64
	for i := 0; i < tries; i++ {
		if err := waitReplicas(ctx, f, name, 60*time.Second, func(d, r uint64) bool { return d == 1 && r == 1 }); err != nil {
			return nil, err
		}
		lctx, stop := context.WithTimeout(ctx, 15*time.Second)
		start := time.Now()
		done := pace(lctx, f.URL+"/function/"+name, 200, 3000)
		err := waitReplicas(lctx, f, name, 14*time.Second, func(_, ready uint64) bool { return ready >= 2 })
		el := time.Since(start)
		stop()
		sent, ok := done()
		if err != nil {
			return nil, fmt.Errorf("try %d: no extra replica under 200 req/s: %v", i+1, err)
		}
		failed += sent - ok
		reacts = append(reacts, el)
		env.Logf("   try %d: extra replica ready %s after the load step", i+1, el.Round(time.Millisecond))
	}
	sort.Slice(reacts, func(i, j int) bool { return reacts[i] < reacts[j] })
	p50, worst := Percentile(reacts, .5), reacts[len(reacts)-1]
	target := 3 * time.Second
	rows := []Row{
		{Case: "load step 0->200 req/s, target 50", Metric: "reaction p50 (to extra replica ready)", Value: Ms(p50), Unit: "ms",
			Baseline: "OpenFaaS alert path (published, >=)", BaselineValue: 20000, Ratio: Ms(p50) / Ms(target),
			Target: "<= 3000 ms", Met: p50 <= target},
		{Case: "load step 0->200 req/s, target 50", Metric: fmt.Sprintf("reaction worst of %d", len(reacts)), Value: Ms(worst), Unit: "ms",
			Ratio: Ms(worst) / Ms(target), Target: "<= 3000 ms", Met: worst <= target},
	}
	if failed > 0 {
		rows = append(rows, Row{Case: "load step 0->200 req/s, target 50", Metric: "failed requests", Value: float64(failed), Unit: "req"})
	}
	return rows, nil
}

// pace sends rps POSTs per second (open loop) until ctx ends or max were
// sent; done waits for the answers and returns how many were sent and how
// many answered 200 (requests cut off by ctx count as sent, not ok).
func pace(ctx context.Context, url string, rps int, max int64) (done func() (sent, ok int64)) {
	var s, o atomic.Int64
	client := NewClient(64)
	var wg sync.WaitGroup
	fin := make(chan struct{})
	go func() {
		defer close(fin)
		t := time.NewTicker(time.Second / time.Duration(rps))
		defer t.Stop()
		defer client.CloseIdleConnections()
		for s.Load() < max {
			select {
			case <-ctx.Done():
				wg.Wait()
				return
			case <-t.C:
			}
			s.Add(1)
			wg.Add(1)
			go func() {
				defer wg.Done()
				resp, err := client.Post(url, "text/plain", strings.NewReader("x"))
				if err != nil {
					return
				}
				resp.Body.Close()
				if resp.StatusCode == http.StatusOK {
					o.Add(1)
				}
			}()
		}
		wg.Wait()
	}()
	return func() (int64, int64) { <-fin; return s.Load(), o.Load() }
}
