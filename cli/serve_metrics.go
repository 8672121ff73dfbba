package cli

import (
	"context"
	"fmt"
	"net"
	"net/http"
	"sync"
	"time"

	"github.com/ferryfaas/ferry/api"
	"github.com/ferryfaas/ferry/autoscale"
	"github.com/ferryfaas/ferry/gateway"
	"github.com/ferryfaas/ferry/internal/serveconfig"
	"github.com/ferryfaas/ferry/metrics"
	"github.com/prometheus/client_golang/prometheus/promhttp"
	"github.com/spf13/pflag"
)

var (
	_ gateway.Observer          = (*metrics.Recorder)(nil)
	_ gateway.ColdStartObserver = (*metrics.Recorder)(nil)
)

// metricsPlugin is the gateway's metrics (/metrics, contract section 5,
// plus the watchdog metrics of every ready replica the provider exposes,
// see replicaTargets), the portal's /system/stats and invocationCount that
// survives restarts (kept in the store, flushed every --counter-flush and
// on shutdown; a kill -9 loses at most one interval of counts), or read
// from Prometheus with --prometheus-url.
func metricsPlugin() ServePlugin {
	var promURL, listen string
	return ServePlugin{
		Name: "metrics",
		Flags: func(fs *pflag.FlagSet, c *serveconfig.Config) {
			fs.DurationVar(&c.CounterFlush, "counter-flush", c.CounterFlush, "how often invocation totals are written to the data dir, or the cluster with --provider kubernetes (a crash loses at most this much; gateways sharing a cluster learn each other's counts this late)")
			fs.StringVar(&listen, "metrics-listen", "", "also serve /metrics without auth on this host:port, for Prometheus (e.g. 127.0.0.1:8082, as OpenFaaS; default off: /metrics on the API port needs the admin's basic auth)")
			fs.StringVar(&promURL, "prometheus-url", "", "read invocationCount from this Prometheus (e.g. http://127.0.0.1:9090; the local count is shown while it is unreachable)")
		},
		Setup: func(ctx context.Context, s *Server) error {
			sh := sharedScaling(s)
			rec := sh.rec
			var durable *metrics.Durable
			var err error
			if cs, ok := s.Provider.(metrics.CounterStore); ok {
				// Providers that keep no local state hold the totals themselves.
				durable, err = metrics.OpenDurableOn(ctx, cs, rec)
				if _, shared := cs.(metrics.SharedCounterStore); shared && err == nil {
					sh.elsewhere = durable.Elsewhere
				}
			} else {
				durable, err = metrics.OpenDurable(s.Store, rec)
			}
			if err != nil {
				return err
			}
			s.Gateway.Observer = rec
			s.Metrics = rec.Registry() // other features (the queue) add their metrics here
			// Fetched only when /metrics is scraped: nothing on the invocation path.
			if err := s.Metrics.Register(metrics.NewReplicaCollector(replicaTargets(s, sh.list), 0, s.Log)); err != nil {
				return err
			}
			s.Gateway.Metrics = promhttp.HandlerFor(rec.Registry(), promhttp.HandlerOpts{})
			if listen != "" {
				if err := serveMetricsOnly(s, listen); err != nil {
					return err
				}
			}
			if s.Gateway.System == nil {
				s.Gateway.System = map[string]http.Handler{}
			}
			s.Gateway.System["GET /system/stats"] = metrics.StatsHandler(rec, durable.Total)
			if promURL != "" {
				pc, err := metrics.NewPromCounts(promURL, durable.Total, s.Log)
				if err != nil {
					return err
				}
				chainDecorate(s.Gateway, pc.Decorate)
			} else {
				chainDecorate(s.Gateway, durable.Decorate)
			}

			var wg sync.WaitGroup
			s.OnStart = append(s.OnStart, func(ctx context.Context) error {
				wg.Add(2)
				go func() { defer wg.Done(); rec.Run(ctx, sh.list, s.Log) }()
				go func() {
					defer wg.Done()
					durable.Run(ctx, s.Config.CounterFlush, func(err error) { s.Log.Warn("metrics", "err", err) })
				}()
				return nil
			})
			s.OnStop = append(s.OnStop, func(context.Context) error {
				wg.Wait() // the run context is cancelled before OnStop; Run flushes on its way out
				return durable.Flush()
			})
			return nil
		},
	}
}

