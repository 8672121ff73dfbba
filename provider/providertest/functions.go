package providertest

import (
	"context"
	"sort"

	"github.com/ferryfaas/ferry/api"
	"github.com/ferryfaas/ferry/provider"
)

// Deploy adds a function with one replica desired (started by NewReplica
// when set); its namespace must exist.
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
	fn := newFunction(d, 1)
	if p.NewReplica != nil {
		ep, stop := p.NewReplica(d)
		fn.Endpoints, fn.stop = []provider.Endpoint{ep}, stop
	}
	p.fns[k] = fn
	return nil
}

// Update replaces the spec, keeping the replicas.
func (p *Provider) Update(_ context.Context, d api.FunctionDeployment) error {
	p.mu.Lock()
	defer p.mu.Unlock()
	fn, ok := p.fns[key(d.Namespace, d.Service)]
	if !ok {
		return api.NotFound("function", d.Service)
	}
	fn.Deployment = d
	p.changed(fn)
	return nil
}

// Delete removes the function and stops its replica.
func (p *Provider) Delete(_ context.Context, ns, name string) error {
	p.mu.Lock()
	defer p.mu.Unlock()
	fn, ok := p.fns[key(ns, name)]
	if !ok {
		return api.NotFound("function", name)
	}
	delete(p.fns, key(ns, name))
	if fn.stop != nil {
		fn.stop()
	}
	p.changed(fn)
	return nil
}

// status is the function as the API shows it; call with mu held.
func (p *Provider) status(fn *Function) api.FunctionStatus {
	d := fn.Deployment
	available := uint64(len(fn.Endpoints))
	if fn.stop != nil {
		available = fn.Replicas // one NewReplica server stands for every replica
	}
	if fn.Replicas == 0 {
		available = 0
	}
	return api.FunctionStatus{
		Name: d.Service, Image: d.Image, Namespace: d.Namespace, EnvProcess: d.EnvProcess,
		EnvVars: d.EnvVars, Constraints: d.Constraints, Secrets: d.Secrets, Labels: d.Labels,
		Annotations: d.Annotations, Limits: d.Limits, Requests: d.Requests,
		ReadOnlyRootFilesystem: d.ReadOnlyRootFilesystem,
		Replicas:               fn.Replicas, AvailableReplicas: available, ReadyReplicas: available,
		CreatedAt: fn.Created,
	}
}

// List returns a namespace's functions sorted by name.
func (p *Provider) List(_ context.Context, ns string) ([]api.FunctionStatus, error) {
	if p.ListPanics.Load() {
		panic("providertest: List exploded")
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	out := []api.FunctionStatus{}
	for _, fn := range p.fns {
		if fn.Deployment.Namespace == ns {
			out = append(out, p.status(fn))
		}
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Name < out[j].Name })
	return out, nil
}

// Get returns one function.
func (p *Provider) Get(_ context.Context, ns, name string) (api.FunctionStatus, error) {
	p.mu.Lock()
	defer p.mu.Unlock()
	fn, ok := p.fns[key(ns, name)]
	if !ok {
		return api.FunctionStatus{}, api.NotFound("function", name)
	}
	return p.status(fn), nil
}

// Scale records the desired count, then runs OnScale.
func (p *Provider) Scale(_ context.Context, ns, name string, n uint64) error {
	p.mu.Lock()
	fn, ok := p.fns[key(ns, name)]
	if ok {
		fn.Replicas = n
		p.changed(fn)
	}
	p.mu.Unlock()
	if !ok {
		return api.NotFound("function", name)
	}
	if p.OnScale != nil {
		return p.OnScale(ns, name, n)
	}
	return nil
}

// Route returns the function's endpoints while it has replicas desired.
func (p *Provider) Route(ns, name string) (provider.Route, bool) {
	if p.Routed != nil {
		select {
		case p.Routed <- struct{}{}:
		default:
		}
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	fn, ok := p.fns[key(ns, name)]
	if !ok {
		return provider.Route{}, false
	}
	r := provider.Route{Changed: fn.changed, Desired: fn.Replicas, Failure: fn.Failure, Timeout: fn.Timeout}
	if r.Timeout == 0 {
		r.Timeout = provider.TimeoutOf(fn.Deployment.EnvVars)
	}
	if fn.Replicas > 0 {
		r.Endpoints = append([]provider.Endpoint(nil), fn.Endpoints...)
	}
	return r, true
}

// Logs replays stored lines (since/tail/instance) and, with Follow,
// streams new ones until ctx ends.
func (p *Provider) Logs(ctx context.Context, req api.LogRequest) (<-chan api.LogMessage, error) {
	p.mu.Lock()
	p.lastLog = req
	fn, ok := p.fns[key(req.Namespace, req.Name)]
	if !ok {
		p.mu.Unlock()
		return nil, api.NotFound("function", req.Name)
	}
	var lines []api.LogMessage
	for _, m := range fn.Logs {
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
		fn.subs[sub] = struct{}{}
	}
	p.mu.Unlock()
	out := make(chan api.LogMessage)
	go func() {
		defer close(out)
		if sub != nil {
			defer func() { p.mu.Lock(); delete(fn.subs, sub); p.mu.Unlock() }()
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
