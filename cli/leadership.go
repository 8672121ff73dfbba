package cli

import (
	"context"
	"sync"
)

// leadership tells the plugins whether this gateway is the one that makes
// the decisions that must be made once (see provider.Elector). A gateway
// whose provider elects no leader leads from start to stop.
type leadership struct {
	mu      sync.Mutex
	term    uint64
	ctx     context.Context // of the current term; nil while following
	changed chan struct{}   // closed and replaced on every change
}

func newLeadership() *leadership { return &leadership{changed: make(chan struct{})} }

// begin starts a term that lasts as long as ctx.
func (l *leadership) begin(ctx context.Context) {
	l.mu.Lock()
	l.term++
	term := l.term
	l.ctx = ctx
	l.notify()
	l.mu.Unlock()
	<-ctx.Done()
	l.mu.Lock()
	if l.term == term { // not already replaced by a newer term
		l.ctx = nil
		l.notify()
	}
	l.mu.Unlock()
}

func (l *leadership) notify() {
	close(l.changed)
	l.changed = make(chan struct{})
}

// Leading reports whether this gateway leads now.
func (l *leadership) Leading() bool {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.ctx != nil && l.ctx.Err() == nil
}

// current is the running term's context (nil while following) and a
// channel closed at the next change.
func (l *leadership) current() (context.Context, <-chan struct{}) {
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.ctx != nil && l.ctx.Err() != nil {
		return nil, l.changed
	}
	return l.ctx, l.changed
}

// whileLeading runs fn once per term, with a context that ends with the
// term or with ctx, until ctx ends.
func (l *leadership) whileLeading(ctx context.Context, fn func(ctx context.Context)) {
	for ctx.Err() == nil {
		term, changed := l.current()
		if term == nil {
			select {
			case <-ctx.Done():
			case <-changed:
			}
			continue
		}
		tctx, cancel := context.WithCancel(ctx)
		stop := context.AfterFunc(term, cancel)
		fn(tctx)
		stop()
		cancel()
		// fn returned early (not because the term ended): wait for a change
		// instead of spinning.
		if term.Err() == nil && ctx.Err() == nil {
			select {
			case <-ctx.Done():
			case <-term.Done():
			}
		}
	}
}
