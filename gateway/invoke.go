package gateway

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"os"
	"slices"
	"sync/atomic"
	"time"

	"github.com/ferryfaas/ferry/api"
	"github.com/ferryfaas/ferry/internal/upgradetunnel"
	"github.com/ferryfaas/ferry/internal/wire"
	"github.com/ferryfaas/ferry/provider"
)

// maxAttempts bounds how often one call is sent: a replica that refused
// the connection or died before answering is replaced by another.
const maxAttempts = 3

// statusClientClosed is recorded when the caller went away (nginx's 499);
// nothing is written then.
const statusClientClosed = 499

// retryWait is how long a call whose replicas all failed waits for the
// provider to offer another one.
const retryWait = 2 * time.Second

var (
	errClientGone = errors.New("the caller closed the connection")
	errAllTried   = errors.New("every ready replica failed this call")
	// errFunctionUnreachable is a watchdog's 502 for a function that died
	// or refused the connection.
	errFunctionUnreachable = errors.New("the replica's function was unreachable")
)

// unreachableFunction reports a watchdog's own 502 (marked with
// X-OpenFaaS-Internal: watchdog): the function never answered the call.
func unreachableFunction(resp *http.Response) bool {
	if resp.StatusCode != http.StatusBadGateway {
		return false
	}
	v := resp.Header["X-Openfaas-Internal"]
	return len(v) == 1 && v[0] == "watchdog"
}

// serveInvoke is any method on /function/{name}[.{ns}][/{path...}].
func (g *Gateway) serveInvoke(w http.ResponseWriter, r *http.Request) {
	start := time.Now()
	t, err := parseInvokePath(r.URL, "/function/", g.cfg.DefaultNamespace, g.nsSuffix)
	if err != nil {
		g.writeError(w, err)
		return
	}
	g.serveTarget(w, r, t, start, r.URL.Path)
}

// serveTarget runs a call to t (from its route to its end, logged as
// path), whether it came over HTTP or from this process (InvokeLocal).
func (g *Gateway) serveTarget(w http.ResponseWriter, r *http.Request, t target, start time.Time, path string) {
	route, ok := g.cfg.Provider.Route(t.ns, t.name)
	if !ok {
		g.writeError(w, notFound(t.name, t.ns))
		return
	}
	c := g.newCall(t, route, start)
	c.id = r.Header.Get(wire.CallID) // until prepareHeaders settles it
	defer c.end(r.Method, path)
	g.invoke(w, r, &c, nil)
}

// attempt is a replica that failed a call, and how.
type attempt struct {
	ep  provider.Endpoint
	err error
	// atOnce: it failed within staleWindow of being sent (a refused
	// connection, a kept-alive one the replica had closed): nothing of it
	// reached the function.
	atOnce bool
}

