package api

import "testing"

func TestStateOf(t *testing.T) {
	ready := func(status, reason string) []Condition {
		return []Condition{{Type: "Isolated", Status: "False"}, {Type: "Ready", Status: status, Reason: reason}}
	}
	for _, c := range []struct {
		name string
		s    FunctionStatus
		want string
	}{
		{"ready", FunctionStatus{Replicas: 2, AvailableReplicas: 2, Conditions: ready("True", "")}, StateReady},
		{"starting", FunctionStatus{Replicas: 2, AvailableReplicas: 1, Conditions: ready("False", "Starting")}, StateStarting},
		{"updating", FunctionStatus{Replicas: 2, AvailableReplicas: 2, Conditions: ready("False", "Updating")}, StateUpdating},
		{"crash loop", FunctionStatus{Replicas: 1, Conditions: ready("False", "CrashLoop")}, StateCrashLoop},
		{"cannot run", FunctionStatus{Replicas: 1, Conditions: ready("False", "CannotRun")}, StateFailed},
		{"pod failure", FunctionStatus{Replicas: 1, Conditions: ready("False", "PodFailure")}, StateFailed},
		{"scaled to zero", FunctionStatus{Replicas: 0, Conditions: ready("True", "ScaledToZero")}, StateScaledToZero},
		{"no conditions, zero", FunctionStatus{}, StateScaledToZero},
		{"no conditions, all available", FunctionStatus{Replicas: 3, AvailableReplicas: 3}, StateReady},
		{"no conditions, some", FunctionStatus{Replicas: 3, AvailableReplicas: 1}, StateStarting},
	} {
		if got := StateOf(c.s); got != c.want {
			t.Errorf("%s: %q, want %q", c.name, got, c.want)
		}
	}
}
