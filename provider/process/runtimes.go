package process

import (
	"context"
	"maps"
	"slices"
	"strings"

	"github.com/ferryfaas/ferry/api"
)

// RuntimeLabel names the runtime a function runs on ("process",
// "containerd", "wasm"), among those the server enables; without it a
// function runs on the server's default runtime.
const RuntimeLabel = "com.ferryfaas.runtime"

// runtimes is the Runtime of a provider that enables more than one: it
// hands each version to the runtime its label names. It is the one place
// that knows there are several, so a new runtime is one package plus one
// entry in Config.Runtimes.
type runtimes struct {
	def string
	by  map[string]Runtime
}

var (
	_ Runtime     = (*runtimes)(nil)
	_ UsageReader = (*runtimes)(nil)
	_ Forgetter   = (*runtimes)(nil)
	_ Closer      = (*runtimes)(nil)
	_ Namer       = (*runtimes)(nil)
)

// picked is a version's Prepared.Run: its runtime's own, and the runtime.
type picked struct {
	rt  Runtime
	run any
}

// pickedReplica remembers which runtime runs a replica (for Usage).
type pickedReplica struct {
	Replica
	rt Runtime
}

// Name is the default runtime's: what /system/info reports.
func (m *runtimes) Name() string { return m.def }

func (m *runtimes) Prepare(ctx context.Context, v *Version) (Prepared, error) {
	rt, err := pickRuntime(v.Deployment, m.def, m.by)
	if err != nil {
		return Prepared{}, err
	}
	out, err := rt.Prepare(ctx, v)
	out.Run = &picked{rt: rt, run: out.Run}
	return out, err
}

func (m *runtimes) Start(ctx context.Context, r ReplicaSpec) (Replica, error) {
	pk := r.Prepared.Run.(*picked)
	r.Prepared.Run = pk.run
	rep, err := pk.rt.Start(ctx, r)
	if err != nil {
		return nil, err
	}
	return pickedReplica{Replica: rep, rt: pk.rt}, nil
}

// pickRuntime is the runtime d's label names among by (def when it names
// none); one the server does not run is a 400 naming the label.
func pickRuntime(d *api.FunctionDeployment, def string, by map[string]Runtime) (Runtime, error) {
	name := def
	if l, ok := d.Labels[RuntimeLabel]; ok {
		name = strings.TrimSpace(l)
	}
	rt, ok := by[name]
	if !ok {
		return nil, api.BadRequest("label %s=%q: this server runs no such runtime (it runs: %s)",
			RuntimeLabel, short(name), strings.Join(slices.Sorted(maps.Keys(by)), ", "))
	}
	return rt, nil
}

// checkLabel is pickRuntime for a provider with one runtime: its label
// may only name that one.
func checkLabel(rt Runtime, d *api.FunctionDeployment) error {
	if _, ok := d.Labels[RuntimeLabel]; !ok {
		return nil
	}
	_, err := pickRuntime(d, "", map[string]Runtime{runtimeName(rt): rt})
	return err
}

// runtimeName is a runtime's name: its Namer's, "process" for the
// process runtime.
func runtimeName(rt Runtime) string {
	if n, ok := rt.(Namer); ok {
		return n.Name()
	}
	return "process"
}

// Usage asks each runtime that can measure about its own replicas.
func (m *runtimes) Usage(rs []Replica) []Usage {
	out := make([]Usage, len(rs))
	for _, rt := range m.by {
		ur, ok := rt.(UsageReader)
		if !ok {
			continue
		}
		var mine []Replica
		var at []int
		for i, r := range rs {
			if pr, ok := r.(pickedReplica); ok && pr.rt == rt {
				mine, at = append(mine, pr.Replica), append(at, i)
			}
		}
		if len(mine) == 0 {
			continue
		}
		for j, u := range ur.Usage(mine) {
			out[at[j]] = u
		}
	}
	return out
}

func (m *runtimes) Forget(namespace, name string) {
	for _, rt := range m.by {
		if f, ok := rt.(Forgetter); ok {
			f.Forget(namespace, name)
		}
	}
}

func (m *runtimes) Close() {
	for _, rt := range m.by {
		if c, ok := rt.(Closer); ok {
			c.Close()
		}
	}
}
