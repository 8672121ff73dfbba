package queue

import (
	"context"
	"fmt"
	"net/http"
	"sync"
	"time"

	"github.com/ferryfaas/ferry/api"
	"github.com/ferryfaas/ferry/internal/serveconfig"
	"github.com/nats-io/nats.go/jetstream"
)

// Bounds limit what the queue holds, so that anonymous callers cannot
// fill the disk or the gateway's memory. Enqueues over a bound are a 429;
// calls already accepted (retries, redrives, callbacks) are never refused
// by them: the streams' own limits sit a quarter higher to leave them room.
type Bounds struct {
	// PerQueue caps the calls waiting, running or in back-off on one
	// queue (a function's own, or a named queue).
	PerQueue int64
	// Calls caps messages in the queue stream over all queues.
	Calls int64
	// Bytes caps the queue stream plus the large-body store.
	Bytes int64
	// DeadLetterTTL is how long a dead letter is kept.
	DeadLetterTTL time.Duration
}

// Default bounds, sized for one machine.
const (
	DefaultPerQueue      = serveconfig.AsyncMaxQueuedPerFunction
	DefaultQueuedCalls   = serveconfig.AsyncMaxQueued
	DefaultQueuedBytes   = serveconfig.AsyncMaxQueuedBytes
	DefaultDeadLetterTTL = serveconfig.AsyncDeadLetterTTL
)

// withDefaults fills unset (zero or negative) bounds.
func (b Bounds) withDefaults() Bounds {
	if b.PerQueue <= 0 {
		b.PerQueue = DefaultPerQueue
	}
	if b.Calls <= 0 {
		b.Calls = DefaultQueuedCalls
	}
	if b.Bytes <= 0 {
		b.Bytes = DefaultQueuedBytes
	}
	if b.DeadLetterTTL <= 0 {
		b.DeadLetterTTL = DefaultDeadLetterTTL
	}
	return b
}

// hard is a stream limit above an enqueue bound: room for accepted calls
// moving between subjects (retries, callbacks) when the bound is reached.
func hard(n int64) int64 { return n + n/4 }

// bodyTTL is how long a large body is kept: longer than its dead letter,
// so that a dead letter can be redriven until it expires.
func (b Bounds) bodyTTL() time.Duration { return 2 * b.DeadLetterTTL }

// gauge is a cached count of what a stream (or one queue) holds: the
// count read from JetStream plus what this process accepted since, so
// that the hot path asks JetStream at most every refreshEvery.
type gauge struct {
	mu           sync.Mutex
	calls, bytes int64
	at           time.Time
}

const (
	refreshEvery = 250 * time.Millisecond
	// refreshFull: when a bound is reached, re-read at most this often
	// before refusing (calls finish meanwhile).
	refreshFull = 20 * time.Millisecond
)

// admit counts one call of size bytes against g if it fits, else says
// which bound it would pass ("calls" or "bytes"); read re-reads the true
// figures. A failed read admits: the publish then reports NATS's state.
func (g *gauge) admit(size, maxCalls, maxBytes int64, read func() (int64, int64, error)) (over string) {
	g.mu.Lock()
	defer g.mu.Unlock()
	check := func() string {
		if g.calls+1 > maxCalls {
			return "calls"
		}
		if maxBytes > 0 && g.bytes+size > maxBytes {
			return "bytes"
		}
		return ""
	}
	age := time.Since(g.at)
	if age > refreshEvery || (check() != "" && age > refreshFull) {
		if c, b, err := read(); err == nil {
			g.calls, g.bytes, g.at = c, b, time.Now()
		}
	}
	if over = check(); over == "" {
		g.calls++
		g.bytes += size
	}
	return over
}

// full is the 429 of a reached bound, with the flag that sets it.
func full(format string, args ...any) error {
	return api.Errorf(http.StatusTooManyRequests, format+"; retry later", args...)
}

// retryAfter is the Retry-After of a 429: long enough for a queue to move.
const retryAfter = "5"

// admit checks the call of function fn against its queue's and the
// total bounds.
func (e *Enqueuer) admit(ctx context.Context, fn, token string, size int64) error {
	b := e.cfg.Bounds
	e.mu.Lock()
	g := e.gauges[token]
	if g == nil {
		g = &gauge{}
		e.gauges[token] = g
	}
	e.mu.Unlock()
	if g.admit(size, b.PerQueue, 0, func() (int64, int64, error) { return e.countQueue(ctx, token) }) != "" {
		e.cfg.Metrics.Full.WithLabelValues(fn, "function").Inc()
		return full("queue %s is full: %d calls waiting, running or in back-off (--async-max-queued-per-function)", token, b.PerQueue)
	}
	if over := e.total.admit(size, b.Calls, b.Bytes, func() (int64, int64, error) { return e.countAll(ctx) }); over != "" {
		e.cfg.Metrics.Full.WithLabelValues(fn, over).Inc()
		return full("the async queue is full: %d calls or %d bytes waiting (--async-max-queued, --async-max-queued-bytes)", b.Calls, b.Bytes)
	}
	return nil
}

// countQueue reads the calls of one queue: on its subject and in back-off.
func (e *Enqueuer) countQueue(ctx context.Context, token string) (int64, int64, error) {
	ctx, cancel := context.WithTimeout(ctx, 2*time.Second)
	defer cancel()
	st, err := e.cfg.JS.JS.Stream(ctx, StreamWork)
	if err != nil {
		return 0, 0, err
	}
	// "ferry.*.<token>" is the work and the retry subject of the queue.
	info, err := st.Info(ctx, jetstream.WithSubjectFilter("ferry.*."+token))
	if err != nil {
		return 0, 0, err
	}
	var n int64
	for _, c := range info.State.Subjects {
		n += int64(c)
	}
	return n, 0, nil
}

// countAll reads the queue stream's messages and, with the body store,
// its bytes.
func (e *Enqueuer) countAll(ctx context.Context) (int64, int64, error) {
	ctx, cancel := context.WithTimeout(ctx, 2*time.Second)
	defer cancel()
	st, err := e.cfg.JS.JS.Stream(ctx, StreamWork)
	if err != nil {
		return 0, 0, err
	}
	bodies, err := e.cfg.JS.JS.Stream(ctx, "OBJ_"+BodiesBucket)
	if err != nil {
		return 0, 0, fmt.Errorf("body store: %w", err)
	}
	w, o := st.CachedInfo().State, bodies.CachedInfo().State
	return int64(w.Msgs), int64(w.Bytes + o.Bytes), nil
}
