package eventloop

import (
	"errors"
	"net"
	"net/http"
	"os"
	"syscall"
	"time"

	"github.com/ferryfaas/ferry/internal/wire"
)

// client states
const (
	cReading = iota // waiting for (the rest of) a request
	cCalling        // a call is in flight
)

// client is a caller's connection.
type client struct {
	l       *loop
	fd      int
	gen     int32
	remote  string // IP, for X-Forwarded-For
	in      []byte // in[:n] read, the current request first
	n       int
	out     []byte // response bytes the socket did not take yet
	events  uint32
	state   int
	closing bool // close once out is sent
	body    bool // the head is whole, its body is on its way
	tm      timer
	// due is the absolute deadline of the request being read (zero while
	// idle between requests): reads do not move it, so a caller trickling
	// bytes cannot hold the connection longer than one deadline.
	due time.Time
	// since is when the connection began waiting for its current request:
	// the oldest waiting connections are shed first (Server.Shed).
	since time.Time

	// the current call
	call       Call
	owner      Owner // the Planner's, while the call is planned
	fields     [64]field
	nf         int
	ri         reqInfo
	reqLen     int // its head and body bytes at the start of in
	closeAfter bool
	up         *upstream
	sent       bool // the response head went to the caller
	status     int
	addField   func(i int, k, v string)
}

const clientBuf = wire.MaxHeadBytes + 1 // a head at the limit, and one byte to tell it is over

func newClient(l *loop, fd int, remote string) *client {
	c := &client{l: l, fd: fd, remote: remote, in: make([]byte, clientBuf), events: evRead}
	c.tm = timer{idx: -1, fire: c.onTimer}
	c.addField = func(_ int, k, v string) {
		if c.nf < len(c.fields) {
			c.fields[c.nf] = field{K: k, V: v}
		}
		c.nf++
	}
	return c
}

func (c *client) idle() bool { return c.state == cReading && c.n == 0 && len(c.out) == 0 }

func (c *client) event(ev uint32) {
	if ev&syscall.EPOLLOUT != 0 && !c.flush() {
		return
	}
	if ev&(syscall.EPOLLIN|syscall.EPOLLRDHUP|syscall.EPOLLHUP|syscall.EPOLLERR) == 0 {
		return
	}
	if c.n == len(c.in) {
		// Full (pipelined bytes during a call): stop reading until it ends.
		// A hang-up is still reported, and level-triggered it would be
		// reported again at once, for ever: the caller is gone.
		if ev&(syscall.EPOLLRDHUP|syscall.EPOLLHUP|syscall.EPOLLERR) != 0 {
			c.gone()
			return
		}
		c.setEvents(c.events &^ syscall.EPOLLIN)
		return
	}
	c.readable()
}

func (c *client) readable() {
	n, e := rawRead(c.fd, c.in[c.n:])
	switch {
	case e == syscall.EAGAIN:
		return
	case n <= 0:
		c.gone()
		return
	}
	c.n += n
	if c.state == cReading {
		c.next()
	}
}

