package eventloop

import (
	"errors"
	"os"
	"slices"
	"sync"
	"syscall"
	"time"
	"unsafe"

	"github.com/ferryfaas/ferry/internal/serveconfig"
)

const (
	evRead     = syscall.EPOLLIN | syscall.EPOLLRDHUP
	maxPerAddr = serveconfig.UpstreamIdlePerReplica // idle connections kept per replica
	upIdle     = serveconfig.UpstreamIdle           // an idle replica connection is closed after
	sweepEvery = upIdle / 3
)

// owner is what an fd in the loop belongs to: a caller or a replica
// connection.
type owner interface{ event(ev uint32) }

// loop owns every fd it polls; all its state is touched by its own
// goroutine only, but for adds and stopping (under mu).
type loop struct {
	s            *Server
	ep           int
	file         *os.File // ep, polled by the runtime
	rc           syscall.RawConn
	armed        time.Time // the file's read deadline: the first timer
	wakeR, wakeW int

	mu       sync.Mutex
	adds     []added
	stopping bool
	force    bool
	shed     int // how many waiting connections to close (Server.Shed)

	stop    bool
	owners  []owner
	gens    []int32 // registration generation by fd, against stale events
	gen     int32
	pool    map[dest][]*upstream
	timers  timerHeap
	sweep   timer
	evs     []syscall.EpollEvent
	out     []byte // scratch for heads
	now     time.Time
	clients int
	done    chan struct{}
}

type added struct {
	fd     int
	remote string
}

func newLoop(s *Server) (*loop, error) {
	ep, err := syscall.EpollCreate1(syscall.EPOLL_CLOEXEC)
	if err != nil {
		return nil, err
	}
	var p [2]int
	if err := syscall.Pipe2(p[:], syscall.O_NONBLOCK|syscall.O_CLOEXEC); err != nil {
		syscall.Close(ep)
		return nil, err
	}
	l := &loop{s: s, ep: ep, wakeR: p[0], wakeW: p[1], pool: map[dest][]*upstream{},
		evs: make([]syscall.EpollEvent, 128), out: make([]byte, 0, 8<<10), done: make(chan struct{}), now: time.Now()}
	l.sweep = timer{idx: -1, fire: l.sweepPool}
	// The loop's goroutine waits for the epoll fd in the runtime's own
	// poller, like any socket: no thread blocks in epoll_wait holding the
	// P (with one P, the runtime's monitor would wake every 20 µs to take
	// it back, a thread switch each time).
	syscall.SetNonblock(ep, true)
	l.file = os.NewFile(uintptr(ep), "eventloop")
	rc, err := l.file.SyscallConn()
	if err == nil {
		l.rc = rc
		err = l.register(l.wakeR, nil, syscall.EPOLLIN)
	}
	if err != nil {
		l.closeFds()
		return nil, err
	}
	return l, nil
}

func (l *loop) wake() {
	b := [1]byte{1}
	syscall.Write(l.wakeW, b[:])
}

// run is the loop: wait for the epoll fd to be readable (or the first
// timer), dispatch, run due timers.
func (l *loop) run() {
	defer close(l.done)
	defer l.closeFds()
	l.now = time.Now()
	l.arm(&l.sweep, l.now.Add(sweepEvery))
	l.rearm()
	for {
		err := l.rc.Read(l.poll)
		if err != nil && !errors.Is(err, os.ErrDeadlineExceeded) {
			l.s.Log.Error("eventloop: waiting for events failed", "err", err)
			time.Sleep(10 * time.Millisecond)
		}
		if l.turn() {
			return
		}
	}
}

// poll handles every ready event; true ends the loop.
func (l *loop) poll(uintptr) bool {
	for {
		// Until none is ready: an fd still ready after its turn must be
		// seen again, and the runtime's poller reports the epoll fd once.
		n := l.wait()
		if n <= 0 {
			break
		}
		l.now = time.Now()
		for _, ev := range l.evs[:n] {
			fd := int(ev.Fd)
			switch {
			case fd == l.wakeR:
				l.takeAdds()
			case fd < len(l.owners) && l.owners[fd] != nil && l.gens[fd] == ev.Pad:
				l.dispatch(l.owners[fd], ev.Events)
			}
		}
	}
	return l.turn()
}

// dispatch runs one event; a panic (a bug) drops that connection, not the
// loop.
func (l *loop) dispatch(o owner, ev uint32) {
	defer func() {
		if p := recover(); p != nil {
			l.s.Log.Error("eventloop: panic handling a connection; it is closed", "panic", p)
			if c, ok := o.(*client); ok {
				c.close()
			} else if u, ok := o.(*upstream); ok {
				u.close()
			}
		}
	}()
	o.event(ev)
}

// turn runs due timers and sets the next wake-up; true ends the loop.
func (l *loop) turn() bool {
	l.now = time.Now()
	l.runTimers()
	if l.stop && l.clients == 0 {
		return true
	}
	l.rearm()
	return false
}

// wait is a non-blocking epoll_wait.
func (l *loop) wait() int {
	for {
		n, _, e := syscall.RawSyscall6(syscall.SYS_EPOLL_PWAIT, uintptr(l.ep), uintptr(unsafe.Pointer(&l.evs[0])), uintptr(len(l.evs)), 0, 0, 0)
		if e != syscall.EINTR {
			if e != 0 {
				return 0
			}
			return int(n)
		}
	}
}

