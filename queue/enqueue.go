package queue

import (
	"bytes"
	"context"
	"errors"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/url"
	"strings"
	"sync"
	"time"

	"github.com/ferryfaas/ferry/api"
	"github.com/ferryfaas/ferry/internal/wire"
	"github.com/ferryfaas/ferry/provider"
	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"
	"github.com/nats-io/nuid"
	"golang.org/x/sync/semaphore"
)

// Functions is what the enqueuer needs from the provider: existence (on
// the hot path, from memory) and labels/annotations (cached here).
type Functions interface {
	Route(namespace, name string) (provider.Route, bool)
	Get(ctx context.Context, namespace, name string) (api.FunctionStatus, error)
}

// EnqueuerConfig wires the /async-function/ handler.
type EnqueuerConfig struct {
	JS               *JetStream
	Functions        Functions
	DefaultNamespace string
	// MaxBody is the request body limit (413 over it); 0 means DefaultMaxBody.
	MaxBody int64
	// Callbacks restricts X-Callback-Url hosts; nil allows all.
	Callbacks *AllowList
	AckWait   time.Duration
	Metrics   *Metrics
	Log       *slog.Logger
	// SettingsTTL is how long a function's queue settings are cached
	// (default 5s): label changes apply within it.
	SettingsTTL time.Duration
	// OnNewQueue, if set, is told about a queue whose consumer was just
	// created, so that an in-process worker starts on it at once.
	OnNewQueue func(token string)
	// Bounds limit the queue (429 when full); zero fields take defaults.
	Bounds Bounds
}

// Enqueuer is the http.Handler for /async-function/NAME[.ns][/path].
type Enqueuer struct {
	cfg EnqueuerConfig

	mu       sync.Mutex
	settings map[string]*fnSettings // key "ns/name"
	ensured  map[string]int         // queue token -> MaxAckPending set
	bufs     sync.Pool
	gauges   map[string]*gauge // queue token -> calls it holds
	total    gauge
	// storing bounds the bodies being read and published at once: each
	// is copied a few times on its way to disk, and a burst of concurrent
	// large calls would otherwise take hundreds of MB at once.
	storing *semaphore.Weighted
}

// storingMemory is the body bytes the enqueuer handles at once.
const storingMemory = 8 << 20

type fnSettings struct {
	mu          sync.Mutex
	token       string
	maxInflight int
	fetched     time.Time
	err         error
}

var _ http.Handler = (*Enqueuer)(nil)

// NewEnqueuer builds the handler.
func NewEnqueuer(cfg EnqueuerConfig) *Enqueuer {
	if cfg.MaxBody <= 0 {
		cfg.MaxBody = DefaultMaxBody
	}
	if cfg.DefaultNamespace == "" {
		cfg.DefaultNamespace = api.DefaultNamespace
	}
	if cfg.SettingsTTL <= 0 {
		cfg.SettingsTTL = 5 * time.Second
	}
	if cfg.Log == nil {
		cfg.Log = slog.Default()
	}
	if cfg.Metrics == nil {
		cfg.Metrics = NewMetrics(nil)
	}
	cfg.Bounds = cfg.Bounds.withDefaults()
	return &Enqueuer{cfg: cfg, settings: map[string]*fnSettings{}, ensured: map[string]int{},
		bufs:   sync.Pool{New: func() any { return new(bytes.Buffer) }},
		gauges: map[string]*gauge{}, storing: semaphore.NewWeighted(storingMemory)}
}

func (e *Enqueuer) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	id, err := e.enqueue(r)
	if err != nil {
		if api.StatusOf(err) == http.StatusTooManyRequests {
			w.Header().Set("Retry-After", retryAfter)
		}
		writeError(w, err)
		return
	}
	w.Header().Set(wire.CallID, id)
	w.WriteHeader(http.StatusAccepted)
}

// parseTarget splits /async-function/NAME[.ns][/path].
func (e *Enqueuer) parseTarget(r *http.Request) (name, ns, sub string, err error) {
	p := r.URL.EscapedPath()
	i := strings.Index(p, "/async-function/")
	if i < 0 {
		return "", "", "", api.NotFound("route", p)
	}
	p = p[i+len("/async-function/"):]
	fn, rest, hasRest := strings.Cut(p, "/")
	if hasRest {
		sub = "/" + rest
	}
	if fn, err = url.PathUnescape(fn); err != nil {
		return "", "", "", api.BadRequest("function name in %q is not valid URL encoding", short(p))
	}
	name, ns = api.SplitFunctionName(fn, e.cfg.DefaultNamespace)
	if err := api.ValidateName("function", name); err != nil {
		return "", "", "", err
	}
	if err := api.ValidateName("namespace", ns); err != nil {
		return "", "", "", err
	}
	return name, ns, sub, nil
}

