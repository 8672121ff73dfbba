package process

import (
	"context"
	"maps"
	"testing"
	"time"

	"github.com/ferryfaas/ferry/api"
	"github.com/ferryfaas/ferry/provider"
)

// TestUnchangedUpdateKeepsReplicas: an update that changes nothing (a
// second `ferry up`, a GitOps re-apply) leaves the running replicas alone;
// one that changes the spec still replaces them.
func TestUnchangedUpdateKeepsReplicas(t *testing.T) {
	e := newEnv(t, nil)
	d := api.FunctionDeployment{Service: "same", Image: "example/fn:latest", Namespace: ns, EnvProcess: "cat",
		EnvVars: map[string]string{"A": "1"}, Labels: map[string]string{"com.openfaas.scale.min": "2"}}
	e.deploy(d)
	e.waitReady("same", 2)
	before := e.p.pids(ns, "same")

	same := d
	same.EnvVars = maps.Clone(d.EnvVars)
	if err := e.p.Update(context.Background(), same); err != nil {
		t.Fatal(err)
	}
	time.Sleep(300 * time.Millisecond) // a roll would have started new replicas by now
	if after := e.p.pids(ns, "same"); !maps.Equal(before, after) {
		t.Fatalf("an unchanged update replaced the replicas: %v -> %v", before, after)
	}

	changed := d
	changed.EnvVars = map[string]string{"A": "2"}
	if err := e.p.Update(context.Background(), changed); err != nil {
		t.Fatal(err)
	}
	e.waitRoute("same", 30*time.Second, "replicas replaced", func(_ provider.Route) bool {
		after := e.p.pids(ns, "same")
		for k, v := range before {
			if after[k] == v {
				return false
			}
		}
		return len(after) == 2
	})
}
