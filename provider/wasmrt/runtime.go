// Package wasmrt is the wasm runtime of the one-machine provider
// (provider/process): a function is a WASI preview 1 command module from
// its uploaded artifact, compiled once per version by wazero (pure Go, with
// a compilation cache on disk), and every call runs in a fresh instance of
// it: the body is stdin, stdout the response, the request in Http_*
// variables, stderr the function's log. A replica is the watchdog's HTTP
// server (health, max_inflight, metrics, drain) with a handler that
// instantiates the module per call. A reactor module (exports
// _initialize and handle, as the go-wasm template builds) starts its
// calls from a snapshot taken once after _initialize (snapshot.go), so a
// Go guest does not pay its runtime's start per call. The guest sees no
// network, no host file but its own code and secrets (read-only), a
// linear memory capped by limits.memory, and is stopped at exec_timeout.
package wasmrt

import (
	"context"
	"crypto/rand"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"

	"github.com/ferryfaas/ferry/api"
	"github.com/ferryfaas/ferry/provider/process"
	"github.com/ferryfaas/ferry/watchdog"
	"github.com/tetratelabs/wazero"
	"github.com/tetratelabs/wazero/imports/wasi_snapshot_preview1"
)

// Name is the runtime's name, the value of process.RuntimeLabel that
// selects it.
const Name = "wasm"

// DefaultModule is the file of the artifact run when the function names
// none (its fprocess's first word names it otherwise).
const DefaultModule = "main.wasm"

// pageBytes is the size of a WebAssembly memory page.
const pageBytes = 64 << 10

// Runtime runs functions as WebAssembly modules.
type Runtime struct {
	// DefaultMemory caps the linear memory of a call of a function that
	// sets no limits.memory (bytes; <= 0: wazero's 4 GiB).
	DefaultMemory int64
	// Budget bounds the memory of all calls together; set it before the
	// first Start (New's counts without bounding).
	Budget *Budget

	cache    wazero.CompilationCache
	cacheDir string
	mu       sync.Mutex
	mods     map[modKey]*module
	// users says which functions ("ns/name") use each module, so a
	// module is closed once no function does.
	users map[modKey]map[string]bool
}

var (
	_ process.Runtime     = (*Runtime)(nil)
	_ process.Forgetter   = (*Runtime)(nil)
	_ process.Closer      = (*Runtime)(nil)
	_ process.Namer       = (*Runtime)(nil)
	_ process.UsageReader = (*Runtime)(nil)
)

// New returns a wasm runtime whose compiled code is cached in cacheDir,
// so that a restart does not compile the modules again.
func New(cacheDir string, defaultMemory int64) (*Runtime, error) {
	if err := os.MkdirAll(cacheDir, 0o700); err != nil {
		return nil, fmt.Errorf("wasm runtime: %w", err)
	}
	cache, err := wazero.NewCompilationCacheWithDir(cacheDir)
	if err != nil {
		return nil, fmt.Errorf("wasm runtime: compilation cache: %w", err)
	}
	return &Runtime{DefaultMemory: defaultMemory, Budget: NewBudget(0), cache: cache, cacheDir: cacheDir, mods: map[modKey]*module{}, users: map[modKey]map[string]bool{}}, nil
}

// Name is what /system/info reports when wasm is the default runtime.
func (rt *Runtime) Name() string { return Name }

// modKey is one compiled module: the same code under the same memory cap
// is compiled once, whatever function or version uses it.
type modKey struct {
	artifact, file string
	pages          uint32
}

// module is a compiled module with the wazero runtime that holds it (the
// memory cap is a setting of the wazero runtime).
type module struct {
	r        wazero.Runtime
	compiled wazero.CompiledModule
	image    *memImage     // its initial memory, mapped into each instance
	initial  uint64        // bytes of linear memory an instance starts with
	peak     atomic.Uint64 // bytes its calls reached lately (see admission)
	reactor  *reactor      // nil: a command module
}

func (m *module) close() {
	m.r.Close(context.Background())
	m.image.close()
	if m.reactor != nil {
		for _, s := range m.reactor.snaps {
			s.close()
		}
	}
}

// version is what Prepare readies for Start.
type version struct {
	mod   *module
	base  wazero.ModuleConfig // the per-call settings but the request's
	env   []string            // the guest's environment but the request's
	cfg   watchdog.Config     // timeouts, max_inflight, content type
	pages uint32
	snap  *snapshot // a reactor module's calls start from it
}