func (e *Enqueuer) enqueue(r *http.Request) (string, error) {
	start := time.Now()
	name, ns, sub, err := e.parseTarget(r)
	if err != nil {
		return "", err
	}
	if _, ok := e.cfg.Functions.Route(ns, name); !ok {
		return "", notFound(name, ns)
	}
	cb := r.Header.Get("X-Callback-Url")
	if cb != "" {
		if err := e.cfg.Callbacks.ValidateCallback(r.Context(), cb); err != nil {
			return "", err
		}
	}
	if r.ContentLength > e.cfg.MaxBody {
		return "", tooLarge(e.cfg.MaxBody)
	}
	token, err := e.queueOf(r.Context(), ns, name)
	if err != nil {
		return "", err
	}
	if err := e.admit(r.Context(), name+"."+ns, token, max(r.ContentLength, 0)); err != nil {
		return "", err
	}
	weight := e.cfg.MaxBody
	if r.ContentLength >= 0 {
		weight = r.ContentLength
	}
	weight = min(weight, storingMemory)
	if !e.storing.TryAcquire(weight) {
		// Only a wait needs its bound (a timer per call otherwise).
		wctx, wcancel := context.WithTimeout(r.Context(), 10*time.Second)
		err = e.storing.Acquire(wctx, weight)
		wcancel()
		if err != nil {
			return "", api.Errorf(http.StatusServiceUnavailable, "the queue is busy storing other calls; retry")
		}
	}
	defer e.storing.Release(weight)
	buf := e.bufs.Get().(*bytes.Buffer)
	buf.Reset()
	defer e.bufs.Put(buf)
	if r.ContentLength > 0 {
		buf.Grow(int(r.ContentLength) + bytes.MinRead) // one allocation, not doublings
	}
	n, err := buf.ReadFrom(io.LimitReader(r.Body, e.cfg.MaxBody+1))
	if err != nil {
		return "", api.BadRequest("read request body: %w", err)
	}
	if n > e.cfg.MaxBody {
		return "", tooLarge(e.cfg.MaxBody)
	}
	defer noteBody(int(n))
	id := r.Header.Get(wire.CallID)
	callerID := id != ""
	if !callerID {
		id = nuid.Next()
	} else if len(id) > 200 {
		return "", api.BadRequest("X-Call-Id is longer than 200 characters")
	}
	// Stored as the sync path forwards them: no hop-by-hop field (nor a
	// Proxy-Authorization) is kept, and X-Forwarded-For gets every value
	// the caller sent, then its address (the function is later called by
	// a worker, not the client).
	h := r.Header.Clone()
	wire.RemoveHopHeaders(h)
	delete(h, "Content-Length")
	if host, _, err := net.SplitHostPort(r.RemoteAddr); err == nil {
		h[wire.ForwardedFor] = []string{wire.ForwardedForValue(h[wire.ForwardedFor], host)}
	}
	req := &Request{
		CallID: id, Function: name, Namespace: ns, QueueName: token,
		Method: r.Method, Path: sub, QueryString: r.URL.RawQuery, Host: r.Host,
		Header: h, CallbackURL: cb, StartTime: start.UnixNano(),
		BodySize: n, Body: buf.Bytes(),
	}
	// Without an ack in 10s (NATS down or reconnecting) the caller gets a
	// 503 and may retry with the same X-Call-Id; duplicates are dropped.
	ctx, cancel := context.WithTimeout(r.Context(), 10*time.Second)
	defer cancel()
	if err := e.publish(ctx, subjWorkPrefix+token, req, callerID); err != nil {
		return "", err
	}
	e.cfg.Metrics.Enqueued.WithLabelValues(req.FunctionName()).Inc()
	return id, nil
}

// publish stores a request durably; it returns only once JetStream has
// acknowledged it (the message is on disk), so a 202 is never a promise
// that a crash can break.
func (e *Enqueuer) publish(ctx context.Context, subj string, req *Request, dedupe bool) error {
	enc, err := req.appendTo(e.bufs.Get().(*bytes.Buffer).AvailableBuffer())
	if err != nil {
		return err
	}
	data := enc
	keep := true // the buffer goes back to the pool unless a publish may still read it
	defer func() {
		if keep && cap(enc) <= 4*storingMemory {
			e.bufs.Put(bytes.NewBuffer(enc[:0]))
		}
	}()
	var ref string // the body's object, when stored apart
	if int64(len(data)) > e.cfg.JS.NC.MaxPayload()-4096 {
		ref = req.CallID + "." + nuid.Next()
		if _, err := e.storeBody(ctx, ref, req.Body); err != nil {
			return unavailable(err)
		}
		body := req.Body
		req.Body, req.BodyRef = nil, ref
		data, err = req.encode()
		req.Body, req.BodyRef = body, ""
		if err != nil {
			return err
		}
	}
	var opts []jetstream.PublishOpt
	if dedupe {
		// A caller's retry (same X-Call-Id, same function) is dropped; the
		// same id sent to another function is another call (a function
		// passing its X-Call-Id along a chain, as the README shows).
		opts = append(opts, jetstream.WithMsgID(req.Namespace+"/"+req.Function+"/"+req.CallID))
	}
	ack, err := publishAck(ctx, e.cfg.JS, subj, data, nil, opts...)
	keep = ctx.Err() == nil
	if err == nil && ack.Duplicate && ref != "" {
		// The first copy's body is the one kept: this one would be orphaned.
		if os, oerr := e.cfg.JS.bodies(ctx); oerr == nil {
			os.Delete(ctx, ref)
		}
	}
	return err
}

