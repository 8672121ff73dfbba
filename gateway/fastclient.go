package gateway

import (
	"bufio"
	"context"
	"errors"
	"io"
	"net"
	"net/http"
	"sync"
	"time"

	"github.com/ferryfaas/ferry/internal/rawsyscallconn"
	"github.com/ferryfaas/ferry/internal/serveconfig"
	"github.com/ferryfaas/ferry/internal/wire"
)

// fastPool is the upstream client for calls whose body is absent or held
// in memory (nearly all of them). It writes the request and reads the
// response on the handler's own goroutine over a pooled keep-alive
// connection, where http.Transport hands each call to two connection
// goroutines and back; that hand-off is most of a proxy hop's CPU on a
// busy machine. Streamed bodies still go through http.Transport, which
// reads the response while the body is being written (a replica that
// echoes a large body as it reads it would otherwise deadlock).
type fastPool struct {
	mu     sync.Mutex
	idle   map[string][]*upConn
	closed bool
	swept  time.Time // last sweep for expired connections
	dialer net.Dialer
	// dial, when set, opens connections instead of dialer (LeanTransport's
	// guarded dialer).
	dial func(ctx context.Context, network, addr string) (net.Conn, error)
}

const (
	fastMaxIdlePerHost = serveconfig.UpstreamIdlePerReplica
	fastIdleTimeout    = serveconfig.UpstreamIdle
)

func newFastPool() *fastPool {
	return &fastPool{idle: map[string][]*upConn{}, dialer: upstreamDialer()}
}

// upConn is one connection to a replica with its buffers.
type upConn struct {
	net.Conn
	addr   string // the replica's host:port (its Host header)
	key    string // its pool: the Unix socket it was dialled on, or addr
	br     *bufio.Reader
	bw     *bufio.Writer
	hdr    http.Header // of the current lean response
	abort  func()      // interrupts blocked I/O (the caller went away)
	idleAt time.Time
}

// errStale marks a kept-alive connection the replica had already closed:
// nothing was processed, so the call is sent again on a new connection.
var errStale = errors.New("kept-alive connection was closed by the replica")

// get pops the most recently used idle connection, or dials: the
// replica's Unix socket when it has one (as the event loops do: no TCP/IP
// stack on either side of the hop), its TCP address otherwise or when the
// socket cannot be dialled.
func (p *fastPool) get(ctx context.Context, deadline time.Time, addr, unix string) (c *upConn, reused bool, err error) {
	key := addr
	if unix != "" && p.dial == nil {
		key = unix // a path or an '@' name, never a host:port
	}
	now := time.Now()
	p.mu.Lock()
	list := p.idle[key]
	for len(list) > 0 {
		c = list[len(list)-1]
		list[len(list)-1] = nil
		list = list[:len(list)-1]
		if now.Sub(c.idleAt) < fastIdleTimeout {
			p.idle[key] = list
			p.mu.Unlock()
			return c, true, nil
		}
		c.Close()
	}
	p.idle[key] = list
	p.mu.Unlock()
	var nc net.Conn
	if p.dial != nil {
		dctx, cancel := context.WithDeadline(ctx, deadline)
		nc, err = p.dial(dctx, "tcp", addr)
		cancel()
	} else {
		d := p.dialer
		d.Deadline = deadline
		if key != addr {
			nc, err = d.DialContext(ctx, "unix", unix)
		}
		if nc == nil {
			// Pooled under key even then: the next call reuses it.
			nc, err = d.DialContext(ctx, "tcp", addr)
		}
	}
	if err != nil {
		return nil, false, err
	}
	nc = rawsyscallconn.Wrap(nc)
	c = &upConn{Conn: nc, addr: addr, key: key, br: bufio.NewReaderSize(nc, 8<<10), bw: bufio.NewWriterSize(nc, 4<<10)}
	c.abort = func() { nc.SetDeadline(aLongTimeAgo) }
	return c, false, nil
}

