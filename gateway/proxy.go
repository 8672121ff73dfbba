package gateway

import (
	"context"
	"errors"
	"io"
	"net"
	"net/http"
	"net/url"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/ferryfaas/ferry/internal/serveconfig"
	"github.com/ferryfaas/ferry/internal/wire"
	"github.com/ferryfaas/ferry/provider"
)

// newTransport is the one upstream transport: keep-alive with many idle
// connections per replica (loopback replicas take bursts of 64+ callers),
// no compression (bodies pass through as they are), no proxy from the
// environment (replicas are local or cluster-internal), HTTP/1.1 only.
func newTransport() *http.Transport {
	d := upstreamDialer()
	return &http.Transport{
		Proxy:                 nil,
		DialContext:           d.DialContext,
		MaxIdleConns:          4096,
		MaxIdleConnsPerHost:   1024,
		IdleConnTimeout:       serveconfig.UpstreamIdle,
		DisableCompression:    true,
		ForceAttemptHTTP2:     false,
		ExpectContinueTimeout: 0,
		WriteBufferSize:       16 << 10,
		ReadBufferSize:        16 << 10,
	}
}

// upstreamDialer dials replicas, for both of the gateway's pools.
func upstreamDialer() net.Dialer {
	return net.Dialer{Timeout: serveconfig.UpstreamDialTimeout, KeepAlive: serveconfig.UpstreamKeepAlive}
}

// dropAdminAuth removes the admin's credentials from a call's headers. A
// function never sees the admin's password, nor does the queue store it
// with an async call: a browser that cached it answers a function's 401
// with the gateway's realm by itself, and scripts that send it everywhere
// would leak it too.
func (g *Gateway) dropAdminAuth(h http.Header) {
	if v := h["Authorization"]; len(v) > 0 && g.auth.anyAdmin(v) {
		delete(h, "Authorization")
	}
}

// prepareHeaders edits the inbound headers in place for the upstream
// request (the handler owns them; cloning would cost a map per call) and
// returns the X-Call-Id value to echo.
func (g *Gateway) prepareHeaders(r *http.Request, start time.Time) (callID []string) {
	h := r.Header
	wire.RemoveHopHeaders(h)
	g.dropAdminAuth(h)
	peer := r.RemoteAddr
	if i := strings.LastIndexByte(peer, ':'); i > 0 {
		peer = peer[:i]
	}
	peer = strings.TrimSuffix(strings.TrimPrefix(peer, "["), "]")
	return wire.SetContract(h, g.ids.next, start, peer, r.Host)
}

// replayMax is the largest body kept in memory so that a request can be
// sent again to another replica when the first one died before answering.
const replayMax = serveconfig.ReplayBody

// reqBody is an invocation body: none, in memory (replayable) or streamed
// through once.
type reqBody struct {
	mem    []byte
	stream *streamBody
	n      int64
}

// maxInvokeFlag is ferry serve's flag for MaxInvokeBodyBytes.
const maxInvokeFlag = "--max-invoke-body"

// invokeBody prepares the request body, enforcing MaxInvokeBodyBytes.
func (g *Gateway) invokeBody(w http.ResponseWriter, r *http.Request) (reqBody, error) {
	max, cl := g.cfg.MaxInvokeBodyBytes, r.ContentLength
	if max > 0 && cl > max {
		return reqBody{}, tooLarge(max, maxInvokeFlag)
	}
	if d, ok := w.(readDeadliner); ok && g.cfg.BodyTimeout > 0 && r.Body != nil && r.Body != http.NoBody {
		// net/http's own server: bound each wait for the body (http1 does it
		// itself, and its writer has no read deadline).
		r.Body = &stallBody{ReadCloser: r.Body, d: d, wait: g.cfg.BodyTimeout}
	}
	switch mb, local := r.Body.(*memBody); {
	case local:
		// Handed over in memory (InvokeLocal): replayable whatever its size.
		return reqBody{mem: mb.b, n: cl}, nil
	case cl == 0 || r.Body == nil || r.Body == http.NoBody:
		return reqBody{}, nil
	case cl > 0 && cl <= replayMax:
		b := make([]byte, cl)
		if _, err := io.ReadFull(r.Body, b); err != nil {
			return reqBody{}, errReadBody(err)
		}
		return reqBody{mem: b, n: cl}, nil
	}
	rc := r.Body
	if max > 0 {
		rc = http.MaxBytesReader(w, rc, max)
	}
	return reqBody{stream: &streamBody{rc: rc}, n: cl}, nil
}

type readDeadliner interface{ SetReadDeadline(time.Time) error }

// stallBody moves the connection's read deadline before each read of the
// body, so that a body that stops coming fails (408) instead of holding
// the call. It stops at the body's end: net/http then reads the
// connection in the background, and that read must not time out.
type stallBody struct {
	io.ReadCloser
	d    readDeadliner
	wait time.Duration
	done bool
}

func (s *stallBody) Read(p []byte) (int, error) {
	if s.done {
		return s.ReadCloser.Read(p)
	}
	s.d.SetReadDeadline(time.Now().Add(s.wait))
	n, err := s.ReadCloser.Read(p)
	if err != nil {
		s.done = true
	}
	return n, err
}

