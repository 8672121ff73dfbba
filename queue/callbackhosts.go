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
	busy  map[string]int
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

// acquire takes one of host's max delivery slots; false when all are busy.
func (c *callbackHosts) acquire(host string, max int) bool {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.busy == nil {
		c.busy, c.waits = map[string]int{}, map[uint64]int{}
	}
	if c.busy[host] >= max || c.total >= maxCallbackDeliveries {
		return false
	}
	c.busy[host]++
	c.total++
	return true
}

func (c *callbackHosts) release(host string) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.total--
	if c.busy[host]--; c.busy[host] <= 0 {
		delete(c.busy, host)
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
