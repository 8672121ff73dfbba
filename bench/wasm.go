package bench

import (
	"archive/tar"
	"bytes"
	"compress/gzip"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"time"

	"github.com/ferryfaas/ferry/builder"
	"github.com/ferryfaas/ferry/stack"
	"github.com/ferryfaas/ferry/test/harness"
)

// The wasm runtime beside the process runtime on one `ferry serve`: calls/s
// at c=16 of an echo run as a fresh WebAssembly instance per call (the
// hand-assembled echo.wasm, a Go wasip1 echo as a command, and the same
// echo built by the go-wasm template as `ferry up` builds it, a reactor
// whose calls start from a snapshot taken after Go's start, and a Rust
// echo built by the rust-wasm template, a command) beside the same echo in
// fork mode (cat: a fork and exec per call; the same Go and the same Rust
// echo built for the host) and in http mode, and the p50 of one call at
// c=1; then the memory of idle wasm functions. The Rust rows are left out,
// with a line saying why, when no Rust with a wasm32 std is installed.
// The cold start of an instance alone (no HTTP) is BenchmarkColdStart in
// provider/wasmrt.
func init() { Register(Scenario{Name: "wasm", Order: 35, Run: runWasm}) }

const wasmIdleFunctions = 100

func runWasm(ctx context.Context, env *Env) ([]Row, error) {
	dir, echo, err := echoWorkdir("ferry-bench-wasm-")
	if err != nil {
		return nil, err
	}
	defer os.RemoveAll(dir)
	art, err := wasmArtifact(dir)
	if err != nil {
		return nil, err
	}
	f, err := harness.Start(harness.Options{})
	if err != nil {
		return nil, err
	}
	defer f.Stop()
	digest, err := uploadArtifact(f, "wasm", art)
	if err != nil {
		return nil, err
	}
	snapArt, err := wasmReactorArtifact(ctx, dir)
	if err != nil {
		return nil, err
	}
	snapDigest, err := uploadArtifact(f, "reactor", snapArt)
	if err != nil {
		return nil, err
	}
	wasmFnOf := func(name, module, digest string) map[string]any {
		return map[string]any{"service": name, "image": "wasm", "envProcess": module,
			"labels": map[string]string{"com.ferryfaas.runtime": "wasm"}, "annotations": map[string]string{"com.ferryfaas.artifact": digest}}
	}
	wasmFn := func(name, module string) map[string]any { return wasmFnOf(name, module, digest) }
	// The same Go echo as wasm-go, built for the host: "the same echo in
	// fork mode", whose every call also pays Go's start.
	goFork, err := harness.GoBinary("wasmecho", "./bench/wasmecho")
	if err != nil {
		return nil, err
	}
	gAddr, _ := harness.FreeAddr()
	deps := []map[string]any{
		{"service": "go-fork", "image": "go-fork", "envProcess": goFork},
		wasmFn("wasm-echo", "echo.wasm"), wasmFn("wasm-go", "main.wasm"), wasmFnOf("wasm-go-snap", "main.wasm", snapDigest),
		{"service": "cat", "image": "cat", "envProcess": "cat"},
		{"service": "echo-http", "image": "bench/echo", "envProcess": echo,
			"envVars": map[string]string{"mode": "http", "upstream_url": "http://" + gAddr, "ECHO_ADDR": gAddr}},
	}
	fns := []string{"wasm-echo", "wasm-go", "wasm-go-snap", "cat", "go-fork", "echo-http"}
	// The same echo's fork-mode twin, for each wasm echo in a language.
	sameEcho := map[string]string{"wasm-go": "go-fork", "wasm-go-snap": "go-fork"}
	// The Rust echo: the module as `ferry up` builds it, and the same
	// crate built for the host, run in fork mode.
	if rustArt, rustFork, err := rustEcho(ctx, dir); err != nil {
		env.Logf("   no Rust rows: %v", err)
	} else {
		rustDigest, err := uploadArtifact(f, "rust-wasm", rustArt)
		if err != nil {
			return nil, err
		}
		deps = append(deps, wasmFnOf("wasm-rust", "main.wasm", rustDigest),
			map[string]any{"service": "rust-fork", "image": "rust-fork", "envProcess": rustFork})
		fns = append(fns, "wasm-rust", "rust-fork")
		sameEcho["wasm-rust"] = "rust-fork"
	}
	wctx, cancel := context.WithTimeout(ctx, 2*time.Minute)
	defer cancel()
	for _, d := range deps {
		if err := Deploy(f, d); err != nil {
			return nil, err
		}
		if err := f.WaitReady(wctx, d["service"].(string), "openfaas-fn", 1); err != nil {
			return nil, err
		}
	}
	d := env.Dur(4 * time.Second)
	res := map[string]LoadResult{}
	for _, c := range []int{1, 16} {
		for _, fn := range fns {
			url := f.URL + "/function/" + fn
			Load(ctx, url, coreBody, c, d/8, 2_000_000)
			r := Load(ctx, url, coreBody, c, d, 2_000_000)
			res[fmt.Sprintf("%s c=%d", fn, c)] = r
			env.Logf("   %-10s c=%-3d %8.0f req/s p50 %7.3f ms p99 %7.3f ms errors %d", fn, c, r.RPS, Ms(r.P50), Ms(r.P99), r.Errors)
		}
	}
	var rows []Row
	fork := res["cat c=16"]
	for _, fn := range []string{"wasm-echo", "wasm-go", "wasm-go-snap", "wasm-rust"} {
		if _, ok := res[fn+" c=16"]; !ok {
			continue
		}
		r := res[fn+" c=16"]
		if twin := sameEcho[fn]; twin != "" {
			lang := map[string]string{"go-fork": "Go", "rust-fork": "Rust"}[twin]
			tf := res[twin+" c=16"]
			rows = append(rows, Row{Case: fn + " c=16", Metric: "req/s", Value: r.RPS, Unit: "req/s", Baseline: "the same " + lang + " echo, fork mode, c=16",
				BaselineValue: tf.RPS, Ratio: r.RPS / tf.RPS, Target: ">= 3x", Met: r.RPS >= 3*tf.RPS})
			t1 := res[twin+" c=1"]
			rows = append(rows, Row{Case: fn + " c=1", Metric: "p50", Value: Ms(res[fn+" c=1"].P50), Unit: "ms", Baseline: "the same " + lang + " echo, fork mode, c=1",
				BaselineValue: Ms(t1.P50), Ratio: float64(res[fn+" c=1"].P50) / float64(t1.P50)})
		}
		rows = append(rows,
			Row{Case: fn + " c=16", Metric: "req/s", Value: r.RPS, Unit: "req/s", Baseline: "fork cat c=16",
				BaselineValue: fork.RPS, Ratio: r.RPS / fork.RPS, Target: ">= 3x", Met: r.RPS >= 3*fork.RPS},
			Row{Case: fn + " c=16", Metric: "req/s vs http mode", Value: r.RPS, Unit: "req/s", Baseline: "http echo c=16",
				BaselineValue: res["echo-http c=16"].RPS, Ratio: r.RPS / res["echo-http c=16"].RPS},
			Row{Case: fn + " c=1", Metric: "p50", Value: Ms(res[fn+" c=1"].P50), Unit: "ms", Baseline: "fork cat c=1",
				BaselineValue: Ms(res["cat c=1"].P50), Ratio: float64(res[fn+" c=1"].P50) / float64(res["cat c=1"].P50)},
		)
	}

	// Memory: idle wasm functions of one module (its compiled code is
	// shared), a replica each; the server's RSS before and after.
	runtime.GC()
	time.Sleep(env.Dur(2 * time.Second))
	before := RSS(f.PID())
	for i := range wasmIdleFunctions {
		name := fmt.Sprintf("idle-%d", i)
		if err := Deploy(f, wasmFn(name, "echo.wasm")); err != nil {
			return rows, err
		}
		if err := f.WaitReady(wctx, name, "openfaas-fn", 1); err != nil {
			return rows, err
		}
	}
	time.Sleep(env.Dur(2 * time.Second))
	per := float64(RSS(f.PID())-before) / wasmIdleFunctions / 1024
	env.Logf("   idle wasm function: %.0f KB of the server's RSS each (%d functions)", per, wasmIdleFunctions)
	rows = append(rows, Row{Case: "idle wasm function", Metric: "RSS each", Value: per, Unit: "KB"})
	return rows, nil
}

