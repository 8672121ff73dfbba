package gateway

import (
	"context"
	"net/http"
	"sort"
	"sync"
	"sync/atomic"
	"time"

	"github.com/ferryfaas/ferry/api"
	"github.com/ferryfaas/ferry/provider"
)

// fakeProvider keeps everything in memory; tests set routes directly.
type fakeProvider struct {
	mu         sync.Mutex
	fns        map[string]*fakeFn
	secrets    map[string]api.Secret
	namespaces map[string]api.Namespace
	logs       []api.LogMessage
	logCh      chan api.LogMessage // when set, Logs streams from it
	lastLog    api.LogRequest
	routeCalls atomic.Int64
	routed     chan struct{} // when set, gets a token per Route call
	panicList  atomic.Bool
}

var _ provider.Provider = (*fakeProvider)(nil)

type fakeFn struct {
	d        api.FunctionDeployment
	replicas uint64
	eps      []provider.Endpoint
	changed  chan struct{}
	failure  string
	timeout  time.Duration
}

func newFake() *fakeProvider {
	return &fakeProvider{
		fns:        map[string]*fakeFn{},
		secrets:    map[string]api.Secret{},
		namespaces: map[string]api.Namespace{api.DefaultNamespace: {Name: api.DefaultNamespace}},
	}
}

func key(ns, name string) string { return ns + "/" + name }

// addFunction deploys a function with the given replicas' addresses ready.
func (f *fakeProvider) addFunction(ns, name string, desired uint64, addrs ...string) {
	f.mu.Lock()
	defer f.mu.Unlock()
	fn := &fakeFn{d: api.FunctionDeployment{Service: name, Namespace: ns, Image: "img"}, replicas: desired, changed: make(chan struct{})}
	for _, a := range addrs {
		fn.eps = append(fn.eps, provider.Endpoint{Address: a, Instance: a})
	}
	f.fns[key(ns, name)] = fn
}

// change edits a function's route and tells waiters.
func (f *fakeProvider) change(ns, name string, edit func(fn *fakeFn)) {
	f.mu.Lock()
	defer f.mu.Unlock()
	fn := f.fns[key(ns, name)]
	edit(fn)
	close(fn.changed)
	fn.changed = make(chan struct{})
}

func (f *fakeProvider) setEndpoints(ns, name string, addrs ...string) {
	f.change(ns, name, func(fn *fakeFn) {
		fn.eps = nil
		for _, a := range addrs {
			fn.eps = append(fn.eps, provider.Endpoint{Address: a, Instance: a})
		}
	})
}

func (f *fakeProvider) Deploy(ctx context.Context, d api.FunctionDeployment) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	if _, ok := f.fns[key(d.Namespace, d.Service)]; ok {
		return api.Conflict("function", d.Service)
	}
	f.fns[key(d.Namespace, d.Service)] = &fakeFn{d: d, replicas: 1, changed: make(chan struct{})}
	return nil
}

func (f *fakeProvider) Update(ctx context.Context, d api.FunctionDeployment) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	fn, ok := f.fns[key(d.Namespace, d.Service)]
	if !ok {
		return api.NotFound("function", d.Service)
	}
	fn.d = d
	return nil
}

func (f *fakeProvider) Delete(ctx context.Context, ns, name string) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	if _, ok := f.fns[key(ns, name)]; !ok {
		return api.NotFound("function", name)
	}
	delete(f.fns, key(ns, name))
	return nil
}

func (f *fakeProvider) status(fn *fakeFn) api.FunctionStatus {
	return api.FunctionStatus{Name: fn.d.Service, Namespace: fn.d.Namespace, Image: fn.d.Image,
		Replicas: fn.replicas, AvailableReplicas: uint64(len(fn.eps)), EnvVars: fn.d.EnvVars}
}

func (f *fakeProvider) List(ctx context.Context, ns string) ([]api.FunctionStatus, error) {
	if f.panicList.Load() {
		panic("fake provider: List exploded")
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	var out []api.FunctionStatus
	for _, fn := range f.fns {
		if fn.d.Namespace == ns {
			out = append(out, f.status(fn))
		}
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Name < out[j].Name })
	return out, nil
}

func (f *fakeProvider) Get(ctx context.Context, ns, name string) (api.FunctionStatus, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	fn, ok := f.fns[key(ns, name)]
	if !ok {
		return api.FunctionStatus{}, api.NotFound("function", name)
	}
	return f.status(fn), nil
}

func (f *fakeProvider) Scale(ctx context.Context, ns, name string, n uint64) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	fn, ok := f.fns[key(ns, name)]
	if !ok {
		return api.NotFound("function", name)
	}
	fn.replicas = n
	return nil
}

