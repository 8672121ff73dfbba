package gateway

import (
	"context"
	"encoding/json"
	"io"
	"net/http"
	"strings"
	"testing"

	"github.com/ferryfaas/ferry/api"
	"github.com/ferryfaas/ferry/provider/providertest"
)

func TestFunctionCRUD(t *testing.T) {
	fp := providertest.New()
	_, srv := newTestGateway(t, fp, func(c *Config) {
		c.Decorate = func(ctx context.Context, st *api.FunctionStatus) { st.InvocationCount = 42 }
	})
	u := srv.URL
	dep := `{"service":"echo","image":"ghcr.io/x/echo:1","envProcess":"cat","extraField":{"faas-cli":"sends these"}}`

	// faas-cli deploy: PUT first, POST on 404.
	expect(t, call(t, "PUT", u+"/system/functions", dep, true), 404, "not found")
	expect(t, call(t, "POST", u+"/system/functions", dep, true), 202, "")
	expect(t, call(t, "POST", u+"/system/functions", dep, true), 409, "already exists")
	expect(t, call(t, "PUT", u+"/system/functions", dep, true), 202, "")

	r := call(t, "GET", u+"/system/functions", "", true)
	expect(t, r, 200, `"name":"echo"`)
	var list []api.FunctionStatus
	if err := json.Unmarshal([]byte(r.body), &list); err != nil || len(list) != 1 || list[0].InvocationCount != 42 {
		t.Fatalf("list %q: %v (Decorate must run)", r.body, err)
	}
	if ct := r.header.Get("Content-Type"); ct != "application/json" {
		t.Fatalf("content type %q", ct)
	}
	expect(t, call(t, "GET", u+"/system/functions?namespace=other", "", true), 200, "[]")

	expect(t, call(t, "GET", u+"/system/function/echo", "", true), 200, `"invocationCount":42`)
	expect(t, call(t, "GET", u+"/system/function/echo?namespace=openfaas-fn", "", true), 200, `"name":"echo"`)
	expect(t, call(t, "GET", u+"/system/function/echo.openfaas-fn", "", true), 200, `"name":"echo"`)
	expect(t, call(t, "GET", u+"/system/function/nope", "", true), 404, "not found")

	expect(t, call(t, "POST", u+"/system/scale-function/echo", `{"serviceName":"echo","replicas":3}`, true), 202, "")
	if st, _ := fp.Get(context.Background(), api.DefaultNamespace, "echo"); st.Replicas != 3 {
		t.Fatalf("replicas %d, want 3", st.Replicas)
	}
	expect(t, call(t, "POST", u+"/system/scale-function/echo", `{"replicas":0,"namespace":"openfaas-fn"}`, true), 202, "")
	expect(t, call(t, "POST", u+"/system/scale-function/nope", `{"replicas":1}`, true), 404, "not found")

	expect(t, call(t, "DELETE", u+"/system/functions", `{"functionName":"echo"}`, true), 202, "")
	expect(t, call(t, "DELETE", u+"/system/functions", `{"functionName":"echo"}`, true), 404, "not found")
}

func TestSecretsNeverReturnValues(t *testing.T) {
	fp := providertest.New()
	_, srv := newTestGateway(t, fp, nil)
	u := srv.URL + "/system/secrets"
	expect(t, call(t, "POST", u, `{"name":"db-pass","value":"hunter2"}`, true), 202, "")
	expect(t, call(t, "POST", u, `{"name":"db-pass","value":"hunter2"}`, true), 409, "already exists")
	expect(t, call(t, "POST", u, `{"name":"raw","rawValue":"aHVudGVyMg=="}`, true), 202, "")
	expect(t, call(t, "PUT", u, `{"name":"db-pass","value":"hunter3"}`, true), 202, "")
	expect(t, call(t, "PUT", u, `{"name":"absent","value":"x"}`, true), 404, "not found")
	r := call(t, "GET", u, "", true)
	expect(t, r, 200, `"name":"db-pass"`)
	if strings.Contains(r.body, "hunter") || strings.Contains(r.body, "aHVudGVy") || strings.Contains(r.body, "value") {
		t.Fatalf("secret list leaks values: %s", r.body)
	}
	expect(t, call(t, "DELETE", u, `{"name":"db-pass"}`, true), 202, "")
	expect(t, call(t, "DELETE", u, `{"name":"db-pass"}`, true), 404, "not found")
	expect(t, call(t, "GET", u+"?namespace=other", "", true), 200, "[]")
}

