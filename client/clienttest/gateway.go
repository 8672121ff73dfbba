// Package clienttest runs a real Ferry gateway (gateway.New) over an
// in-memory provider (provider/providertest), for tests of the client, the
// CLI and faas-cli compatibility. Each deployed function is an httptest
// server that echoes the request body (path /fail answers 500), and logs
// one line per call.
package clienttest

import (
	"crypto/sha256"
	"encoding/hex"
	"io"
	"net/http"
	"net/http/httptest"
	"sync"
	"testing"

	"github.com/ferryfaas/ferry/api"
	"github.com/ferryfaas/ferry/gateway"
	"github.com/ferryfaas/ferry/provider/providertest"
)

// Credentials of the test gateway.
const (
	User     = "admin"
	Password = "test-password"
)

// Gateway is a running test gateway.
type Gateway struct {
	URL       string
	Provider  *providertest.Provider
	Artifacts *Artifacts
}

// Start runs gateway.New over a fresh Provider on 127.0.0.1 with an
// in-memory artifact store at /system/artifacts; everything stops at the
// end of the test.
func Start(t testing.TB) *Gateway {
	t.Helper()
	p := NewProvider()
	arts := &Artifacts{blobs: map[string][]byte{}}
	g, err := gateway.New(gateway.Config{
		Provider:    p,
		Credentials: gateway.Credentials{User: User, Password: Password},
		Version:     api.VersionInfo{SHA: "abc123", Release: "0.0.0-test"},
		System: map[string]http.Handler{
			"POST /system/artifacts":          http.HandlerFunc(arts.upload),
			"HEAD /system/artifacts/{digest}": http.HandlerFunc(arts.head),
		},
	})
	if err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewServer(g)
	t.Cleanup(func() {
		srv.Close()
		g.Close()
		p.Close(t.Context())
	})
	return &Gateway{URL: srv.URL, Provider: p, Artifacts: arts}
}

// Artifacts is a content-addressed store checking X-Artifact-Digest.
type Artifacts struct {
	mu      sync.Mutex
	blobs   map[string][]byte
	Uploads int
}

// Has reports whether a digest was uploaded.
func (a *Artifacts) Has(digest string) bool {
	a.mu.Lock()
	defer a.mu.Unlock()
	_, ok := a.blobs[digest]
	return ok
}

func (a *Artifacts) upload(w http.ResponseWriter, r *http.Request) {
	b, err := io.ReadAll(r.Body)
	if err != nil {
		http.Error(w, err.Error(), http.StatusBadRequest)
		return
	}
	sum := sha256.Sum256(b)
	d := "sha256:" + hex.EncodeToString(sum[:])
	if r.Header.Get("X-Artifact-Digest") != d {
		http.Error(w, "X-Artifact-Digest does not match the body ("+d+")", http.StatusBadRequest)
		return
	}
	a.mu.Lock()
	a.blobs[d] = b
	a.Uploads++
	a.mu.Unlock()
	w.WriteHeader(http.StatusCreated)
}

func (a *Artifacts) head(w http.ResponseWriter, r *http.Request) {
	if !a.Has(r.PathValue("digest")) {
		w.WriteHeader(http.StatusNotFound)
	}
}