// Prepare unpacks the artifact, compiles its module (or finds it compiled)
// and reads the function's watchdog settings.
func (rt *Runtime) Prepare(ctx context.Context, v *process.Version) (process.Prepared, error) {
	d := v.Deployment
	if v.Artifact == "" {
		return process.Prepared{Failure: "the wasm runtime runs a module from the function's uploaded code: upload an artifact holding " + DefaultModule + " (ferry up with lang go-wasm does)"}, nil
	}
	dir := filepath.Join(v.CodeDir, v.Artifact)
	if err := v.Unpack(dir); err != nil {
		return process.Prepared{}, err
	}
	// The mount below follows links with the host's resolution: a tree
	// unpacked before archives' link chains were judged may hold one
	// that leads out of it.
	if err := process.CheckTree(dir); err != nil {
		return process.Prepared{}, api.BadRequest("the function's code: %w: upload it again", err)
	}
	out := process.Prepared{Dir: dir}
	file, args := DefaultModule, []string{DefaultModule}
	// Every call runs the module whatever mode the function names; the
	// watchdog's settings (timeouts, max_inflight...) apply as they are.
	env := append([]string{"fprocess=" + DefaultModule}, v.Env...)
	cfg, err := watchdog.ConfigFromEnv(append(env, "mode="+string(watchdog.ModeSerializing)))
	if err != nil {
		return out, api.BadRequest("%w", err)
	}
	if w := strings.Fields(cfg.FProcess); len(w) > 0 {
		file, args = strings.TrimPrefix(w[0], "./"), w
	}
	if !filepath.IsLocal(file) || !strings.HasSuffix(file, ".wasm") {
		return out, api.BadRequest("fprocess %q: the wasm runtime runs a .wasm file of the artifact, named by a relative path (such as %s)", short(w0(cfg.FProcess)), DefaultModule)
	}
	pages, err := rt.pagesOf(d)
	if err != nil {
		return out, err
	}
	key := modKey{artifact: v.Artifact, file: file, pages: pages}
	mod, err := rt.module(ctx, key, dir, d.Namespace+"/"+d.Service)
	if err != nil {
		return out, err
	}
	fsc := wazero.NewFSConfig().WithReadOnlyDirMount(dir, "/home/app")
	if st, err := os.Stat(v.SecretsDir); err == nil && st.IsDir() {
		fsc = fsc.WithReadOnlyDirMount(v.SecretsDir, "/var/openfaas/secrets")
	}
	s := &version{mod: mod, cfg: cfg, pages: pages,
		// PWD: Go's wasip1 port starts in it, so relative paths name the
		// function's own files as they do under the process runtime.
		env: append([]string{"HOME=/home/app", "PWD=/home/app"}, cfg.FunctionEnv...),
		base: wazero.NewModuleConfig().WithName("").WithArgs(args...).WithFSConfig(fsc).
			WithSysWalltime().WithSysNanotime().WithSysNanosleep().WithRandSource(rand.Reader),
	}
	if mod.reactor != nil {
		// What _initialize may read: arguments, environment, secrets.
		key := strings.Join(append(append(slices.Clone(args), s.env...), v.SecretsDir), "\x00")
		snap, failure, err := mod.reactor.snapshot(ctx, mod, s.base, s.env, key)
		if err != nil || failure != "" {
			out.Failure = failure
			return out, err
		}
		s.snap = snap
	}
	out.Run = s
	out.Conditions = []api.Condition{
		{Type: "Isolated", Status: "True", Reason: "WebAssembly", Message: "each call runs in a fresh WebAssembly instance: no network, only its own code (/home/app) and secrets read-only"},
		{Type: "LimitsEnforced", Status: "True", Reason: "WasmMemory", Message: "each call's linear memory is capped at " + strconv.FormatUint(uint64(pages), 10) + " pages of 64 KiB; exec_timeout stops a call (limits.cpu is not enforced)"},
	}
	return out, nil
}

// pagesOf is the memory cap of d's calls in pages.
func (rt *Runtime) pagesOf(d *api.FunctionDeployment) (uint32, error) {
	n := rt.DefaultMemory
	if d.Limits != nil && strings.TrimSpace(d.Limits.Memory) != "" {
		var err error
		if n, err = api.ParseMemory(d.Limits.Memory); err != nil {
			return 0, api.BadRequest("limits.memory: %w", err)
		}
	}
	if n <= 0 || n >= 1<<32 {
		return 65536, nil
	}
	return uint32((n + pageBytes - 1) / pageBytes), nil
}

