package cli

import (
	"context"
	"errors"
	"log/slog"
	"sync"
	"time"

	"github.com/ferryfaas/ferry/internal/serveconfig"
	"github.com/ferryfaas/ferry/queue"
	"github.com/ferryfaas/ferry/trigger"
	"github.com/ferryfaas/ferry/trigger/cron"
	"github.com/ferryfaas/ferry/trigger/kafka"
	"github.com/ferryfaas/ferry/trigger/natssub"
	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/spf13/pflag"
)

// kafkaFlags are the Kafka trigger's settings (shared by `ferry serve`
// and `ferry trigger kafka`).
type kafkaFlags struct {
	brokers []string
	group   string
	sec     kafka.Security
}

// register binds the flags; the session timeout is c's, default and all.
func (k *kafkaFlags) register(fs *pflag.FlagSet, c *serveconfig.Config, brokersHelp string) {
	fs.StringSliceVar(&k.brokers, "kafka-brokers", nil, brokersHelp)
	fs.StringVar(&k.group, "kafka-group", kafka.DefaultGroup, "Kafka consumer group shared by every gateway (each record runs its functions once per group)")
	fs.DurationVar(&c.KafkaSessionTimeout, "kafka-session-timeout", c.KafkaSessionTimeout, "how long the group waits for a gateway that went silent before its partitions move")
	fs.BoolVar(&k.sec.TLS, "kafka-tls", false, "connect to the Kafka brokers over TLS")
	fs.StringVar(&k.sec.CAFile, "kafka-tls-ca", "", "PEM CA bundle that signs the brokers' certificates (default: system roots; implies --kafka-tls)")
	fs.StringVar(&k.sec.CertFile, "kafka-tls-cert", "", "client certificate (PEM) for mutual TLS")
	fs.StringVar(&k.sec.KeyFile, "kafka-tls-key", "", "client key (PEM) for --kafka-tls-cert")
	fs.BoolVar(&k.sec.InsecureSkipVerify, "kafka-tls-insecure", false, "skip verifying the brokers' certificates (test setups only)")
	fs.StringVar(&k.sec.SASLMechanism, "kafka-sasl-mechanism", "", "SASL mechanism: plain (needs TLS), scram-sha-256 or scram-sha-512 (default none)")
	fs.StringVar(&k.sec.SASLUser, "kafka-sasl-user", envOr("FERRY_KAFKA_SASL_USER", ""), "SASL user (env FERRY_KAFKA_SASL_USER)")
	fs.StringVar(&k.sec.SASLPassword, "kafka-sasl-password", "", "SASL password (prefer env FERRY_KAFKA_SASL_PASSWORD: flags show in ps)")
}

func (k *kafkaFlags) source(c serveconfig.Config, log *slog.Logger, m *trigger.Metrics) (trigger.Source, error) {
	if k.sec.SASLPassword == "" {
		k.sec.SASLPassword = envOr("FERRY_KAFKA_SASL_PASSWORD", "")
	}
	opts, err := k.sec.Options()
	if err != nil {
		return nil, err
	}
	return kafka.New(kafka.Config{Brokers: k.brokers, Group: k.group, Opts: opts, Auth: k.sec.Auth(), SessionTimeout: c.KafkaSessionTimeout,
		Log: log.With("trigger", "kafka"), Metrics: m}), nil
}

// natsDialer connects once and hands the same connection to the NATS
// sources; a failed dial is tried again by the source's restart.
type natsDialer struct {
	opts queue.ConnectOptions
	mu   sync.Mutex
	nc   *nats.Conn
}

func (d *natsDialer) connect() (*nats.Conn, error) {
	d.mu.Lock()
	defer d.mu.Unlock()
	if d.nc != nil {
		return d.nc, nil
	}
	nc, err := queue.ConnectExternal(d.opts)
	if err != nil {
		return nil, err
	}
	d.nc = nc
	return nc, nil
}

func (d *natsDialer) close() {
	d.mu.Lock()
	defer d.mu.Unlock()
	if d.nc != nil {
		d.nc.Close()
	}
}

func (d *natsDialer) natsSource(log *slog.Logger, m *trigger.Metrics) trigger.Source {
	return natssub.New(natssub.Config{Connect: d.connect, Log: log.With("trigger", "nats"), Metrics: m})
}

// cronSource keeps its last ticks in statePath; with a NATS (d non-nil)
// the gateways sharing it claim each tick there, so it runs once.
func cronSource(statePath string, grace time.Duration, d *natsDialer, log *slog.Logger) (trigger.Source, error) {
	cfg := cron.Config{StatePath: statePath, Grace: grace, Log: log.With("trigger", "cron")}
	if d != nil {
		cfg.Claims = func(ctx context.Context) (jetstream.KeyValue, error) {
			nc, err := d.connect()
			if err != nil {
				return nil, err
			}
			js, err := jetstream.New(nc)
			if err != nil {
				return nil, err
			}
			return cron.OpenClaims(ctx, js)
		}
	}
	return cron.New(cfg)
}

// registerCollector adds c to reg (the default registry when nil),
// tolerating a second registration.
func registerCollector(reg prometheus.Registerer, c prometheus.Collector) error {
	if reg == nil {
		reg = prometheus.DefaultRegisterer
	}
	if err := reg.Register(c); err != nil && !errors.As(err, new(prometheus.AlreadyRegisteredError)) {
		return err
	}
	return nil
}