// invoke sends the call to a ready replica, waiting for one if needed,
// and stores the status answered in c.code (also when the response is
// aborted half-way). prior, if not nil, already failed this call (the
// event loop's attempt).
func (g *Gateway) invoke(w http.ResponseWriter, r *http.Request, c *invocation, prior *attempt) {
	if upgradetunnel.Requested(r) {
		g.invokeUpgrade(w, r, c)
		return
	}
	// The call's deadline is a time, not a context: the lean upstream
	// client sets it on the connection, and a timer context per call was
	// about a tenth of the gateway's CPU. Only http.Transport (streamed
	// bodies) takes it as a context.
	ctx := r.Context()
	body, err := g.invokeBody(w, r)
	if err != nil {
		c.code = g.fail(w, err)
		return
	}
	if body.stream != nil {
		var cancel context.CancelFunc
		ctx, cancel = context.WithDeadline(ctx, c.deadline)
		defer cancel()
	}
	callID := g.prepareHeaders(r, c.start)
	c.id = callID[0]
	var tried [maxAttempts + 1]string
	skip := tried[:0]
	woke := false
	var last provider.Endpoint
	var lastErr error
	if prior != nil {
		skip = append(skip, prior.ep.Address)
		last, lastErr = prior.ep, prior.err
		if !prior.atOnce && !g.replicaGone(ctx, c, prior.ep) {
			c.code = g.fail(w, g.upstreamError(r, c, prior.ep, &body, prior.err))
			return
		}
	}
	for attempt := 1; ; attempt++ {
		ep, inflight, err := g.ready(ctx, r, c, skip, &woke)
		if err == errAllTried {
			err = g.upstreamError(r, c, last, &body, lastErr)
		}
		if err != nil {
			c.code = g.fail(w, err)
			return
		}
		resp, err := g.send(ctx, c, r, ep, &body, inflight)
		if err == nil && attempt < maxAttempts && unreachableFunction(resp) && body.stream == nil {
			// The replica's watchdog could not reach its function (it died
			// under the call): like a dead replica, try another one.
			resp.Body.Close()
			inflight.Add(-1)
			err = errFunctionUnreachable
		}
		if err == nil && body.stream != nil && body.stream.failed() {
			// The caller's body failed (too large, stalled, cut short) and
			// the replica answered what it got: the caller hears why.
			resp.Body.Close()
			inflight.Add(-1)
			err = errBodyFailed
		}
		if err == nil {
			c.code = resp.StatusCode
			g.relay(w, r, resp, callID, inflight)
			return
		}
		if attempt < maxAttempts && live(ctx, c.deadline) && g.resendable(ctx, err, &body, c, ep) {
			// Re-read the route: the provider may already know the replica is gone.
			skip = append(skip, ep.Address)
			last, lastErr = ep, err
			if err := g.reroute(&c.t, &c.route); err != nil {
				c.code = g.fail(w, err)
				return
			}
			continue
		}
		c.code = g.fail(w, g.upstreamError(r, c, ep, &body, err))
		return
	}
}

// ready returns a ready endpoint not in skip. With none, it explains why
// (503), wakes a function scaled to zero, or waits for c.route.Changed
// (an event from the provider, not polling) until the deadline.
func (g *Gateway) ready(ctx context.Context, r *http.Request, c *invocation, skip []string, woke *bool) (provider.Endpoint, *atomic.Int64, error) {
	t, route := &c.t, &c.route
	if ep, n, ok := g.lb.pick(route.Endpoints, skip); ok {
		return ep, n, nil // the usual case: no waiting, so no timer
	}
	ctx, cancel := context.WithDeadline(ctx, c.deadline)
	defer cancel()
	var wokeAt time.Time // this call started the function from zero
	for {
		if ep, n, ok := g.lb.pick(route.Endpoints, skip); ok {
			if !wokeAt.IsZero() {
				if obs, ok := g.cfg.Observer.(ColdStartObserver); ok {
					obs.ColdStarted(t.fn, time.Since(wokeAt))
				}
			}
			return ep, n, nil
		}
		if len(route.Endpoints) == 0 {
			switch {
			case route.Failure != "":
				return provider.Endpoint{}, nil, api.Errorf(http.StatusServiceUnavailable, "function %s cannot start: %s", t.fn, route.Failure)
			case route.Desired == 0 && g.cfg.Waker == nil:
				return provider.Endpoint{}, nil, api.Errorf(http.StatusServiceUnavailable, "function %s is scaled to zero: scale it up with POST /system/scale-function/%s", t.fn, t.name)
			case route.Desired == 0 && !*woke:
				*woke, wokeAt = true, time.Now()
				if err := g.cfg.Waker.Wake(ctx, t.ns, t.name); err != nil {
					if ctx.Err() != nil {
						return provider.Endpoint{}, nil, g.waitError(r, c)
					}
					return provider.Endpoint{}, nil, err
				}
				if err := g.reroute(t, route); err != nil {
					return provider.Endpoint{}, nil, err
				}
				continue
			}
		}
		// Replicas are starting, or every ready one failed this call. In
		// the second case the provider should soon drop the dead replica;
		// wait for that only a little, then report the failure.
		var giveUp <-chan time.Time
		var tm *time.Timer
		if len(route.Endpoints) > 0 {
			tm = time.NewTimer(g.retryWait)
			giveUp = tm.C
		}
		select {
		case <-route.Changed:
		case <-giveUp:
			return provider.Endpoint{}, nil, errAllTried
		case <-ctx.Done():
			return provider.Endpoint{}, nil, g.waitError(r, c)
		}
		if tm != nil {
			tm.Stop()
		}
		if err := g.reroute(t, route); err != nil {
			return provider.Endpoint{}, nil, err
		}
	}
}

