package cli

import (
	"log/slog"
	"os"
	"os/signal"
	"path/filepath"
	"syscall"
	"time"

	"github.com/ferryfaas/ferry/internal/serveconfig"
	"github.com/ferryfaas/ferry/trigger"
	"github.com/ferryfaas/ferry/trigger/cron"
	"github.com/spf13/cobra"
)

func init() { register(newTriggerCmd) }

// triggerRun are the flags of every `ferry trigger` command.
type triggerRun struct {
	r           remote
	metricsAddr string
	poll        time.Duration
	log         logFlags
}

func (t *triggerRun) register(cmd *cobra.Command) {
	addRemoteFlags(cmd, &t.r, false)
	fs := cmd.Flags()
	fs.StringVar(&t.metricsAddr, "metrics-listen", "", "serve Prometheus metrics on host:port /metrics (default off)")
	fs.DurationVar(&t.poll, "poll", trigger.DefaultPoll, "how often the deployed functions are re-read from the gateway")
	t.log.register(fs)
}

// run follows the gateway's functions through /system/functions (with
// the credentials every ferry command uses) and runs the source until
// SIGINT or SIGTERM.
func (t *triggerRun) run(cmd *cobra.Command, m *trigger.Metrics, build func(log *slog.Logger) (trigger.Source, error)) error {
	log, err := t.log.logger(os.Stderr)
	if err != nil {
		return usageErr(cmd, "%v", err)
	}
	log = log.With("component", "trigger")
	c, err := t.r.client("")
	if err != nil {
		return err
	}
	src, err := build(log)
	if err != nil {
		return err
	}
	if t.metricsAddr != "" {
		stop, err := serveMetricsOn(t.metricsAddr, m, log)
		if err != nil {
			return err
		}
		defer stop()
	}
	ctx, stop := signal.NotifyContext(cmd.Context(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	c.UserAgent = "ferry-trigger/" + Version
	log.Info("trigger running", "trigger", src.Name(), "gateway", c.Gateway)
	trigger.Run(ctx, trigger.NewIndex(c, t.poll, log), trigger.NewInvoker(c, m, log), log, src)
	return nil
}

func newTriggerCmd() *cobra.Command {
	cmd := &cobra.Command{
		Use:   "trigger",
		Short: "Run an event trigger (Kafka, cron, NATS) against a gateway",
		Long: `Invoke functions from events, outside ` + "`ferry serve`" + ` (which runs the same
triggers with --kafka-brokers, --trigger-cron and --trigger-nats-subjects).
Functions subscribe with annotations: topic (comma-separated topics or
subjects), and topic=cron-function with schedule for cron. See docs/triggers.md.`,
	}
	cmd.AddCommand(newTriggerKafkaCmd(), newTriggerCronCmd(), newTriggerNATSCmd())
	return cmd
}

func newTriggerKafkaCmd() *cobra.Command {
	var (
		t  triggerRun
		kf kafkaFlags
		c  = serveconfig.Defaults() // (--kafka-session-timeout)
	)
	cmd := &cobra.Command{
		Use:     "kafka",
		Short:   "Invoke functions for Kafka records of the topics they name",
		Example: `  ferry trigger kafka --kafka-brokers 127.0.0.1:9092 --gateway http://127.0.0.1:8080`,
		Args:    cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if len(kf.brokers) == 0 {
				return usageErr(cmd, "--kafka-brokers is required")
			}
			if err := c.Validate(); err != nil {
				return err
			}
			m := trigger.NewMetrics()
			return t.run(cmd, m, func(log *slog.Logger) (trigger.Source, error) { return kf.source(c, log, m) })
		},
	}
	t.register(cmd)
	kf.register(cmd.Flags(), &c, "Kafka brokers (host:port,...)")
	return cmd
}

func newTriggerCronCmd() *cobra.Command {
	var (
		t     triggerRun
		nf    natsFlags
		state string
		grace time.Duration
	)
	cmd := &cobra.Command{
		Use:   "cron",
		Short: "Run functions annotated topic=cron-function on their schedule",
		Example: `  ferry trigger cron --gateway http://127.0.0.1:8080
  ferry trigger cron --nats-url nats://127.0.0.1:4222   # several, one run per tick`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			var d *natsDialer
			if nf.url != "" {
				d = &natsDialer{opts: nf.options("ferry-trigger-cron")}
				defer d.close()
			}
			return t.run(cmd, trigger.NewMetrics(), func(log *slog.Logger) (trigger.Source, error) {
				return cronSource(state, grace, d, log)
			})
		},
	}
	t.register(cmd)
	nf.register(cmd.Flags(), "NATS where several cron triggers claim each tick, so it runs once (default: this one alone)")
	cmd.Flags().StringVar(&state, "state", filepath.Join(DefaultDataDir(), "triggers", "cron-trigger.json"), "file keeping the last run per function and schedule (a tick missed while down runs once after start)")
	cmd.Flags().DurationVar(&grace, "grace", cron.DefaultGrace, "how old a missed tick may be and still run after start")
	return cmd
}

func newTriggerNATSCmd() *cobra.Command {
	var (
		t  triggerRun
		nf natsFlags
	)
	cmd := &cobra.Command{
		Use:     "nats",
		Short:   "Invoke functions for messages on the NATS subjects they name",
		Example: `  ferry trigger nats --nats-url nats://127.0.0.1:4222 --gateway http://127.0.0.1:8080`,
		Args:    cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if nf.url == "" {
				return usageErr(cmd, "--nats-url is required")
			}
			d := &natsDialer{opts: nf.options("ferry-trigger-nats")}
			defer d.close()
			m := trigger.NewMetrics()
			return t.run(cmd, m, func(log *slog.Logger) (trigger.Source, error) { return d.natsSource(log, m), nil })
		},
	}
	t.register(cmd)
	nf.register(cmd.Flags(), "NATS server or cluster whose subjects functions answer")
	return cmd
}
