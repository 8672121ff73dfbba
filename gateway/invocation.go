package gateway

import (
	"net/http"
	"strings"
	"sync/atomic"
	"time"

	"github.com/ferryfaas/ferry/internal/eventloop"
	"github.com/ferryfaas/ferry/internal/wire"
	"github.com/ferryfaas/ferry/provider"
)

// invocation is one call from its request to its answer, whichever way
// it goes: taken by the goroutine path (serveInvoke), or planned by the
// event loop (Plan), which ends it (Done) or hands it, with the replica
// that failed it, to the goroutine path's retries (Resume). One value
// carries it all the way, and its end is counted once (end).
type invocation struct {
	g        *Gateway
	t        target
	route    provider.Route // re-read after a failed attempt
	start    time.Time
	timeout  time.Duration
	deadline time.Time // start + timeout: a time, not a context (see invoke)
	code     int       // the status answered, for the Observer and the log
	// id is the X-Call-Id sent upstream and echoed (prepareHeaders).
	id string

	// In the event loop: the replica it went to and its in-flight count,
	// and the request's method and path (views of the loop's buffer,
	// valid until Done or Resume returns).
	ep           provider.Endpoint
	inflight     *atomic.Int64
	method, path string
}

// newCall starts a call to t: counted as started from here. (A value:
// the goroutine path keeps it on its stack.)
func (g *Gateway) newCall(t target, route provider.Route, start time.Time) invocation {
	timeout := route.Timeout
	if timeout <= 0 {
		timeout = g.cfg.DefaultTimeout
	}
	if obs := g.cfg.Observer; obs != nil {
		obs.Started(t.fn)
	}
	return invocation{g: g, t: t, route: route, start: start, timeout: timeout, deadline: start.Add(timeout)}
}

// end counts the call's end with the status answered, and logs it.
func (c *invocation) end(method, path string) {
	d := time.Since(c.start)
	if obs := c.g.cfg.Observer; obs != nil {
		obs.Finished(c.t.fn, c.code, d)
	}
	if c.g.cfg.LogRequests {
		c.g.logCall(method, path, c.code, d, c.id)
	}
}

// The event loop ends a planned call through its owner, the invocation.
var _ eventloop.Owner = (*invocation)(nil)

// Done ends a call the loop answered.
func (c *invocation) Done(status int) {
	c.inflight.Add(-1)
	c.code = status
	c.end(c.method, c.path)
}

// Resume finishes a call whose replica failed in the loop the way invoke
// would have after that attempt: another replica, waiting for one if
// needed, with the same call ID, start and deadline.
func (c *invocation) Resume(failed error) http.Handler {
	c.inflight.Add(-1)
	c.method, c.path = "", "" // the loop's buffer is no longer ours
	c.id = strings.Clone(c.id)
	prior := &attempt{c.ep, failed, time.Since(c.start) < staleWindow} // the loop sends a call as it reads it
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		defer c.g.recoverPanic(w, r)
		defer func() { c.end(r.Method, r.URL.Path) }()
		r.Header[wire.CallID] = []string{c.id}
		// Re-read the route, as after any failed attempt: the provider may
		// already know the replica is gone.
		if err := c.g.reroute(&c.t, &c.route); err != nil {
			c.code = c.g.fail(w, err)
			return
		}
		c.g.invoke(w, r, c, prior)
	})
}

// Timeout is the goroutine path's 504 text.
func (c *invocation) Timeout() string { return errorMessage(timedOut(c)) }

// BadUpstream is the goroutine path's 502 text.
func (c *invocation) BadUpstream(err error) string {
	return errorMessage(c.g.replicaFailed(&c.t, c.ep, err))
}
