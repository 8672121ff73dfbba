package queue

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"net/url"
	"os"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"
	"github.com/nats-io/nuid"
)

// WorkerConfig wires a queue worker.
type WorkerConfig struct {
	JS *JetStream
	// GatewayURL is where functions are invoked, through the gateway's
	// synchronous /function/ route (which also wakes functions scaled to
	// zero), e.g. http://127.0.0.1:8080.
	GatewayURL string
	// Gateway, when set, is the gateway's own handler in this process:
	// calls are handed to it directly instead of over HTTP to GatewayURL.
	// If it is also a LocalGateway, calls skip its routing (InvokeLocal).
	Gateway http.Handler
	// MaxAttempts is the number of invocations before a call is dead-lettered
	// (default DefaultMaxAttempts; 1 means no retries).
	MaxAttempts int
	Backoff     Backoff
	// AckWait must match the consumers' (Setup/Enqueuer); in-progress acks
	// are sent every third of it while a call runs.
	AckWait time.Duration
	// InvokeTimeout bounds one invocation (default 1h; the gateway applies
	// the function's own timeout first).
	InvokeTimeout time.Duration
	// CallbackAttempts bounds deliveries of one callback (default
	// DefaultCallbackAttempts: with the default back-off, about 20 minutes
	// of a receiver being down).
	CallbackAttempts int
	CallbackBackoff  Backoff
	// CallbackPerHost bounds callbacks delivered at once to one receiver
	// (host:port; default DefaultCallbackPerHost): a slow receiver cannot
	// hold every delivery slot.
	CallbackPerHost int
	// CallbackDirect, when positive, is how long a worker waits for the
	// callback receiver itself before queueing the callback instead: a
	// receiver that answers at once is spared a stream write, a delivery
	// and an ack per call. 0 queues every callback.
	CallbackDirect time.Duration
	// MaxResponse caps the function response kept for the callback (default 64 MiB).
	MaxResponse int64
	// Concurrency caps calls running in this worker over all queues
	// (default DefaultConcurrency).
	Concurrency int
	// PullBatch is how many messages one queue may have buffered (default 64).
	PullBatch int
	Metrics   *Metrics
	Log       *slog.Logger
	// Client invokes the gateway; default a keep-alive client.
	Client *http.Client
	// CallbackClient posts callbacks; default a keep-alive client that
	// follows no redirect and dials only what Callbacks allows.
	CallbackClient *http.Client
	// Callbacks is the callback allow-list (nil: any target not refused
	// by default).
	Callbacks *AllowList
	// CallbackTransport, when set, builds the default CallbackClient's
	// transport around the guarded dialer, with fallback for what it does
	// not take (gateway.NewLeanTransport: no connection goroutines).
	CallbackTransport func(dial DialFunc, fallback http.RoundTripper) http.RoundTripper
}

// DialFunc opens a connection (net.Dialer.DialContext's signature).
type DialFunc = func(ctx context.Context, network, addr string) (net.Conn, error)

// Worker pulls queued calls and runs them. Several workers (processes) can
// share the queues: each queue is one durable pull consumer.
type Worker struct {
	cfg WorkerConfig
	id  string // sent as X-Queue-Worker, for tracing which worker ran a call
	// gwHost is GatewayURL's host: the Host of calls handed over in process.
	gwHost string
	// cbTransport is the transport of the CallbackClient NewWorker built
	// (nil when one was given), called without the client's wrapping.
	cbTransport http.RoundTripper
	log         *slog.Logger
	sem         chan struct{}

	mu      sync.Mutex
	queues  map[string]jetstream.ConsumeContext
	stopped bool
	// draining is set once pulling stopped: a call that then fails to
	// reach the (shutting down) gateway is handed back, not counted as a
	// failed attempt.
	draining atomic.Bool
	gate     sync.RWMutex // see startConsumer
	sub      *nats.Subscription
	cbHosts  callbackHosts

	runCtx    context.Context // cancelled by Stop when the grace is over
	runCancel context.CancelFunc
	discCtx   context.Context
	discStop  context.CancelFunc
	handlers  sync.WaitGroup
}

// The default back-off between deliveries of one callback: with
// DefaultCallbackAttempts, about 20 minutes of a receiver being down.
const (
	DefaultCallbackBackoffMin = time.Second
	DefaultCallbackBackoffMax = 5 * time.Minute
)

