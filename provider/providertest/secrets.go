package providertest

import (
	"context"
	"net/http"
	"sort"

	"github.com/ferryfaas/ferry/api"
)

// ListSecrets returns a namespace's secrets sorted by name, values
// included on purpose: the caller (the gateway) must drop them.
func (p *Provider) ListSecrets(_ context.Context, ns string) ([]api.Secret, error) {
	p.mu.Lock()
	defer p.mu.Unlock()
	out := []api.Secret{}
	for _, s := range p.secrets {
		if s.Namespace == ns {
			out = append(out, s)
		}
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Name < out[j].Name })
	return out, nil
}

// CreateSecret stores a new secret.
func (p *Provider) CreateSecret(_ context.Context, s api.Secret) error {
	p.mu.Lock()
	defer p.mu.Unlock()
	if _, ok := p.secrets[key(s.Namespace, s.Name)]; ok {
		return api.Conflict("secret", s.Name)
	}
	p.secrets[key(s.Namespace, s.Name)] = s
	return nil
}

// UpdateSecret replaces an existing secret.
func (p *Provider) UpdateSecret(_ context.Context, s api.Secret) error {
	p.mu.Lock()
	defer p.mu.Unlock()
	if _, ok := p.secrets[key(s.Namespace, s.Name)]; !ok {
		return api.NotFound("secret", s.Name)
	}
	p.secrets[key(s.Namespace, s.Name)] = s
	return nil
}

// DeleteSecret removes a secret.
func (p *Provider) DeleteSecret(_ context.Context, ns, name string) error {
	p.mu.Lock()
	defer p.mu.Unlock()
	if _, ok := p.secrets[key(ns, name)]; !ok {
		return api.NotFound("secret", name)
	}
	delete(p.secrets, key(ns, name))
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

// DeleteNamespace removes a namespace that has no function left.
func (p *Provider) DeleteNamespace(_ context.Context, name string) error {
	p.mu.Lock()
	defer p.mu.Unlock()
	if _, ok := p.namespaces[name]; !ok {
		return api.NotFound("namespace", name)
	}
	for _, fn := range p.fns {
		if fn.Deployment.Namespace == name {
			return api.Errorf(http.StatusConflict, "namespace %q still has functions: remove them first", name)
		}
	}
	delete(p.namespaces, name)
	return nil
}
