package wasmrt

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/tetratelabs/wazero"
	"github.com/tetratelabs/wazero/sys"
)

// reactor is what a reactor module's calls are made from: its sections
// and globals, to rewrite it once a snapshot says where they stand.
type reactor struct {
	code    []byte // what was compiled, globals exported
	secs    []section
	globals []global
	mu      sync.Mutex
	snaps   map[string]*snapshot // by the settings _initialize ran under
}

// snapshot is a reactor module as _initialize left it under one
// function's settings: a module whose globals start where they were and
// a memory image of what its memory held.
type snapshot struct {
	r        wazero.Runtime
	compiled wazero.CompiledModule
	image    *memImage
}

// initTimeout bounds _initialize, which runs at deploy, not per call.
const initTimeout = 30 * time.Second

// asReactor returns the reactor form of a module when it is one (it
// exports _initialize and the handler but no _start): the code to compile,
// with its mutable globals exported so a snapshot can read them.
func asReactor(code []byte) (*reactor, bool) {
	secs, err := sections(code)
	if err != nil {
		return nil, false
	}
	exports := exportNames(secs)
	if exports["_start"] || !exports[initExport] || !exports[handleExport] || !slices.ContainsFunc(secs, definesMemory) {
		return nil, false // a module importing its memory is served as a command would be: refused
	}
	globals, err := globalsOf(secs)
	if err != nil {
		return nil, false
	}
	out, err := exportGlobals(code, secs, globals)
	if err != nil {
		return nil, false
	}
	if secs, err = sections(out); err != nil {
		return nil, false
	}
	return &reactor{code: out, secs: secs, globals: globals, snaps: map[string]*snapshot{}}, true
}

// snapshot runs _initialize once under the function's settings (its
// arguments, environment without a request's variables, files) and
// saves where it left the module; a module already run under the same
// settings is reused. failure is what the guest said when it failed.
func (rx *reactor) snapshot(ctx context.Context, m *module, base wazero.ModuleConfig, env []string, key string) (s *snapshot, failure string, err error) {
	rx.mu.Lock()
	defer rx.mu.Unlock()
	if s := rx.snaps[key]; s != nil {
		return s, "", nil
	}
	ctx, cancel := context.WithTimeout(ctx, initTimeout)
	defer cancel()
	var stderr bytes.Buffer
	mc := base.WithStdin(bytes.NewReader(nil)).WithStdout(&capped{b: &stderr}).WithStderr(&capped{b: &stderr}).
		WithNanosleep(sleepWithin(ctx)).WithStartFunctions()
	for _, kv := range env {
		if k, v, ok := strings.Cut(kv, "="); ok {
			mc = mc.WithEnv(k, v)
		}
	}
	mod, err := m.r.InstantiateModule(m.image.withMemory(ctx), m.compiled, mc)
	if err != nil {
		return nil, "", fmt.Errorf("wasm runtime: instantiating the module: %w", err)
	}
	defer mod.Close(context.Background())
	// Any exit, even with status 0, is a failure: a module that has
	// exited has no state to serve calls from.
	if _, err := mod.ExportedFunction(initExport).Call(ctx); err != nil {
		return nil, fmt.Sprintf("the module's %s failed: %v: %s", initExport, err, short(strings.TrimSpace(stderr.String()))), nil
	}
	values := map[int]uint64{}
	for _, g := range rx.globals {
		if !g.mut {
			continue
		}
		eg := mod.ExportedGlobal(globalPrefix + fmt.Sprint(g.index))
		if eg == nil {
			return nil, "", errors.New("wasm runtime: a global of the module is not exported")
		}
		values[g.index] = eg.Get()
	}
	mem := mod.Memory()
	if mem == nil {
		return nil, "", errors.New("wasm runtime: the module has no memory")
	}
	b, _ := mem.Read(0, mem.Size())
	image, err := newMemImage(b)
	if err != nil {
		return nil, "", fmt.Errorf("wasm runtime: saving the memory: %w", err)
	}
	code, err := callCode(rx.code, rx.secs, rx.globals, values, mem.Size()/pageBytes)
	if err != nil {
		image.close()
		return nil, "", fmt.Errorf("wasm runtime: rewriting the module: %w", err)
	}
	compiled, err := m.r.CompileModule(ctx, code)
	if err != nil {
		image.close()
		return nil, fmt.Sprintf("the module cannot run from a snapshot of its %s: %v", initExport, err), nil
	}
	s = &snapshot{r: m.r, compiled: compiled, image: image}
	rx.snaps[key] = s
	return s, "", nil
}

// call runs one call: a fresh instance of the snapshot, no start
// function, its handler called. Its memory is a private mapping of the
// saved memory, so what a call writes no other call sees.
func (s *snapshot) call(ctx context.Context, mc wazero.ModuleConfig, mem memoryFor) error {
	mod, err := s.r.InstantiateModule(mem(ctx, s.image), s.compiled, mc.WithStartFunctions())
	if err != nil {
		return err
	}
	defer mod.Close(context.Background())
	if _, err := mod.ExportedFunction(handleExport).Call(ctx); err != nil && !exitedZero(err) {
		return err
	}
	return nil
}

func (s *snapshot) close() {
	s.compiled.Close(context.Background())
	s.image.close()
}

// exitedZero says whether err is the guest's exit with status 0, which
// a call of an export reports as an error.
func exitedZero(err error) bool {
	var ee *sys.ExitError
	return errors.As(err, &ee) && ee.ExitCode() == 0
}

// memoryFor makes the instances created with the context it returns
// start with image as their memory (memImage.withMemory).
type memoryFor func(ctx context.Context, image *memImage) context.Context

// run runs one call of v in a fresh instance whose memory mem provides:
// the snapshot's handler for a reactor module, the command module to its
// exit otherwise.
func (v *version) run(ctx context.Context, mc wazero.ModuleConfig, mem memoryFor) error {
	if v.snap != nil {
		return v.snap.call(ctx, mc, mem)
	}
	mod, err := v.mod.r.InstantiateModule(mem(ctx, v.mod.image), v.mod.compiled, mc)
	if mod != nil {
		mod.Close(context.Background())
	}
	return err
}

// definesMemory says whether s is a memory section: the minimum a call's
// memory starts at is rewritten there.
func definesMemory(s section) bool { return s.id == 5 }