// wasmArtifact packs echo.wasm (provider/wasmrt/testdata) and a Go echo
// built for wasip1 as main.wasm.
func wasmArtifact(dir string) ([]byte, error) {
	_, self, _, _ := runtime.Caller(0)
	root := filepath.Dir(filepath.Dir(self))
	echo, err := os.ReadFile(filepath.Join(root, "provider", "wasmrt", "testdata", "echo.wasm"))
	if err != nil {
		return nil, err
	}
	out := filepath.Join(dir, "main.wasm")
	cmd := exec.Command("go", "build", "-trimpath", "-o", out, "./bench/wasmecho")
	cmd.Dir = root
	cmd.Env = append(os.Environ(), "GOOS=wasip1", "GOARCH=wasm", "CGO_ENABLED=0")
	if b, err := cmd.CombinedOutput(); err != nil {
		return nil, fmt.Errorf("build the Go wasm echo: %v: %s", err, b)
	}
	goEcho, err := os.ReadFile(out)
	if err != nil {
		return nil, err
	}
	var buf bytes.Buffer
	gz := gzip.NewWriter(&buf)
	tw := tar.NewWriter(gz)
	for name, b := range map[string][]byte{"echo.wasm": echo, "main.wasm": goEcho} {
		tw.WriteHeader(&tar.Header{Name: name, Mode: 0o644, Size: int64(len(b)), Typeflag: tar.TypeReg})
		tw.Write(b)
	}
	tw.Close()
	gz.Close()
	return buf.Bytes(), nil
}

