package process

import (
	"context"
	"errors"
	"maps"
	"net/http"
	"os"
	"reflect"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/ferryfaas/ferry/api"
	"github.com/ferryfaas/ferry/store"
)

var errClosed = api.Errorf(http.StatusServiceUnavailable, "the process provider is shutting down")

// Deploy creates a function and starts its replicas (com.openfaas.scale.min
// of them, default 1). Everything is checked before anything is created.
func (p *Provider) Deploy(ctx context.Context, d api.FunctionDeployment) error {
	p.opMu.Lock()
	defer p.opMu.Unlock()
	if p.isClosed() {
		return errClosed
	}
	d = cloneDeployment(d)
	if err := p.needNamespace(d.Namespace); err != nil {
		return api.BadRequest("%w", err)
	}
	key := store.Key(d.Namespace, d.Service)
	if p.lookup(d.Namespace, d.Service) != nil {
		return api.Conflict("function", d.Service)
	}
	if err := p.checkDeployment(&d); err != nil {
		return err
	}
	if err := p.waitCleanup(ctx, key); err != nil {
		return err
	}
	rec := record{Deployment: d, Replicas: initialReplicas(d.Labels), CreatedAt: time.Now().UTC()}
	if err := p.ensureUID(&rec); err != nil {
		return err
	}
	spec, err := p.prepare(&rec, 1)
	if err != nil {
		p.removeDirs(d.Namespace, d.Service)
		return err
	}
	if err := p.putRecord(&rec); err != nil {
		p.removeDirs(d.Namespace, d.Service)
		return err
	}
	p.register(rec, spec)
	return nil
}

// Update replaces the spec; replicas roll over (new ones ready before old
// ones stop). The replica count stays.
func (p *Provider) Update(_ context.Context, d api.FunctionDeployment) error {
	p.opMu.Lock()
	defer p.opMu.Unlock()
	if p.isClosed() {
		return errClosed
	}
	d = cloneDeployment(d)
	f := p.lookup(d.Namespace, d.Service)
	if f == nil {
		return api.NotFound("function", d.Service)
	}
	if err := p.checkDeployment(&d); err != nil {
		return err
	}
	rec := f.record()
	if reflect.DeepEqual(rec.Deployment, d) {
		// Nothing changed (a second `ferry up`, a GitOps re-apply): keep
		// the running replicas instead of rolling them for nothing.
		return nil
	}
	rec.Deployment = d
	if err := p.ensureUID(&rec); err != nil {
		return err
	}
	f.mu.Lock()
	gen := f.spec.gen + 1
	f.mu.Unlock()
	spec, err := p.prepare(&rec, gen)
	if err != nil {
		return err
	}
	if err := p.putRecord(&rec); err != nil {
		return err
	}
	f.setSpec(rec, spec)
	return nil
}

// Delete stops the replicas and removes the function's state, working
// dir, secret copies and logs. The replicas drain in the background; a
// new deploy of the same name waits for that.
func (p *Provider) Delete(_ context.Context, namespace, name string) error {
	p.opMu.Lock()
	defer p.opMu.Unlock()
	if p.isClosed() {
		return errClosed
	}
	f := p.lookup(namespace, name)
	if f == nil {
		return api.NotFound("function", name)
	}
	key := store.Key(namespace, name)
	if err := p.st.Delete(store.Functions, key); err != nil {
		return err
	}
	done := make(chan struct{})
	p.mu.Lock()
	p.setFunctionLocked(namespace, name, nil)
	p.cleaning[key] = done
	p.mu.Unlock()
	f.shutdown()
	uid := f.record().UID
	p.bg.Add(1)
	go func() {
		defer p.bg.Done()
		f.slotW.Wait()
		f.logs.remove()
		gone := p.removeDirs(namespace, name)
		if fg, ok := p.rt.(Forgetter); ok {
			fg.Forget(namespace, name)
		}
		if gone && p.isolate {
			if err := p.freeUID(uid); err != nil {
				p.log.Warn("cannot record a deleted function's uid as free", "uid", uid, "err", err)
			}
		}
		p.mu.Lock()
		delete(p.cleaning, key)
		p.mu.Unlock()
		close(done)
	}()
	return nil
}

