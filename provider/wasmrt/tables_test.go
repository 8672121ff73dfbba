package wasmrt

import (
	"context"
	"encoding/binary"
	"os"
	"path/filepath"
	"runtime"
	"testing"

	"github.com/ferryfaas/ferry/api"
	"github.com/ferryfaas/ferry/provider/process"
)

// tableModule is a WASI command that does nothing and declares tables of
// min entries each.
func tableModule(tables int, min uint64) []byte {
	sec := func(id byte, body []byte) []byte {
		return append(binary.AppendUvarint([]byte{id}, uint64(len(body))), body...)
	}
	tb := binary.AppendUvarint(nil, uint64(tables))
	for range tables {
		tb = binary.AppendUvarint(append(tb, 0x70, 0), min) // funcref, no max
	}
	m := []byte("\x00asm\x01\x00\x00\x00")
	m = append(m, sec(1, []byte{1, 0x60, 0, 0})...)
	m = append(m, sec(3, []byte{1, 0})...)
	m = append(m, sec(4, tb)...)
	m = append(m, sec(5, []byte{1, 0, 1})...)
	m = append(m, sec(7, append([]byte{1, 6}, "_start\x00\x00"...))...)
	return append(m, sec(10, []byte{1, 2, 0, 0x0b})...)
}

// limits.memory caps the linear memory only. A module's tables are
// allocated by wazero in the host's heap at every instantiation, 8 bytes
// an entry, up to 2^27 entries a table and many tables, none of it counted:
// four tables made each call of a function limited to 16Mi take 4 GiB
// (7.3 GB RSS with four calls at once). Either Prepare refuses such a
// module (400) or a call allocates about what its limit allows.
func TestTablesCountInMemoryLimit(t *testing.T) {
	mod := tableModule(2, 1<<27) // 2 GiB a call
	rt, v := moduleVersion(t, "tables", mod)
	prep, err := rt.Prepare(context.Background(), v)
	if api.StatusOf(err) == 400 {
		t.Logf("refused at deploy: %v", err)
		return
	}
	if err != nil {
		t.Fatal(err)
	}
	url := (&fixture{t: t, rt: rt, ver: v, prep: prep}).start()
	code, body, got := callAllocating(t, url)
	if got > 256<<20 {
		t.Fatalf("a call under limits.memory=16Mi allocated %d MiB in the host (answer %d %.80q)", got>>20, code, body)
	}
}

// growModule is a WASI command whose start grows its one table (declared
// with one entry and no maximum) by n entries.
func growModule(n int64) []byte {
	sec := func(id byte, body []byte) []byte {
		return append(binary.AppendUvarint([]byte{id}, uint64(len(body))), body...)
	}
	code := appendSleb([]byte{0, 0xd0, 0x70, 0x41}, n) // no locals; ref.null func; i32.const n
	code = append(code, 0xfc, 0x0f, 0, 0x1a, 0x0b)     // table.grow 0; drop; end
	m := []byte("\x00asm\x01\x00\x00\x00")
	m = append(m, sec(1, []byte{1, 0x60, 0, 0})...)
	m = append(m, sec(3, []byte{1, 0})...)
	m = append(m, sec(4, []byte{1, 0x70, 0, 1})...)
	m = append(m, sec(5, []byte{1, 0, 1})...)
	m = append(m, sec(7, append([]byte{1, 6}, "_start\x00\x00"...))...)
	return append(m, sec(10, append(binary.AppendUvarint([]byte{1}, uint64(len(code))), code...))...)
}

// A table with no maximum cannot be grown past its declared size: the
// growth would be in the host's heap, outside every limit.
func TestTableGrowthCapped(t *testing.T) {
	mod := growModule(1<<27 - 2) // 1 GiB of entries
	rt, v := moduleVersion(t, "grow", mod)
	prep, err := rt.Prepare(context.Background(), v)
	if err != nil {
		t.Fatal(err)
	}
	url := (&fixture{t: t, rt: rt, ver: v, prep: prep}).start()
	if code, body, got := callAllocating(t, url); got > 256<<20 || code != 200 {
		t.Fatalf("a call growing its table: answer %d %.80q, %d MiB allocated in the host", code, body, got>>20)
	}
}

func TestBoundTables(t *testing.T) {
	for _, c := range []struct {
		in       []byte
		out      []byte
		size     uint64
		refusing bool
	}{
		{in: []byte{1, 0x70, 0, 5}, out: []byte{1, 0x70, 1, 5, 5}, size: 40},
		{in: []byte{1, 0x70, 1, 2, 9}, out: []byte{1, 0x70, 1, 2, 9}, size: 72},
		{in: []byte{2, 0x70, 0, 1, 0x6f, 1, 0, 3}, out: []byte{2, 0x70, 1, 1, 1, 0x6f, 1, 0, 3}, size: 32},
		{in: []byte{1, 0x70, 4, 1}, refusing: true}, // table64: not known
		{in: []byte{1, 0x70, 0, 1, 7}, refusing: true},
		{in: []byte{200, 0x70}, refusing: true},
	} {
		out, size, err := boundTables(c.in)
		if c.refusing {
			if err == nil {
				t.Errorf("% x: accepted", c.in)
			}
			continue
		}
		if err != nil || string(out) != string(c.out) || size != c.size {
			t.Errorf("% x: % x, %d, %v; want % x, %d", c.in, out, size, err, c.out, c.size)
		}
	}
}

// moduleVersion is a runtime and a version of a function limited to 16Mi
// whose artifact is mod as NAME.wasm.
func moduleVersion(t *testing.T, name string, mod []byte) (*Runtime, *process.Version) {
	t.Helper()
	return moduleVersionIn(t, cacheDir, name, mod)
}

// moduleVersionIn is moduleVersion with the runtime's cache in dir.
func moduleVersionIn(t *testing.T, dir, name string, mod []byte) (*Runtime, *process.Version) {
	t.Helper()
	rt, err := New(dir, 0)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(rt.Close)
	return rt, &process.Version{Deployment: &api.FunctionDeployment{Service: name, Namespace: "ferry-fn",
		Limits: &api.Resources{Memory: "16Mi"}}, UID: -1, GID: -1,
		Env: []string{"healthcheck_interval=0", "fprocess=" + name + ".wasm"}, Artifact: "abc", CodeDir: t.TempDir(),
		Unpack: func(dir string) error {
			if err := os.MkdirAll(dir, 0o700); err != nil {
				return err
			}
			return os.WriteFile(filepath.Join(dir, name+".wasm"), mod, 0o644)
		}}
}

// callAllocating calls the replica at url once and says what the host
// allocated meanwhile: a fresh allocation is counted even though the Go
// runtime does not touch (zero) fresh pages, which keeps RSS small.
func callAllocating(t *testing.T, url string) (code int, body string, allocated uint64) {
	t.Helper()
	var before, after runtime.MemStats
	runtime.ReadMemStats(&before)
	code, body = call(t, url+"/", "")
	runtime.ReadMemStats(&after)
	return code, body, after.TotalAlloc - before.TotalAlloc
}
