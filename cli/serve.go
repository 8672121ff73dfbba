package cli

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/http"
	"os"
	"os/signal"
	"path/filepath"
	"runtime"
	"syscall"

	"github.com/ferryfaas/ferry/api"
	"github.com/ferryfaas/ferry/gateway"
	"github.com/ferryfaas/ferry/internal/eventloop"
	"github.com/ferryfaas/ferry/internal/governor"
	"github.com/ferryfaas/ferry/internal/http1"
	"github.com/ferryfaas/ferry/internal/serveconfig"
	"github.com/ferryfaas/ferry/provider"
	"github.com/ferryfaas/ferry/provider/process"
	"github.com/ferryfaas/ferry/provider/wasmrt"
	"github.com/ferryfaas/ferry/store"
	"github.com/spf13/cobra"
)

func init() { register(newServeCmd) }

type serveFlags struct {
	listen, dataDir, providerName, watchdog, namespace, kubeconfig string
	pprofListen, adminPasswordFile                                 string
	kube                                                           KubeSettings
	cfg                                                            serveconfig.Config
	logRequests                                                    bool
	process                                                        processFlags
	ctrd                                                           containerdFlags
	wasm                                                           wasmFlags
	conns                                                          connFlags
	log                                                            logFlags
	plugins                                                        []ServePlugin
}

// servePlugins are serve's features, made afresh for each command (each
// holds its own flags' values). Setup and OnStart run in this order, OnStop
// in reverse, which is what the order is for:
//   - leader first: it stops last, releasing the Lease only once the
//     autoscaler, which acts while leading, has stopped;
//   - metrics before what it counts and what registers collectors on
//     s.Metrics (autoscale, async, triggers): its final flush comes after
//     they stopped;
//   - async before triggers, which invoke through /async-function/: the
//     queue stops after them;
//   - portal and browser only set the gateway's fields.
//
// TestServePluginOrder checks these.
func servePlugins() []ServePlugin {
	return []ServePlugin{leaderPlugin(), metricsPlugin(), autoscalePlugin(), asyncPlugin(), triggersPlugin(), portalPlugin(), browserPlugin()}
}

