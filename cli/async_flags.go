package cli

import (
	"log/slog"
	"net/http"
	"strconv"

	"github.com/ferryfaas/ferry/gateway"
	"github.com/ferryfaas/ferry/internal/serveconfig"
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

// workerFlags tune a queue worker (shared by both commands); the numeric
// ones are serveconfig's, defaults and all.
type workerFlags struct {
	callbackLean bool
	codec        string
	allow        []string
}

func (w *workerFlags) register(fs *pflag.FlagSet, c *serveconfig.Config) {
	fs.IntVar(&c.AsyncMaxAttempts, "async-max-attempts", c.AsyncMaxAttempts, "invocations of a queued call before it goes to the dead letters (retries on 408, 429, 500, 502, 503, 504 and network errors)")
	fs.DurationVar(&c.AsyncBackoffMin, "async-backoff-min", c.AsyncBackoffMin, "first wait before retrying a queued call (doubles per attempt)")
	fs.DurationVar(&c.AsyncBackoffMax, "async-backoff-max", c.AsyncBackoffMax, "longest wait between attempts of a queued call (at least --async-backoff-min)")
	fs.DurationVar(&c.AsyncAckWait, "async-ack-wait", c.AsyncAckWait, "how long a worker may go silent before its call is given to another worker (running calls report progress every third of it)")
	fs.IntVar(&c.AsyncConcurrency, "async-concurrency", c.AsyncConcurrency, "queued calls one worker runs at once over all functions (per function: label "+queue.LabelMaxInflight+", default "+strconv.Itoa(queue.DefaultMaxInflight)+")")
	fs.IntVar(&c.AsyncCallbackAttempts, "async-callback-attempts", c.AsyncCallbackAttempts, "deliveries of one X-Callback-Url POST before giving up (back-off "+queue.DefaultCallbackBackoffMin.String()+" doubling to "+queue.DefaultCallbackBackoffMax.String()+": about 20 minutes)")
	fs.IntVar(&c.AsyncCallbackPerHost, "async-callback-per-host", c.AsyncCallbackPerHost, "X-Callback-Url POSTs one worker sends at once to one receiver (host:port); more wait their turn, so a slow receiver cannot delay other receivers' callbacks")
	fs.DurationVar(&c.AsyncCallbackDirect, "async-callback-direct", c.AsyncCallbackDirect, "how long a worker waits for an X-Callback-Url receiver itself before queueing the callback for retries instead (saves a queue write per call; a receiver slower than this may get a callback twice); 0 queues every callback")
	fs.BoolVar(&w.callbackLean, "async-callback-lean", true, "send plain-HTTP callbacks on the gateway's lean client (written and read on the worker's goroutine, same dial guard); false: net/http's transport")
	fs.StringVar(&w.codec, "queue-codec", envOr("FERRY_QUEUE_CODEC", "binary"), "how queued calls are written: binary, or json for workers older than the binary framing during a rolling upgrade (both are read) (env FERRY_QUEUE_CODEC)")
	fs.StringSliceVar(&w.allow, "callback-allow", nil, "hosts, *.domains, IPs or CIDRs allowed as X-Callback-Url targets (default: any host except link-local, cloud metadata, unspecified, multicast and the gateway's own ports; IP or CIDR entries lift those for their addresses, never the own ports); others are refused with 400, and callbacks only connect to them")
}

// settleBackoff raises --async-backoff-max to --async-backoff-min when only
// the min was given above the max's default: asking for longer first waits
// is not a contradiction (a max the user set below the min still is, and
// Validate says so).
func settleBackoff(fs *pflag.FlagSet, c *serveconfig.Config) {
	if fs.Changed("async-backoff-min") && !fs.Changed("async-backoff-max") && c.AsyncBackoffMax < c.AsyncBackoffMin {
		c.AsyncBackoffMax = c.AsyncBackoffMin
	}
}

func (w *workerFlags) config(c serveconfig.Config, js *queue.JetStream, gatewayURL string, m *queue.Metrics, log *slog.Logger, allow *queue.AllowList) queue.WorkerConfig {
	var lean func(queue.DialFunc, http.RoundTripper) http.RoundTripper
	if w.callbackLean {
		lean = func(dial queue.DialFunc, fallback http.RoundTripper) http.RoundTripper {
			return gateway.NewLeanTransport(dial, queue.CallbackTimeout, fallback)
		}
	}
	return queue.WorkerConfig{Callbacks: allow, CallbackTransport: lean,
		JS: js, GatewayURL: gatewayURL, MaxAttempts: c.AsyncMaxAttempts,
		Backoff: queue.Backoff{Min: c.AsyncBackoffMin, Max: c.AsyncBackoffMax}, AckWait: c.AsyncAckWait,
		Concurrency: c.AsyncConcurrency, CallbackAttempts: c.AsyncCallbackAttempts,
		CallbackPerHost: c.AsyncCallbackPerHost, CallbackDirect: c.AsyncCallbackDirect, Metrics: m, Log: log,
	}
}
