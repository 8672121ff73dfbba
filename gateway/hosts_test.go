package gateway

import (
	"io"
	"log/slog"
	"net/http"
	"strings"
	"testing"

	"github.com/ferryfaas/ferry/provider/providertest"
)

// A gateway on loopback answers only Hosts that DNS cannot re-point: a web
// page at attacker.example whose name now resolves to 127.0.0.1 gets 421
// for function calls, async calls and the API alike, on every front.
func TestHostGuardDefeatsDNSRebinding(t *testing.T) {
	addr := upstream(t, func(w http.ResponseWriter, r *http.Request) { w.Write([]byte("secret")) })
	for _, front := range []string{"loop", "h1", "http"} {
		t.Run(front, func(t *testing.T) {
			fp := providertest.New()
			fp.Add(ns, "echo", 1, addr)
			g, err := New(Config{Provider: fp, Credentials: Credentials{User: testUser, Password: testPass},
				Log: slog.New(slog.NewTextHandler(io.Discard, nil)), RestrictHosts: true,
				AllowedHosts: []string{"gw.example.com", "*.proxy.example"}})
			if err != nil {
				t.Fatal(err)
			}
			srv := serveFront(t, g, front)
			t.Cleanup(func() { srv.Close(); g.Close() })
			port := srv.URL[strings.LastIndexByte(srv.URL, ':'):]
			for host, want := range map[string]int{
				"attacker.example" + port: 421,
				"attacker.example":        421,
				"localhost.evil.com":      421,
				"evillocalhost" + port:    421,
				"example.com" + port:      421,
				"127.0.0.1" + port:        200,
				"[::1]" + port:            200,
				"localhost" + port:        200,
				"LocalHost.":              200,
				"app.localhost" + port:    200,
				"gw.example.com" + port:   200,
				"GW.example.com":          200,
				"a.proxy.example":         200,
			} {
				for _, path := range []string{"/function/echo", "/system/functions", "/healthz"} {
					req, _ := http.NewRequest("GET", srv.URL+path, nil)
					req.Host = host
					req.SetBasicAuth(testUser, testPass)
					resp, err := http.DefaultClient.Do(req)
					if err != nil {
						t.Fatal(err)
					}
					b, _ := io.ReadAll(resp.Body)
					resp.Body.Close()
					if got := resp.StatusCode; (got == 421) != (want == 421) {
						t.Errorf("Host %q %s: %d %q, want %d", host, path, got, b, want)
					} else if got == 421 && !strings.Contains(string(b), "--allowed-host") {
						t.Errorf("Host %q: 421 body %q does not name --allowed-host", host, b)
					} else if path == "/function/echo" && want == 200 && string(b) != "secret" {
						t.Errorf("Host %q: %d %q", host, got, b)
					}
				}
			}
		})
	}
}

// Without RestrictHosts (a gateway on a public address, reached by many
// names) every Host is answered.
func TestHostGuardOffByDefault(t *testing.T) {
	h, err := newHostGuard(false, nil)
	if err != nil || !h.ok("anything.example:8080") {
		t.Fatalf("%v %v", h, err)
	}
	for _, bad := range []string{"http://gw.example.com", "gw:8080", "a/b", "*", "a.*.b"} {
		if _, err := newHostGuard(false, []string{bad}); err == nil || !strings.Contains(err.Error(), "--allowed-host") {
			t.Errorf("--allowed-host %q: %v", bad, err)
		}
	}
}