// next starts the request at the start of in once it is whole.
func (c *client) next() {
	if c.state != cReading || c.n == 0 || len(c.out) > 0 || c.closing {
		return
	}
	if c.due.IsZero() {
		c.due = c.l.now.Add(c.l.s.HeadTimeout) // from the request's first byte
	}
	end := headEnd(c.in[:c.n])
	if end < 0 {
		c.fallback(nil)
		return
	}
	if end == 0 {
		// Armed once per head, when it has to be waited for (a head that
		// comes whole, the usual case, moves no timer).
		if c.tm.idx < 0 || !c.tm.when.Equal(c.due) {
			c.l.arm(&c.tm, c.due)
		}
		return
	}
	s := string(c.in[:end]) // the call's strings outlive the buffer's reuse
	c.nf = 0
	h, ok := wire.ScanHead(s, nil, c.addField)
	if !ok || c.nf > len(c.fields) || h.Method == http.MethodHead || h.ContentLength > c.l.s.MaxBody {
		c.fallback(nil)
		return
	}
	total := end + int(max(h.ContentLength, 0))
	if total > len(c.in) {
		c.in = append(c.in[:c.n], make([]byte, total-c.n)...)
	}
	if c.n < total {
		if !c.body {
			// The body (at most MaxBody) has its own deadline from the end
			// of the head: 408 when it does not come.
			c.body = true
			c.expect(c.l.now.Add(c.l.s.BodyTimeout))
		}
		return
	}
	c.body = false
	c.call = Call{Method: h.Method, Target: h.Target, Path: h.Path, Host: h.Host, ContentLength: h.ContentLength, Start: c.l.now}
	c.ri = inspect(c.fields[:c.nf])
	c.call.CallID, c.call.Authorization = c.ri.callID, c.ri.authorization
	if c.owner = c.l.s.Planner.Plan(&c.call); c.owner == nil {
		c.fallback(nil)
		return
	}
	c.reqLen, c.closeAfter, c.sent, c.status = total, h.Close, false, 0
	c.state = cCalling
	c.l.arm(&c.tm, c.call.Deadline)
	req := appendRequest(c.l.out[:0], &c.call, c.fields[:c.nf], &c.ri, c.remote, c.in[end:total])
	c.l.out = req[:0]
	u, err := c.l.get(dest{c.call.Addr, c.call.Unix})
	if err != nil {
		c.resume(err)
		return
	}
	c.up, u.c = u, c
	u.send(req)
}

// write sends b to the caller; what the socket does not take waits in out
// (and the replica is not read meanwhile). False if the caller is gone.
func (c *client) write(b []byte) bool {
	if len(b) == 0 {
		return true
	}
	if len(c.out) == 0 {
		n, e := rawWrite(c.fd, b)
		if e != 0 && e != syscall.EAGAIN {
			c.gone()
			return false
		}
		b = b[max(n, 0):]
		if len(b) == 0 {
			return true
		}
		c.setEvents(c.events | syscall.EPOLLOUT)
	}
	c.out = append(c.out, b...)
	if c.up != nil {
		c.up.pause(true)
	}
	return true
}

// flush sends out when the socket takes more; false if the caller is gone.
func (c *client) flush() bool {
	for len(c.out) > 0 {
		n, e := rawWrite(c.fd, c.out)
		if e == syscall.EAGAIN {
			return true
		}
		if e != 0 {
			c.gone()
			return false
		}
		c.out = c.out[n:]
	}
	c.out = nil
	c.setEvents(c.events &^ syscall.EPOLLOUT)
	if c.closing {
		c.close()
		return false
	}
	if c.up != nil {
		c.up.pause(false)
	} else {
		c.next()
	}
	return true
}

func (c *client) setEvents(ev uint32) {
	if ev != c.events {
		c.events = ev
		c.l.modify(c.fd, ev)
	}
}

// finish ends the call (the response was relayed whole) and takes the
// next request.
func (c *client) finish(keepUp bool) {
	if u := c.up; u != nil {
		c.up, u.c = nil, nil
		if keepUp {
			c.l.put(u)
		} else {
			u.close()
		}
	}
	c.end(c.status)
	c.call = Call{}
	copy(c.in, c.in[c.reqLen:c.n])
	c.n -= c.reqLen
	c.reqLen, c.state = 0, cReading
	if len(c.in) > 4*clientBuf && c.n <= clientBuf {
		c.in = append(make([]byte, 0, clientBuf), c.in[:c.n]...)[:clientBuf]
	}
	if c.closeAfter || c.l.noKeepAlive() {
		c.closing = true
		if len(c.out) == 0 {
			c.close()
		}
		return
	}
	c.setEvents(c.events | syscall.EPOLLIN)
	c.waiting(c.l.s.IdleTimeout)
	c.next()
}

// waiting starts the wait for a request: d bounds it until its first byte.
func (c *client) waiting(d time.Duration) {
	c.due, c.since = time.Time{}, c.l.now
	c.l.arm(&c.tm, c.l.now.Add(d))
}

// expect sets the request's absolute deadline.
func (c *client) expect(due time.Time) {
	c.due = due
	c.l.arm(&c.tm, due)
}

