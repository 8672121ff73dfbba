package gateway

import (
	"context"
	"io"
	"net"
	"net/http"
	"time"
)

// LeanTransport is an http.RoundTripper on the gateway's own upstream
// client (fastPool) for plain-HTTP requests: the request is written and
// the response head read on the caller's goroutine over a pooled
// keep-alive connection, where http.Transport hands each request to two
// connection goroutines and back (the queue worker's callbacks spent more
// CPU in that hand-off than in the gateway's whole invoke path). The body
// is read into memory first, so it suits small request bodies; the Host
// field is the dialled host:port. Requests to other schemes go to
// fallback, as do all of them after Close.
type LeanTransport struct {
	pool     *fastPool
	fallback http.RoundTripper
	timeout  time.Duration
}

// NewLeanTransport dials with dial (a guard on where requests may go);
// timeout bounds a request that carries no deadline of its own.
func NewLeanTransport(dial func(ctx context.Context, network, addr string) (net.Conn, error), timeout time.Duration, fallback http.RoundTripper) *LeanTransport {
	p := newFastPool()
	p.dial = dial
	return &LeanTransport{pool: p, fallback: fallback, timeout: timeout}
}

// RoundTrip sends r. Redirects are not followed (nor are they by
// http.Transport: that is http.Client's job).
func (t *LeanTransport) RoundTrip(r *http.Request) (*http.Response, error) {
	if r.URL.Scheme != "http" || r.URL.Host == "" {
		return t.fallback.RoundTrip(r)
	}
	body, err := readBody(r)
	if err != nil {
		return nil, err
	}
	addr := r.URL.Host
	if r.URL.Port() == "" {
		addr = net.JoinHostPort(r.URL.Hostname(), "80")
	}
	ctx := r.Context()
	deadline, ok := ctx.Deadline()
	if !ok {
		deadline = time.Now().Add(t.timeout)
	}
	target := r.URL.EscapedPath()
	if target == "" {
		target = "/"
	}
	resp, err := t.pool.roundTrip(ctx, deadline, r, addr, "", target, body)
	if err != nil {
		return nil, err
	}
	if resp.Request == nil {
		resp.Request = r
	}
	return resp, nil
}

// CloseIdleConnections closes the pooled connections.
func (t *LeanTransport) CloseIdleConnections() { t.pool.closeIdle() }

// readBody reads a request's body whole (and closes it).
func readBody(r *http.Request) ([]byte, error) {
	if r.Body == nil || r.Body == http.NoBody {
		return nil, nil
	}
	defer r.Body.Close()
	if n := r.ContentLength; n > 0 {
		b := make([]byte, n)
		_, err := io.ReadFull(r.Body, b)
		return b, err
	}
	return io.ReadAll(r.Body)
}
