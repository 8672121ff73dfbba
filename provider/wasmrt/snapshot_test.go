package wasmrt

import (
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/ferryfaas/ferry/api"
	"github.com/ferryfaas/ferry/provider/process"
)

// buildReactor builds testdata/fn inside the go-wasm template's shim as
// a reactor, laid out and built as ferry up builds a Go template.
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
	concurrentCallsShareNoState(t, reactorFixture(t, &api.FunctionDeployment{}, "exec_timeout=60s").start())
}

func TestSnapshotLoopStoppedAtTimeoutNextCallWorks(t *testing.T) {
	loopStoppedNextCallWorks(t, reactorFixture(t, &api.FunctionDeployment{}, "exec_timeout=300ms").start())
}

func TestSnapshotAllocationPastLimitFailsAlone(t *testing.T) {
	allocationFailsAlone(t, reactorFixture(t, &api.FunctionDeployment{Limits: &api.Resources{Memory: "64Mi"}}).start())
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

// TestSnapshotCompiledFromCacheAfterRestart: the module rewritten from a
// snapshot is the same bytes after a restart (Go's start leaves its
// globals and memory size the same), so it comes from the disk cache.
func TestSnapshotCompiledFromCacheAfterRestart(t *testing.T) {
	cacheSurvivesRestart(t, "fprocess=reactor.wasm")
}

// TestSnapshotInitFailureFailsTheVersion: a panic in a package init is
// the version's failure, with what the guest said.
func TestSnapshotInitFailureFailsTheVersion(t *testing.T) {
	rt, err := New(cacheDir, 0)
	if err != nil {
		t.Fatal(err)
	}
	defer rt.Close()
	v := &process.Version{Deployment: &api.FunctionDeployment{Service: "g"}, UID: -1, GID: -1,
		Env: []string{"fprocess=reactor.wasm", "fail_init=1"}, Artifact: "a", CodeDir: t.TempDir(), Unpack: unpackGuest}
	prep, err := rt.Prepare(context.Background(), v)
	if err != nil || !strings.Contains(prep.Failure, "init failing on purpose") {
		t.Fatalf("prepare: %v, failure %q", err, prep.Failure)
	}
}
