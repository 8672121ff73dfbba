package wasmrt

import (
	"context"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/ferryfaas/ferry/api"
	"github.com/ferryfaas/ferry/provider/process"
)

// guestWasm is testdata/guest built for wasip1 (a command), once per
// test run; reactorWasm is testdata/fn in the go-wasm template's shim, a
// reactor built as ferry up builds it; cacheDir is the compilation cache
// the tests share (compiling a Go guest takes seconds).
var guestWasm, reactorWasm, cacheDir string

func TestMain(m *testing.M) {
	dir, err := os.MkdirTemp("", "wasmrt-guest-")
	if err != nil {
		panic(err)
	}
	guestWasm, cacheDir = filepath.Join(dir, "main.wasm"), filepath.Join(dir, "cache")
	cmd := exec.Command("go", "build", "-o", guestWasm, "./testdata/guest")
	cmd.Env = append(os.Environ(), "GOOS=wasip1", "GOARCH=wasm", "CGO_ENABLED=0")
	if out, err := cmd.CombinedOutput(); err != nil {
		fmt.Fprintf(os.Stderr, "build the guest: %v\n%s", err, out)
		os.Exit(1)
	}
	if reactorWasm, err = buildReactor(dir); err != nil {
		fmt.Fprintf(os.Stderr, "build the reactor guest: %v\n", err)
		os.Exit(1)
	}
	code := m.Run()
	os.RemoveAll(dir)
	os.Exit(code)
}

// fixture is a wasm runtime and one function version of the guest.
type fixture struct {
	t    testing.TB
	rt   *Runtime
	ver  *process.Version
	prep process.Prepared

	mu   sync.Mutex
	logs []string
}

func newFixture(t testing.TB, d *api.FunctionDeployment, env ...string) *fixture {
	t.Helper()
	tmp := t.TempDir()
	rt, err := New(cacheDir, 64<<20)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(rt.Close)
	secrets := filepath.Join(tmp, "secrets")
	os.MkdirAll(secrets, 0o700)
	os.WriteFile(filepath.Join(secrets, "token"), []byte("s3cret"), 0o400)
	if d.Service == "" {
		d.Service, d.Namespace = "guest", "ferry-fn"
	}
	// No drain on stop: the tests stop many replicas.
	env = append([]string{"healthcheck_interval=0"}, env...)
	v := &process.Version{Deployment: d, UID: -1, GID: -1, Env: env, SecretsDir: secrets,
		Artifact: "abc", CodeDir: filepath.Join(tmp, "code"),
		Unpack: func(dir string) error { return unpackGuest(dir) }}
	f := &fixture{t: t, rt: rt, ver: v}
	if f.prep, err = rt.Prepare(context.Background(), v); err != nil {
		t.Fatal(err)
	}
	if f.prep.Failure != "" {
		t.Fatal(f.prep.Failure)
	}
	return f
}

func unpackGuest(dir string) error {
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return err
	}
	b, err := os.ReadFile(guestWasm)
	if err != nil {
		return err
	}
	if err := os.WriteFile(filepath.Join(dir, "main.wasm"), b, 0o644); err != nil {
		return err
	}
	if b, err = os.ReadFile("testdata/echo.wasm"); err != nil {
		return err
	}
	if err := os.WriteFile(filepath.Join(dir, "echo.wasm"), b, 0o644); err != nil {
		return err
	}
	if b, err = os.ReadFile(reactorWasm); err != nil {
		return err
	}
	if err := os.WriteFile(filepath.Join(dir, "reactor.wasm"), b, 0o644); err != nil {
		return err
	}
	if rustEcho.wasm != "" {
		if b, err = os.ReadFile(rustEcho.wasm); err != nil {
			return err
		}
		if err := os.WriteFile(filepath.Join(dir, "rust.wasm"), b, 0o644); err != nil {
			return err
		}
	}
	return os.WriteFile(filepath.Join(dir, "data.txt"), []byte("own file"), 0o644)
}

// start runs a replica and returns its base URL.
func (f *fixture) start() string {
	f.t.Helper()
	x, err := f.rt.Start(context.Background(), process.ReplicaSpec{Namespace: "ferry-fn", Function: "guest", Instance: "guest-0",
		Version: f.ver, Prepared: f.prep, Output: func(_ int, line string) {
			f.mu.Lock()
			f.logs = append(f.logs, line)
			f.mu.Unlock()
		}})
	if err != nil {
		f.t.Fatal(err)
	}
	f.t.Cleanup(func() { x.Stop(context.Background(), time.Second) })
	select {
	case <-x.Ready():
	case <-time.After(10 * time.Second):
		f.t.Fatal("replica not ready")
	}
	return "http://" + x.Endpoint().Address
}

