package gateway

import (
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"sync/atomic"
	"testing"

	"github.com/ferryfaas/ferry/provider/providertest"
	"github.com/ferryfaas/ferry/test/harness"
)

// A replica with a Unix socket in its endpoint is called through it (its
// TCP address answers otherwise), by the event loops and by the goroutine
// path alike; a socket that cannot be dialled leaves the call to TCP.
func TestInvokeUsesReplicaUnixSocket(t *testing.T) {
	name := harness.ServeUnix(t, &http.Server{Handler: http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		io.WriteString(w, "unix "+r.Header.Get("X-Call-Id"))
	})})
	tcp := httptest.NewUnstartedServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		io.WriteString(w, "tcp "+r.Header.Get("X-Call-Id"))
	}))
	var tcpConns atomic.Int64
	tcp.Config.ConnState = func(_ net.Conn, s http.ConnState) {
		if s == http.StateNew {
			tcpConns.Add(1)
		}
	}
	tcp.Start()
	t.Cleanup(tcp.Close)

	fp := providertest.New()
	fp.Add("openfaas-fn", "ux", 1, tcp.Listener.Addr().String())
	fp.Edit("openfaas-fn", "ux", func(fn *providertest.Function) { fn.Endpoints[0].Unix = name })
	g, srv := newTestGateway(t, fp, nil)
	res := call(t, "POST", srv.URL+"/function/ux", "x", false, "X-Call-Id", "c-1")
	if res.code != 200 || res.body != "unix c-1" {
		t.Fatalf("front %s: %d %q, want %q", testFront, res.code, res.body, "unix c-1")
	}
	// The queue worker's calls take the goroutine path's pooled client.
	local := func(id string) string {
		rw := httptest.NewRecorder()
		g.InvokeLocal(rw, localRequest("POST", "", "X-Call-Id", id), "ux", "openfaas-fn", "", []byte("x"))
		return rw.Body.String()
	}
	for _, id := range []string{"q-1", "q-2"} { // dialled, then pooled
		if got := local(id); got != "unix "+id {
			t.Fatalf("in process: %q, want %q", got, "unix "+id)
		}
	}

	fp.Edit("openfaas-fn", "ux", func(fn *providertest.Function) { fn.Endpoints[0].Unix = "@ferry-test-nobody-" + t.Name() })
	for _, id := range []string{"c-3", "c-4", "c-5"} {
		res = call(t, "POST", srv.URL+"/function/ux", "x", false, "X-Call-Id", id)
		if res.code != 200 || res.body != "tcp "+id {
			t.Fatalf("front %s, no socket: %d %q, want %q", testFront, res.code, res.body, "tcp "+id)
		}
	}
	for _, id := range []string{"q-3", "q-4", "q-5"} {
		if got := local(id); got != "tcp "+id {
			t.Fatalf("in process, no socket: %q, want %q", got, "tcp "+id)
		}
	}
	// The fallback's connections are kept alive and reused: one for the
	// front's calls, one for the in-process ones.
	if n := tcpConns.Load(); n > 2 {
		t.Fatalf("%d TCP connections for six sequential calls after the fallback, want at most 2", n)
	}
}
