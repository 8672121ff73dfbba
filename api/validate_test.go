package api

import (
	"strings"
	"testing"
)

// TestValidateDeployment is the table of deployments Validate must refuse,
// each with a piece of the message that names the field and says what to
// do, and of edge cases it must accept.
func TestValidateDeployment(t *testing.T) {
	big := func(n int) string { return strings.Repeat("x", n) }
	manyEnv := map[string]string{}
	for i := 0; i < 5; i++ {
		manyEnv["V"+string(rune('A'+i))] = big(MaxEnvValue)
	}
	manyLabels := map[string]string{}
	for i := 0; i < 70; i++ {
		manyLabels["l"+strings.Repeat("a", i)] = big(MaxLabelValue)
	}
	cases := []struct {
		name string
		edit func(d *FunctionDeployment)
		msg  string // "" means accepted
	}{
		{"plain", func(d *FunctionDeployment) {}, ""},

		// Limits and requests.
		{"memory in bytes", func(d *FunctionDeployment) { d.Limits = &Resources{Memory: "128"} },
			`field "limits.memory": "128" is 128 bytes; did you mean 128Mi? the minimum is 6Mi`},
		{"memory under the floor", func(d *FunctionDeployment) { d.Limits = &Resources{Memory: "5Mi"} }, `"5Mi" is 5242880 bytes; the minimum is 6Mi`},
		{"memory in bytes, too small in MiB too", func(d *FunctionDeployment) { d.Limits = &Resources{Memory: "2"} }, `"2" is 2 bytes; the minimum is 6Mi`},
		{"memory at the floor", func(d *FunctionDeployment) { d.Limits = &Resources{Memory: "6Mi"} }, ""},
		{"memory 128M", func(d *FunctionDeployment) { d.Limits = &Resources{Memory: "128M"} }, ""},
		{"memory in millibytes", func(d *FunctionDeployment) { d.Limits = &Resources{Memory: "128m"} }, "did you mean 128Mi?"},
		{"memory as MB", func(d *FunctionDeployment) { d.Limits = &Resources{Memory: "1gb"} }, "did you mean 1Gi?"},
		{"memory request in bytes", func(d *FunctionDeployment) { d.Requests = &Resources{Memory: "64"} }, `field "requests.memory": "64" is 64 bytes; did you mean 64Mi?`},
		{"cpu under the floor", func(d *FunctionDeployment) { d.Limits = &Resources{CPU: "1m"} }, `field "limits.cpu": "1m" is under the minimum of 10m`},
		{"cpu zero", func(d *FunctionDeployment) { d.Limits = &Resources{CPU: "0"} }, `field "limits.cpu"`},
		{"cpu at the floor", func(d *FunctionDeployment) { d.Limits = &Resources{CPU: "10m"} }, ""},
		{"cpu request under the floor", func(d *FunctionDeployment) { d.Requests = &Resources{CPU: "0.001"} }, `field "requests.cpu"`},
		{"request above limit", func(d *FunctionDeployment) {
			d.Limits, d.Requests = &Resources{Memory: "64Mi"}, &Resources{Memory: "128Mi"}
		}, `field "requests.memory": "128Mi" is more than limits.memory "64Mi"`},
		{"cpu request above limit", func(d *FunctionDeployment) {
			d.Limits, d.Requests = &Resources{CPU: "100m"}, &Resources{CPU: "1"}
		}, `field "requests.cpu"`},
		{"extended resource with a newline", func(d *FunctionDeployment) {
			d.Limits = &Resources{Extra: map[string]string{"nvidia.com/gpu": "1\n"}}
		}, `field "limits.nvidia.com/gpu"`},

		// Environment.
		{"env value with NUL", func(d *FunctionDeployment) { d.EnvVars = map[string]string{"A": "x\x00y"} }, `field "envVars.A": the value contains a NUL byte`},
		{"env value of 1 MB", func(d *FunctionDeployment) { d.EnvVars = map[string]string{"A": big(1 << 20)} }, `field "envVars.A": the value is 1048576 bytes; the limit is 65536`},
		{"env value at the limit", func(d *FunctionDeployment) { d.EnvVars = map[string]string{"A": big(MaxEnvValue)} }, ""},
		{"env total too big", func(d *FunctionDeployment) { d.EnvVars = manyEnv }, `field "envVars": `},
		{"env value with a newline", func(d *FunctionDeployment) { d.EnvVars = map[string]string{"A": "a\nb"} }, ""},
		{"bad env name", func(d *FunctionDeployment) { d.EnvVars = map[string]string{"A=B": "x"} }, `field "envVars": "A=B"`},
		{"envProcess with a newline", func(d *FunctionDeployment) { d.EnvProcess = "cat\nrm -rf /" }, `field "envProcess": "cat\nrm -rf /" contains a newline`},
		{"envProcess with NUL", func(d *FunctionDeployment) { d.EnvProcess = "cat\x00x" }, `field "envProcess"`},
		{"envProcess with a tab", func(d *FunctionDeployment) { d.EnvProcess = "cat\t-n" }, ""},
		{"envProcess too long", func(d *FunctionDeployment) { d.EnvProcess = big(MaxEnvProcess + 1) }, `field "envProcess": 16385 bytes long`},
		{"image with NUL", func(d *FunctionDeployment) { d.Image = "img\x00" }, `field "image"`},

		// Labels, annotations, lists.
		{"label value with a newline", func(d *FunctionDeployment) { d.Labels = map[string]string{"team": "a\nb"} }, `field "labels.team": the value contains a control character`},
		{"label value too long", func(d *FunctionDeployment) { d.Labels = map[string]string{"team": big(MaxLabelValue + 1)} }, `field "labels.team": the value is 1025 bytes`},
		{"labels too big in all", func(d *FunctionDeployment) { d.Labels = manyLabels }, `field "labels": `},
		{"bad label key", func(d *FunctionDeployment) { d.Labels = map[string]string{"a b": "x"} }, `field "labels": "a b"`},
		{"annotation with a newline", func(d *FunctionDeployment) { d.Annotations = map[string]string{"doc": "a\nb"} }, ""},
		{"annotation with NUL", func(d *FunctionDeployment) { d.Annotations = map[string]string{"doc": "a\x00"} }, `field "annotations.doc": the value contains a NUL byte`},
		{"annotation too big", func(d *FunctionDeployment) { d.Annotations = map[string]string{"doc": big(MaxAnnotationsTotal)} }, `field "annotations": `},
		{"too many secrets", func(d *FunctionDeployment) {
			for i := 0; i <= MaxListItems; i++ {
				d.Secrets = append(d.Secrets, "s")
			}
		}, `field "secrets": 101 items; the limit is 100`},
		{"bad secret name", func(d *FunctionDeployment) { d.Secrets = []string{"../x"} }, `field "secrets": secret name "../x"`},
		{"constraint with a newline", func(d *FunctionDeployment) { d.Constraints = []string{"a\nb"} }, `field "constraints"`},
		{"empty constraint", func(d *FunctionDeployment) { d.Constraints = []string{""} }, `field "constraints"`},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			d := FunctionDeployment{Service: "fn1", Image: "img"}
			c.edit(&d)
			err := d.Validate(DefaultNamespace)
			switch {
			case c.msg == "" && err != nil:
				t.Fatalf("refused: %v", err)
			case c.msg != "" && err == nil:
				t.Fatalf("accepted, want an error with %q", c.msg)
			case c.msg != "" && (StatusOf(err) != 400 || !strings.Contains(err.Error(), c.msg)):
				t.Fatalf("got %d %q, want 400 with %q", StatusOf(err), err, c.msg)
			}
		})
	}
}

func TestValidateNamespace(t *testing.T) {
	ok := Namespace{Name: "team-a", Labels: map[string]string{"owner": "ops"}, Annotations: map[string]string{"doc": "multi\nline"}}
	if err := ok.Validate(); err != nil {
		t.Fatal(err)
	}
	for _, n := range []Namespace{
		{Labels: map[string]string{"owner": "a\x00"}},
		{Labels: map[string]string{"bad key": "x"}},
		{Annotations: map[string]string{"doc": strings.Repeat("x", MaxAnnotationsTotal+1)}},
	} {
		if err := n.Validate(); err == nil || StatusOf(err) != 400 {
			t.Errorf("%v: got %v, want a 400", n, err)
		}
	}
}
