// Package defaults holds the containerd runtime's default settings, apart
// from the runtime itself, so that the default ferry binary can list them
// in `ferry serve --help` without linking containerd's client (it hands
// `--runtime containerd` over to ferry-containerd).
package defaults

// Defaults for users; tests pass subnets inside 198.18.0.0/15.
const (
	Address   = "/run/containerd/containerd.sock"
	Namespace = "ferry"
	Subnet    = "10.62.0.0/16"
	Bridge    = "ferry0"
)
