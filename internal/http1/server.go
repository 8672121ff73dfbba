// Package http1 is Ferry's HTTP/1.1 front: a lean loop that serves plain
// keep-alive requests (function calls, the hot path) on the connection's
// own goroutine, and hands a connection to net/http the moment a request
// needs more (chunked or Expect bodies, upgrades, odd framing, large
// heads, or a path the loop is not given).
//
// Why: behind the lean loop the gateway's per-call work is the proxying
// itself. net/http's server costs a background read, its cancellation and
// two deadline changes per request, a header snapshot per response and a
// context per request; on a 2-core box that was a quarter of the
// gateway's CPU per call (bench "core").
//
// The loop accepts a strict subset of HTTP/1.1 (wire.ScanHead, which the
// event loops use too); anything else is judged by net/http, so a request
// is never read two ways.
package http1

import (
	"bufio"
	"context"
	"errors"
	"io"
	"log/slog"
	"net"
	"net/http"
	"sync"
	"sync/atomic"
	"syscall"
	"time"

	"github.com/ferryfaas/ferry/internal/rawsyscallconn"
	"github.com/ferryfaas/ferry/internal/wire"
)

// Server serves a listener with the lean loop and net/http behind it.
type Server struct {
	// HTTP serves what the lean loop leaves; its Handler is used by the
	// loop too, and its ReadHeaderTimeout and IdleTimeout apply to both.
	HTTP *http.Server
	// Fast reports whether a request path may take the lean loop.
	Fast func(path string) bool
	// WatchAfter is how long a call runs before its connection is watched
	// for the caller going away (which cancels the request's context).
	// Shorter calls are not watched: that read costs more than they do.
	WatchAfter time.Duration
	// BodyTimeout is the longest wait for more of a request body (0: no
	// limit): a body that stops coming fails the handler's read with a
	// timeout (the gateway answers 408).
	BodyTimeout time.Duration
	Log         *slog.Logger
	// Loop, if set, is offered every accepted connection first (an event
	// loop for the hot path, package eventloop); what it declines is served
	// here, and it hands back connections with ServeConn.
	Loop Loop
	// MaxConns caps the callers' connections open at once, wherever they
	// are served (the loop, here, net/http); 0: no cap. At the cap the
	// connections that have waited longest for a request are closed to
	// make room, and when none waits, accepting pauses (the kernel's
	// backlog holds new callers) rather than running out of descriptors.
	MaxConns int

	mu       sync.Mutex
	ln       net.Listener
	fb       *chanListener
	conns    map[*conn]struct{}
	waiting  map[net.Conn]time.Time // net/http's connections between requests
	open     atomic.Int64           // connections served here and by net/http
	shutting atomic.Bool
	draining atomic.Bool
	done     chan struct{}
}

// Loop takes connections off the accept loop.
type Loop interface {
	// Add takes nc over; false leaves it to the Server.
	Add(nc net.Conn) bool
	// Drain makes its answers close their connections (Server.Drain).
	Drain()
	// Shutdown stops taking connections and waits for its calls to end.
	Shutdown(ctx context.Context) error
	// Open is how many connections it holds; Shed asks it to close the n
	// that have waited longest for a request (it may do so later).
	Open() int
	Shed(n int)
}

// Serve accepts connections until Shutdown or a listener error.
func (s *Server) Serve(ln net.Listener) error {
	s.mu.Lock()
	s.ln, s.fb = ln, newChanListener(ln.Addr())
	s.conns = map[*conn]struct{}{}
	s.waiting = map[net.Conn]time.Time{}
	s.done = make(chan struct{})
	s.mu.Unlock()
	s.countHTTP()
	if s.WatchAfter <= 0 {
		s.WatchAfter = 50 * time.Millisecond
	}
	if s.Log == nil {
		s.Log = slog.Default()
	}
	fbErr := make(chan error, 1)
	go func() { fbErr <- s.HTTP.Serve(s.fb) }()
	var delay time.Duration
	for {
		s.makeRoom()
		nc, err := ln.Accept()
		if err != nil {
			if s.shutting.Load() {
				return http.ErrServerClosed
			}
			var ne net.Error
			if errors.As(err, &ne) && ne.Timeout() || errors.Is(err, syscall.EMFILE) {
				delay = min(max(2*delay, 5*time.Millisecond), time.Second)
				time.Sleep(delay)
				continue
			}
			s.fb.Close()
			return err
		}
		delay = 0
		if s.Loop != nil && s.Loop.Add(nc) {
			continue
		}
		s.serveConn(nc, nil, nil, false)
	}
}

