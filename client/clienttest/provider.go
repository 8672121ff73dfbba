// Package clienttest runs a real Ferry gateway (gateway.New) over a small
// in-memory provider, for tests of the client, the CLI and faas-cli
// compatibility. Each deployed function is an httptest server that echoes
// the request body (path /fail answers 500), and logs one line per call.
package clienttest

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"sort"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/ferryfaas/ferry/api"
	"github.com/ferryfaas/ferry/provider"
)

// Provider is an in-memory provider.Provider.
type Provider struct {
	mu         sync.Mutex
	fns        map[string]*function // key ns/name
	secrets    map[string]map[string]api.Secret
	namespaces map[string]api.Namespace
	changed    chan struct{}
}

var _ provider.Provider = (*Provider)(nil)

type function struct {
	dep      api.FunctionDeployment
	replicas uint64
	created  time.Time
	srv      *httptest.Server
	logs     []api.LogMessage
	subs     map[chan api.LogMessage]struct{}
}

// NewProvider returns an empty provider with the default namespace.
func NewProvider() *Provider {
	return &Provider{
		fns:        map[string]*function{},
		secrets:    map[string]map[string]api.Secret{},
		namespaces: map[string]api.Namespace{api.DefaultNamespace: {Name: api.DefaultNamespace}},
		changed:    make(chan struct{}),
	}
}

func key(ns, name string) string { return ns + "/" + name }

// notify wakes route waiters; call with mu held.
func (p *Provider) notify() {
	close(p.changed)
	p.changed = make(chan struct{})
}

func (p *Provider) checkNS(ns string) error {
	if _, ok := p.namespaces[ns]; !ok {
		return api.Errorf(http.StatusBadRequest, "namespace %q does not exist: create it with `ferry namespace create %s`", ns, ns)
	}
	return nil
}

// Deploy starts the function's echo server.
func (p *Provider) Deploy(_ context.Context, d api.FunctionDeployment) error {
	p.mu.Lock()
	defer p.mu.Unlock()
	if err := p.checkNS(d.Namespace); err != nil {
		return err
	}
	k := key(d.Namespace, d.Service)
	if _, ok := p.fns[k]; ok {
		return api.Conflict("function", d.Service)
	}
	f := &function{dep: d, replicas: 1, created: time.Now().UTC(), subs: map[chan api.LogMessage]struct{}{}}
	f.srv = httptest.NewServer(p.handler(f))
	p.fns[k] = f
	p.notify()
	return nil
}

// handler is a function replica: echo the body, log the call.
func (p *Provider) handler(f *function) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, _ := io.ReadAll(r.Body)
		p.log(f, fmt.Sprintf("%s %s %d bytes", r.Method, r.URL.RequestURI(), len(body)))
		if ct := r.Header.Get("Content-Type"); ct != "" {
			w.Header().Set("Content-Type", ct)
		}
		w.Header().Set("X-Echo-Method", r.Method)
		w.Header().Set("X-Echo-Query", r.URL.RawQuery)
		w.Header().Set("X-Echo-Path", r.URL.Path)
		w.Header().Set("X-Echo-Content-Length", strconv.FormatInt(r.ContentLength, 10))
		if strings.HasSuffix(r.URL.Path, "/fail") {
			w.WriteHeader(http.StatusInternalServerError)
			io.WriteString(w, "boom\n")
			return
		}
		w.Write(body)
	})
}

func (p *Provider) log(f *function, text string) {
	p.mu.Lock()
	defer p.mu.Unlock()
	m := api.LogMessage{Name: f.dep.Service, Namespace: f.dep.Namespace, Instance: "1", Timestamp: time.Now().UTC(), Text: text}
	f.logs = append(f.logs, m)
	for ch := range f.subs {
		select {
		case ch <- m:
		default: // a slow follower loses lines rather than blocking calls
		}
	}
}

// Log appends a log line to a function, as if it had printed it.
func (p *Provider) Log(namespace, name, text string) {
	p.mu.Lock()
	f := p.fns[key(namespace, name)]
	p.mu.Unlock()
	if f != nil {
		p.log(f, text)
	}
}

// Update replaces the spec, keeping the replica.
func (p *Provider) Update(_ context.Context, d api.FunctionDeployment) error {
	p.mu.Lock()
	defer p.mu.Unlock()
	f, ok := p.fns[key(d.Namespace, d.Service)]
	if !ok {
		return api.NotFound("function", d.Service)
	}
	f.dep = d
	p.notify()
	return nil
}