// NewWorker puts the defaults in place of values not set (zero or less),
// for a library user's Config; ferry's flags refuse those before they get
// here (serveconfig.Validate).
func NewWorker(cfg WorkerConfig) *Worker {
	if cfg.MaxAttempts <= 0 {
		cfg.MaxAttempts = DefaultMaxAttempts
	}
	if cfg.Backoff.Min <= 0 {
		cfg.Backoff.Min = DefaultBackoffMin
	}
	if cfg.Backoff.Max < cfg.Backoff.Min {
		cfg.Backoff.Max = max(DefaultBackoffMax, cfg.Backoff.Min)
	}
	if cfg.AckWait <= 0 {
		cfg.AckWait = DefaultAckWait
	}
	if cfg.InvokeTimeout <= 0 {
		cfg.InvokeTimeout = time.Hour
	}
	if cfg.CallbackAttempts <= 0 {
		cfg.CallbackAttempts = DefaultCallbackAttempts
	}
	if cfg.CallbackPerHost <= 0 {
		cfg.CallbackPerHost = DefaultCallbackPerHost
	}
	if cfg.CallbackBackoff.Min <= 0 {
		cfg.CallbackBackoff = Backoff{Min: DefaultCallbackBackoffMin, Max: DefaultCallbackBackoffMax}
	}
	if cfg.MaxResponse <= 0 {
		cfg.MaxResponse = 64 << 20
	}
	if cfg.Concurrency <= 0 {
		cfg.Concurrency = DefaultConcurrency
	}
	if cfg.PullBatch <= 0 {
		cfg.PullBatch = 64
	}
	if cfg.Log == nil {
		cfg.Log = slog.Default()
	}
	if cfg.Metrics == nil {
		cfg.Metrics = NewMetrics(nil)
	}
	if cfg.Client == nil {
		cfg.Client = &http.Client{Transport: newTransport(nil)}
	}
	var cbTransport http.RoundTripper
	if cfg.CallbackClient == nil {
		cfg.CallbackClient = callbackClient(cfg.Callbacks, cfg.CallbackTransport)
		cbTransport = cfg.CallbackClient.Transport
	}
	cfg.GatewayURL = strings.TrimRight(cfg.GatewayURL, "/")
	host, _ := os.Hostname()
	var gwHost string
	if u, err := url.Parse(cfg.GatewayURL); err == nil {
		gwHost = u.Host
	}
	return &Worker{cfg: cfg, id: host + ":" + strconv.Itoa(os.Getpid()) + ":" + nuid.Next()[:6], gwHost: gwHost, cbTransport: cbTransport,
		log: cfg.Log, sem: make(chan struct{}, cfg.Concurrency), queues: map[string]jetstream.ConsumeContext{}}
}

