package eventloop

import (
	"net/http"
	"net/netip"
	"time"
)

// Call is one request the loop proxies. The loop fills the request half;
// Planner.Plan fills the upstream half.
type Call struct {
	// The request, as scanned. The strings are views of the loop's buffer,
	// valid until Done or Resume returns.
	Method, Target, Path, Host string
	ContentLength              int64 // -1: no Content-Length
	Start                      time.Time
	// CallID is the caller's X-Call-Id, if any; Plan sets it when empty.
	CallID string
	// Authorization is the caller's Authorization header; when it has
	// several, their values joined by "\n" (no value holds one).
	Authorization string

	// Set by Plan.
	Addr netip.AddrPort // the replica (also its Host header)
	// Unix, when set, is a Unix socket of the same replica ('@': an
	// abstract name), dialled instead of Addr: a call's two hops to a
	// replica on this machine then skip the TCP/IP stack.
	Unix     string
	URI      string    // the request target sent upstream
	Deadline time.Time // 504 after it
	// Headers are whole header lines ("K: V\r\n"...) added to the
	// caller's response head, as the goroutine path adds them.
	Headers string
	Token   any // the Planner's own state
}

// Planner decides what the loop does with calls. Its methods run on the
// loop's thread: they must not block.
type Planner interface {
	// Plan routes a call to a ready replica, counting it as started; false
	// leaves the request to the goroutine path (nothing is counted then).
	Plan(c *Call) bool
	// Done ends a planned call with the status answered (499: the caller
	// went away; a response cut short keeps its status).
	Done(c *Call, status int)
	// Resume ends the loop's attempt at a planned call whose replica
	// failed before answering (refused, closed, or its watchdog reported
	// the function unreachable) and returns the handler that finishes the
	// call off the loop: it retries, waits for replicas and calls Done's
	// counterpart itself.
	Resume(c *Call, failed error) http.Handler
	// Timeout is the 504 message for a call past its deadline; BadUpstream
	// the 502 message for a replica that answered what cannot be relayed.
	Timeout(c *Call) string
	BadUpstream(c *Call, err error) string
}
