package cli

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"os"
	"sync"

	"github.com/ferryfaas/ferry/internal/serveconfig"
	"github.com/ferryfaas/ferry/provider"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/spf13/pflag"
)

// leaderPlugin elects the leader. Several gateways may share one cluster
// (--provider kubernetes with replicas behind a Service): each serves any
// call, but the decisions that must be made once (the autoscaler, which
// also idles functions to zero, and the provider's own: reconciling
// Function objects) are made by the leader of a Lease. With a provider
// that elects nothing (process) this gateway always leads.
func leaderPlugin() ServePlugin {
	var o provider.ElectOptions
	var wg sync.WaitGroup
	return ServePlugin{
		Name: "leader",
		Flags: func(fs *pflag.FlagSet, c *serveconfig.Config) {
			fs.StringVar(&o.Name, "leader-lease", "ferry-gateway", "name of the Lease the gateways sharing a cluster elect their leader with (in the gateway's namespace)")
			fs.StringVar(&o.Identity, "leader-id", "", "this gateway's identity in the Lease (default: host name and a random suffix)")
			fs.DurationVar(&c.LeaderLeaseDuration, "leader-lease-duration", c.LeaderLeaseDuration, "how long followers wait for a silent leader before taking over")
			fs.DurationVar(&c.LeaderRenewDeadline, "leader-renew-deadline", c.LeaderRenewDeadline, "how long the leader retries renewing before it steps down (less than the lease duration)")
			fs.DurationVar(&c.LeaderRetryPeriod, "leader-retry-period", c.LeaderRetryPeriod, "interval between two attempts to take or renew the Lease")
		},
		Setup: func(_ context.Context, s *Server) error {
			l := s.leader()
			el, ok := s.Provider.(provider.Elector)
			if ok {
				o.LeaseDuration, o.RenewDeadline, o.RetryPeriod = s.Config.LeaderLeaseDuration, s.Config.LeaderRenewDeadline, s.Config.LeaderRetryPeriod
				if err := checkElectOptions(&o); err != nil {
					return err
				}
			}
			s.OnStart = append(s.OnStart, func(ctx context.Context) error {
				if s.Metrics != nil {
					g := prometheus.NewGaugeFunc(prometheus.GaugeOpts{
						Name: "ferry_gateway_leader",
						Help: "1 while this gateway makes the once-only decisions (autoscaling, scale to zero), else 0.",
					}, func() float64 {
						if l.Leading() {
							return 1
						}
						return 0
					})
					if err := s.Metrics.Register(g); err != nil {
						return err
					}
				}
				if ok {
					s.Log.Info("campaigning for leadership", "identity", o.Identity, "lease", o.Name)
					wg.Add(2)
					go func() { defer wg.Done(); el.Elect(ctx, o, l.begin) }()
					go func() { defer wg.Done(); l.whileLeading(ctx, el.Lead) }()
				} else {
					go l.begin(ctx)
				}
				return nil
			})
			// Wait for the Lease's release, so the next gateway leads at
			// once instead of after the lease duration.
			s.OnStop = append(s.OnStop, func(ctx context.Context) error {
				done := make(chan struct{})
				go func() { wg.Wait(); close(done) }()
				select {
				case <-done:
				case <-ctx.Done():
				}
				return nil
			})
			return nil
		},
	}
}

// checkElectOptions fills the identity and refuses a Lease with no name
// (serveconfig refused timings with which a leader could lose its lease
// while still acting).
func checkElectOptions(o *provider.ElectOptions) error {
	if o.Name == "" {
		return fmt.Errorf("--leader-lease: a name is required")
	}
	if o.Identity == "" {
		host, _ := os.Hostname()
		b := make([]byte, 4)
		rand.Read(b)
		o.Identity = host + "_" + hex.EncodeToString(b)
	}
	return nil
}
