package kubernetes

import (
	"testing"

	appsv1 "k8s.io/api/apps/v1"
)

func TestRollout(t *testing.T) {
	three := int32(3)
	dep := func(gen, observed int64, st appsv1.DeploymentStatus) *appsv1.Deployment {
		d := &appsv1.Deployment{Spec: appsv1.DeploymentSpec{Replicas: &three}, Status: st}
		d.Generation, d.Status.ObservedGeneration = gen, observed
		return d
	}
	for _, c := range []struct {
		name   string
		d      *appsv1.Deployment
		reason string // "" = ready
	}{
		{"settled", dep(2, 2, appsv1.DeploymentStatus{Replicas: 3, UpdatedReplicas: 3, AvailableReplicas: 3}), ""},
		{"spec not observed", dep(3, 2, appsv1.DeploymentStatus{Replicas: 3, UpdatedReplicas: 3, AvailableReplicas: 3}), "Updating"},
		{"new pods missing", dep(3, 3, appsv1.DeploymentStatus{Replicas: 4, UpdatedReplicas: 1, AvailableReplicas: 3}), "Updating"},
		{"old pods stopping", dep(3, 3, appsv1.DeploymentStatus{Replicas: 4, UpdatedReplicas: 3, AvailableReplicas: 3}), "Updating"},
		{"new pods not available", dep(3, 3, appsv1.DeploymentStatus{Replicas: 3, UpdatedReplicas: 3, AvailableReplicas: 2}), "Starting"},
	} {
		cond, notReady := rollout(c.d)
		if got := map[bool]string{true: cond.Reason}[notReady]; got != c.reason {
			t.Errorf("%s: %q (%s), want %q", c.name, got, cond.Message, c.reason)
		}
	}
}
