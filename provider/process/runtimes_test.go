package process

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/ferryfaas/ferry/api"
	"github.com/ferryfaas/ferry/provider"
)

// The runtime label sends each function to its runtime; one the server
// does not run is a 400 naming the label and what it runs.
func TestRuntimeLabelSelects(t *testing.T) {
	other := &fakeRuntime{gate: make(chan struct{})}
	e, def := fakeEnv(t, func(c *Config) { c.Runtimes = map[string]Runtime{"wasm": other} })
	e.deploy(api.FunctionDeployment{Service: "plain", EnvVars: map[string]string{"fake": "ok"}})
	e.deploy(api.FunctionDeployment{Service: "sandboxed", EnvVars: map[string]string{"fake": "ok"},
		Labels: map[string]string{RuntimeLabel: "wasm"}})
	for _, fn := range []string{"plain", "sandboxed"} {
		e.waitRoute(fn, 5*time.Second, "ready", func(r provider.Route) bool { return len(r.Endpoints) == 1 })
	}
	ds, _ := def.events()
	ws, _ := other.events()
	if len(ds) != 1 || ds[0].instance != "plain-0" || len(ws) != 1 || ws[0].instance != "sandboxed-0" {
		t.Fatalf("default runtime started %v, wasm %v", ds, ws)
	}
	if info := e.p.Info(); info.Orchestration != "process" {
		t.Errorf("orchestration %q", info.Orchestration)
	}
	err := e.p.Deploy(context.Background(), api.FunctionDeployment{Service: "bad", Namespace: ns, EnvVars: map[string]string{"fake": "ok"},
		Labels: map[string]string{RuntimeLabel: "nope"}})
	if api.StatusOf(err) != 400 || !strings.Contains(err.Error(), RuntimeLabel) || !strings.Contains(err.Error(), "process, wasm") {
		t.Fatalf("unknown runtime: %v", err)
	}
}

// With one runtime, a label naming another is a 400 too (a server run
// with --wasm=false must not run a wasm function as a process).
func TestRuntimeLabelOneRuntime(t *testing.T) {
	e, _ := fakeEnv(t, nil)
	err := e.p.Deploy(context.Background(), api.FunctionDeployment{Service: "w", Namespace: ns, Image: "x", EnvVars: map[string]string{"fake": "ok"},
		Labels: map[string]string{RuntimeLabel: "wasm"}})
	if api.StatusOf(err) != 400 || !strings.Contains(err.Error(), RuntimeLabel) {
		t.Fatalf("wasm label on a process-only server: %v", err)
	}
	e.deploy(api.FunctionDeployment{Service: "p", EnvVars: map[string]string{"fake": "ok"}, Labels: map[string]string{RuntimeLabel: "process"}})
}
