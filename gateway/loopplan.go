package gateway

import (
	"net/http"
	"net/netip"
	"strings"
	"sync/atomic"
	"time"

	"github.com/ferryfaas/ferry/internal/eventloop"
	"github.com/ferryfaas/ferry/internal/wire"
	"github.com/ferryfaas/ferry/provider"
)

// The gateway plans the event loop's calls (package eventloop) with the
// same route, balancer and metrics as its goroutine path.
var _ eventloop.Planner = (*Gateway)(nil)

// loopCall is the gateway's state of a call in the event loop.
type loopCall struct {
	t        target
	route    provider.Route
	ep       provider.Endpoint
	inflight *atomic.Int64
	timeout  time.Duration
}

// Plan takes a call when the function has a ready replica at an IP
// address and the request needs none of the goroutine path's slower
// cases (escaped paths, bodies over the limit, waiting for a replica).
func (g *Gateway) Plan(c *eventloop.Call) bool {
	if !IsInvocation(c.Path) || !wire.PlainPath(c.Path) || !g.hosts.ok(c.Host) {
		return false // a Host not served gets its 421 from ServeHTTP
	}
	t, err := parseEscapedPath(c.Path, "/function/", g.cfg.DefaultNamespace, g.nsSuffix)
	if err != nil {
		return false
	}
	if max := g.cfg.MaxInvokeBodyBytes; max > 0 && c.ContentLength > max {
		return false
	}
	if c.Authorization != "" && g.auth.anyAdmin(strings.Split(c.Authorization, "\n")) {
		return false // the goroutine path drops it (prepareHeaders)
	}
	route, ok := g.cfg.Provider.Route(t.ns, t.name)
	if !ok {
		return false
	}
	ep, inflight, ok := g.lb.pick(route.Endpoints, nil)
	if !ok {
		return false
	}
	addr, err := netip.ParseAddrPort(ep.Address)
	if err != nil {
		return false // a host name: the goroutine path resolves it
	}
	timeout := route.Timeout
	if timeout <= 0 {
		timeout = g.cfg.DefaultTimeout
	}
	c.Addr, c.Unix, c.Deadline = addr, ep.Unix, c.Start.Add(timeout)
	if !g.cfg.TrustedFunctionPages {
		c.Headers = functionHeaderLines
	}
	c.URI = cleanSuffix(t.suffix)
	if len(c.Target) > len(c.Path) {
		c.URI += c.Target[len(c.Path):] // "?query"
	}
	if c.CallID == "" {
		c.CallID = g.ids.next()
	}
	inflight.Add(1)
	if obs := g.cfg.Observer; obs != nil {
		obs.Started(t.fn)
	}
	c.Token = &loopCall{t: t, route: route, ep: ep, inflight: inflight, timeout: timeout}
	return true
}

// Done counts the call's end, as serveInvoke's deferred Finished does.
func (g *Gateway) Done(c *eventloop.Call, status int) {
	lc := c.Token.(*loopCall)
	lc.inflight.Add(-1)
	if obs := g.cfg.Observer; obs != nil {
		obs.Finished(lc.t.fn, status, time.Since(c.Start))
	}
	if g.cfg.LogRequests {
		g.logCall(c.Method, c.Path, status, time.Since(c.Start), c.CallID)
	}
}

// Resume finishes a call whose replica failed in the loop the way
// serveInvoke would have after that attempt: another replica, waiting
// for one if needed, with the same call ID, start and deadline.
func (g *Gateway) Resume(c *eventloop.Call, failed error) http.Handler {
	lc := c.Token.(*loopCall)
	lc.inflight.Add(-1)
	start, callID := c.Start, c.CallID
	atOnce := time.Since(start) < staleWindow // the loop sends a call as it reads it
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		defer g.recoverPanic(w, r)
		var code int
		if obs := g.cfg.Observer; obs != nil {
			defer func() { obs.Finished(lc.t.fn, code, time.Since(start)) }()
		}
		if g.cfg.LogRequests {
			defer func() { g.logCall(r.Method, r.URL.Path, code, time.Since(start), callID) }()
		}
		r.Header[wire.CallID] = []string{callID}
		// Re-read the route, as after any failed attempt: the provider may
		// already know the replica is gone.
		route := lc.route
		if err := g.reroute(&lc.t, &route); err != nil {
			code = g.fail(w, err)
			return
		}
		g.invoke(w, r, &lc.t, route, start, &code, &attempt{lc.ep, failed, atOnce})
	})
}

// Timeout is the goroutine path's 504 text.
func (g *Gateway) Timeout(c *eventloop.Call) string {
	lc := c.Token.(*loopCall)
	return errorMessage(timedOut(&lc.t, lc.timeout))
}

// BadUpstream is the goroutine path's 502 text.
func (g *Gateway) BadUpstream(c *eventloop.Call, err error) string {
	lc := c.Token.(*loopCall)
	return errorMessage(g.replicaFailed(&lc.t, lc.ep, err))
}
