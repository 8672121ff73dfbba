package process

import (
	"context"
	"log/slog"
	"maps"
	"path/filepath"
	"runtime"
	"sync"
	"sync/atomic"
	"time"

	"github.com/ferryfaas/ferry/api"
	"github.com/ferryfaas/ferry/provider"
	"github.com/ferryfaas/ferry/store"
)

var _ provider.Provider = (*Provider)(nil)

const isLinux = runtime.GOOS == "linux"

// Provider runs functions as local process groups. See the package comment.
type Provider struct {
	cfg     Config
	st      *store.Store
	log     *slog.Logger
	isolate bool // root on Linux: per-function uid, secret bind mounts
	uidBase int  // first uid of this data dir's block (isolated only)
	// noIsolation says why isolate is false.
	noIsolation string
	// rt starts and stops the replicas (see Runtime).
	rt Runtime
	// dirID tells this server's cgroups and sockets from another's on the
	// same machine (a hash of the data dir).
	dirID string

	// opMu serialises API writes (check-then-act on the store); the hot
	// path (Route) never takes it.
	opMu sync.Mutex

	mu  sync.RWMutex
	fns map[string]map[string]*function // namespace -> name -> function
	// index is an immutable copy of fns for Route: readers share no lock
	// (an RWMutex's reader count bounces between cores on every call).
	index    atomic.Pointer[map[string]map[string]*function]
	cleaning map[string]chan struct{} // key -> closed when a deleted function's dirs are gone
	closed   bool
	// artMu orders artifact uploads and checks with their collection.
	artMu sync.Mutex
	// gcStop ends the artifact collector; gcDone is closed when it ended.
	gcStop, gcDone chan struct{}
	gcOnce         sync.Once
	// now is the clock of artifact times (tests replace it).
	now func() time.Time
	// killCtx ends (killNow) when Close runs out of time: draining
	// replicas are killed.
	killCtx context.Context
	killNow context.CancelFunc
	bg      sync.WaitGroup // supervisors and cleanups

	// afterStaleRemoval is a test hook: called after an old working dir
	// was removed following an update.
	afterStaleRemoval func(dir string)
}

// Info names the provider for /system/info.
func (p *Provider) Info() api.ProviderInfo {
	if n, ok := p.rt.(Namer); ok {
		return api.ProviderInfo{Name: "ferry-" + n.Name(), Orchestration: n.Name()}
	}
	return api.ProviderInfo{Name: "ferry-process", Orchestration: "process"}
}

// Route answers from the function's published snapshot: two atomic loads
// and two map lookups, no lock, no allocation.
func (p *Provider) Route(namespace, name string) (provider.Route, bool) {
	idx := p.index.Load()
	if idx == nil {
		return provider.Route{}, false
	}
	f := (*idx)[namespace][name]
	if f == nil {
		return provider.Route{}, false
	}
	return *f.route.Load(), true
}

// setFunctionLocked adds (f != nil) or removes a function and republishes
// the index; p.mu is held.
func (p *Provider) setFunctionLocked(ns, name string, f *function) {
	inner := maps.Clone(p.fns[ns])
	if inner == nil {
		inner = map[string]*function{}
	}
	if f != nil {
		inner[name] = f
	} else {
		delete(inner, name)
	}
	next := maps.Clone(p.fns)
	next[ns] = inner
	p.fns = next
	p.index.Store(&next)
}

func (p *Provider) lookup(namespace, name string) *function {
	p.mu.RLock()
	defer p.mu.RUnlock()
	return p.fns[namespace][name]
}

func (p *Provider) all() []*function {
	p.mu.RLock()
	defer p.mu.RUnlock()
	var out []*function
	for _, m := range p.fns {
		for _, f := range m {
			out = append(out, f)
		}
	}
	return out
}

func (p *Provider) path(elem ...string) string {
	return filepath.Join(append([]string{p.cfg.DataDir}, elem...)...)
}

// Close stops every replica: SIGTERM, wait for the drain, SIGKILL whatever
// is left when ctx ends. Deployed state stays in the store for the next New.
func (p *Provider) Close(ctx context.Context) error {
	p.stopGC() // before opMu, which a collection in progress holds
	p.opMu.Lock()
	defer p.opMu.Unlock()
	p.mu.Lock()
	if p.closed {
		p.mu.Unlock()
		return nil
	}
	p.closed = true
	p.mu.Unlock()
	for _, f := range p.all() {
		f.shutdown()
	}
	done := make(chan struct{})
	go func() { p.bg.Wait(); close(done) }()
	select {
	case <-done:
	case <-ctx.Done():
		p.killNow()
		<-done
	}
	p.killNow()
	for _, f := range p.all() {
		f.logs.close()
		if fg, ok := p.rt.(Forgetter); ok {
			fg.Forget(f.ns, f.name)
		}
	}
	if c, ok := p.rt.(Closer); ok {
		c.Close()
	}
	return nil
}