func (p *fastPool) put(c *upConn) {
	now := time.Now()
	c.idleAt = now
	p.mu.Lock()
	if p.closed || len(p.idle[c.key]) >= fastMaxIdlePerHost {
		p.mu.Unlock()
		c.Close()
		return
	}
	p.idle[c.key] = append(p.idle[c.key], c)
	var expired []*upConn
	if now.Sub(p.swept) > fastIdleTimeout/3 {
		p.swept = now
		expired = p.sweepLocked(now)
	}
	p.mu.Unlock()
	for _, e := range expired {
		e.Close()
	}
}

// sweepLocked removes connections idle too long, such as those to
// replicas that are gone (their sockets would otherwise stay open).
func (p *fastPool) sweepLocked(now time.Time) (expired []*upConn) {
	for addr, list := range p.idle {
		keep := list[:0]
		for _, c := range list {
			if now.Sub(c.idleAt) < fastIdleTimeout {
				keep = append(keep, c)
			} else {
				expired = append(expired, c)
			}
		}
		clear(list[len(keep):])
		if len(keep) == 0 {
			delete(p.idle, addr)
		} else {
			p.idle[addr] = keep
		}
	}
	return expired
}

// purge closes the idle connections of a pool (its replica restarted).
func (p *fastPool) purge(key string) {
	p.mu.Lock()
	list := p.idle[key]
	delete(p.idle, key)
	p.mu.Unlock()
	for _, c := range list {
		c.Close()
	}
}

// close closes every idle connection and stops pooling.
func (p *fastPool) close() {
	p.mu.Lock()
	p.closed = true
	p.mu.Unlock()
	p.closeIdle()
}

// closeIdle closes every idle connection.
func (p *fastPool) closeIdle() {
	p.mu.Lock()
	all := p.idle
	p.idle = map[string][]*upConn{}
	p.mu.Unlock()
	for _, list := range all {
		for _, c := range list {
			c.Close()
		}
	}
}

// roundTrip sends r (its headers already prepared) with body to the
// replica at addr (through unix, its Unix socket, when not empty) and
// returns the response with its headers read; the body is read by the
// caller, and closing it returns the connection to the pool.
func (p *fastPool) roundTrip(ctx context.Context, deadline time.Time, r *http.Request, addr, unix, suffix string, body []byte) (*http.Response, error) {
	for fresh := false; ; fresh = true {
		c, reused, err := p.get(ctx, deadline, addr, unix)
		if err != nil {
			return nil, err
		}
		resp, err := p.exchange(ctx, deadline, c, r, suffix, body, reused)
		if err == nil {
			return resp, nil
		}
		c.Close()
		if err == errStale && !fresh && live(ctx, deadline) {
			p.purge(c.key) // its siblings are stale too
			continue
		}
		return nil, err
	}
}

var aLongTimeAgo = time.Unix(1, 0)

// exchange writes the request and reads the response head on c.
func (p *fastPool) exchange(ctx context.Context, deadline time.Time, c *upConn, r *http.Request, suffix string, body []byte, reused bool) (*http.Response, error) {
	// The call's deadline and the caller going away interrupt blocked I/O.
	// (The deadline stays on the connection when it is pooled: the next
	// call sets its own before any I/O.)
	c.SetDeadline(deadline)
	stop := context.AfterFunc(ctx, c.abort)
	if err := writeRequest(c.bw, r, c.addr, suffix, body); err != nil {
		stop()
		if reused && live(ctx, deadline) {
			return nil, errStale
		}
		return nil, err
	}
	// Wait for the first byte apart: ReadResponse reports a connection
	// closed before any byte and one closed mid-header alike.
	sent := time.Now()
	if _, err := c.br.Peek(1); err != nil {
		stop()
		if reused && live(ctx, deadline) && wire.ClosedAtOnce(err, sent) {
			return nil, errStale
		}
		return nil, err
	}
	if r.Method != http.MethodHead {
		if resp := c.leanResponse(p, stop); resp != nil {
			return resp, nil
		}
	}
	var resp *http.Response
	for {
		var err error
		resp, err = http.ReadResponse(c.br, methodRequest(r.Method))
		if err != nil {
			stop()
			return nil, err
		}
		if resp.StatusCode >= 200 || resp.StatusCode == http.StatusSwitchingProtocols {
			break
		}
		resp.Body.Close() // 1xx: informational, the real answer follows
	}
	keep := !resp.Close && resp.StatusCode != http.StatusSwitchingProtocols
	resp.Body = &fastBody{rc: resp.Body, c: c, p: p, stop: stop, keep: keep}
	return resp, nil
}

