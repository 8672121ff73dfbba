package gateway

import (
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"testing"

	"github.com/ferryfaas/ferry/api"
	"github.com/ferryfaas/ferry/provider/providertest"
)

// The fuzz targets run their seed corpora as ordinary tests; run them for
// longer with e.g. `go test -fuzz FuzzInvokePath ./gateway/`.

func fuzzGateway(t testing.TB) *Gateway {
	fp := providertest.New()
	fp.Add(ns, "echo", 0) // scaled to zero: invocations end at once
	g, err := New(Config{Provider: fp, Credentials: Credentials{User: testUser, Password: testPass}})
	if err != nil {
		t.Fatal(err)
	}
	return g
}

func FuzzDeployDecode(f *testing.F) {
	for _, s := range []string{
		`{"service":"echo","image":"img"}`,
		`{"service":"echo","image":"img","namespace":"team-a","envProcess":"cat","envVars":{"A":"1"},"secrets":["s"],"labels":{"com.openfaas.scale.min":"1"},"limits":{"memory":"128Mi","cpu":"500m","nvidia.com/gpu":"1"},"readOnlyRootFilesystem":true}`,
		`{"service":5}`, `{"limits":{"memory":5}}`, `[]`, `null`, `{"service":"a","image":"b"} x`, `{"service":"` + strings.Repeat("a", 70) + `","image":"b"}`,
		`{"service":"a","image":"b","requests":{"cpu":"-1"}}`, "\xff\xfe", `{"envVars":{"":""}}`,
	} {
		f.Add([]byte(s))
	}
	g := fuzzGateway(f)
	r := httptest.NewRequest("POST", "/system/functions", nil)
	f.Fuzz(func(t *testing.T, b []byte) {
		d, err := g.parseDeployment(r, b)
		if err != nil {
			if msg := err.Error(); msg == "" || strings.ContainsAny(errorMessage(err), "\n\r") {
				t.Fatalf("bad message %q", msg)
			}
			return
		}
		if !validName(d.Service) || !validName(d.Namespace) || strings.TrimSpace(d.Image) == "" {
			t.Fatalf("accepted an invalid deployment %+v", d)
		}
	})
}

func FuzzInvokePath(f *testing.F) {
	for _, s := range []string{
		"/function/echo", "/function/echo.openfaas-fn/a/b?x=1", "/function/..%2f", "/function/echo/../../system",
		"/function/", "/function//x", "/function/echo.", "/function/%65cho", "/function/echo%2fx", "/function/a.b.c",
		"/function/echo/%2e%2e/x", "/function/echo//evil.example/x", "/function/" + strings.Repeat("a", 64),
	} {
		f.Add(s)
	}
	g := fuzzGateway(f)
	f.Fuzz(func(t *testing.T, s string) {
		u, err := url.ParseRequestURI(s)
		if err != nil || !strings.HasPrefix(u.Path, "/function/") {
			return
		}
		tg, err := parseInvokePath(u, "/function/", ns, "."+ns)
		if err == nil {
			if !validName(tg.name) || !validName(tg.ns) || !strings.HasPrefix(tg.suffix, "/") || hasDotDot(tg.suffix) {
				t.Fatalf("%q parsed to %+v", s, tg)
			}
			if tg.fn != tg.name+"."+tg.ns {
				t.Fatalf("%q: label %q for %s in %s", s, tg.fn, tg.name, tg.ns)
			}
		}
		// The whole handler must answer without panicking.
		w := httptest.NewRecorder()
		req := &http.Request{Method: "GET", URL: u, RequestURI: s, Header: http.Header{}, Body: http.NoBody, RemoteAddr: "127.0.0.1:1", Host: "gw"}
		g.ServeHTTP(w, req)
		if w.Code < 400 && err != nil {
			t.Fatalf("%q: %d after parse error %v", s, w.Code, err)
		}
	})
}

func FuzzLogQuery(f *testing.F) {
	for _, s := range []string{
		"name=echo", "name=echo&namespace=team-a&tail=10&follow=true&since=2026-01-02T03:04:05Z&instance=abc",
		"name=echo&tail=-1", "name=echo&tail=abc", "name=echo&follow=maybe", "name=echo&since=5m", "name=echo.team-a",
		"name=echo&instance=%00", "name=", "tail=99999999999999999999", "name=echo&since=-5m",
	} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, raw string) {
		q, _ := url.ParseQuery(raw)
		req, err := parseLogQuery(q, ns)
		if err != nil {
			if c := api.StatusOf(err); c != 400 && c != 422 {
				t.Fatalf("%q: status %d", raw, c)
			}
			return
		}
		if !validName(req.Name) || !validName(req.Namespace) || req.Tail < -1 || len(req.Instance) > maxInstanceLength {
			t.Fatalf("%q accepted as %+v", raw, req)
		}
	})
}
