package gateway

import (
	"math/rand/v2"
	"sync"
	"sync/atomic"

	"github.com/ferryfaas/ferry/provider"
)

// balancer picks the ready endpoint with the fewest requests in flight
// through this gateway. Counters are per address and live as long as the
// gateway (a few bytes each; addresses are reused as replicas come and go).
type balancer struct {
	mu       sync.RWMutex
	inflight map[string]*atomic.Int64
}

func (b *balancer) init() { b.inflight = map[string]*atomic.Int64{} }

// counter returns the in-flight counter of an address, creating it.
func (b *balancer) counter(addr string) *atomic.Int64 {
	b.mu.RLock()
	c := b.inflight[addr]
	b.mu.RUnlock()
	if c != nil {
		return c
	}
	b.mu.Lock()
	defer b.mu.Unlock()
	if c = b.inflight[addr]; c == nil {
		c = new(atomic.Int64)
		b.inflight[addr] = c
	}
	return c
}

// pick chooses among eps, skipping addresses in skip, the one with the
// least in flight; ties go to a random one (the scan starts at a random
// offset). ok is false when every endpoint is skipped.
func (b *balancer) pick(eps []provider.Endpoint, skip []string) (ep provider.Endpoint, c *atomic.Int64, ok bool) {
	n := len(eps)
	if n == 0 {
		return ep, nil, false
	}
	if n == 1 && len(skip) == 0 {
		return eps[0], b.counter(eps[0].Address), true
	}
	start := rand.IntN(n)
	var best int64
	var missing bool
	b.mu.RLock()
	for i := 0; i < n; i++ {
		e := eps[(start+i)%n]
		if skipped(e.Address, skip) {
			continue
		}
		cur := b.inflight[e.Address]
		var v int64
		if cur == nil {
			missing = true // never used: zero in flight
		} else {
			v = cur.Load()
		}
		if !ok || v < best {
			ep, c, best, ok = e, cur, v, true
		}
	}
	b.mu.RUnlock()
	if ok && (c == nil || missing) {
		c = b.counter(ep.Address)
	}
	return ep, c, ok
}

func skipped(addr string, skip []string) bool {
	for _, s := range skip {
		if s == addr {
			return true
		}
	}
	return false
}
