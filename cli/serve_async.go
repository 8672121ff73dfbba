package cli

import (
	"context"
	"errors"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"strconv"
	"sync/atomic"

	"github.com/ferryfaas/ferry/gateway"
	"github.com/ferryfaas/ferry/internal/serveconfig"
	"github.com/ferryfaas/ferry/queue"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/spf13/pflag"
)

// asyncPlugin is asynchronous invocation (/async-function/) on NATS
// JetStream: an embedded NATS server with its store in DATA/nats by
// default, or an external one with --nats-url; a queue worker runs inside
// serve unless --queue-worker=false (then run `ferry queue-worker`
// processes).
func asyncPlugin() ServePlugin {
	var f struct {
		nats       natsFlags
		worker     workerFlags
		listen     string
		syncAlways bool
		embedded   bool
		inProcess  bool
		direct     bool
	}
	return ServePlugin{
		Name: "async queue",
		Flags: func(fs *pflag.FlagSet, c *serveconfig.Config) {
			f.nats.register(fs, "use this NATS server or cluster for the queue instead of the embedded one")
			f.worker.register(fs, c)
			fs.StringVar(&f.listen, "nats-listen", "", "also serve the embedded NATS on host:port (for queue-worker processes); default in-process only")
			fs.BoolVar(&f.syncAlways, "nats-sync-always", false, "fsync every queued call (survives power loss, not only process crashes; slower)")
			fs.Int64Var(&c.AsyncMaxBody, "async-max-body", c.AsyncMaxBody, "async request body limit in bytes (413 over it; bodies over NATS's message limit are stored in chunks)")
			fs.BoolVar(&f.embedded, "queue-worker", true, "run a queue worker inside this process")
			fs.BoolVar(&f.inProcess, "queue-worker-in-process", true, "the worker inside this process hands calls to the gateway directly instead of over a loopback HTTP connection (same route and limits, less work per call)")
			fs.BoolVar(&f.direct, "queue-worker-direct", true, "with --queue-worker-in-process, calls are handed to the gateway's invoke path as they are (no URL built, parsed and routed, the body not copied); false: through its HTTP handler")
			fs.Int64Var(&c.AsyncMaxQueuedPerFunction, "async-max-queued-per-function", c.AsyncMaxQueuedPerFunction, "queued calls one function (or named queue) may hold, running and in back-off included; over it 429 with Retry-After")
			fs.Int64Var(&c.AsyncMaxQueued, "async-max-queued", c.AsyncMaxQueued, "queued calls and pending callbacks over all functions (429 over it)")
			fs.Int64Var(&c.AsyncMaxQueuedBytes, "async-max-queued-bytes", c.AsyncMaxQueuedBytes, "bytes the queue may hold on disk, large bodies included (429 over it; dead letters are capped at the same size, oldest dropped)")
			fs.DurationVar(&c.AsyncDeadLetterTTL, "async-dead-letter-ttl", c.AsyncDeadLetterTTL, "how long dead letters are kept before they expire")
		},
		Setup: func(_ context.Context, s *Server) error {
			if err := queue.SetWriteCodec(f.worker.codec); err != nil {
				return err
			}
			allow, err := queue.ParseAllowList(f.worker.allow)
			if err != nil {
				return err
			}
			allow.OwnPorts = listenPorts(s.Addr, f.listen)
			log := s.Log.With("component", "queue")
			storeDir := filepath.Join(s.DataDir, "nats")
			connect := func() (*queue.JetStream, func(), error) {
				if f.nats.url != "" {
					nc, err := queue.ConnectExternal(f.nats.options("ferry-serve"))
					if err != nil {
						return nil, nil, err
					}
					js, err := queue.NewJetStream(nc)
					return js, nc.Close, err
				}
				eo := queue.EmbeddedOptions{StoreDir: storeDir, Listen: f.listen, SyncAlways: f.syncAlways}
				if f.listen != "" {
					var err error
					if eo.User, eo.Password, err = embeddedNATSCredentials(s.DataDir, f.nats.user, f.nats.password); err != nil {
						return nil, nil, err
					}
				}
				emb, err := queue.StartEmbedded(eo)
				if err != nil {
					return nil, nil, err
				}
				nc, err := emb.Connect("ferry-serve")
				if err != nil {
					emb.Shutdown()
					return nil, nil, err
				}
				if u := emb.ClientURL(); u != "" {
					log.Info("embedded NATS is listening", "url", u, "user", eo.User,
						"password", passwordSource(f.nats.password, filepath.Join(s.DataDir, "secrets", "nats-password")))
				}
				js, err := queue.NewJetStream(nc)
				return js, func() { nc.Close(); emb.Shutdown() }, err
			}
			metrics := queue.NewMetrics(nil)
			cfg := queue.ServiceConfig{
				Connect: connect,
				// Start at once when there may be work to resume or workers
				// to serve; otherwise on the first async call, so that a
				// server that never queues does not run a NATS server.
				Eager: f.nats.url != "" || f.listen != "" || hasFiles(filepath.Join(storeDir, "jetstream")),
				// An external NATS may come up after this gateway (pods
				// start in any order); the embedded one failing is final.
				Retry: f.nats.url != "",
				Enqueuer: queue.EnqueuerConfig{Functions: s.Provider, DefaultNamespace: s.Gateway.DefaultNamespace,
					MaxBody: s.Config.AsyncMaxBody, Callbacks: allow, Bounds: queue.Bounds{
						PerQueue: s.Config.AsyncMaxQueuedPerFunction, Calls: s.Config.AsyncMaxQueued,
						Bytes: s.Config.AsyncMaxQueuedBytes, DeadLetterTTL: s.Config.AsyncDeadLetterTTL}},
				AckWait: s.Config.AsyncAckWait, Metrics: metrics, Log: log,
			}
			if f.embedded {
				wc := f.worker.config(s.Config, nil, s.URL, metrics, log, allow)
				if f.inProcess {
					// The handler is built after every plugin's Setup; the
					// first wrapper is handed the gateway itself.
					gw := &lateHandler{}
					wc.Gateway = gw
					if f.direct {
						wc.Gateway = &lateInvoker{gw}
					}
					s.WrapHandler = append([]func(http.Handler) http.Handler{func(h http.Handler) http.Handler {
						gw.h.Store(&h)
						return h
					}}, s.WrapHandler...)
				}
				cfg.Worker = &wc
			}
			svc := queue.NewService(cfg)
			s.Gateway.Async = svc.Async()
			s.Gateway.System["GET /system/queue/dead-letters"] = svc.DeadLetterList()
			s.Gateway.System["POST /system/queue/dead-letters/redrive"] = svc.DeadLetterRedrive()
			s.Gateway.System["GET /system/queue/status"] = svc.Status()
			s.OnStop = append(s.OnStop, svc.Stop)
			s.OnStart = append(s.OnStart, func(ctx context.Context) error {
				var reg prometheus.Registerer = prometheus.DefaultRegisterer
				if s.Metrics != nil {
					reg = s.Metrics
				}
				if err := reg.Register(metrics); err != nil && !errors.As(err, new(prometheus.AlreadyRegisteredError)) {
					log.Warn("queue metrics not registered", "err", err)
				}
				return svc.Run(ctx)
			})
			return nil
		},
	}
}

