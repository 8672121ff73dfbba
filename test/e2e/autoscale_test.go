package e2e

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/ferryfaas/ferry/test/harness"
)

// fnState is the part of a FunctionStatus the scaling tests read.
type fnState struct {
	Replicas          uint64 `json:"replicas"`
	AvailableReplicas uint64 `json:"availableReplicas"`
	InvocationCount   float64
	Autoscaler        *struct {
		From, To uint64
		Reason   string
	} `json:"autoscaler"`
}

func getFn(t testing.TB, f *harness.Ferry, name string) fnState {
	t.Helper()
	code, b, err := f.Do("GET", "/system/function/"+name+"?namespace="+ns, nil)
	if err != nil || code != 200 {
		t.Fatalf("get %s: %d %s %v", name, code, b, err)
	}
	var st fnState
	if err := json.Unmarshal(b, &st); err != nil {
		t.Fatalf("get %s: %v: %s", name, err, b)
	}
	return st
}

// waitFn polls the function's status (every 100 ms, bounded by timeout)
// until cond holds, and returns every distinct (replicas, available) pair
// seen on the way.
func waitFn(t testing.TB, f *harness.Ferry, name string, timeout time.Duration, what string, cond func(fnState) bool) []fnState {
	t.Helper()
	var seen []fnState
	deadline := time.Now().Add(timeout)
	for {
		st := getFn(t, f, name)
		if n := len(seen); n == 0 || seen[n-1].Replicas != st.Replicas || seen[n-1].AvailableReplicas != st.AvailableReplicas {
			seen = append(seen, st)
		}
		if cond(st) {
			return seen
		}
		if time.Now().After(deadline) {
			t.Fatalf("%s: not within %s; seen %+v", what, timeout, seen)
		}
		time.Sleep(100 * time.Millisecond)
	}
}

// loadResult counts the answers of a paced load.
type loadResult struct {
	sent, ok atomic.Int64
	mu       sync.Mutex
	errs     []string
	done     chan struct{} // closed once every request sent has ended
}

// wait returns once the load stopped and its requests ended, so that
// sent and ok count the same requests (one still in flight is no failure).
func (r *loadResult) wait() { <-r.done }

func (r *loadResult) fail(s string) {
	r.mu.Lock()
	if len(r.errs) < 5 {
		r.errs = append(r.errs, s)
	}
	r.mu.Unlock()
}

// pacedLoad sends rps requests per second to /function/NAME until ctx ends
// or max requests were sent (bounded in count and time). Requests are open
// loop: a slow answer does not slow the arrival rate.
func pacedLoad(ctx context.Context, url string, rps int, max int64) *loadResult {
	res := &loadResult{done: make(chan struct{})}
	client := &http.Client{Timeout: 30 * time.Second, Transport: &http.Transport{MaxIdleConnsPerHost: 256}}
	var wg sync.WaitGroup
	go func() {
		t := time.NewTicker(time.Second / time.Duration(rps))
		defer t.Stop()
		defer close(res.done)
		defer wg.Wait()
		for res.sent.Load() < max {
			select {
			case <-ctx.Done():
				return
			case <-t.C:
			}
			res.sent.Add(1)
			wg.Add(1)
			go func() {
				defer wg.Done()
				resp, err := client.Post(url, "text/plain", strings.NewReader("x"))
				if err != nil {
					res.fail(err.Error())
					return
				}
				resp.Body.Close()
				if resp.StatusCode == 200 {
					res.ok.Add(1)
				} else {
					res.fail(fmt.Sprint("status ", resp.StatusCode))
				}
			}()
		}
	}()
	return res
}

