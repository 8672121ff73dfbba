package wasmrt

import (
	"fmt"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/ferryfaas/ferry/api"
)

// buildReactor builds testdata/fn inside the go-wasm template's shim as
// a reactor, the way `ferry up` lays the template out and builds it.
func buildReactor(dir string) (string, error) {
	src := filepath.Join(dir, "reactor-src")
	if err := os.MkdirAll(filepath.Join(src, "function"), 0o700); err != nil {
		return "", err
	}
	shim, err := os.ReadFile("../../templates/_template/go-wasm/main.go")
	if err != nil {
		return "", err
	}
	fn, err := os.ReadFile("testdata/fn/handler.go")
	if err != nil {
		return "", err
	}
	for name, body := range map[string]string{
		"main.go":             string(shim),
		"go.mod":              "module handler\n\ngo 1.22\n\nrequire handler/function v0.0.0\n\nreplace handler/function => ./function\n",
		"function/go.mod":     "module handler/function\n\ngo 1.22\n",
		"function/handler.go": string(fn),
	} {
		if err := os.WriteFile(filepath.Join(src, name), []byte(body), 0o600); err != nil {
			return "", err
		}
	}
	out := filepath.Join(dir, "reactor.wasm")
	cmd := exec.Command("go", "build", "-buildmode=c-shared", "-o", out, ".")
	cmd.Dir = src
	cmd.Env = append(os.Environ(), "GOOS=wasip1", "GOARCH=wasm", "CGO_ENABLED=0", "GOWORK=off", "GOFLAGS=-mod=mod")
	if b, err := cmd.CombinedOutput(); err != nil {
		return "", fmt.Errorf("%v\n%s", err, b)
	}
	return out, nil
}

func reactorFixture(t testing.TB, d *api.FunctionDeployment, env ...string) *fixture {
	f := newFixture(t, d, append([]string{"fprocess=reactor.wasm"}, env...)...)
	if f.prep.Run.(*version).snap == nil {
		t.Fatal("the reactor module does not run from a snapshot")
	}
	return f
}

// TestSnapshotAnswersAsFreshStart: calls made from the snapshot answer as
// the same code run from its start as a command does, the request's
// variables and the function's files and secrets included.
func TestSnapshotAnswersAsFreshStart(t *testing.T) {
	cmd := newFixture(t, &api.FunctionDeployment{}, "greeting=hi").start()
	snap := reactorFixture(t, &api.FunctionDeployment{}, "greeting=hi").start()
	for _, q := range []string{"", "env", "passwd", "write", "secret", "own", "fail"} {
		cc, cb := call(t, cmd+"/some/path?"+q, "hello")
		sc, sb := call(t, snap+"/some/path?"+q, "hello")
		if cc != sc || cb != sb {
			t.Errorf("?%s: command %d %q, snapshot %d %q", q, cc, cb, sc, sb)
		}
	}
	if code, body := call(t, snap+"/?initenv", ""); code != 200 || body != "hi" {
		t.Errorf("environment read at init: %d %q", code, body)
	}
}

// TestSnapshotSkipsInit: a call does not run the package inits again.
func TestSnapshotSkipsInit(t *testing.T) {
	url := reactorFixture(t, &api.FunctionDeployment{}).start()
	time.Sleep(300 * time.Millisecond)
	code, body := call(t, url+"/?age", "")
	age, err := time.ParseDuration(body)
	if code != 200 || err != nil || age < 300*time.Millisecond {
		t.Fatalf("time since the package init: %d %q", code, body)
	}
}

func TestSnapshotConcurrentCallsShareNoState(t *testing.T) {
	url := reactorFixture(t, &api.FunctionDeployment{}, "exec_timeout=60s").start()
	var wg sync.WaitGroup
	errs := make(chan string, 100)
	for i := range 100 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			in := fmt.Sprintf("call-%d", i)
			if code, body := call(t, url+"/?state", in); code != 200 || body != "|"+in {
				errs <- fmt.Sprintf("%s: %d %q", in, code, body)
			}
		}()
	}
	wg.Wait()
	close(errs)
	for e := range errs {
		t.Error(e)
	}
}

func TestSnapshotLoopStoppedAtTimeoutNextCallWorks(t *testing.T) {
	url := reactorFixture(t, &api.FunctionDeployment{}, "exec_timeout=300ms").start()
	start := time.Now()
	if code, body := call(t, url+"/?loop", ""); code != http.StatusRequestTimeout || time.Since(start) > 3*time.Second {
		t.Fatalf("loop: %d %q after %s", code, body, time.Since(start))
	}
	if code, body := call(t, url+"/", "again"); code != 200 || body != "again" {
		t.Fatalf("after the loop: %d %q", code, body)
	}
}

func TestSnapshotAllocationPastLimitFailsAlone(t *testing.T) {
	url := reactorFixture(t, &api.FunctionDeployment{Limits: &api.Resources{Memory: "64Mi"}}).start()
	var wg sync.WaitGroup
	var okCode, allocCode int
	wg.Add(2)
	go func() { defer wg.Done(); allocCode, _ = call(t, url+"/?alloc", "") }()
	go func() { defer wg.Done(); okCode, _ = call(t, url+"/", "x") }()
	wg.Wait()
	if allocCode != 500 || okCode != 200 {
		t.Fatalf("alloc %d, echo beside it %d", allocCode, okCode)
	}
	if code, body := call(t, url+"/", "y"); code != 200 || body != "y" {
		t.Fatalf("after: %d %q", code, body)
	}
}

// TestSnapshotRandomness: crypto/rand reads the host's randomness per
// read, so it differs between calls; the Go runtime's own generator
// (math/rand/v2's functions) was seeded before the snapshot and repeats
// (docs/security.md says so).
func TestSnapshotRandomness(t *testing.T) {
	url := reactorFixture(t, &api.FunctionDeployment{}).start()
	seen := map[string]map[string]bool{"crand": {}, "mrand": {}}
	for range 3 {
		for q := range seen {
			code, body := call(t, url+"/?"+q, "")
			if code != 200 || strings.TrimSpace(body) == "" {
				t.Fatalf("?%s: %d %q", q, code, body)
			}
			seen[q][body] = true
		}
	}
	if len(seen["crand"]) != 3 {
		t.Errorf("crypto/rand repeated between calls: %v", seen["crand"])
	}
	t.Logf("math/rand/v2 over 3 calls: %v", seen["mrand"])
}