// passwordSource says where a password is without echoing it.
func passwordSource(flagValue, file string) string {
	if flagValue != "" {
		return "--nats-password"
	}
	return file
}

// lateHandler serves with a handler set once it exists.
type lateHandler struct{ h atomic.Pointer[http.Handler] }

func (l *lateHandler) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	h := l.h.Load()
	if h == nil {
		http.Error(w, "the gateway is not serving yet", http.StatusServiceUnavailable)
		return
	}
	(*h).ServeHTTP(w, r)
}

// lateInvoker is a lateHandler whose handler is the gateway, which the
// worker may hand calls over to without routing them.
type lateInvoker struct{ *lateHandler }

func (l lateInvoker) InvokeLocal(w http.ResponseWriter, r *http.Request, name, ns, path string, body []byte) {
	var lg queue.LocalGateway
	if h := l.h.Load(); h != nil {
		lg, _ = (*h).(queue.LocalGateway)
	}
	if lg == nil {
		http.Error(w, "the gateway is not serving yet", http.StatusServiceUnavailable)
		return
	}
	lg.InvokeLocal(w, r, name, ns, path, body)
}

// listenPorts are the ports of host:port listen addresses (callbacks never
// reach them on this host).
func listenPorts(addrs ...string) []int {
	var out []int
	for _, a := range addrs {
		if _, p, err := net.SplitHostPort(a); err == nil {
			if n, err := strconv.Atoi(p); err == nil && n > 0 {
				out = append(out, n)
			}
		}
	}
	return out
}

// hasFiles reports whether dir exists and is not empty.
func hasFiles(dir string) bool {
	d, err := os.Open(dir)
	if err != nil {
		return false
	}
	defer d.Close()
	names, _ := d.Readdirnames(1)
	return len(names) > 0
}

// The gateway takes calls handed over by the worker in this process.
var _ queue.LocalGateway = (*gateway.Gateway)(nil)
