package client_test

import (
	"context"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/ferryfaas/ferry/api"
	"github.com/ferryfaas/ferry/client"
	"github.com/ferryfaas/ferry/client/clienttest"
)

// start runs the real gateway over providertest (client/clienttest) and
// returns a client signed in to it.
func start(t *testing.T) (*clienttest.Gateway, *client.Client) {
	t.Helper()
	gw := clienttest.Start(t)
	return gw, client.New(gw.URL+"/", clienttest.User, clienttest.Password)
}

// sent lists the requests the gateway got from index from on, as
// "METHOD URI".
func sent(gw *clienttest.Gateway, from int) []string {
	var out []string
	for _, r := range gw.Requests()[from:] {
		out = append(out, r.Method+" "+r.URI)
	}
	return out
}

func wantSent(t *testing.T, gw *clienttest.Gateway, from int, want ...string) {
	t.Helper()
	if got := sent(gw, from); strings.Join(got, "\n") != strings.Join(want, "\n") {
		t.Errorf("requests:\n%s\nwant:\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"))
	}
}

func TestFunctionsAPI(t *testing.T) {
	gw, c := start(t)
	ctx := context.Background()
	if err := c.CreateNamespace(ctx, api.Namespace{Name: "dev"}); err != nil {
		t.Fatal(err)
	}
	if _, err := c.Deploy(ctx, api.FunctionDeployment{Service: "other", Image: "echo", Namespace: "dev"}); err != nil {
		t.Fatal(err)
	}
	mark := len(gw.Requests())

	fns, err := c.List(ctx, "dev")
	if err != nil || len(fns) != 1 || fns[0].Name != "other" || fns[0].Namespace != "dev" {
		t.Fatalf("List = %+v, %v", fns, err)
	}
	_, err = c.Get(ctx, "nope", "")
	if !client.IsNotFound(err) || err.Error() != `gateway answered 404: function "nope" not found` {
		t.Fatalf("Get missing: %v", err)
	}
	// Deploy tries an update first and creates on a 404.
	created, err := c.Deploy(ctx, api.FunctionDeployment{Service: "echo", Image: "echo"})
	if err != nil || !created {
		t.Fatalf("first Deploy: created=%v err=%v", created, err)
	}
	created, err = c.Deploy(ctx, api.FunctionDeployment{Service: "echo", Image: "echo:2"})
	if err != nil || created {
		t.Fatalf("second Deploy: created=%v err=%v", created, err)
	}
	if st, err := c.Get(ctx, "echo", ""); err != nil || st.Image != "echo:2" || st.AvailableReplicas != 1 {
		t.Fatalf("Get = %+v, %v", st, err)
	}
	if err := c.Scale(ctx, "echo", "", 3); err != nil {
		t.Fatal(err)
	}
	if n := gw.Provider.Replicas(api.DefaultNamespace, "echo"); n != 3 {
		t.Errorf("after Scale(3) the provider holds %d replicas", n)
	}
	if err := c.Delete(ctx, "echo", ""); err != nil {
		t.Fatal(err)
	}
	if _, err := c.Get(ctx, "echo", ""); !client.IsNotFound(err) {
		t.Errorf("Get after Delete: %v, want a 404", err)
	}
	info, err := c.Info(ctx)
	if err != nil || info.Version.Release != "0.0.0-test" || info.Provider.Name == "" {
		t.Fatalf("Info = %+v, %v", info, err)
	}
	wantSent(t, gw, mark,
		"GET /system/functions?namespace=dev", "GET /system/function/nope",
		"PUT /system/functions", "POST /system/functions", "PUT /system/functions", "GET /system/function/echo",
		"POST /system/scale-function/echo", "DELETE /system/functions", "GET /system/function/echo", "GET /system/info",
	)
}

// TestErrorMessage: a gateway's error becomes one line, the first.
func TestErrorMessage(t *testing.T) {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		http.Error(w, "\n"+`function "nope" not found`+"\nsecond line", http.StatusNotFound)
	}))
	defer srv.Close()
	_, err := client.New(srv.URL, "admin", "p").Get(context.Background(), "nope", "")
	if !client.IsNotFound(err) || err.Error() != `gateway answered 404: function "nope" not found` {
		t.Fatalf("Get missing: %v", err)
	}
}