// module compiles the module of key once and notes that fn uses it.
func (rt *Runtime) module(ctx context.Context, key modKey, dir, fn string) (*module, error) {
	rt.mu.Lock()
	defer rt.mu.Unlock()
	if m := rt.mods[key]; m != nil {
		rt.users[key][fn] = true
		return m, nil
	}
	root, err := os.OpenRoot(dir)
	if err != nil {
		return nil, err
	}
	bin, err := root.ReadFile(key.file)
	root.Close()
	if errors.Is(err, fs.ErrNotExist) {
		return nil, api.BadRequest("the artifact has no %s: build the function for GOOS=wasip1 GOARCH=wasm (lang go-wasm) or name its module in fprocess", key.file)
	}
	if err != nil {
		return nil, err
	}
	bin, tables, err := capTables(bin)
	if err != nil {
		return nil, api.BadRequest("%s is not a WebAssembly module this server can run: %w", key.file, err)
	}
	// The depth counter is a global the module did not have: code naming
	// its index (invalid as written, valid once rewritten) could reset the
	// count, so the module is validated as written first (once per
	// module: see validateOnce).
	if err := rt.validateOnce(ctx, bin); err != nil {
		return nil, api.BadRequest("%s is not a WebAssembly module this server can run: %w", key.file, err)
	}
	if bin, err = capDepth(bin); err != nil {
		return nil, api.BadRequest("%s is not a WebAssembly module this server can run: %w", key.file, err)
	}
	if limit := uint64(key.pages) * pageBytes; tables > limit {
		return nil, api.BadRequest("limits.memory: the tables of %s take %d MiB in every call, more than the limit of %d MiB: raise limits.memory or give the tables a smaller maximum", key.file, tables>>20, limit>>20)
	}
	r := wazero.NewRuntimeWithConfig(ctx, wazero.NewRuntimeConfig().
		WithCloseOnContextDone(true).WithMemoryLimitPages(key.pages).WithCompilationCache(rt.cache))
	wasi_snapshot_preview1.MustInstantiate(ctx, r)
	code, image := prepareCode(bin)
	rx, isReactor := asReactor(code)
	if isReactor {
		code = rx.code
	}
	compiled, err := r.CompileModule(ctx, code)
	if err != nil {
		r.Close(ctx)
		image.close()
		if strings.Contains(err.Error(), "over limit") {
			return nil, api.BadRequest("limits.memory is below what %s needs to start: %w", key.file, err)
		}
		return nil, api.BadRequest("%s is not a WebAssembly module this server can run: %w", key.file, err)
	}
	m := &module{r: r, compiled: compiled, image: image, initial: minMemory(compiled), reactor: rx}
	if image != nil && m.initial < uint64(image.size) {
		m.close() // the module could never start
		return nil, api.BadRequest("%s has data segments outside its memory", key.file)
	}
	if _, ok := compiled.ExportedFunctions()["_start"]; !ok && !isReactor {
		m.close()
		return nil, api.BadRequest("%s is neither a WASI command (it exports no _start) nor a reactor exporting %s and %s: build a program (package main) or a reactor (-buildmode=c-shared with //go:wasmexport %s)", key.file, initExport, handleExport, handleExport)
	}
	rt.mods[key] = m
	rt.users[key] = map[string]bool{fn: true}
	return m, nil
}

// Forget closes the modules only the deleted function used.
func (rt *Runtime) Forget(namespace, name string) {
	fn := namespace + "/" + name
	rt.mu.Lock()
	defer rt.mu.Unlock()
	for key, us := range rt.users {
		delete(us, fn)
		if len(us) == 0 {
			rt.mods[key].close()
			delete(rt.mods, key)
			delete(rt.users, key)
		}
	}
}

// Close releases every compiled module once the provider has stopped the
// replicas.
func (rt *Runtime) Close() {
	rt.mu.Lock()
	defer rt.mu.Unlock()
	for key, m := range rt.mods {
		m.close()
		delete(rt.mods, key)
		delete(rt.users, key)
	}
	rt.cache.Close(context.Background())
}

// minMemory is the module's initial linear memory in bytes: its data
// segments must lie within it.
func minMemory(c wazero.CompiledModule) uint64 {
	for _, m := range c.ExportedMemories() {
		return uint64(m.Min()) * pageBytes
	}
	for _, m := range c.ImportedMemories() {
		return uint64(m.Min()) * pageBytes
	}
	return 0
}

// Usage reports, for each replica, the wall time its calls spent in the
// guest (they run on the server's threads, whose CPU time cannot be told
// apart per call) and the linear memory its live instances hold.
func (rt *Runtime) Usage(rs []process.Replica) []process.Usage {
	out := make([]process.Usage, len(rs))
	for i, r := range rs {
		if x, ok := r.(*replica); ok {
			out[i] = process.Usage{CPU: x.use.busy(), MemoryBytes: x.use.memory.Load()}
		}
	}
	return out
}

func w0(s string) string {
	if w := strings.Fields(s); len(w) > 0 {
		return w[0]
	}
	return s
}

func short(s string) string {
	if len(s) > 80 {
		return s[:80] + "..."
	}
	return s
}
