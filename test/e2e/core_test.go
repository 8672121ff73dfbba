package e2e

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"os"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/ferryfaas/ferry/test/harness"
)

const ns = "openfaas-fn"

// TestCore drives one `ferry serve` through the core end-to-end
// list: three kinds of function, invocation details, streaming, chaining,
// secrets isolation, logs, scaling, a replica killed under load, and
// restarts (graceful and kill -9) that bring every function back.
func TestCore(t *testing.T) {
	f := harness.T(t, harness.Options{})
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
	defer cancel()

	code, _, _ := f.Do("POST", "/system/secrets", map[string]string{"name": "api-key", "value": "s3cr3t"})
	if code/100 != 2 {
		t.Fatalf("create secret: %d", code)
	}
	deploy(t, f, map[string]any{"service": "cat", "image": "cat", "envProcess": "cat"})
	deploy(t, f, httpFn(t, "httpfn", map[string]any{"secrets": []string{"api-key"}}))
	deploy(t, f, httpFn(t, "other", nil))
	py := artifact(t, f, map[string]string{"handler.py": "import sys\nprint('py:' + sys.stdin.read().upper())\n"})
	deploy(t, f, map[string]any{"service": "pyfn", "image": "e2e/pyfn", "envProcess": "python3 handler.py",
		"annotations": map[string]string{"com.ferryfaas.artifact": py}})
	for _, fn := range []string{"cat", "httpfn", "other", "pyfn"} {
		if err := f.WaitReady(ctx, fn, ns, 1); err != nil {
			t.Fatal(err)
		}
	}

	t.Run("invoke", func(t *testing.T) {
		if c, _, b := invoke(t, f, "POST", "cat", "hello", nil); c != 200 || b != "hello" {
			t.Fatalf("cat: %d %q", c, b)
		}
		if c, _, b := invoke(t, f, "POST", "pyfn."+ns, "abc", nil); c != 200 || strings.TrimSpace(b) != "py:ABC" {
			t.Fatalf("pyfn: %d %q", c, b)
		}
		c, h, b := invoke(t, f, "PUT", "httpfn/some/path?x=1&y=2", "body!", map[string]string{"X-Test": "yes"})
		var got map[string]string
		if c != 200 || json.Unmarshal([]byte(b), &got) != nil {
			t.Fatalf("httpfn: %d %q", c, b)
		}
		want := map[string]string{"method": "PUT", "path": "/some/path", "query": "x=1&y=2", "x-test": "yes", "body": "body!"}
		for k, v := range want {
			if got[k] != v {
				t.Errorf("httpfn %s = %q, want %q (all: %v)", k, got[k], v, got)
			}
		}
		if h.Get("X-Call-Id") == "" || got["call-id"] != h.Get("X-Call-Id") {
			t.Errorf("X-Call-Id: response %q, function saw %q", h.Get("X-Call-Id"), got["call-id"])
		}
		if h.Get("X-Duration-Seconds") == "" {
			t.Error("no X-Duration-Seconds from the watchdog")
		}
		if c, h, _ := invoke(t, f, "GET", "nope", "", nil); c != 404 || h.Get("X-OpenFaaS-Internal") == "" {
			t.Errorf("unknown function: %d, internal header %q", c, h.Get("X-OpenFaaS-Internal"))
		}
	})

	t.Run("streaming", func(t *testing.T) {
		start := time.Now()
		req, _ := http.NewRequest("GET", f.URL+"/function/httpfn/sse", nil)
		req.Header.Set("Accept", "text/event-stream")
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		line, err := bufio.NewReader(resp.Body).ReadString('\n')
		first := time.Since(start)
		if err != nil || line != "data: 0\n" {
			t.Fatalf("first event %q %v", line, err)
		}
		// The function sends the next events 800 ms apart: a buffered
		// response could not show the first one before 1.6 s.
		if first > 700*time.Millisecond {
			t.Errorf("first event after %v: the response was buffered", first)
		}
	})

	t.Run("chaining", func(t *testing.T) {
		c, h, b := invoke(t, f, "POST", "httpfn/call?fn=cat", "chained", map[string]string{"X-Call-Id": "chain-123"})
		if c != 200 || b != "chained" {
			t.Fatalf("httpfn -> cat: %d %q", c, b)
		}
		if h.Get("X-Call-Id") != "chain-123" || h.Get("X-Inner-Call-Id") != "chain-123" {
			t.Errorf("call id not carried along the chain: outer %q inner %q", h.Get("X-Call-Id"), h.Get("X-Inner-Call-Id"))
		}
	})

	t.Run("secrets", func(t *testing.T) {
		if c, _, b := invoke(t, f, "GET", "httpfn/secret?name=api-key", "", nil); c != 200 || b != "s3cr3t" {
			t.Fatalf("own secret: %d %q", c, b)
		}
		if c, _, b := invoke(t, f, "GET", "other/secret?name=api-key", "", nil); c == 200 {
			t.Fatalf("function 'other' read a secret it was not given: %q", b)
		}
		_, body, _ := f.Do("GET", "/system/secrets", nil)
		if strings.Contains(string(body), "s3cr3t") {
			t.Fatalf("secret value echoed by the API: %s", body)
		}
		if os.Getuid() != 0 {
			t.Skip("per-function users need root; cross-function file isolation not checked")
		}
		// The other function must not read httpfn's secret or working dir
		// files even by path.
		for _, p := range secretFiles(t, f.DataDir) {
			if c, _, b := invoke(t, f, "GET", "other/file?path="+p, "", nil); c == 200 {
				t.Errorf("function 'other' read %s: %q", p, b)
			}
		}
	})

	t.Run("logs", func(t *testing.T) {
		lctx, lcancel := context.WithTimeout(ctx, 10*time.Second)
		defer lcancel()
		req, _ := http.NewRequestWithContext(lctx, "GET", f.URL+"/system/logs?name=httpfn&follow=true&tail=0", nil)
		req.SetBasicAuth(f.User, f.Password)
		resp, err := http.DefaultClient.Do(req)
		if err != nil || resp.StatusCode != 200 {
			t.Fatalf("follow logs: %v %v", err, resp)
		}
		defer resp.Body.Close()
		marker := fmt.Sprintf("/marker-%d", time.Now().UnixNano())
		go func() {
			time.Sleep(200 * time.Millisecond)
			invoke(t, f, "GET", "httpfn"+marker, "", nil)
		}()
		sc := bufio.NewScanner(resp.Body)
		found := false
		for sc.Scan() {
			var m struct{ Name, Namespace, Instance, Text string }
			if err := json.Unmarshal(sc.Bytes(), &m); err != nil {
				t.Fatalf("not NDJSON: %q", sc.Text())
			}
			if strings.Contains(m.Text, marker) {
				if m.Name != "httpfn" || m.Namespace != ns || m.Instance == "" {
					t.Errorf("log line fields: %+v", m)
				}
				found = true
				break
			}
		}
		if !found {
			t.Fatal("followed logs never showed the invocation")
		}
		code, b, _ := f.Do("GET", "/system/logs?name=httpfn&tail=3", nil)
		if code != 200 || strings.Count(strings.TrimSpace(string(b)), "\n") > 2 || !strings.Contains(string(b), "httpfn handled") {
			t.Errorf("tail=3: %d %q", code, b)
		}
	})

	t.Run("scale and kill a replica under load", func(t *testing.T) {
		code, b, _ := f.Do("POST", "/system/scale-function/httpfn", map[string]any{"serviceName": "httpfn", "replicas": 3})
		if code/100 != 2 {
			t.Fatalf("scale: %d %s", code, b)
		}
		if err := f.WaitReady(ctx, "httpfn", ns, 3); err != nil {
			t.Fatal(err)
		}
		pids := map[string]bool{}
		for i := 0; i < 60 && len(pids) < 3; i++ {
			_, _, b := invoke(t, f, "POST", "httpfn", "x", nil)
			var got map[string]string
			json.Unmarshal([]byte(b), &got)
			pids[got["pid"]] = true
		}
		if len(pids) != 3 {
			t.Fatalf("traffic reached %d replicas, want 3", len(pids))
		}
		var victim int
		for p := range pids {
			victim, _ = strconv.Atoi(p)
			break
		}
		var ok, failed atomic.Int64
		lctx, lcancel := context.WithTimeout(ctx, 4*time.Second)
		defer lcancel()
		var wg sync.WaitGroup
		for w := 0; w < 4; w++ {
			wg.Add(1)
			go func() {
				defer wg.Done()
				for n := 0; n < 5000 && lctx.Err() == nil; n++ {
					resp, err := http.Post(f.URL+"/function/httpfn", "text/plain", strings.NewReader("load"))
					if err != nil {
						failed.Add(1)
						t.Logf("failed call: %v", err)
						continue
					}
					b, _ := io.ReadAll(resp.Body)
					resp.Body.Close()
					if resp.StatusCode != 200 {
						failed.Add(1)
						t.Logf("failed call: %d %q %v", resp.StatusCode, b, resp.Header)
					} else {
						ok.Add(1)
					}
				}
			}()
		}
		time.Sleep(1 * time.Second)
		pgid, err := syscall.Getpgid(victim)
		if err != nil {
			t.Fatalf("replica pid %d: %v", victim, err)
		}
		syscall.Kill(-pgid, syscall.SIGKILL)
		wg.Wait()
		t.Logf("under load with a replica killed: %d ok, %d failed", ok.Load(), failed.Load())
		if failed.Load() != 0 || ok.Load() == 0 {
			t.Fatalf("%d requests failed (%d ok) when one replica was killed", failed.Load(), ok.Load())
		}
		if err := f.WaitReady(ctx, "httpfn", ns, 3); err != nil {
			t.Fatalf("killed replica not replaced: %v", err)
		}
	})

	for _, kill := range []bool{false, true} {
		t.Run(fmt.Sprintf("restart kill=%v", kill), func(t *testing.T) {
			if kill {
				// A kill -9 of the server takes its replicas along (their
				// parent-death signal), before any restart reaps them.
				replicas := childPIDs(t, f.PID())
				if len(replicas) < 6 {
					t.Fatalf("ferry serve has %d child processes, want a watchdog per replica (6)", len(replicas))
				}
				f.Kill()
				awaitGone(t, replicas, 5*time.Second)
				if err := f.Relaunch(); err != nil {
					t.Fatal(err)
				}
			} else if err := f.Restart(false); err != nil {
				t.Fatal(err)
			}
			for fn, n := range map[string]uint64{"cat": 1, "httpfn": 3, "other": 1, "pyfn": 1} {
				if err := f.WaitReady(ctx, fn, ns, n); err != nil {
					t.Fatal(err)
				}
			}
			if c, _, b := invoke(t, f, "POST", "cat", "again", nil); c != 200 || b != "again" {
				t.Fatalf("cat after restart: %d %q", c, b)
			}
			if c, _, b := invoke(t, f, "GET", "httpfn/secret?name=api-key", "", nil); c != 200 || b != "s3cr3t" {
				t.Fatalf("secret after restart: %d %q", c, b)
			}
		})
	}
}

