package process

import (
	"context"
	"log/slog"
	"path/filepath"
	"runtime"
	"sync"

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
	cg      *cgroupMgr

	// opMu serialises API writes (check-then-act on the store); the hot
	// path (Route) never takes it.
	opMu sync.Mutex

	mu       sync.RWMutex
	fns      map[string]map[string]*function // namespace -> name -> function
	cleaning map[string]chan struct{}        // key -> closed when a deleted function's dirs are gone
	closed   bool
	// kill is closed when Close runs out of time: draining replicas get SIGKILL.
	kill chan struct{}
	bg   sync.WaitGroup // supervisors and cleanups

	// afterStaleRemoval is a test hook: called after an old working dir
	// was removed following an update.
	afterStaleRemoval func(dir string)
}

// Info names the provider for /system/info.
func (p *Provider) Info() api.ProviderInfo {
	return api.ProviderInfo{Name: "ferry-process", Orchestration: "process"}
}

// Route answers from the function's published snapshot: two map lookups
// under a read lock and an atomic load, no allocation.
func (p *Provider) Route(namespace, name string) (provider.Route, bool) {
	p.mu.RLock()
	f := p.fns[namespace][name]
	p.mu.RUnlock()
	if f == nil {
		return provider.Route{}, false
	}
	return *f.route.Load(), true
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
		close(p.kill)
		<-done
	}
	for _, f := range p.all() {
		f.logs.close()
		p.cg.removeFunction(f.ns + "-" + f.name)
	}
	p.cg.removeFunction("")
	return nil
}
