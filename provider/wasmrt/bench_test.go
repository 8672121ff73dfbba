package wasmrt

import (
	"bytes"
	"context"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"sort"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/ferryfaas/ferry/api"
	"github.com/ferryfaas/ferry/builder"
	"github.com/ferryfaas/ferry/stack"
	"github.com/ferryfaas/ferry/watchdog"
	"github.com/tetratelabs/wazero"
)

// BenchmarkColdStart is the cold start of a call without HTTP: a fresh
// instance of the compiled guest runs to its exit (echoing 5 bytes). It
// reports the p50 and p99 of one instantiation.
func BenchmarkColdStart(b *testing.B) {
	b.Run("go", func(b *testing.B) { benchColdStart(b, newFixture(b, &api.FunctionDeployment{})) })
	b.Run("go-snapshot", func(b *testing.B) { benchColdStart(b, reactorFixture(b, &api.FunctionDeployment{})) })
	b.Run("echo.wasm", func(b *testing.B) { benchColdStart(b, newFixture(b, &api.FunctionDeployment{}, "fprocess=echo.wasm")) })
	// A Rust echo built by the rust-wasm template, and the same crate built
	// for the host run as fork mode runs it (skipped without a Rust wasm
	// toolchain).
	b.Run("rust", func(b *testing.B) {
		needRustEcho(b)
		benchColdStart(b, newFixture(b, &api.FunctionDeployment{}, "fprocess=rust.wasm"))
	})
	b.Run("fork-rust", func(b *testing.B) { benchForkExec(b, needRustEcho(b)) })
	// The same-run baseline: what the process runtime's fork mode does per
	// call, a fork and exec of the function (cat) echoing the body.
	b.Run("fork-cat", func(b *testing.B) { benchForkExec(b, "cat") })
}

// benchForkExec is a fork and exec of bin per call, echoing 5 bytes.
func benchForkExec(b *testing.B, bin string) {
	lat := make([]time.Duration, 0, b.N)
	cpu0 := cpuTime()
	for b.Loop() {
		var out bytes.Buffer
		cmd := exec.Command(bin)
		cmd.Stdin, cmd.Stdout = bytes.NewReader([]byte("hello")), &out
		start := time.Now()
		if err := cmd.Run(); err != nil || out.String() != "hello" {
			b.Fatal(err, out.String())
		}
		lat = append(lat, time.Since(start))
	}
	reportPercentiles(b, lat, cpuTime()-cpu0)
}

// rustEcho is a Rust echo built once by the rust-wasm template, as ferry
// up builds it (wasm, copied into the guests' code as rust.wasm), and the
// same crate built for the host (host).
var rustEcho struct {
	once       sync.Once
	wasm, host string
	err        error
}

// needRustEcho builds the Rust echo once, skipping b when it cannot be
// built here, and returns the host program.
func needRustEcho(b *testing.B) string {
	rustEcho.once.Do(func() {
		tc, err := builder.FindRustWasm()
		if err != nil {
			rustEcho.err = err
			return
		}
		dir := filepath.Join(filepath.Dir(guestWasm), "rust-echo")
		if err := os.MkdirAll(filepath.Join(dir, "fn", "src"), 0o755); err != nil {
			rustEcho.err = err
			return
		}
		os.WriteFile(filepath.Join(dir, "fn", "Cargo.toml"), []byte("[package]\nname = \"handler\"\nversion = \"0.1.0\"\nedition = \"2021\"\n"), 0o644)
		os.WriteFile(filepath.Join(dir, "fn", "src", "lib.rs"), []byte("pub fn handle(req: &[u8]) -> Vec<u8> {\n    req.to_vec()\n}\n"), 0o644)
		if _, err := builder.Build(context.Background(), builder.Options{Function: stack.Function{Name: "echo", Lang: "rust-wasm", Handler: "./fn"},
			StackDir: dir, Progress: io.Discard}); err != nil {
			rustEcho.err = err
			return
		}
		work := filepath.Join(dir, "build", "echo")
		rustEcho.wasm = filepath.Join(work, "main.wasm")
		rustEcho.host, rustEcho.err = builder.CompileRustHost(context.Background(), tc, work)
	})
	if rustEcho.err != nil {
		b.Skipf("no Rust echo: %v", rustEcho.err)
	}
	return rustEcho.host
}