func newServeCmd() *cobra.Command {
	f := serveFlags{cfg: serveconfig.Defaults(), plugins: servePlugins()}
	cmd := &cobra.Command{
		Use:   "serve",
		Short: "Run the Ferry gateway and function runtime",
		Long: `Run the gateway (REST API, invocation, portal, metrics) and a provider that
runs the functions. The default provider, "process", needs nothing installed:
each replica is a supervised process behind the watchdog on a loopback port.
With --runtime containerd (root, containerd, runc and the CNI plugins) each
replica is a container of the function's image instead (docs/runtimes.md).
Functions labelled com.ferryfaas.runtime=wasm run beside them as WebAssembly
modules, a fresh sandbox per call (--wasm, on by default).

On first start an admin password is generated and written to
DATA/secrets/basic-auth-password (user "admin"); --admin-password-file (or
FERRY_ADMIN_PASSWORD) overrides it.

The gateway starts with one P (GOMAXPROCS=1) and takes more as its load
needs them; GOMAXPROCS in the environment fixes the count instead.

Function calls are proxied by epoll event loops, one per two CPUs
(--event-loops N sets the count; --event-loop=false serves every call with
a goroutine per connection instead).

Queued calls are written in a binary framing; --queue-codec json writes
the older JSON header (both are read), for a rolling upgrade.`,
		Example: `  ferry serve
  ferry serve --listen 0.0.0.0:8080 --data-dir /var/lib/ferry
  ferry serve --runtime containerd --containerd-subnet 10.62.0.0/16
  ferry serve --admin-password-file /run/secrets/ferry-admin`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			settleBackoff(cmd.Flags(), &f.cfg)
			return runServe(cmd.Context(), f)
		},
	}
	fs := cmd.Flags()
	fs.StringVar(&f.listen, "listen", envOr("FERRY_LISTEN", DefaultListen), "gateway listen address (env FERRY_LISTEN)")
	fs.StringVar(&f.dataDir, "data-dir", DefaultDataDir(), "state, artifacts, secrets and queue store (env FERRY_DATA_DIR)")
	fs.StringVar(&f.providerName, "provider", envOr("FERRY_PROVIDER", "process"), "where functions run: process or kubernetes (env FERRY_PROVIDER)")
	fs.StringVar(&f.kubeconfig, "kubeconfig", os.Getenv("KUBECONFIG"), "kubeconfig for --provider kubernetes (default: $KUBECONFIG, else in-cluster)")
	fs.StringVar(&f.kube.ImagePullPolicy, "kube-image-pull-policy", envOr("FERRY_KUBE_IMAGE_PULL_POLICY", "IfNotPresent"), "kubernetes provider: function pods' imagePullPolicy: IfNotPresent, Always or Never (env FERRY_KUBE_IMAGE_PULL_POLICY)")
	fs.BoolVar(&f.kube.DirectReadiness, "kube-direct-readiness", envOr("FERRY_KUBE_DIRECT_READINESS", "1") != "0", "kubernetes provider: route to a starting pod as soon as its watchdog answers /_/ready; false waits for the kubelet's probe to reach the EndpointSlice (env FERRY_KUBE_DIRECT_READINESS=0)")
	fs.StringVar(&f.watchdog, "watchdog", "", "watchdog binary for the process provider (default: 'watchdog' next to ferry, else `ferry watchdog`)")
	fs.StringVar(&f.namespace, "default-namespace", api.DefaultNamespace, "namespace for requests that name none")
	c := &f.cfg // (the defaults are serveconfig's: flags show them as they are)
	fs.DurationVar(&c.Timeout, "timeout", c.Timeout, "default invocation timeout (a function's exec_timeout/write_timeout env overrides)")
	fs.DurationVar(&c.Drain, "drain", c.Drain, "how long shutdown waits for in-flight calls")
	fs.DurationVar(&c.DrainKeepAlive, "drain-keepalive", c.DrainKeepAlive, "on shutdown, how long callers' connections are still served (within --drain), every answer with Connection: close, before those waiting for a request are closed: keep-alive callers reconnect elsewhere instead of meeting a closed connection")
	fs.Int64Var(&c.MaxBody, "max-body", c.MaxBody, "API request body limit in bytes")
	fs.BoolVar(&f.logRequests, "log-requests", false, "log one line per function call: method, path, status, duration, call id")
	fs.StringVar(&f.adminPasswordFile, "admin-password-file", "", "read the admin's password from this file (a trailing newline is dropped) instead of the generated DATA/secrets/basic-auth-password; unlike a flag's value it does not show in ps (env FERRY_ADMIN_PASSWORD gives the password itself)")
	fs.StringVar(&f.pprofListen, "pprof-listen", envOr("FERRY_PPROF_ADDR", ""), "serve Go's profiler (/debug/pprof/) on this loopback host:port, e.g. 127.0.0.1:6060; it has no authentication (default off) (env FERRY_PPROF_ADDR)")
	f.process.register(fs)
	f.ctrd.register(fs)
	f.wasm.register(fs)
	f.conns.register(fs, c)
	f.log.register(fs)
	for _, p := range f.plugins {
		if p.Flags != nil {
			p.Flags(fs, c)
		}
	}
	return cmd
}