// callbackClient follows no redirect: an allowed target could otherwise
// send the POST anywhere. It dials only what allow permits (refusing by
// default what no anonymous caller may reach), and ignores HTTP(S)_PROXY:
// the proxy's address would be checked instead of the target's.
func callbackClient(allow *AllowList, lean func(DialFunc, http.RoundTripper) http.RoundTripper) *http.Client {
	t := newTransport(nil)
	t.DialContext = allow.DialContext(newDialer())
	var rt http.RoundTripper = t
	if lean != nil {
		rt = lean(t.DialContext, t)
	}
	return &http.Client{Transport: rt, Timeout: CallbackTimeout,
		CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
}

func newDialer() *net.Dialer {
	return &net.Dialer{Timeout: 10 * time.Second, KeepAlive: 30 * time.Second}
}

func newTransport(proxy func(*http.Request) (*url.URL, error)) *http.Transport {
	return &http.Transport{
		Proxy:               proxy,
		DialContext:         newDialer().DialContext,
		MaxIdleConns:        2048,
		MaxIdleConnsPerHost: 1024,
		IdleConnTimeout:     90 * time.Second,
		// The function gets the caller's Accept-Encoding, not one added
		// here (and the callback receives the body as the function wrote it).
		DisableCompression: true,
	}
}

// Start begins consuming the retry queue and every function queue, and
// watches for new queues. It returns at once. When ctx is cancelled (the
// process got SIGTERM) the worker stops pulling new calls; Stop then waits
// for the running ones.
func (w *Worker) Start(ctx context.Context) error {
	w.mu.Lock()
	w.runCtx, w.runCancel = context.WithCancel(context.WithoutCancel(ctx))
	w.discCtx, w.discStop = context.WithCancel(ctx)
	w.mu.Unlock()
	if err := w.startConsumer(retryConsumer, w.handleRetry); err != nil {
		return err
	}
	if err := w.startConsumer(callbackConsumer, w.handleCallback); err != nil {
		return err
	}
	// A new queue's consumer is announced by JetStream; subscribe before
	// listing so that none is missed in between.
	sub, err := w.cfg.JS.NC.Subscribe("$JS.EVENT.ADVISORY.CONSUMER.CREATED."+StreamWork+".*", func(m *nats.Msg) {
		if i := strings.LastIndexByte(m.Subject, '.'); i >= 0 {
			if tok, ok := tokenOfConsumer(m.Subject[i+1:]); ok {
				w.Notify(tok)
			}
		}
	})
	if err != nil {
		return fmt.Errorf("watch for new queues: %w", err)
	}
	w.sub = sub
	if err := w.discover(); err != nil {
		return err
	}
	go w.resync()
	go func() {
		<-w.discCtx.Done()
		w.drain()
	}()
	return nil
}

// resync re-lists the queues now and then: advisories are best effort.
func (w *Worker) resync() {
	t := time.NewTicker(30 * time.Second)
	defer t.Stop()
	for {
		select {
		case <-w.discCtx.Done():
			return
		case <-t.C:
			if err := w.discover(); err != nil {
				w.log.Warn("queue worker: listing queues failed; will retry", "err", err)
			}
		}
	}
}

func (w *Worker) discover() error {
	ctx, cancel := context.WithTimeout(w.discCtx, 10*time.Second)
	defer cancel()
	s, err := w.cfg.JS.JS.Stream(ctx, StreamWork)
	if err != nil {
		return fmt.Errorf("queue stream %s: %w (is the queue set up? start `ferry serve` first)", StreamWork, err)
	}
	names := s.ConsumerNames(ctx)
	for n := range names.Name() {
		if tok, ok := tokenOfConsumer(n); ok {
			w.Notify(tok)
		}
	}
	return names.Err()
}

// Notify starts consuming a queue if this worker does not yet.
func (w *Worker) Notify(token string) {
	if err := w.startConsumer(consumerName(token), w.handleWork); err != nil {
		w.log.Warn("queue worker: cannot consume queue; will retry on the next listing", "queue", token, "err", err)
	}
}

func (w *Worker) startConsumer(name string, h func(m jetstream.Msg, progress time.Duration)) error {
	w.mu.Lock()
	defer w.mu.Unlock()
	if w.stopped || w.discCtx == nil || w.queues[name] != nil {
		return nil // stopped, not started (Start lists all queues), or running
	}
	ctx, cancel := context.WithTimeout(w.discCtx, 10*time.Second)
	defer cancel()
	c, err := w.cfg.JS.JS.Consumer(ctx, StreamWork, name)
	if err != nil {
		return err
	}
	// Report progress by the consumer's own AckWait (set by whoever created
	// it, maybe another process with other flags), not this worker's flag.
	progress := w.cfg.AckWait
	if aw := c.CachedInfo().Config.AckWait; aw > 0 {
		progress = min(progress, aw)
	}
	progress /= 3
	var cc jetstream.ConsumeContext
	cc, err = c.Consume(func(m jetstream.Msg) {
		// The gate orders every Add before Stop's Wait: once draining, a
		// message still buffered goes straight back.
		w.gate.RLock()
		defer w.gate.RUnlock()
		if w.draining.Load() {
			_ = m.Nak()
			return
		}
		w.handlers.Add(1)
		go func() {
			defer w.handlers.Done()
			h(m, progress)
		}()
	}, jetstream.PullMaxMessages(w.cfg.PullBatch), jetstream.ConsumeErrHandler(func(_ jetstream.ConsumeContext, err error) {
		if errors.Is(err, jetstream.ErrConsumerDeleted) {
			w.mu.Lock()
			if w.queues[name] == cc {
				delete(w.queues, name)
			}
			w.mu.Unlock()
		}
	}))
	if err != nil {
		return err
	}
	w.queues[name] = cc
	return nil
}

// Stop stops pulling, lets running calls finish until ctx is done, then
// cancels the rest (they are redelivered to a worker after AckWait).
func (w *Worker) Stop(ctx context.Context) error {
	w.drain()
	done := make(chan struct{})
	go func() { w.handlers.Wait(); close(done) }()
	select {
	case <-done:
		return nil
	case <-ctx.Done():
		if w.runCancel != nil {
			w.runCancel()
		}
		<-done
		return fmt.Errorf("queue worker: calls still running at shutdown were cancelled; they will run again")
	}
}

// drain stops pulling new calls (idempotent).
func (w *Worker) drain() {
	w.gate.Lock()
	w.draining.Store(true)
	w.gate.Unlock()
	w.mu.Lock()
	if w.stopped {
		w.mu.Unlock()
		return
	}
	w.stopped = true
	ccs := make([]jetstream.ConsumeContext, 0, len(w.queues))
	for _, cc := range w.queues {
		ccs = append(ccs, cc)
	}
	sub, stop := w.sub, w.discStop
	w.mu.Unlock()
	for _, cc := range ccs {
		cc.Stop()
	}
	if sub != nil {
		_ = sub.Unsubscribe()
	}
	if stop != nil {
		stop()
	}
}

// keepAlive tells JetStream the call is still being worked on, so that
// AckWait never makes a long call run twice. A timer that re-arms itself
// rather than a goroutine and ticker per call: most calls end before the
// first report is due, and then cost one timer, not a goroutine.
func (w *Worker) keepAlive(m jetstream.Msg, every time.Duration) (stop func()) {
	var (
		mu      sync.Mutex
		stopped bool
		t       *time.Timer
	)
	mu.Lock() // the first run may not read t before it is set
	defer mu.Unlock()
	t = time.AfterFunc(every, func() {
		_ = m.InProgress()
		mu.Lock()
		if !stopped {
			t.Reset(every)
		}
		mu.Unlock()
	})
	return func() {
		mu.Lock()
		stopped = true
		mu.Unlock()
		t.Stop()
	}
}
