package process

import (
	"context"
	"testing"

	"github.com/ferryfaas/ferry/api"
	"github.com/ferryfaas/ferry/provider"
)

// BenchmarkReplicaStart is a trivial function's start: from the scale
// call to the replica ready (its watchdog forked in its groups and
// namespace, isolated as root, and listening).
func BenchmarkReplicaStart(b *testing.B) {
	e := newEnv(b, nil)
	e.deploy(api.FunctionDeployment{Service: "cold", EnvProcess: "cat"})
	e.waitReady("cold", 1)
	ctx := context.Background()
	for b.Loop() {
		b.StopTimer()
		if err := e.p.Scale(ctx, ns, "cold", 0); err != nil {
			b.Fatal(err)
		}
		e.waitRoute("cold", 10e9, "no replica", func(r provider.Route) bool { return len(r.Endpoints) == 0 && len(e.p.pids(ns, "cold")) == 0 })
		b.StartTimer()
		if err := e.p.Scale(ctx, ns, "cold", 1); err != nil {
			b.Fatal(err)
		}
		e.waitReady("cold", 1)
	}
}