func runServe(parent context.Context, f serveFlags) error {
	log, err := f.log.logger(os.Stderr)
	if err != nil {
		return err
	}
	if err := f.cfg.Validate(); err != nil {
		return err
	}
	if _, err := f.wasm.budgetBytes(); err != nil {
		return err // before anything is written to the data dir
	}
	pw, err := givenAdminPassword(f.adminPasswordFile)
	if err != nil {
		return err
	}
	if err := handOver(f.providerName); err != nil {
		return err
	}
	if f.providerName == "process" && f.ctrd.runtime == "containerd" && ContainerdRuntime == nil && runtime.GOOS == "linux" {
		if err := handOverTo("ferry-containerd", "--runtime containerd"); err != nil {
			return err
		}
	}
	// (after the hand-over: the binary handed over to listens itself)
	pprofLn, err := listenPprof(f.pprofListen)
	if err != nil {
		return err
	}
	if pprofLn != nil {
		defer pprofLn.Close()
	}
	tuneGC()
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	governor.Start(ctx, nil) // GOMAXPROCS follows the gateway's load (package governor)

	if err := os.MkdirAll(f.dataDir, 0o700); err != nil {
		return fmt.Errorf("create data dir: %w (choose another with --data-dir)", err)
	}
	creds, err := adminCredentials(f.dataDir, pw.password, log)
	if err != nil {
		return err
	}
	st, err := store.Open(f.dataDir)
	if err != nil {
		return err
	}
	defer st.Close()

	ln, err := net.Listen("tcp", f.listen)
	if err != nil {
		return fmt.Errorf("listen on %s: %w (is another ferry running? use --listen)", f.listen, err)
	}
	url := "http://" + loopbackURLHost(ln.Addr().String())

	s := &Server{Addr: ln.Addr().String(), URL: url, DataDir: f.dataDir, DefaultNamespace: f.namespace,
		Kubeconfig: f.kubeconfig, Kube: f.kube, Store: st, Log: log, Config: f.cfg}
	s.Provider, err = newProvider(ctx, f, s)
	if err != nil {
		ln.Close()
		return err
	}
	s.Gateway = &gateway.Config{
		Provider:           s.Provider,
		Credentials:        creds,
		DefaultNamespace:   f.namespace,
		MaxBodyBytes:       f.cfg.MaxBody,
		LogRequests:        f.logRequests,
		MaxInvokeBodyBytes: f.cfg.MaxInvokeBody,
		BodyTimeout:        f.cfg.BodyTimeout,
		DefaultTimeout:     f.cfg.Timeout,
		Version:            api.VersionInfo{SHA: Commit, Release: Version},
		System:             map[string]http.Handler{},
	}
	if a, ok := s.Provider.(interface {
		ArtifactRoutes() map[string]http.Handler
	}); ok {
		for k, v := range a.ArtifactRoutes() {
			s.Gateway.System[k] = v
		}
	}
	for k, v := range s.systemRoutes {
		s.Gateway.System[k] = v
	}
	for _, p := range f.plugins {
		if err := p.Setup(ctx, s); err != nil {
			ln.Close()
			return fmt.Errorf("%s: %w", p.Name, err)
		}
	}
	gw, err := gateway.New(*s.Gateway)
	if err != nil {
		ln.Close()
		return err
	}
	var h http.Handler = gw
	for _, w := range s.WrapHandler {
		h = w(h)
	}
	srv := &http.Server{Handler: h, ReadHeaderTimeout: f.cfg.ReadHeaderTimeout, IdleTimeout: f.cfg.IdleTimeout}
	srv.RegisterOnShutdown(gw.Drain)

	runCtx, cancelRun := context.WithCancel(ctx)
	defer cancelRun()
	// stopAll ends what the plugins and the provider started, in reverse.
	stopAll := func(dctx context.Context) {
		cancelRun()
		for i := len(s.OnStop) - 1; i >= 0; i-- {
			if err := s.OnStop[i](dctx); err != nil {
				log.Warn("stop", "err", err)
			}
		}
		gw.Close()
		if err := s.Provider.Close(dctx); err != nil {
			log.Warn("stopping replicas", "err", err)
		}
	}
	for _, start := range s.OnStart {
		if err := start(runCtx); err != nil {
			ln.Close()
			// What started before it stops as at any other end (a
			// leader's Lease released, not left to expire).
			dctx, cancel := context.WithTimeout(context.Background(), f.cfg.Drain)
			stopAll(dctx)
			cancel()
			return err
		}
	}
	if pprofLn != nil {
		servePprof(pprofLn, log)
	}
	errc := make(chan error, 1)
	// Function and async calls take http1's lean loop; everything else net/http.
	fast := gateway.IsInvocation
	if f.conns.asyncLean {
		fast = func(p string) bool { return gateway.IsInvocation(p) || gateway.IsAsyncInvocation(p) }
	}
	front := &http1.Server{HTTP: srv, Log: log, Fast: fast,
		BodyTimeout: f.cfg.BodyTimeout, MaxConns: connCap(f.cfg.MaxConns)}
	if f.conns.eventLoop {
		// Plain function calls are proxied by epoll loops (package
		// eventloop); they hand everything else to http1.
		front.Loop = &eventloop.Server{Planner: gw, Fallback: front.ServeConn, Loops: f.cfg.EventLoops,
			IdleTimeout: srv.IdleTimeout, HeadTimeout: srv.ReadHeaderTimeout, BodyTimeout: f.cfg.BodyTimeout, MaxBody: serveconfig.ReplayBody, Log: log}
	}
	go func() { errc <- front.Serve(joinListeners(ln, s.ExtraListeners...)) }()
	log.Info("ferry is serving", "url", url, "provider", f.providerName, "data", f.dataDir)
	if err := recordGatewayURL(f.dataDir, url); err != nil {
		log.Warn("the CLI will not find this server's password by itself", "err", err)
	}
	announce(os.Stderr, url, creds.User, f.dataDir, pw.from)

	select {
	case <-ctx.Done():
	case err := <-errc:
		if !errors.Is(err, http.ErrServerClosed) {
			log.Error("server failed", "err", err)
		}
	}
	log.Info("shutting down: draining in-flight calls", "max", f.cfg.Drain)
	dctx, cancel := context.WithTimeout(context.Background(), f.cfg.Drain)
	defer cancel()
	gw.Drain() // (readiness fails from here)
	front.Drain(dctx, f.cfg.DrainKeepAlive)
	front.Shutdown(dctx)
	stopAll(dctx)
	log.Info("stopped")
	return nil
}

