package e2e_test

// This test replays the exact HTTP requests faas-cli (proxy/*.go) and the
// OpenFaaS go-sdk it now uses send, and decodes the answers with their own
// struct shapes (re-declared below from openfaas/faas-provider types and
// openfaas/faas gateway/requests), so that a field renamed or a status code
// changed in Ferry shows up here before a faas-cli user meets it. The real
// faas-cli cannot be installed in this environment (the Go module proxy
// answers 403 for github.com/openfaas/faas-cli and npm has no package).
//
// compatGateway picks the gateway under test: gateway.New over the
// in-memory provider of client/clienttest by default, the real binary
// with FERRY_COMPAT_REAL=1 (the function deployed is fprocess "cat", which
// the process runtime runs without an artifact).

import (
	"bytes"
	"encoding/base64"
	"encoding/json"
	"io"
	"net/http"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/ferryfaas/ferry/client/clienttest"
	"github.com/ferryfaas/ferry/test/harness"
)

// --- faas-cli / faas-provider wire shapes (field names and types as theirs) ---

// fcCreateFunctionRequest is gateway/requests.CreateFunctionRequest as
// faas-cli's deploy sends it: including network and registryAuth, which
// Ferry does not use but must accept.
type fcCreateFunctionRequest struct {
	Service                string               `json:"service"`
	Image                  string               `json:"image"`
	Network                string               `json:"network"`
	EnvProcess             string               `json:"envProcess"`
	EnvVars                map[string]string    `json:"envVars"`
	RegistryAuth           string               `json:"registryAuth,omitempty"`
	Constraints            []string             `json:"constraints"`
	Secrets                []string             `json:"secrets"`
	Labels                 *map[string]string   `json:"labels"`
	Annotations            *map[string]string   `json:"annotations"`
	Limits                 *fcFunctionResources `json:"limits"`
	Requests               *fcFunctionResources `json:"requests"`
	ReadOnlyRootFilesystem bool                 `json:"readOnlyRootFilesystem"`
	Namespace              string               `json:"namespace,omitempty"`
}

type fcFunctionResources struct {
	Memory string `json:"memory,omitempty"`
	CPU    string `json:"cpu,omitempty"`
}

// fcFunctionStatus is faas-provider types.FunctionStatus.
type fcFunctionStatus struct {
	Name                   string               `json:"name"`
	Image                  string               `json:"image"`
	Namespace              string               `json:"namespace,omitempty"`
	EnvProcess             string               `json:"envProcess,omitempty"`
	EnvVars                map[string]string    `json:"envVars,omitempty"`
	Constraints            []string             `json:"constraints,omitempty"`
	Secrets                []string             `json:"secrets,omitempty"`
	Labels                 *map[string]string   `json:"labels,omitempty"`
	Annotations            *map[string]string   `json:"annotations,omitempty"`
	Limits                 *fcFunctionResources `json:"limits,omitempty"`
	Requests               *fcFunctionResources `json:"requests,omitempty"`
	ReadOnlyRootFilesystem bool                 `json:"readOnlyRootFilesystem,omitempty"`
	InvocationCount        float64              `json:"invocationCount,omitempty"`
	Replicas               uint64               `json:"replicas,omitempty"`
	AvailableReplicas      uint64               `json:"availableReplicas,omitempty"`
	CreatedAt              time.Time            `json:"createdAt,omitempty"`
	Usage                  *struct {
		CPU              float64 `json:"cpu,omitempty"`
		TotalMemoryBytes float64 `json:"totalMemoryBytes,omitempty"`
	} `json:"usage,omitempty"`
}

// fcDeleteFunctionRequest is what faas-cli's DeleteFunction sends (the
// namespace goes in the query string, not the body).
type fcDeleteFunctionRequest struct {
	FunctionName string `json:"functionName"`
}

// fcScaleServiceRequest is types.ScaleServiceRequest.
type fcScaleServiceRequest struct {
	ServiceName string `json:"serviceName"`
	Replicas    uint64 `json:"replicas"`
	Namespace   string `json:"namespace,omitempty"`
}

