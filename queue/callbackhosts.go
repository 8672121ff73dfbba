package queue

import (
	"math/rand/v2"
	"net"
	"net/url"
	"strings"
	"sync"
	"time"

	"github.com/ferryfaas/ferry/internal/serveconfig"
)

// DefaultCallbackPerHost bounds the callbacks delivered at once to one
// receiver (host:port).
const DefaultCallbackPerHost = serveconfig.AsyncCallbackPerHost

// callbackHostWait is how long at least a callback whose receiver has its
// share of deliveries running waits before it is offered again; it waits
// longer the more callbacks wait, so that many waiting for a receiver that
// never answers do not spin.
const callbackHostWait = time.Second

// callbackSlotWait is how long a callback waits for its receiver's share
// of deliveries to free a slot before it is put back: a healthy receiver
// frees one within milliseconds, and a backlog of its callbacks then flows
// at its pace instead of being spread over seconds, then minutes, of
// redelivery delays (a backlog of 20,000 took minutes at 150/s).
const callbackSlotWait = time.Second

// callbackWaitersPerSlot bounds the callbacks waiting for one receiver
// (per slot of its share), and maxCallbackWaiters those waiting for any:
// a receiver that never answers holds a bounded number of goroutines
// beyond its share, each for at most callbackSlotWait.
const (
	callbackWaitersPerSlot = 64
	maxCallbackWaiters     = 4 * maxCallbackDeliveries
)

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
	mu      sync.Mutex
	total   int
	waiting int
	hosts   map[string]*hostSlots
	waits   map[uint64]int // stream sequence -> deliveries that only waited
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
	// took is a moving average of its deliveries' time: how fast the
	// callbacks put back for it can come round again.
	took time.Duration
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
	if wait <= 0 || h.waiting >= max*callbackWaitersPerSlot || c.waiting >= maxCallbackWaiters {
		c.mu.Unlock()
		return false
	}
	h.waiting++
	c.waiting++
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
	c.waiting--
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

// release frees a slot taken by acquire; took is how long the delivery
// took.
func (c *callbackHosts) release(host string, took time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.total--
	h := c.hosts[host]
	<-h.sem
	if h.took == 0 {
		h.took = took
	} else {
		h.took += (took - h.took) / 8
	}
	c.forget(host, h)
}

// forget drops an idle receiver's entry (c.mu held).
func (c *callbackHosts) forget(host string, h *hostSlots) {
	if len(h.sem) == 0 && h.waiting == 0 {
		delete(c.hosts, host)
	}
}

// waited records that delivery of message seq only waited for a slot of
// host (max at once) and returns the delay before it is offered again:
// about the time the receiver needs for the callbacks waiting before it
// (at its recent pace), spread at random, at least callbackHostWait and
// at most 5 minutes. A receiver that answers in a millisecond gets a
// backlog of thousands within seconds; one that never answers (each
// delivery timing out) pushes its callbacks minutes away, so they do not
// spin.
func (c *callbackHosts) waited(seq uint64, host string, max int) time.Duration {
	c.mu.Lock()
	if _, ok := c.waits[seq]; ok || len(c.waits) < maxWaitsTracked {
		c.waits[seq]++
	}
	// A receiver with no delivery done yet: 10 ms per callback waiting,
	// as before the pace was known.
	took := 10 * time.Millisecond * time.Duration(max)
	if h := c.hosts[host]; h != nil && h.took > 0 {
		took = h.took
	}
	ahead := time.Duration(len(c.waits)) * took / time.Duration(max)
	c.mu.Unlock()
	return min(callbackHostWait+rand.N(callbackHostWait+ahead), 5*time.Minute)
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
