package trigger

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"sync"
	"time"

	"github.com/ferryfaas/ferry/client"
	"golang.org/x/net/http/httpguts"
)

// Event is one message to deliver.
type Event struct {
	// Source names the trigger ("kafka", "cron", "nats"), sent as X-Connector.
	Source string
	// Topic is the topic, subject or schedule, sent as X-Topic (the header
	// OpenFaaS's connectors set).
	Topic  string
	Body   []byte
	Header http.Header
}

// Result is a synchronous answer of the function.
type Result struct {
	Status int
	Header http.Header
	Body   []byte
}

// Invoker calls functions through the gateway's invoke routes.
type Invoker struct {
	c       *client.Client
	log     *slog.Logger
	metrics *Metrics
	// Backoff is the first wait before a call the gateway could not take
	// is tried again (doubling to 30 s); tests shorten it.
	Backoff time.Duration

	mu   sync.Mutex
	sems map[string]chan struct{}
}

// NewInvoker calls the gateway c points at (its basic auth is sent only on
// /system routes, never on invocations). m may be nil.
func NewInvoker(c *client.Client, m *Metrics, log *slog.Logger) *Invoker {
	if log == nil {
		log = slog.Default()
	}
	// Many calls to one host at once: keep their connections alive (on a
	// copy, so the caller's client is left as it was).
	if t, ok := c.HTTP.Transport.(*http.Transport); ok {
		t = t.Clone()
		t.MaxIdleConnsPerHost = 256
		t.DisableCompression = true
		cc := *c
		cc.HTTP = &http.Client{Transport: t}
		c = &cc
	}
	return &Invoker{c: c, log: log, metrics: m, Backoff: time.Second, sems: map[string]chan struct{}{}}
}

// Acquire takes one of fn's call slots, waiting while all are in use: this
// wait is the back-pressure that slows a source to its slowest function.
// The returned func gives the slot back.
func (iv *Invoker) Acquire(ctx context.Context, fn *Function) (release func(), err error) {
	key := fn.Key()
	iv.mu.Lock()
	sem, ok := iv.sems[key]
	if !ok || cap(sem) != fn.Concurrency {
		// A changed bound takes effect for new calls; running ones give
		// their slot back to the old channel, which is then dropped.
		sem = make(chan struct{}, fn.Concurrency)
		iv.sems[key] = sem
	}
	iv.mu.Unlock()
	select {
	case sem <- struct{}{}:
		return func() { <-sem }, nil
	case <-ctx.Done():
		return nil, ctx.Err()
	}
}

