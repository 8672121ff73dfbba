package process

import (
	"os"
	"path/filepath"
	"time"

	"github.com/ferryfaas/ferry/store"
)

// Artifact garbage collection. Every `ferry up` of a changed function
// uploads a new artifact; the old one is garbage once no function refers
// to it. An unreferenced artifact is kept for ArtifactGrace after it was
// last uploaded or checked (HEAD), since clients upload (or check) first
// and deploy after: the grace covers that gap. Working dirs unpacked from
// an artifact are removed separately, as soon as no replica runs in them
// (removeStaleDir).

// touchArtifact restarts an artifact's grace period (it was just uploaded
// again or checked for a deploy to come).
func (p *Provider) touchArtifact(hex string) {
	p.artMu.Lock()
	defer p.artMu.Unlock()
	var rec artifactRecord
	p.st.Get(store.Artifacts, hex, &rec)
	rec.UsedAt = p.now().UTC()
	p.st.Put(store.Artifacts, hex, rec)
}

// collectArtifacts removes the artifacts no stored function refers to and
// whose grace ran out by now. It holds opMu, so no deploy or update can
// start to use an artifact it is removing.
func (p *Provider) collectArtifacts(now time.Time) (removed int, freed int64, err error) {
	p.opMu.Lock()
	defer p.opMu.Unlock()
	p.artMu.Lock()
	defer p.artMu.Unlock()
	recs, err := p.loadRecords()
	if err != nil {
		return 0, 0, err
	}
	refs := map[string]bool{}
	for i := range recs {
		if hex, err := artifactOf(&recs[i].Deployment); err == nil && hex != "" {
			refs[hex] = true
		}
	}
	dir := p.path("artifacts", "sha256")
	ents, err := os.ReadDir(dir)
	if err != nil {
		return 0, 0, err
	}
	for _, e := range ents {
		hex := e.Name()
		if refs[hex] {
			continue
		}
		fi, err := e.Info()
		if err != nil {
			continue
		}
		var rec artifactRecord
		p.st.Get(store.Artifacts, hex, &rec)
		last := fi.ModTime()
		for _, t := range []time.Time{rec.CreatedAt, rec.UsedAt} {
			if t.After(last) {
				last = t
			}
		}
		if now.Sub(last) < p.cfg.ArtifactGrace {
			continue
		}
		if err := os.Remove(filepath.Join(dir, hex)); err != nil {
			p.log.Warn("artifact gc: cannot remove", "artifact", hex, "err", err)
			continue
		}
		p.st.Delete(store.Artifacts, hex)
		removed++
		freed += fi.Size()
	}
	return removed, freed, nil
}

// runArtifactGC collects at start and then every ArtifactGCInterval until
// stopGC.
func (p *Provider) runArtifactGC() {
	defer close(p.gcDone)
	t := time.NewTicker(p.cfg.ArtifactGCInterval)
	defer t.Stop()
	for {
		if n, freed, err := p.collectArtifacts(time.Now()); err != nil {
			p.log.Warn("artifact gc failed", "err", err)
		} else if n > 0 {
			p.log.Info("removed artifacts no function uses", "count", n, "bytes", freed)
		}
		select {
		case <-p.gcStop:
			return
		case <-t.C:
		}
	}
}

// stopGC ends runArtifactGC and waits for it (before Close takes opMu).
func (p *Provider) stopGC() {
	p.gcOnce.Do(func() { close(p.gcStop) })
	<-p.gcDone
}
