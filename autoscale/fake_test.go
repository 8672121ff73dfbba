package autoscale

import (
	"context"
	"io"
	"log/slog"
	"sync"
	"sync/atomic"
	"time"

	"github.com/ferryfaas/ferry/api"
	"github.com/ferryfaas/ferry/metrics"
	"github.com/ferryfaas/ferry/provider/providertest"
)

// fakeProvider is the in-memory provider seen as the autoscaler sees it:
// functions in the default namespace by name, and a count of Scale calls.
type fakeProvider struct {
	*providertest.Provider
	scales  atomic.Int64
	onScale func(name string, n uint64) // set before use
}

func newFakeProvider() *fakeProvider {
	f := &fakeProvider{Provider: providertest.New()}
	f.OnScale = func(_, name string, n uint64) error {
		f.scales.Add(1)
		if f.onScale != nil {
			f.onScale(name, n)
		}
		return nil
	}
	return f
}

func (f *fakeProvider) add(name string, replicas uint64, labels map[string]string) {
	f.Add(api.DefaultNamespace, name, replicas)
	f.Edit(api.DefaultNamespace, name, func(fn *providertest.Function) { fn.Deployment.Labels = labels })
}

func (f *fakeProvider) list(ctx context.Context) ([]api.FunctionStatus, error) {
	return f.List(ctx, api.DefaultNamespace)
}

func (f *fakeProvider) replicas(name string) uint64 { return f.Replicas(api.DefaultNamespace, name) }

func (f *fakeProvider) scaleCount() int { return int(f.scales.Load()) }

// fakeSource is a settable metrics source.
type fakeSource struct {
	mu sync.Mutex
	c  map[string]metrics.Counts
}

func (s *fakeSource) Counts(fn string) metrics.Counts {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.c[fn]
}

// load adds n started requests and sets in-flight for fn.
func (s *fakeSource) load(fn string, n uint64, inflight int64) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.c == nil {
		s.c = map[string]metrics.Counts{}
	}
	c := s.c[fn]
	c.Started += n
	c.Finished += n
	c.Inflight = inflight
	s.c[fn] = c
}

type fakeClock struct{ t time.Time }

func (c *fakeClock) Now() time.Time { return c.t }

var quiet = slog.New(slog.NewTextHandler(io.Discard, nil))

// sampled reports whether fn has a baseline sample.
func (a *Autoscaler) sampled(fn string) bool {
	a.mu.Lock()
	defer a.mu.Unlock()
	s := a.fns[fn]
	return s != nil && !s.prevT.IsZero()
}
