package autoscale

import (
	"context"
	"net/http"
	"time"

	"github.com/ferryfaas/ferry/api"
	"github.com/ferryfaas/ferry/provider"
	"golang.org/x/sync/singleflight"
)

// WakeProvider is what the Waker needs from the provider.
type WakeProvider interface {
	provider.Resolver
	Scaler
}

// Waker brings a function at zero ready replicas back to one. Concurrent
// callers share one start; it returns when a replica is ready, or a 503
// *api.Error naming the reason (start failure, timeout).
type Waker struct {
	p       WakeProvider
	timeout time.Duration
	clock   Clock
	// OnWake, if set, is told about every wake (the autoscaler restarts the
	// function's idle timer).
	OnWake func(fn string, now time.Time)
	sf     singleflight.Group
}

// NewWaker makes a Waker that gives a start at most timeout.
func NewWaker(p WakeProvider, timeout time.Duration, clock Clock) *Waker {
	return &Waker{p: p, timeout: timeout, clock: clock}
}

// Wake implements gateway.Waker.
func (w *Waker) Wake(ctx context.Context, namespace, name string) error {
	fn := functionName(name, namespace)
	ch := w.sf.DoChan(fn, func() (any, error) {
		// Detached from the first caller: its cancellation must not fail the others.
		wctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), w.timeout)
		defer cancel()
		return nil, w.wake(wctx, namespace, name, fn)
	})
	select {
	case r := <-ch:
		return r.Err
	case <-ctx.Done():
		return api.Errorf(http.StatusServiceUnavailable, "function %s: gave up waiting for a replica to start: %w", fn, ctx.Err())
	}
}

func (w *Waker) wake(ctx context.Context, namespace, name, fn string) error {
	if w.OnWake != nil {
		w.OnWake(fn, w.clock.Now())
	}
	r, ok := w.p.Route(namespace, name)
	if !ok {
		return api.NotFound("function", fn)
	}
	if len(r.Endpoints) > 0 {
		return nil
	}
	if r.Desired == 0 {
		if err := w.p.Scale(ctx, namespace, name, 1); err != nil {
			return api.Errorf(http.StatusServiceUnavailable, "function %s: cannot scale from zero: %w", fn, err)
		}
		r, ok = w.p.Route(namespace, name)
	}
	for {
		switch {
		case !ok:
			return api.NotFound("function", fn)
		case len(r.Endpoints) > 0:
			return nil
		case r.Failure != "":
			return api.Errorf(http.StatusServiceUnavailable, "function %s cannot start: %s", fn, r.Failure)
		}
		select {
		case <-r.Changed:
		case <-ctx.Done():
			return api.Errorf(http.StatusServiceUnavailable, "function %s: no replica ready within %s; check `ferry logs %s`", fn, w.timeout, name)
		}
		r, ok = w.p.Route(namespace, name)
	}
}
