package cli

import (
	"bytes"
	"strings"
	"testing"
	"time"

	"github.com/ferryfaas/ferry/api"
)

func TestDescribeOutput(t *testing.T) {
	now := time.Date(2026, 1, 2, 15, 0, 0, 0, time.UTC)
	st := api.FunctionStatus{
		Name: "resize", Namespace: "dev", Image: "resize", Replicas: 3, ReadyReplicas: 2, AvailableReplicas: 2,
		CreatedAt: now.Add(-90 * time.Minute), EnvVars: map[string]string{"b": "2", "a": "1"},
		Labels:     map[string]string{"com.openfaas.scale.max": "5"},
		Limits:     &api.Resources{Memory: "128Mi", Extra: map[string]string{"nvidia.com/gpu": "1"}},
		Conditions: []api.Condition{{Type: "LimitsEnforced", Status: "False", Reason: "NoCgroups", Message: "cgroup v2 not writable"}},
		Autoscaler: &api.ScaleDecision{Time: now, From: 1, To: 3, Reason: "rps above target", Desired: 3, Observed: 12.5},
	}
	var b bytes.Buffer
	describe(&b, "http://gw", st, now)
	out := b.String()
	for _, want := range []string{
		"Status:              Starting",
		"Replicas:            3 desired, 2 ready, 2 available",
		"URL:                 http://gw/function/resize.dev",
		"Async URL:           http://gw/async-function/resize.dev",
		"Created:             2026-01-02T13:30:00Z (1h30m ago)",
		"Limits:              memory 128Mi, nvidia.com/gpu 1",
		"Autoscaler:          1 -> 3 at 2026-01-02T15:00:00Z: rps above target (desired 3, observed 12.50)",
		"  LimitsEnforced   False   NoCgroups: cgroup v2 not writable",
		"Environment:\n  a=1\n  b=2\n",
		"Labels:\n  com.openfaas.scale.max=5\n",
	} {
		if !strings.Contains(out, want) {
			t.Errorf("describe lacks %q:\n%s", want, out)
		}
	}
}

func TestUsageErrors(t *testing.T) {
	localGateway(t)
	t.Chdir(t.TempDir())
	runCLI(t, "", "list", "--bogus").fails(t, "unknown flag: --bogus: see `ferry list --help`")
	runCLI(t, "", "remove").fails(t, "name the functions to remove, or run it next to a stack.yml")
	runCLI(t, "", "secret", "remove").fails(t, "name the secret(s) to remove")
	runCLI(t, "", "logs", "a", "b").fails(t, "ferry logs takes NAME, got 2 argument(s)")
}

// TestStackGatewayInCwd: commands run in a project folder use the gateway
// of ./stack.yml when no flag or environment variable names one.
func TestStackGatewayInCwd(t *testing.T) {
	isolate(t)
	dir := t.TempDir()
	writeFile(t, dir+"/stack.yml", "provider:\n  name: openfaas\n  gateway: http://127.0.0.1:1\nfunctions:\n  a:\n    image: a\n")
	t.Chdir(dir)
	runCLI(t, "", "list").fails(t, "cannot reach gateway at http://127.0.0.1:1")
	runCLI(t, "", "list", "-g", "http://127.0.0.1:2").fails(t, "cannot reach gateway at http://127.0.0.1:2")
}