// childPIDs lists the processes whose parent is pid.
func childPIDs(t *testing.T, pid int) []int {
	t.Helper()
	dirs, err := os.ReadDir("/proc")
	if err != nil {
		t.Fatal(err)
	}
	var kids []int
	for _, d := range dirs {
		p, err := strconv.Atoi(d.Name())
		if err != nil {
			continue
		}
		b, err := os.ReadFile("/proc/" + d.Name() + "/stat")
		if err != nil {
			continue
		}
		// pid (comm) state ppid ...: comm may hold spaces, so split after ')'.
		f := strings.Fields(string(b[bytes.LastIndexByte(b, ')')+1:]))
		if len(f) > 1 && f[1] == strconv.Itoa(pid) {
			kids = append(kids, p)
		}
	}
	return kids
}

// awaitGone waits until none of pids is alive (a zombie counts as gone).
func awaitGone(t *testing.T, pids []int, d time.Duration) {
	t.Helper()
	deadline := time.Now().Add(d)
	for _, p := range pids {
		for {
			b, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", p))
			if err != nil || bytes.Contains(b, []byte(") Z ")) {
				break
			}
			if time.Now().After(deadline) {
				t.Fatalf("process %d outlived ferry serve's kill -9 by %s: %s", p, d, b)
			}
			time.Sleep(10 * time.Millisecond)
		}
	}
}
