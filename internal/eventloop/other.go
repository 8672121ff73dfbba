//go:build !linux

package eventloop

import (
	"context"
	"net"
)

// Add takes nothing where there is no epoll: http1 serves every connection.
func (s *Server) Add(nc net.Conn) bool { return false }

// Shutdown has nothing to wait for.
func (s *Server) Shutdown(ctx context.Context) error { return nil }

type loop struct{}

// Open is 0: the loop holds no connection.
func (s *Server) Open() int { return 0 }

// Shed has nothing to close.
func (s *Server) Shed(n int) {}