// fcSecret is types.Secret.
type fcSecret struct {
	Name      string `json:"name"`
	Namespace string `json:"namespace,omitempty"`
	Value     string `json:"value,omitempty"`
	RawValue  []byte `json:"rawValue,omitempty"`
}

// fcFunctionNamespace is types.FunctionNamespace.
type fcFunctionNamespace struct {
	Name        string            `json:"name"`
	Annotations map[string]string `json:"annotations,omitempty"`
	Labels      map[string]string `json:"labels,omitempty"`
}

// fcLogMessage is faas-provider logs.Message.
type fcLogMessage struct {
	Name      string    `json:"name"`
	Namespace string    `json:"namespace"`
	Instance  string    `json:"instance"`
	Timestamp time.Time `json:"timestamp"`
	Text      string    `json:"text"`
}

// fcSystemInfo is the go-sdk SystemInfo / gateway info.
type fcSystemInfo struct {
	Arch     string `json:"arch,omitempty"`
	Provider struct {
		Name          string         `json:"provider"`
		Version       *fcVersionInfo `json:"version"`
		Orchestration string         `json:"orchestration"`
	} `json:"provider"`
	Version *fcVersionInfo `json:"version"`
}

type fcVersionInfo struct {
	CommitMessage string `json:"commit_message,omitempty"`
	SHA           string `json:"sha"`
	Release       string `json:"release"`
}

// --- the gateway under test ---

type compatGW struct {
	url, user, password string
	t                   *testing.T
	// secretValue reads a stored secret (in-memory provider only).
	secretValue func(ns, name string) (string, bool)
}

// compatGateway is the gateway under test: the real `ferry serve` (via
// test/harness) when FERRY_COMPAT_REAL=1, a running gateway named by
// FERRY_COMPAT_URL (+ _USER, _PASSWORD), else gateway.New over the
// in-memory provider.
func compatGateway(t *testing.T) *compatGW {
	if u := os.Getenv("FERRY_COMPAT_URL"); u != "" { // an already running gateway
		user := os.Getenv("FERRY_COMPAT_USER")
		if user == "" {
			user = "admin"
		}
		return &compatGW{url: u, user: user, password: os.Getenv("FERRY_COMPAT_PASSWORD"), t: t}
	}
	if os.Getenv("FERRY_COMPAT_REAL") == "1" {
		f := harness.T(t, harness.Options{})
		return &compatGW{url: f.URL, user: f.User, password: f.Password, t: t}
	}
	gw := clienttest.Start(t)
	return &compatGW{url: gw.URL, user: clienttest.User, password: clienttest.Password, t: t, secretValue: gw.Provider.SecretValue}
}

// do sends a request the way faas-cli's proxy.Client does: basic auth
// (unless auth is false), Content-Type application/json when there is a
// body, User-Agent faas-cli/<version>.
func (g *compatGW) do(method, path string, body any, auth bool) (int, http.Header, []byte) {
	g.t.Helper()
	var r io.Reader
	if body != nil {
		b, err := json.Marshal(body)
		if err != nil {
			g.t.Fatal(err)
		}
		r = bytes.NewReader(b)
	}
	req, err := http.NewRequest(method, g.url+path, r)
	if err != nil {
		g.t.Fatal(err)
	}
	if body != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	req.Header.Set("User-Agent", "faas-cli/0.17.0")
	if auth {
		// faas-cli's BasicAuth.Set: "Basic " + base64(user:password).
		req.Header.Set("Authorization", "Basic "+base64.StdEncoding.EncodeToString([]byte(g.user+":"+g.password)))
	}
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		g.t.Fatalf("%s %s: %v", method, path, err)
	}
	defer res.Body.Close()
	b, _ := io.ReadAll(res.Body)
	return res.StatusCode, res.Header, b
}

