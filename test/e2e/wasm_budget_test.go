package e2e

import (
	"fmt"
	"io"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/ferryfaas/ferry/api"
	"github.com/ferryfaas/ferry/test/harness"
)

// TestWasmMemoryBudget runs `ferry serve` in a memory cgroup of 1 GiB with
// a wasm memory budget of 384 MiB, and makes a hundred concurrent calls
// to a guest that makes 64 MiB resident each (6.4 GiB together): the
// server stays up, the calls the budget cannot hold get a 503 naming the
// flag with a Retry-After, all the others succeed, and afterwards a call
// succeeds and nothing is reserved. FERRY_E2E_WASM_BUDGET=0 runs it
// without the budget: the kernel then kills the server (with a larger
// FERRY_E2E_WASM_MEMLIMIT, such as 10Gi, it shows how far RSS goes).
func TestWasmMemoryBudget(t *testing.T) {
	budget, limit := os.Getenv("FERRY_E2E_WASM_BUDGET"), int64(1<<30)
	if budget == "" {
		budget = "384Mi"
	}
	if v := os.Getenv("FERRY_E2E_WASM_MEMLIMIT"); v != "" {
		var err error
		if limit, err = api.ParseMemory(v); err != nil {
			t.Fatalf("FERRY_E2E_WASM_MEMLIMIT: %v", err)
		}
	}
	cg := newMemCgroup(t, limit)
	f := harness.T(t, harness.Options{Args: []string{"--wasm-memory-budget", budget}})
	dg := artifact(t, f, map[string]string{"main.wasm": string(buildWasm(t, "./testdata/wasmalloc"))})
	deploy(t, f, map[string]any{"service": "walloc", "image": "walloc",
		"annotations": map[string]string{"com.ferryfaas.artifact": dg},
		"labels":      map[string]string{"com.ferryfaas.runtime": "wasm"},
		"envVars":     map[string]string{"exec_timeout": "90s"},
		"limits":      map[string]string{"memory": "128Mi"}})
	waitReplica(t, f, "walloc")
	// A function called before: the budget admits its calls on what
	// they used last.
	if code, _, body := invoke(t, f, "POST", "walloc?alloc", "", nil); code != 200 || body != "allocated 67108864" {
		t.Fatalf("first call: %d %q", code, body)
	}
	pid := f.PID()
	cg.add(t, pid)
	peak := sampleRSS(pid)

	var mu sync.Mutex
	codes := map[int]int{}
	var errs []string
	var wg sync.WaitGroup
	client := &http.Client{Timeout: 2 * time.Minute}
	t0 := time.Now()
	for range 100 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			code, msg := budgetCall(client, f.URL+"/function/walloc?alloc")
			mu.Lock()
			defer mu.Unlock()
			codes[code]++
			if msg != "" {
				errs = append(errs, msg)
			}
		}()
	}
	wg.Wait()
	t.Logf("budget %s, cgroup limit %d MiB: %d calls ok, %d refused (503), others %v in %s; ferry serve peak RSS %d MiB, cgroup peak %d MiB",
		budget, limit>>20, codes[200], codes[503], codes, time.Since(t0).Round(time.Millisecond), peak()>>20, cg.peak()>>20)
	if syscall.Kill(pid, 0) != nil {
		t.Fatalf("ferry serve died under the load (cgroup OOM kills: %s)", cg.stat("oom_kill"))
	}
	for i, e := range errs {
		if i == 5 {
			t.Errorf("... %d more", len(errs)-5)
			break
		}
		t.Error(e)
	}
	if codes[200] == 0 || codes[200]+codes[503] != 100 {
		t.Fatalf("want some calls to succeed and the rest refused with 503: %v", codes)
	}
	if code, _, body := invoke(t, f, "POST", "walloc?alloc", "", nil); code != 200 || body != "allocated 67108864" {
		t.Fatalf("a call after the load: %d %q", code, body)
	}
	eventually(t, 10*time.Second, "nothing reserved and the refusals counted on /metrics", func() string {
		_, b, _ := f.Do("GET", "/metrics", nil)
		m := string(b)
		if !strings.Contains(m, "\nferry_wasm_memory_reserved_bytes 0\n") ||
			!strings.Contains(m, fmt.Sprintf("\nferry_wasm_memory_refused_total %d\n", codes[503])) {
			return grepLines(m, "ferry_wasm_memory")
		}
		return ""
	})
}

// budgetCall makes one call and checks its answer: "" when it is a success
// or a refusal as the budget words it.
func budgetCall(c *http.Client, url string) (int, string) {
	resp, err := c.Post(url, "text/plain", nil)
	if err != nil {
		return 0, err.Error()
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	switch {
	case resp.StatusCode == 200 && string(b) == "allocated 67108864":
	case resp.StatusCode == 503 && resp.Header.Get("Retry-After") != "" && strings.Contains(string(b), "--wasm-memory-budget"):
	default:
		return resp.StatusCode, fmt.Sprintf("%d %q (Retry-After %q)", resp.StatusCode, b, resp.Header.Get("Retry-After"))
	}
	return resp.StatusCode, ""
}

// buildWasm builds a WASI command from a testdata package.
func buildWasm(t *testing.T, pkg string) []byte {
	t.Helper()
	out := filepath.Join(t.TempDir(), "main.wasm")
	cmd := exec.Command("go", "build", "-o", out, pkg)
	cmd.Env = append(os.Environ(), "GOOS=wasip1", "GOARCH=wasm", "CGO_ENABLED=0")
	if b, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("build %s for wasip1: %v\n%s", pkg, err, b)
	}
	b, err := os.ReadFile(out)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func grepLines(s, sub string) string {
	var out []string
	for _, l := range strings.Split(s, "\n") {
		if strings.Contains(l, sub) && !strings.HasPrefix(l, "#") {
			out = append(out, l)
		}
	}
	return strings.Join(out, "\n")
}

// sampleRSS samples a process's RSS every 10ms (for at most 5 minutes)
// and returns a func that stops and gives the highest seen: the kernel's
// own peak (VmHWM) is lost with a killed process.
func sampleRSS(pid int) func() int64 {
	stop, done := make(chan struct{}), make(chan int64)
	go func() {
		var peak int64
		tick := time.NewTicker(10 * time.Millisecond)
		defer tick.Stop()
		end := time.After(5 * time.Minute)
		for {
			peak = max(peak, rssOf(pid))
			select {
			case <-tick.C:
			case <-end:
				<-stop
				done <- peak
				return
			case <-stop:
				done <- peak
				return
			}
		}
	}()
	return func() int64 { close(stop); return <-done }
}

// rssOf is a process's RSS in bytes (0 when it is gone).
func rssOf(pid int) int64 {
	b, _ := os.ReadFile(fmt.Sprintf("/proc/%d/status", pid))
	for _, l := range strings.Split(string(b), "\n") {
		if v, ok := strings.CutPrefix(l, "VmRSS:"); ok {
			kb, _ := strconv.ParseInt(strings.TrimSpace(strings.TrimSuffix(strings.TrimSpace(v), "kB")), 10, 64)
			return kb << 10
		}
	}
	return 0
}
