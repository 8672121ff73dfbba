// Package provider declares what a backend must do to run functions. The
// gateway owns routing, auth, metrics, validation and shutdown; a provider
// only turns deployments into replicas (process, containerd, kubernetes) and
// tells the gateway where the ready replicas are.
//
// All names reaching a provider are already validated (RFC 1123) and every
// namespace is filled in. Errors should be *api.Error values so that the
// gateway can answer with the right status (404, 409, 400...).
package provider

import (
	"context"
	"time"

	"github.com/ferryfaas/ferry/api"
)

// Provider runs functions. Implementations must be safe for concurrent use.
type Provider interface {
	Functions
	Secrets
	Namespaces
	Resolver
	Logs
	// Info names the provider for /system/info.
	Info() api.ProviderInfo
	// Close stops all replicas the provider owns in this process (not the
	// deployed state: that is kept and restored on the next start).
	Close(ctx context.Context) error
}

// Functions is function CRUD and scaling.
type Functions interface {
	// Deploy creates a function; an existing one gives api.Conflict.
	Deploy(ctx context.Context, d api.FunctionDeployment) error
	// Update replaces a function's spec; a missing one gives api.NotFound.
	// Replicas are replaced without dropping requests where possible.
	Update(ctx context.Context, d api.FunctionDeployment) error
	Delete(ctx context.Context, namespace, name string) error
	List(ctx context.Context, namespace string) ([]api.FunctionStatus, error)
	Get(ctx context.Context, namespace, name string) (api.FunctionStatus, error)
	// Scale sets the desired replica count (0 is allowed).
	Scale(ctx context.Context, namespace, name string, replicas uint64) error
}

// Secrets stores secret values; values are write-only through the API.
type Secrets interface {
	ListSecrets(ctx context.Context, namespace string) ([]api.Secret, error) // names only
	CreateSecret(ctx context.Context, s api.Secret) error
	UpdateSecret(ctx context.Context, s api.Secret) error
	DeleteSecret(ctx context.Context, namespace, name string) error
}

// Namespaces are the function namespaces a provider serves.
type Namespaces interface {
	ListNamespaces(ctx context.Context) ([]string, error)
	GetNamespace(ctx context.Context, name string) (api.Namespace, error)
	CreateNamespace(ctx context.Context, ns api.Namespace) error
	UpdateNamespace(ctx context.Context, ns api.Namespace) error
	DeleteNamespace(ctx context.Context, name string) error
}

// Logs streams function logs. The channel is closed when the request is
// satisfied (no follow) or ctx is done (follow).
type Logs interface {
	Logs(ctx context.Context, req api.LogRequest) (<-chan api.LogMessage, error)
}

// Resolver tells the gateway where a function's ready replicas are. It is
// on the hot path of every invocation: implementations answer from memory.
type Resolver interface {
	// Route returns the ready replicas of a function, with a channel closed
	// the next time that set changes (so callers wait for readiness by
	// event, not by polling). ok is false when the function does not exist.
	Route(namespace, name string) (r Route, ok bool)
}

// Route is what the gateway needs to invoke a function.
type Route struct {
	Endpoints []Endpoint
	// Changed is closed when Endpoints or Desired change.
	Changed <-chan struct{}
	// Desired is the desired replica count (0 when scaled to zero).
	Desired uint64
	// Timeout is the per-function invocation timeout (0: gateway default),
	// see TimeoutOf.
	Timeout time.Duration
	// Failure explains why replicas cannot start (bad image, crash loop);
	// empty while starting normally. The gateway answers 503 with it.
	Failure string
}

// Endpoint is one ready replica.
type Endpoint struct {
	// Address is host:port of the replica's watchdog.
	Address string
	// Instance identifies the replica in logs (process id, pod name).
	Instance string
	// MetricsAddress is host:port of the replica's watchdog metrics server
	// (/metrics), when the gateway should re-expose those metrics on its
	// own /metrics; empty when Prometheus scrapes the replicas directly
	// (Kubernetes pods' :8081) or they have none.
	MetricsAddress string
	// Unix is a Unix socket of the same watchdog ('@' first: a Linux
	// abstract name) when the replica runs on the gateway's machine; the
	// gateway calls through it (event loops and pooled client), skipping
	// the TCP/IP stack, and falls back to Address when it cannot be
	// dialled. Empty: none.
	Unix string
}

// Elector is implemented by providers that several gateways share (the
// cluster is the store, as on Kubernetes). It elects the one gateway that
// makes the decisions which must be made once: autoscaling, scale to zero.
// Every gateway still serves every call.
type Elector interface {
	// Elect campaigns until ctx ends. lead runs (in its own goroutine) for
	// each term this gateway wins, with a context that ends when the term
	// does; a clean stop (ctx ended) releases the lease at once.
	Elect(ctx context.Context, o ElectOptions, lead func(ctx context.Context))
	// Lead does the provider's own once-only work (Kubernetes: reconciling
	// Function objects) for one term, until ctx ends.
	Lead(ctx context.Context)
}

// ElectOptions tune an Elector. A dead leader is replaced after at most
// LeaseDuration + RetryPeriod.
type ElectOptions struct {
	// Name of the lock (a Lease on Kubernetes).
	Name string
	// Identity of this gateway in the lock; unique per gateway.
	Identity string
	// LeaseDuration is how long followers wait before taking over a lease
	// that was not renewed.
	LeaseDuration time.Duration
	// RenewDeadline is how long the leader keeps retrying a renewal before
	// it gives the term up.
	RenewDeadline time.Duration
	// RetryPeriod is the interval between two attempts to get or renew.
	RetryPeriod time.Duration
}