func TestSecretsNamespaces(t *testing.T) {
	gw, c := start(t)
	ctx := context.Background()
	if err := c.CreateSecret(ctx, api.Secret{Name: "s1", Value: "v"}); err != nil {
		t.Fatal(err)
	}
	if s, err := c.ListSecrets(ctx, ""); err != nil || len(s) != 1 || s[0].Name != "s1" || s[0].Value != "" {
		t.Fatalf("ListSecrets = %v, %v (names only)", s, err)
	}
	if err := c.UpdateSecret(ctx, api.Secret{Name: "s1", Value: "v2"}); err != nil {
		t.Fatal(err)
	}
	if v, _ := gw.Provider.SecretValue(api.DefaultNamespace, "s1"); v != "v2" {
		t.Errorf("secret after update = %q, want v2", v)
	}
	if err := c.DeleteSecret(ctx, "s1", ""); err != nil {
		t.Fatal(err)
	}
	if _, ok := gw.Provider.Secret(api.DefaultNamespace, "s1"); ok {
		t.Error("secret still there after DeleteSecret")
	}
	if err := c.CreateNamespace(ctx, api.Namespace{Name: "dev"}); err != nil {
		t.Fatal(err)
	}
	if ns, err := c.ListNamespaces(ctx); err != nil || strings.Join(ns, ",") != "dev,openfaas-fn" && strings.Join(ns, ",") != "openfaas-fn,dev" {
		t.Fatalf("ListNamespaces = %v, %v", ns, err)
	}
	if err := c.DeleteNamespace(ctx, "dev"); err != nil {
		t.Fatal(err)
	}
	if ns, err := c.ListNamespaces(ctx); err != nil || len(ns) != 1 {
		t.Fatalf("ListNamespaces after delete = %v, %v", ns, err)
	}
	wantSent(t, gw, 0,
		"POST /system/secrets", "GET /system/secrets", "PUT /system/secrets", "DELETE /system/secrets",
		"POST /system/namespace/dev", "GET /system/namespaces", "DELETE /system/namespace/dev", "GET /system/namespaces")
}

func TestLogs(t *testing.T) {
	gw, c := start(t)
	ctx := context.Background()
	if _, err := c.Deploy(ctx, api.FunctionDeployment{Service: "echo", Image: "echo"}); err != nil {
		t.Fatal(err)
	}
	for _, s := range []string{"line 0", "line 1", "line 2"} {
		gw.Provider.Log(api.DefaultNamespace, "echo", s)
	}
	mark := len(gw.Requests())
	var got []api.LogMessage
	err := c.Logs(ctx, api.LogRequest{Name: "echo", Tail: 2}, func(m api.LogMessage) error {
		got = append(got, m)
		return nil
	})
	if err != nil || len(got) != 2 || got[0].Text != "line 1" || got[1].Text != "line 2" ||
		got[1].Name != "echo" || got[1].Timestamp.IsZero() || time.Since(got[1].Timestamp) > time.Minute {
		t.Fatalf("Logs = %+v, %v", got, err)
	}
	wantSent(t, gw, mark, "GET /system/logs?follow=false&name=echo&tail=2")
	err = c.Logs(ctx, api.LogRequest{Name: "", Tail: -1}, func(api.LogMessage) error { return nil })
	if client.StatusOf(err) != 422 {
		t.Fatalf("bad query: %v", err)
	}
}

func TestInvoke(t *testing.T) {
	gw, c := start(t)
	ctx := context.Background()
	if err := c.CreateNamespace(ctx, api.Namespace{Name: "dev"}); err != nil {
		t.Fatal(err)
	}
	for _, ns := range []string{"", "dev"} {
		if _, err := c.Deploy(ctx, api.FunctionDeployment{Service: "echo", Image: "echo", Namespace: ns}); err != nil {
			t.Fatal(err)
		}
	}
	mark := len(gw.Requests())
	res, err := c.Invoke(ctx, client.InvokeRequest{Name: "echo", Path: "sub", Body: strings.NewReader("hi"),
		Query: map[string][]string{"a": {"1"}}, Header: http.Header{"x-test": {"yes"}}})
	if err != nil || res.Status != 200 || string(res.Body) != "hi" || res.Header.Get("X-Echo-Method") != "POST" ||
		res.Header.Get("X-Echo-Path") != "/sub" || res.Header.Get("X-Echo-Query") != "a=1" ||
		res.Header.Get("X-Echo-X-Test") != "yes" || res.Header.Get("X-Call-Id") == "" {
		t.Fatalf("Invoke = %+v, %v", res, err)
	}
	res, err = c.Invoke(ctx, client.InvokeRequest{Name: "echo", Namespace: "dev", Method: "GET"})
	if err != nil || res.Status != 200 || res.Header.Get("X-Echo-Method") != "GET" {
		t.Fatalf("Invoke GET ns = %+v, %v", res, err)
	}
	// A function's error status is an answer, not a Go error.
	res, err = c.Invoke(ctx, client.InvokeRequest{Name: "echo", Path: "fail"})
	if err != nil || res.Status != 500 || string(res.Body) != "boom\n" {
		t.Fatalf("Invoke /fail = %+v, %v", res, err)
	}
	// This gateway has no queue: the client hands back its answer.
	res, err = c.Invoke(ctx, client.InvokeRequest{Name: "echo", Async: true, Body: strings.NewReader("x")})
	if err != nil || res.Status != http.StatusNotImplemented || !strings.Contains(string(res.Body), "asynchronous invocation is not enabled") {
		t.Fatalf("async Invoke = %+v, %v", res, err)
	}
	wantSent(t, gw, mark, "POST /function/echo/sub?a=1", "GET /function/echo.dev", "POST /function/echo/fail", "POST /async-function/echo")
}

