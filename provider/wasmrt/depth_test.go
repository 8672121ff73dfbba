package wasmrt

import (
	"context"
	"encoding/binary"
	"fmt"
	"strings"
	"testing"

	"github.com/tetratelabs/wazero"
)

// recursionModule is a WASI command whose _start calls rec(n), with rec
// recursing n levels deep (n < 0: without end) and returning n.
func recursionModule(n int64) []byte {
	sec := func(id byte, body []byte) []byte {
		return append(binary.AppendUvarint([]byte{id}, uint64(len(body))), body...)
	}
	body := func(code ...byte) []byte { return append(binary.AppendUvarint(nil, uint64(len(code))), code...) }
	start := append(appendSleb([]byte{0, 0x41}, n), 0x10, 1, 0x1a, 0x0b) // i32.const n; call rec; drop
	// rec(x): if x == 0 { 0 } else { rec(x-1) + 1 }; x < 0 never reaches 0.
	rec := []byte{0, 0x20, 0, 0x45, 0x04, 0x7f, 0x41, 0, 0x05,
		0x20, 0, 0x41, 1, 0x6b, 0x10, 1, 0x41, 1, 0x6a, 0x0b, 0x0b}
	m := []byte("\x00asm\x01\x00\x00\x00")
	m = append(m, sec(1, []byte{2, 0x60, 0, 0, 0x60, 1, 0x7f, 1, 0x7f})...)
	m = append(m, sec(3, []byte{2, 0, 1})...)
	m = append(m, sec(5, []byte{1, 0, 1})...)
	m = append(m, sec(7, append([]byte{1, 6}, "_start\x00\x00"...))...)
	code := append([]byte{2}, body(start...)...)
	return append(m, sec(10, append(code, body(rec...)...))...)
}

// A guest recursing without end used to be stopped by wazero only once
// its stack, in the host's heap and outside every limit, had grown to
// about 160 MiB. The depth cap stops it within a few MiB, with a message.
func TestRunawayRecursionStoppedEarly(t *testing.T) {
	rt, v := moduleVersion(t, "recurse", recursionModule(-1))
	prep, err := rt.Prepare(context.Background(), v)
	if err != nil {
		t.Fatal(err)
	}
	url := (&fixture{t: t, rt: rt, ver: v, prep: prep}).start()
	code, body, got := callAllocating(t, url)
	if code != 500 || !strings.Contains(body, "nested deeper than") {
		t.Errorf("runaway recursion: %d %.300q", code, body)
	}
	if got > 32<<20 {
		t.Errorf("runaway recursion allocated %d MiB in the host, want a few", got>>20)
	}
	t.Logf("runaway recursion: %d, %d KiB allocated in the host", code, got>>10)
}

// Recursion within the cap runs as before, and deeper is refused.
func TestRecursionWithinDepth(t *testing.T) {
	for _, c := range []struct {
		n    int64
		want int
	}{{10_000, 200}, {maxCallDepth - 10, 200}, {maxCallDepth + 10, 500}} {
		rt, v := moduleVersion(t, "recurse", recursionModule(c.n))
		prep, err := rt.Prepare(context.Background(), v)
		if err != nil {
			t.Fatal(err)
		}
		url := (&fixture{t: t, rt: rt, ver: v, prep: prep}).start()
		if code, body := call(t, url+"/", ""); code != c.want {
			t.Errorf("recursion %d deep: %d %.200q, want %d", c.n, code, body, c.want)
		}
	}
}

// The rewritten module is valid for wazero with and without a global
// section of its own, and keeps its exports and start.
func TestCapDepthCompiles(t *testing.T) {
	ctx := context.Background()
	r := wazero.NewRuntime(ctx)
	defer r.Close(ctx)
	for _, mod := range [][]byte{recursionModule(3), tableModule(1, 1), growModule(1)} {
		out, err := capDepth(mod)
		if err != nil {
			t.Fatal(err)
		}
		cm, err := r.CompileModule(ctx, out)
		if err != nil {
			t.Fatalf("% x: %v", out, err)
		}
		if _, ok := cm.ExportedFunctions()["_start"]; !ok {
			t.Fatal("_start lost")
		}
	}
	if _, err := capDepth([]byte("\x00asm\x01\x00\x00\x00\x01\x04\x01\x5f\x00\x00")); err == nil {
		t.Error("a type section of an unknown form was accepted")
	}
}

// A module whose code sets the global index the depth counter will take
// (invalid as written) could reset the count and recurse without end: it
// is refused at deploy.
// startModule is a module with one memory page and a _start whose body
// is code (locals and instructions, without the final end).
func startModule(code ...byte) []byte {
	sec := func(id byte, body []byte) []byte {
		return append(binary.AppendUvarint([]byte{id}, uint64(len(body))), body...)
	}
	code = append(append([]byte{0}, code...), 0x0b)
	m := []byte("\x00asm\x01\x00\x00\x00")
	m = append(m, sec(1, []byte{1, 0x60, 0, 0})...)
	m = append(m, sec(3, []byte{1, 0})...)
	m = append(m, sec(5, []byte{1, 0, 1})...)
	m = append(m, sec(7, append([]byte{1, 6}, "_start\x00\x00"...))...)
	return append(m, sec(10, append(binary.AppendUvarint([]byte{1}, uint64(len(code))), code...))...)
}

func TestDepthCounterOutOfReach(t *testing.T) {
	// _start: i32.const 0; global.set 0 (the module has no globals).
	m := startModule(0x41, 0, 0x24, 0)
	if out, err := capDepth(m); err != nil || validate(context.Background(), out) != nil {
		t.Fatalf("the rewritten module should be valid (that is the danger): %v", err)
	}
	rt, v := moduleVersion(t, "reset", m)
	if _, err := rt.Prepare(context.Background(), v); err == nil || !strings.Contains(err.Error(), "global") {
		t.Fatalf("a module naming a global it does not have: %v, want a 400 naming the global", err)
	}
}

// A module is validated as written once per server: a restart (a new
// runtime on the same cache) finds the record; an invalid module leaves
// none and is refused every time.
func TestValidationRemembered(t *testing.T) {
	dir := t.TempDir()
	prepare := func(name string, mod []byte) error {
		rt, v := moduleVersionIn(t, dir, name, mod)
		_, err := rt.Prepare(context.Background(), v)
		return err
	}
	good := startModule(0x01) // nop
	n0 := validations.Load()
	for i := range 2 {
		if err := prepare(fmt.Sprint("good", i), good); err != nil {
			t.Fatal(err)
		}
	}
	if n := validations.Load() - n0; n != 1 {
		t.Fatalf("a valid module deployed, then prepared again after a restart, was validated %d times, want 1", n)
	}
	bad := startModule(0x41, 0, 0x24, 0)
	for i := range 2 {
		if err := prepare(fmt.Sprint("bad", i), bad); err == nil || !strings.Contains(err.Error(), "global") {
			t.Fatalf("try %d: %v, want a 400 naming the global", i, err)
		}
	}
	if n := validations.Load() - n0; n != 3 {
		t.Fatalf("%d validations, want 3: an invalid module is validated each time", n)
	}
}