func newProvider(ctx context.Context, f serveFlags, s *Server) (provider.Provider, error) {
	switch f.providerName {
	case "process":
		cfg := process.Config{
			DataDir: s.DataDir, Store: s.Store, GatewayURL: s.URL,
			Log: s.Log.With("provider", "process"), DefaultNamespace: f.namespace,
			DefaultTimeout: f.cfg.Timeout,
		}
		if err := f.process.apply(&cfg); err != nil {
			return nil, err
		}
		switch f.ctrd.runtime {
		case "process":
			wd, err := watchdogArgv(f.watchdog)
			if err != nil {
				return nil, err
			}
			cfg.Watchdog = wd
		case "containerd":
			if ContainerdRuntime == nil {
				return nil, fmt.Errorf("--runtime containerd needs Linux and ferry-containerd next to ferry (build it with scripts/build.sh)")
			}
			if err := ContainerdRuntime(ctx, f.ctrd.ContainerdSettings, s, &cfg); err != nil {
				return nil, err
			}
		case wasmrt.Name:
			if err := f.wasm.use(s, &cfg, true); err != nil {
				return nil, err
			}
		default:
			return nil, fmt.Errorf("--runtime %q: use process, containerd or wasm", f.ctrd.runtime)
		}
		if f.wasm.enabled && f.ctrd.runtime != wasmrt.Name {
			if err := f.wasm.use(s, &cfg, false); err != nil {
				return nil, err
			}
		}
		return process.New(ctx, cfg)
	}
	if p, ok := extraProviders[f.providerName]; ok {
		return p(ctx, s)
	}
	return nil, fmt.Errorf("unknown provider %q: use process or kubernetes", f.providerName)
}

// handOver replaces this process with ferry-<provider> (next to this
// binary) when the provider is not linked into this one, e.g. kubernetes.
func handOver(name string) error {
	if name == "process" || extraProviders[name] != nil {
		return nil
	}
	if name != "kubernetes" {
		return fmt.Errorf("unknown provider %q: use process or kubernetes", name)
	}
	return handOverTo("ferry-"+name, "--provider "+name)
}

// handOverTo replaces this process with the binary name next to this one,
// which has what the option asks for linked in.
func handOverTo(name, option string) error {
	self, err := os.Executable()
	if err != nil {
		return err
	}
	bin := filepath.Join(filepath.Dir(self), name)
	if !isExecutable(bin) {
		return fmt.Errorf("%s needs %s (build it with scripts/build.sh)", option, bin)
	}
	return syscall.Exec(bin, append([]string{bin}, os.Args[1:]...), os.Environ())
}

// watchdogArgv finds the watchdog: the flag, then "watchdog" next to the
// ferry binary, then this binary's hidden `watchdog` command.
func watchdogArgv(flag string) ([]string, error) {
	if flag != "" {
		return []string{flag}, nil
	}
	self, err := os.Executable()
	if err != nil {
		return nil, err
	}
	if p := filepath.Join(filepath.Dir(self), "watchdog"); isExecutable(p) {
		return []string{p}, nil
	}
	return []string{self, "watchdog"}, nil
}

func isExecutable(p string) bool {
	fi, err := os.Stat(p)
	return err == nil && !fi.IsDir() && fi.Mode()&0o111 != 0
}

// loopbackURLHost turns a wildcard listen address into one local clients
// can dial.
func loopbackURLHost(addr string) string {
	host, port, err := net.SplitHostPort(addr)
	if err != nil {
		return addr
	}
	if ip := net.ParseIP(host); ip == nil || ip.IsUnspecified() {
		host = "127.0.0.1"
	}
	return net.JoinHostPort(host, port)
}
