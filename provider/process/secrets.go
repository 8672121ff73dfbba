package process

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"os"
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
		gid := -1
		if p.isolate {
			gid = rec.GID
		}
		errs = append(errs, p.writeSecrets(s.Namespace, rec.Deployment.Secrets, p.dirs(s.Namespace, f.name).secrets, gid))
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

// writeSecrets makes dir hold exactly the named secrets. Isolated, the dir
// and its files belong to ferry with the function's group (dir 0750, files
// 0440): the function reads them through the read-only bind at
// /var/openfaas/secrets but owns nothing there, so it cannot leave a link
// for ferry, which writes as root, to follow. Files are created through an
// os.Root with O_EXCL, so a link left in the dir (by an older Ferry, which
// gave the dir to the function) is never followed either. Without
// isolation: dir 0700, files 0400, ferry's own.
func (p *Provider) writeSecrets(namespace string, names []string, dir string, gid int) error {
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return fmt.Errorf("create %s: %w", dir, err)
	}
	// dir's parent is ferry's own (0711), so dir cannot have been swapped
	// for a link; take it back from the function before writing in it.
	dirMode, fileMode := os.FileMode(0o700), os.FileMode(0o400)
	if gid >= 0 {
		dirMode, fileMode = 0o750, 0o440
	}
	if err := os.Lchown(dir, os.Geteuid(), gid); err != nil {
		return fmt.Errorf("chown %s: %w", dir, err)
	}
	if err := os.Chmod(dir, dirMode); err != nil {
		return err
	}
	root, err := os.OpenRoot(dir)
	if err != nil {
		return err
	}
	defer root.Close()
	want := map[string]bool{}
	for _, n := range names {
		want[n] = true
	}
	ents, _ := os.ReadDir(dir)
	for _, e := range ents {
		if !want[e.Name()] {
			root.RemoveAll(e.Name()) // removes a link, never what it points to
		}
	}
	for _, n := range names {
		var rec secretRecord
		if err := p.st.Get(store.Secrets, store.Key(namespace, n), &rec); err != nil {
			return fmt.Errorf("secret %q: %w", n, err)
		}
		// Write beside and rename: a replica never reads a half-written file.
		if err := writeNew(root, "."+n+".tmp", rec.Value, fileMode, gid); err != nil {
			return fmt.Errorf("write secret %q: %w", n, err)
		}
		if err := root.Rename("."+n+".tmp", n); err != nil {
			root.Remove("." + n + ".tmp")
			return err
		}
	}
	return nil
}

// writeNew creates name in root (O_EXCL: never through a link), with mode
// and group gid (when >= 0) set on the open file, and writes b.
func writeNew(root *os.Root, name string, b []byte, mode os.FileMode, gid int) error {
	f, err := root.OpenFile(name, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o400)
	if err != nil {
		return err
	}
	if gid >= 0 {
		err = f.Chown(os.Geteuid(), gid)
	}
	if err == nil {
		err = f.Chmod(mode)
	}
	if err == nil {
		_, err = f.Write(b)
	}
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		root.Remove(name)
	}
	return err
}

// SecretValue reads a secret's value from the store: for a runtime that
// needs one itself (a registry login to pull an image), not for replicas.
func SecretValue(st *store.Store, namespace, name string) ([]byte, error) {
	var rec secretRecord
	if err := st.Get(store.Secrets, store.Key(namespace, name), &rec); err != nil {
		if errors.Is(err, store.ErrNotFound) {
			return nil, api.NotFound("secret", name)
		}
		return nil, err
	}
	return rec.Value, nil
}
