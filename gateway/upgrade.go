package gateway

import (
	"context"
	"net"
	"net/http"

	"github.com/ferryfaas/ferry/api"
	"github.com/ferryfaas/ferry/internal/upgradetunnel"
)

// invokeUpgrade forwards a protocol upgrade (WebSocket) to one ready
// replica. After the replica's 101 the connection is a tunnel, counted in
// flight until either side closes it, and no longer bound by the call's
// timeout. It is not retried: the function may have seen it.
func (g *Gateway) invokeUpgrade(w http.ResponseWriter, r *http.Request, c *invocation) {
	ctx, cancel := context.WithDeadline(r.Context(), c.deadline)
	defer cancel()
	woke := false
	ep, inflight, err := g.ready(ctx, r, c, nil, &woke)
	if err != nil {
		c.code = g.fail(w, err)
		return
	}
	inflight.Add(1)
	defer inflight.Add(-1)
	protocols := r.Header["Upgrade"]
	c.id = g.prepareHeaders(r, c.start)[0]
	var d net.Dialer
	conn, err := d.DialContext(ctx, "tcp", ep.Address)
	if err != nil {
		c.code = g.fail(w, g.upstreamError(r, c, ep, &reqBody{}, err))
		return
	}
	target := cleanSuffix(c.t.suffix)
	if q := r.URL.RawQuery; q != "" {
		target += "?" + q
	}
	c.code, err = upgradetunnel.Proxy(w, r, upgradetunnel.Request{Conn: conn, Target: target, Host: ep.Address,
		Header: r.Header, Upgrade: protocols, Handshake: c.timeout})
	switch {
	case err == upgradetunnel.ErrNotHijackable:
		c.code = g.fail(w, api.Errorf(http.StatusInternalServerError, "function %s: %w", c.t.fn, err))
	case err != nil:
		c.code = g.fail(w, g.upstreamError(r, c, ep, &reqBody{}, err))
	}
}