func (f *fixture) logged(s string) bool {
	f.mu.Lock()
	defer f.mu.Unlock()
	for _, l := range f.logs {
		if strings.Contains(l, s) {
			return true
		}
	}
	return false
}

func call(t testing.TB, url, body string) (int, string) {
	t.Helper()
	req, _ := http.NewRequest("POST", url, strings.NewReader(body))
	req.Header.Set("X-Test", "hdr")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, string(b)
}

func TestEchoEnvAndLogs(t *testing.T) {
	f := newFixture(t, &api.FunctionDeployment{}, "greeting=hi")
	url := f.start()
	if code, body := call(t, url+"/", "hello"); code != 200 || body != "hello" {
		t.Fatalf("echo: %d %q", code, body)
	}
	if code, body := call(t, url+"/some/path?env", ""); code != 200 || body != "POST /some/path hdr hi" {
		t.Fatalf("env: %d %q", code, body)
	}
	deadline := time.Now().Add(5 * time.Second)
	for !f.logged("echoed") && time.Now().Before(deadline) {
		time.Sleep(10 * time.Millisecond)
	}
	if !f.logged("echoed") {
		t.Fatalf("stderr not in the logs: %q", f.logs)
	}
}

func TestNonZeroExitIs500WithOutput(t *testing.T) {
	url := newFixture(t, &api.FunctionDeployment{}).start()
	code, body := call(t, url+"/?fail", "")
	if code != 500 || !strings.Contains(body, "failing on purpose") {
		t.Fatalf("%d %q", code, body)
	}
}

func TestLoopStoppedAtTimeoutNextCallWorks(t *testing.T) {
	loopStoppedNextCallWorks(t, newFixture(t, &api.FunctionDeployment{}, "exec_timeout=300ms").start())
}

// loopStoppedNextCallWorks: a looping call at url (exec_timeout 300ms) is
// stopped with a 408 and the next call works.
func loopStoppedNextCallWorks(t *testing.T, url string) {
	start := time.Now()
	code, body := call(t, url+"/?loop", "")
	if code != http.StatusRequestTimeout || time.Since(start) > 3*time.Second {
		t.Fatalf("loop: %d %q after %s", code, body, time.Since(start))
	}
	if code, body := call(t, url+"/", "again"); code != 200 || body != "again" {
		t.Fatalf("after the loop: %d %q", code, body)
	}
}

func TestAllocationPastLimitFailsAlone(t *testing.T) {
	allocationFailsAlone(t, newFixture(t, &api.FunctionDeployment{Limits: &api.Resources{Memory: "64Mi"}}).start())
}

