package e2e

import (
	"encoding/json"
	"fmt"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/ferryfaas/ferry/test/harness"
)

// TestAsync covers /async-function/ end to end on one `ferry serve`: the
// request as queued reaches the function intact, refusals happen at
// enqueue, retries, dead letters (listed and re-driven with the CLI),
// waking a function scaled to zero and the per-function concurrency limit;
// once on the embedded NATS and once on Debian's nats-server (2.9).
func TestAsync(t *testing.T) {
	t.Run("embedded NATS", func(t *testing.T) { asyncSuite(t, nil) })
	t.Run("Debian nats-server", func(t *testing.T) { asyncSuite(t, []string{"--nats-url", startNATSServer(t)}) })
}

func asyncSuite(t *testing.T, args []string) {
	f := harness.T(t, harness.Options{DataDir: asyncDataDir(t), Args: append([]string{
		"--async-max-attempts", "3", "--async-backoff-min", "100ms", "--async-backoff-max", "400ms",
		"--async-max-body", fmt.Sprint(3 << 20), "--callback-allow", "127.0.0.0/8",
	}, args...)})
	deployAsyncFn(t, f, "afn", nil)
	deployAsyncFn(t, f, "slow", map[string]string{"com.openfaas.queue.max_inflight": "4"})
	cb := newCBServer(t, 0)

	t.Run("request kept", func(t *testing.T) {
		code, id := enqueue(t, f, "PUT", "afn."+ns+"/a/b?x=1&y=2", "payload", map[string]string{
			"X-Callback-Url": cb.URL, "X-Call-Id": "keep-1"})
		if code != 202 || id != "keep-1" {
			t.Fatalf("enqueue: %d id %q", code, id)
		}
		c := cb.next(t, 30*time.Second)
		want := map[string]string{"X-Call-Id": "keep-1", "X-Function-Status": "200", "X-Function-Name": "afn." + ns,
			"X-Echo-Method": "PUT", "X-Echo-Path": "/a/b", "X-Echo-Query": "x=1&y=2", "X-Retry": "0", "X-Retry-Max": "2"}
		for k, v := range want {
			if got := c.Header.Get(k); got != v {
				t.Errorf("callback %s = %q, want %q", k, got, v)
			}
		}
		if c.Body != "payload" || c.Header.Get("X-Duration-Seconds") == "" {
			t.Errorf("callback body %q, duration %q", c.Body, c.Header.Get("X-Duration-Seconds"))
		}
	})

	t.Run("large body", func(t *testing.T) {
		body := strings.Repeat("0123456789abcdef", (2<<20)/16) // 2 MiB: over NATS's 1 MiB message limit
		if code, _ := enqueue(t, f, "POST", "afn", body, map[string]string{"X-Callback-Url": cb.URL}); code != 202 {
			t.Fatalf("2 MiB enqueue: %d", code)
		}
		if c := cb.next(t, 30*time.Second); c.Body != body {
			t.Fatalf("callback body: %d bytes, want the 2 MiB sent", len(c.Body))
		}
		if code, _ := enqueue(t, f, "POST", "afn", body+body, nil); code != 413 {
			t.Fatalf("4 MiB enqueue: %d, want 413", code)
		}
	})

	t.Run("refusals", func(t *testing.T) {
		for _, c := range []struct {
			path, cb string
			want     int
		}{
			{"nope", "", 404},
			{"afn", "not a url", 400},
			{"afn", "gopher://127.0.0.1/", 400},
			{"afn", "http://192.0.2.1/hook", 400},            // outside --callback-allow
			{"afn", f.URL + "/system/functions", 400},        // the gateway's own port, even inside the list
			{"afn", "http://u:secret@127.0.0.1:9/hook", 400}, // credentials
		} {
			hdr := map[string]string{}
			if c.cb != "" {
				hdr["X-Callback-Url"] = c.cb
			}
			if code, _ := enqueue(t, f, "POST", c.path, "", hdr); code != c.want {
				t.Errorf("%s with callback %q: %d, want %d", c.path, c.cb, code, c.want)
			}
		}
	})

	t.Run("retry then success", func(t *testing.T) {
		enqueue(t, f, "POST", "afn/flaky?key=r1&fail=2", "", map[string]string{"X-Callback-Url": cb.URL, "X-Call-Id": "retry-1"})
		c := cb.next(t, 30*time.Second)
		if c.Header.Get("X-Call-Id") != "retry-1" || c.Header.Get("X-Function-Status") != "200" || c.Header.Get("X-Retry") != "2" || c.Body != "ok after 3 calls" {
			t.Fatalf("callback %v %q", c.Header, c.Body)
		}
	})

	t.Run("dead letter and redrive", func(t *testing.T) {
		enqueue(t, f, "DELETE", "afn/fail?key=d1", "", map[string]string{"X-Callback-Url": cb.URL, "X-Call-Id": "dead-1"})
		c := cb.next(t, 30*time.Second)
		if c.Header.Get("X-Function-Status") != "500" || c.Header.Get("X-Retry") != "2" {
			t.Fatalf("final callback %v", c.Header)
		}
		out := ferryCLI(t, f, "queue", "dead-letters", "list", "-o", "json")
		var dl []struct {
			CallID     string `json:"callId"`
			Method     string `json:"method"`
			Attempts   int    `json:"attempts"`
			LastStatus int    `json:"lastStatus"`
		}
		if err := json.Unmarshal([]byte(out), &dl); err != nil || len(dl) != 1 {
			t.Fatalf("dead letters: %v %s", err, out)
		}
		if dl[0].CallID != "dead-1" || dl[0].Method != "DELETE" || dl[0].Attempts != 3 || dl[0].LastStatus != 500 {
			t.Fatalf("dead letter %+v", dl[0])
		}
		if code, _, _ := f.Invoke("afn/heal?key=d1", ""); code != 200 {
			t.Fatalf("heal: %d", code)
		}
		if out := ferryCLI(t, f, "queue", "dead-letters", "redrive", "--function", "afn"); !strings.Contains(out, "Re-queued 1") {
			t.Fatalf("redrive: %s", out)
		}
		c = cb.next(t, 30*time.Second)
		if c.Header.Get("X-Call-Id") != "dead-1" || c.Header.Get("X-Function-Status") != "200" || c.Body != "healed" {
			t.Fatalf("after redrive: %v %q", c.Header, c.Body)
		}
		if out := ferryCLI(t, f, "queue", "dead-letters", "list", "-o", "json"); strings.TrimSpace(out) != "[]" {
			t.Fatalf("dead letters left: %s", out)
		}
	})

	t.Run("scaled to zero is woken", func(t *testing.T) {
		deployAsyncFn(t, f, "zero", nil)
		code, b, err := f.Do("POST", "/system/scale-function/zero", map[string]any{"serviceName": "zero", "namespace": ns, "replicas": 0})
		if err != nil || code/100 != 2 {
			t.Fatalf("scale to zero: %d %s %v", code, b, err)
		}
		deadline := time.Now().Add(30 * time.Second)
		for {
			code, b, _ := f.Do("GET", "/system/function/zero?namespace="+ns, nil)
			var st struct{ AvailableReplicas, Replicas uint64 }
			if code == 200 && json.Unmarshal(b, &st) == nil && st.AvailableReplicas == 0 && st.Replicas == 0 {
				break
			}
			if time.Now().After(deadline) {
				t.Fatalf("zero did not scale to zero: %s", b)
			}
			time.Sleep(50 * time.Millisecond)
		}
		enqueue(t, f, "POST", "zero", "wake up", map[string]string{"X-Callback-Url": cb.URL, "X-Call-Id": "zero-1"})
		c := cb.next(t, 60*time.Second)
		if c.Header.Get("X-Call-Id") != "zero-1" || c.Header.Get("X-Function-Status") != "200" || c.Body != "wake up" {
			t.Fatalf("callback from a function scaled to zero: %v %q", c.Header, c.Body)
		}
	})

	t.Run("concurrency", func(t *testing.T) {
		const n = 40
		cc := newCBServer(t, n)
		start := time.Now()
		var wg sync.WaitGroup
		for i := 0; i < n; i++ {
			wg.Add(1)
			go func() {
				defer wg.Done()
				if code, _ := enqueue(t, f, "POST", "slow/sleep?ms=1000", "", map[string]string{"X-Callback-Url": cc.URL}); code != 202 {
					t.Errorf("enqueue: %d", code)
				}
			}()
		}
		wg.Wait()
		select {
		case <-cc.all:
		case <-time.After(40 * time.Second):
			d, _, _ := cc.counts()
			t.Fatalf("%d of %d calls finished in 40s", d, n)
		}
		el := time.Since(start)
		_, stats, _ := invokeStats(t, f)
		t.Logf("40 calls of 1 s at max_inflight 4: %v, peak concurrency %d", el.Round(10*time.Millisecond), stats["max"])
		if stats["max"] != 4 {
			t.Errorf("peak concurrency %d, want 4", stats["max"])
		}
		if el < 9500*time.Millisecond || el > 15*time.Second {
			t.Errorf("took %v, want about 10s", el)
		}
	})
}

func invokeStats(t testing.TB, f *harness.Ferry) (int, map[string]int, error) {
	code, body, err := f.Invoke("slow/stats", "")
	var m map[string]int
	if err == nil {
		err = json.Unmarshal([]byte(body), &m)
	}
	if err != nil || code != 200 {
		t.Fatalf("stats: %d %s %v", code, body, err)
	}
	return code, m, nil
}

// ferryCLI runs the ferry binary against f and returns stdout.
func ferryCLI(t testing.TB, f *harness.Ferry, args ...string) string {
	t.Helper()
	cmd := exec.Command(filepath.Join(f.BinDir, "ferry"), args...)
	cmd.Env = append(os.Environ(), "FERRY_URL="+f.URL, "FERRY_USER="+f.User, "FERRY_PASSWORD="+f.Password)
	var stderr strings.Builder
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("ferry %s: %v: %s", strings.Join(args, " "), err, stderr.String())
	}
	return string(out)
}

var _ = http.StatusOK
