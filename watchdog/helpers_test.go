package watchdog

import (
	"context"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"testing"
	"time"

	"github.com/ferryfaas/ferry/internal/ports"
	"github.com/ferryfaas/ferry/test/harness"
)

// TestMain lets the test binary play the other processes of a test: the
// watchdog itself (to test signals, inherited fds and mount namespaces on a
// real process) and an upstream HTTP function for mode http.
func TestMain(m *testing.M) {
	switch os.Getenv("WATCHDOG_TEST_ROLE") {
	case "watchdog":
		// the function processes it starts play WATCHDOG_CHILD_ROLE, if any
		if r := os.Getenv("WATCHDOG_CHILD_ROLE"); r != "" {
			os.Setenv("WATCHDOG_TEST_ROLE", r)
		} else {
			os.Unsetenv("WATCHDOG_TEST_ROLE")
		}
		os.Exit(Main())
	case "parent":
		os.Exit(supervisor())
	case "echo":
		os.Exit(echoServer(os.Getenv("ECHO_ADDR")))
	case "exit":
		os.Exit(3) // a function server that dies at once
	}
	os.Exit(m.Run())
}

// echoServer is a minimal HTTP function: / echoes the body and request
// details, /slow waits for the caller to give up, /sse streams.
func echoServer(addr string) int {
	mux := http.NewServeMux()
	mux.HandleFunc("/slow", func(w http.ResponseWriter, r *http.Request) {
		select {
		case <-r.Context().Done():
		case <-time.After(20 * time.Second):
		}
	})
	mux.HandleFunc("/sse", func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "text/event-stream")
		fmt.Fprint(w, "data: one\n\n")
		w.(http.Flusher).Flush()
		select { // the rest only when the caller hangs up (or much later)
		case <-r.Context().Done():
		case <-time.After(20 * time.Second):
		}
		fmt.Fprint(w, "data: two\n\n")
	})
	mux.HandleFunc("/", func(w http.ResponseWriter, r *http.Request) {
		body, _ := io.ReadAll(r.Body)
		w.Header().Set("X-Echo-Method", r.Method)
		w.Header().Set("X-Echo-Path", r.URL.Path)
		w.Header().Set("X-Echo-Query", r.URL.RawQuery)
		w.Header().Set("X-Echo-Header", r.Header.Get("X-Test"))
		w.Header().Set("X-Echo-Length", fmt.Sprint(r.ContentLength))
		w.Write(body)
	})
	mux.HandleFunc("/early", func(w http.ResponseWriter, r *http.Request) {
		http.Error(w, "too large", http.StatusRequestEntityTooLarge) // without reading the body
	})
	mux.HandleFunc("/close", func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Connection", "close")
		fmt.Fprint(w, "closing")
	})
	mux.HandleFunc("/chunked", func(w http.ResponseWriter, r *http.Request) {
		for i := 0; i < 3; i++ {
			fmt.Fprintf(w, "part%d;", i)
			w.(http.Flusher).Flush()
		}
	})
	srv := &http.Server{Addr: addr, Handler: mux}
	if v := os.Getenv("ECHO_IDLE_TIMEOUT"); v != "" {
		srv.IdleTimeout, _ = time.ParseDuration(v)
	}
	if f := os.Getenv("ECHO_PIDFILE"); f != "" {
		os.WriteFile(f, []byte(fmt.Sprint(os.Getpid())), 0o644)
	}
	fmt.Fprintln(os.Stderr, "echo server starting")
	if err := srv.ListenAndServe(); err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	return 0
}

// instance is a watchdog running in the test process.
type instance struct {
	url, metricsURL string
	cfg             Config
	logs            *harness.LockedBuffer
	cancel          context.CancelFunc
	done            chan error
	ready           chan struct{}
}

// testConfig parses env (KEY=value pairs) on top of the test's environment,
// with a zero drain so tests stop fast.
func testConfig(t *testing.T, kv ...string) Config {
	t.Helper()
	env := append(os.Environ(), "healthcheck_interval=0", "port=0")
	env = append(env, kv...)
	cfg, err := ConfigFromEnv(env)
	if err != nil {
		t.Fatalf("ConfigFromEnv: %v", err)
	}
	return cfg
}

