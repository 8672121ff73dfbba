package eventloop

import (
	"errors"
	"net/netip"
	"syscall"
	"time"

	"github.com/ferryfaas/ferry/internal/wire"
)

const upBuf = 16 << 10

// upstream is a connection to a replica: idle in the pool, or carrying
// one call (c).
type upstream struct {
	l          *loop
	fd         int
	addr       dest
	c          *client
	in         []byte
	n          int
	out        []byte // request bytes not yet written
	events     uint32
	connecting bool
	idleAt     time.Time
	paused     bool

	// the response of the current call
	head     wire.RelayHead
	headDone bool
	left     int64 // wire.FrameLength: body bytes to come
	chunks   wire.ChunkScanner
	got      bool // a byte of it arrived
	answered bool // its head arrived (it may wait for sniffing bytes)
	extra    bool // bytes beyond it: not reusable
}

// dest is where replica connections go, and the key of their pool.
type dest struct {
	addr netip.AddrPort
	unix string // dialled instead of addr when set
}

// get pops the most recent idle connection to addr, or dials one.
func (l *loop) get(addr dest) (*upstream, error) {
	list := l.pool[addr]
	for len(list) > 0 {
		u := list[len(list)-1]
		list[len(list)-1] = nil
		list = list[:len(list)-1]
		if l.now.Sub(u.idleAt) < upIdle {
			l.pool[addr] = list
			return u, nil
		}
		u.close()
	}
	if len(list) == 0 {
		delete(l.pool, addr)
	}
	return l.dial(addr)
}

func (l *loop) dial(addr dest) (*upstream, error) {
	var sa syscall.Sockaddr
	family := syscall.AF_INET
	switch a := addr.addr.Addr().Unmap(); {
	case addr.unix != "":
		// syscall maps a leading '@' to the abstract namespace
		family, sa = syscall.AF_UNIX, &syscall.SockaddrUnix{Name: addr.unix}
	case a.Is4():
		sa = &syscall.SockaddrInet4{Port: int(addr.addr.Port()), Addr: a.As4()}
	default:
		family = syscall.AF_INET6
		sa = &syscall.SockaddrInet6{Port: int(addr.addr.Port()), Addr: a.As16()}
	}
	fd, err := syscall.Socket(family, syscall.SOCK_STREAM|syscall.SOCK_NONBLOCK|syscall.SOCK_CLOEXEC, 0)
	if err != nil {
		return nil, &dialError{err}
	}
	if family != syscall.AF_UNIX {
		syscall.SetsockoptInt(fd, syscall.IPPROTO_TCP, syscall.TCP_NODELAY, 1)
	}
	u := &upstream{l: l, fd: fd, addr: addr, in: make([]byte, upBuf)}
	switch err := syscall.Connect(fd, sa); err {
	case nil:
	case syscall.EINPROGRESS:
		u.connecting = true
	default:
		syscall.Close(fd)
		if family == syscall.AF_UNIX {
			// A Unix connect fails at once (no one holds the name, or
			// its backlog is full): the replica's TCP address is the
			// fallback, pooled with the calls that asked for the socket
			// so that the next one reuses it instead of dialling again.
			u, err := l.dial(dest{addr: addr.addr})
			if u != nil {
				u.addr = addr
			}
			return u, err
		}
		return nil, &dialError{err}
	}
	u.events = evRead
	if u.connecting {
		u.events |= syscall.EPOLLOUT
	}
	if err := l.register(fd, u, u.events); err != nil {
		syscall.Close(fd)
		return nil, &dialError{err}
	}
	return u, nil
}

// dialError: the request was not sent.
type dialError struct{ err error }

func (e *dialError) Error() string { return "dial: " + e.err.Error() }
func (e *dialError) Unwrap() error { return e.err }

// put returns a connection whose response was read whole to the pool.
func (l *loop) put(u *upstream) {
	if l.stop || len(l.pool[u.addr]) >= maxPerAddr {
		u.close()
		return
	}
	u.reset()
	u.idleAt = l.now
	l.pool[u.addr] = append(l.pool[u.addr], u)
}

func (u *upstream) reset() {
	u.n, u.headDone, u.left, u.chunks, u.got, u.extra, u.answered = 0, false, 0, wire.ChunkScanner{}, false, false, false
	u.pause(false)
}

func (u *upstream) close() {
	if u.fd < 0 {
		return
	}
	u.l.owners[u.fd] = nil
	syscall.Close(u.fd)
	u.fd = -1
}

// send writes the request, now if the connection is up.
func (u *upstream) send(req []byte) {
	u.reset()
	if u.connecting {
		u.out = append(u.out[:0], req...)
		return
	}
	n, e := rawWrite(u.fd, req)
	if e != 0 && e != syscall.EAGAIN {
		u.c.resume(errClosed)
		return
	}
	if n = max(n, 0); n < len(req) {
		u.out = append(u.out[:0], req[n:]...)
		u.setEvents(u.events | syscall.EPOLLOUT)
	}
}

func (u *upstream) setEvents(ev uint32) {
	if ev != u.events && u.fd >= 0 {
		u.events = ev
		if !u.paused {
			u.l.modify(u.fd, ev)
		}
	}
}

// pause stops reading the replica while the caller's socket is full. The
// fd leaves the epoll set meanwhile: a hang-up, which cannot be masked,
// would otherwise be reported again and again until the caller reads.
func (u *upstream) pause(on bool) {
	if on == u.paused {
		return
	}
	u.paused = on
	if u.fd < 0 {
		return
	}
	if on {
		syscall.EpollCtl(u.l.ep, syscall.EPOLL_CTL_DEL, u.fd, nil)
		return
	}
	ev := syscall.EpollEvent{Events: u.events, Fd: int32(u.fd), Pad: u.l.gens[u.fd]}
	syscall.EpollCtl(u.l.ep, syscall.EPOLL_CTL_ADD, u.fd, &ev)
}

