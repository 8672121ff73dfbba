package client

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/ferryfaas/ferry/api"
)

// fakeGateway records requests and answers like an OpenFaaS gateway.
type fakeGateway struct {
	mu        sync.Mutex
	reqs      []string
	functions map[string]bool
	artifacts map[string][]byte
}

func (g *fakeGateway) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	body, _ := io.ReadAll(r.Body)
	g.mu.Lock()
	defer g.mu.Unlock()
	g.reqs = append(g.reqs, r.Method+" "+r.URL.RequestURI())
	if strings.HasPrefix(r.URL.Path, "/system/") {
		if u, p, ok := r.BasicAuth(); !ok || u != "admin" || p != "secret" {
			http.Error(w, "unauthorized", http.StatusUnauthorized)
			return
		}
	}
	switch r.Method + " " + r.URL.Path {
	case "GET /system/functions":
		json.NewEncoder(w).Encode([]api.FunctionStatus{{Name: "echo", Image: "echo", Replicas: 1, Namespace: r.URL.Query().Get("namespace")}})
	case "GET /system/function/echo":
		json.NewEncoder(w).Encode(api.FunctionStatus{Name: "echo", Image: "echo", AvailableReplicas: 1})
	case "GET /system/function/nope":
		http.Error(w, `function "nope" not found`+"\nsecond line", http.StatusNotFound)
	case "PUT /system/functions", "POST /system/functions":
		var d api.FunctionDeployment
		if err := json.Unmarshal(body, &d); err != nil || d.Service == "" {
			http.Error(w, "bad body", 400)
			return
		}
		if r.Method == "PUT" && !g.functions[d.Service] {
			http.Error(w, "not found", 404)
			return
		}
		g.functions[d.Service] = true
		w.WriteHeader(http.StatusAccepted)
	case "DELETE /system/functions":
		var d api.DeleteFunctionRequest
		json.Unmarshal(body, &d)
		if d.FunctionName != "echo" {
			http.Error(w, "bad body", 400)
			return
		}
		w.WriteHeader(http.StatusAccepted)
	case "POST /system/scale-function/echo":
		var s api.ScaleServiceRequest
		json.Unmarshal(body, &s)
		if s.ServiceName != "echo" || s.Replicas != 3 {
			http.Error(w, "bad body "+string(body), 400)
			return
		}
		w.WriteHeader(http.StatusAccepted)
	case "GET /system/secrets":
		json.NewEncoder(w).Encode([]api.Secret{{Name: "s1"}})
	case "POST /system/secrets", "PUT /system/secrets", "DELETE /system/secrets":
		var s api.Secret
		json.Unmarshal(body, &s)
		if s.Name != "s1" || (r.Method != "DELETE" && s.Value != "v") {
			http.Error(w, "bad secret "+string(body), 400)
			return
		}
		w.WriteHeader(http.StatusAccepted)
	case "GET /system/namespaces":
		json.NewEncoder(w).Encode([]string{"openfaas-fn", "dev"})
	case "POST /system/namespace/dev", "DELETE /system/namespace/dev":
		w.WriteHeader(http.StatusAccepted)
	case "GET /system/info":
		json.NewEncoder(w).Encode(api.Info{Arch: "x86_64", Version: api.VersionInfo{Release: "1.2.3"}})
	case "GET /system/logs":
		if r.URL.Query().Get("name") != "echo" || r.URL.Query().Get("tail") != "2" {
			http.Error(w, "bad query", 422)
			return
		}
		for i := 0; i < 2; i++ {
			fmt.Fprintf(w, `{"name":"echo","namespace":"openfaas-fn","instance":"1","timestamp":"2026-01-01T00:00:0%dZ","text":"line %d"}`+"\n", i, i)
		}
	case "POST /function/echo/sub", "GET /function/echo.dev":
		w.Header().Set("X-Echo-Query", r.URL.RawQuery)
		w.Header().Set("X-Echo-H", r.Header.Get("X-Test"))
		w.WriteHeader(201)
		w.Write(body)
	case "POST /async-function/echo":
		w.Header().Set("X-Call-Id", "abc")
		w.WriteHeader(http.StatusAccepted)
	case "POST /system/artifacts":
		d := r.Header.Get("X-Artifact-Digest")
		if int64(len(body)) != r.ContentLength {
			http.Error(w, "length mismatch", 400)
			return
		}
		g.artifacts[d] = body
		w.WriteHeader(http.StatusCreated)
	case "GET /healthz":
	default:
		if r.Method == "HEAD" && strings.HasPrefix(r.URL.Path, "/system/artifacts/") {
			if _, ok := g.artifacts[strings.TrimPrefix(r.URL.Path, "/system/artifacts/")]; ok {
				return
			}
		}
		http.Error(w, "no route "+r.Method+" "+r.URL.Path, 404)
	}
}

