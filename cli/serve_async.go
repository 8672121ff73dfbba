package cli

import (
	"context"
	"errors"
	"fmt"
	"path/filepath"

	"github.com/ferryfaas/ferry/queue"
	"github.com/nats-io/nats.go"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/spf13/pflag"
)

// Asynchronous invocation (/async-function/) on NATS JetStream: an embedded
// NATS server with its store in DATA/nats by default, or an external one
// with --nats-url; a queue worker runs inside serve unless
// --queue-worker=false (then run `ferry queue-worker` processes).
func init() {
	var f struct {
		nats       natsFlags
		worker     workerFlags
		listen     string
		syncAlways bool
		maxBody    int64
		allow      []string
		embedded   bool
	}
	registerServePlugin(ServePlugin{
		Name: "async queue",
		Flags: func(fs *pflag.FlagSet) {
			f.nats.register(fs, "use this NATS server or cluster for the queue instead of the embedded one")
			f.worker.register(fs)
			fs.StringVar(&f.listen, "nats-listen", "", "also serve the embedded NATS on host:port (for queue-worker processes); default in-process only")
			fs.BoolVar(&f.syncAlways, "nats-sync-always", false, "fsync every queued call (survives power loss, not only process crashes; slower)")
			fs.Int64Var(&f.maxBody, "async-max-body", queue.DefaultMaxBody, "async request body limit in bytes (413 over it; bodies over NATS's message limit are stored in chunks)")
			fs.StringSliceVar(&f.allow, "callback-allow", nil, "hosts, *.domains, IPs or CIDRs allowed as X-Callback-Url targets (default: any); others are refused with 400")
			fs.BoolVar(&f.embedded, "queue-worker", true, "run a queue worker inside this process")
		},
		Setup: func(ctx context.Context, s *Server) error {
			allow, err := queue.ParseAllowList(f.allow)
			if err != nil {
				return err
			}
			var emb *queue.Embedded
			var nc *nats.Conn
			if f.nats.url != "" {
				nc, err = queue.ConnectExternal(f.nats.options("ferry-serve"))
			} else {
				emb, err = queue.StartEmbedded(queue.EmbeddedOptions{
					StoreDir: filepath.Join(s.DataDir, "nats"), Listen: f.listen, SyncAlways: f.syncAlways})
				if err == nil {
					nc, err = emb.Connect("ferry-serve")
				}
			}
			if err != nil {
				if emb != nil {
					emb.Shutdown()
				}
				return err
			}
			stopNATS := func(context.Context) error {
				nc.Close()
				if emb != nil {
					emb.Shutdown()
				}
				return nil
			}
			js, err := queue.NewJetStream(nc)
			if err == nil {
				err = queue.Setup(ctx, js, f.worker.ackWait)
			}
			if err != nil {
				stopNATS(ctx)
				return err
			}
			log := s.Log.With("component", "queue")
			metrics := queue.NewMetrics(js)
			var worker *queue.Worker
			cfg := queue.EnqueuerConfig{JS: js, Functions: s.Provider, DefaultNamespace: s.Gateway.DefaultNamespace,
				MaxBody: f.maxBody, Callbacks: allow, AckWait: f.worker.ackWait, Metrics: metrics, Log: log}
			if f.embedded {
				worker = queue.NewWorker(f.worker.config(js, s.URL, metrics, log))
				cfg.OnNewQueue = worker.Notify
			}
			s.Gateway.Async = queue.NewEnqueuer(cfg)
			dl := &queue.DeadLetterHandlers{JS: js, DefaultNamespace: s.Gateway.DefaultNamespace}
			s.Gateway.System["GET /system/queue/dead-letters"] = dl.List()
			s.Gateway.System["POST /system/queue/dead-letters/redrive"] = dl.Redrive()

			// OnStop runs in reverse: the worker finishes its calls, then NATS stops.
			s.OnStop = append(s.OnStop, stopNATS)
			if worker != nil {
				s.OnStop = append(s.OnStop, worker.Stop)
			}
			s.OnStart = append(s.OnStart, func(ctx context.Context) error {
				var reg prometheus.Registerer = prometheus.DefaultRegisterer
				if s.Metrics != nil {
					reg = s.Metrics
				}
				if err := reg.Register(metrics); err != nil && !errors.As(err, new(prometheus.AlreadyRegisteredError)) {
					log.Warn("queue metrics not registered", "error", err)
				}
				if worker == nil {
					return nil
				}
				if err := worker.Start(ctx); err != nil {
					return fmt.Errorf("start queue worker: %w", err)
				}
				return nil
			})
			if emb != nil && emb.ClientURL() != "" {
				log.Info("embedded NATS is listening", "url", emb.ClientURL())
			}
			return nil
		},
	})
}
