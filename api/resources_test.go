package api

import (
	"encoding/json"
	"reflect"
	"strings"
	"testing"
)

// TestResourcesJSON round-trips limits through their custom JSON: memory
// and cpu are fields, any other key (a GPU) lands in Extra and is written
// back at the top level, and empty fields are left out.
func TestResourcesJSON(t *testing.T) {
	cases := []struct {
		name string
		in   Resources
		json string
	}{
		{"empty", Resources{}, `{}`},
		{"memory and cpu", Resources{Memory: "128Mi", CPU: "500m"}, `{"cpu":"500m","memory":"128Mi"}`},
		{"memory only", Resources{Memory: "1Gi"}, `{"memory":"1Gi"}`},
		{"gpu", Resources{CPU: "1", Extra: map[string]string{"nvidia.com/gpu": "1"}}, `{"cpu":"1","nvidia.com/gpu":"1"}`},
		{"two extra keys", Resources{Extra: map[string]string{"amd.com/gpu": "2", "example.com/fpga": "1"}}, `{"amd.com/gpu":"2","example.com/fpga":"1"}`},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			b, err := json.Marshal(c.in)
			if err != nil {
				t.Fatal(err)
			}
			if string(b) != c.json {
				t.Errorf("Marshal = %s, want %s", b, c.json)
			}
			var back Resources
			if err := json.Unmarshal(b, &back); err != nil {
				t.Fatal(err)
			}
			if !reflect.DeepEqual(back, c.in) {
				t.Errorf("round trip = %+v, want %+v", back, c.in)
			}
		})
	}
}

// TestResourcesUnmarshal reads limits as clients send them: the value
// replaces what was there, and a wrong shape says what is wanted.
func TestResourcesUnmarshal(t *testing.T) {
	r := Resources{Memory: "1Gi", Extra: map[string]string{"old": "1"}}
	if err := json.Unmarshal([]byte(`{"cpu":"250m","nvidia.com/gpu":"1"}`), &r); err != nil {
		t.Fatal(err)
	}
	want := Resources{CPU: "250m", Extra: map[string]string{"nvidia.com/gpu": "1"}}
	if !reflect.DeepEqual(r, want) {
		t.Errorf("Unmarshal over a set value = %+v, want %+v (nothing kept from before)", r, want)
	}

	const msg = `want an object of strings like {"memory":"128Mi","cpu":"500m"}`
	for _, bad := range []string{`"128Mi"`, `{"memory":128}`, `["128Mi"]`, `{"cpu":null,"memory":{}}`} {
		var r Resources
		err := json.Unmarshal([]byte(bad), &r)
		if err == nil || err.Error() != msg {
			t.Errorf("Unmarshal(%s) = %v, want %q", bad, err, msg)
		}
	}

	// Inside a deployment, as faas-cli sends it.
	var d FunctionDeployment
	if err := json.Unmarshal([]byte(`{"service":"f","image":"i","limits":{"memory":"64Mi","nvidia.com/gpu":"2"},"requests":{"cpu":"100m"}}`), &d); err != nil {
		t.Fatal(err)
	}
	if d.Limits == nil || d.Limits.Memory != "64Mi" || d.Limits.Extra["nvidia.com/gpu"] != "2" || d.Requests == nil || d.Requests.CPU != "100m" {
		t.Errorf("deployment limits = %+v, requests = %+v", d.Limits, d.Requests)
	}
	if err := json.Unmarshal([]byte(`{"service":"f","limits":{"memory":64}}`), &d); err == nil || !strings.Contains(err.Error(), msg) {
		t.Errorf("deployment with a numeric memory limit: %v, want %q", err, msg)
	}
}