func benchColdStart(b *testing.B, f *fixture) {
	s := f.prep.Run.(*version)
	ctx := context.Background()
	var use usage
	lat := make([]time.Duration, 0, b.N)
	cpu0 := cpuTime()
	for b.Loop() {
		var out bytes.Buffer
		start := time.Now()
		l := admit(ctx, f.rt.Budget, &use, s.mod, admission(s.mod, f.rt.Budget))
		err := s.run(ctx, s.base.WithStdin(bytes.NewReader([]byte("hello"))).WithStdout(&out).WithStderr(io.Discard), l.withMemory)
		l.release()
		if err != nil {
			b.Fatal(err)
		}
		if out.String() != "hello" {
			b.Fatalf("echo said %q", out.String())
		}
		lat = append(lat, time.Since(start))
	}
	reportPercentiles(b, lat, cpuTime()-cpu0)
}

// BenchmarkCall is one call over HTTP (loopback, keep-alive) to a replica.
func BenchmarkCall(b *testing.B) {
	b.Run("go", func(b *testing.B) { benchCall(b, newFixture(b, &api.FunctionDeployment{})) })
	b.Run("go-snapshot", func(b *testing.B) { benchCall(b, reactorFixture(b, &api.FunctionDeployment{})) })
	b.Run("echo.wasm", func(b *testing.B) { benchCall(b, newFixture(b, &api.FunctionDeployment{}, "fprocess=echo.wasm")) })
	b.Run("rust", func(b *testing.B) {
		needRustEcho(b)
		benchCall(b, newFixture(b, &api.FunctionDeployment{}, "fprocess=rust.wasm"))
	})
	// The same-run baseline: the same echo (cat) behind the watchdog in
	// fork mode, a fork and exec per call.
	b.Run("fork-cat", func(b *testing.B) { benchURL(b, forkCat(b)) })
}

func benchCall(b *testing.B, f *fixture) { benchURL(b, f.start()) }

// forkCat serves cat in the watchdog's serializing mode (a fork per call)
// and returns its base URL.
func forkCat(b *testing.B) string {
	cfg, err := watchdog.ConfigFromEnv([]string{"fprocess=cat", "mode=serializing", "healthcheck_interval=0"})
	if err != nil {
		b.Fatal(err)
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		b.Fatal(err)
	}
	mln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		b.Fatal(err)
	}
	ready := make(chan struct{})
	cfg.Listener, cfg.MetricsListener, cfg.Log, cfg.SuppressLock = ln, mln, io.Discard, true
	cfg.OnReady = func() { close(ready) }
	ctx, stop := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() { defer close(done); watchdog.Run(ctx, cfg) }()
	b.Cleanup(func() { stop(); <-done })
	select {
	case <-ready:
	case <-time.After(10 * time.Second):
		b.Fatal("fork-mode watchdog not ready")
	}
	return "http://" + ln.Addr().String()
}

// benchURL posts "hello" to url from 16 clients and reports calls/s.
func benchURL(b *testing.B, base string) {
	b.SetParallelism(8) // 16 clients on 2 cores, as the c=16 figures
	url := base + "/"
	c := &http.Client{Transport: &http.Transport{MaxIdleConnsPerHost: 16}}
	b.ResetTimer() // preparing compiles the module (twice for a snapshot)
	cpu0 := cpuTime()
	b.RunParallel(func(pb *testing.PB) {
		for pb.Next() {
			resp, err := c.Post(url, "text/plain", bytes.NewReader([]byte("hello")))
			if err != nil {
				b.Error(err)
				return
			}
			io.Copy(io.Discard, resp.Body)
			resp.Body.Close()
			if resp.StatusCode != 200 {
				b.Errorf("status %d", resp.StatusCode)
				return
			}
		}
	})
	b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "calls/s")
	// On a machine shared with other work, calls/s also measures the CPU
	// share won: 16 forked processes compete for it as 16 tasks, the wasm
	// calls as this process's threads. CPU per call says what a call costs.
	b.ReportMetric(float64((cpuTime()-cpu0).Microseconds())/float64(b.N), "cpu-µs/op")
}