// leanResponse reads a plain length-delimited response head (nearly every
// function's answer) into the connection's own header map, with the
// response, its body and the pool's wrapper in one allocation; nil leaves
// the response to http.ReadResponse. The header map is reused by the
// connection's next call: callers drop the response when they close its
// body, as they must.
func (c *upConn) leanResponse(p *fastPool, stop func() bool) *http.Response {
	if c.hdr == nil {
		c.hdr = make(http.Header, 8)
	}
	clear(c.hdr)
	h, ok := wire.PeekResponseHead(c.br, c.hdr)
	if !ok {
		return nil
	}
	c.br.Discard(h.Size)
	lr := &leanResp{body: lenBody{br: c.br, n: h.ContentLength}}
	lr.fb = fastBody{rc: &lr.body, c: c, p: p, stop: stop, keep: !h.Close}
	lr.resp = http.Response{
		Status: h.Reason, StatusCode: h.Status, Proto: "HTTP/1.1", ProtoMajor: 1, ProtoMinor: 1,
		Header: c.hdr, ContentLength: h.ContentLength, Close: h.Close, Body: &lr.fb,
	}
	return &lr.resp
}

type leanResp struct {
	resp http.Response
	fb   fastBody
	body lenBody
}

// lenBody reads exactly n bytes of a response body.
type lenBody struct {
	br *bufio.Reader
	n  int64
}

func (b *lenBody) Read(p []byte) (int, error) {
	if b.n <= 0 {
		return 0, io.EOF
	}
	if int64(len(p)) > b.n {
		p = p[:b.n]
	}
	n, err := b.br.Read(p)
	b.n -= int64(n)
	switch {
	case b.n == 0:
		err = io.EOF
	case err == io.EOF:
		err = io.ErrUnexpectedEOF
	}
	return n, err
}

func (b *lenBody) Close() error { return nil }

// staleWindow is wire's: a call that fails later than it after being
// sent reached the function, which may have run it.
const staleWindow = wire.StaleWindow

var (
	headRequest  = &http.Request{Method: http.MethodHead}
	otherRequest = &http.Request{Method: http.MethodGet}
)

// methodRequest is what http.ReadResponse needs to know about the request
// (only whether it was HEAD); the values are shared and never modified.
func methodRequest(m string) *http.Request {
	if m == http.MethodHead {
		return headRequest
	}
	return otherRequest
}

// writeRequest writes the request: its headers come from a request the
// front parsed and validated, prepared for the replica (prepareHeaders).
func writeRequest(bw *bufio.Writer, r *http.Request, addr, suffix string, body []byte) error {
	bw.Write(wire.AppendRequestHead(bw.AvailableBuffer(), r.Method, suffix, r.URL.RawQuery, addr, r.Header, int64(len(body))))
	bw.Write(body)
	return bw.Flush()
}

// fastBody hands the connection back to the pool once the response was
// read to its end, and closes it otherwise (a partly read body would have
// to be drained, which may never end for a stream).
type fastBody struct {
	rc   io.ReadCloser
	c    *upConn
	p    *fastPool
	stop func() bool
	keep bool
	eof  bool
}

func (b *fastBody) Read(p []byte) (int, error) {
	n, err := b.rc.Read(p)
	if err == io.EOF {
		b.eof = true
	}
	return n, err
}

func (b *fastBody) Close() error {
	c := b.c
	if c == nil {
		return nil
	}
	b.c = nil
	// stop is false when the deadline already fired on the connection.
	if b.stop() && b.eof && b.keep && c.br.Buffered() == 0 {
		b.rc.Close()
		b.p.put(c)
		return nil
	}
	return c.Close()
}