func TestUploadArtifact(t *testing.T) {
	gw, c := start(t)
	p := filepath.Join(t.TempDir(), "a.tar.gz")
	os.WriteFile(p, []byte("artifact bytes"), 0o644)
	d, up, err := c.UploadArtifact(context.Background(), p)
	if err != nil || !up || !strings.HasPrefix(d, "sha256:") || !gw.Artifacts.Has(d) {
		t.Fatalf("first upload: %s %v %v", d, up, err)
	}
	d2, up, err := c.UploadArtifact(context.Background(), p)
	if err != nil || up || d2 != d || gw.Artifacts.Uploads != 1 {
		t.Fatalf("second upload should be skipped: %s %v %v (%d uploads)", d2, up, err, gw.Artifacts.Uploads)
	}
	if _, _, err := c.UploadArtifact(context.Background(), p+".missing"); err == nil || !strings.Contains(err.Error(), "ferry build") {
		t.Fatalf("missing artifact: %v", err)
	}
	// The upload has a length (not chunked) and its digest.
	for _, r := range gw.Requests() {
		if r.Method == "POST" && (r.ContentLength != int64(len("artifact bytes")) || r.Header.Get("X-Artifact-Digest") != d) {
			t.Errorf("upload sent Content-Length %d, digest %q", r.ContentLength, r.Header.Get("X-Artifact-Digest"))
		}
	}
	wantSent(t, gw, 0, "HEAD /system/artifacts/"+d, "POST /system/artifacts", "HEAD /system/artifacts/"+d)
}

func TestErrors(t *testing.T) {
	gw, _ := start(t)
	bad := client.New(gw.URL, "admin", "wrong")
	_, err := bad.List(context.Background(), "")
	if want := "authentication failed for " + gw.URL + ": run `ferry login` or set FERRY_PASSWORD"; err == nil || err.Error() != want {
		t.Fatalf("401: %v\nwant %s", err, want)
	}

	l, _ := net.Listen("tcp", "127.0.0.1:0")
	addr := l.Addr().String()
	l.Close()
	_, err = client.New("http://"+addr, "admin", "x").List(context.Background(), "")
	if want := "cannot reach gateway at http://" + addr + ": is `ferry serve` running? set --gateway or FERRY_URL"; err == nil || err.Error() != want {
		t.Fatalf("refused: %v\nwant %s", err, want)
	}

	for _, u := range []string{"ftp://x", "http://", "http://host:/", ""} {
		if _, err := client.New(u, "", "").List(context.Background(), ""); err == nil || !strings.Contains(err.Error(), "gateway") {
			t.Errorf("URL %q: %v", u, err)
		}
	}
	if gw, err := client.NormalizeGateway("127.0.0.1:8080/"); err != nil || gw != "http://127.0.0.1:8080" {
		t.Errorf("NormalizeGateway = %q, %v", gw, err)
	}
}

func TestTLS(t *testing.T) {
	srv := httptest.NewTLSServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Write([]byte(`{"arch":"x"}`))
	}))
	defer srv.Close()
	c := client.New(srv.URL, "admin", "p")
	_, err := c.Info(context.Background())
	if err == nil || !strings.Contains(err.Error(), "pass --tls-no-verify") {
		t.Fatalf("self-signed: %v", err)
	}
	c.HTTP.Transport = client.DefaultTransport(true)
	if info, err := c.Info(context.Background()); err != nil || info.Arch != "x" {
		t.Fatalf("--tls-no-verify: %+v %v", info, err)
	}
}