// Delete stops the function.
func (p *Provider) Delete(_ context.Context, ns, name string) error {
	p.mu.Lock()
	defer p.mu.Unlock()
	f, ok := p.fns[key(ns, name)]
	if !ok {
		return api.NotFound("function", name)
	}
	delete(p.fns, key(ns, name))
	f.srv.Close()
	p.notify()
	return nil
}

func (p *Provider) status(f *function) api.FunctionStatus {
	d := f.dep
	return api.FunctionStatus{
		Name: d.Service, Image: d.Image, Namespace: d.Namespace, EnvProcess: d.EnvProcess,
		EnvVars: d.EnvVars, Constraints: d.Constraints, Secrets: d.Secrets, Labels: d.Labels,
		Annotations: d.Annotations, Limits: d.Limits, Requests: d.Requests,
		ReadOnlyRootFilesystem: d.ReadOnlyRootFilesystem,
		Replicas:               f.replicas, AvailableReplicas: f.replicas, ReadyReplicas: f.replicas,
		CreatedAt: f.created, InvocationCount: float64(len(f.logs)),
	}
}

// List returns a namespace's functions sorted by name.
func (p *Provider) List(_ context.Context, ns string) ([]api.FunctionStatus, error) {
	p.mu.Lock()
	defer p.mu.Unlock()
	if err := p.checkNS(ns); err != nil {
		return nil, err
	}
	out := []api.FunctionStatus{}
	for _, f := range p.fns {
		if f.dep.Namespace == ns {
			out = append(out, p.status(f))
		}
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Name < out[j].Name })
	return out, nil
}

// Get returns one function.
func (p *Provider) Get(_ context.Context, ns, name string) (api.FunctionStatus, error) {
	p.mu.Lock()
	defer p.mu.Unlock()
	f, ok := p.fns[key(ns, name)]
	if !ok {
		return api.FunctionStatus{}, api.NotFound("function", name)
	}
	return p.status(f), nil
}

// Scale records the desired count; 0 removes the route's endpoint.
func (p *Provider) Scale(_ context.Context, ns, name string, n uint64) error {
	p.mu.Lock()
	defer p.mu.Unlock()
	f, ok := p.fns[key(ns, name)]
	if !ok {
		return api.NotFound("function", name)
	}
	f.replicas = n
	p.notify()
	return nil
}

// Route returns the echo server while replicas > 0.
func (p *Provider) Route(ns, name string) (provider.Route, bool) {
	p.mu.Lock()
	defer p.mu.Unlock()
	f, ok := p.fns[key(ns, name)]
	if !ok {
		return provider.Route{}, false
	}
	r := provider.Route{Changed: p.changed, Desired: f.replicas, Timeout: provider.TimeoutOf(f.dep.EnvVars)}
	if f.replicas > 0 {
		r.Endpoints = []provider.Endpoint{{Address: strings.TrimPrefix(f.srv.URL, "http://"), Instance: "1"}}
	}
	return r, true
}

// Logs replays stored lines (since/tail/instance) and, with Follow, streams
// new ones until ctx ends.
func (p *Provider) Logs(ctx context.Context, req api.LogRequest) (<-chan api.LogMessage, error) {
	p.mu.Lock()
	f, ok := p.fns[key(req.Namespace, req.Name)]
	if !ok {
		p.mu.Unlock()
		return nil, api.NotFound("function", req.Name)
	}
	var lines []api.LogMessage
	for _, m := range f.logs {
		if (req.Since == nil || !m.Timestamp.Before(*req.Since)) && (req.Instance == "" || req.Instance == m.Instance) {
			lines = append(lines, m)
		}
	}
	if req.Tail >= 0 && len(lines) > req.Tail {
		lines = lines[len(lines)-req.Tail:]
	}
	var sub chan api.LogMessage
	if req.Follow {
		sub = make(chan api.LogMessage, 256)
		f.subs[sub] = struct{}{}
	}
	p.mu.Unlock()
	out := make(chan api.LogMessage)
	go func() {
		defer close(out)
		if sub != nil {
			defer func() { p.mu.Lock(); delete(f.subs, sub); p.mu.Unlock() }()
		}
		for _, m := range lines {
			select {
			case out <- m:
			case <-ctx.Done():
				return
			}
		}
		for sub != nil {
			select {
			case m := <-sub:
				select {
				case out <- m:
				case <-ctx.Done():
					return
				}
			case <-ctx.Done():
				return
			}
		}
	}()
	return out, nil
}

