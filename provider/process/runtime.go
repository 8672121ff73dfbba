package process

import (
	"context"
	"time"

	"github.com/ferryfaas/ferry/api"
	"github.com/ferryfaas/ferry/provider"
)

// Runtime is what differs between the runtimes of one machine: how one
// version of a function is readied and how one replica of it runs. The
// Provider owns everything else (state, secrets, namespaces, routes,
// supervision and restart back-off, scaling, rolling updates, logs,
// readiness timeout, usage) and drives a Runtime through these two calls.
// The default is the process runtime (watchdogs as local process groups);
// Config.Runtime plugs in another.
type Runtime interface {
	// Prepare readies one version of a function (unpacks its code, pulls
	// its image) and returns what Start needs for all its replicas. It is
	// called on deploy, update and restore, one call at a time; an error
	// fails that deploy or update with the error's status.
	Prepare(ctx context.Context, v *Version) (Prepared, error)
	// Start starts one replica and returns once it runs or failed to
	// start (nothing of it is left then). Ready says when it serves.
	Start(ctx context.Context, r ReplicaSpec) (Replica, error)
}

// Replica is one running replica, as a Runtime reports it.
type Replica interface {
	// Ready is closed once the replica serves calls.
	Ready() <-chan struct{}
	// Endpoint says where it serves (Instance is the Provider's to set);
	// meaningful once Ready is closed.
	Endpoint() provider.Endpoint
	// Done is closed once the replica has exited and what it held is
	// released.
	Done() <-chan struct{}
	// Err says why it ended, with its last output lines; meaningful once
	// Done is closed.
	Err() error
	// Stop asks the replica to drain and end, kills it after grace (at
	// once when grace <= 0 or ctx ends) and returns once Done is closed.
	Stop(ctx context.Context, grace time.Duration) error
}

// Version is one version of a function, as the Provider hands it to
// Prepare. It must not be changed.
type Version struct {
	Deployment *api.FunctionDeployment
	// UID and GID are the function's own ids when functions are isolated
	// (-1: none, run as ferry's user).
	UID, GID int
	// Env is the environment every runtime gives a replica: the
	// function's variables without Ferry's reserved keys, its command,
	// default timeouts and the gateway's URL. A runtime adds its own keys.
	Env []string
	// SecretsDir holds one file per secret of the function (0440, group
	// GID; 0400 when not isolated), rewritten in place when a secret is
	// updated.
	SecretsDir string
	// Artifact is the hex SHA-256 of the function's uploaded code in the
	// artifact store ("" when none); see Provider.ArtifactPath.
	Artifact string
	// CodeDir is the function's own dir for its versions' code: a runtime
	// that runs the artifact's files unpacks each version in a subdir
	// (named after Artifact) with Unpack, and names it as Prepared.Dir.
	CodeDir string
	// Unpack unpacks the artifact into dir (created, owned by UID/GID),
	// with the provider's checks and limits; nothing when dir exists.
	Unpack func(dir string) error
}

// Prepared is one version made ready by a Runtime.
type Prepared struct {
	// Run is the runtime's own data for Start (a working dir, an image).
	Run any
	// Failure says why this version cannot run at all ("" when it can):
	// the Provider starts none of its replicas and reports it.
	Failure string
	// Dir is a directory this version alone occupies (a working dir), ""
	// when none: the Provider removes it once an update left no replica
	// using it.
	Dir string
	// Conditions are added to the function's status (the Provider sets
	// their time).
	Conditions []api.Condition
}

// ReplicaSpec is one replica for Start to run.
type ReplicaSpec struct {
	Namespace, Function string
	// Instance names the replica ("<function>-<slot>"); it stays the same
	// across restarts of the slot.
	Instance string
	Slot     int
	Version  *Version
	Prepared Prepared
	// Output takes each line the replica prints (pid 0 when unknown),
	// from any goroutine; lines still in flight may follow Done.
	Output func(pid int, line string)
}

// Usage is what a replica used: CPU time since it started and memory now.
type Usage struct {
	CPU         time.Duration
	MemoryBytes int64
}

// UsageReader is implemented by a Runtime that can measure its replicas
// (one pass for many: the process runtime scans /proc once).
type UsageReader interface {
	Usage(rs []Replica) []Usage
}

// Forgetter is implemented by a Runtime that keeps something per function
// beyond its replicas (cgroup parents): Forget runs once a deleted
// function's replicas are all gone.
type Forgetter interface {
	Forget(namespace, name string)
}

// Closer is implemented by a Runtime with something to release once the
// Provider has stopped every replica.
type Closer interface {
	Close()
}

// Namer is implemented by a Runtime other than the process runtime: its
// name ("containerd") is what /system/info reports as the orchestration.
type Namer interface {
	Name() string
}
