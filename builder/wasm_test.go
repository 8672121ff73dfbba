package builder

import (
	"bytes"
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/ferryfaas/ferry/stack"
	"github.com/ferryfaas/ferry/templates"
	"github.com/tetratelabs/wazero"
	"github.com/tetratelabs/wazero/imports/wasi_snapshot_preview1"
)

// TestGoWasmTemplate builds the go-wasm template's default handler into a
// WASI reactor, labelled for the wasm runtime, and runs it as that runtime
// does: _initialize, then handle with the body on stdin, reply on stdout.
func TestGoWasmTemplate(t *testing.T) {
	ctx := context.Background()
	r, bin := wasmTemplateModule(t, ctx, "go-wasm")
	var out bytes.Buffer
	mod, err := r.InstantiateWithConfig(ctx, bin, wazero.NewModuleConfig().WithStdin(strings.NewReader("ferry")).WithStdout(&out).
		WithStartFunctions("_initialize"))
	if err != nil {
		t.Fatal(err)
	}
	defer mod.Close(ctx)
	handle := mod.ExportedFunction("handle")
	if handle == nil {
		t.Fatal("the module exports no handle")
	}
	if _, err := handle.Call(ctx); err != nil {
		t.Fatal(err)
	}
	if want := templates.ExpectedReply("go-wasm", "ferry"); out.String() != want {
		t.Fatalf("reply %q, want %q", out.String(), want)
	}
}

// TestRustWasmTemplate builds the rust-wasm template's default handler
// into a WASI command, labelled for the wasm runtime, and runs it as that
// runtime does: _start with the body on stdin, the reply on stdout. It is
// skipped when no Rust with a wasm32 std is installed.
func TestRustWasmTemplate(t *testing.T) {
	if _, err := FindRustWasm(); err != nil {
		t.Skipf("cannot build rust-wasm here (scripts/install-deps.sh installs Debian's): %v", err)
	}
	ctx := context.Background()
	r, bin := wasmTemplateModule(t, ctx, "rust-wasm")
	for _, body := range []string{"ferry", ""} {
		var out bytes.Buffer
		mod, err := r.InstantiateWithConfig(ctx, bin, wazero.NewModuleConfig().WithName("").
			WithStdin(strings.NewReader(body)).WithStdout(&out))
		if err != nil {
			t.Fatal(err)
		}
		mod.Close(ctx)
		if want := templates.ExpectedReply("rust-wasm", body); out.String() != want {
			t.Fatalf("reply %q, want %q", out.String(), want)
		}
	}
}

// TestRustWasmNoToolchain: without a Rust that has a wasm32 std, the
// build says what to install.
func TestRustWasmNoToolchain(t *testing.T) {
	empty := t.TempDir()
	t.Setenv("PATH", empty)
	t.Setenv("RUSTC", filepath.Join(empty, "rustc"))
	defer func(r string) { debianRustc = r }(debianRustc)
	debianRustc = filepath.Join(empty, "usr-bin-rustc")
	_, err := FindRustWasm()
	if err == nil || !strings.Contains(err.Error(), "apt install rustc cargo libstd-rust-dev-wasm32") ||
		!strings.Contains(err.Error(), "rustup target add wasm32-wasip1") {
		t.Fatalf("error %v, want one naming what to install", err)
	}
}

// TestRustWasmBuildError: a handler that does not compile fails the build
// with cargo's message.
func TestRustWasmBuildError(t *testing.T) {
	if _, err := FindRustWasm(); err != nil {
		t.Skipf("cannot build rust-wasm here (scripts/install-deps.sh installs Debian's): %v", err)
	}
	dir := t.TempDir()
	tpl, err := templates.Lookup("", "rust-wasm")
	if err != nil {
		t.Fatal(err)
	}
	if err := templates.Scaffold(tpl, filepath.Join(dir, "fn")); err != nil {
		t.Fatal(err)
	}
	os.WriteFile(filepath.Join(dir, "fn", "src", "lib.rs"), []byte("pub fn handle(req: &[u8]) -> String { req }\n"), 0o644)
	_, err = Build(context.Background(), Options{Function: stack.Function{Name: "fn", Lang: "rust-wasm", Handler: "./fn"},
		StackDir: dir, Progress: testWriter{t}})
	if err == nil || !strings.Contains(err.Error(), "cargo build of the handler failed") || !strings.Contains(err.Error(), "mismatched types") {
		t.Fatalf("error %v, want cargo's", err)
	}
}

// wasmTemplateModule builds lang's default handler, checks that it is
// labelled for the wasm runtime, and returns its module with a wazero
// runtime (WASI in it, closed with the test) to run it as that runtime does.
func wasmTemplateModule(t *testing.T, ctx context.Context, lang string) (wazero.Runtime, []byte) {
	t.Helper()
	res := buildDefault(t, lang)
	if res.EnvProcess != wasmModuleName || res.Labels[RuntimeLabel] != "wasm" {
		t.Fatalf("fprocess %q, labels %v", res.EnvProcess, res.Labels)
	}
	dir := t.TempDir()
	extractTarGz(t, res.ArtifactPath, dir)
	bin, err := os.ReadFile(filepath.Join(dir, wasmModuleName))
	if err != nil {
		t.Fatal(err)
	}
	r := wazero.NewRuntime(ctx)
	t.Cleanup(func() { r.Close(ctx) })
	wasi_snapshot_preview1.MustInstantiate(ctx, r)
	return r, bin
}

// TestRustWasmFolderWithSpace: a project whose path has a space builds
// (the build folder's remap is one rustc flag, not split on the space).
func TestRustWasmFolderWithSpace(t *testing.T) {
	if _, err := FindRustWasm(); err != nil {
		t.Skipf("cannot build rust-wasm here (scripts/install-deps.sh installs Debian's): %v", err)
	}
	dir := filepath.Join(t.TempDir(), "My Projects")
	tpl, err := templates.Lookup("", "rust-wasm")
	if err != nil {
		t.Fatal(err)
	}
	if err := templates.Scaffold(tpl, filepath.Join(dir, "fn")); err != nil {
		t.Fatal(err)
	}
	if _, err := Build(context.Background(), Options{Function: stack.Function{Name: "fn", Lang: "rust-wasm", Handler: "./fn"},
		StackDir: dir, Progress: testWriter{t}}); err != nil {
		t.Fatal(err)
	}
}

func TestEncodedRustflags(t *testing.T) {
	t.Setenv("RUSTFLAGS", "-C opt-level=2")
	t.Setenv("CARGO_ENCODED_RUSTFLAGS", "")
	if got, want := encodedRustflags(nil, "/a b"), "-C\x1fopt-level=2\x1f--remap-path-prefix=/a b=/build"; got != want {
		t.Errorf("from RUSTFLAGS: %q, want %q", got, want)
	}
	got := encodedRustflags(map[string]string{"CARGO_ENCODED_RUSTFLAGS": "-Ctarget-cpu=native"}, "/d")
	if want := "-Ctarget-cpu=native\x1f--remap-path-prefix=/d=/build"; got != want {
		t.Errorf("from build_args: %q, want %q", got, want)
	}
}
