package process

import (
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"strings"

	"github.com/ferryfaas/ferry/api"
	"github.com/ferryfaas/ferry/store"
)

// DigestHeader optionally carries the digest the client computed; the
// upload fails when the body does not match it.
const DigestHeader = "X-Artifact-Digest"

// ArtifactRoutes are mounted behind auth by the gateway: uploading function
// code (a gzip'd tar, stored content-addressed) and checking whether a
// digest is already present so the CLI can skip re-uploads.
func (p *Provider) ArtifactRoutes() map[string]http.Handler {
	return map[string]http.Handler{
		"POST /system/artifacts":          http.HandlerFunc(p.uploadArtifact),
		"HEAD /system/artifacts/{digest}": http.HandlerFunc(p.headArtifact),
	}
}

// parseDigest accepts "sha256:<64 lower-case hex>" and returns the hex.
func parseDigest(s string) (string, bool) {
	h, ok := strings.CutPrefix(s, "sha256:")
	if !ok || len(h) != 64 {
		return "", false
	}
	for _, c := range h {
		if !('0' <= c && c <= '9' || 'a' <= c && c <= 'f') {
			return "", false
		}
	}
	return h, true
}

func (p *Provider) artifactPath(hex string) string { return p.path("artifacts", "sha256", hex) }

// hasArtifact reports whether the index and the file agree it is present.
func (p *Provider) hasArtifact(hex string) bool {
	if _, err := p.st.GetRaw(store.Artifacts, hex); err != nil {
		return false
	}
	_, err := os.Stat(p.artifactPath(hex))
	return err == nil
}

func (p *Provider) headArtifact(w http.ResponseWriter, r *http.Request) {
	hex, ok := parseDigest(r.PathValue("digest"))
	if !ok {
		w.WriteHeader(http.StatusBadRequest)
		return
	}
	if !p.hasArtifact(hex) {
		w.WriteHeader(http.StatusNotFound)
		return
	}
	p.touchArtifact(hex) // a deploy of it is likely to follow
	w.WriteHeader(http.StatusOK)
}

type uploadResult struct {
	Digest string `json:"digest"`
	Size   int64  `json:"size"`
}

func (p *Provider) uploadArtifact(w http.ResponseWriter, r *http.Request) {
	res, err := p.storeArtifact(r.Body, r.ContentLength, r.Header.Get(DigestHeader))
	if err != nil {
		writeError(w, err)
		return
	}
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(http.StatusCreated)
	json.NewEncoder(w).Encode(res)
}

func writeError(w http.ResponseWriter, err error) {
	w.Header().Set("Content-Type", "text/plain; charset=utf-8")
	w.Header().Set("X-OpenFaaS-Internal", "ferry-process")
	w.WriteHeader(api.StatusOf(err))
	fmt.Fprintln(w, err.Error())
}

// storeArtifact streams body to a temp file while hashing it, checks the
// archive is one the runtime will unpack, then moves it into place.
func (p *Provider) storeArtifact(body io.Reader, length int64, want string) (uploadResult, error) {
	limit := p.cfg.MaxArtifactBytes
	tooBig := api.Errorf(http.StatusRequestEntityTooLarge, "artifact is larger than the %d byte limit: make it smaller (leave build outputs and dependencies that can be fetched out)", limit)
	if length > limit {
		return uploadResult{}, tooBig
	}
	var wantHex string
	if want != "" {
		h, ok := parseDigest(want)
		if !ok {
			return uploadResult{}, api.BadRequest("header %s: %q is not a digest like sha256:<64 hex digits>", DigestHeader, short(want))
		}
		wantHex = h
	}
	tmp, err := os.CreateTemp(p.path("artifacts", "tmp"), "upload-*")
	if err != nil {
		return uploadResult{}, fmt.Errorf("store artifact: %w", err)
	}
	defer os.Remove(tmp.Name())
	defer tmp.Close()
	h := sha256.New()
	n, err := io.Copy(io.MultiWriter(tmp, h), io.LimitReader(body, limit+1))
	if err != nil {
		return uploadResult{}, api.BadRequest("reading the artifact upload failed: %w", err)
	}
	if n > limit {
		return uploadResult{}, tooBig
	}
	if n == 0 {
		return uploadResult{}, api.BadRequest("artifact is empty: send a gzip'd tar of the function's code as the body")
	}
	sum := hex.EncodeToString(h.Sum(nil))
	if wantHex != "" && wantHex != sum {
		return uploadResult{}, api.BadRequest("artifact digest mismatch: header %s says sha256:%s but the body is sha256:%s; upload again", DigestHeader, wantHex, sum)
	}
	res := uploadResult{Digest: "sha256:" + sum, Size: n}
	if p.hasArtifact(sum) {
		p.touchArtifact(sum)
		return res, nil
	}
	if _, err := tmp.Seek(0, io.SeekStart); err != nil {
		return uploadResult{}, err
	}
	if err := extract(tmp, nil, p.limits()); err != nil {
		return uploadResult{}, err
	}
	if err := tmp.Sync(); err != nil {
		return uploadResult{}, err
	}
	p.artMu.Lock() // (a collection must see the file and its record together)
	defer p.artMu.Unlock()
	if err := os.Rename(tmp.Name(), p.artifactPath(sum)); err != nil {
		return uploadResult{}, fmt.Errorf("store artifact: %w", err)
	}
	if err := p.st.Put(store.Artifacts, sum, artifactRecord{Size: n, CreatedAt: p.now().UTC()}); err != nil {
		return uploadResult{}, err
	}
	return res, nil
}

func (p *Provider) limits() extractLimits {
	return extractLimits{maxBytes: p.cfg.MaxExtractBytes, maxFiles: 100000}
}

// unpack extracts an artifact into dir (once: an existing dir is complete,
// since it is only ever created by a rename), owned by uid/gid if >= 0.
func (p *Provider) unpack(hex, dir string, uid, gid int) error {
	if fi, err := os.Stat(dir); err == nil {
		if uid >= 0 && !ownedBy(fi, uid) {
			// Unpacked by a ferry that ran without isolation: hand it over.
			return chownTree(dir, uid, gid)
		}
		return nil
	}
	f, err := os.Open(p.artifactPath(hex))
	if err != nil {
		return api.BadRequest("artifact sha256:%s is not on this server: upload it first (POST /system/artifacts)", hex)
	}
	defer f.Close()
	tmp, err := os.MkdirTemp(filepath.Dir(dir), ".unpack-*")
	if err != nil {
		return err
	}
	defer os.RemoveAll(tmp)
	root, err := os.OpenRoot(tmp)
	if err != nil {
		return err
	}
	err = extract(f, root, p.limits())
	root.Close()
	if err != nil {
		return err
	}
	if uid >= 0 {
		if err := chownTree(tmp, uid, gid); err != nil {
			return err
		}
	}
	if err := os.Chmod(tmp, 0o700); err != nil {
		return err
	}
	if err := os.Rename(tmp, dir); err != nil && !errors.Is(err, os.ErrExist) {
		return fmt.Errorf("install the working dir: %w", err)
	}
	return nil
}

func chownTree(dir string, uid, gid int) error {
	err := filepath.WalkDir(dir, func(path string, _ os.DirEntry, err error) error {
		if err != nil {
			return err
		}
		return os.Lchown(path, uid, gid)
	})
	if err != nil {
		return fmt.Errorf("chown the working dir: %w", err)
	}
	return nil
}