func (u *upstream) event(ev uint32) {
	if u.c == nil {
		u.closeIdle() // the replica closed an idle connection (or wrote out of turn)
		return
	}
	if ev&(syscall.EPOLLOUT|syscall.EPOLLERR) != 0 && (u.connecting || len(u.out) > 0) {
		if !u.writable() {
			return
		}
	}
	if ev&(syscall.EPOLLIN|syscall.EPOLLRDHUP|syscall.EPOLLHUP|syscall.EPOLLERR) != 0 && !u.paused && !u.connecting {
		u.readable()
	}
}

// writable finishes a connect and writes the rest of the request.
func (u *upstream) writable() bool {
	if u.connecting {
		errno, err := syscall.GetsockoptInt(u.fd, syscall.SOL_SOCKET, syscall.SO_ERROR)
		if err != nil || errno != 0 {
			if err == nil {
				err = syscall.Errno(errno)
			}
			u.c.resume(&dialError{err})
			return false
		}
		u.connecting = false
	}
	for len(u.out) > 0 {
		n, e := rawWrite(u.fd, u.out)
		if e == syscall.EAGAIN {
			u.setEvents(u.events | syscall.EPOLLOUT)
			return true
		}
		if e != 0 {
			u.c.resume(errClosed)
			return false
		}
		u.out = u.out[n:]
	}
	u.out = u.out[:0]
	u.setEvents(u.events &^ syscall.EPOLLOUT)
	return true
}

func (u *upstream) closeIdle() {
	list := u.l.pool[u.addr]
	for i, x := range list {
		if x == u {
			list = append(list[:i], list[i+1:]...)
			break
		}
	}
	if len(list) == 0 {
		delete(u.l.pool, u.addr)
	} else {
		u.l.pool[u.addr] = list
	}
	u.close()
}

func (u *upstream) readable() {
	c := u.c
	if u.n == len(u.in) {
		if u.headDone || len(u.in) >= wire.MaxResponseHead+upBuf {
			c.badUpstream(errors.New("response head larger than 64 KiB"))
			return
		}
		u.in = append(u.in, make([]byte, len(u.in))...)
	}
	n, e := rawRead(u.fd, u.in[u.n:])
	switch {
	case e == syscall.EAGAIN:
		return
	case n <= 0:
		u.eof()
		return
	}
	u.n += n
	u.got = true
	u.process()
}

// process relays what was read: the head once whole, then the body.
func (u *upstream) process() {
	c := u.c
	body := u.in[:u.n]
	var head []byte
	if !u.headDone {
		hn, err := wire.ScanResponse(u.in[:u.n], &u.head)
		if err != nil {
			c.badUpstream(err)
			return
		}
		if hn == 0 {
			return
		}
		if u.head.Unreachable && u.head.Status == 502 {
			c.resume(errUnreachable)
			return
		}
		u.answered, c.status = true, u.head.Status
		var sniff []byte
		if wire.Sniffs(&u.head, c.ri.acceptEventStream) {
			want := hn + int(min(u.head.Length, 512))
			if u.n < want {
				if want > len(u.in) {
					u.in = append(u.in, make([]byte, want-len(u.in))...)
				}
				return // the head waits for the bytes its type is sniffed from
			}
			sniff = u.in[hn:want]
		}
		u.headDone = true
		u.left = u.head.Length
		c.status = u.head.Status
		c.closeAfter = c.closeAfter || u.head.Frame == wire.FrameEOF || c.l.noKeepAlive()
		head = wire.AppendResponseHead(c.l.out[:0], &u.head, c.call.CallID, c.call.Headers, sniff, c.closeAfter)
		c.sent = true
		body = u.in[hn:u.n]
	}
	n, done, err := u.consume(body)
	if err != nil {
		c.abortWith(head, err)
		return
	}
	if n < len(body) {
		u.extra = true
	}
	out := body[:n]
	if head != nil {
		out = append(head, out...)
		c.l.out = out[:0]
	}
	u.n = 0
	if !c.write(out) {
		return
	}
	if done {
		c.finish(!u.head.Close && !u.extra && !c.l.stop)
	}
}

// consume counts the body bytes in b: how many belong to this response,
// and whether it ended.
func (u *upstream) consume(b []byte) (int, bool, error) {
	switch {
	case !wire.BodyAllowed(u.head.Status):
		return 0, true, nil
	case u.head.Frame == wire.FrameChunked:
		return u.chunks.Scan(b)
	case u.head.Frame == wire.FrameEOF:
		return len(b), false, nil
	}
	n := int64(len(b))
	if n > u.left {
		n = u.left
	}
	u.left -= n
	return int(n), u.left == 0, nil
}

// eof: the replica closed (or reset) the connection.
func (u *upstream) eof() {
	c := u.c
	switch {
	case !u.answered:
		c.resume(errClosed) // before any answer: retried elsewhere
	case u.head.Frame == wire.FrameEOF:
		u.head.Close = true
		c.finish(false)
	default:
		c.abort() // cut short
	}
}

// badUpstream answers 502 for a response that cannot be relayed.
func (c *client) badUpstream(err error) {
	if c.sent {
		c.abort()
		return
	}
	c.fail(502, c.owner.BadUpstream(err))
}

// abortWith ends a call whose body turned out malformed: the head (if not
// yet sent) is not sent, and the caller's connection is closed.
func (c *client) abortWith(head []byte, err error) {
	if head != nil {
		c.sent = false
		c.status = 0
		c.badUpstream(err)
		return
	}
	c.abort()
}