// ServeConn serves a connection an event loop hands back, with buf the
// bytes it had read from it. first, if not nil, serves the first request
// instead of the handler (the loop began that call). It is taken also
// while shutting down: its request is in flight.
func (s *Server) ServeConn(nc net.Conn, buf []byte, first http.Handler) {
	s.serveConn(nc, buf, first, true)
}

func (s *Server) serveConn(nc net.Conn, buf []byte, first http.Handler, always bool) {
	s.open.Add(1)
	nc = rawsyscallconn.Wrap(nc)
	c := newConn(s, nc)
	c.src.prefix, c.first = buf, first
	c.fresh = buf == nil && first == nil
	c.since.Store(time.Now().UnixNano()) // (before its goroutine runs: the newest)
	if len(buf) > 0 {
		c.state.Store(stateActive) // a request is on its way: not idle
	}
	if !s.track(c, true, always) {
		nc.Close()
		s.open.Add(-1)
		c.release()
		return
	}
	go c.serve()
}

// track adds or removes c; adding fails when shutting down unless force.
func (s *Server) track(c *conn, add, force bool) bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	if add {
		if s.shutting.Load() && !force {
			return false
		}
		s.conns[c] = struct{}{}
	} else {
		delete(s.conns, c)
	}
	return true
}

// Drain is the start of a graceful stop, for up to d (less when ctx ends
// or no connection is left): the server still accepts and serves, but
// every answer says Connection: close and its connection closes after it,
// so that keep-alive callers reconnect (to another gateway) instead of
// sending a request on a connection Shutdown is closing. A connection
// waiting for a request stays open for it. Call Shutdown after.
func (s *Server) Drain(ctx context.Context, d time.Duration) {
	s.draining.Store(true)
	// net/http answers with Connection: close from here (and closes the
	// connections it holds idle: few, its paths are not the calls).
	s.HTTP.SetKeepAlivesEnabled(false)
	if s.Loop != nil {
		s.Loop.Drain()
	}
	t := time.NewTimer(d)
	defer t.Stop()
	tick := time.NewTicker(10 * time.Millisecond)
	defer tick.Stop()
	for s.Open() > 0 {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
			return
		case <-tick.C:
		}
	}
}

// Shutdown stops accepting, closes idle connections and waits for the
// calls in progress (in the loop and in net/http) until ctx ends.
func (s *Server) Shutdown(ctx context.Context) error {
	s.shutting.Store(true)
	s.mu.Lock()
	ln := s.ln
	s.mu.Unlock()
	if ln != nil {
		ln.Close()
	}
	fbDone := make(chan error, 1)
	go func() { fbDone <- s.HTTP.Shutdown(ctx) }()
	// The loop's calls end first or come back here (ServeConn): wait for
	// both.
	loopDone := make(chan struct{})
	go func() {
		if s.Loop != nil {
			s.Loop.Shutdown(ctx)
		}
		close(loopDone)
	}()
	t := time.NewTicker(10 * time.Millisecond)
	defer t.Stop()
	for {
		if s.closeIdle() && isClosed(loopDone) {
			return <-fbDone
		}
		select {
		case <-ctx.Done():
			<-fbDone
			return ctx.Err()
		case <-t.C:
		}
	}
}

func isClosed(ch chan struct{}) bool {
	select {
	case <-ch:
		return true
	default:
		return false
	}
}

// closeIdle closes connections waiting for a request and reports whether
// none is left.
func (s *Server) closeIdle() bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	for c := range s.conns {
		if c.state.CompareAndSwap(stateIdle, stateClosed) {
			c.nc.Close()
		}
	}
	return len(s.conns) == 0
}

// Connection states.
const (
	stateIdle int32 = iota
	stateActive
	stateClosed
)

type conn struct {
	s  *Server
	nc net.Conn
	// dl is the read deadline last set (zero: none). It is owned by the
	// goroutine reading the connection at the time: the loop, a body
	// reader or the watcher, one after another.
	dl     time.Time
	fresh  bool         // no request yet, none handed over with it
	headBy bool         // dl is the current head's absolute deadline
	since  atomic.Int64 // when it began waiting for a request (UnixNano)
	linger bool         // a request body is left unread: close gently
	src    source
	br     *bufio.Reader
	bw     *bufio.Writer
	state  atomic.Int32
	ctx    context.Context
	cancel context.CancelFunc
	remote string
	watch  watcher
	resp   response
	hdr    http.Header
	body   *bodyReader // of the request in the handler
	base   *http.Request
	first  http.Handler // serves the first request (ServeConn)
}

