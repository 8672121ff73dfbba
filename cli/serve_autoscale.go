package cli

import (
	"context"
	"sync"
	"sync/atomic"
	"time"

	"github.com/ferryfaas/ferry/autoscale"
	"github.com/ferryfaas/ferry/gateway"
	"github.com/ferryfaas/ferry/internal/serveconfig"
	"github.com/spf13/pflag"
)

var _ gateway.Waker = (*autoscale.Waker)(nil)

// autoscalePlugin is the built-in autoscaler (on unless --autoscale=false),
// scale from zero (the Waker, always on), and the Alertmanager sink POST
// /system/alert.
func autoscalePlugin() ServePlugin {
	var (
		enabled bool
	)
	return ServePlugin{
		Name: "autoscale",
		Flags: func(fs *pflag.FlagSet, c *serveconfig.Config) {
			fs.BoolVar(&enabled, "autoscale", true, "scale functions that set com.openfaas.scale.target or .type from their load, and idle those with scale.zero=true (false when Prometheus alerts drive scaling)")
			fs.DurationVar(&c.AutoscaleWindow, "autoscale-window", c.AutoscaleWindow, "scale-down stabilisation window: replicas go down only to the highest need seen within it")
			fs.DurationVar(&c.AutoscaleDownPeriod, "autoscale-down-period", c.AutoscaleDownPeriod, "least time between two scale-down steps")
			fs.DurationVar(&c.WakeTimeout, "wake-timeout", c.WakeTimeout, "how long a request to a function at zero replicas waits for one to start")
			fs.DurationVar(&c.AlertStepPeriod, "alert-step-period", c.AlertStepPeriod, "after an alert resolves, time between scale-down steps toward min")
		},
		Setup: func(_ context.Context, s *Server) error {
			c := s.Config
			sh := sharedScaling(s)
			log := s.Log.With("component", "autoscale")
			waker := autoscale.NewWaker(s.Provider, c.WakeTimeout, autoscale.RealClock)
			s.Gateway.Waker = waker
			alerts := autoscale.NewAlertHandler(s.Provider, sh.decisions, autoscale.RealClock, c.AlertStepPeriod, log)
			s.Gateway.Alert = alerts
			chainDecorate(s.Gateway, sh.decisions.Decorate)

			// One autoscaler per term of leadership: a new leader starts with
			// every function freshly active, so it never idles to zero a
			// function whose calls went to the previous leader.
			var cur atomic.Pointer[autoscale.Autoscaler]
			waker.OnWake = func(fn string, now time.Time) {
				if as := cur.Load(); as != nil {
					as.Touch(fn, now)
				}
			}
			var wg sync.WaitGroup
			s.OnStart = append(s.OnStart, func(ctx context.Context) error {
				wg.Add(1)
				go func() { defer wg.Done(); alerts.Run(ctx) }()
				if enabled {
					wg.Add(1)
					go func() {
						defer wg.Done()
						s.leader().whileLeading(ctx, func(ctx context.Context) {
							as := autoscale.New(sh.list, sh.rec, s.Provider, sh.decisions, autoscale.Options{Window: c.AutoscaleWindow, DownPeriod: c.AutoscaleDownPeriod, Log: log, Elsewhere: sh.elsewhere})
							cur.Store(as)
							log.Info("autoscaler on: this gateway leads")
							as.Run(ctx, autoscale.RealClock)
							cur.Store(nil)
							log.Info("autoscaler off: this gateway no longer leads")
						})
					}()
				}
				return nil
			})
			s.OnStop = append(s.OnStop, func(context.Context) error { wg.Wait(); return nil })
			return nil
		},
	}
}