func TestNamespaces(t *testing.T) {
	fp := providertest.New()
	_, srv := newTestGateway(t, fp, nil)
	u := srv.URL
	expect(t, call(t, "POST", u+"/system/namespace/team-a", `{"labels":{"team":"a"}}`, true), 201, "")
	expect(t, call(t, "POST", u+"/system/namespace/team-b", "", true), 201, "")
	expect(t, call(t, "POST", u+"/system/namespace/team-a", "", true), 409, "already exists")
	expect(t, call(t, "GET", u+"/system/namespaces", "", true), 200, `["openfaas-fn","team-a","team-b"]`)
	expect(t, call(t, "GET", u+"/system/namespace/team-a", "", true), 200, `"team":"a"`)
	expect(t, call(t, "PUT", u+"/system/namespace/team-a", `{"name":"team-a","labels":{"team":"aa"}}`, true), 202, "")
	expect(t, call(t, "GET", u+"/system/namespace/team-a", "", true), 200, `"team":"aa"`)
	expect(t, call(t, "PUT", u+"/system/namespace/team-a", `{"name":"team-b"}`, true), 400, "does not match")
	expect(t, call(t, "DELETE", u+"/system/namespace/team-b", "", true), 202, "")
	// go-sdk style: the name in the body.
	expect(t, call(t, "POST", u+"/system/namespace/", `{"name":"team-c","labels":{"openfaas":"1"}}`, true), 201, "")
	expect(t, call(t, "GET", u+"/system/namespace/team-c", "", true), 200, `"openfaas":"1"`)
	expect(t, call(t, "POST", u+"/system/namespace/", `{}`, true), 400, `field "name"`)
	expect(t, call(t, "DELETE", u+"/system/namespace/", `{"name":"team-c"}`, true), 202, "")
	expect(t, call(t, "GET", u+"/system/namespace/team-b", "", true), 404, "not found")
}

func TestInfoHealthAndMounts(t *testing.T) {
	fp := providertest.New()
	mark := func(s string) http.Handler {
		return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { w.Write([]byte(s)) })
	}
	_, srv := newTestGateway(t, fp, func(c *Config) {
		c.Version = api.VersionInfo{SHA: "deadbeef", Release: "1.2.3"}
		c.UI = mark("portal")
		c.Metrics = mark("gateway_function_invocation_total 1")
		c.Alert = mark("alert ok")
		c.Async = mark("queued")
		c.System = map[string]http.Handler{"GET /system/queue/dead-letters": mark("dead letters")}
	})
	u := srv.URL
	r := call(t, "GET", u+"/system/info", "", true)
	expect(t, r, 200, `"sha":"deadbeef"`)
	var info api.Info
	if err := json.Unmarshal([]byte(r.body), &info); err != nil || info.Provider.Name != "memory" || info.Version.Release != "1.2.3" || info.Arch == "" {
		t.Fatalf("info %s: %v", r.body, err)
	}
	expect(t, call(t, "GET", u+"/healthz", "", false), 200, "OK")
	expect(t, call(t, "GET", u+"/metrics", "", true), 200, "gateway_function_invocation_total")
	expect(t, call(t, "GET", u+"/metrics", "", false), 401, "authentication required")
	expect(t, call(t, "GET", u+"/ui/", "", true), 200, "portal")
	expect(t, call(t, "GET", u+"/ui/", "", false), 401, "authentication required")
	expect(t, call(t, "POST", u+"/system/alert", `{}`, true), 200, "alert ok")
	expect(t, call(t, "GET", u+"/system/queue/dead-letters", "", true), 200, "dead letters")
	expect(t, call(t, "GET", u+"/system/queue/dead-letters", "", false), 401, "")
	expect(t, call(t, "POST", u+"/async-function/echo", "x", false), 200, "queued")
	expect(t, call(t, "POST", u+"/async-function/..%2fsystem", "x", false), 400, "invalid")
	r = call(t, "GET", u+"/", "", false)
	if r.code != http.StatusFound || r.header.Get("Location") != "/ui/" {
		t.Fatalf("/ answered %d Location %q, want a redirect to /ui/", r.code, r.header.Get("Location"))
	}
}