// cpuTime is the CPU time of this process and its waited-for children:
// on a shared machine it says what a start costs better than its wall
// time, which waits for the CPU.
func cpuTime() time.Duration {
	var self, kids syscall.Rusage
	syscall.Getrusage(syscall.RUSAGE_SELF, &self)
	syscall.Getrusage(syscall.RUSAGE_CHILDREN, &kids)
	return time.Duration(self.Utime.Nano() + self.Stime.Nano() + kids.Utime.Nano() + kids.Stime.Nano())
}

func reportPercentiles(b *testing.B, lat []time.Duration, cpu time.Duration) {
	b.ReportMetric(float64(cpu.Microseconds())/float64(len(lat)), "cpu-µs/op")
	if len(lat) == 0 {
		return
	}
	sort.Slice(lat, func(i, j int) bool { return lat[i] < lat[j] })
	b.ReportMetric(float64(lat[len(lat)/2].Microseconds()), "p50-µs")
	b.ReportMetric(float64(lat[len(lat)*99/100].Microseconds()), "p99-µs")
}

// BenchmarkPrepare is what a deploy or a restart does to the Go guest
// before it can run: validating the module as written (the depth cap's
// safeguard; remembered across restarts) and the depth rewrite, beside
// their baselines: compiling it
// to machine code without a cache (a first deploy) and from the on-disk
// cache (a restart).
func BenchmarkPrepare(b *testing.B) {
	bin, err := os.ReadFile(guestWasm)
	if err != nil {
		b.Fatal(err)
	}
	ctx := context.Background()
	b.Run("validate", func(b *testing.B) {
		for b.Loop() {
			if err := validate(ctx, bin); err != nil {
				b.Fatal(err)
			}
		}
	})
	// What a restart pays instead: the module's record (a hash, a stat).
	b.Run("validate-remembered", func(b *testing.B) {
		rt, err := New(b.TempDir(), 0)
		if err != nil {
			b.Fatal(err)
		}
		defer rt.Close()
		if err := rt.validateOnce(ctx, bin); err != nil {
			b.Fatal(err)
		}
		n := validations.Load()
		for b.Loop() {
			if err := rt.validateOnce(ctx, bin); err != nil {
				b.Fatal(err)
			}
		}
		if validations.Load() != n {
			b.Fatal("validated again")
		}
	})
	b.Run("cap-depth", func(b *testing.B) {
		for b.Loop() {
			if _, err := capDepth(bin); err != nil {
				b.Fatal(err)
			}
		}
	})
	b.Run("compile", func(b *testing.B) {
		capped, err := capDepth(bin)
		if err != nil {
			b.Fatal(err)
		}
		for b.Loop() {
			r := wazero.NewRuntime(ctx)
			if _, err := r.CompileModule(ctx, capped); err != nil {
				b.Fatal(err)
			}
			r.Close(ctx)
		}
	})
	// A restart's compile: from the on-disk compilation cache.
	b.Run("compile-cached", func(b *testing.B) {
		capped, err := capDepth(bin)
		if err != nil {
			b.Fatal(err)
		}
		cache, err := wazero.NewCompilationCacheWithDir(b.TempDir())
		if err != nil {
			b.Fatal(err)
		}
		defer cache.Close(ctx)
		compile := func() {
			r := wazero.NewRuntimeWithConfig(ctx, wazero.NewRuntimeConfig().WithCompilationCache(cache))
			if _, err := r.CompileModule(ctx, capped); err != nil {
				b.Fatal(err)
			}
			r.Close(ctx)
		}
		compile() // fills the cache
		for b.Loop() {
			compile()
		}
	})
}
