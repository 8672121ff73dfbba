package gateway

import (
	"github.com/ferryfaas/ferry/provider/providertest"
	"strings"
	"testing"
)

// TestBadInputs is the table of inputs the gateway must refuse, each with
// its status and a piece of the one-line message that says what is wrong.
func TestBadInputs(t *testing.T) {
	fp := providertest.New()
	fp.Add(ns, "echo", 1)
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
		{"memory in bytes", "POST", "/system/functions", dep(`,"limits":{"memory":"128"}`), false, 400, `field "limits.memory": "128" is 128 bytes; did you mean 128Mi? the minimum is 6Mi`},
		{"memory request in bytes", "POST", "/system/functions", dep(`,"requests":{"memory":"100"}`), false, 400, `field "requests.memory"`},
		{"cpu under the floor", "PUT", "/system/functions", `{"service":"echo","image":"x","limits":{"cpu":"1m"}}`, false, 400, `field "limits.cpu": "1m" is under the minimum of 10m`},
		{"env value with NUL", "POST", "/system/functions", dep(`,"envVars":{"A":"x\u0000y"}`), false, 400, `field "envVars.A": the value contains a NUL byte`},
		{"envProcess with a newline", "POST", "/system/functions", dep(`,"envProcess":"cat\nid"`), false, 400, `field "envProcess"`},
		{"envProcess with NUL", "POST", "/system/functions", dep(`,"envProcess":"cat\u0000"`), false, 400, `field "envProcess"`},
		{"label value with a newline", "POST", "/system/functions", dep(`,"labels":{"team":"a\nb"}`), false, 400, `field "labels.team"`},
		{"annotation with NUL", "POST", "/system/functions", dep(`,"annotations":{"doc":"\u0000"}`), false, 400, `field "annotations.doc"`},
		{"duplicate field", "POST", "/system/functions", `{"service":"fn1","image":"a","image":"b"}`, false, 400, `field "image" is given twice`},
		{"duplicate field in another case", "POST", "/system/functions", `{"service":"fn1","image":"a","Image":"b"}`, false, 400, `field "Image" is given twice`},
		{"duplicate escaped field", "POST", "/system/functions", `{"service":"fn1","image":"a","\u0069mage":"b"}`, false, 400, `field "image" is given twice`},
		{"duplicate env var", "POST", "/system/functions", dep(`,"envVars":{"A":"1","A":"2"}`), false, 400, `field "envVars": key "A" is given twice`},
		{"duplicate label", "PUT", "/system/functions", `{"service":"echo","image":"x","labels":{"com.openfaas.scale.max":"2","com.openfaas.scale.max":"900"}}`, false, 400, `key "com.openfaas.scale.max" is given twice`},
		{"duplicate limit", "POST", "/system/functions", dep(`,"limits":{"memory":"64Mi","memory":"1Gi"}`), false, 400, `field "limits": key "memory" is given twice`},
		{"scale max negative", "POST", "/system/functions", dep(`,"labels":{"com.openfaas.scale.max":"-1"}`), false, 400, `com.openfaas.scale.max="-1": want a whole number >= 1`},
		{"scale min over max", "POST", "/system/functions", dep(`,"labels":{"com.openfaas.scale.min":"5","com.openfaas.scale.max":"2"}`), false, 400, "com.openfaas.scale.min=5 is greater than com.openfaas.scale.max=2"},
		{"scale zero maybe", "POST", "/system/functions", dep(`,"labels":{"com.openfaas.scale.zero":"maybe"}`), false, 400, `com.openfaas.scale.zero="maybe": want true or false`},
		{"scale min over the gateway limit", "POST", "/system/functions", dep(`,"labels":{"com.openfaas.scale.min":"5000","com.openfaas.scale.max":"6000"}`), false, 400, "gateway's limit of 1000 replicas"},
		{"queue concurrency not a number", "POST", "/system/functions", dep(`,"labels":{"com.openfaas.queue.max_inflight":"abc"}`), false, 400, `field "labels": com.openfaas.queue.max_inflight "abc": want a number of calls from 1 to 10000`},
		{"queue concurrency zero", "PUT", "/system/functions", dep(`,"annotations":{"com.openfaas.queue.max_inflight":"0"}`), false, 400, `field "annotations": com.openfaas.queue.max_inflight "0"`},
		{"queue name not a label", "POST", "/system/functions", dep(`,"annotations":{"com.openfaas.queue":"Bad_Queue"}`), false, 400, `field "annotations": com.openfaas.queue:`},
		{"scale labels on update", "PUT", "/system/functions", `{"service":"echo","image":"x","labels":{"com.openfaas.scale.type":"memory"}}`, false, 400, `field "labels": invalid scaling labels`},
		{"duplicate deploy", "POST", "/system/functions", `{"service":"echo","image":"x"}`, false, 409, "already exists"},
		{"update of absent", "PUT", "/system/functions", dep(""), false, 404, "not found"},
		{"delete without name", "DELETE", "/system/functions", `{}`, false, 400, `field "functionName"`},

		// Reads and scale.
		{"get name too long", "GET", "/system/function/" + long, "", false, 400, "the limit is 63"},
		{"get absent", "GET", "/system/function/nope", "", false, 404, "not found"},
		{"namespace twice in the query", "GET", "/system/functions?namespace=openfaas-fn&namespace=team-a", "", false, 400, "namespace is given 2 times"},
		{"list bad namespace", "GET", "/system/functions?namespace=..%2Fetc", "", false, 400, "namespace name"},
		{"negative replicas", "POST", "/system/scale-function/echo", `{"replicas":-1}`, false, 400, `field "replicas"`},
		{"replicas as string", "POST", "/system/scale-function/echo", `{"replicas":"3"}`, false, 400, `field "replicas"`},
		{"too many replicas", "POST", "/system/scale-function/echo", `{"replicas":100000}`, false, 400, "limit of 1000"},
		{"scale name mismatch", "POST", "/system/scale-function/echo", `{"serviceName":"other","replicas":1}`, false, 400, "does not match"},
		{"scale bad name", "POST", "/system/scale-function/Bad", `{"replicas":1}`, false, 400, "RFC 1123"},
		{"scale duplicate replicas", "POST", "/system/scale-function/echo", `{"replicas":1,"replicas":900}`, false, 400, `field "replicas" is given twice`},

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
		{"secret duplicate value", "POST", "/system/secrets", `{"name":"s1","value":"a","value":"b"}`, false, 400, `field "value" is given twice`},
		{"secret empty rawValue and value", "POST", "/system/secrets", `{"name":"s1","value":"","rawValue":""}`, false, 400, "has no value"},
		{"namespace label with NUL", "POST", "/system/namespace/team-x", `{"labels":{"owner":"\u0000"}}`, false, 400, `field "labels.owner"`},
		{"namespace duplicate label", "PUT", "/system/namespace/openfaas-fn", `{"labels":{"a":"1","a":"2"}}`, false, 400, `key "a" is given twice`},
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

// TestOversizedFields sends bodies within the body limit whose fields are
// too big to run: a 1 MB env value crash-looped the function (execve
// refuses it) instead of being refused.
func TestOversizedFields(t *testing.T) {
	_, srv := newTestGateway(t, providertest.New(), func(c *Config) { c.MaxBodyBytes = 4 << 20 })
	big := strings.Repeat("x", 1<<20)
	for _, c := range []struct{ name, path, body, msg string }{
		{"env value of 1 MB", "/system/functions", `{"service":"fn1","image":"img","envVars":{"BIG":"` + big + `"}}`, `field "envVars.BIG": the value is 1048576 bytes; the limit is 65536`},
		{"annotation of 1 MB", "/system/functions", `{"service":"fn1","image":"img","annotations":{"doc":"` + big + `"}}`, `field "annotations.doc"`},
		{"envProcess of 1 MB", "/system/functions", `{"service":"fn1","image":"img","envProcess":"` + big + `"}`, `field "envProcess"`},
		{"secret over 1 MiB", "/system/secrets", `{"name":"s1","value":"` + big + `x"}`, `field "value": the secret is 1048577 bytes; the limit is 1048576`},
	} {
		t.Run(c.name, func(t *testing.T) {
			r := call(t, "POST", srv.URL+c.path, c.body, true)
			if r.code != 400 || !strings.Contains(r.body, c.msg) {
				t.Fatalf("got %d %.200q, want 400 with %q", r.code, r.body, c.msg)
			}
		})
	}
}

// TestSecretValueAndRawValue replays faas-cli's secret apply, which sends
// the file both trimmed as value and as it is as rawValue: the secret is
// created (it used to be a 400 that faas-cli ignored) and holds rawValue.
func TestSecretValueAndRawValue(t *testing.T) {
	fp := providertest.New()
	_, srv := newTestGateway(t, fp, nil)
	for _, m := range []string{"POST", "PUT"} {
		// "czNjcjN0Cg==" is "s3cr3t\n"
		r := call(t, m, srv.URL+"/system/secrets", `{"name":"api-key","value":"s3cr3t","rawValue":"czNjcjN0Cg=="}`, true)
		if r.code != 202 {
			t.Fatalf("%s: got %d %q, want 202", m, r.code, r.body)
		}
		s, _ := fp.Secret(ns, "api-key")
		if string(s.RawValue) != "s3cr3t\n" || s.Value != "" {
			t.Fatalf("%s: stored value %q rawValue %q, want only rawValue \"s3cr3t\\n\"", m, s.Value, s.RawValue)
		}
	}
}