func newFake(t *testing.T) (*fakeGateway, *Client) {
	g := &fakeGateway{functions: map[string]bool{}, artifacts: map[string][]byte{}}
	srv := httptest.NewServer(g)
	t.Cleanup(srv.Close)
	return g, New(srv.URL+"/", "admin", "secret")
}

func TestFunctionsAPI(t *testing.T) {
	g, c := newFake(t)
	ctx := context.Background()
	fns, err := c.List(ctx, "dev")
	if err != nil || len(fns) != 1 || fns[0].Namespace != "dev" {
		t.Fatalf("List = %+v, %v", fns, err)
	}
	if st, err := c.Get(ctx, "echo", ""); err != nil || st.AvailableReplicas != 1 {
		t.Fatalf("Get = %+v, %v", st, err)
	}
	_, err = c.Get(ctx, "nope", "")
	if !IsNotFound(err) || err.Error() != `gateway answered 404: function "nope" not found` {
		t.Fatalf("Get missing: %v", err)
	}
	created, err := c.Deploy(ctx, api.FunctionDeployment{Service: "echo", Image: "echo"})
	if err != nil || !created {
		t.Fatalf("first Deploy: created=%v err=%v", created, err)
	}
	created, err = c.Deploy(ctx, api.FunctionDeployment{Service: "echo", Image: "echo"})
	if err != nil || created {
		t.Fatalf("second Deploy: created=%v err=%v", created, err)
	}
	if err := c.Scale(ctx, "echo", "", 3); err != nil {
		t.Fatal(err)
	}
	if err := c.Delete(ctx, "echo", ""); err != nil {
		t.Fatal(err)
	}
	info, err := c.Info(ctx)
	if err != nil || info.Version.Release != "1.2.3" {
		t.Fatalf("Info = %+v, %v", info, err)
	}
	want := []string{
		"GET /system/functions?namespace=dev", "GET /system/function/echo", "GET /system/function/nope",
		"PUT /system/functions", "POST /system/functions", "PUT /system/functions",
		"POST /system/scale-function/echo", "DELETE /system/functions", "GET /system/info",
	}
	if strings.Join(g.reqs, "\n") != strings.Join(want, "\n") {
		t.Errorf("requests:\n%s\nwant:\n%s", strings.Join(g.reqs, "\n"), strings.Join(want, "\n"))
	}
}

func TestSecretsNamespaces(t *testing.T) {
	_, c := newFake(t)
	ctx := context.Background()
	if s, err := c.ListSecrets(ctx, ""); err != nil || len(s) != 1 || s[0].Name != "s1" {
		t.Fatalf("ListSecrets = %v, %v", s, err)
	}
	for _, f := range []func() error{
		func() error { return c.CreateSecret(ctx, api.Secret{Name: "s1", Value: "v"}) },
		func() error { return c.UpdateSecret(ctx, api.Secret{Name: "s1", Value: "v"}) },
		func() error { return c.DeleteSecret(ctx, "s1", "") },
		func() error { return c.CreateNamespace(ctx, api.Namespace{Name: "dev"}) },
		func() error { return c.DeleteNamespace(ctx, "dev") },
	} {
		if err := f(); err != nil {
			t.Fatal(err)
		}
	}
	if ns, err := c.ListNamespaces(ctx); err != nil || len(ns) != 2 {
		t.Fatalf("ListNamespaces = %v, %v", ns, err)
	}
}

func TestLogs(t *testing.T) {
	_, c := newFake(t)
	var got []string
	err := c.Logs(context.Background(), api.LogRequest{Name: "echo", Tail: 2}, func(m api.LogMessage) error {
		got = append(got, m.Timestamp.Format(time.RFC3339)+" "+m.Text)
		return nil
	})
	if err != nil || len(got) != 2 || got[1] != "2026-01-01T00:00:01Z line 1" {
		t.Fatalf("Logs = %q, %v", got, err)
	}
	err = c.Logs(context.Background(), api.LogRequest{Name: "other", Tail: -1}, func(api.LogMessage) error { return nil })
	if StatusOf(err) != 422 {
		t.Fatalf("bad query: %v", err)
	}
}

