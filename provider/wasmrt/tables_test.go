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
	rt, err := New(cacheDir, 0)
	if err != nil {
		t.Fatal(err)
	}
	defer rt.Close()
	v := &process.Version{Deployment: &api.FunctionDeployment{Service: "tables", Namespace: "ferry-fn",
		Limits: &api.Resources{Memory: "16Mi"}}, UID: -1, GID: -1,
		Env: []string{"healthcheck_interval=0", "fprocess=tables.wasm"}, Artifact: "abc", CodeDir: t.TempDir(),
		Unpack: func(dir string) error {
			if err := os.MkdirAll(dir, 0o700); err != nil {
				return err
			}
			return os.WriteFile(filepath.Join(dir, "tables.wasm"), mod, 0o644)
		}}
	prep, err := rt.Prepare(context.Background(), v)
	if api.StatusOf(err) == 400 {
		t.Logf("refused at deploy: %v", err)
		return
	}
	if err != nil {
		t.Fatal(err)
	}
	url := (&fixture{t: t, rt: rt, ver: v, prep: prep}).start()
	var before, after runtime.MemStats
	runtime.ReadMemStats(&before)
	code, body := call(t, url+"/", "")
	runtime.ReadMemStats(&after)
	// One fresh allocation: the Go runtime does not touch (zero) fresh
	// pages, so this test's RSS stays small even on the old code.
	if got := after.TotalAlloc - before.TotalAlloc; got > 256<<20 {
		t.Fatalf("a call under limits.memory=16Mi allocated %d MiB in the host (answer %d %.80q)", got>>20, code, body)
	}
}
