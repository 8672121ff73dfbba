package eventloop

import (
	"context"
	"net"
	"syscall"
)

// start makes the loops once; nil if none could start.
func (s *Server) start() []*loop {
	s.once.Do(func() {
		s.defaults()
		for i := 0; i < s.Loops; i++ {
			l, err := newLoop(s)
			if err != nil {
				s.Log.Warn("eventloop: an event loop could not start", "err", err)
				break
			}
			s.loops = append(s.loops, l)
			go l.run()
		}
		if len(s.loops) == 0 {
			s.Log.Warn("eventloop: no event loop; calls take the goroutine path")
		}
	})
	return s.loops
}

// Add takes over an accepted TCP connection: a loop (in turn) polls a
// duplicate of its fd and the net.Conn is closed. False leaves nc to the
// caller.
func (s *Server) Add(nc net.Conn) bool {
	tc, ok := nc.(*net.TCPConn)
	if !ok {
		return false
	}
	loops := s.start()
	if len(loops) == 0 {
		return false
	}
	l := loops[int(s.next.Add(1)%uint64(len(loops)))]
	raw, err := tc.SyscallConn()
	if err != nil {
		return false
	}
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.stopping {
		return false
	}
	fd := -1
	raw.Control(func(f uintptr) {
		if r, _, e := syscall.Syscall(syscall.SYS_FCNTL, f, syscall.F_DUPFD_CLOEXEC, 0); e == 0 {
			fd = int(r)
		}
	})
	if fd < 0 {
		return false
	}
	var remote string
	if a, ok := tc.RemoteAddr().(*net.TCPAddr); ok {
		remote = a.AddrPort().Addr().Unmap().String()
	}
	nc.Close() // the duplicate keeps the socket
	s.open.Add(1)
	l.adds = append(l.adds, added{fd, remote})
	l.wake()
	return true
}

// Open is how many callers' connections the loops hold.
func (s *Server) Open() int { return int(s.open.Load()) }

// Shed asks the loops to close the n connections (shared among them) that
// have waited longest for a request, to make room for new ones when the
// front is at its connection cap. It returns at once: the loops close
// them on their own threads.
func (s *Server) Shed(n int) {
	loops := s.start()
	if len(loops) == 0 || n <= 0 {
		return
	}
	each := (n + len(loops) - 1) / len(loops)
	for _, l := range loops {
		l.mu.Lock()
		l.shed += each
		l.mu.Unlock()
		l.wake()
	}
}

// Shutdown stops taking connections, closes idle ones, lets calls in
// progress finish and waits for the loops to end; when ctx ends first,
// every connection is closed.
func (s *Server) Shutdown(ctx context.Context) error {
	s.once.Do(func() {}) // no loop starts after this
	for _, l := range s.loops {
		l.mu.Lock()
		l.stopping = true
		l.mu.Unlock()
		l.wake()
	}
	var err error
	for _, l := range s.loops {
		select {
		case <-l.done:
		case <-ctx.Done():
			l.mu.Lock()
			l.force = true
			l.mu.Unlock()
			l.wake()
			<-l.done
			err = ctx.Err()
		}
	}
	return err
}
