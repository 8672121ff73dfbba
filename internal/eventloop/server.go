package eventloop

import (
	"log/slog"
	"net"
	"net/http"
	"runtime"
	"sync"
	"sync/atomic"
	"time"

	"github.com/ferryfaas/ferry/internal/serveconfig"
)

// Server is the loop as the accept loop sees it (http1.Loop).
type Server struct {
	Planner Planner
	// Fallback serves a connection the loop hands back, with the bytes it
	// read from it; first, when not nil, serves the first request (a call
	// the loop began: see Owner.Resume). http1.Server.ServeConn.
	Fallback func(nc net.Conn, buf []byte, first http.Handler)
	// IdleTimeout closes a connection waiting for its next request.
	// HeadTimeout is the absolute deadline of a request head, from its
	// first byte (from the accept for a connection's first request).
	IdleTimeout, HeadTimeout time.Duration
	// BodyTimeout is the absolute deadline of a request's body (at most
	// MaxBody), from the end of its head: 408 past it (30 s if 0).
	BodyTimeout time.Duration
	// MaxBody is the largest request body the loop takes (if 0,
	// serveconfig.ReplayBody, the gateway's): it is held in memory so that
	// a failed call can be sent again.
	MaxBody int64
	// Loops is how many event loops share the connections (each is one
	// goroutine, so at most one core's worth of proxying, some 50,000 calls
	// a second). If 0, half the CPUs (at least one): the functions behind
	// the gateway share the machine and need most of it.
	Loops int
	Log   *slog.Logger

	once  sync.Once
	loops []*loop
	next  atomic.Uint64 // the loop the next connection goes to
	open  atomic.Int64  // callers' connections held by the loops
	// draining is set by Drain: answers say Connection: close.
	draining atomic.Bool
}

// Drain makes every answer from now on carry Connection: close and close
// its connection after it, while the loops keep serving: a caller learns
// from its next answer to reconnect (to another gateway) instead of
// finding its keep-alive connection closed under a request. Connections
// waiting for a request stay open for it until Shutdown.
func (s *Server) Drain() { s.draining.Store(true) }

func (s *Server) defaults() {
	if s.IdleTimeout <= 0 {
		s.IdleTimeout = serveconfig.IdleTimeout
	}
	if s.HeadTimeout <= 0 {
		s.HeadTimeout = serveconfig.ReadHeaderTimeout
	}
	if s.BodyTimeout <= 0 {
		s.BodyTimeout = serveconfig.BodyTimeout
	}
	if s.MaxBody <= 0 {
		s.MaxBody = serveconfig.ReplayBody
	}
	if s.Loops <= 0 {
		s.Loops = max(1, runtime.NumCPU()/2)
	}
	if s.Log == nil {
		s.Log = slog.Default()
	}
}
