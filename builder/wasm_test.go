package builder

import (
	"bytes"
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/ferryfaas/ferry/templates"
	"github.com/tetratelabs/wazero"
	"github.com/tetratelabs/wazero/imports/wasi_snapshot_preview1"
)

// TestGoWasmTemplate builds the go-wasm template's default handler into a
// WASI reactor, labelled for the wasm runtime, and runs it as that runtime
// does: _initialize, then handle with the body on stdin, reply on stdout.
func TestGoWasmTemplate(t *testing.T) {
	res := buildDefault(t, "go-wasm")
	if res.EnvProcess != wasmModuleName || res.Labels[RuntimeLabel] != "wasm" {
		t.Fatalf("fprocess %q, labels %v", res.EnvProcess, res.Labels)
	}
	dir := t.TempDir()
	extractTarGz(t, res.ArtifactPath, dir)
	bin, err := os.ReadFile(filepath.Join(dir, wasmModuleName))
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	r := wazero.NewRuntime(ctx)
	defer r.Close(ctx)
	wasi_snapshot_preview1.MustInstantiate(ctx, r)
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