// Deliver runs ev on fn until it is done: the function answered (any
// status; the answer is returned for a synchronous call), or the call is
// queued (async: 202). A synchronous call that fails with a 5xx or a
// network error is handed to the async queue, which retries it and
// dead-letters it, so a failing function never holds up the source. When
// the gateway cannot take the call at all, Deliver waits and tries again;
// it returns an error only when ctx ends first (the event is then not
// delivered and must not be acknowledged). An event that cannot be sent
// over HTTP at all is dropped (logged and counted): retrying it cannot
// help. Call with a slot from Acquire.
func (iv *Invoker) Deliver(ctx context.Context, fn *Function, ev Event) (*Result, error) {
	wait := iv.Backoff
	async := fn.Async
	for {
		res, err := iv.call(ctx, fn, ev, async)
		switch {
		case errors.Is(err, errUnsendable):
			// Not the gateway's fault: retrying held up the source for good.
			iv.metrics.count(ev.Source, fn, "dropped")
			iv.log.Warn("trigger: event cannot be sent, dropped", "function", fn.Key(), "topic", ev.Topic, "err", err)
			return nil, nil
		case err != nil:
		case async && res.Status == http.StatusAccepted:
			iv.metrics.count(ev.Source, fn, "queued")
			return nil, nil
		case res.Status == http.StatusNotFound:
			// Deleted meanwhile: nothing will ever run the event.
			iv.metrics.count(ev.Source, fn, "dropped")
			iv.log.Warn("trigger: function gone, event dropped", "function", fn.Key(), "topic", ev.Topic)
			return nil, nil
		case !retryable(res.Status) && res.Status != http.StatusNotImplemented:
			if async {
				// Refused for good (e.g. 413): retrying cannot help.
				iv.metrics.count(ev.Source, fn, "dropped")
				iv.log.Warn("trigger: queue refused the event", "function", fn.Key(), "status", res.Status, "answer", string(res.Body))
				return nil, nil
			}
			outcome := "ok"
			if res.Status >= 400 {
				outcome = "error"
			}
			iv.metrics.count(ev.Source, fn, outcome)
			return res, nil
		case !async:
			iv.log.Info("trigger: call failed, handing it to the async queue", "function", fn.Key(), "status", res.Status)
			iv.metrics.count(ev.Source, fn, "failed")
			async = true
			continue
		}
		why := "gateway unreachable"
		if err == nil {
			why = http.StatusText(res.Status)
			if res.Status == http.StatusNotImplemented {
				why = "the gateway has no async queue"
			}
		}
		iv.log.Warn("trigger: call not taken, retrying", "function", fn.Key(), "reason", why, "err", err, "in", wait)
		select {
		case <-ctx.Done():
			return nil, ctx.Err()
		case <-time.After(wait):
		}
		wait = min(2*wait, 30*time.Second)
		// A function with no queue to fall back on is tried in place.
		async = fn.Async
	}
}

// retryable statuses are the queue's: the call may succeed later.
func retryable(code int) bool {
	switch code {
	case http.StatusRequestTimeout, http.StatusTooManyRequests, http.StatusInternalServerError,
		http.StatusBadGateway, http.StatusServiceUnavailable, http.StatusGatewayTimeout:
		return true
	}
	return false
}

// errUnsendable is a request net/http refuses to send: the same event
// fails the same way every time.
var errUnsendable = errors.New("the request cannot be sent over HTTP")

func (iv *Invoker) call(ctx context.Context, fn *Function, ev Event, async bool) (*Result, error) {
	h := sendable(ev.Header)
	h.Set("X-Topic", ev.Topic)
	h.Set("X-Connector", "ferry-"+ev.Source)
	// The topic can still be unsendable: a NATS wildcard matches subjects
	// with control characters.
	for k, vs := range h {
		for _, v := range vs {
			if !httpguts.ValidHeaderFieldValue(v) {
				return nil, fmt.Errorf("%w: header %s has %.80q", errUnsendable, k, v)
			}
		}
	}
	res, err := iv.c.Invoke(ctx, client.InvokeRequest{Name: fn.Name, Namespace: fn.Namespace,
		Header: h, Body: bytes.NewReader(ev.Body), Async: async})
	if err != nil {
		if ctx.Err() != nil {
			return nil, ctx.Err()
		}
		return nil, err
	}
	return &Result{Status: res.Status, Header: res.Header, Body: res.Body}, nil
}

// sendable is a copy of h without the headers net/http refuses to send (a
// name that is not an HTTP token, a value with control characters). An
// event carries whatever its producer put in it: one such header failed
// the request before it left, forever, and the trigger retried it as
// "gateway unreachable", holding up its source. The event goes without it.
func sendable(h http.Header) http.Header {
	out := make(http.Header, len(h)+2)
	for k, vs := range h {
		if !httpguts.ValidHeaderFieldName(k) {
			continue
		}
		// Canonical, so that "x-topic" from a NATS header cannot stand
		// beside (and, in the client, replace) the X-Topic set here.
		ck := http.CanonicalHeaderKey(k)
		for _, v := range vs {
			if httpguts.ValidHeaderFieldValue(v) {
				out[ck] = append(out[ck], v)
			}
		}
	}
	return out
}
