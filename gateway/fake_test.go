package gateway

import (
	"context"
	"net/http"
	"sync"
	"sync/atomic"
	"time"
)

// recordingObserver collects invocation events.
type recordingObserver struct {
	mu       sync.Mutex
	started  []string
	finished []string
	codes    []int
	cold     []time.Duration
	done     chan int // when set, gets each finished code
}

func (o *recordingObserver) ColdStarted(fn string, d time.Duration) {
	o.mu.Lock()
	o.cold = append(o.cold, d)
	o.mu.Unlock()
}

func (o *recordingObserver) Started(fn string) {
	o.mu.Lock()
	o.started = append(o.started, fn)
	o.mu.Unlock()
}

func (o *recordingObserver) Finished(fn string, code int, d time.Duration) {
	o.mu.Lock()
	o.finished = append(o.finished, fn)
	o.codes = append(o.codes, code)
	o.mu.Unlock()
	if o.done != nil {
		o.done <- code
	}
}

// funcWaker calls f on Wake and counts calls.
type funcWaker struct {
	calls atomic.Int64
	f     func(ns, name string) error
}

func (w *funcWaker) Wake(ctx context.Context, ns, name string) error {
	w.calls.Add(1)
	return w.f(ns, name)
}

var _ http.Handler = (*Gateway)(nil)
