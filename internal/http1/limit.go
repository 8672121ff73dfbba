package http1

import (
	"io"
	"net"
	"net/http"
	"slices"
	"time"

	"github.com/ferryfaas/ferry/internal/rawsyscallconn"
)

// Why a cap: each connection holds a descriptor, and callers that open
// connections and send nothing (or a byte now and then) cost nothing to
// keep open. With no cap, enough of them exhaust the process's
// descriptors, and then nothing is served, /healthz included.

// Open is how many callers' connections the front holds (the loop's
// included).
func (s *Server) Open() int {
	n := int(s.open.Load())
	if s.Loop != nil {
		n += s.Loop.Open()
	}
	return n
}

// makeRoom waits, before an accept, until the front is under MaxConns:
// it sheds the connections that have waited longest for a request, and
// when that frees nothing (every connection is in a call) it waits,
// leaving new callers in the listen backlog.
func (s *Server) makeRoom() {
	if s.MaxConns <= 0 {
		return
	}
	wait := time.Millisecond
	for !s.shutting.Load() {
		open := s.Open()
		if open < s.MaxConns {
			return
		}
		// A batch at a time: finding the oldest is a scan.
		s.shed(max(1, s.MaxConns/64, open-s.MaxConns+1))
		time.Sleep(wait)
		wait = min(2*wait, 100*time.Millisecond)
	}
}

// shed closes about n waiting connections, shared between the loop and
// this server in proportion to what each holds, oldest first.
func (s *Server) shed(n int) {
	mine := int(s.open.Load())
	if s.Loop != nil {
		theirs := s.Loop.Open()
		if total := mine + theirs; total > 0 {
			k := (n*theirs + total - 1) / total
			s.Loop.Shed(k)
			n -= k
		}
	}
	if n <= 0 {
		return
	}
	type victim struct {
		since int64
		close func()
	}
	var vs []victim
	s.mu.Lock()
	for c := range s.conns {
		if c.state.Load() == stateIdle {
			vs = append(vs, victim{c.since.Load(), func() {
				if c.state.CompareAndSwap(stateIdle, stateClosed) {
					c.nc.Close()
				}
			}})
		}
	}
	for nc, t := range s.waiting {
		vs = append(vs, victim{t.UnixNano(), func() { nc.Close() }})
	}
	s.mu.Unlock()
	slices.SortFunc(vs, func(a, b victim) int { return int(min(max(a.since-b.since, -1), 1)) })
	for _, v := range vs[:min(n, len(vs))] {
		v.close()
	}
}

// countHTTP follows the connections handed to net/http: they stay counted
// until closed, and may be shed while they wait for a request.
func (s *Server) countHTTP() {
	prev := s.HTTP.ConnState
	s.HTTP.ConnState = func(nc net.Conn, st http.ConnState) {
		s.mu.Lock()
		switch st {
		case http.StateNew, http.StateIdle:
			s.waiting[nc] = time.Now()
		case http.StateActive:
			delete(s.waiting, nc)
		case http.StateClosed, http.StateHijacked:
			delete(s.waiting, nc)
			s.open.Add(-1)
		}
		s.mu.Unlock()
		if prev != nil {
			prev(nc, st)
		}
	}
}

// lingerClose ends a connection whose request body was left unread (an
// answer such as 413 came first): closing at once, with the caller's
// bytes unread, makes the kernel send a reset that may destroy the answer
// before the caller reads it. So the write side is shut, and what the
// caller still sends is read and dropped, a bounded amount for a bounded
// time, as net/http does.
func lingerClose(nc net.Conn) {
	raw := nc
	if r, ok := nc.(*rawsyscallconn.Conn); ok {
		raw = r.Conn
	}
	cw, ok := raw.(interface{ CloseWrite() error })
	if !ok || cw.CloseWrite() != nil {
		return
	}
	nc.SetReadDeadline(time.Now().Add(lingerTime))
	io.CopyN(io.Discard, nc, lingerBytes)
}

const (
	lingerTime  = 500 * time.Millisecond
	lingerBytes = 4 << 20
)
