package gateway

import (
	"context"
	"net"
	"net/http"
	"time"

	"github.com/ferryfaas/ferry/api"
	"github.com/ferryfaas/ferry/internal/upgrade"
	"github.com/ferryfaas/ferry/provider"
)

// invokeUpgrade forwards a protocol upgrade (WebSocket) to one ready
// replica. After the replica's 101 the connection is a tunnel, counted in
// flight until either side closes it, and no longer bound by the call's
// timeout. It is not retried: the function may have seen it.
func (g *Gateway) invokeUpgrade(w http.ResponseWriter, r *http.Request, t *target, route provider.Route, start time.Time, timeout time.Duration, code *int) {
	deadline := start.Add(timeout)
	ctx, cancel := context.WithDeadline(r.Context(), deadline)
	defer cancel()
	woke := false
	ep, inflight, err := g.ready(ctx, deadline, r, t, &route, nil, &woke, timeout)
	if err != nil {
		*code = g.fail(w, err)
		return
	}
	inflight.Add(1)
	defer inflight.Add(-1)
	protocols := r.Header["Upgrade"]
	g.prepareHeaders(r, start)
	var d net.Dialer
	conn, err := d.DialContext(ctx, "tcp", ep.Address)
	if err != nil {
		*code = g.fail(w, g.upstreamError(deadline, r, t, ep, &reqBody{}, err, timeout))
		return
	}
	target := cleanSuffix(t.suffix)
	if q := r.URL.RawQuery; q != "" {
		target += "?" + q
	}
	*code, err = upgrade.Proxy(w, r, upgrade.Request{Conn: conn, Target: target, Host: ep.Address,
		Header: r.Header, Upgrade: protocols, Handshake: timeout})
	switch {
	case err == upgrade.ErrNotHijackable:
		*code = g.fail(w, api.Errorf(http.StatusInternalServerError, "function %s: %w", t.fn, err))
	case err != nil:
		*code = g.fail(w, g.upstreamError(deadline, r, t, ep, &reqBody{}, err, timeout))
	}
}
