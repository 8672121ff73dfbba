// Package clienttest runs a real Ferry gateway (gateway.New) over an
// in-memory provider (provider/providertest), for tests of the client, the
// CLI and faas-cli compatibility. Each deployed function is an httptest
// server that echoes the request body (path /fail answers 500) and says
// in X-Echo-* headers what it got (method, path, query, length, X-Test),
// and logs one line per call.
package clienttest

import (
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"slices"
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
	Server    *httptest.Server
	Provider  *providertest.Provider
	Artifacts *Artifacts

	mu   sync.Mutex
	reqs []Request
}

// Request is what a client sent, as the gateway received it.
type Request struct {
	Method, URI   string // URI as sent: path and query
	ContentLength int64
	Header        http.Header
}

// Requests returns the requests received so far, in order.
func (g *Gateway) Requests() []Request {
	g.mu.Lock()
	defer g.mu.Unlock()
	return slices.Clone(g.reqs)
}

// record notes each request before the real gateway handles it.
func (g *Gateway) record(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		g.mu.Lock()
		g.reqs = append(g.reqs, Request{Method: r.Method, URI: r.URL.RequestURI(), ContentLength: r.ContentLength, Header: r.Header.Clone()})
		g.mu.Unlock()
		next.ServeHTTP(w, r)
	})
}

// Start runs gateway.New over a fresh Provider on 127.0.0.1 with an
// in-memory artifact store at /system/artifacts, recording each request
// (Requests); everything stops at the end of the test.
func Start(t testing.TB) *Gateway {
	t.Helper()
	return StartWith(t, Options{})
}

// Options change the test gateway, as ferry serve's plugins change its
// own: other replicas, more routes, wrappers around the handler.
type Options struct {
	// Replica, when set, serves each deployed function instead of the echo.
	Replica func(p *providertest.Provider, d api.FunctionDeployment) http.Handler
	// Configure edits the gateway's configuration before it is built
	// (System is already made).
	Configure func(c *gateway.Config)
	// Wrap wraps the gateway's handler (as ferry serve's WrapHandler).
	Wrap func(http.Handler) http.Handler
}

// StartWith is Start with options.
func StartWith(t testing.TB, o Options) *Gateway {
	t.Helper()
	p := NewProvider()
	if o.Replica != nil {
		p = newProvider(o.Replica)
	}
	arts := &Artifacts{blobs: map[string][]byte{}}
	cfg := gateway.Config{
		Provider:    p,
		Credentials: gateway.Credentials{User: User, Password: Password},
		Version:     api.VersionInfo{SHA: "abc123", Release: "0.0.0-test"},
		System: map[string]http.Handler{
			"POST /system/artifacts":          http.HandlerFunc(arts.upload),
			"HEAD /system/artifacts/{digest}": http.HandlerFunc(arts.head),
		},
	}
	if o.Configure != nil {
		o.Configure(&cfg)
	}
	g, err := gateway.New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	gw := &Gateway{Provider: p, Artifacts: arts}
	var h http.Handler = g
	if o.Wrap != nil {
		h = o.Wrap(h)
	}
	gw.Server = httptest.NewServer(gw.record(h))
	gw.URL = gw.Server.URL
	t.Cleanup(func() {
		gw.Server.Close()
		g.Close()
		p.Close(t.Context())
	})
	return gw
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

// upload stores the body, as the process provider does: the digest in
// X-Artifact-Digest is optional and must match when given; the answer is
// 201 with {"digest","size"}.
func (a *Artifacts) upload(w http.ResponseWriter, r *http.Request) {
	b, err := io.ReadAll(r.Body)
	if err != nil {
		http.Error(w, err.Error(), http.StatusBadRequest)
		return
	}
	sum := sha256.Sum256(b)
	d := "sha256:" + hex.EncodeToString(sum[:])
	if want := r.Header.Get("X-Artifact-Digest"); want != "" && want != d {
		http.Error(w, "X-Artifact-Digest does not match the body ("+d+")", http.StatusBadRequest)
		return
	}
	a.mu.Lock()
	a.blobs[d] = b
	a.Uploads++
	a.mu.Unlock()
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(http.StatusCreated)
	json.NewEncoder(w).Encode(map[string]any{"digest": d, "size": len(b)})
}

func (a *Artifacts) head(w http.ResponseWriter, r *http.Request) {
	if !a.Has(r.PathValue("digest")) {
		w.WriteHeader(http.StatusNotFound)
	}
}