// Scale sets the desired replica count (0 allowed).
func (p *Provider) Scale(_ context.Context, namespace, name string, replicas uint64) error {
	p.opMu.Lock()
	defer p.opMu.Unlock()
	if p.isClosed() {
		return errClosed
	}
	f := p.lookup(namespace, name)
	if f == nil {
		return api.NotFound("function", name)
	}
	rec := f.record()
	rec.Replicas = replicas
	if err := p.putRecord(&rec); err != nil {
		return err
	}
	f.setReplicas(replicas)
	return nil
}

// Get returns one function's status.
func (p *Provider) Get(_ context.Context, namespace, name string) (api.FunctionStatus, error) {
	f := p.lookup(namespace, name)
	if f == nil {
		return api.FunctionStatus{}, api.NotFound("function", name)
	}
	st := f.status()
	st.Usage = p.usage([]*function{f})[f]
	return st, nil
}

// List returns the functions of a namespace, sorted by name.
func (p *Provider) List(_ context.Context, namespace string) ([]api.FunctionStatus, error) {
	if err := p.needNamespace(namespace); err != nil {
		return nil, err
	}
	p.mu.RLock()
	fs := slices.Collect(maps.Values(p.fns[namespace]))
	p.mu.RUnlock()
	slices.SortFunc(fs, func(a, b *function) int { return strings.Compare(a.name, b.name) })
	use := p.usage(fs)
	out := make([]api.FunctionStatus, 0, len(fs))
	for _, f := range fs {
		st := f.status()
		st.Usage = use[f]
		out = append(out, st)
	}
	return out, nil
}

// checkDeployment: secrets and artifact must exist (400 naming them).
func (p *Provider) checkDeployment(d *api.FunctionDeployment) error {
	if err := p.missingSecrets(d); err != nil {
		return err
	}
	hex, err := artifactOf(d)
	if err != nil {
		return err
	}
	if hex != "" && !p.hasArtifact(hex) {
		return api.BadRequest("artifact sha256:%s not found: upload it first (POST /system/artifacts)", hex)
	}
	return nil
}

func (p *Provider) register(rec record, spec *runSpec) *function {
	ns, name := rec.Deployment.Namespace, rec.Deployment.Service
	logs := openLogBook(p.path("logs", ns, name+".log"), p.cfg.LogLines, p.cfg.LogFileBytes)
	f := newFunction(p, rec, spec, logs)
	p.mu.Lock()
	p.setFunctionLocked(ns, name, f)
	p.mu.Unlock()
	f.mu.Lock()
	f.reconcileLocked()
	f.mu.Unlock()
	return f
}

// restore brings back every stored function with its replica count. A
// function that cannot be prepared (e.g. its artifact was removed) is kept
// with a failure saying why.
func (p *Provider) restore(ctx context.Context) error {
	recs, err := p.loadRecords()
	if err != nil {
		return err
	}
	p.opMu.Lock()
	defer p.opMu.Unlock()
	p.sweepOrphans(recs)
	for _, rec := range recs {
		if err := ctx.Err(); err != nil {
			return err
		}
		uid := rec.UID
		err := p.ensureUID(&rec)
		if err == nil && rec.UID != uid {
			err = p.putRecord(&rec)
		}
		var spec *runSpec
		if err == nil {
			spec, err = p.prepare(&rec, 1)
		}
		if err != nil {
			p.log.Error("cannot restore function", "function", rec.Deployment.Service, "namespace", rec.Deployment.Namespace, "err", err)
			spec = &runSpec{gen: 1, ver: &Version{Deployment: &rec.Deployment, UID: -1, GID: -1},
				prep: Prepared{Failure: "cannot prepare the function after a restart: " + err.Error()}}
		}
		p.register(rec, spec)
	}
	return nil
}