// wasmReactorArtifact builds an echo with the go-wasm template, as
// `ferry up` does, and returns the artifact it makes.
func wasmReactorArtifact(ctx context.Context, dir string) ([]byte, error) {
	fn := filepath.Join(dir, "snapecho")
	if err := os.MkdirAll(fn, 0o700); err != nil {
		return nil, err
	}
	src := "package function\n\nfunc Handle(req []byte) string { return string(req) }\n"
	if err := os.WriteFile(filepath.Join(fn, "handler.go"), []byte(src), 0o600); err != nil {
		return nil, err
	}
	res, err := builder.Build(ctx, builder.Options{Function: stack.Function{Name: "snapecho", Lang: "go-wasm", Handler: "./snapecho"},
		StackDir: dir, Progress: io.Discard})
	if err != nil {
		return nil, fmt.Errorf("build the go-wasm echo: %w", err)
	}
	return os.ReadFile(res.ArtifactPath)
}

// uploadArtifact posts an artifact to the server and returns its digest.
func uploadArtifact(f *harness.Ferry, what string, art []byte) (string, error) {
	code, b, err := f.Do("POST", "/system/artifacts", art)
	if err != nil || code/100 != 2 {
		return "", fmt.Errorf("upload the %s artifact: %d %s %v", what, code, b, err)
	}
	var up struct{ Digest string }
	if err := json.Unmarshal(b, &up); err != nil || up.Digest == "" {
		return "", fmt.Errorf("upload the %s artifact: no digest in %s", what, b)
	}
	return up.Digest, nil
}

// rustEchoSrc is the echo as a rust-wasm handler (the template's
// function/src/lib.rs).
const rustEchoSrc = "pub fn handle(req: &[u8]) -> Vec<u8> {\n    req.to_vec()\n}\n"

// rustEcho builds an echo with the rust-wasm template, as `ferry up` does,
// and returns its artifact and the same crate (shim and handler) built for
// the host by the same rustc: the fork-mode twin.
func rustEcho(ctx context.Context, dir string) (artifact []byte, host string, err error) {
	tc, err := builder.FindRustWasm()
	if err != nil {
		return nil, "", err
	}
	fn := filepath.Join(dir, "rustecho")
	if err := os.MkdirAll(filepath.Join(fn, "src"), 0o755); err != nil {
		return nil, "", err
	}
	cargo := "[package]\nname = \"handler\"\nversion = \"0.1.0\"\nedition = \"2021\"\n"
	for name, body := range map[string]string{"Cargo.toml": cargo, "src/lib.rs": rustEchoSrc} {
		if err := os.WriteFile(filepath.Join(fn, name), []byte(body), 0o644); err != nil {
			return nil, "", err
		}
	}
	out := filepath.Join(dir, "rust-build")
	res, err := builder.Build(ctx, builder.Options{Function: stack.Function{Name: "rustecho", Lang: "rust-wasm", Handler: "./rustecho"},
		StackDir: dir, OutDir: out, Progress: io.Discard})
	if err != nil {
		return nil, "", fmt.Errorf("build the rust-wasm echo: %w", err)
	}
	if artifact, err = os.ReadFile(res.ArtifactPath); err != nil {
		return nil, "", err
	}
	// The build folder builder.Build left is the whole crate.
	if host, err = builder.CompileRustHost(ctx, tc, filepath.Join(out, "rustecho")); err != nil {
		return nil, "", fmt.Errorf("build the Rust echo for the host: %w", err)
	}
	return artifact, host, nil
}