// allocationFailsAlone: a call at url (limits.memory 64Mi) allocating
// 256 MiB fails with a 500, the call beside it and the next one work.
func allocationFailsAlone(t *testing.T, url string) {
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

func TestSandbox(t *testing.T) {
	url := newFixture(t, &api.FunctionDeployment{}).start()
	// A host listener the guest is told about must see no connection.
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	accepted := make(chan struct{}, 1)
	go func() {
		if c, err := ln.Accept(); err == nil {
			accepted <- struct{}{}
			c.Close()
		}
	}()
	if code, body := call(t, url+"/?dial", ln.Addr().String()); code != 200 || !strings.HasPrefix(body, "dial: dial tcp "+ln.Addr().String()+": ") {
		t.Errorf("dial: %d %q", code, body)
	}
	select {
	case <-accepted:
		t.Error("the guest reached a host socket")
	case <-time.After(200 * time.Millisecond):
	}
	for q, want := range map[string]string{
		"passwd": "passwd: open /etc/passwd: ",
		"write":  "write: open /home/app/x: ",
		"secret": "s3cret<nil>",
		"own":    "own file<nil>",
	} {
		code, body := call(t, url+"/?"+q, "")
		t.Logf("%s: %d %q", q, code, body)
		if code != 200 || !strings.HasPrefix(body, want) || strings.HasSuffix(body, "<nil>") != strings.HasSuffix(want, "<nil>") {
			t.Errorf("%s: %d %q, want %q...", q, code, body, want)
		}
	}
}

func TestConcurrentCallsShareNoState(t *testing.T) {
	// A long timeout: a hundred Go guests start at once on a shared
	// machine (under -race too).
	concurrentCallsShareNoState(t, newFixture(t, &api.FunctionDeployment{}, "exec_timeout=60s").start())
}

// concurrentCallsShareNoState: a hundred concurrent calls at url each
// see only their own state.
func concurrentCallsShareNoState(t *testing.T, url string) {
	var wg sync.WaitGroup
	errs := make(chan string, 100)
	for i := range 100 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			in := fmt.Sprintf("call-%d", i)
			code, body := call(t, url+"/?state", in)
			if code != 200 || body != "|"+in {
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

func TestMaxInflight(t *testing.T) {
	url := newFixture(t, &api.FunctionDeployment{}, "max_inflight=1", "exec_timeout=2s").start()
	done := make(chan int)
	go func() { c, _ := call(t, url+"/?loop", ""); done <- c }()
	time.Sleep(300 * time.Millisecond)
	if code, _ := call(t, url+"/", "x"); code != http.StatusTooManyRequests {
		t.Fatalf("second call at max_inflight=1: %d", code)
	}
	<-done
}

func TestBadInput(t *testing.T) {
	rt, err := New(cacheDir, 0)
	if err != nil {
		t.Fatal(err)
	}
	defer rt.Close()
	for _, c := range []struct {
		env  string
		want string
	}{
		{"fprocess=../x.wasm", "fprocess"},
		{"fprocess=python3 index.py", "fprocess"},
		{"fprocess=missing.wasm", "missing.wasm"},
		{"fprocess=data.txt.wasm", ""},
	} {
		dir := t.TempDir()
		v := &process.Version{Deployment: &api.FunctionDeployment{Service: "g"}, UID: -1, GID: -1, Env: []string{c.env},
			Artifact: "a", CodeDir: dir, Unpack: unpackGuest}
		_, err := rt.Prepare(context.Background(), v)
		if c.want == "" {
			continue
		}
		if api.StatusOf(err) != 400 || !strings.Contains(err.Error(), c.want) {
			t.Errorf("%s: %v", c.env, err)
		}
	}
	small := &api.FunctionDeployment{Service: "g", Limits: &api.Resources{Memory: "1Mi"}}
	v := &process.Version{Deployment: small, Artifact: "a", CodeDir: t.TempDir(), Unpack: unpackGuest}
	if _, err := rt.Prepare(context.Background(), v); api.StatusOf(err) != 400 || !strings.Contains(err.Error(), "limits.memory") {
		t.Errorf("limits.memory 1Mi for a Go guest: %v", err)
	}
	d := &api.FunctionDeployment{Service: "g", Limits: &api.Resources{Memory: "lots"}}
	v = &process.Version{Deployment: d, Artifact: "a", CodeDir: t.TempDir(), Unpack: unpackGuest}
	if _, err := rt.Prepare(context.Background(), v); api.StatusOf(err) != 400 || !strings.Contains(err.Error(), "limits.memory") {
		t.Errorf("limits.memory lots: %v", err)
	}
}

func TestCompilationCacheSurvivesRestart(t *testing.T) { cacheSurvivesRestart(t) }

// cacheSurvivesRestart prepares a version of the guest twice, each time in
// a new runtime on one cache directory, and checks the second compiles
// nothing.
func cacheSurvivesRestart(t *testing.T, env ...string) {
	dir := t.TempDir()
	prepare := func() time.Duration {
		rt, err := New(dir, 0)
		if err != nil {
			t.Fatal(err)
		}
		defer rt.Close()
		v := &process.Version{Deployment: &api.FunctionDeployment{Service: "g"}, UID: -1, GID: -1, Env: env,
			Artifact: "a", CodeDir: t.TempDir(), Unpack: unpackGuest}
		start := time.Now()
		if _, err := rt.Prepare(context.Background(), v); err != nil {
			t.Fatal(err)
		}
		return time.Since(start)
	}
	cold := prepare()
	if ents, _ := os.ReadDir(dir); len(ents) == 0 {
		t.Fatal("nothing in the compilation cache")
	}
	warm := prepare()
	t.Logf("compile %s, from the cache after a restart %s", cold, warm)
	if warm > cold/3 {
		t.Fatalf("a restart compiled again: %s, first compile %s", warm, cold)
	}
}