func (p *Provider) waitCleanup(ctx context.Context, key string) error {
	p.mu.RLock()
	done := p.cleaning[key]
	p.mu.RUnlock()
	if done == nil {
		return nil
	}
	select {
	case <-done:
		return nil
	case <-ctx.Done():
		return api.Errorf(http.StatusConflict, "function %q is still being deleted: try again in a few seconds", key)
	}
}

// sweepOrphans removes what deleted functions left on disk: a delete
// cleans up in the background after its record is gone, and a kill -9 can
// cut that short. Left there, the copies of their secrets would stay on
// disk, and a new function of the same name would show the old one's logs.
// (Their cgroups went with reapStale.)
func (p *Provider) sweepOrphans(recs []record) {
	have := map[string]bool{}
	for _, r := range recs {
		have[r.Deployment.Namespace+"/"+r.Deployment.Service] = true
	}
	removed := 0
	for _, top := range []string{"functions", "run", "logs"} {
		nss, _ := os.ReadDir(p.path(top))
		for _, ns := range nss {
			if !ns.IsDir() {
				continue
			}
			ents, _ := os.ReadDir(p.path(top, ns.Name()))
			for _, e := range ents {
				name := e.Name()
				if top == "logs" { // NAME.log, NAME.log.1
					name, _, _ = strings.Cut(name, ".")
				}
				if !have[ns.Name()+"/"+name] {
					os.RemoveAll(p.path(top, ns.Name(), e.Name()))
					removed++
				}
			}
		}
	}
	if removed > 0 {
		p.log.Info("removed what deleted functions left on disk", "entries", removed)
	}
}

func (p *Provider) removeDirs(ns, name string) (gone bool) {
	d := p.dirs(ns, name)
	return errors.Join(os.RemoveAll(d.code), os.RemoveAll(d.run)) == nil
}

// removeStaleDir deletes a working dir no replica of f uses any more, after
// a rolling update, unless an update in the meantime went back to it.
func (p *Provider) removeStaleDir(f *function, dir string) {
	go func() {
		p.opMu.Lock()
		defer p.opMu.Unlock()
		if p.isClosed() || p.lookup(f.ns, f.name) != f {
			return
		}
		f.mu.Lock()
		inUse := f.spec.prep.Dir == dir || slices.ContainsFunc(f.slots, func(s *slot) bool { return s.spec.prep.Dir == dir })
		f.mu.Unlock()
		if !inUse {
			os.RemoveAll(dir)
			if p.afterStaleRemoval != nil {
				p.afterStaleRemoval(dir)
			}
		}
	}()
}

func (p *Provider) isClosed() bool {
	p.mu.RLock()
	defer p.mu.RUnlock()
	return p.closed
}

// initialReplicas is com.openfaas.scale.min, default 1.
func initialReplicas(labels map[string]string) uint64 {
	if n, err := strconv.ParseUint(labels["com.openfaas.scale.min"], 10, 64); err == nil && n > 0 {
		return min(n, 100)
	}
	return 1
}

func cloneDeployment(d api.FunctionDeployment) api.FunctionDeployment {
	d.EnvVars = maps.Clone(d.EnvVars)
	d.Labels = maps.Clone(d.Labels)
	d.Annotations = maps.Clone(d.Annotations)
	d.Secrets = slices.Clone(d.Secrets)
	d.Constraints = slices.Clone(d.Constraints)
	if d.Limits != nil {
		l := *d.Limits
		l.Extra = maps.Clone(l.Extra)
		d.Limits = &l
	}
	if d.Requests != nil {
		r := *d.Requests
		r.Extra = maps.Clone(r.Extra)
		d.Requests = &r
	}
	return d
}

// ensureUID gives an isolated function its own uid of the data dir's
// block: also when it was deployed by a ferry that did not run as root, or
// that gave uids from a range shared by every data dir (from 200000, before
// the registry). Never root. prepare then hands its dirs to the new uid.
func (p *Provider) ensureUID(rec *record) error {
	if !p.isolate || p.inBlock(rec.UID) {
		return nil
	}
	uid, err := p.allocUID()
	if err != nil {
		return err
	}
	rec.UID, rec.GID = uid, uid
	return nil
}