// want fails unless status is one faas-cli treats as success for this call.
func want(t *testing.T, what string, status int, body []byte, ok ...int) {
	t.Helper()
	for _, s := range ok {
		if status == s {
			return
		}
	}
	t.Fatalf("%s: status %d (faas-cli accepts %v): %s", what, status, ok, strings.TrimSpace(string(body)))
}

func decode(t *testing.T, what string, b []byte, v any) {
	t.Helper()
	if err := json.Unmarshal(b, v); err != nil {
		t.Fatalf("%s: faas-cli could not parse the answer (%v): %s", what, err, b)
	}
}

// --- the replay ---

func TestFaasCLICompat(t *testing.T) {
	g := compatGateway(t)
	const fn = "compat-echo"

	t.Run("auth", func(t *testing.T) {
		st, _, b := g.do("GET", "/system/functions", nil, false)
		// faas-cli prints "unauthorized access, run faas-cli login" on 401.
		want(t, "list without credentials", st, b, http.StatusUnauthorized)
	})

	t.Run("version", func(t *testing.T) {
		st, _, b := g.do("GET", "/system/info", nil, true)
		want(t, "GET /system/info", st, b, http.StatusOK)
		var info fcSystemInfo
		decode(t, "info", b, &info)
		if info.Provider.Name == "" || info.Version == nil || info.Provider.Version == nil {
			t.Fatalf("faas-cli version prints provider name and versions; got %s", b)
		}
	})

	labels := map[string]string{"com.openfaas.scale.max": "5", "team": "compat"}
	annotations := map[string]string{"topic": "orders"}
	deploy := fcCreateFunctionRequest{
		Service: fn, Image: "ghcr.io/openfaas/alpine:latest", Network: "func_functions",
		EnvProcess: compatFprocess, EnvVars: map[string]string{"write_timeout": "10s"},
		RegistryAuth: "dXNlcjpwYXNz", Constraints: []string{}, Secrets: []string{},
		Labels: &labels, Annotations: &annotations,
		Limits: &fcFunctionResources{Memory: "128Mi"}, Requests: &fcFunctionResources{CPU: "100m"},
	}

	t.Run("deploy", func(t *testing.T) {
		// faas-cli deploy: PUT (update) first; on 404 it POSTs.
		st, _, b := g.do("PUT", "/system/functions", deploy, true)
		want(t, "PUT of a new function", st, b, http.StatusNotFound)
		st, _, b = g.do("POST", "/system/functions", deploy, true)
		want(t, "POST /system/functions", st, b, http.StatusOK, http.StatusCreated, http.StatusAccepted)
		// A second deploy is a rolling update: PUT answers 200/201/202.
		deploy.EnvVars["extra"] = "1"
		st, _, b = g.do("PUT", "/system/functions", deploy, true)
		want(t, "PUT of an existing function", st, b, http.StatusOK, http.StatusCreated, http.StatusAccepted)
	})

	t.Run("list", func(t *testing.T) {
		st, _, b := g.do("GET", "/system/functions", nil, true)
		want(t, "GET /system/functions", st, b, http.StatusOK)
		var list []fcFunctionStatus
		decode(t, "list", b, &list)
		var found *fcFunctionStatus
		for i := range list {
			if list[i].Name == fn {
				found = &list[i]
			}
		}
		if found == nil {
			t.Fatalf("%s missing from the list: %s", fn, b)
		}
		if found.Image != deploy.Image || found.Labels == nil || (*found.Labels)["team"] != "compat" {
			t.Errorf("faas-cli list -v shows image and labels; got %+v", *found)
		}
		st, _, b = g.do("GET", "/system/functions?namespace=openfaas-fn", nil, true)
		want(t, "GET /system/functions?namespace=", st, b, http.StatusOK)
	})

	t.Run("describe", func(t *testing.T) {
		st, _, b := g.do("GET", "/system/function/"+fn+"?namespace=openfaas-fn", nil, true)
		want(t, "GET /system/function/NAME", st, b, http.StatusOK)
		var s fcFunctionStatus
		decode(t, "describe", b, &s)
		if s.Name != fn || s.EnvProcess != compatFprocess || s.EnvVars["extra"] != "1" || s.Annotations == nil ||
			(*s.Annotations)["topic"] != "orders" || s.Limits == nil || s.Limits.Memory != "128Mi" || s.CreatedAt.IsZero() {
			t.Errorf("describe fields: %s", b)
		}
		st, _, b = g.do("GET", "/system/function/no-such-fn", nil, true)
		// faas-cli describe prints "No such function" on 404.
		want(t, "describe of a missing function", st, b, http.StatusNotFound)
	})

	t.Run("invoke", func(t *testing.T) {
		// faas-cli invoke always sets Content-Type (default text/plain),
		// sends no credentials, and only accepts 200 for a sync call.
		for _, path := range []string{"/function/" + fn, "/function/" + fn + ".openfaas-fn", "/function/" + fn + "?a=1&b=2"} {
			req, _ := http.NewRequest("POST", g.url+path, strings.NewReader("hello faas-cli"))
			req.Header.Add("Content-Type", "text/plain")
			req.Header.Add("X-Custom", "1")
			res, err := http.DefaultClient.Do(req)
			if err != nil {
				t.Fatal(err)
			}
			b, _ := io.ReadAll(res.Body)
			res.Body.Close()
			want(t, "POST "+path, res.StatusCode, b, http.StatusOK)
			if string(b) != "hello faas-cli" {
				t.Errorf("POST %s answered %q", path, b)
			}
		}
	})

	t.Run("invoke-async", func(t *testing.T) {
		req, _ := http.NewRequest("POST", g.url+"/async-function/"+fn, strings.NewReader("x"))
		req.Header.Add("Content-Type", "text/plain")
		res, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		b, _ := io.ReadAll(res.Body)
		res.Body.Close()
		if res.StatusCode == http.StatusNotImplemented {
			t.Skipf("this gateway has no async queue configured: %s", b)
		}
		// faas-cli prints "Function submitted asynchronously." on 202.
		want(t, "POST /async-function/NAME", res.StatusCode, b, http.StatusAccepted)
	})

	t.Run("logs", func(t *testing.T) {
		// faas-cli's reqAsQueryValues: name, follow, optional instance,
		// since (RFC 3339) and tail (omitted when 0); the go-sdk adds namespace.
		since := time.Now().Add(-time.Hour).Format(time.RFC3339)
		queries := []string{
			"name=" + fn + "&follow=false",
			"name=" + fn + "&follow=false&since=" + since + "&tail=2",
			"name=" + fn + "&namespace=openfaas-fn&follow=false&tail=1",
		}
		// Log lines of the calls above may land a moment after the calls
		// returned: wait (bounded) for the first one.
		deadline := time.Now().Add(5 * time.Second)
		for {
			_, _, b := g.do("GET", "/system/logs?"+queries[0], nil, true)
			if len(bytes.TrimSpace(b)) > 0 || time.Now().After(deadline) {
				break
			}
			time.Sleep(50 * time.Millisecond)
		}
		for _, q := range queries {
			st, h, b := g.do("GET", "/system/logs?"+q, nil, true)
			want(t, "GET /system/logs?"+q, st, b, http.StatusOK)
			dec := json.NewDecoder(bytes.NewReader(b))
			n := 0
			for dec.More() { // exactly how faas-cli reads the stream
				var m fcLogMessage
				if err := dec.Decode(&m); err != nil {
					t.Fatalf("faas-cli: cannot parse log results: %v in %s", err, b)
				}
				if m.Name != fn || m.Timestamp.IsZero() || m.Text == "" {
					t.Errorf("log message %+v", m)
				}
				n++
			}
			if n == 0 {
				t.Errorf("no log lines for %s (content-type %s)", q, h.Get("Content-Type"))
			}
		}
		st, _, b := g.do("GET", "/system/logs?name="+fn+"&tail=x", nil, true)
		want(t, "logs with a bad tail", st, b, http.StatusUnprocessableEntity, http.StatusBadRequest)
	})

	t.Run("scale", func(t *testing.T) {
		st, _, b := g.do("POST", "/system/scale-function/"+fn, fcScaleServiceRequest{ServiceName: fn, Replicas: 2, Namespace: "openfaas-fn"}, true)
		want(t, "POST /system/scale-function/NAME", st, b, http.StatusOK, http.StatusCreated, http.StatusAccepted)
		_, _, b = g.do("GET", "/system/function/"+fn, nil, true)
		var s fcFunctionStatus
		decode(t, "describe after scale", b, &s)
		if s.Replicas != 2 {
			t.Errorf("replicas after scale = %d: %s", s.Replicas, b)
		}
		st, _, b = g.do("POST", "/system/scale-function/no-such-fn", fcScaleServiceRequest{ServiceName: "no-such-fn", Replicas: 1}, true)
		want(t, "scale of a missing function", st, b, http.StatusNotFound)
	})

	t.Run("secrets", func(t *testing.T) {
		st, _, b := g.do("POST", "/system/secrets", fcSecret{Name: "compat-key", Value: "s3cr3t"}, true)
		want(t, "POST /system/secrets", st, b, http.StatusOK, http.StatusCreated, http.StatusAccepted)
		st, _, b = g.do("POST", "/system/secrets", fcSecret{Name: "compat-key", Value: "again"}, true)
		// faas-cli prints "secret with the name ... already exists" on 409.
		want(t, "POST of an existing secret", st, b, http.StatusConflict)
		st, _, b = g.do("POST", "/system/secrets", fcSecret{Name: "compat-raw", RawValue: []byte{0, 1, 2}}, true)
		want(t, "POST of a rawValue secret", st, b, http.StatusOK, http.StatusCreated, http.StatusAccepted)
		// faas-cli secret apply (and create --from-file) send the file
		// twice: trimmed as value and as it is as rawValue; then apply
		// PUTs on a 409. rawValue wins, as in faas-netes.
		st, _, b = g.do("POST", "/system/secrets", fcSecret{Name: "compat-file", Value: "s3cr3t", RawValue: []byte("s3cr3t\n")}, true)
		want(t, "POST with value and rawValue (faas-cli secret apply)", st, b, http.StatusOK, http.StatusCreated, http.StatusAccepted)
		st, _, b = g.do("PUT", "/system/secrets", fcSecret{Name: "compat-file", Value: "n3w", RawValue: []byte("n3w\n")}, true)
		want(t, "PUT with value and rawValue (faas-cli secret apply)", st, b, http.StatusOK, http.StatusAccepted)
		if g.secretValue != nil {
			if v, _ := g.secretValue("openfaas-fn", "compat-file"); v != "n3w\n" {
				t.Errorf("secret from value and rawValue holds %q, want rawValue %q", v, "n3w\n")
			}
		}

		st, _, b = g.do("GET", "/system/secrets", nil, true)
		// faas-cli secret list accepts 200 and 202.
		want(t, "GET /system/secrets", st, b, http.StatusOK, http.StatusAccepted)
		var list []fcSecret
		decode(t, "secret list", b, &list)
		names := map[string]bool{}
		for _, s := range list {
			names[s.Name] = true
			if s.Value != "" || len(s.RawValue) > 0 {
				t.Errorf("secret list leaks a value: %s", b)
			}
		}
		if !names["compat-key"] || !names["compat-raw"] {
			t.Errorf("secret list: %s", b)
		}
		st, _, b = g.do("GET", "/system/secrets?namespace=openfaas-fn", nil, true)
		want(t, "GET /system/secrets?namespace=", st, b, http.StatusOK, http.StatusAccepted)

		// faas-cli secret update accepts only 200 and 202.
		st, _, b = g.do("PUT", "/system/secrets", fcSecret{Name: "compat-key", Value: "n3w"}, true)
		want(t, "PUT /system/secrets", st, b, http.StatusOK, http.StatusAccepted)
		st, _, b = g.do("PUT", "/system/secrets", fcSecret{Name: "no-such-secret", Value: "x"}, true)
		want(t, "PUT of a missing secret", st, b, http.StatusNotFound)

		// faas-cli secret remove accepts only 200 and 202.
		for _, name := range []string{"compat-key", "compat-raw", "compat-file"} {
			st, _, b = g.do("DELETE", "/system/secrets", fcSecret{Name: name}, true)
			want(t, "DELETE /system/secrets", st, b, http.StatusOK, http.StatusAccepted)
		}
		st, _, b = g.do("DELETE", "/system/secrets", fcSecret{Name: "compat-key"}, true)
		want(t, "DELETE of a missing secret", st, b, http.StatusNotFound)
	})

	t.Run("namespaces", func(t *testing.T) {
		st, _, b := g.do("GET", "/system/namespaces", nil, true)
		want(t, "GET /system/namespaces", st, b, http.StatusOK)
		var list []string
		decode(t, "namespace list", b, &list)
		if !contains(list, "openfaas-fn") {
			t.Errorf("namespaces %s lack openfaas-fn", b)
		}
		// The go-sdk (faas-cli namespace create) POSTs to /system/namespace/
		// with the name in the body and openfaas=1 label and annotation.
		ns := fcFunctionNamespace{Name: "compat-ns", Labels: map[string]string{"openfaas": "1"}, Annotations: map[string]string{"openfaas": "1"}}
		st, _, b = g.do("POST", "/system/namespace/", ns, true)
		want(t, "POST /system/namespace/ (go-sdk CreateNamespace)", st, b, http.StatusOK, http.StatusCreated, http.StatusAccepted)
		st, _, b = g.do("GET", "/system/namespace/compat-ns", nil, true)
		want(t, "GET /system/namespace/NS", st, b, http.StatusOK)
		var got fcFunctionNamespace
		decode(t, "namespace get", b, &got)
		if got.Name != "compat-ns" || got.Labels["openfaas"] != "1" {
			t.Errorf("namespace get: %s", b)
		}
		ns.Labels["team"] = "a"
		st, _, b = g.do("PUT", "/system/namespace/compat-ns", ns, true)
		want(t, "PUT /system/namespace/NS", st, b, http.StatusOK, http.StatusCreated, http.StatusAccepted)
		st, _, b = g.do("DELETE", "/system/namespace/compat-ns", fcFunctionNamespace{Name: "compat-ns", Labels: map[string]string{"openfaas": "1"}}, true)
		want(t, "DELETE /system/namespace/NS", st, b, http.StatusOK, http.StatusCreated, http.StatusAccepted)
		st, _, b = g.do("GET", "/system/namespace/compat-ns", nil, true)
		want(t, "GET of a deleted namespace", st, b, http.StatusNotFound)
	})

	t.Run("remove", func(t *testing.T) {
		// faas-cli remove: DELETE with {"functionName"} and ?namespace=.
		st, _, b := g.do("DELETE", "/system/functions?namespace=openfaas-fn", fcDeleteFunctionRequest{FunctionName: fn}, true)
		want(t, "DELETE /system/functions", st, b, http.StatusOK, http.StatusCreated, http.StatusAccepted)
		st, _, b = g.do("DELETE", "/system/functions", fcDeleteFunctionRequest{FunctionName: fn}, true)
		// faas-cli prints "No existing function to remove" on 404.
		want(t, "DELETE of a removed function", st, b, http.StatusNotFound)
		st, _, b = g.do("GET", "/system/function/"+fn, nil, true)
		want(t, "describe after remove", st, b, http.StatusNotFound)
	})
}

// compatFprocess echoes the body and writes one log line per call (for
// the process runtime, which runs it without an artifact).
const compatFprocess = `sh -c 'cat; echo compat-log >&2'`

func contains(list []string, s string) bool {
	for _, l := range list {
		if l == s {
			return true
		}
	}
	return false
}
