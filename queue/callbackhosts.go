package queue

import (
	"math/rand/v2"
	"net"
	"net/url"
	"strings"
	"sync"
	"time"
)

// DefaultCallbackPerHost bounds the callbacks delivered at once to one
// receiver (host:port).
const DefaultCallbackPerHost = 8

// callbackHostWait is how long at least a callback whose receiver has its
// share of deliveries running waits before it is offered again; it waits
// longer the more callbacks wait, so that many waiting for a receiver that
// never answers do not spin.
const callbackHostWait = time.Second

// callbackSlotWait is how long a callback waits for its receiver's share
// of deliveries to free a slot before it is put back: a healthy receiver
// frees one within milliseconds, and a backlog of its callbacks then flows
// at its pace instead of being spread over seconds of redelivery delays.
const callbackSlotWait = 250 * time.Millisecond

// callbackWaitersPerSlot bounds the callbacks waiting for one receiver
// (per slot of its share), so that a receiver that never answers holds
// few goroutines beyond its share.
const callbackWaitersPerSlot = 8

// maxCallbackDeliveries bounds the callbacks one worker delivers at once
// over all receivers (goroutines and connections).
const maxCallbackDeliveries = 1024

// maxWaitsTracked caps the memory spent remembering deliveries that only
// waited (past it, such waits count as attempts).
const maxWaitsTracked = 100000

// callbackHosts bounds concurrent callback deliveries per receiver. A
// worker delivers about a thousand at once and a delivery may take 30 s:
// without a per-receiver share, anonymous callers pointing callbacks at a
// receiver that accepts and never answers could hold every delivery, and
// every other function's callbacks would wait for hours.
type callbackHosts struct {
	mu    sync.Mutex
	total int
	hosts map[string]*hostSlots
	waits map[uint64]int // stream sequence -> deliveries that only waited
}

// callbackHost is the receiver a callback URL names: host:port, the
// scheme's port when none is given.
func callbackHost(raw string) string {
	u, err := url.Parse(raw)
	if err != nil {
		return raw
	}
	host, port := strings.ToLower(u.Hostname()), u.Port()
	if port == "" {
		port = "80"
		if u.Scheme == "https" {
			port = "443"
		}
	}
	return net.JoinHostPort(host, port)
}

// hostSlots is one receiver's share: a slot is a token in sem.
type hostSlots struct {
	sem     chan struct{}
	waiting int
}

// acquire takes one of host's max delivery slots, waiting up to wait for
// one to free (unless too many wait already); false when none did.
func (c *callbackHosts) acquire(host string, max int, wait time.Duration) bool {
	c.mu.Lock()
	if c.hosts == nil {
		c.hosts, c.waits = map[string]*hostSlots{}, map[uint64]int{}
	}
	h := c.hosts[host]
	if h == nil {
		h = &hostSlots{sem: make(chan struct{}, max)}
		c.hosts[host] = h
	}
	if c.total >= maxCallbackDeliveries {
		c.mu.Unlock()
		return false
	}
	select {
	case h.sem <- struct{}{}:
		c.total++
		c.mu.Unlock()
		return true
	default:
	}
	if wait <= 0 || h.waiting >= max*callbackWaitersPerSlot {
		c.mu.Unlock()
		return false
	}
	h.waiting++
	c.mu.Unlock()
	t := time.NewTimer(wait)
	defer t.Stop()
	got := false
	select {
	case h.sem <- struct{}{}:
		got = true
	case <-t.C:
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	h.waiting--
	if got && c.total >= maxCallbackDeliveries {
		<-h.sem
		got = false
	}
	if got {
		c.total++
	}
	c.forget(host, h)
	return got
}

func (c *callbackHosts) release(host string) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.total--
	h := c.hosts[host]
	<-h.sem
	c.forget(host, h)
}

// forget drops an idle receiver's entry (c.mu held).
func (c *callbackHosts) forget(host string, h *hostSlots) {
	if len(h.sem) == 0 && h.waiting == 0 {
		delete(c.hosts, host)
	}
}

// waited records that delivery of message seq only waited for a slot and
// returns the delay before it is offered again.
func (c *callbackHosts) waited(seq uint64) time.Duration {
	c.mu.Lock()
	if _, ok := c.waits[seq]; ok || len(c.waits) < maxWaitsTracked {
		c.waits[seq]++
	}
	spread := callbackHostWait + time.Duration(len(c.waits))*10*time.Millisecond
	c.mu.Unlock()
	return min(callbackHostWait+rand.N(spread), 5*time.Minute)
}

// attempts is how many of a message's deliveries were real attempts.
func (c *callbackHosts) attempts(seq uint64, delivered int) int {
	c.mu.Lock()
	defer c.mu.Unlock()
	return max(1, delivered-c.waits[seq])
}

// done forgets a message that was acked or dropped.
func (c *callbackHosts) done(seq uint64) {
	c.mu.Lock()
	delete(c.waits, seq)
	c.mu.Unlock()
}
