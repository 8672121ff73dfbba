package e2e

import (
	"encoding/json"
	"fmt"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/ferryfaas/ferry/test/harness"
)

// TestWasm takes a go-wasm function through `ferry up` to one `ferry serve`
// running it beside a process-runtime function, and checks the sandbox
// over HTTP: logs, a looping guest stopped at its timeout, an allocation
// past the limit failing alone, no /etc/passwd nor socket, no state shared
// between a hundred concurrent calls, async calls and scale to zero.
func TestWasm(t *testing.T) {
	f := harness.T(t, harness.Options{DataDir: asyncDataDir(t), Args: []string{
		"--autoscale-window", "5s", "--autoscale-down-period", "2s", "--callback-allow", "127.0.0.0/8"}})
	c := newCLI(t, f, true)
	work := t.TempDir()
	c.ok(work, "", "new", "wfn", "--lang", "go-wasm", "--quiet")
	src, err := os.ReadFile("testdata/wasmfn/handler.go")
	if err != nil {
		t.Fatal(err)
	}
	os.WriteFile(filepath.Join(work, "wfn", "handler.go"), src, 0o644)
	stackFile := filepath.Join(work, "stack.yml")
	raw, _ := os.ReadFile(stackFile)
	if !strings.HasSuffix(string(raw), "image: wfn:latest\n") {
		t.Fatalf("ferry new wrote an unexpected stack file (want the function entry last):\n%s", raw)
	}
	os.WriteFile(stackFile, append(raw, `    environment:
      exec_timeout: 2s
    limits:
      memory: 64Mi
    labels:
      com.openfaas.scale.zero: "true"
      com.openfaas.scale.zero-duration: 4s
`...), 0o644)
	start := time.Now()
	if up := c.run(work, "", nil, "up"); up.Code != 0 {
		t.Fatalf("ferry up: exit %d\nstdout: %s\nstderr: %s", up.Code, up.Stdout, up.Stderr)
	}
	waitReplica(t, f, "wfn")
	t.Logf("ferry up to a ready replica: %s", time.Since(start).Round(time.Millisecond))
	deployCat(t, f, "cat") // the process runtime, side by side

	if got := c.ok(work, "hi", "invoke", "wfn"); got != "wasm says: hi" {
		t.Fatalf("ferry invoke wfn = %q", got)
	}
	if code, _, body := invoke(t, f, "POST", "cat", "meow", nil); code != 200 || body != "meow" {
		t.Fatalf("process runtime beside it: %d %q", code, body)
	}
	eventually(t, 20*time.Second, "ferry logs wfn shows the guest's stderr", func() string {
		if r := c.run(work, "", nil, "logs", "wfn"); !strings.Contains(r.Stdout, "wasm-e2e-marker") {
			return "logs so far:\n" + r.Stdout + r.Stderr
		}
		return ""
	})

	t.Run("loop stopped at the timeout, next call works", func(t *testing.T) {
		t0 := time.Now()
		code, _, body := invoke(t, f, "POST", "wfn?loop", "", nil)
		if (code != http.StatusRequestTimeout && code != http.StatusGatewayTimeout) || time.Since(t0) > 10*time.Second {
			t.Fatalf("looping guest: %d %q after %s", code, body, time.Since(t0))
		}
		if code, _, body := invoke(t, f, "POST", "wfn", "after", nil); code != 200 || body != "wasm says: after" {
			t.Fatalf("after the loop: %d %q", code, body)
		}
	})

	t.Run("allocation past the limit fails alone", func(t *testing.T) {
		var wg sync.WaitGroup
		var alloc, echo int
		var echoBody string
		wg.Add(2)
		go func() { defer wg.Done(); alloc, _, _ = invoke(t, f, "POST", "wfn?alloc", "", nil) }()
		go func() { defer wg.Done(); echo, _, echoBody = invoke(t, f, "POST", "wfn", "beside", nil) }()
		wg.Wait()
		if alloc != 500 || echo != 200 || echoBody != "wasm says: beside" {
			t.Fatalf("alloc %d; call beside it %d %q", alloc, echo, echoBody)
		}
	})

	t.Run("no /etc/passwd, no socket, non-zero exit is 500", func(t *testing.T) {
		if code, _, body := invoke(t, f, "POST", "wfn?passwd", "", nil); code != 200 || !strings.HasPrefix(body, "passwd: open /etc/passwd: ") {
			t.Errorf("passwd: %d %q", code, body)
		}
		// The gateway's own port is a host socket the guest is told about.
		addr := strings.TrimPrefix(f.URL, "http://")
		if code, _, body := invoke(t, f, "POST", "wfn?dial", addr, nil); code != 200 || !strings.HasPrefix(body, "dial: dial tcp "+addr+": ") {
			t.Errorf("dial: %d %q", code, body)
		}
		if code, _, body := invoke(t, f, "POST", "wfn?fail", "", nil); code != 500 || !strings.Contains(body, "failing on purpose") {
			t.Errorf("fail: %d %q", code, body)
		}
	})

	t.Run("a hundred concurrent calls share no state", func(t *testing.T) {
		// The same module under another name with a long timeout: a
		// hundred Go guests start at once on a machine shared with others.
		code, b, err := f.Do("GET", "/system/function/wfn", nil)
		var st struct {
			Annotations map[string]string
			Labels      map[string]string
			EnvProcess  string
		}
		if err != nil || code != 200 || json.Unmarshal(b, &st) != nil {
			t.Fatalf("GET wfn: %d %s %v", code, b, err)
		}
		deploy(t, f, map[string]any{"service": "wstate", "image": "wstate", "envProcess": st.EnvProcess,
			"annotations": st.Annotations, "labels": map[string]string{"com.ferryfaas.runtime": st.Labels["com.ferryfaas.runtime"]},
			"envVars": map[string]string{"exec_timeout": "60s"}})
		waitReplica(t, f, "wstate")
		var wg sync.WaitGroup
		errs := make(chan string, 100)
		for i := range 100 {
			wg.Add(1)
			go func() {
				defer wg.Done()
				in := fmt.Sprintf("call-%d", i)
				if code, _, body := invoke(t, f, "POST", "wstate?state", in, nil); code != 200 || body != "|"+in {
					errs <- fmt.Sprintf("%s: %d %q", in, code, body)
				}
			}()
		}
		wg.Wait()
		close(errs)
		for e := range errs {
			t.Error(e)
		}
	})

	t.Run("async", func(t *testing.T) {
		cb := newCBServer(t, 0)
		if code, _ := enqueue(t, f, "POST", "wfn", "queued", map[string]string{"X-Callback-Url": cb.URL}); code != 202 {
			t.Fatalf("enqueue: %d", code)
		}
		if got := cb.next(t, 30*time.Second); got.Body != "wasm says: queued" || got.Header.Get("X-Function-Status") != "200" {
			t.Fatalf("callback: %q %v", got.Body, got.Header)
		}
	})

	t.Run("scale to zero and back", func(t *testing.T) {
		waitFn(t, f, "wfn", 30*time.Second, "idle to zero", func(st fnState) bool { return st.Replicas == 0 && st.AvailableReplicas == 0 })
		t0 := time.Now()
		if code, _, body := invoke(t, f, "POST", "wfn", "woken", nil); code != 200 || body != "wasm says: woken" {
			t.Fatalf("from zero: %d %q", code, body)
		}
		t.Logf("first call from zero: %s", time.Since(t0).Round(time.Millisecond))
	})

	t.Run("restart: compiled code comes from the disk cache", func(t *testing.T) {
		if ents, _ := os.ReadDir(filepath.Join(f.DataDir, "wasm-cache")); len(ents) == 0 {
			t.Fatal("nothing in DATA_DIR/wasm-cache")
		}
		t0 := time.Now()
		if err := f.Restart(false); err != nil {
			t.Fatal(err)
		}
		waitReplica(t, f, "wstate")
		t.Logf("restart to a ready wasm replica: %s", time.Since(t0).Round(time.Millisecond))
		if code, _, body := invoke(t, f, "POST", "wstate", "back", nil); code != 200 || body != "wasm says: back" {
			t.Fatalf("after the restart: %d %q", code, body)
		}
	})

	t.Run("unknown runtime is a 400 naming the label", func(t *testing.T) {
		code, b, err := f.Do("POST", "/system/functions", map[string]any{"service": "nope", "image": "cat", "envProcess": "cat",
			"labels": map[string]string{"com.ferryfaas.runtime": "nope"}})
		if err != nil || code != 400 || !strings.Contains(string(b), "com.ferryfaas.runtime") {
			t.Fatalf("%d %s %v", code, b, err)
		}
	})
}