var (
	readers = sync.Pool{New: func() any { return bufio.NewReaderSize(nil, wire.MaxHeadBytes) }}
	writers = sync.Pool{New: func() any { return bufio.NewWriterSize(nil, 4<<10) }}
)

func newConn(s *Server, nc net.Conn) *conn {
	c := &conn{s: s, nc: nc, remote: nc.RemoteAddr().String()}
	c.src.nc = nc
	c.br = readers.Get().(*bufio.Reader)
	c.br.Reset(&c.src)
	c.bw = writers.Get().(*bufio.Writer)
	c.bw.Reset(nc)
	// One context per connection: its requests come one after another,
	// and it ends when the caller goes away or the server is killed.
	c.ctx, c.cancel = context.WithCancel(context.Background())
	c.watch.c = c
	c.hdr = make(http.Header, 8)
	c.base = baseRequest(c.ctx, c.remote)
	return c
}

func (c *conn) serve() {
	handed := false
	defer func() {
		if p := recover(); p != nil {
			if p != http.ErrAbortHandler {
				c.s.Log.Error("http1: handler panic", "remote", c.remote, "panic", p)
			}
			c.bw.Flush() // what was sent stays visibly cut short
			c.watch.disarm()
		}
		if b := c.body; b != nil {
			b.close() // a proxy's writer may still read it: not from a pooled reader
		}
		c.cancel()
		c.s.track(c, false, false)
		if !handed {
			if c.linger {
				lingerClose(c.nc)
			}
			c.nc.Close()
			c.s.open.Add(-1)
			c.release()
		}
	}()
	srv := c.s.HTTP
	for {
		c.since.Store(time.Now().UnixNano())
		c.headBy = false
		if c.fresh && srv.ReadHeaderTimeout > 0 {
			// The first head is due ReadHeaderTimeout after the accept, as
			// in net/http: a silent caller does not hold it for IdleTimeout.
			c.fresh = false
			c.headWait()
		} else if srv.IdleTimeout > 0 {
			c.idleDeadline(srv.IdleTimeout)
		}
		if _, err := c.br.Peek(1); err != nil {
			return
		}
		h, err := peekHead(c.br, c.s.Fast, c.headWait)
		if err == errFallback {
			handed = c.handOver()
			return
		}
		if err != nil {
			return
		}
		// Idle until the head is whole: Shutdown and shedding close a
		// connection whose head is still coming.
		if !c.state.CompareAndSwap(stateIdle, stateActive) && c.state.Load() != stateActive {
			return // closed by Shutdown or shed
		}
		if !c.serveOne(h) {
			return
		}
		if !c.state.CompareAndSwap(stateActive, stateIdle) || c.s.shutting.Load() {
			return
		}
	}
}

// serveOne runs the handler for one request and reports whether the
// connection can take another.
func (c *conn) serveOne(h *head) bool {
	// A deadline of the loop may still be set: the body's reader and the
	// watcher clear it before they wait on the socket themselves.
	body := &bodyReader{br: c.br, n: max(h.ContentLength, 0), w: &c.watch, c: c}
	r, err := h.request(c.base, body)
	if err != nil {
		return false
	}
	c.br.Discard(h.Size)
	// The response and its header map are the connection's, reused: a
	// handler may not keep them after it returns.
	clear(c.hdr)
	c.resp = response{bw: c.bw, head: h.Method == http.MethodHead, header: c.hdr, close: h.Close, held: c.resp.held[:0], draining: &c.s.draining}
	w := &c.resp
	if body.n == 0 {
		c.watch.arm()
	}
	c.body = body
	handler := c.s.HTTP.Handler
	if c.first != nil {
		handler, c.first = c.first, nil
	}
	handler.ServeHTTP(w, r)
	c.watch.disarm()
	kept := body.finish() // from here no late reader touches c.br
	c.body = nil
	if c.ctx.Err() != nil {
		return false
	}
	if !kept || c.s.shutting.Load() {
		w.close = true
		c.linger = !kept
	}
	w.finish()
	return !w.close && !w.failed
}