// start runs cfg in-process on loopback listeners and waits until ready.
func start(t *testing.T, cfg Config) *instance {
	t.Helper()
	inst := startNoWait(t, cfg)
	select {
	case <-inst.ready:
	case err := <-inst.done:
		t.Fatalf("watchdog stopped before ready: %v\nlogs:\n%s", err, inst.logs)
	case <-time.After(10 * time.Second):
		t.Fatalf("watchdog not ready after 10s; logs:\n%s", inst.logs)
	}
	return inst
}

func startNoWait(t *testing.T, cfg Config) *instance {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	mln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	inst := &instance{
		url:        "http://" + ln.Addr().String(),
		metricsURL: "http://" + mln.Addr().String(),
		logs:       &harness.LockedBuffer{},
		done:       make(chan error, 1),
		ready:      make(chan struct{}),
	}
	cfg.Listener, cfg.MetricsListener, cfg.Log = ln, mln, inst.logs
	if cfg.LockDir == "/tmp" || cfg.LockDir == os.Getenv("TMPDIR") {
		cfg.LockDir = t.TempDir()
	}
	cfg.OnReady = func() { close(inst.ready) }
	inst.cfg = cfg
	ctx, cancel := context.WithCancel(context.Background())
	inst.cancel = cancel
	go func() { inst.done <- Run(ctx, cfg) }()
	t.Cleanup(func() {
		cancel()
		select {
		case <-inst.done:
		case <-time.After(15 * time.Second):
			t.Errorf("watchdog did not stop within 15s")
		}
	})
	return inst
}

// stop cancels the watchdog (the SIGTERM path) and returns Run's result.
func (i *instance) stop(t *testing.T) error {
	t.Helper()
	i.cancel()
	select {
	case err := <-i.done:
		i.done <- err // for Cleanup
		return err
	case <-time.After(15 * time.Second):
		t.Fatal("watchdog did not stop within 15s")
		return nil
	}
}

var client = &http.Client{Timeout: 15 * time.Second}

// call sends one request and returns status, headers and body.
func call(t *testing.T, method, url, body string, hdr ...string) (int, http.Header, string) {
	t.Helper()
	return harness.Call(t, client, method, url, body, hdr...)
}

// freePort returns a loopback port that was free a moment ago (for child
// processes that must be told their port up front).
func freePort(t *testing.T) int {
	t.Helper()
	p, err := ports.Free()
	if err != nil {
		t.Fatal(err)
	}
	return p
}

// waitStatus polls url until it answers want, within d: for state changes
// (drain) that have no other observable event.
func waitStatus(t *testing.T, url string, want int, d time.Duration) {
	t.Helper()
	deadline := time.Now().Add(d)
	last := 0
	for time.Now().Before(deadline) {
		resp, err := http.Get(url)
		if err == nil {
			last = resp.StatusCode
			resp.Body.Close()
			if last == want {
				return
			}
		}
		time.Sleep(10 * time.Millisecond)
	}
	t.Fatalf("%s: want %d within %s, last %d", url, want, d, last)
}

func benchFreePort(b *testing.B) int {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		b.Fatal(err)
	}
	defer ln.Close()
	return ln.Addr().(*net.TCPAddr).Port
}

// benchStart runs cfg in-process for a benchmark and returns its base URL;
// it stops when the benchmark ends.
func benchStart(b *testing.B, cfg Config) string {
	url, stop := benchRun(b, cfg)
	b.Cleanup(stop)
	return url
}

// benchRun runs cfg in-process until ready and returns its base URL and
// the function that stops it.
func benchRun(b *testing.B, cfg Config) (url string, stop func()) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		b.Fatal(err)
	}
	ready := make(chan struct{})
	cfg.Listener, cfg.MetricsListener, cfg.MetricsPort = ln, nil, -1
	cfg.Log, cfg.SuppressLock = io.Discard, true
	cfg.OnReady = func() { close(ready) }
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- Run(ctx, cfg) }()
	select {
	case <-ready:
	case err := <-done:
		cancel()
		b.Fatal(err)
	}
	return "http://" + ln.Addr().String(), func() { cancel(); <-done }
}
