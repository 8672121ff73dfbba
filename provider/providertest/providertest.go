// Package providertest is an in-memory provider.Provider for tests of the
// packages above the provider seam (gateway, client, CLI, autoscaler). It
// keeps functions, secrets, namespaces and log lines in maps, answers with
// the same *api.Error values a real provider does (404, 409, 400), and lets
// a test set what a real provider would learn from its replicas: ready
// endpoints, a start failure, a timeout. A function's replicas are whatever
// the test says: none by default, or one each from NewReplica when set.
package providertest

import (
	"context"
	"net/http"
	"sync"
	"sync/atomic"
	"time"

	"github.com/ferryfaas/ferry/api"
	"github.com/ferryfaas/ferry/provider"
)

// Provider is an in-memory provider.Provider. Set the hooks before it is
// used; everything else is safe for concurrent use.
type Provider struct {
	// NewReplica, when set, starts the one replica of each deployed
	// function and returns its endpoint and how to stop it.
	NewReplica func(d api.FunctionDeployment) (provider.Endpoint, func())
	// OnScale, when set, runs after each Scale (outside the lock); its
	// error is Scale's.
	OnScale func(ns, name string, replicas uint64) error
	// Routed, when set, gets a token per Route call (dropped when full).
	Routed chan struct{}
	// ListPanics makes List panic, for tests of the caller's recovery.
	ListPanics atomic.Bool

	mu         sync.Mutex
	fns        map[string]*Function // key ns/name
	secrets    map[string]api.Secret
	namespaces map[string]api.Namespace
	lastLog    api.LogRequest
}

var _ provider.Provider = (*Provider)(nil)

// Function is a deployed function as the provider holds it; tests change
// it through Edit.
type Function struct {
	Deployment api.FunctionDeployment
	Replicas   uint64 // desired; Route has no endpoint while it is 0
	Endpoints  []provider.Endpoint
	Failure    string        // Route's Failure
	Timeout    time.Duration // Route's Timeout (0: the deployment's env)
	Created    time.Time
	Logs       []api.LogMessage

	changed chan struct{}
	subs    map[chan api.LogMessage]struct{}
	stop    func()
}

// New returns an empty provider with the default namespace.
func New() *Provider {
	return &Provider{
		fns:        map[string]*Function{},
		secrets:    map[string]api.Secret{},
		namespaces: map[string]api.Namespace{api.DefaultNamespace: {Name: api.DefaultNamespace}},
	}
}

func key(ns, name string) string { return ns + "/" + name }

func newFunction(d api.FunctionDeployment, replicas uint64) *Function {
	return &Function{Deployment: d, Replicas: replicas, Created: time.Now().UTC(),
		changed: make(chan struct{}), subs: map[chan api.LogMessage]struct{}{}}
}

// Add puts a function in place as if deployed (its namespace need not
// exist), with replicas desired and one ready endpoint per address.
func (p *Provider) Add(ns, name string, replicas uint64, addrs ...string) {
	fn := newFunction(api.FunctionDeployment{Service: name, Namespace: ns, Image: "img"}, replicas)
	fn.Endpoints = Endpoints(addrs...)
	p.mu.Lock()
	p.fns[key(ns, name)] = fn
	p.mu.Unlock()
}

// Endpoints makes one endpoint per address, named after it.
func Endpoints(addrs ...string) []provider.Endpoint {
	var eps []provider.Endpoint
	for _, a := range addrs {
		eps = append(eps, provider.Endpoint{Address: a, Instance: a})
	}
	return eps
}

// Edit changes a function under the lock and wakes Route's waiters, as a
// real provider does when a replica becomes ready or fails. A missing
// function is a test bug: Edit panics.
func (p *Provider) Edit(ns, name string, edit func(fn *Function)) {
	p.mu.Lock()
	defer p.mu.Unlock()
	fn := p.fns[key(ns, name)]
	edit(fn)
	p.changed(fn)
}

// SetEndpoints replaces a function's ready endpoints.
func (p *Provider) SetEndpoints(ns, name string, addrs ...string) {
	p.Edit(ns, name, func(fn *Function) { fn.Endpoints = Endpoints(addrs...) })
}

// changed wakes Route's waiters; call with mu held.
func (p *Provider) changed(fn *Function) {
	close(fn.changed)
	fn.changed = make(chan struct{})
}

// Replicas returns a function's desired replicas (0 when it is missing).
func (p *Provider) Replicas(ns, name string) uint64 {
	p.mu.Lock()
	defer p.mu.Unlock()
	if fn := p.fns[key(ns, name)]; fn != nil {
		return fn.Replicas
	}
	return 0
}

// Secret returns a stored secret, value included.
func (p *Provider) Secret(ns, name string) (api.Secret, bool) {
	p.mu.Lock()
	defer p.mu.Unlock()
	s, ok := p.secrets[key(ns, name)]
	return s, ok
}

// SecretValue returns a stored secret's value (Value, or RawValue as a
// string).
func (p *Provider) SecretValue(ns, name string) (string, bool) {
	s, ok := p.Secret(ns, name)
	if s.Value == "" {
		return string(s.RawValue), ok
	}
	return s.Value, ok
}

// LastLogRequest is the last request Logs was given.
func (p *Provider) LastLogRequest() api.LogRequest {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.lastLog
}

// Log appends a line to a function's log, as if it had printed it, and
// hands it to followers (a slow follower loses lines rather than blocking
// the caller, as a real log pipe would).
func (p *Provider) Log(ns, name, text string) {
	p.mu.Lock()
	defer p.mu.Unlock()
	fn := p.fns[key(ns, name)]
	if fn == nil {
		return
	}
	m := api.LogMessage{Name: name, Namespace: ns, Instance: "1", Timestamp: time.Now().UTC(), Text: text}
	fn.Logs = append(fn.Logs, m)
	for ch := range fn.subs {
		select {
		case ch <- m:
		default:
		}
	}
}

func (p *Provider) checkNS(ns string) error {
	if _, ok := p.namespaces[ns]; !ok {
		return api.Errorf(http.StatusBadRequest, "namespace %q does not exist: create it with `ferry namespace create %s`", ns, ns)
	}
	return nil
}

// Info names the provider.
func (p *Provider) Info() api.ProviderInfo {
	return api.ProviderInfo{Name: "memory", Orchestration: "none", Version: api.VersionInfo{SHA: "abc", Release: "0.0.1"}}
}

// Close stops every replica NewReplica started.
func (p *Provider) Close(context.Context) error {
	p.mu.Lock()
	defer p.mu.Unlock()
	for _, fn := range p.fns {
		if fn.stop != nil {
			fn.stop()
		}
	}
	return nil
}
