// Package gateway is Ferry's HTTP front door: the OpenFaaS REST API under
// /system, synchronous invocation under /function, health, and the mount
// points for the parts that live in their own packages (async queue, portal,
// metrics, alert sink). It owns routing, auth, validation, load balancing
// and shutdown; a provider.Provider does the rest.
package gateway

import (
	"context"
	"log/slog"
	"net/http"
	"time"

	"github.com/ferryfaas/ferry/api"
	"github.com/ferryfaas/ferry/provider"
)

// Config wires a gateway. Only Provider and Credentials are required; the
// other hooks are nil when a feature is off.
type Config struct {
	Provider provider.Provider
	// Credentials guard /system/* and /ui/ with basic auth. Never empty:
	// `ferry serve` generates a password on first start.
	Credentials Credentials
	// DefaultNamespace for requests that name none (api.DefaultNamespace).
	DefaultNamespace string
	// MaxBodyBytes limits API request bodies (not invocation bodies): 413 over it.
	MaxBodyBytes int64
	// MaxInvokeBodyBytes limits invocation bodies (0: no limit): 413 over.
	MaxInvokeBodyBytes int64
	// BodyTimeout bounds each wait for more of an invocation body served
	// by net/http (0: none): 408 when it stops coming. (The http1 and eventloop
	// fronts have their own.)
	BodyTimeout time.Duration
	// DefaultTimeout applies to invocations of functions without their own
	// (provider.Route.Timeout).
	DefaultTimeout time.Duration
	// Version of this build, for /system/info.
	Version api.VersionInfo
	// MaxReplicas caps POST /system/scale-function (0: 1000).
	MaxReplicas uint64
	// TrustedOrigins are other web origins ("https://admin.example.com")
	// whose pages may make state-changing /system and /ui requests (a UI
	// hosted elsewhere). The gateway's own origin is always trusted.
	TrustedOrigins []string
	// RestrictHosts answers only requests whose Host is an IP literal,
	// localhost, *.localhost or one of AllowedHosts; others get 421. Set
	// it for a gateway listening on loopback: it defeats DNS rebinding,
	// where a web page's own name is re-pointed at 127.0.0.1.
	RestrictHosts bool
	// AllowedHosts are more Host names to answer ("gw.example.com",
	// "*.example.com"), for proxies that keep Host; listing any turns
	// RestrictHosts on.
	AllowedHosts []string
	// TrustedFunctionPages drops the sandbox Content-Security-Policy and
	// nosniff that function responses get by default: only for gateways
	// whose every function is a trusted web app that needs the gateway's
	// origin (its storage, or same-origin calls to the API).
	TrustedFunctionPages bool
	// Log receives recovered panics and upstream failures (nil: slog.Default()).
	Log *slog.Logger
	// LogRequests logs one line per function call (method, path, status,
	// duration, call id) to Log.
	LogRequests bool

	// Observer is told about every invocation (metrics, autoscaler).
	Observer Observer
	// Waker starts a function that has no ready replicas (scale from zero).
	// Without one, such calls answer 503 at once... unless replicas are
	// starting, in which case the gateway waits for them up to the timeout.
	Waker Waker
	// Decorate fills Ferry's extra status fields (invocationCount from the
	// durable counters, usage, autoscaler decision) before a FunctionStatus
	// is returned.
	Decorate func(ctx context.Context, st *api.FunctionStatus)

	// Mounted handlers; nil means the route answers 404 (or 501 for async).
	Async   http.Handler // POST /async-function/..., no auth
	UI      http.Handler // /ui/..., behind auth
	Alert   http.Handler // POST /system/alert, behind auth
	Metrics http.Handler // GET /metrics, behind auth
	// System are extra routes behind auth, keyed by a ServeMux pattern such
	// as "POST /system/artifacts" or "GET /system/queue/dead-letters".
	System map[string]http.Handler
}

// Credentials for basic auth.
type Credentials struct {
	User     string
	Password string
}

// Observer receives invocation events. fn is "name.namespace", as in the
// function_name label of the gateway metrics. Calls are on the hot path and
// must not block.
type Observer interface {
	Started(fn string)
	Finished(fn string, code int, d time.Duration)
}

// ColdStartObserver is an Observer that also wants the time a call waited
// for the function it woke from zero replicas to have a ready one.
type ColdStartObserver interface {
	ColdStarted(fn string, d time.Duration)
}

// Waker brings a function from zero ready replicas to at least one. The
// gateway calls it, then waits on provider.Route.Changed until a replica is
// ready. It returns an *api.Error (503 with the reason) when the function
// cannot start. Concurrent calls for one function must share one start.
type Waker interface {
	Wake(ctx context.Context, namespace, name string) error
}
