package process

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"time"

	"github.com/ferryfaas/ferry/api"
	"github.com/ferryfaas/ferry/store"
)

// ListSecrets gives names only: values never leave the provider.
func (p *Provider) ListSecrets(_ context.Context, namespace string) ([]api.Secret, error) {
	if err := p.needNamespace(namespace); err != nil {
		return nil, err
	}
	out := []api.Secret{}
	err := p.st.Each(store.Secrets, namespace+"/", func(k string, _ []byte) error {
		out = append(out, api.Secret{Name: strings.TrimPrefix(k, namespace+"/"), Namespace: namespace})
		return nil
	})
	return out, err
}

// CreateSecret stores a new secret; an existing one gives 409.
func (p *Provider) CreateSecret(_ context.Context, s api.Secret) error {
	p.opMu.Lock()
	defer p.opMu.Unlock()
	if err := p.needNamespace(s.Namespace); err != nil {
		return err
	}
	if _, err := p.st.GetRaw(store.Secrets, store.Key(s.Namespace, s.Name)); err == nil {
		return api.Conflict("secret", s.Name)
	}
	return p.st.Put(store.Secrets, store.Key(s.Namespace, s.Name), secretRecord{Value: secretValue(s), CreatedAt: time.Now().UTC()})
}

// UpdateSecret replaces a secret's value and rewrites the copies of the
// functions using it (their replicas see the new file at once).
func (p *Provider) UpdateSecret(_ context.Context, s api.Secret) error {
	p.opMu.Lock()
	defer p.opMu.Unlock()
	var old secretRecord
	if err := p.st.Get(store.Secrets, store.Key(s.Namespace, s.Name), &old); err != nil {
		if errors.Is(err, store.ErrNotFound) {
			return api.NotFound("secret", s.Name)
		}
		return err
	}
	if err := p.st.Put(store.Secrets, store.Key(s.Namespace, s.Name), secretRecord{Value: secretValue(s), CreatedAt: old.CreatedAt}); err != nil {
		return err
	}
	var errs []error
	for _, f := range p.usersOf(s.Namespace, s.Name) {
		rec := f.record()
		uid, gid := -1, -1
		if p.isolate {
			uid, gid = rec.UID, rec.GID
		}
		errs = append(errs, p.writeSecrets(s.Namespace, rec.Deployment.Secrets, p.dirs(s.Namespace, f.name).secrets, uid, gid))
	}
	return errors.Join(errs...)
}

// DeleteSecret removes a secret no function uses; otherwise 409 naming them.
func (p *Provider) DeleteSecret(_ context.Context, namespace, name string) error {
	p.opMu.Lock()
	defer p.opMu.Unlock()
	if _, err := p.st.GetRaw(store.Secrets, store.Key(namespace, name)); err != nil {
		if errors.Is(err, store.ErrNotFound) {
			return api.NotFound("secret", name)
		}
		return err
	}
	if users := p.usersOf(namespace, name); len(users) > 0 {
		names := make([]string, len(users))
		for i, f := range users {
			names[i] = f.name
		}
		slices.Sort(names)
		return api.Errorf(http.StatusConflict, "secret %q is used by function(s) %s: remove it from them first", name, strings.Join(names, ", "))
	}
	return p.st.Delete(store.Secrets, store.Key(namespace, name))
}

func secretValue(s api.Secret) []byte {
	if len(s.RawValue) > 0 {
		return s.RawValue
	}
	return []byte(s.Value)
}

// usersOf lists the functions of a namespace that name a secret.
func (p *Provider) usersOf(namespace, secret string) []*function {
	var out []*function
	for _, f := range p.all() {
		if f.ns == namespace && slices.Contains(f.record().Deployment.Secrets, secret) {
			out = append(out, f)
		}
	}
	return out
}

// missingSecrets checks a deployment's secrets exist (400 naming the first
// one that does not).
func (p *Provider) missingSecrets(d *api.FunctionDeployment) error {
	for _, s := range d.Secrets {
		if _, err := p.st.GetRaw(store.Secrets, store.Key(d.Namespace, s)); err != nil {
			if errors.Is(err, store.ErrNotFound) {
				return api.BadRequest("secret %q not found in namespace %q: create it first with `ferry secret create %s`", s, d.Namespace, s)
			}
			return err
		}
	}
	return nil
}

// writeSecrets makes dir hold exactly the named secrets, one 0400 file
// each, owned by the function's uid (when isolated) so that no other
// function can read them. The watchdog bind-mounts dir read-only at
// /var/openfaas/secrets.
func (p *Provider) writeSecrets(namespace string, names []string, dir string, uid, gid int) error {
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return fmt.Errorf("create %s: %w", dir, err)
	}
	want := map[string]bool{}
	for _, n := range names {
		want[n] = true
		var rec secretRecord
		if err := p.st.Get(store.Secrets, store.Key(namespace, n), &rec); err != nil {
			return fmt.Errorf("secret %q: %w", n, err)
		}
		// Write beside and rename: a replica never reads a half-written file.
		tmp := filepath.Join(dir, "."+n+".tmp")
		if err := os.WriteFile(tmp, rec.Value, 0o400); err != nil {
			os.Remove(tmp)
			return fmt.Errorf("write secret %q: %w", n, err)
		}
		os.Chmod(tmp, 0o400)
		if uid >= 0 {
			if err := os.Chown(tmp, uid, gid); err != nil {
				os.Remove(tmp)
				return fmt.Errorf("chown secret %q: %w", n, err)
			}
		}
		if err := os.Rename(tmp, filepath.Join(dir, n)); err != nil {
			os.Remove(tmp)
			return err
		}
	}
	ents, _ := os.ReadDir(dir)
	for _, e := range ents {
		if !want[e.Name()] {
			os.RemoveAll(filepath.Join(dir, e.Name()))
		}
	}
	mode := os.FileMode(0o700)
	if uid >= 0 {
		mode = 0o500
		if err := os.Chown(dir, uid, gid); err != nil {
			return err
		}
	}
	return os.Chmod(dir, mode)
}
