package wasmrt

import (
	"context"
	"math"
	"strconv"
	"testing"

	"github.com/tetratelabs/wazero"
)

// tinyReactor is a reactor by hand: two empty functions exported as
// _initialize and handle, a memory of 1 page with a data segment, and a
// mutable global of each value type.
func tinyReactor() []byte {
	sec := func(id byte, body ...byte) []byte { return appendSection(nil, id, body) }
	bin := []byte("\x00asm\x01\x00\x00\x00")
	bin = append(bin, sec(1, 1, 0x60, 0, 0)...) // type () -> ()
	bin = append(bin, sec(3, 2, 0, 0)...)       // two functions of it
	bin = append(bin, sec(5, 1, 0, 1)...)       // memory, min 1 page
	bin = append(bin, sec(6, 4,
		0x7f, 1, 0x41, 0, 0x0b, // i32
		0x7e, 1, 0x42, 0, 0x0b, // i64
		0x7d, 1, 0x43, 0, 0, 0, 0, 0x0b, // f32
		0x7c, 1, 0x44, 0, 0, 0, 0, 0, 0, 0, 0, 0x0b)...) // f64
	bin = append(bin, sec(7, append(append([]byte{2, 11}, "_initialize"...), append(append([]byte{0, 0, 6}, "handle"...), 0, 1)...)...)...)
	bin = append(bin, sec(10, 2, 2, 0, 0x0b, 2, 0, 0x0b)...)
	return append(bin, sec(11, 1, 0, 0x41, 0, 0x0b, 1, 'x')...)
}

// TestCallCode: the module a call instantiates has its globals at the
// given values, whatever their type, its memory at the given size and no
// data segment.
func TestCallCode(t *testing.T) {
	rx, ok := asReactor(tinyReactor())
	if !ok {
		t.Fatal("not taken as a reactor")
	}
	values := map[int]uint64{0: uint64(uint32(0xfffffffb)), 1: 1 << 40,
		2: uint64(math.Float32bits(1.5)), 3: math.Float64bits(-2.25)}
	code, err := callCode(rx.code, rx.secs, rx.globals, values, 3)
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	r := wazero.NewRuntime(ctx)
	defer r.Close(ctx)
	mod, err := r.InstantiateWithConfig(ctx, code, wazero.NewModuleConfig().WithStartFunctions())
	if err != nil {
		t.Fatal(err)
	}
	for i, want := range values {
		g := mod.ExportedGlobal(globalPrefix + strconv.Itoa(i))
		if g == nil || g.Get() != want {
			t.Errorf("global %d: %v, want %#x", i, g, want)
		}
	}
	if size := mod.Memory().Size(); size != 3*pageBytes {
		t.Errorf("memory %d bytes, want 3 pages", size)
	}
	if b, _ := mod.Memory().ReadByte(0); b != 0 {
		t.Errorf("the data segment was applied: %q", b)
	}
}