func TestFeaturesOff(t *testing.T) {
	_, srv := newTestGateway(t, providertest.New(), nil)
	u := srv.URL
	expect(t, call(t, "POST", u+"/async-function/echo", "x", false), 501, "not enabled")
	expect(t, call(t, "GET", u+"/ui/", "", true), 404, "portal is not enabled")
	expect(t, call(t, "GET", u+"/metrics", "", true), 404, "metrics are not enabled")
	expect(t, call(t, "POST", u+"/system/alert", "{}", true), 404, "not enabled")
}

func TestNewRejectsBadConfig(t *testing.T) {
	fp := providertest.New()
	creds := Credentials{User: "a", Password: "b"}
	cases := map[string]Config{
		"no provider":       {Credentials: creds},
		"no password":       {Provider: fp, Credentials: Credentials{User: "a"}},
		"bad namespace":     {Provider: fp, Credentials: creds, DefaultNamespace: "Bad_NS"},
		"system not system": {Provider: fp, Credentials: creds, System: map[string]http.Handler{"GET /open": http.NotFoundHandler()}},
		"duplicate route":   {Provider: fp, Credentials: creds, System: map[string]http.Handler{"GET /system/functions": http.NotFoundHandler()}},
	}
	for name, cfg := range cases {
		if _, err := New(cfg); err == nil {
			t.Errorf("%s: New accepted it", name)
		}
	}
}

func TestAuth(t *testing.T) {
	_, srv := newTestGateway(t, providertest.New(), nil)
	u := srv.URL
	for _, path := range []string{"/system/functions", "/system/info", "/system/nothing-here", "/ui/", "/x/../system/functions"} {
		r := call(t, "GET", u+path, "", false)
		if r.code != 401 || r.header.Get("WWW-Authenticate") != `Basic realm="ferry"` {
			t.Errorf("%s without auth: %d %q", path, r.code, r.header.Get("WWW-Authenticate"))
		}
	}
	req, _ := http.NewRequest("GET", u+"/system/functions", nil)
	req.SetBasicAuth(testUser, "wrong")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != 401 {
		t.Fatalf("wrong password: %d", resp.StatusCode)
	}
	req.SetBasicAuth("root", testPass)
	resp, _ = http.DefaultClient.Do(req)
	resp.Body.Close()
	if resp.StatusCode != 401 {
		t.Fatalf("wrong user: %d", resp.StatusCode)
	}
	expect(t, call(t, "GET", u+"/healthz", "", false), 200, "OK")
	expect(t, call(t, "GET", u+"/function/absent", "", false), 404, "function absent not found in namespace openfaas-fn")
}

func TestPanicIsRecovered(t *testing.T) {
	fp := providertest.New()
	fp.ListPanics.Store(true)
	_, srv := newTestGateway(t, fp, nil)
	expect(t, call(t, "GET", srv.URL+"/system/functions", "", true), 500, "internal error")
	fp.ListPanics.Store(false)
	expect(t, call(t, "GET", srv.URL+"/system/functions", "", true), 200, "[]")
}

func TestDrainEndsFollowAndHealth(t *testing.T) {
	fp := providertest.New()
	fp.Add(ns, "echo", 1)
	// No line is printed: the follow stream stays open until the drain.
	g, srv := newTestGateway(t, fp, nil)
	req, _ := http.NewRequest("GET", srv.URL+"/system/logs?name=echo&follow=true", nil)
	req.SetBasicAuth(testUser, testPass)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	g.Drain()
	if b, err := io.ReadAll(resp.Body); err != nil || len(b) != 0 {
		t.Fatalf("follow stream after Drain: %q %v", b, err)
	}
	expect(t, call(t, "GET", srv.URL+"/healthz", "", false), 503, "shutting down")
}
