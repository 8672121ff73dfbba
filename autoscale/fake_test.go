package autoscale

import (
	"context"
	"io"
	"log/slog"
	"sync"
	"time"

	"github.com/ferryfaas/ferry/api"
	"github.com/ferryfaas/ferry/metrics"
	"github.com/ferryfaas/ferry/provider"
)

// fakeProvider holds functions in memory; Scale changes Replicas at once.
type fakeProvider struct {
	mu       sync.Mutex
	fns      map[string]*api.FunctionStatus
	scales   []uint64
	scaleErr error
	routes   map[string]provider.Route
	changed  map[string]chan struct{}
	onScale  func(fn string, n uint64)
}

func newFakeProvider() *fakeProvider {
	return &fakeProvider{fns: map[string]*api.FunctionStatus{}, routes: map[string]provider.Route{}, changed: map[string]chan struct{}{}}
}

func (f *fakeProvider) add(name string, replicas uint64, labels map[string]string) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.fns[name+".openfaas-fn"] = &api.FunctionStatus{Name: name, Namespace: "openfaas-fn", Replicas: replicas, Labels: labels}
	f.changed[name+".openfaas-fn"] = make(chan struct{})
}

func (f *fakeProvider) list(context.Context) ([]api.FunctionStatus, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	var out []api.FunctionStatus
	for _, st := range f.fns {
		out = append(out, *st)
	}
	return out, nil
}

func (f *fakeProvider) replicas(name string) uint64 {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.fns[name+".openfaas-fn"].Replicas
}

func (f *fakeProvider) Get(_ context.Context, ns, name string) (api.FunctionStatus, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	st, ok := f.fns[name+"."+ns]
	if !ok {
		return api.FunctionStatus{}, api.NotFound("function", name)
	}
	return *st, nil
}

func (f *fakeProvider) Scale(_ context.Context, ns, name string, n uint64) error {
	f.mu.Lock()
	if f.scaleErr != nil {
		f.mu.Unlock()
		return f.scaleErr
	}
	st, ok := f.fns[name+"."+ns]
	if !ok {
		f.mu.Unlock()
		return api.NotFound("function", name)
	}
	st.Replicas = n
	f.scales = append(f.scales, n)
	hook := f.onScale
	f.mu.Unlock()
	if hook != nil {
		hook(name+"."+ns, n)
	}
	return nil
}

// setRoute replaces a route and signals its Changed channel.
func (f *fakeProvider) setRoute(fn string, r provider.Route) {
	f.mu.Lock()
	defer f.mu.Unlock()
	close(f.changed[fn])
	f.changed[fn] = make(chan struct{})
	f.routes[fn] = r
}

func (f *fakeProvider) Route(ns, name string) (provider.Route, bool) {
	f.mu.Lock()
	defer f.mu.Unlock()
	fn := name + "." + ns
	st, ok := f.fns[fn]
	if !ok {
		return provider.Route{}, false
	}
	r := f.routes[fn]
	r.Desired = st.Replicas
	r.Changed = f.changed[fn]
	return r, true
}

func (f *fakeProvider) scaleCount() int {
	f.mu.Lock()
	defer f.mu.Unlock()
	return len(f.scales)
}

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