// send makes one attempt, counting it in flight until relay is done.
func (g *Gateway) send(ctx context.Context, c *invocation, r *http.Request, ep provider.Endpoint, body *reqBody, inflight *atomic.Int64) (*http.Response, error) {
	inflight.Add(1)
	var resp *http.Response
	var err error
	// The pooled client writes the whole body before it reads the answer.
	// A body larger than replayMax (only ever handed over in memory, by
	// InvokeLocal) could fill the sockets while a function that answers as
	// it reads (cat) waits for its answer to be read: http.Transport reads
	// the answer while it writes.
	if body.stream == nil && len(body.mem) <= replayMax {
		resp, err = g.fast.roundTrip(ctx, c.deadline, r, ep.Address, ep.Unix, cleanSuffix(c.t.suffix), body.mem)
	} else {
		resp, err = g.transport.RoundTrip(upstreamRequest(ctx, r, ep, c.t.suffix, body))
	}
	if err != nil {
		inflight.Add(-1)
		return nil, err
	}
	return resp, nil
}

// relay copies the response and ends the in-flight count, also when the
// copy is aborted.
func (g *Gateway) relay(w http.ResponseWriter, r *http.Request, resp *http.Response, callID []string, inflight *atomic.Int64) {
	defer inflight.Add(-1)
	defer resp.Body.Close()
	g.sandboxResponse(resp.Header)
	copyResponse(w, r, resp, callID)
}

// resendable decides whether a failed attempt may go to another replica:
// when the connection was refused (nothing sent), or when the replica died
// before answering (its watchdog lost its function, or it left the route:
// see replicaGone) and the body can be sent again.
func (g *Gateway) resendable(ctx context.Context, err error, body *reqBody, c *invocation, ep provider.Endpoint) bool {
	switch {
	case body.stream != nil && body.stream.tooLarge.Load():
		return false
	case isDialError(err):
		return body.resendable()
	}
	return body.stream == nil && (err == errFunctionUnreachable || g.replicaGone(ctx, c, ep))
}

// replicaGone waits a moment for the provider to drop ep from the route:
// a replica that died under the call (kill -9) is gone within
// milliseconds, and the call may go to another one. A replica still there
// dropped the call itself after it reached the function: sending it to
// another would run it twice (an async call with retries once ran eight
// times), so the caller gets the 502.
func (g *Gateway) replicaGone(ctx context.Context, c *invocation, ep provider.Endpoint) bool {
	timer := time.NewTimer(g.goneWait)
	defer timer.Stop()
	for {
		if g.reroute(&c.t, &c.route) != nil {
			return true // the function itself is gone
		}
		if !slices.ContainsFunc(c.route.Endpoints, func(e provider.Endpoint) bool { return e.Address == ep.Address }) {
			return true
		}
		select {
		case <-c.route.Changed:
		case <-timer.C:
			return false
		case <-ctx.Done():
			return false
		}
	}
}

// reroute re-reads the route (the function may have been deleted).
func (g *Gateway) reroute(t *target, route *provider.Route) error {
	nr, ok := g.cfg.Provider.Route(t.ns, t.name)
	if !ok {
		return notFound(t.name, t.ns)
	}
	*route = nr
	return nil
}

