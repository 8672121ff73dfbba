package cli

import (
	"testing"

	"github.com/ferryfaas/ferry/api"
)

func TestReadiness(t *testing.T) {
	cond := func(status, reason string) []api.Condition {
		return []api.Condition{{Type: "LimitsEnforced", Status: "False"}, {Type: "Ready", Status: status, Reason: reason, Message: "m"}}
	}
	for _, c := range []struct {
		name          string
		st            api.FunctionStatus
		ready, failed bool
	}{
		{"ready", api.FunctionStatus{Conditions: cond("True", "")}, true, false},
		{"scaled to zero", api.FunctionStatus{Conditions: cond("True", "ScaledToZero")}, true, false},
		{"starting", api.FunctionStatus{Conditions: cond("False", "Starting")}, false, false},
		{"updating", api.FunctionStatus{AvailableReplicas: 1, Replicas: 1, Conditions: cond("False", "Updating")}, false, false},
		{"crash loop", api.FunctionStatus{Conditions: cond("False", "CrashLoop")}, false, true},
		{"kubernetes pod failure", api.FunctionStatus{Conditions: cond("False", "PodFailure")}, false, true},
		{"no condition, available", api.FunctionStatus{AvailableReplicas: 2, Replicas: 2}, true, false},
		{"no condition, short", api.FunctionStatus{AvailableReplicas: 1, Replicas: 2}, false, false},
	} {
		state, ready, failed := readiness(c.st)
		if ready != c.ready || failed != c.failed || state == "" {
			t.Errorf("%s: ready %v failed %v state %q; want %v %v", c.name, ready, failed, state, c.ready, c.failed)
		}
	}
}