// rearm moves the epoll fd's read deadline to the first timer when that
// is earlier (a later one is found when the deadline passes).
func (l *loop) rearm() {
	if len(l.timers) == 0 {
		return
	}
	if m := l.timers[0].when; l.armed.IsZero() || m.Before(l.armed) || !l.armed.After(l.now) {
		l.armed = m
		l.file.SetReadDeadline(m)
	}
}

// takeAdds registers the connections Add queued, and acts on Shutdown.
func (l *loop) takeAdds() {
	var b [64]byte
	for {
		if n, _ := syscall.Read(l.wakeR, b[:]); n < len(b) {
			break
		}
	}
	l.mu.Lock()
	adds := l.adds
	l.adds = nil
	stopping, force, shed := l.stopping, l.force, l.shed
	l.shed = 0
	l.mu.Unlock()
	for _, a := range adds {
		c := newClient(l, a.fd, a.remote)
		if err := l.register(a.fd, c, evRead); err != nil {
			syscall.Close(a.fd)
			continue
		}
		c.gen = l.gens[a.fd]
		l.clients++
		// A new connection's first request head is due HeadTimeout after
		// the accept, as net/http's ReadHeaderTimeout: a silent caller
		// does not hold it for IdleTimeout.
		c.since = l.now
		c.expect(l.now.Add(l.s.HeadTimeout))
	}
	if shed > 0 {
		l.shedOldest(shed)
	}
	if stopping && !l.stop {
		l.stop = true
		l.closeIdle(false)
	}
	if force {
		l.closeIdle(true)
	}
}

// noKeepAlive reports whether every answer closes its connection: the
// loop is stopping, or the server drains (callers are told to reconnect
// elsewhere before their connection is closed under them).
func (l *loop) noKeepAlive() bool { return l.stop || l.s.draining.Load() }

// closeIdle closes the callers waiting for a request (all of them when
// force) and every idle replica connection.
func (l *loop) closeIdle(force bool) {
	for _, o := range l.owners {
		if c, ok := o.(*client); ok && (force || c.idle()) {
			c.gone()
		}
	}
	for addr, list := range l.pool {
		for _, u := range list {
			u.close()
		}
		delete(l.pool, addr)
	}
}

// leave counts a caller's connection out (closed or handed back).
func (l *loop) leave() {
	l.clients--
	l.s.open.Add(-1)
}

// shedOldest closes the n connections that have waited longest for a
// request (idle, or a head or body still coming); calls in flight are
// never shed.
func (l *loop) shedOldest(n int) {
	var waiting []*client
	for _, o := range l.owners {
		if c, ok := o.(*client); ok && c.state == cReading && len(c.out) == 0 {
			waiting = append(waiting, c)
		}
	}
	slices.SortFunc(waiting, func(a, b *client) int { return a.since.Compare(b.since) })
	for _, c := range waiting[:min(n, len(waiting))] {
		c.close()
	}
}

func (l *loop) register(fd int, o owner, events uint32) error {
	for fd >= len(l.owners) {
		l.owners = append(l.owners, nil)
		l.gens = append(l.gens, 0)
	}
	l.gen++
	l.owners[fd], l.gens[fd] = o, l.gen
	ev := syscall.EpollEvent{Events: events, Fd: int32(fd), Pad: l.gen}
	if err := syscall.EpollCtl(l.ep, syscall.EPOLL_CTL_ADD, fd, &ev); err != nil {
		l.owners[fd] = nil
		return err
	}
	return nil
}

func (l *loop) modify(fd int, events uint32) {
	ev := syscall.EpollEvent{Events: events, Fd: int32(fd), Pad: l.gens[fd]}
	syscall.EpollCtl(l.ep, syscall.EPOLL_CTL_MOD, fd, &ev)
}

// forget removes fd from the loop (before it is closed or handed over).
func (l *loop) forget(fd int) {
	syscall.EpollCtl(l.ep, syscall.EPOLL_CTL_DEL, fd, nil)
	l.owners[fd] = nil
}

func (l *loop) closeFds() {
	for fd, o := range l.owners {
		if o != nil {
			syscall.Close(fd)
		}
	}
	if l.file != nil {
		l.file.Close()
	} else {
		syscall.Close(l.ep)
	}
	syscall.Close(l.wakeR)
	syscall.Close(l.wakeW)
}

// sweepPool closes replica connections idle longer than upIdle.
func (l *loop) sweepPool() {
	for addr, list := range l.pool {
		keep := list[:0]
		for _, u := range list {
			if l.now.Sub(u.idleAt) < upIdle {
				keep = append(keep, u)
			} else {
				u.close()
			}
		}
		clear(list[len(keep):])
		if len(keep) == 0 {
			delete(l.pool, addr)
		} else {
			l.pool[addr] = keep
		}
	}
	l.arm(&l.sweep, l.now.Add(sweepEvery))
}

// rawRead and rawWrite are read(2) and write(2) on non-blocking fds,
// without the runtime's syscall bookkeeping (they never wait).
func rawRead(fd int, b []byte) (int, syscall.Errno) {
	for {
		n, _, e := syscall.RawSyscall(syscall.SYS_READ, uintptr(fd), uintptr(unsafe.Pointer(&b[0])), uintptr(len(b)))
		if e != syscall.EINTR {
			return int(n), e
		}
	}
}

func rawWrite(fd int, b []byte) (int, syscall.Errno) {
	for {
		n, _, e := syscall.RawSyscall(syscall.SYS_WRITE, uintptr(fd), uintptr(unsafe.Pointer(&b[0])), uintptr(len(b)))
		if e != syscall.EINTR {
			return int(n), e
		}
	}
}
