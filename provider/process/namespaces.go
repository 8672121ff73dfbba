package process

import (
	"context"
	"errors"
	"net/http"
	"slices"
	"strings"

	"github.com/ferryfaas/ferry/api"
	"github.com/ferryfaas/ferry/store"
)

func (p *Provider) ensureDefaultNamespace() error {
	def := p.cfg.DefaultNamespace
	if _, err := p.st.GetRaw(store.Namespaces, def); errors.Is(err, store.ErrNotFound) {
		return p.st.Put(store.Namespaces, def, api.Namespace{Name: def})
	} else if err != nil {
		return err
	}
	return nil
}

// needNamespace is 404 for a namespace that does not exist.
func (p *Provider) needNamespace(ns string) error {
	if _, err := p.st.GetRaw(store.Namespaces, ns); err != nil {
		if errors.Is(err, store.ErrNotFound) {
			return api.Errorf(http.StatusNotFound, "namespace %q not found: create it first with `ferry namespace create %s`", ns, ns)
		}
		return err
	}
	return nil
}

// ListNamespaces returns every namespace name, the default one included.
func (p *Provider) ListNamespaces(context.Context) ([]string, error) {
	out := []string{}
	err := p.st.Each(store.Namespaces, "", func(k string, _ []byte) error {
		out = append(out, k)
		return nil
	})
	if !slices.Contains(out, p.cfg.DefaultNamespace) {
		out = append(out, p.cfg.DefaultNamespace)
	}
	slices.Sort(out)
	return out, err
}

// GetNamespace returns a namespace with its labels and annotations.
func (p *Provider) GetNamespace(_ context.Context, name string) (api.Namespace, error) {
	var ns api.Namespace
	if err := p.st.Get(store.Namespaces, name, &ns); err != nil {
		if errors.Is(err, store.ErrNotFound) {
			return ns, api.NotFound("namespace", name)
		}
		return ns, err
	}
	ns.Name = name
	return ns, nil
}

// CreateNamespace adds a namespace; an existing one gives 409.
func (p *Provider) CreateNamespace(_ context.Context, ns api.Namespace) error {
	p.opMu.Lock()
	defer p.opMu.Unlock()
	if _, err := p.st.GetRaw(store.Namespaces, ns.Name); err == nil {
		return api.Conflict("namespace", ns.Name)
	}
	return p.st.Put(store.Namespaces, ns.Name, ns)
}

// UpdateNamespace replaces a namespace's labels and annotations.
func (p *Provider) UpdateNamespace(_ context.Context, ns api.Namespace) error {
	p.opMu.Lock()
	defer p.opMu.Unlock()
	if _, err := p.st.GetRaw(store.Namespaces, ns.Name); err != nil {
		if errors.Is(err, store.ErrNotFound) {
			return api.NotFound("namespace", ns.Name)
		}
		return err
	}
	return p.st.Put(store.Namespaces, ns.Name, ns)
}

// DeleteNamespace removes an empty namespace: 409 while it holds functions
// or secrets; the default namespace cannot be deleted.
func (p *Provider) DeleteNamespace(_ context.Context, name string) error {
	p.opMu.Lock()
	defer p.opMu.Unlock()
	if name == p.cfg.DefaultNamespace {
		return api.BadRequest("namespace %q is the default namespace and cannot be deleted", name)
	}
	if _, err := p.st.GetRaw(store.Namespaces, name); err != nil {
		if errors.Is(err, store.ErrNotFound) {
			return api.NotFound("namespace", name)
		}
		return err
	}
	var fns, secrets []string
	p.st.Each(store.Functions, name+"/", func(k string, _ []byte) error {
		fns = append(fns, strings.TrimPrefix(k, name+"/"))
		return nil
	})
	p.st.Each(store.Secrets, name+"/", func(k string, _ []byte) error {
		secrets = append(secrets, strings.TrimPrefix(k, name+"/"))
		return nil
	})
	if len(fns)+len(secrets) > 0 {
		return api.Errorf(http.StatusConflict, "namespace %q is not empty (functions: %s; secrets: %s): delete them first",
			name, listOrNone(fns), listOrNone(secrets))
	}
	return p.st.Delete(store.Namespaces, name)
}

func listOrNone(s []string) string {
	if len(s) == 0 {
		return "none"
	}
	if len(s) > 10 {
		return strings.Join(s[:10], ", ") + ", ..."
	}
	return strings.Join(s, ", ")
}
