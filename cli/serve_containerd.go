package cli

import (
	"context"
	"maps"
	"net/http"

	"github.com/ferryfaas/ferry/provider/containerd/defaults"
	"github.com/ferryfaas/ferry/provider/process"
	"github.com/spf13/pflag"
)

// containerdFlags configure `ferry serve --runtime containerd`.
type containerdFlags struct {
	runtime string
	ContainerdSettings
}

// ContainerdSettings are the flags of `ferry serve --runtime containerd`.
type ContainerdSettings struct {
	Address, Namespace, Subnet, Bridge string
	InsecureRegistries                 []string
}

func (f *containerdFlags) register(fs *pflag.FlagSet) {
	fs.StringVar(&f.runtime, "runtime", envOr("FERRY_RUNTIME", "process"), "process provider: how replicas run by default: process (trusted code, fastest), containerd (images, isolation; needs root) or wasm (WebAssembly modules) (env FERRY_RUNTIME)")
	fs.StringVar(&f.Address, "containerd-address", defaults.Address, "containerd runtime: containerd's socket")
	fs.StringVar(&f.Namespace, "containerd-namespace", defaults.Namespace, "containerd runtime: containerd namespace Ferry owns alone (what it finds there on start and did not start is removed)")
	fs.StringVar(&f.Subnet, "containerd-subnet", defaults.Subnet, "containerd runtime: IPv4 subnet of the replicas' bridge (the gateway also listens on its first address)")
	fs.StringVar(&f.Bridge, "containerd-bridge", defaults.Bridge, "containerd runtime: name of the replicas' bridge (at most 15 bytes)")
	fs.StringSliceVar(&f.InsecureRegistries, "insecure-registry", nil, "containerd runtime: registry (host or host:port) pulled from over plain HTTP; registries on loopback always are")
}

// ContainerdRuntime makes cfg run replicas as containers; nil in the
// default binary, which hands --runtime containerd over to ferry-containerd
// (package cli/ctrd sets it there) so that it does not link containerd's
// client: its gRPC and protobuf registrations cost about 6 MB of resident
// memory in every `ferry serve` and CLI run.
var ContainerdRuntime func(ctx context.Context, c ContainerdSettings, s *Server, cfg *process.Config) error

// AddSystemRoutes mounts a runtime's routes (images) behind the admin's
// authentication, under /system/.
func (s *Server) AddSystemRoutes(routes map[string]http.Handler) {
	if s.systemRoutes == nil {
		s.systemRoutes = map[string]http.Handler{}
	}
	maps.Copy(s.systemRoutes, routes)
}
