package api

import (
	"encoding/json"
	"flag"
	"fmt"
	"os"
	"slices"
	"sort"
	"strings"
	"testing"
	"time"
)

var update = flag.Bool("update", false, "rewrite testdata/types.golden")

// wireTypes are the API's JSON types, each with every field set so that
// omitempty hides none of them.
func wireTypes() map[string]any {
	at := time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)
	res := &Resources{Memory: "128Mi", CPU: "500m", Extra: map[string]string{"nvidia.com/gpu": "1"}}
	m := map[string]string{"k": "v"}
	return map[string]any{
		"FunctionDeployment": FunctionDeployment{Service: "f", Image: "i", Namespace: "ns", EnvProcess: "cat",
			EnvVars: m, Constraints: []string{"c"}, Secrets: []string{"s"}, Labels: m, Annotations: m,
			Limits: res, Requests: res, ReadOnlyRootFilesystem: true},
		"FunctionStatus": FunctionStatus{Name: "f", Image: "i", Namespace: "ns", EnvProcess: "cat",
			EnvVars: m, Constraints: []string{"c"}, Secrets: []string{"s"}, Labels: m, Annotations: m,
			Limits: res, Requests: res, ReadOnlyRootFilesystem: true,
			InvocationCount: 1, Replicas: 1, AvailableReplicas: 1, CreatedAt: at,
			Usage:  &FunctionUsage{CPU: 1, TotalMemoryBytes: 1},
			Status: "Ready", ReadyReplicas: 1, Restarts: 1,
			Conditions: []Condition{{Type: "Ready", Status: "True", Reason: "r", Message: "m", Time: at}},
			Autoscaler: &ScaleDecision{Time: at, From: 1, To: 2, Reason: "r", Desired: 2, Observed: 1}},
		"DeleteFunctionRequest": DeleteFunctionRequest{FunctionName: "f", Namespace: "ns"},
		"ScaleServiceRequest":   ScaleServiceRequest{ServiceName: "f", Replicas: 1, Namespace: "ns"},
		"Secret":                Secret{Name: "s", Namespace: "ns", Value: "v", RawValue: []byte("v")},
		"Namespace":             Namespace{Name: "ns", Labels: m, Annotations: m},
		"LogMessage":            LogMessage{Name: "f", Namespace: "ns", Instance: "i", Timestamp: at, Text: "t"},
		"Info": Info{Provider: ProviderInfo{Name: "p", Orchestration: "o", Version: VersionInfo{SHA: "s", Release: "r"}},
			Version: VersionInfo{SHA: "s", Release: "r"}, Arch: "x86_64"},
	}
}

// keyPaths lists the object keys of a JSON value as dotted paths ("[]"
// for an array's elements), skipping the user's own keys inside maps
// (envVars, labels, annotations).
func keyPaths(prefix string, v any, out *[]string) {
	switch v := v.(type) {
	case map[string]any:
		for k, e := range v {
			p := prefix + "." + k
			*out = append(*out, p)
			if !slices.Contains([]string{"envVars", "labels", "annotations"}, k) {
				keyPaths(p, e, out)
			}
		}
	case []any:
		for _, e := range v {
			keyPaths(prefix+"[]", e, out)
		}
	}
}

// TestWireFieldNames pins the JSON field names of the API types, which
// faas-cli and other OpenFaaS tooling read and write: the whole shape
// against testdata/types.golden (go test -update to accept a change, which
// the diff then shows), and the names the OpenFaaS contract fixes (its
// gateway routes and JSON types, as faas-provider defines them) in code,
// so that -update cannot accept a rename of one of them.
func TestWireFieldNames(t *testing.T) {
	var got []string
	for name, v := range wireTypes() {
		b, err := json.Marshal(v)
		if err != nil {
			t.Fatal(err)
		}
		var generic any
		if err := json.Unmarshal(b, &generic); err != nil {
			t.Fatal(err)
		}
		keyPaths(name, generic, &got)
	}
	sort.Strings(got)
	text := strings.Join(got, "\n") + "\n"
	const golden = "testdata/types.golden"
	if *update {
		if err := os.WriteFile(golden, []byte(text), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	want, err := os.ReadFile(golden)
	if err != nil {
		t.Fatal(err)
	}
	if text != string(want) {
		t.Errorf("JSON field names differ from %s (go test -update to accept):\n%s", golden, text)
	}

	contract := map[string][]string{
		"FunctionDeployment": {"service", "image", "namespace", "envProcess", "envVars", "constraints", "secrets",
			"labels", "annotations", "limits", "limits.memory", "limits.cpu", "limits.nvidia.com/gpu",
			"requests", "requests.memory", "requests.cpu", "readOnlyRootFilesystem"},
		"FunctionStatus": {"name", "image", "namespace", "envProcess", "envVars", "constraints", "secrets",
			"labels", "annotations", "limits", "requests", "readOnlyRootFilesystem",
			"invocationCount", "replicas", "availableReplicas", "createdAt", "usage", "usage.cpu", "usage.totalMemoryBytes"},
		"DeleteFunctionRequest": {"functionName", "namespace"},
		"ScaleServiceRequest":   {"serviceName", "replicas", "namespace"},
		"Secret":                {"name", "namespace", "value", "rawValue"},
		"Namespace":             {"name", "labels", "annotations"},
		"LogMessage":            {"name", "namespace", "instance", "timestamp", "text"},
		"Info": {"provider", "provider.provider", "provider.orchestration", "provider.version", "provider.version.sha",
			"provider.version.release", "version", "version.sha", "version.release", "arch"},
	}
	for typ, keys := range contract {
		for _, k := range keys {
			if !slices.Contains(got, typ+"."+k) {
				t.Errorf("%s has no JSON field %q, which the OpenFaaS contract names", typ, k)
			}
		}
	}
}

// TestWireValues checks the encodings the contract fixes beyond names:
// createdAt in RFC 3339, rawValue in base64, and the write-only secret
// value left out when empty.
func TestWireValues(t *testing.T) {
	b, _ := json.Marshal(wireTypes()["FunctionStatus"])
	if !strings.Contains(string(b), `"createdAt":"2026-01-02T03:04:05Z"`) {
		t.Errorf("createdAt is not RFC 3339: %s", b)
	}
	b, _ = json.Marshal(Secret{Name: "s", RawValue: []byte{0xff, 0}})
	if want := `{"name":"s","rawValue":"/wA="}`; string(b) != want {
		t.Errorf("secret = %s, want %s", b, want)
	}
	b, _ = json.Marshal(Secret{Name: "s"})
	if want := `{"name":"s"}`; string(b) != want {
		t.Errorf("secret without a value = %s, want %s", b, want)
	}
	// Zero counts are still written: faas-cli shows them.
	b, _ = json.Marshal(FunctionStatus{Name: "f"})
	for _, k := range []string{"invocationCount", "replicas", "availableReplicas"} {
		if !strings.Contains(string(b), fmt.Sprintf("%q:0", k)) {
			t.Errorf("FunctionStatus without %s=0: %s", k, b)
		}
	}
}
