package cli

import (
	"context"
	"log/slog"
	"net"
	"net/http"

	"github.com/ferryfaas/ferry/gateway"
	"github.com/ferryfaas/ferry/internal/serveconfig"
	"github.com/ferryfaas/ferry/provider"
	"github.com/ferryfaas/ferry/store"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/spf13/pflag"
)

// Server is what `ferry serve` assembles. Features that live in their own
// packages (metrics, autoscaler, async queue, portal) plug into it through a
// ServePlugin made in their own cli/serve_*.go file and listed, in order,
// by servePlugins, so that serve.go stays short and features do not edit
// each other's wiring.
type Server struct {
	// Addr is the gateway's listen address (default 127.0.0.1:8080).
	Addr string
	// URL is how local components reach the gateway, e.g. http://127.0.0.1:8080.
	URL string
	// DataDir holds the database, artifacts, secrets and NATS store.
	DataDir string
	// Kubeconfig for providers that talk to a cluster (--kubeconfig).
	Kubeconfig string
	// Kube are the kubernetes provider's settings (--kube-*).
	Kube KubeSettings
	// DefaultNamespace for requests that name none.
	DefaultNamespace string
	Store            *store.Store
	// Config is serve's numeric settings, validated (its flags).
	Config serveconfig.Config
	// Provider runs the functions; set before plugins run.
	Provider provider.Provider
	// Gateway is filled by plugins (hooks, mounted handlers) before the
	// gateway is built.
	Gateway *gateway.Config
	Log     *slog.Logger

	// OnStart runs after the gateway listens; each func may start
	// goroutines that end when ctx is cancelled.
	OnStart []func(ctx context.Context) error
	// OnStop runs in reverse order on shutdown, after in-flight calls drain.
	OnStop []func(ctx context.Context) error
	// Metrics is the registry that /metrics serves, set by the metrics
	// plugin's Setup; other plugins register collectors on it from OnStart
	// (which runs after every Setup). Nil when metrics are off.
	Metrics prometheus.Registerer
	// Handler is the final HTTP handler; plugins may wrap it in OnStart-free
	// middleware through WrapHandler.
	WrapHandler []func(http.Handler) http.Handler
	// ExtraListeners are served by the gateway besides --listen (the
	// containerd runtime's bridge address, for its replicas).
	ExtraListeners []net.Listener
	// systemRoutes are the provider's routes behind auth (images).
	systemRoutes map[string]http.Handler
	// lead says whether this gateway makes the once-only decisions
	// (serve_leader.go); use leader().
	lead *leadership
	// scale is what the metrics and autoscale plugins share; use
	// sharedScaling().
	scale *scaling
}

// leader is this server's leadership, made on first use (plugins' Setup
// runs in one goroutine).
func (s *Server) leader() *leadership {
	if s.lead == nil {
		s.lead = newLeadership()
	}
	return s.lead
}

// KubeSettings are the kubernetes provider's own flags. They are parsed by
// every ferry binary, so that the default one can hand them over to
// ferry-kubernetes unchanged.
type KubeSettings struct {
	// ImagePullPolicy of function pods: IfNotPresent, Always or Never.
	ImagePullPolicy string
	// DirectReadiness routes to a starting pod once its watchdog answers,
	// before the kubelet's probe reaches the EndpointSlice.
	DirectReadiness bool
}

// ServePlugin adds a feature to `ferry serve`.
type ServePlugin struct {
	Name string
	// Flags registers the plugin's flags on `ferry serve`; the numeric ones
	// are c's fields, defaults and all (Setup finds them in s.Config).
	Flags func(fs *pflag.FlagSet, c *serveconfig.Config)
	// Setup runs after the store and provider exist and before the gateway
	// is built; it fills s.Gateway hooks and appends OnStart/OnStop.
	Setup func(ctx context.Context, s *Server) error
}

// extraProviders are providers other than the default, registered by name
// (--provider NAME) from their own packages (see cli/kube).
var extraProviders = map[string]func(ctx context.Context, s *Server) (provider.Provider, error){}

// RegisterProvider makes `ferry serve --provider NAME` use newProvider.
// Call it from an init function.
func RegisterProvider(name string, newProvider func(ctx context.Context, s *Server) (provider.Provider, error)) {
	extraProviders[name] = newProvider
}
