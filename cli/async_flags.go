package cli

import (
	"log/slog"
	"net/http"
	"time"

	"github.com/ferryfaas/ferry/gateway"
	"github.com/ferryfaas/ferry/queue"
	"github.com/spf13/pflag"
)

// natsFlags name the NATS server the queue uses (shared by `ferry serve`
// and `ferry queue-worker`).
type natsFlags struct {
	url, creds, user, password string
}

func (n *natsFlags) register(fs *pflag.FlagSet, urlHelp string) {
	fs.StringVar(&n.url, "nats-url", envOr("FERRY_NATS_URL", ""), urlHelp+" (env FERRY_NATS_URL)")
	fs.StringVar(&n.creds, "nats-creds", "", "NATS credentials file for --nats-url")
	fs.StringVar(&n.user, "nats-user", envOr("FERRY_NATS_USER", ""), "NATS user for --nats-url, or of the embedded NATS under serve --nats-listen (default \"ferry\") (env FERRY_NATS_USER)")
	fs.StringVar(&n.password, "nats-password", envOr("FERRY_NATS_PASSWORD", ""), "NATS password for --nats-url, or of the embedded NATS under serve --nats-listen (default: generated into DATA/secrets/nats-password) (env FERRY_NATS_PASSWORD)")
}

func (n *natsFlags) options(name string) queue.ConnectOptions {
	return queue.ConnectOptions{URL: n.url, Creds: n.creds, User: n.user, Password: n.password, Name: name}
}

// workerFlags tune a queue worker (shared by both commands).
type workerFlags struct {
	maxAttempts      int
	backoffMin       time.Duration
	backoffMax       time.Duration
	ackWait          time.Duration
	concurrency      int
	callbackAttempts int
	callbackPerHost  int
	callbackDirect   time.Duration
	callbackLean     bool
	allow            []string
}

func (w *workerFlags) register(fs *pflag.FlagSet) {
	fs.IntVar(&w.maxAttempts, "async-max-attempts", queue.DefaultMaxAttempts, "invocations of a queued call before it goes to the dead letters (retries on 408, 429, 500, 502, 503, 504 and network errors)")
	fs.DurationVar(&w.backoffMin, "async-backoff-min", queue.DefaultBackoffMin, "first wait before retrying a queued call (doubles per attempt)")
	fs.DurationVar(&w.backoffMax, "async-backoff-max", queue.DefaultBackoffMax, "longest wait between attempts of a queued call")
	fs.DurationVar(&w.ackWait, "async-ack-wait", queue.DefaultAckWait, "how long a worker may go silent before its call is given to another worker (running calls report progress every third of it)")
	fs.IntVar(&w.concurrency, "async-concurrency", 1024, "queued calls one worker runs at once over all functions (per function: label "+queue.LabelMaxInflight+", default 16)")
	fs.IntVar(&w.callbackAttempts, "async-callback-attempts", 12, "deliveries of one X-Callback-Url POST before giving up (back-off 1s doubling to 5m: about 20 minutes)")
	fs.IntVar(&w.callbackPerHost, "async-callback-per-host", queue.DefaultCallbackPerHost, "X-Callback-Url POSTs one worker sends at once to one receiver (host:port); more wait their turn, so a slow receiver cannot delay other receivers' callbacks")
	fs.DurationVar(&w.callbackDirect, "async-callback-direct", 5*time.Second, "how long a worker waits for an X-Callback-Url receiver itself before queueing the callback for retries instead (saves a queue write per call; a receiver slower than this may get a callback twice); 0 queues every callback")
	fs.BoolVar(&w.callbackLean, "async-callback-lean", true, "send plain-HTTP callbacks on the gateway's lean client (written and read on the worker's goroutine, same dial guard); false: net/http's transport")
	fs.StringSliceVar(&w.allow, "callback-allow", nil, "hosts, *.domains, IPs or CIDRs allowed as X-Callback-Url targets (default: any host except link-local, cloud metadata, unspecified, multicast and the gateway's own ports; IP or CIDR entries lift those for their addresses, never the own ports); others are refused with 400, and callbacks only connect to them")
}

func (w *workerFlags) config(js *queue.JetStream, gatewayURL string, m *queue.Metrics, log *slog.Logger, allow *queue.AllowList) queue.WorkerConfig {
	var lean func(queue.DialFunc, http.RoundTripper) http.RoundTripper
	if w.callbackLean {
		lean = func(dial queue.DialFunc, fallback http.RoundTripper) http.RoundTripper {
			return gateway.NewLeanTransport(dial, 30*time.Second, fallback)
		}
	}
	return queue.WorkerConfig{Callbacks: allow, CallbackTransport: lean,
		JS: js, GatewayURL: gatewayURL, MaxAttempts: w.maxAttempts,
		Backoff: queue.Backoff{Min: w.backoffMin, Max: w.backoffMax}, AckWait: w.ackWait,
		Concurrency: w.concurrency, CallbackAttempts: w.callbackAttempts,
		CallbackPerHost: w.callbackPerHost, CallbackDirect: w.callbackDirect, Metrics: m, Log: log,
	}
}
