// Package rawsyscallconn wraps a socket so that its reads and writes are made as
// raw system calls, without the Go scheduler's syscall bookkeeping.
//
// Why: a proxy hop on a busy small machine goes idle and busy again on
// nearly every call. With few Ps, each ordinary read or write then costs
// more than the system call itself: entering a syscall wakes the runtime's
// monitor thread from its deep sleep (a futex and a thread switch), and a
// write that takes longer than the monitor's 20 µs tick (the peer's wake-up
// is done inside it) has its P handed to another thread. Measured on the
// 2-vCPU bench machine, the gateway's process switched threads twice per
// call, and its monitor woke about 12,000 times a second.
//
// Sockets are non-blocking, so read(2) and write(2) return at once: the
// thread never waits in the kernel, and waiting for readiness is still
// done by the runtime's poller (syscall.RawConn), with deadlines and Close
// honoured as for any net.Conn.
package rawsyscallconn

import (
	"io"
	"net"
	"os"
	"syscall"
	"unsafe"
)

// Conn is a net.Conn whose Read and Write use raw system calls; every
// other method is the wrapped connection's.
type Conn struct {
	net.Conn
	rc syscall.RawConn
	// One pending operation per direction: the poller's read and write
	// locks (taken by RawConn.Read/Write) serialise each direction, and the
	// callbacks are made once so a call allocates nothing.
	rd, wr   op
	rdf, wrf func(fd uintptr) bool
}

// op is the state of one Read or Write between the callback's tries.
type op struct {
	buf   []byte
	n     int
	errno syscall.Errno
}

// Wrap returns c with raw reads and writes when it is a socket the
// runtime polls (TCP or Unix), and c itself otherwise.
func Wrap(c net.Conn) net.Conn {
	sc, ok := c.(syscall.Conn)
	if !ok {
		return c
	}
	rc, err := sc.SyscallConn()
	if err != nil {
		return c
	}
	w := &Conn{Conn: c, rc: rc}
	w.rdf = w.tryRead
	w.wrf = w.tryWrite
	return w
}

// Read reads into p, waiting for data as net.Conn.Read does.
func (c *Conn) Read(p []byte) (int, error) {
	if len(p) == 0 {
		return 0, nil
	}
	c.rd = op{buf: p}
	err := c.rc.Read(c.rdf)
	n, errno := c.rd.n, c.rd.errno
	c.rd.buf = nil
	if err != nil {
		return n, c.opError("read", err)
	}
	if errno != 0 {
		return 0, c.opError("read", os.NewSyscallError("read", errno))
	}
	if n == 0 {
		return 0, io.EOF
	}
	return n, nil
}

// tryRead is one read(2); false asks the poller to wait for data.
func (c *Conn) tryRead(fd uintptr) bool {
	b := c.rd.buf
	for {
		n, _, e := syscall.RawSyscall(syscall.SYS_READ, fd, uintptr(unsafe.Pointer(&b[0])), uintptr(len(b)))
		switch e {
		case 0:
			c.rd.n = int(n)
			return true
		case syscall.EINTR:
			continue
		case syscall.EAGAIN:
			return false
		default:
			c.rd.errno = e
			return true
		}
	}
}

// Write writes all of p, waiting for buffer space as net.Conn.Write does.
func (c *Conn) Write(p []byte) (int, error) {
	if len(p) == 0 {
		return 0, nil
	}
	c.wr = op{buf: p}
	err := c.rc.Write(c.wrf)
	n, errno := c.wr.n, c.wr.errno
	c.wr.buf = nil
	if err != nil {
		return n, c.opError("write", err)
	}
	if errno != 0 {
		return n, c.opError("write", os.NewSyscallError("write", errno))
	}
	return n, nil
}

// tryWrite writes what is left of the buffer; false asks the poller to
// wait until the socket can take more.
func (c *Conn) tryWrite(fd uintptr) bool {
	for c.wr.n < len(c.wr.buf) {
		b := c.wr.buf[c.wr.n:]
		n, _, e := syscall.RawSyscall(syscall.SYS_WRITE, fd, uintptr(unsafe.Pointer(&b[0])), uintptr(len(b)))
		switch e {
		case 0:
			c.wr.n += int(n)
		case syscall.EINTR:
		case syscall.EAGAIN:
			return false
		default:
			c.wr.errno = e
			return true
		}
	}
	return true
}

// opError shapes err as the net package does, so callers' checks
// (net.ErrClosed, os.ErrDeadlineExceeded, ECONNRESET, Timeout) hold.
func (c *Conn) opError(op string, err error) error {
	if oe, ok := err.(*net.OpError); ok {
		err = oe.Err // RawConn reports "raw-read"/"raw-write"
	}
	return &net.OpError{Op: op, Net: c.LocalAddr().Network(), Source: c.LocalAddr(), Addr: c.RemoteAddr(), Err: err}
}

// Unwrap returns the wrapped connection (for TCP-specific calls).
func (c *Conn) Unwrap() net.Conn { return c.Conn }

// CloseWrite half-closes the connection when the wrapped one can (TCP,
// Unix), as tunnels need.
func (c *Conn) CloseWrite() error {
	if cw, ok := c.Conn.(interface{ CloseWrite() error }); ok {
		return cw.CloseWrite()
	}
	return &net.OpError{Op: "close", Net: c.LocalAddr().Network(), Source: c.LocalAddr(), Addr: c.RemoteAddr(), Err: syscall.ENOTSUP}
}

// Listener wraps every accepted connection with Wrap.
type Listener struct{ net.Listener }

// Accept waits for the next connection and wraps it.
func (l Listener) Accept() (net.Conn, error) {
	c, err := l.Listener.Accept()
	if err != nil {
		return nil, err
	}
	return Wrap(c), nil
}