// Moving a read deadline is a runtime timer update, and the loop used to
// make three per request (idle, head, none). Now the idle deadline is only
// moved when it falls short by an eighth of IdleTimeout (under load a
// connection takes thousands of requests per IdleTimeout), a head that
// came whole needs none, and no deadline is cleared unless something is
// about to wait on the socket during a call (clearDeadline).

// headWait bounds the wait for the rest of a request head that did not
// come whole (ReadHeaderTimeout), once per head: an absolute deadline that
// bytes trickling in do not move.
func (c *conn) headWait() {
	if t := c.s.HTTP.ReadHeaderTimeout; t > 0 && !c.headBy {
		c.headBy = true
		c.setDeadline(time.Now().Add(t))
	}
}

// idleDeadline bounds the wait for the next request by about d.
func (c *conn) idleDeadline(d time.Duration) {
	if now := time.Now(); c.dl.IsZero() || c.dl.Sub(now) < d-d/8 {
		c.setDeadline(now.Add(d))
	}
}

func (c *conn) setDeadline(t time.Time) {
	c.dl = t
	c.nc.SetReadDeadline(t)
}

// clearDeadline lifts the loop's deadline before a read during a call (a
// body not yet buffered, the watcher), which must not time out with it.
func (c *conn) clearDeadline() {
	if !c.dl.IsZero() {
		c.setDeadline(time.Time{})
	}
}

// handOver gives the connection to net/http with the bytes already read.
func (c *conn) handOver() bool {
	c.s.track(c, false, false)
	// Counted from here by net/http's connection states (countHTTP).
	return c.s.fb.push(&handedConn{Conn: c.nc, r: c.br})
}

func (c *conn) release() {
	c.br.Reset(nil)
	readers.Put(c.br)
	c.bw.Reset(nil)
	writers.Put(c.bw)
}

// bodyReader reads exactly n bytes of request body. It is locked because
// a proxy may still be reading it on another goroutine (http.Transport's
// writer) when the handler returns; the loop closes it then, as net/http
// does, before it reads the connection again.
type bodyReader struct {
	mu     sync.Mutex
	br     *bufio.Reader
	n      int64
	w      *watcher // armed once the body is read
	c      *conn    // whose deadline a socket read clears
	closed bool
}

func (b *bodyReader) Read(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	if b.closed {
		return 0, http.ErrBodyReadAfterClose
	}
	return b.read(p)
}

func (b *bodyReader) read(p []byte) (int, error) {
	if b.n <= 0 {
		return 0, io.EOF
	}
	if int64(len(p)) > b.n {
		p = p[:b.n]
	}
	if b.br.Buffered() == 0 && b.c != nil {
		// (Only a body that did not come with its head pays for this.)
		if t := b.c.s.BodyTimeout; t > 0 {
			b.c.setDeadline(time.Now().Add(t))
		} else {
			b.c.clearDeadline()
		}
	}
	n, err := b.br.Read(p)
	b.n -= int64(n)
	if err == io.EOF && b.n > 0 {
		err = io.ErrUnexpectedEOF
	}
	if err == nil && b.n == 0 {
		err = io.EOF
		if b.w != nil {
			b.w.arm()
		}
	}
	return n, err
}

func (b *bodyReader) Close() error { return nil }

// close ends reading: later Reads fail (they wait for one in progress).
func (b *bodyReader) close() {
	b.mu.Lock()
	b.closed, b.w = true, nil
	b.mu.Unlock()
}

// finish closes the body to the handler's readers and discards what is
// left of it, up to 256 KiB (as net/http does), so that the connection
// can be kept; false if it cannot.
func (b *bodyReader) finish() bool {
	b.mu.Lock()
	defer b.mu.Unlock()
	b.closed, b.w = true, nil // (a drain must not start a watch)
	if b.n == 0 {
		return true
	}
	if b.n > 256<<10 {
		return false
	}
	var buf [4096]byte
	for b.n > 0 {
		if _, err := b.read(buf[:]); err != nil && err != io.EOF {
			return false
		}
	}
	return true
}

// handedConn is a connection whose first bytes are already buffered: it
// keeps reading through the loop's reader (which reads straight into large
// buffers once its own is empty).
type handedConn struct {
	net.Conn
	r *bufio.Reader
}

func (h *handedConn) Read(p []byte) (int, error) { return h.r.Read(p) }
