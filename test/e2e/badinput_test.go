package e2e

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/ferryfaas/ferry/test/harness"
)

// TestDeployBadInputReal sends the deployments that used to be accepted
// and then crash-looped or ran with other settings than the body seemed to
// say, to the real `ferry serve`: each is a 400 naming the field, nothing
// is stored, and a good function deployed after them runs.
func TestDeployBadInputReal(t *testing.T) {
	f := harness.T(t, harness.Options{})
	dep := func(extra string) string { return `{"service":"bad","image":"cat","envProcess":"cat"` + extra + `}` }
	for _, c := range []struct{ name, body, want string }{
		{"memory in bytes", dep(`,"limits":{"memory":"128"}`), `field "limits.memory": "128" is 128 bytes; did you mean 128Mi? the minimum is 6Mi`},
		{"cpu under the floor", dep(`,"limits":{"cpu":"1m"}`), `field "limits.cpu"`},
		{"env value with NUL", dep(`,"envVars":{"A":"x\u0000"}`), `field "envVars.A"`},
		{"env value of 200 KB", dep(`,"envVars":{"A":"` + strings.Repeat("x", 200<<10) + `"}`), `field "envVars.A": the value is 204800 bytes`},
		{"envProcess with a newline", `{"service":"bad","image":"cat","envProcess":"cat\nid"}`, `field "envProcess"`},
		{"duplicate key", dep(`,"envProcess":"id"`), `field "envProcess" is given twice`},
		{"scale min over max", dep(`,"labels":{"com.openfaas.scale.min":"5","com.openfaas.scale.max":"2"}`), "com.openfaas.scale.min=5 is greater than com.openfaas.scale.max=2"},
		{"scale zero maybe", dep(`,"labels":{"com.openfaas.scale.zero":"maybe"}`), `com.openfaas.scale.zero="maybe"`},
		{"scale max negative", dep(`,"labels":{"com.openfaas.scale.max":"-1"}`), `com.openfaas.scale.max="-1"`},
	} {
		code, b, err := f.Do("POST", "/system/functions", c.body)
		if err != nil || code != 400 || !strings.Contains(string(b), c.want) {
			t.Errorf("%s: %d %.300s %v; want 400 with %q", c.name, code, b, err, c.want)
		}
	}
	if code, b, _ := f.Do("GET", "/system/function/bad", nil); code != 404 {
		t.Fatalf("a refused deployment exists: %d %s", code, b)
	}

	deploy(t, f, map[string]any{"service": "good", "image": "cat", "envProcess": "cat", "limits": map[string]string{"memory": "64Mi"}})
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	if err := f.WaitReady(ctx, "good", "openfaas-fn", 1); err != nil {
		t.Fatal(err)
	}
	if code, out, err := f.Invoke("good", "hello"); err != nil || code != 200 || out != "hello" {
		t.Fatalf("good function: %d %q %v", code, out, err)
	}
}
