package gateway

import (
	"strings"
	"testing"
)

// TestBadInputs is the table of inputs the gateway must refuse, each with
// its status and a piece of the one-line message that says what is wrong.
func TestBadInputs(t *testing.T) {
	fp := newFake()
	fp.addFunction(ns, "echo", 1)
	_, srv := newTestGateway(t, fp, func(c *Config) { c.MaxBodyBytes = 4096 })
	long := strings.Repeat("a", 64)
	dep := func(extra string) string { return `{"service":"fn1","image":"img"` + extra + `}` }
	cases := []struct {
		name, method, path, body string
		noAuth                   bool
		code                     int
		msg                      string
	}{
		// Invocation paths.
		{"upper-case name", "GET", "/function/Echo", "", false, 400, "RFC 1123"},
		{"encoded dot-dot slash", "GET", "/function/..%2f", "", false, 400, "invalid"},
		{"encoded dot-dot to system", "GET", "/function/..%2fsystem%2ffunctions", "", false, 400, "invalid"},
		{"dot-dot in the path", "GET", "/function/echo/../../system/functions", "", false, 400, "'..'"},
		{"encoded dot-dot in the path", "GET", "/function/echo/%2e%2e/x", "", false, 400, "'..'"},
		{"name too long", "GET", "/function/" + long, "", false, 400, "the limit is 63"},
		{"empty name", "GET", "/function/", "", false, 400, "function name is required"},
		{"trailing dot", "GET", "/function/echo.", "", false, 400, "ends with a dot"},
		{"bad namespace in name", "GET", "/function/echo.Bad_NS", "", false, 400, "namespace name"},
		{"leading hyphen", "GET", "/function/-echo", "", false, 400, "RFC 1123"},
		{"NUL in name", "GET", "/function/echo%00", "", false, 400, "invalid"},
		{"unknown function", "GET", "/function/unknown", "", false, 404, "function unknown not found in namespace openfaas-fn"},
		{"unknown namespace", "GET", "/function/echo.other", "", false, 404, "not found in namespace other"},

		// Deploy bodies.
		{"truncated JSON", "POST", "/system/functions", `{"service":`, false, 400, "malformed JSON"},
		{"trailing garbage", "POST", "/system/functions", dep("") + " x", false, 400, "malformed JSON at byte"},
		{"service is a number", "POST", "/system/functions", `{"service":5,"image":"x"}`, false, 400, `field "service"`},
		{"missing image", "POST", "/system/functions", `{"service":"fn1"}`, false, 400, `field "image"`},
		{"missing service", "POST", "/system/functions", `{"image":"x"}`, false, 400, `field "service"`},
		{"body is an array", "POST", "/system/functions", `[]`, false, 400, "must be a FunctionDeployment"},
		{"empty body", "POST", "/system/functions", "", false, 400, "request body is empty"},
		{"oversized body", "POST", "/system/functions", dep(`,"envProcess":"` + strings.Repeat("x", 5000) + `"`), false, 413, "larger than the limit of 4096 bytes"},
		{"bad body namespace", "POST", "/system/functions", dep(`,"namespace":"a_b"`), false, 400, "namespace"},
		{"namespaces disagree", "POST", "/system/functions?namespace=team-a", dep(`,"namespace":"team-b"`), false, 400, "disagree"},
		{"limits not strings", "POST", "/system/functions", dep(`,"limits":{"memory":5}`), false, 400, `field "limits"`},
		{"bad memory quantity", "POST", "/system/functions", dep(`,"limits":{"memory":"lots"}`), false, 400, "limits.memory"},
		{"bad env var name", "POST", "/system/functions", dep(`,"envVars":{"1BAD":"x"}`), false, 400, `field "envVars"`},
		{"env var not a string", "POST", "/system/functions", dep(`,"envVars":{"A":1}`), false, 400, `field "envVars"`},
		{"bad secret name in deploy", "POST", "/system/functions", dep(`,"secrets":["../x"]`), false, 400, `field "secrets"`},
		{"duplicate deploy", "POST", "/system/functions", `{"service":"echo","image":"x"}`, false, 409, "already exists"},
		{"update of absent", "PUT", "/system/functions", dep(""), false, 404, "not found"},
		{"delete without name", "DELETE", "/system/functions", `{}`, false, 400, `field "functionName"`},

		// Reads and scale.
		{"get name too long", "GET", "/system/function/" + long, "", false, 400, "the limit is 63"},
		{"get absent", "GET", "/system/function/nope", "", false, 404, "not found"},
		{"list bad namespace", "GET", "/system/functions?namespace=..%2Fetc", "", false, 400, "namespace name"},
		{"negative replicas", "POST", "/system/scale-function/echo", `{"replicas":-1}`, false, 400, `field "replicas"`},
		{"replicas as string", "POST", "/system/scale-function/echo", `{"replicas":"3"}`, false, 400, `field "replicas"`},
		{"too many replicas", "POST", "/system/scale-function/echo", `{"replicas":100000}`, false, 400, "limit of 1000"},
		{"scale name mismatch", "POST", "/system/scale-function/echo", `{"serviceName":"other","replicas":1}`, false, 400, "does not match"},
		{"scale bad name", "POST", "/system/scale-function/Bad", `{"replicas":1}`, false, 400, "RFC 1123"},

		// Logs.
		{"logs bad tail", "GET", "/system/logs?name=echo&tail=abc", "", false, 422, "tail"},
		{"logs negative tail", "GET", "/system/logs?name=echo&tail=-5", "", false, 422, "tail"},
		{"logs bad follow", "GET", "/system/logs?name=echo&follow=maybe", "", false, 422, "follow"},
		{"logs bad since", "GET", "/system/logs?name=echo&since=yesterday", "", false, 422, "since"},
		{"logs no name", "GET", "/system/logs", "", false, 422, "function name is required"},
		{"logs unknown function", "GET", "/system/logs?name=ghost", "", false, 404, "function ghost not found"},

		// Secrets and namespaces.
		{"secret bad name", "POST", "/system/secrets", `{"name":"Bad/name","value":"x"}`, false, 400, `field "name"`},
		{"secret without value", "POST", "/system/secrets", `{"name":"s1"}`, false, 400, "has no value"},
		{"secret value and rawValue", "POST", "/system/secrets", `{"name":"s1","value":"a","rawValue":"Yg=="}`, false, 400, "not both"},
		{"secret value not a string", "POST", "/system/secrets", `{"name":"s1","value":1}`, false, 400, `field "value"`},
		{"secret rawValue not base64", "POST", "/system/secrets", `{"name":"s1","rawValue":"%%%"}`, false, 400, "rawValue"},
		{"namespace bad name", "POST", "/system/namespace/Bad_NS", "", false, 400, "namespace name"},

		// Auth and methods.
		{"no credentials", "GET", "/system/functions", "", true, 401, "authentication required"},
		{"wrong method", "PATCH", "/system/functions", "", false, 405, "Method Not Allowed"},
	}
	if len(cases) < 25 {
		t.Fatalf("only %d cases", len(cases))
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			r := call(t, c.method, srv.URL+c.path, c.body, !c.noAuth)
			if r.code != c.code || !strings.Contains(r.body, c.msg) {
				t.Fatalf("%s %s: got %d %q, want %d with %q", c.method, c.path, r.code, r.body, c.code, c.msg)
			}
			if strings.Count(strings.TrimSpace(r.body), "\n") != 0 {
				t.Fatalf("message is not one line: %q", r.body)
			}
			if c.code != 405 && r.header.Get("X-OpenFaaS-Internal") != "gateway" {
				t.Fatalf("error without X-OpenFaaS-Internal: gateway")
			}
		})
	}
}
