package clienttest

import (
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"strconv"
	"strings"

	"github.com/ferryfaas/ferry/api"
	"github.com/ferryfaas/ferry/provider"
	"github.com/ferryfaas/ferry/provider/providertest"
)

// NewProvider returns an in-memory provider whose every deployed function
// is an echo server (see the package comment).
func NewProvider() *providertest.Provider {
	return newProvider(func(p *providertest.Provider, d api.FunctionDeployment) http.Handler {
		return echo(p, d.Namespace, d.Service)
	})
}

// newProvider returns an in-memory provider whose deployed functions are
// each an httptest server running replica's handler.
func newProvider(replica func(p *providertest.Provider, d api.FunctionDeployment) http.Handler) *providertest.Provider {
	p := providertest.New()
	p.NewReplica = func(d api.FunctionDeployment) (provider.Endpoint, func()) {
		srv := httptest.NewServer(replica(p, d))
		return provider.Endpoint{Address: strings.TrimPrefix(srv.URL, "http://"), Instance: "1"}, srv.Close
	}
	return p
}

// echo is a function replica: echo the body, log the call.
func echo(p *providertest.Provider, ns, name string) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, _ := io.ReadAll(r.Body)
		p.Log(ns, name, fmt.Sprintf("%s %s %d bytes", r.Method, r.URL.RequestURI(), len(body)))
		if ct := r.Header.Get("Content-Type"); ct != "" {
			w.Header().Set("Content-Type", ct)
		}
		w.Header().Set("X-Echo-Method", r.Method)
		w.Header().Set("X-Echo-Query", r.URL.RawQuery)
		w.Header().Set("X-Echo-Path", r.URL.Path)
		w.Header().Set("X-Echo-Content-Length", strconv.FormatInt(r.ContentLength, 10))
		w.Header().Set("X-Echo-X-Test", r.Header.Get("X-Test"))
		if strings.HasSuffix(r.URL.Path, "/fail") {
			w.WriteHeader(http.StatusInternalServerError)
			io.WriteString(w, "boom\n")
			return
		}
		w.Write(body)
	})
}