// TestAutoscaleBuiltin: a load step from 0 to 200 req/s on a function with
// type=rps, target=50 reaches 4 ready replicas and returns to min gradually
// after the load; a function with scale.zero idles to 0 and then serves a
// request from zero with no error.
func TestAutoscaleBuiltin(t *testing.T) {
	f := harness.T(t, harness.Options{Args: []string{"--autoscale-window", "5s", "--autoscale-down-period", "2s"}})
	// Fork-mode cat: a real function that needs nothing built.
	deploy(t, f, map[string]any{"service": "rps", "image": "cat", "envProcess": "cat", "labels": map[string]string{
		"com.openfaas.scale.type": "rps", "com.openfaas.scale.target": "50", "com.openfaas.scale.max": "8",
	}})
	deploy(t, f, map[string]any{"service": "idle", "image": "cat", "envProcess": "cat", "labels": map[string]string{
		"com.openfaas.scale.zero": "true", "com.openfaas.scale.zero-duration": "2s",
	}})
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	for _, fn := range []string{"rps", "idle"} {
		if err := f.WaitReady(ctx, fn, ns, 1); err != nil {
			t.Fatal(err)
		}
	}

	t.Run("load step to 4 replicas and back to min", func(t *testing.T) {
		lctx, stop := context.WithTimeout(ctx, 30*time.Second)
		start := time.Now()
		load := pacedLoad(lctx, f.URL+"/function/rps", 200, 6000)
		waitFn(t, f, "rps", 25*time.Second, "4 ready replicas under 200 req/s", func(st fnState) bool { return st.AvailableReplicas >= 4 })
		reached := time.Since(start)
		time.Sleep(2 * time.Second) // keep the load a little longer: replicas must hold
		stop()
		load.wait()
		sent, ok := load.sent.Load(), load.ok.Load()
		t.Logf("4 ready replicas %s after the load step; %d sent, %d ok, errors %v", reached.Round(time.Millisecond), sent, ok, load.errs)
		if sent-ok > sent/100 {
			t.Errorf("%d of %d requests failed under load: %v", sent-ok, sent, load.errs)
		}
		st := getFn(t, f, "rps")
		if st.Autoscaler == nil || !strings.Contains(st.Autoscaler.Reason, "req/s") {
			t.Errorf("autoscaler decision not reported: %+v", st.Autoscaler)
		}
		peak := st.Replicas
		seen := waitFn(t, f, "rps", 60*time.Second, "back to min 1 after the load", func(st fnState) bool {
			return st.Replicas == 1 && st.AvailableReplicas == 1
		})
		t.Logf("scale down from %d: %+v", peak, seen)
		var between bool
		for _, s := range seen {
			if s.Replicas > 1 && s.Replicas < peak {
				between = true
			}
		}
		if !between {
			t.Errorf("dropped straight from %d to min: %+v", peak, seen)
		}
		if st := getFn(t, f, "rps"); st.Autoscaler == nil || !strings.Contains(st.Autoscaler.Reason, "scale down") {
			t.Errorf("last decision should be a scale down: %+v", st.Autoscaler)
		}
	})

	t.Run("scale to zero and serve from zero", func(t *testing.T) {
		waitFn(t, f, "idle", 20*time.Second, "idle to zero", func(st fnState) bool { return st.Replicas == 0 && st.AvailableReplicas == 0 })
		if st := getFn(t, f, "idle"); st.Autoscaler == nil || !strings.Contains(st.Autoscaler.Reason, "idle") {
			t.Errorf("zero decision not explained: %+v", st.Autoscaler)
		}
		// Concurrent first requests share one start and all succeed.
		var wg sync.WaitGroup
		codes := make([]int, 5)
		start := time.Now()
		for i := range codes {
			wg.Add(1)
			go func() {
				defer wg.Done()
				c, _, err := f.Invoke("idle", "wake")
				if err != nil {
					t.Error(err)
				}
				codes[i] = c
			}()
		}
		wg.Wait()
		t.Logf("served from zero in %s: %v", time.Since(start).Round(time.Millisecond), codes)
		for _, c := range codes {
			if c != 200 {
				t.Fatalf("request from zero answered %v", codes)
			}
		}
		if st := getFn(t, f, "idle"); st.Replicas != 1 {
			t.Errorf("after wake: %d replicas, want 1", st.Replicas)
		}
	})
}

// TestScaleBadInput: invalid scaling labels are refused at deploy with a
// 400 naming every bad one (min=5,max=2 used to start 5 replicas), and bad
// alert payloads answer 400/404 with a clear message, through the real
// gateway.
func TestScaleBadInput(t *testing.T) {
	f := harness.T(t, harness.Options{})
	for _, c := range []struct {
		labels map[string]string
		want   []string
	}{
		{map[string]string{"com.openfaas.scale.factor": "0", "com.openfaas.scale.zero-duration": "soon",
			"com.openfaas.scale.zero": "maybe", "com.openfaas.scale.max": "-1"},
			[]string{`field "labels"`, `com.openfaas.scale.factor="0"`, `com.openfaas.scale.zero-duration="soon"`,
				`com.openfaas.scale.zero="maybe": want true or false`, `com.openfaas.scale.max="-1"`}},
		{map[string]string{"com.openfaas.scale.min": "5", "com.openfaas.scale.max": "2"},
			[]string{"com.openfaas.scale.min=5 is greater than com.openfaas.scale.max=2"}},
	} {
		code, b, err := f.Do("POST", "/system/functions", map[string]any{"service": "badlabels", "image": "cat", "envProcess": "cat", "labels": c.labels})
		for _, want := range c.want {
			if err != nil || code != 400 || !strings.Contains(string(b), want) {
				t.Errorf("deploy with %v: %d %s %v; want 400 with %q", c.labels, code, b, err, want)
			}
		}
	}
	if code, b, _ := f.Do("GET", "/system/function/badlabels", nil); code != 404 {
		t.Fatalf("a refused deployment exists: %d %s", code, b)
	}

	cases := []struct {
		body string
		code int
		want string
	}{
		{`{"alerts":[`, 400, "not Alertmanager webhook JSON"},
		{`{"version":"4","status":"firing","alerts":[]}`, 400, `no "alerts"`},
		{`{"version":"4","status":"firing","alerts":[{"status":"firing","labels":{"function_name":"ghost.openfaas-fn"}}]}`, 404, "not found"},
		{`{"version":"4","status":"firing","alerts":[{"status":"firing","labels":{}}]}`, 400, "function_name"},
	}
	for _, c := range cases {
		code, b, err := f.Do("POST", "/system/alert", c.body)
		if err != nil || code != c.code || !strings.Contains(string(b), c.want) {
			t.Errorf("alert %s: %d %s %v; want %d with %q", c.body, code, b, err, c.code, c.want)
		}
	}
	resp, err := http.Post(f.URL+"/system/alert", "application/json", strings.NewReader(`{}`))
	if err != nil || resp.StatusCode != http.StatusUnauthorized {
		t.Errorf("alert without auth: %v %v", resp.StatusCode, err)
	}
	if err == nil {
		resp.Body.Close()
	}
}
