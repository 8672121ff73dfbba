package wasmrt

import (
	"context"
	"sync"
	"sync/atomic"
	"time"
)

// Budget bounds the linear memory of all the instances of a server's wasm
// functions together. limits.memory caps one call; without a bound on the
// sum, enough concurrent calls of one public function would take the
// server's own memory. Memory is reserved as an instance's linear memory
// grows (its initial size before it starts) and returned when the
// instance is gone.
type Budget struct {
	limit uint64 // bytes; 0: no bound, only counted

	mu    sync.Mutex
	used  uint64
	freed chan struct{} // closed (and replaced) by every give: wakes waiters

	refused atomic.Uint64
}

// NewBudget returns a budget of limit bytes (<= 0: unbounded, counted).
func NewBudget(limit int64) *Budget {
	return &Budget{limit: uint64(max(limit, 0)), freed: make(chan struct{})}
}

// Limit is the budget in bytes (0: unbounded).
func (b *Budget) Limit() uint64 { return b.limit }

// Reserved is what the instances alive now hold, in bytes.
func (b *Budget) Reserved() uint64 {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.used
}

// Refused counts the calls refused for want of memory.
func (b *Budget) Refused() uint64 { return b.refused.Load() }

// take reserves n bytes if they fit (or anyway when force); it never
// waits.
func (b *Budget) take(n uint64, force bool) bool {
	ok, _ := b.try(n, force)
	return ok
}

// try is take that also returns, when n does not fit, a channel closed
// once some memory is returned.
func (b *Budget) try(n uint64, force bool) (ok bool, wake <-chan struct{}) {
	b.mu.Lock()
	defer b.mu.Unlock()
	if !force && b.limit > 0 && b.used+n > b.limit {
		return false, b.freed
	}
	b.used += n
	return true, nil
}

// wait reserves n bytes, waiting up to d (and no longer than ctx) for
// other calls to return memory.
func (b *Budget) wait(ctx context.Context, n uint64, d time.Duration) bool {
	if b.limit > 0 && n > b.limit {
		return false // would never fit
	}
	var timeout <-chan time.Time
	for {
		ok, wake := b.try(n, false)
		if ok {
			return true
		}
		if timeout == nil {
			t := time.NewTimer(d)
			defer t.Stop()
			timeout = t.C
		}
		select {
		case <-wake:
		case <-timeout:
			return false
		case <-ctx.Done():
			return false
		}
	}
}

func (b *Budget) give(n uint64) {
	if n == 0 {
		return
	}
	b.mu.Lock()
	b.used -= n
	close(b.freed)
	b.freed = make(chan struct{})
	b.mu.Unlock()
}

// usage is what a replica's calls use: the wall time spent in guest calls
// (guests run on the server's own threads, so their CPU time cannot be
// told apart) and the linear memory of its live instances. Calls in
// flight count as they run, so a long call does not show as a burst when
// it ends.
type usage struct {
	memory atomic.Int64 // bytes

	mu     sync.Mutex
	done   time.Duration // of the calls that ended
	n      int64         // calls in flight
	starts time.Duration // sum of their starts, since epoch
}

// epoch is the zero of usage's monotonic clock.
var epoch = time.Now()

func (u *usage) begin() time.Duration {
	at := time.Since(epoch)
	u.mu.Lock()
	u.n++
	u.starts += at
	u.mu.Unlock()
	return at
}

func (u *usage) end(start time.Duration) {
	at := time.Since(epoch)
	u.mu.Lock()
	u.n--
	u.starts -= start
	u.done += at - start
	u.mu.Unlock()
}

// busy is the wall time the replica's calls have spent so far.
func (u *usage) busy() time.Duration {
	at := time.Since(epoch)
	u.mu.Lock()
	defer u.mu.Unlock()
	return u.done + time.Duration(u.n)*at - u.starts
}
