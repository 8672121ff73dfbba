package cli

import (
	"context"
	"net/http"
	"sync"
	"time"

	"github.com/ferryfaas/ferry/api"
	"github.com/ferryfaas/ferry/gateway"
	"github.com/ferryfaas/ferry/metrics"
	"github.com/prometheus/client_golang/prometheus/promhttp"
	"github.com/spf13/pflag"
)

var _ gateway.Observer = (*metrics.Recorder)(nil)

// Gateway metrics (/metrics, contract section 5), the portal's
// /system/stats and invocationCount that survives restarts (kept in the
// store, flushed every --counter-flush and on shutdown; a kill -9 loses at
// most one interval of counts).
func init() {
	var flush time.Duration
	registerServePlugin(ServePlugin{
		Name: "metrics",
		Flags: func(fs *pflag.FlagSet) {
			fs.DurationVar(&flush, "counter-flush", metrics.DefaultFlushInterval, "how often invocation totals are written to the data dir (a crash loses at most this much)")
		},
		Setup: func(_ context.Context, s *Server) error {
			sh := sharedScaling(s)
			rec := sh.rec
			durable, err := metrics.OpenDurable(s.Store, rec)
			if err != nil {
				return err
			}
			if flush <= 0 {
				flush = metrics.DefaultFlushInterval
			}
			s.Gateway.Observer = rec
			s.Gateway.Metrics = promhttp.HandlerFor(rec.Registry(), promhttp.HandlerOpts{})
			if s.Gateway.System == nil {
				s.Gateway.System = map[string]http.Handler{}
			}
			s.Gateway.System["GET /system/stats"] = metrics.StatsHandler(rec, durable.Total)
			chainDecorate(s.Gateway, durable.Decorate)

			var wg sync.WaitGroup
			s.OnStart = append(s.OnStart, func(ctx context.Context) error {
				wg.Add(2)
				go func() { defer wg.Done(); rec.Run(ctx, sh.list, s.Log) }()
				go func() {
					defer wg.Done()
					durable.Run(ctx, flush, func(err error) { s.Log.Warn("metrics", "err", err) })
				}()
				return nil
			})
			s.OnStop = append(s.OnStop, func(context.Context) error {
				wg.Wait() // the run context is cancelled before OnStop; Run flushes on its way out
				return durable.Flush()
			})
			return nil
		},
	})
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