// serveMetricsOnly serves GET /metrics, and nothing else, without auth on
// its own listener: the API port's /metrics needs the admin's credentials,
// which a Prometheus outside the machine's trust should not hold.
func serveMetricsOnly(s *Server, addr string) error {
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		return fmt.Errorf("--metrics-listen %s: %w", addr, err)
	}
	mux := http.NewServeMux()
	mux.Handle("GET /metrics", s.Gateway.Metrics)
	srv := &http.Server{Handler: mux, ReadHeaderTimeout: s.Config.ReadHeaderTimeout, IdleTimeout: s.Config.IdleTimeout}
	s.OnStart = append(s.OnStart, func(context.Context) error {
		go srv.Serve(ln)
		s.Log.Info("metrics without auth", "url", "http://"+ln.Addr().String()+"/metrics")
		return nil
	})
	s.OnStop = append(s.OnStop, func(context.Context) error { return srv.Close() })
	return nil
}

// replicaTargets lists the ready replicas whose provider gives a metrics
// address (the process provider; Kubernetes pods are scraped directly).
func replicaTargets(s *Server, list metrics.ListFunc) metrics.TargetsFunc {
	return func(ctx context.Context) ([]metrics.ReplicaTarget, error) {
		fns, err := list(ctx)
		if err != nil {
			return nil, err
		}
		var out []metrics.ReplicaTarget
		for i := range fns {
			st := &fns[i]
			r, ok := s.Provider.Route(st.Namespace, st.Name)
			if !ok {
				continue
			}
			for _, ep := range r.Endpoints {
				if ep.MetricsAddress != "" {
					out = append(out, metrics.ReplicaTarget{Function: metrics.FunctionName(st), Instance: ep.Instance, Address: ep.MetricsAddress})
				}
			}
		}
		return out, nil
	}
}

// chainDecorate adds f after any Decorate already set.
func chainDecorate(cfg *gateway.Config, f func(context.Context, *api.FunctionStatus)) {
	prev := cfg.Decorate
	if prev == nil {
		cfg.Decorate = f
		return
	}
	cfg.Decorate = func(ctx context.Context, st *api.FunctionStatus) {
		prev(ctx, st)
		f(ctx, st)
	}
}

// scaling is what the metrics and autoscale plugins share for one Server:
// the invocation recorder, the last scaling decisions, and one cached
// listing of all functions (the provider's List scans /proc for usage, so
// the two once-a-second loops share a single call).
type scaling struct {
	rec       *metrics.Recorder
	decisions *autoscale.Decisions
	list      metrics.ListFunc
	// elsewhere gives the calls other gateways sharing the cluster served
	// (nil with a store of this gateway's own); set by the metrics plugin.
	elsewhere func(fn string) float64
}

// sharedScaling is s's scaling, made on first use (plugins' Setup runs in
// one goroutine).
func sharedScaling(s *Server) *scaling {
	if s.scale == nil {
		s.scale = &scaling{rec: metrics.NewRecorder(), decisions: autoscale.NewDecisions(), list: cachedList(s, 500*time.Millisecond)}
	}
	return s.scale
}

// cachedList lists every function of every namespace, reusing a listing
// younger than maxAge.
func cachedList(s *Server, maxAge time.Duration) metrics.ListFunc {
	var mu sync.Mutex
	var at time.Time
	var last []api.FunctionStatus
	return func(ctx context.Context) ([]api.FunctionStatus, error) {
		mu.Lock()
		defer mu.Unlock()
		if !at.IsZero() && time.Since(at) < maxAge {
			return last, nil
		}
		nss, err := s.Provider.ListNamespaces(ctx)
		if err != nil {
			return nil, err
		}
		var all []api.FunctionStatus
		for _, ns := range nss {
			fns, err := s.Provider.List(ctx, ns)
			if err != nil {
				if api.IsNotFound(err) {
					continue // deleted meanwhile
				}
				return nil, err
			}
			all = append(all, fns...)
		}
		at, last = time.Now(), all
		return all, nil
	}
}