// reader returns the body for one attempt and its length (-1: unknown).
func (b *reqBody) reader() (io.ReadCloser, int64) {
	switch {
	case b.mem != nil:
		return &memBody{b: b.mem}, b.n
	case b.stream != nil:
		return b.stream, b.n
	}
	return nil, 0
}

// resendable reports whether the body can be sent again: always when held
// in memory, only if untouched when streamed.
func (b *reqBody) resendable() bool {
	return b.stream == nil || !b.stream.read.Load()
}

// memBody reads a byte slice; Close does nothing, so a failed attempt
// leaves the slice for the next.
type memBody struct {
	b   []byte
	off int
}

func (m *memBody) Read(p []byte) (int, error) {
	if m.off >= len(m.b) {
		return 0, io.EOF
	}
	n := copy(p, m.b[m.off:])
	m.off += n
	return n, nil
}

func (m *memBody) Close() error { return nil }

// streamBody passes the inbound body through, remembering whether the
// transport read any of it (then it cannot be resent) and whether it hit
// the size limit. Close is a no-op: the server closes the inbound body,
// and a transport that closes it on a dial error must not spoil a retry.
type streamBody struct {
	rc       io.ReadCloser
	read     atomic.Bool
	whole    atomic.Bool // read to its end
	tooLarge atomic.Bool
	// bad is the caller's body failing (malformed chunks, cut short): the
	// call fails because of the caller, not of the replica.
	bad atomic.Pointer[error]
}

func (s *streamBody) Read(p []byte) (int, error) {
	s.read.Store(true)
	n, err := s.rc.Read(p)
	if err == io.EOF {
		s.whole.Store(true)
	}
	if err != nil && err != io.EOF {
		if _, ok := err.(*http.MaxBytesError); ok {
			s.tooLarge.Store(true)
		} else {
			s.bad.CompareAndSwap(nil, &err)
		}
	}
	return n, err
}

func (s *streamBody) Close() error { return nil }

// failed reports whether the caller's body failed (over the limit, or
// bad): what the replica got was cut short.
func (s *streamBody) failed() bool { return s.tooLarge.Load() || s.bad.Load() != nil }

var errBodyFailed = errors.New("the request body failed")

// upstreamRequest builds the request to one replica.
func upstreamRequest(ctx context.Context, r *http.Request, ep provider.Endpoint, suffix string, body *reqBody) *http.Request {
	suffix = cleanSuffix(suffix)
	rc, n := body.reader()
	out := &http.Request{
		Method:        r.Method,
		URL:           &url.URL{Scheme: "http", Host: ep.Address, Opaque: suffix, RawQuery: r.URL.RawQuery},
		Proto:         "HTTP/1.1",
		ProtoMajor:    1,
		ProtoMinor:    1,
		Header:        r.Header,
		Body:          rc,
		ContentLength: n,
	}
	return out.WithContext(ctx)
}

// cleanSuffix keeps "//x" from being read as an authority in the request
// target.
func cleanSuffix(suffix string) string {
	if strings.HasPrefix(suffix, "//") {
		return "/" + strings.TrimLeft(suffix, "/")
	}
	return suffix
}

var copyBufs = sync.Pool{New: func() any { b := make([]byte, 32<<10); return &b }}

// copyResponse writes the upstream response. Streams (SSE, chunked, or a
// caller asking for text/event-stream) are flushed after every read;
// others go through the server's buffer. A body cut short upstream aborts
// the response so that the caller does not mistake it for a whole one.
func copyResponse(w http.ResponseWriter, r *http.Request, resp *http.Response, callID []string) {
	h := w.Header()
	for k, vv := range resp.Header {
		h[k] = vv
	}
	wire.RemoveHopHeaders(h)
	h[wire.CallID] = callID
	for k := range resp.Trailer {
		h.Add("Trailer", k)
	}
	stream := resp.ContentLength == -1 || isEventStream(resp.Header["Content-Type"]) || isEventStream(r.Header["Accept"])
	w.WriteHeader(resp.StatusCode)
	var fl http.Flusher
	if stream {
		fl, _ = w.(http.Flusher)
		if fl != nil {
			fl.Flush()
		}
	}
	bp := copyBufs.Get().(*[]byte)
	defer copyBufs.Put(bp)
	buf := *bp
	for {
		n, rerr := resp.Body.Read(buf)
		if n > 0 {
			if _, werr := w.Write(buf[:n]); werr != nil {
				return // the caller went away
			}
			if fl != nil {
				fl.Flush()
			}
		}
		if rerr == io.EOF {
			break
		}
		if rerr != nil {
			panic(http.ErrAbortHandler)
		}
	}
	for k, vv := range resp.Trailer {
		h[http.TrailerPrefix+k] = vv
	}
}

func isEventStream(v []string) bool {
	for _, s := range v {
		if strings.Contains(s, "text/event-stream") {
			return true
		}
	}
	return false
}

// isDialError reports a failure to connect: the request was not sent.
func isDialError(err error) bool {
	var op *net.OpError
	return errors.As(err, &op) && op.Op == "dial"
}
