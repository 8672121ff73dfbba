package gateway

import (
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"path"
	"strings"
	"sync"
	"time"

	"github.com/ferryfaas/ferry/api"
	"github.com/ferryfaas/ferry/internal/serveconfig"
)

// Defaults for zero Config fields (those of ferry serve's flags).
const (
	defaultMaxBody     = serveconfig.MaxBody
	defaultTimeout     = serveconfig.Timeout
	defaultMaxReplicas = 1000
)

// Gateway is Ferry's HTTP front door. It is an http.Handler; run it in an
// http.Server and drain it with Server.Shutdown, then call Close.
type Gateway struct {
	cfg       Config
	log       *slog.Logger
	mux       *http.ServeMux
	auth      basicAuth
	origins   *originGuard
	hosts     *hostGuard      // nil: every Host
	transport *http.Transport // streamed bodies
	fast      *fastPool       // everything else
	lb        balancer
	ids       callIDs
	// nsSuffix is "." + DefaultNamespace, for "name.namespace" labels.
	nsSuffix string
	// retryWait bounds the wait for a new replica after all failed a call.
	retryWait time.Duration
	// goneWait bounds the wait for the provider to drop a replica that
	// failed a call (see replicaGone).
	goneWait time.Duration
	// draining is closed by Drain.
	draining  chan struct{}
	drainOnce sync.Once
}

// New checks cfg, fills defaults and builds the routes.
func New(cfg Config) (g *Gateway, err error) {
	if cfg.Provider == nil {
		return nil, errors.New("gateway: Config.Provider is required")
	}
	if cfg.Credentials.User == "" || cfg.Credentials.Password == "" {
		return nil, errors.New("gateway: Config.Credentials needs a user and a password (basic auth guards /system and /ui)")
	}
	if cfg.DefaultNamespace == "" {
		cfg.DefaultNamespace = api.DefaultNamespace
	}
	if err := api.ValidateName("namespace", cfg.DefaultNamespace); err != nil {
		return nil, fmt.Errorf("gateway: default namespace: %w", err)
	}
	if cfg.MaxBodyBytes <= 0 {
		cfg.MaxBodyBytes = defaultMaxBody
	}
	if cfg.DefaultTimeout <= 0 {
		cfg.DefaultTimeout = defaultTimeout
	}
	if cfg.MaxReplicas == 0 {
		cfg.MaxReplicas = defaultMaxReplicas
	}
	if cfg.Log == nil {
		cfg.Log = slog.Default()
	}
	g = &Gateway{
		cfg:       cfg,
		log:       cfg.Log,
		mux:       http.NewServeMux(),
		auth:      newBasicAuth(cfg.Credentials),
		transport: newTransport(),
		fast:      newFastPool(),
		nsSuffix:  "." + cfg.DefaultNamespace,
		retryWait: retryWait,
		goneWait:  250 * time.Millisecond,
		draining:  make(chan struct{}),
	}
	if g.origins, err = newOriginGuard(cfg.TrustedOrigins); err != nil {
		return nil, err
	}
	if g.hosts, err = newHostGuard(cfg.RestrictHosts, cfg.AllowedHosts); err != nil {
		return nil, err
	}
	g.lb.init()
	g.ids.init()
	if err = g.routes(); err != nil {
		return nil, err
	}
	return g, nil
}

// Close releases idle upstream connections. Call it after the http.Server
// has drained.
func (g *Gateway) Close() {
	g.Drain()
	g.transport.CloseIdleConnections()
	g.fast.close()
}

// Drain marks the gateway as shutting down: /healthz answers 503 and
// follow-mode log streams end, so that http.Server.Shutdown waits only for
// invocations. Register it with srv.RegisterOnShutdown(gw.Drain).
func (g *Gateway) Drain() { g.drainOnce.Do(func() { close(g.draining) }) }

// ServeHTTP dispatches invocations on a fast path (no mux, no auth) and
// everything else through the ServeMux, with basic auth (and the browser
// checks) in front of /system, /ui and /metrics.
func (g *Gateway) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	defer g.recoverPanic(w, r)
	if !g.hosts.ok(r.Host) {
		misdirected(w)
		return
	}
	p := r.URL.Path
	switch {
	case IsInvocation(p):
		g.serveInvoke(w, r)
		return
	case IsAsyncInvocation(p):
		g.serveAsync(w, r)
		return
	}
	if needsAuth(p) {
		if !g.guardBrowser(w, r) {
			return
		}
		if !g.auth.ok(r) {
			g.auth.challenge(w)
			return
		}
	}
	g.mux.ServeHTTP(w, r)
}

