package providertest

import (
	"context"
	"testing"

	"github.com/ferryfaas/ferry/api"
	"github.com/ferryfaas/ferry/provider"
)

// Route follows what a real provider reports: no endpoint while scaled to
// zero, and Changed closed by every change a waiter must see.
func TestRouteFollowsChanges(t *testing.T) {
	ctx := context.Background()
	p := New()
	p.Add(api.DefaultNamespace, "f", 0, "127.0.0.1:1")
	r, ok := p.Route(api.DefaultNamespace, "f")
	if !ok || len(r.Endpoints) != 0 || r.Desired != 0 {
		t.Fatalf("scaled to zero: %+v %v", r, ok)
	}
	if err := p.Scale(ctx, api.DefaultNamespace, "f", 1); err != nil {
		t.Fatal(err)
	}
	select {
	case <-r.Changed:
	default:
		t.Fatal("Scale did not close Changed")
	}
	r, _ = p.Route(api.DefaultNamespace, "f")
	if len(r.Endpoints) != 1 || r.Endpoints[0].Address != "127.0.0.1:1" {
		t.Fatalf("scaled to one: %+v", r)
	}
	p.Edit(api.DefaultNamespace, "f", func(fn *Function) { fn.Failure = "bad image" })
	if r2, _ := p.Route(api.DefaultNamespace, "f"); r2.Failure != "bad image" {
		t.Fatalf("failure not routed: %+v", r2)
	}
	select {
	case <-r.Changed:
	default:
		t.Fatal("Edit did not close Changed")
	}
	if _, ok := p.Route(api.DefaultNamespace, "nope"); ok {
		t.Fatal("a missing function has a route")
	}
}

// The errors are the API's: 404 for a missing function, 409 for a second
// deploy, 400 for a namespace that does not exist.
func TestErrorsCarryStatus(t *testing.T) {
	ctx := context.Background()
	p := New()
	d := api.FunctionDeployment{Service: "f", Namespace: api.DefaultNamespace, Image: "img"}
	if err := p.Deploy(ctx, d); err != nil {
		t.Fatal(err)
	}
	if err := p.Deploy(ctx, d); !api.IsConflict(err) {
		t.Fatalf("second deploy: %v", err)
	}
	if _, err := p.Get(ctx, api.DefaultNamespace, "g"); !api.IsNotFound(err) {
		t.Fatalf("get missing: %v", err)
	}
	d.Namespace = "absent"
	if err := p.Deploy(ctx, d); api.StatusOf(err) != 400 {
		t.Fatalf("deploy to a missing namespace: %v", err)
	}
	if err := p.DeleteNamespace(ctx, api.DefaultNamespace); !api.IsConflict(err) {
		t.Fatalf("delete a namespace with functions: %v", err)
	}
}

// NewReplica starts one replica per deploy; Delete and Close stop it.
func TestNewReplica(t *testing.T) {
	ctx := context.Background()
	p := New()
	stopped := 0
	p.NewReplica = func(d api.FunctionDeployment) (provider.Endpoint, func()) {
		return provider.Endpoint{Address: d.Service + ":80"}, func() { stopped++ }
	}
	for _, name := range []string{"a", "b"} {
		if err := p.Deploy(ctx, api.FunctionDeployment{Service: name, Namespace: api.DefaultNamespace}); err != nil {
			t.Fatal(err)
		}
	}
	if r, _ := p.Route(api.DefaultNamespace, "a"); len(r.Endpoints) != 1 || r.Endpoints[0].Address != "a:80" {
		t.Fatalf("route %+v", r)
	}
	if st, _ := p.Get(ctx, api.DefaultNamespace, "a"); st.AvailableReplicas != 1 {
		t.Fatalf("status %+v", st)
	}
	p.Delete(ctx, api.DefaultNamespace, "a")
	p.Close(ctx)
	if stopped != 2 {
		t.Fatalf("%d replicas stopped, want 2", stopped)
	}
}
