package gateway

import (
	"net/netip"
	"strings"

	"github.com/ferryfaas/ferry/internal/eventloop"
	"github.com/ferryfaas/ferry/internal/wire"
)

// The gateway plans the event loop's calls (package eventloop) with the
// same route, balancer and metrics as its goroutine path.
var _ eventloop.Planner = (*Gateway)(nil)

// Plan takes a call when the function has a ready replica at an IP
// address and the request needs none of the goroutine path's slower
// cases (escaped paths, bodies over the limit, waiting for a replica).
// The invocation it returns owns the rest of the call (invocation.go).
func (g *Gateway) Plan(lc *eventloop.Call) eventloop.Owner {
	if !IsInvocation(lc.Path) || !wire.PlainPath(lc.Path) || !g.hosts.ok(lc.Host) {
		return nil // a Host not served gets its 421 from ServeHTTP
	}
	t, err := parseEscapedPath(lc.Path, "/function/", g.cfg.DefaultNamespace, g.nsSuffix)
	if err != nil {
		return nil
	}
	if max := g.cfg.MaxInvokeBodyBytes; max > 0 && lc.ContentLength > max {
		return nil
	}
	if lc.Authorization != "" && g.auth.anyAdmin(strings.Split(lc.Authorization, "\n")) {
		return nil // the goroutine path drops it (prepareHeaders)
	}
	route, ok := g.cfg.Provider.Route(t.ns, t.name)
	if !ok {
		return nil
	}
	ep, inflight, ok := g.lb.pick(route.Endpoints, nil)
	if !ok {
		return nil
	}
	addr, err := netip.ParseAddrPort(ep.Address)
	if err != nil {
		return nil // a host name: the goroutine path resolves it
	}
	c := new(invocation)
	*c = g.newCall(t, route, lc.Start)
	lc.Addr, lc.Unix, lc.Deadline = addr, ep.Unix, c.deadline
	if !g.cfg.TrustedFunctionPages {
		lc.Headers = functionHeaderLines
	}
	lc.URI = cleanSuffix(t.suffix)
	if len(lc.Target) > len(lc.Path) {
		lc.URI += lc.Target[len(lc.Path):] // "?query"
	}
	if lc.CallID == "" {
		lc.CallID = g.ids.next()
	}
	inflight.Add(1)
	c.id, c.ep, c.inflight, c.method, c.path = lc.CallID, ep, inflight, lc.Method, lc.Path
	return c
}
