package wasmrt

import (
	"context"
	"encoding/binary"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/ferryfaas/ferry/api"
	"github.com/ferryfaas/ferry/provider/process"
)

// tinyModule is a WASI command that does nothing, with a data section of
// the given body: the smallest module that reaches the segment parser.
func tinyModule(data []byte) []byte {
	sec := func(id byte, body []byte) []byte {
		return append(binary.AppendUvarint([]byte{id}, uint64(len(body))), body...)
	}
	m := []byte("\x00asm\x01\x00\x00\x00")
	m = append(m, sec(1, []byte{1, 0x60, 0, 0})...)                     // type () -> ()
	m = append(m, sec(3, []byte{1, 0})...)                              // one function
	m = append(m, sec(5, []byte{1, 0, 1})...)                           // memory, 1 page
	m = append(m, sec(7, append([]byte{1, 6}, "_start\x00\x00"...))...) // export _start
	m = append(m, sec(10, []byte{1, 2, 0, 0x0b})...)                    // its empty body
	return append(m, sec(11, data)...)
}

// A module's data section says how many segments follow; a 49-byte module
// claiming 2^42 made the parser reserve room for them all, and the Go
// runtime's "out of memory" is fatal: ferry serve died at the deploy.
// (2^62 here: past the allocator's limit it is a panic the test catches
// rather than a crash of the test binary; the cause is the same.)
func TestHugeSegmentCountIsA400(t *testing.T) {
	rt, err := New(cacheDir, 64<<20)
	if err != nil {
		t.Fatal(err)
	}
	defer rt.Close()
	for _, count := range []uint64{1 << 62, 1 << 20, 3} {
		mod := tinyModule(binary.AppendUvarint(nil, count))
		v := &process.Version{Deployment: &api.FunctionDeployment{Service: "g"}, UID: -1, GID: -1,
			Artifact: "a", CodeDir: t.TempDir(), Unpack: func(dir string) error {
				os.MkdirAll(dir, 0o700)
				return os.WriteFile(filepath.Join(dir, "main.wasm"), mod, 0o644)
			}}
		func() {
			defer func() {
				if p := recover(); p != nil {
					t.Errorf("count %d: panic: %v", count, p)
				}
			}()
			_, err := rt.Prepare(context.Background(), v)
			if api.StatusOf(err) != 400 || !strings.Contains(err.Error(), "main.wasm") {
				t.Errorf("count %d: %v, want a 400 naming main.wasm", count, err)
			}
		}()
	}
}
