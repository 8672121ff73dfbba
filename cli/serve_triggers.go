package cli

import (
	"context"
	"fmt"
	"net"
	"path/filepath"

	"github.com/ferryfaas/ferry/client"
	"github.com/ferryfaas/ferry/internal/serveconfig"
	"github.com/ferryfaas/ferry/queue"
	"github.com/ferryfaas/ferry/trigger"
	"github.com/spf13/pflag"
)

// triggersPlugin runs event triggers inside serve: Kafka topics
// (--kafka-brokers), cron schedules (--trigger-cron) and NATS subjects
// (--trigger-nats-subjects) invoke the functions whose annotations
// subscribe to them, through this gateway's own /function/ and
// /async-function/ routes.
func triggersPlugin() ServePlugin {
	var (
		fs       *pflag.FlagSet
		kf       kafkaFlags
		cronOn   bool
		subjects bool
	)
	return ServePlugin{
		Name: "triggers",
		Flags: func(f *pflag.FlagSet, c *serveconfig.Config) {
			fs = f
			kf.register(f, c, "Kafka brokers (host:port,...): functions answer the topics of their `topic` annotation (default off)")
			f.BoolVar(&cronOn, "trigger-cron", false, "run functions annotated `topic: cron-function` on their `schedule` (once per tick across gateways sharing --nats-url)")
			f.DurationVar(&c.TriggerCronGrace, "trigger-cron-grace", c.TriggerCronGrace, "a cron tick missed while serve was down still runs (once) if it is at most this old")
			f.BoolVar(&subjects, "trigger-nats-subjects", false, "functions answer the NATS subjects of their `topic` annotation, on --nats-url or the embedded NATS of --nats-listen")
			f.DurationVar(&c.TriggerPoll, "trigger-poll", c.TriggerPoll, "how often triggers re-read the deployed functions (deploys, updates and deletes take effect within it)")
		},
		Setup: func(_ context.Context, s *Server) error {
			if !cronOn && !subjects && len(kf.brokers) == 0 {
				return nil
			}
			log := s.Log.With("component", "trigger")
			m := trigger.NewMetrics()
			dialer, err := serveNATS(fs, s.DataDir, subjects)
			if err != nil {
				return err
			}
			var sources []trigger.Source
			if len(kf.brokers) > 0 {
				src, err := kf.source(s.Config, log, m)
				if err != nil {
					return err
				}
				sources = append(sources, src)
			}
			if cronOn {
				src, err := cronSource(filepath.Join(s.DataDir, "triggers", "cron.json"), s.Config.TriggerCronGrace, dialer, log)
				if err != nil {
					return err
				}
				sources = append(sources, src)
			}
			if subjects {
				sources = append(sources, dialer.natsSource(log, m))
			}
			// A subscribed function's status says when its broker is down.
			chainDecorate(s.Gateway, m.Decorate)
			creds := s.Gateway.Credentials
			iv := trigger.NewInvoker(client.New(s.URL, creds.User, creds.Password), m, log)
			// The provider is the catalog: listing it is an in-memory read.
			ix := trigger.NewIndex(s.Provider, s.Config.TriggerPoll, log)
			done := make(chan struct{})
			s.OnStart = append(s.OnStart, func(ctx context.Context) error {
				if err := registerCollector(s.Metrics, m); err != nil {
					log.Warn("trigger metrics not registered", "err", err)
				}
				go func() {
					defer close(done)
					trigger.Run(ctx, ix, iv, log, sources...)
				}()
				return nil
			})
			s.OnStop = append(s.OnStop, func(ctx context.Context) error {
				select {
				case <-done:
				case <-ctx.Done():
				}
				if dialer != nil {
					dialer.close()
				}
				return nil
			})
			return nil
		},
	}
}

// serveNATS is the NATS the triggers use inside serve: --nats-url (shared
// by several gateways: cron claims its ticks there), else the embedded
// server when it listens (--nats-listen). Nil when there is none, which
// only the subject trigger needs. The embedded server requires the same
// credentials as the queue's.
func serveNATS(fs *pflag.FlagSet, dataDir string, required bool) (*natsDialer, error) {
	get := func(name string) string {
		if f := fs.Lookup(name); f != nil {
			return f.Value.String()
		}
		return ""
	}
	o := queue.ConnectOptions{URL: get("nats-url"), Creds: get("nats-creds"), User: get("nats-user"),
		Password: get("nats-password"), Name: "ferry-trigger"}
	if o.URL == "" {
		if l := get("nats-listen"); l != "" {
			host, port, err := net.SplitHostPort(l)
			if err != nil {
				return nil, fmt.Errorf("--nats-listen %q: use host:port", l)
			}
			if host == "" || net.ParseIP(host).IsUnspecified() {
				host = "127.0.0.1"
			}
			o.URL = "nats://" + net.JoinHostPort(host, port)
			if o.User, o.Password, err = embeddedNATSCredentials(dataDir, o.User, o.Password); err != nil {
				return nil, err
			}
		}
	}
	if o.URL == "" {
		if required {
			return nil, fmt.Errorf("--trigger-nats-subjects needs a NATS to subscribe on: add --nats-url, or --nats-listen for the embedded one")
		}
		return nil, nil
	}
	return &natsDialer{opts: o}, nil
}