// gone: the caller closed or reset its connection.
func (c *client) gone() {
	if c.state == cCalling {
		status := 499 // nginx's "client closed request", as the goroutine path records it
		if c.sent {
			status = c.status
		}
		c.status = status
		if u := c.up; u != nil {
			c.up, u.c = nil, nil
			u.close()
		}
		c.end(status)
		c.state = cReading
	}
	c.close()
}

// abort ends a call whose response was cut short after its head was
// sent: the caller's connection is closed so that it cannot take the
// response for a whole one.
func (c *client) abort() {
	if u := c.up; u != nil {
		c.up, u.c = nil, nil
		u.close()
	}
	c.end(c.status)
	c.state = cReading
	c.close()
}

func (c *client) close() {
	if c.fd < 0 {
		return
	}
	c.l.disarm(&c.tm)
	c.l.owners[c.fd] = nil
	syscall.Close(c.fd)
	c.fd = -1
	c.l.leave()
}

// fail answers a call the loop cannot finish before any byte of a
// response went out: 504 past the deadline, 502 for a response that
// cannot be relayed.
func (c *client) fail(status int, msg string) {
	if u := c.up; u != nil {
		c.up, u.c = nil, nil
		u.close()
	}
	c.status, c.sent = status, true
	out := appendError(c.l.out[:0], status, msg, c.closeAfter || c.l.noKeepAlive())
	c.l.out = out[:0]
	if c.write(out) {
		c.finish(false)
	}
}

// reject answers the request being read with an error and closes the
// connection once the answer is sent (or at the next deadline).
func (c *client) reject(status int, msg string) {
	out := appendError(c.l.out[:0], status, msg, true)
	c.l.out = out[:0]
	c.closing = true
	c.l.arm(&c.tm, c.l.now.Add(c.l.s.HeadTimeout))
	if c.write(out) && len(c.out) == 0 {
		c.close()
	}
}

func (c *client) onTimer() {
	switch {
	case c.state == cReading && c.body && !c.closing:
		// A body that stopped coming: say why, then close.
		c.reject(http.StatusRequestTimeout, "the request body did not arrive within "+c.l.s.BodyTimeout.String()+" of its head (--body-timeout)")
	case c.state == cReading:
		c.close() // idle, a head that did not come in time, or a rejection not taken
	case !c.sent:
		c.fail(http.StatusGatewayTimeout, c.owner.Timeout())
	default:
		c.abort()
	}
}

// resume hands a call whose replica failed before answering back to the
// goroutine path, which retries it.
func (c *client) resume(err error) {
	if u := c.up; u != nil {
		c.up, u.c = nil, nil
		u.close()
	}
	o := c.owner
	c.owner = nil
	c.fallback(o.Resume(err))
}

// end hands the call's end to its owner.
func (c *client) end(status int) {
	o := c.owner
	c.owner = nil
	o.Done(status)
}

// fallback hands the connection, with what was read from it, to the
// goroutine path.
func (c *client) fallback(first http.Handler) {
	l := c.l
	l.disarm(&c.tm)
	l.forget(c.fd)
	l.leave()
	buf := append([]byte(nil), c.in[:c.n]...)
	f := os.NewFile(uintptr(c.fd), "")
	c.fd = -1
	nc, err := net.FileConn(f)
	f.Close()
	if err != nil {
		l.s.Log.Error("eventloop: could not hand a connection back", "err", err)
		return
	}
	l.s.Fallback(nc, buf, first)
}

// errorHeader is the gateway's plain-text error answer's (writeText).
var errorHeader = http.Header{
	"Content-Type":           {"text/plain; charset=utf-8"},
	"X-Content-Type-Options": {"nosniff"},
	"X-Openfaas-Internal":    {"gateway"},
}

// appendError is the gateway's plain-text error response (writeText).
func appendError(dst []byte, status int, msg string, closing bool) []byte {
	dst = wire.AppendHandlerResponseHead(dst, status, errorHeader, wire.Framing{Length: int64(len(msg) + 1), Close: closing})
	dst = append(dst, msg...)
	return append(dst, '\n')
}

var (
	errUnreachable = errors.New("the replica's function was unreachable")
	errClosed      = errors.New("the replica closed the connection before answering")
)
