package gateway

import (
	"github.com/ferryfaas/ferry/provider/providertest"
	"net/http"
	"strings"
	"testing"
)

// TestCrossOriginRefused: a state-changing request that a browser marks as
// made by another page is refused before it reaches a handler, as is a
// form content type; the CLIs' requests (no Origin, no Sec-Fetch-*) and
// the gateway's own pages pass.
func TestCrossOriginRefused(t *testing.T) {
	fp := providertest.New()
	_, srv := newTestGateway(t, fp, func(c *Config) {
		c.TrustedOrigins = []string{"https://admin.example"}
		c.UI = http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { w.Write([]byte("portal")) })
	})
	u := srv.URL
	dep := `{"service":"evil","image":"x","envProcess":"sh -c id"}`
	refused := []struct {
		name string
		hdr  []string
		code int
	}{
		{"other origin", []string{"Origin", "http://evil.example"}, 403},
		{"other port", []string{"Origin", "http://127.0.0.1:1"}, 403},
		{"null origin", []string{"Origin", "null"}, 403},
		{"cross-site fetch", []string{"Sec-Fetch-Site", "cross-site"}, 403},
		{"same-site fetch", []string{"Sec-Fetch-Site", "same-site", "Origin", u}, 403},
		{"foreign referer", []string{"Referer", "http://evil.example/a"}, 403},
		{"text/plain form", []string{"Content-Type", "text/plain"}, 415},
		{"urlencoded form", []string{"Content-Type", "application/x-www-form-urlencoded"}, 415},
		{"multipart form", []string{"Content-Type", "Multipart/Form-Data; boundary=x"}, 415},
	}
	for _, tt := range refused {
		r := call(t, "POST", u+"/system/functions", dep, true, tt.hdr...)
		if r.code != tt.code {
			t.Errorf("%s: %d %q, want %d", tt.name, r.code, r.body, tt.code)
		}
		if tt.code == 403 && !strings.Contains(r.body, "cross-origin") || tt.code == 415 && !strings.Contains(r.body, "application/json") {
			t.Errorf("%s: the refusal does not say why: %q", tt.name, r.body)
		}
	}
	if _, err := fp.Get(t.Context(), ns, "evil"); err == nil {
		t.Fatal("a refused request deployed the function")
	}
	// Refused even without credentials: no challenge to answer.
	expect(t, call(t, "POST", u+"/system/functions", dep, false, "Origin", "http://evil.example"), 403, "cross-origin")
	expect(t, call(t, "DELETE", u+"/ui/x", "", true, "Origin", "http://evil.example"), 403, "cross-origin")
	expect(t, call(t, "POST", u+"/metrics", "", true, "Sec-Fetch-Site", "cross-site"), 403, "cross-origin")
	// Reads stay open (another origin cannot read the answer anyway).
	expect(t, call(t, "GET", u+"/system/functions", "", true, "Origin", "http://evil.example", "Sec-Fetch-Site", "cross-site"), 200, "")
	expect(t, call(t, "GET", u+"/ui/", "", true, "Sec-Fetch-Site", "cross-site"), 200, "portal")
	// Invocations are the functions' business.
	fp.Add(ns, "fn", 1, upstream(t, func(w http.ResponseWriter, r *http.Request) { w.Write([]byte("ran")) }))
	expect(t, call(t, "POST", u+"/function/fn", "x", false, "Origin", "null", "Content-Type", "text/plain"), 200, "ran")

	allowed := []struct {
		name, fn string
		hdr      []string
	}{
		{"faas-cli", "a", []string{"Content-Type", "application/json"}},
		{"no type", "b", nil},
		{"own page", "c", []string{"Origin", u, "Sec-Fetch-Site", "same-origin", "Referer", u + "/ui/", "Content-Type", "application/json"}},
		{"own origin, old browser", "d", []string{"Origin", u, "Content-Type", "application/json"}},
		{"typed URL", "e", []string{"Sec-Fetch-Site", "none"}},
		{"trusted origin", "f", []string{"Origin", "https://admin.example", "Sec-Fetch-Site", "cross-site", "Content-Type", "application/json"}},
		{"own referer", "g", []string{"Referer", u + "/ui/"}},
	}
	for _, tt := range allowed {
		r := call(t, "POST", u+"/system/functions", `{"service":"`+tt.fn+`","image":"x"}`, true, tt.hdr...)
		if r.code != http.StatusAccepted {
			t.Errorf("%s: %d %q, want 202", tt.name, r.code, r.body)
		}
	}
}

func TestTrustedOriginChecked(t *testing.T) {
	_, err := New(Config{Provider: providertest.New(), Credentials: Credentials{User: "a", Password: "b"}, TrustedOrigins: []string{"admin.example/path"}})
	if err == nil || !strings.Contains(err.Error(), "TrustedOrigins") {
		t.Fatalf("a malformed trusted origin: %v", err)
	}
}

// TestFunctionResponsesSandboxed: every front gives function answers the
// sandbox policy (an opaque origin) and nosniff; a function's own policy
// is kept beside it, never instead of it.
func TestFunctionResponsesSandboxed(t *testing.T) {
	page := upstream(t, func(w http.ResponseWriter, r *http.Request) {
		w.Header()["Content-Type"] = nil // as a fork-mode function: no type
		w.Write([]byte("<html><script>fetch('/system/functions')</script></html>"))
	})
	own := upstream(t, func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Security-Policy", "default-src 'self'")
		w.Header().Set("Content-Type", "text/html")
		w.Write([]byte("<html></html>"))
	})
	for _, front := range []string{"loop", "h1", "http"} {
		for _, trusted := range []bool{false, true} {
			fp := providertest.New()
			fp.Add(ns, "page", 1, page)
			fp.Add(ns, "own", 1, own)
			g, err := New(Config{Provider: fp, Credentials: Credentials{User: testUser, Password: testPass}, TrustedFunctionPages: trusted})
			if err != nil {
				t.Fatal(err)
			}
			srv := serveFront(t, g, front)
			for range 2 { // the second call on a kept-alive replica connection
				r := call(t, "GET", srv.URL+"/function/page", "", false)
				csp := r.header.Values("Content-Security-Policy")
				if trusted {
					if len(csp) != 0 {
						t.Errorf("%s, trusted pages: CSP %q", front, csp)
					}
					continue
				}
				if len(csp) != 1 || csp[0] != functionCSP || r.header.Get("X-Content-Type-Options") != "nosniff" {
					t.Errorf("%s: %d CSP %q, X-Content-Type-Options %q", front, r.code, csp, r.header.Get("X-Content-Type-Options"))
				}
				if strings.Contains(strings.Join(csp, ","), "allow-same-origin") {
					t.Errorf("%s: the sandbox keeps the origin", front)
				}
				r = call(t, "GET", srv.URL+"/function/own", "", false)
				if csp := r.header.Values("Content-Security-Policy"); len(csp) != 2 || csp[0] != "default-src 'self'" || csp[1] != functionCSP {
					t.Errorf("%s: a function's own CSP: %q", front, csp)
				}
			}
			srv.Close()
			g.Close()
		}
	}
}
