package gateway

import (
	"io"
	"net/http"
	"net/http/httptest"
	"testing"

	"github.com/ferryfaas/ferry/provider/providertest"
	"github.com/ferryfaas/ferry/test/harness"
)

// A replica with a Unix socket in its endpoint is called through it by the
// event loops (its TCP address answers otherwise); the other fronts, and
// the loop's fallback, use the TCP address.
func TestInvokeUsesReplicaUnixSocket(t *testing.T) {
	name := harness.ServeUnix(t, &http.Server{Handler: http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		io.WriteString(w, "unix "+r.Header.Get("X-Call-Id"))
	})})
	tcp := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		io.WriteString(w, "tcp "+r.Header.Get("X-Call-Id"))
	}))
	t.Cleanup(tcp.Close)

	fp := providertest.New()
	fp.Add("openfaas-fn", "ux", 1, tcp.Listener.Addr().String())
	fp.Edit("openfaas-fn", "ux", func(fn *providertest.Function) { fn.Endpoints[0].Unix = name })
	_, srv := newTestGateway(t, fp, nil)
	want := "tcp"
	if testFront == "loop" {
		want = "unix"
	}
	res := call(t, "POST", srv.URL+"/function/ux", "x", false, "X-Call-Id", "c-1")
	if res.code != 200 || res.body != want+" c-1" {
		t.Fatalf("front %s: %d %q, want %q", testFront, res.code, res.body, want+" c-1")
	}
}
