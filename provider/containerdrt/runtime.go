// Package containerdrt plugs the containerd runtime (provider/containerd)
// into the one-machine provider (provider/process) as its process.Runtime:
// the provider keeps state, routes, supervision, scaling, rolling updates,
// logs and usage; containerd runs the replicas as containers.
package containerdrt

import (
	"context"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"time"

	"github.com/ferryfaas/ferry/api"
	"github.com/ferryfaas/ferry/provider"
	"github.com/ferryfaas/ferry/provider/containerd"
	"github.com/ferryfaas/ferry/provider/process"
)

// Runtime adapts a containerd runtime to process.Runtime.
type Runtime struct {
	R *containerd.Runtime
	// Pull, when set, makes a version's image available before its
	// replicas start (pull policy, registry credentials). Without it the
	// image must have been imported or pulled already.
	Pull func(ctx context.Context, d *api.FunctionDeployment) error
}

var (
	_ process.Runtime     = (*Runtime)(nil)
	_ process.UsageReader = (*Runtime)(nil)
	_ process.Closer      = (*Runtime)(nil)
	_ process.Namer       = (*Runtime)(nil)
)

// Name is the orchestration /system/info reports.
func (a *Runtime) Name() string { return "containerd" }

// version is what Prepare readies for Start.
type version struct {
	image      string
	env        []string
	secretsDir string
	mem, cpu   int64
	readOnly   bool
}

// Prepare checks the image reference and the limits and gets the image.
func (a *Runtime) Prepare(ctx context.Context, v *process.Version) (process.Prepared, error) {
	d := v.Deployment
	if strings.TrimSpace(d.Image) == "" {
		return process.Prepared{Failure: "the function has no image"}, nil
	}
	if a.Pull != nil {
		if err := a.Pull(ctx, d); err != nil {
			return process.Prepared{}, err
		}
	}
	s := &version{image: d.Image, secretsDir: v.SecretsDir, readOnly: d.ReadOnlyRootFilesystem}
	// The containerd runtime gives replicas its own FERRY_GATEWAY_URL, one
	// reachable from the bridge; the provider's names loopback.
	s.env = slices.DeleteFunc(slices.Clone(v.Env), func(kv string) bool { return strings.HasPrefix(kv, "FERRY_GATEWAY_URL=") })
	if d.Limits != nil && d.Limits.Memory != "" {
		if s.mem, _ = api.ParseMemory(d.Limits.Memory); s.mem < 0 {
			s.mem = 0
		}
	}
	if d.Limits != nil && d.Limits.CPU != "" {
		s.cpu, _ = api.ParseCPU(d.Limits.CPU)
	}
	return process.Prepared{Run: s, Conditions: []api.Condition{
		{Type: "Isolated", Status: "True", Reason: "Container", Message: "each replica is a container with its own network namespace, the image's user (an unprivileged one when it says root) and no new privileges"},
		{Type: "LimitsEnforced", Status: "True", Reason: "Cgroups", Message: "memory, CPU and pids limits are enforced per replica by containerd"},
	}}, nil
}

// Start runs one container with the function's secrets as of now.
func (a *Runtime) Start(ctx context.Context, r process.ReplicaSpec) (process.Replica, error) {
	s := r.Prepared.Run.(*version)
	secrets, err := readSecrets(s.secretsDir)
	if err != nil {
		return nil, err
	}
	emit := func(line string) { r.Output(0, line) }
	x, err := a.R.Start(ctx, containerd.ReplicaSpec{
		Function: r.Function, Namespace: r.Namespace, Instance: r.Instance,
		Image: s.image, Env: s.env, Secrets: secrets,
		MemoryBytes: s.mem, CPUMilli: s.cpu, ReadOnlyRoot: s.readOnly,
		Stdout: &process.LineWriter{Emit: emit}, Stderr: &process.LineWriter{Emit: emit},
	})
	if err != nil {
		return nil, err
	}
	return replica{x}, nil
}

// Usage reads each replica's cgroup through containerd.
func (a *Runtime) Usage(rs []process.Replica) []process.Usage {
	out := make([]process.Usage, len(rs))
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	for i, r := range rs {
		if x, ok := r.(replica); ok {
			if u, err := x.Usage(ctx); err == nil {
				out[i] = process.Usage{CPU: time.Duration(u.CPUNanos), MemoryBytes: int64(u.MemoryBytes)}
			}
		}
	}
	return out
}

// Close ends the connection to containerd once the provider stopped
// every replica.
func (a *Runtime) Close() { a.R.Close() }

// replica adds the provider's Endpoint to a container.
type replica struct{ *containerd.Replica }

func (x replica) Endpoint() provider.Endpoint {
	return provider.Endpoint{Address: x.Addr(), MetricsAddress: x.MetricsAddr()}
}

// readSecrets reads the provider's copies of a function's secrets.
func readSecrets(dir string) (map[string][]byte, error) {
	ents, err := os.ReadDir(dir)
	if err != nil {
		if os.IsNotExist(err) {
			return nil, nil
		}
		return nil, err
	}
	out := map[string][]byte{}
	for _, e := range ents {
		if !e.Type().IsRegular() {
			continue
		}
		b, err := os.ReadFile(filepath.Join(dir, e.Name()))
		if err != nil {
			return nil, err
		}
		out[e.Name()] = b
	}
	return out, nil
}