func (f *fakeProvider) ListSecrets(ctx context.Context, ns string) ([]api.Secret, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	var out []api.Secret
	for _, s := range f.secrets {
		if s.Namespace == ns {
			out = append(out, s) // values included on purpose: the gateway must drop them
		}
	}
	return out, nil
}

func (f *fakeProvider) CreateSecret(ctx context.Context, s api.Secret) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	if _, ok := f.secrets[key(s.Namespace, s.Name)]; ok {
		return api.Conflict("secret", s.Name)
	}
	f.secrets[key(s.Namespace, s.Name)] = s
	return nil
}

func (f *fakeProvider) UpdateSecret(ctx context.Context, s api.Secret) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	if _, ok := f.secrets[key(s.Namespace, s.Name)]; !ok {
		return api.NotFound("secret", s.Name)
	}
	f.secrets[key(s.Namespace, s.Name)] = s
	return nil
}

func (f *fakeProvider) DeleteSecret(ctx context.Context, ns, name string) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	if _, ok := f.secrets[key(ns, name)]; !ok {
		return api.NotFound("secret", name)
	}
	delete(f.secrets, key(ns, name))
	return nil
}

func (f *fakeProvider) ListNamespaces(ctx context.Context) ([]string, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	var out []string
	for n := range f.namespaces {
		out = append(out, n)
	}
	sort.Strings(out)
	return out, nil
}

func (f *fakeProvider) GetNamespace(ctx context.Context, name string) (api.Namespace, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	ns, ok := f.namespaces[name]
	if !ok {
		return ns, api.NotFound("namespace", name)
	}
	return ns, nil
}

func (f *fakeProvider) CreateNamespace(ctx context.Context, ns api.Namespace) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	if _, ok := f.namespaces[ns.Name]; ok {
		return api.Conflict("namespace", ns.Name)
	}
	f.namespaces[ns.Name] = ns
	return nil
}

func (f *fakeProvider) UpdateNamespace(ctx context.Context, ns api.Namespace) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	if _, ok := f.namespaces[ns.Name]; !ok {
		return api.NotFound("namespace", ns.Name)
	}
	f.namespaces[ns.Name] = ns
	return nil
}

func (f *fakeProvider) DeleteNamespace(ctx context.Context, name string) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	if _, ok := f.namespaces[name]; !ok {
		return api.NotFound("namespace", name)
	}
	delete(f.namespaces, name)
	return nil
}

func (f *fakeProvider) Route(ns, name string) (provider.Route, bool) {
	f.routeCalls.Add(1)
	if f.routed != nil {
		select {
		case f.routed <- struct{}{}:
		default:
		}
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	fn, ok := f.fns[key(ns, name)]
	if !ok {
		return provider.Route{}, false
	}
	return provider.Route{Endpoints: append([]provider.Endpoint(nil), fn.eps...), Changed: fn.changed,
		Desired: fn.replicas, Timeout: fn.timeout, Failure: fn.failure}, true
}

func (f *fakeProvider) Logs(ctx context.Context, req api.LogRequest) (<-chan api.LogMessage, error) {
	f.mu.Lock()
	f.lastLog = req
	src, msgs := f.logCh, append([]api.LogMessage(nil), f.logs...)
	f.mu.Unlock()
	if src != nil {
		return src, nil
	}
	ch := make(chan api.LogMessage, len(msgs))
	for _, m := range msgs {
		ch <- m
	}
	close(ch)
	return ch, nil
}

func (f *fakeProvider) Info() api.ProviderInfo {
	return api.ProviderInfo{Name: "fake", Orchestration: "memory", Version: api.VersionInfo{SHA: "abc", Release: "0.0.1"}}
}

func (f *fakeProvider) Close(ctx context.Context) error { return nil }

// recordingObserver collects invocation events.
type recordingObserver struct {
	mu       sync.Mutex
	started  []string
	finished []string
	codes    []int
	cold     []time.Duration
	done     chan int // when set, gets each finished code
}

func (o *recordingObserver) ColdStarted(fn string, d time.Duration) {
	o.mu.Lock()
	o.cold = append(o.cold, d)
	o.mu.Unlock()
}

func (o *recordingObserver) Started(fn string) {
	o.mu.Lock()
	o.started = append(o.started, fn)
	o.mu.Unlock()
}

func (o *recordingObserver) Finished(fn string, code int, d time.Duration) {
	o.mu.Lock()
	o.finished = append(o.finished, fn)
	o.codes = append(o.codes, code)
	o.mu.Unlock()
	if o.done != nil {
		o.done <- code
	}
}

// funcWaker calls f on Wake and counts calls.
type funcWaker struct {
	calls atomic.Int64
	f     func(ns, name string) error
}

func (w *funcWaker) Wake(ctx context.Context, ns, name string) error {
	w.calls.Add(1)
	return w.f(ns, name)
}

var _ http.Handler = (*Gateway)(nil)
