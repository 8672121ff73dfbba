package cli

import (
	"context"
	"log/slog"
	"net/url"
	"os"
	"os/signal"
	"syscall"
	"time"

	"github.com/ferryfaas/ferry/internal/serveconfig"
	"github.com/ferryfaas/ferry/queue"
	"github.com/spf13/cobra"
)

func init() { register(newQueueWorkerCmd) }

func newQueueWorkerCmd() *cobra.Command {
	var (
		nf          natsFlags
		wf          workerFlags
		gw          string
		metricsAddr string
		lf          logFlags
		c           = serveconfig.Defaults() // the worker's and --drain
	)
	cmd := &cobra.Command{
		Use:   "queue-worker",
		Short: "Run queued (async) calls; start several to share the work",
		Long: `Pull asynchronous calls from NATS JetStream and invoke them through the
gateway's /function/ route, with retries, dead letters and callbacks.
` + "`ferry serve`" + ` runs one worker itself; add these for scale-out. Every worker
shares each queue's durable consumer, so the per-function concurrency label
(` + queue.LabelMaxInflight + `) holds across all of them.

With the embedded NATS, start serve with --nats-listen so workers can reach it;
it then requires user "ferry" and the password serve generated into
DATA/secrets/nats-password (or serve's --nats-user/--nats-password).`,
		Example: `  ferry serve --nats-listen 127.0.0.1:4222
  FERRY_NATS_PASSWORD=$(cat ~/.local/share/ferry/secrets/nats-password) \
    ferry queue-worker --nats-url nats://127.0.0.1:4222 --nats-user ferry --gateway http://127.0.0.1:8080`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if nf.url == "" {
				return usageErr(cmd, "--nats-url is required (the NATS server of `ferry serve --nats-listen` or your cluster)")
			}
			ctx, stop := signal.NotifyContext(cmd.Context(), os.Interrupt, syscall.SIGTERM)
			defer stop()
			log, err := lf.logger(os.Stderr)
			if err != nil {
				return usageErr(cmd, "%v", err)
			}
			settleBackoff(cmd.Flags(), &c)
			if err := c.Validate(); err != nil {
				return err
			}
			if err := queue.SetWriteCodec(wf.codec); err != nil {
				return err
			}
			return runQueueWorker(ctx, log.With("component", "queue-worker"), nf, wf, c, gw, metricsAddr)
		},
	}
	fs := cmd.Flags()
	nf.register(fs, "NATS server or cluster holding the queue")
	wf.register(fs, &c)
	fs.StringVarP(&gw, "gateway", "g", envOr("FERRY_URL", DefaultGateway), "gateway whose /function/ route runs the calls (env FERRY_URL)")
	fs.StringVar(&metricsAddr, "metrics-listen", "", "serve Prometheus metrics on host:port /metrics (default off)")
	fs.DurationVar(&c.Drain, "drain", c.Drain, "how long shutdown waits for running calls (the rest run again elsewhere)")
	lf.register(fs)
	return cmd
}

func runQueueWorker(ctx context.Context, log *slog.Logger, nf natsFlags, wf workerFlags, c serveconfig.Config, gw, metricsAddr string) error {
	drain := c.Drain
	js, err := waitQueue(ctx, log, nf, c.AsyncAckWait)
	if err != nil {
		if ctx.Err() != nil {
			// Stopped while NATS was not ready or the queue was being set
			// up: nothing ran, nothing to drain, not a failure.
			log.Info("stopped before the queue was ready", "err", err)
			return nil
		}
		return err
	}
	defer js.NC.Close()
	m := queue.NewMetrics(js)
	if metricsAddr != "" {
		stop, err := serveMetricsOn(metricsAddr, m, log)
		if err != nil {
			return err
		}
		defer stop()
	}
	allow, err := queue.ParseAllowList(wf.allow)
	if err != nil {
		return err
	}
	// The gateway's port is refused on this host's addresses (the gateway
	// usually runs here), as is this worker's metrics port.
	if u, err := url.Parse(gw); err == nil {
		allow.OwnPorts = append(listenPorts(metricsAddr), queue.URLPort(u))
	}
	w := queue.NewWorker(wf.config(c, js, gw, m, log, allow))
	stop := func() {
		dctx, cancel := context.WithTimeout(context.Background(), drain)
		defer cancel()
		if err := w.Stop(dctx); err != nil {
			log.Warn("stop", "err", err)
		}
	}
	if err := w.Start(ctx); err != nil {
		if ctx.Err() != nil {
			// Stopped while the worker was finding its queues: what it
			// started is stopped, and that is not a failure.
			log.Info("stopped while starting", "err", err)
			stop()
			return nil
		}
		return err
	}
	log.Info("queue worker running", "nats", nf.url, "gateway", gw)
	<-ctx.Done()
	log.Info("stopping: waiting for running calls", "max", drain)
	stop()
	return nil
}

// waitQueue connects to NATS and sets up the queue, retrying (1 s, then up
// to 10 s apart) until it works or ctx ends: NATS may start after this
// worker or be restarting, and exiting would only have the worker
// restarted with a growing back-off. Refused credentials end it at once.
func waitQueue(ctx context.Context, log *slog.Logger, nf natsFlags, ackWait time.Duration) (*queue.JetStream, error) {
	for wait := time.Second; ; wait = min(2*wait, 10*time.Second) {
		js, err := connectQueue(ctx, nf, ackWait)
		if err == nil || queue.Refused(err) {
			return js, err
		}
		log.Warn("NATS not ready; retrying", "err", err, "in", wait)
		select {
		case <-ctx.Done():
			return nil, err
		case <-time.After(wait):
		}
	}
}

func connectQueue(ctx context.Context, nf natsFlags, ackWait time.Duration) (*queue.JetStream, error) {
	nc, err := queue.ConnectExternal(nf.options("ferry-queue-worker"))
	if err != nil {
		return nil, err
	}
	js, err := queue.NewJetStream(nc)
	if err == nil {
		sctx, cancel := context.WithTimeout(ctx, 30*time.Second)
		err = queue.Setup(sctx, js, ackWait, nil)
		cancel()
	}
	if err != nil {
		nc.Close()
		return nil, err
	}
	return js, nil
}