func TestInvoke(t *testing.T) {
	_, c := newFake(t)
	ctx := context.Background()
	res, err := c.Invoke(ctx, InvokeRequest{Name: "echo", Path: "sub", Body: strings.NewReader("hi"),
		Query: map[string][]string{"a": {"1"}}, Header: http.Header{"x-test": {"yes"}}})
	if err != nil || res.Status != 201 || string(res.Body) != "hi" || res.Header.Get("X-Echo-Query") != "a=1" || res.Header.Get("X-Echo-H") != "yes" {
		t.Fatalf("Invoke = %+v, %v", res, err)
	}
	res, err = c.Invoke(ctx, InvokeRequest{Name: "echo", Namespace: "dev", Method: "GET"})
	if err != nil || res.Status != 201 {
		t.Fatalf("Invoke GET ns = %+v, %v", res, err)
	}
	res, err = c.Invoke(ctx, InvokeRequest{Name: "echo", Async: true, Body: strings.NewReader("x")})
	if err != nil || res.Status != 202 || res.Header.Get("X-Call-Id") != "abc" {
		t.Fatalf("async Invoke = %+v, %v", res, err)
	}
}

func TestUploadArtifact(t *testing.T) {
	g, c := newFake(t)
	p := filepath.Join(t.TempDir(), "a.tar.gz")
	os.WriteFile(p, []byte("artifact bytes"), 0o644)
	d, up, err := c.UploadArtifact(context.Background(), p)
	if err != nil || !up || !strings.HasPrefix(d, "sha256:") || string(g.artifacts[d]) != "artifact bytes" {
		t.Fatalf("first upload: %s %v %v", d, up, err)
	}
	d2, up, err := c.UploadArtifact(context.Background(), p)
	if err != nil || up || d2 != d {
		t.Fatalf("second upload should be skipped: %s %v %v", d2, up, err)
	}
	if _, _, err := c.UploadArtifact(context.Background(), p+".missing"); err == nil || !strings.Contains(err.Error(), "ferry build") {
		t.Fatalf("missing artifact: %v", err)
	}
}

func TestErrors(t *testing.T) {
	_, c := newFake(t)
	bad := New(c.Gateway, "admin", "wrong")
	_, err := bad.List(context.Background(), "")
	if want := "authentication failed for " + c.Gateway + ": run `ferry login` or set FERRY_PASSWORD"; err == nil || err.Error() != want {
		t.Fatalf("401: %v\nwant %s", err, want)
	}

	l, _ := net.Listen("tcp", "127.0.0.1:0")
	addr := l.Addr().String()
	l.Close()
	_, err = New("http://"+addr, "admin", "x").List(context.Background(), "")
	if want := "cannot reach gateway at http://" + addr + ": is `ferry serve` running? set --gateway or FERRY_URL"; err == nil || err.Error() != want {
		t.Fatalf("refused: %v\nwant %s", err, want)
	}

	for _, u := range []string{"ftp://x", "http://", "http://host:/", ""} {
		if _, err := New(u, "", "").List(context.Background(), ""); err == nil || !strings.Contains(err.Error(), "gateway") {
			t.Errorf("URL %q: %v", u, err)
		}
	}
	if gw, err := NormalizeGateway("127.0.0.1:8080/"); err != nil || gw != "http://127.0.0.1:8080" {
		t.Errorf("NormalizeGateway = %q, %v", gw, err)
	}
}

func TestTLS(t *testing.T) {
	srv := httptest.NewTLSServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Write([]byte(`{"arch":"x"}`))
	}))
	defer srv.Close()
	c := New(srv.URL, "admin", "p")
	_, err := c.Info(context.Background())
	if err == nil || !strings.Contains(err.Error(), "pass --tls-no-verify") {
		t.Fatalf("self-signed: %v", err)
	}
	c.HTTP.Transport = DefaultTransport(true)
	if info, err := c.Info(context.Background()); err != nil || info.Arch != "x" {
		t.Fatalf("--tls-no-verify: %+v %v", info, err)
	}
}