// ListSecrets returns names only.
func (p *Provider) ListSecrets(_ context.Context, ns string) ([]api.Secret, error) {
	p.mu.Lock()
	defer p.mu.Unlock()
	out := []api.Secret{}
	for name := range p.secrets[ns] {
		out = append(out, api.Secret{Name: name, Namespace: ns})
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Name < out[j].Name })
	return out, nil
}

// SecretValue returns a stored value (Value, or RawValue as a string).
func (p *Provider) SecretValue(ns, name string) (string, bool) {
	p.mu.Lock()
	defer p.mu.Unlock()
	s, ok := p.secrets[ns][name]
	if s.Value == "" {
		return string(s.RawValue), ok
	}
	return s.Value, ok
}

// CreateSecret stores a new secret.
func (p *Provider) CreateSecret(_ context.Context, s api.Secret) error {
	p.mu.Lock()
	defer p.mu.Unlock()
	if _, ok := p.secrets[s.Namespace][s.Name]; ok {
		return api.Conflict("secret", s.Name)
	}
	if p.secrets[s.Namespace] == nil {
		p.secrets[s.Namespace] = map[string]api.Secret{}
	}
	p.secrets[s.Namespace][s.Name] = s
	return nil
}

// UpdateSecret replaces an existing secret.
func (p *Provider) UpdateSecret(_ context.Context, s api.Secret) error {
	p.mu.Lock()
	defer p.mu.Unlock()
	if _, ok := p.secrets[s.Namespace][s.Name]; !ok {
		return api.NotFound("secret", s.Name)
	}
	p.secrets[s.Namespace][s.Name] = s
	return nil
}

// DeleteSecret removes a secret.
func (p *Provider) DeleteSecret(_ context.Context, ns, name string) error {
	p.mu.Lock()
	defer p.mu.Unlock()
	if _, ok := p.secrets[ns][name]; !ok {
		return api.NotFound("secret", name)
	}
	delete(p.secrets[ns], name)
	return nil
}

// ListNamespaces returns namespace names sorted.
func (p *Provider) ListNamespaces(context.Context) ([]string, error) {
	p.mu.Lock()
	defer p.mu.Unlock()
	out := make([]string, 0, len(p.namespaces))
	for n := range p.namespaces {
		out = append(out, n)
	}
	sort.Strings(out)
	return out, nil
}

// GetNamespace returns one namespace.
func (p *Provider) GetNamespace(_ context.Context, name string) (api.Namespace, error) {
	p.mu.Lock()
	defer p.mu.Unlock()
	ns, ok := p.namespaces[name]
	if !ok {
		return ns, api.NotFound("namespace", name)
	}
	return ns, nil
}

// CreateNamespace adds a namespace.
func (p *Provider) CreateNamespace(_ context.Context, ns api.Namespace) error {
	p.mu.Lock()
	defer p.mu.Unlock()
	if _, ok := p.namespaces[ns.Name]; ok {
		return api.Conflict("namespace", ns.Name)
	}
	p.namespaces[ns.Name] = ns
	return nil
}

// UpdateNamespace replaces labels and annotations.
func (p *Provider) UpdateNamespace(_ context.Context, ns api.Namespace) error {
	p.mu.Lock()
	defer p.mu.Unlock()
	if _, ok := p.namespaces[ns.Name]; !ok {
		return api.NotFound("namespace", ns.Name)
	}
	p.namespaces[ns.Name] = ns
	return nil
}

// DeleteNamespace removes an empty namespace.
func (p *Provider) DeleteNamespace(_ context.Context, name string) error {
	p.mu.Lock()
	defer p.mu.Unlock()
	if _, ok := p.namespaces[name]; !ok {
		return api.NotFound("namespace", name)
	}
	for _, f := range p.fns {
		if f.dep.Namespace == name {
			return api.Errorf(http.StatusConflict, "namespace %q still has functions: remove them first", name)
		}
	}
	delete(p.namespaces, name)
	return nil
}

// Info names the provider.
func (p *Provider) Info() api.ProviderInfo {
	return api.ProviderInfo{Name: "memory", Orchestration: "none", Version: api.VersionInfo{Release: "test"}}
}

// Close stops every function server.
func (p *Provider) Close(context.Context) error {
	p.mu.Lock()
	defer p.mu.Unlock()
	for _, f := range p.fns {
		f.srv.Close()
	}
	return nil
}
