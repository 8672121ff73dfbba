package wasmrt

import (
	"bytes"
	"context"
	"encoding/binary"
	"os"
	"testing"

	"github.com/tetratelabs/wazero"
	"github.com/tetratelabs/wazero/imports/wasi_snapshot_preview1"
)

// TestMergeDataKeepsMemory: the guest with its data segments merged has
// the same memory, byte for byte, once instantiated (before it runs), and
// far fewer segments.
func TestMergeDataKeepsMemory(t *testing.T) {
	bin, err := os.ReadFile(guestWasm)
	if err != nil {
		t.Fatal(err)
	}
	merged := mergeData(bin)
	if bytes.Equal(merged, bin) {
		t.Fatal("the Go guest's data section was not rewritten")
	}
	memory := func(b []byte) []byte {
		ctx := context.Background()
		r := wazero.NewRuntime(ctx)
		defer r.Close(ctx)
		wasi_snapshot_preview1.MustInstantiate(ctx, r)
		m, err := r.InstantiateWithConfig(ctx, b, wazero.NewModuleConfig().WithStartFunctions())
		if err != nil {
			t.Fatal(err)
		}
		out, _ := m.Memory().Read(0, m.Memory().Size())
		return bytes.Clone(out)
	}
	if a, b := memory(bin), memory(merged); !bytes.Equal(a, b) {
		for i := range a {
			if i >= len(b) || a[i] != b[i] {
				t.Fatalf("merged segments give another memory: %d and %d bytes, first difference at %d", len(a), len(b), i)
			}
		}
		t.Fatalf("merged segments give another memory: %d and %d bytes", len(a), len(b))
	}
	echo, _ := os.ReadFile("testdata/echo.wasm")
	if !bytes.Equal(mergeData(echo), echo) {
		t.Fatal("a module without data changed")
	}
	segs, _ := parseData(mustSection(t, merged, 11))
	t.Logf("%d bytes -> %d bytes, %d segments", len(bin), len(merged), len(segs))
}

func mustSection(t *testing.T, bin []byte, id byte) []byte {
	i := 8
	for i < len(bin) {
		n, w := binary.Uvarint(bin[i+1:])
		if bin[i] == id {
			return bin[i+1+w : i+1+w+int(n)]
		}
		i += 1 + w + int(n)
	}
	t.Fatalf("no section %d", id)
	return nil
}

// TestMappedImageKeepsMemory: an instance of the module without its data
// section, its memory mapped from the image, starts with the same memory
// as the original module, and one instance's writes do not reach the next.
func TestMappedImageKeepsMemory(t *testing.T) {
	bin, err := os.ReadFile(guestWasm)
	if err != nil {
		t.Fatal(err)
	}
	code, image := prepareCode(bin)
	if image == nil {
		t.Skip("no mapped image on this platform")
	}
	defer image.close()
	ctx := context.Background()
	r := wazero.NewRuntime(ctx)
	defer r.Close(ctx)
	wasi_snapshot_preview1.MustInstantiate(ctx, r)
	want := func() []byte {
		m, err := r.InstantiateWithConfig(ctx, bin, wazero.NewModuleConfig().WithStartFunctions().WithName("orig"))
		if err != nil {
			t.Fatal(err)
		}
		defer m.Close(ctx)
		b, _ := m.Memory().Read(0, m.Memory().Size())
		return bytes.Clone(b)
	}()
	compiled, err := r.CompileModule(ctx, code)
	if err != nil {
		t.Fatal(err)
	}
	for i := range 2 {
		m, err := r.InstantiateModule(image.withMemory(ctx), compiled, wazero.NewModuleConfig().WithStartFunctions().WithName(""))
		if err != nil {
			t.Fatal(err)
		}
		got, _ := m.Memory().Read(0, m.Memory().Size())
		if !bytes.Equal(got, want) {
			t.Fatalf("instance %d: the mapped memory differs from the module's own", i)
		}
		m.Memory().WriteUint32Le(64, 0xdeadbeef) // the next instance must not see it
		m.Close(ctx)
	}
}