func (e *Enqueuer) storeBody(ctx context.Context, ref string, body []byte) (*jetstream.ObjectInfo, error) {
	os, err := e.cfg.JS.bodies(ctx)
	if err != nil {
		return nil, err
	}
	return os.PutBytes(ctx, ref, body)
}

// publishData publishes asynchronously (so concurrent callers share the
// connection's round trips) and waits for the stream's ack.
func publishData(ctx context.Context, j *JetStream, subj string, data []byte, hdr nats.Header, opts ...jetstream.PublishOpt) error {
	_, err := publishAck(ctx, j, subj, data, hdr, opts...)
	return err
}

// publishAck is publishData returning the stream's ack.
func publishAck(ctx context.Context, j *JetStream, subj string, data []byte, hdr nats.Header, opts ...jetstream.PublishOpt) (*jetstream.PubAck, error) {
	m := &nats.Msg{Subject: subj, Data: data, Header: hdr}
	f, err := j.JS.PublishMsgAsync(m, opts...)
	if err != nil {
		return nil, unavailable(err)
	}
	select {
	case ack := <-f.Ok():
		return ack, nil
	case err := <-f.Err():
		return nil, unavailable(err)
	case <-ctx.Done():
		return nil, unavailable(ctx.Err())
	}
}

// queueOf returns the function's queue token, creating or updating its
// consumer when the settings are new or changed.
func (e *Enqueuer) queueOf(ctx context.Context, ns, name string) (string, error) {
	key := ns + "/" + name
	e.mu.Lock()
	s := e.settings[key]
	if s == nil {
		s = &fnSettings{}
		e.settings[key] = s
	}
	e.mu.Unlock()
	s.mu.Lock()
	defer s.mu.Unlock()
	if !s.fetched.IsZero() && time.Since(s.fetched) < e.cfg.SettingsTTL {
		return s.token, s.err
	}
	st, err := e.cfg.Functions.Get(ctx, ns, name)
	if err != nil {
		if api.IsNotFound(err) {
			return "", err
		}
		if s.token != "" { // keep serving the last good settings
			return s.token, nil
		}
		return "", api.Errorf(http.StatusServiceUnavailable, "read settings of function %s.%s: %w", name, ns, err)
	}
	token, maxIn := settingsOf(e.cfg.Log, ns, name, st)
	if err := e.ensure(ctx, token, maxIn); err != nil {
		return "", unavailable(err)
	}
	s.token, s.maxInflight, s.fetched, s.err = token, maxIn, time.Now(), nil
	return token, nil
}

func (e *Enqueuer) ensure(ctx context.Context, token string, maxIn int) error {
	e.mu.Lock()
	have, ok := e.ensured[token]
	e.mu.Unlock()
	if ok && have == maxIn {
		return nil
	}
	if err := e.cfg.JS.ensureConsumer(ctx, token, maxIn, e.cfg.AckWait); err != nil {
		return err
	}
	e.mu.Lock()
	e.ensured[token] = maxIn
	e.mu.Unlock()
	if !ok && e.cfg.OnNewQueue != nil {
		e.cfg.OnNewQueue(token)
	}
	return nil
}

func notFound(name, ns string) error { return api.NotFound("function", name+"."+ns) }

func tooLarge(max int64) error {
	return api.Errorf(http.StatusRequestEntityTooLarge, "request body is larger than the async limit of %d bytes (--async-max-body)", max)
}

func unavailable(err error) error {
	var ae *api.Error
	if errors.As(err, &ae) {
		return err
	}
	return api.Errorf(http.StatusServiceUnavailable, "queue unavailable, try again: %w", err)
}

func writeError(w http.ResponseWriter, err error) {
	w.Header().Set("Content-Type", "text/plain; charset=utf-8")
	w.Header().Set("X-OpenFaaS-Internal", "queue")
	w.WriteHeader(api.StatusOf(err))
	io.WriteString(w, err.Error()+"\n")
}