// IsAsyncInvocation reports whether a path is an asynchronous call (an
// enqueue): like a synchronous call, plain ones take the lean loop.
func IsAsyncInvocation(path string) bool { return strings.HasPrefix(path, "/async-function/") }

// IsInvocation reports whether a path is a synchronous function call: the
// hot path, which the server may give its lean HTTP loop (package http1).
func IsInvocation(path string) bool { return strings.HasPrefix(path, "/function/") }

// needsAuth reports whether a path is /metrics or under /system or /ui.
// Unclean paths are judged by their cleaned form, which is where the mux
// would send them.
func needsAuth(p string) bool {
	if strings.Contains(p, "/.") || strings.Contains(p, "//") {
		p = path.Clean(p)
	}
	return p == "/metrics" || p == "/system" || strings.HasPrefix(p, "/system/") || p == "/ui" || strings.HasPrefix(p, "/ui/")
}

// routes registers every API route, one handler per file.
func (g *Gateway) routes() (err error) {
	// ServeMux panics on conflicting patterns (e.g. a bad cfg.System key);
	// turn that into an error from New.
	defer func() {
		if p := recover(); p != nil {
			err = fmt.Errorf("gateway: %v", p)
		}
	}()
	m := g.mux
	m.Handle("GET /system/functions", g.wrap(g.listFunctions))
	m.Handle("POST /system/functions", g.wrap(g.deployFunction))
	m.Handle("PUT /system/functions", g.wrap(g.updateFunction))
	m.Handle("DELETE /system/functions", g.wrap(g.deleteFunction))
	m.Handle("GET /system/function/{name}", g.wrap(g.getFunction))
	m.Handle("POST /system/scale-function/{name}", g.wrap(g.scaleFunction))
	m.Handle("GET /system/secrets", g.wrap(g.listSecrets))
	m.Handle("POST /system/secrets", g.wrap(g.createSecret))
	m.Handle("PUT /system/secrets", g.wrap(g.updateSecret))
	m.Handle("DELETE /system/secrets", g.wrap(g.deleteSecret))
	m.Handle("GET /system/logs", g.wrap(g.logs))
	m.Handle("GET /system/namespaces", g.wrap(g.listNamespaces))
	m.Handle("GET /system/namespace/{ns}", g.wrap(g.getNamespace))
	m.Handle("POST /system/namespace/{ns}", g.wrap(g.createNamespace))
	m.Handle("PUT /system/namespace/{ns}", g.wrap(g.updateNamespace))
	m.Handle("DELETE /system/namespace/{ns}", g.wrap(g.deleteNamespace))
	// The go-sdk names the namespace in the body only.
	m.Handle("POST /system/namespace/{$}", g.wrap(g.createNamespace))
	m.Handle("PUT /system/namespace/{$}", g.wrap(g.updateNamespace))
	m.Handle("DELETE /system/namespace/{$}", g.wrap(g.deleteNamespace))
	m.Handle("GET /system/info", g.wrap(g.info))
	m.Handle("GET /healthz", g.wrap(g.healthz))
	m.Handle("POST /system/alert", g.mounted(g.cfg.Alert, "the alert sink (autoscaling) is not enabled"))
	m.Handle("GET /metrics", g.mounted(g.cfg.Metrics, "metrics are not enabled"))
	m.Handle("/ui/", g.mounted(g.cfg.UI, "the portal is not enabled"))
	m.Handle("GET /{$}", http.RedirectHandler("/ui/", http.StatusFound))
	for pattern, h := range g.cfg.System {
		if h == nil {
			return fmt.Errorf("gateway: System route %q has a nil handler", pattern)
		}
		if !systemPattern(pattern) {
			return fmt.Errorf("gateway: System route %q must be under /system/ (it is served behind basic auth)", pattern)
		}
		m.Handle(pattern, h)
	}
	return nil
}

// systemPattern checks that an extra route is under /system/, so that
// needsAuth guards it.
func systemPattern(p string) bool {
	if i := strings.IndexByte(p, ' '); i >= 0 {
		p = strings.TrimLeft(p[i+1:], " ")
	}
	return strings.HasPrefix(p, "/system/")
}