// live reports whether a call may still go on: its caller is there and
// its deadline has not passed.
func live(ctx context.Context, deadline time.Time) bool {
	return ctx.Err() == nil && time.Now().Before(deadline)
}

func (g *Gateway) waitError(r *http.Request, c *invocation) error {
	if r.Context().Err() != nil {
		return errClientGone
	}
	return api.Errorf(http.StatusServiceUnavailable, "function %s has no ready replica after %s: see its status and logs (faas-cli describe / logs %s)", c.t.fn, c.timeout, c.t.name)
}

// upstreamError turns a failed attempt into 413, 504 or 502.
func (g *Gateway) upstreamError(r *http.Request, c *invocation, ep provider.Endpoint, body *reqBody, err error) error {
	switch {
	case body.stream != nil && body.stream.bad.Load() != nil && stalled(*body.stream.bad.Load()):
		// (net/http ends the request's context when a body read times out.)
		return errReadBody(*body.stream.bad.Load())
	case r.Context().Err() != nil:
		return errClientGone
	case !time.Now().Before(c.deadline):
		return timedOut(c)
	case body.stream != nil && body.stream.tooLarge.Load():
		return tooLarge(g.cfg.MaxInvokeBodyBytes, maxInvokeFlag)
	case body.stream != nil && body.stream.bad.Load() != nil:
		return errReadBody(*body.stream.bad.Load()) // the caller's fault: 400, no replica blamed
	case body.stream != nil && body.stream.read.Load() && !body.stream.whole.Load():
		// Most often the replica's own limit on reading a request (the
		// watchdog's read_timeout) cut a long upload: say so.
		err = fmt.Errorf("%w (while the request body was still being sent: the function's read_timeout bounds how long an upload may take)", err)
	}
	return g.replicaFailed(&c.t, ep, err)
}

// timedOut is the 504 of a call past its deadline (both paths).
func timedOut(c *invocation) error {
	return api.Errorf(http.StatusGatewayTimeout, "function %s did not answer within %s (set exec_timeout/write_timeout to allow longer)", c.t.fn, c.timeout)
}

// replicaFailed logs and returns the 502 of a replica that failed a call
// (both paths).
func (g *Gateway) replicaFailed(t *target, ep provider.Endpoint, err error) error {
	g.log.Warn("gateway: replica failed", "function", t.fn, "replica", ep.Address, "err", err)
	return &api.Error{Status: http.StatusBadGateway, Err: err,
		Message: fmt.Sprintf("function %s: replica %s failed: %s", t.fn, ep.Address, errorMessage(err))}
}

// fail writes err unless the caller is gone, and returns the status for
// the Observer.
func (g *Gateway) fail(w http.ResponseWriter, err error) int {
	if err == errClientGone {
		return statusClientClosed
	}
	g.writeError(w, err)
	return api.StatusOf(err)
}

// serveAsync hands /async-function/ to the queue, after the same name
// checks as synchronous calls.
func (g *Gateway) serveAsync(w http.ResponseWriter, r *http.Request) {
	if g.cfg.Async == nil {
		writeText(w, http.StatusNotImplemented, "asynchronous invocation is not enabled on this server: call /function/NAME instead, or start ferry with the queue enabled")
		return
	}
	if _, err := parseInvokePath(r.URL, "/async-function/", g.cfg.DefaultNamespace, g.nsSuffix); err != nil {
		g.writeError(w, err)
		return
	}
	g.dropAdminAuth(r.Header) // never stored in the queue with the call
	g.cfg.Async.ServeHTTP(w, r)
}

func stalled(err error) bool { return errors.Is(err, os.ErrDeadlineExceeded) }

// errReadBody is the caller's body failing: 408 when it stopped coming
// (the front's body timeout), else 400.
func errReadBody(err error) error {
	if stalled(err) {
		return api.Errorf(http.StatusRequestTimeout, "the request body stopped arriving: no bytes within the body timeout (--body-timeout)")
	}
	return api.BadRequest("could not read the request body: %w", err)
}
