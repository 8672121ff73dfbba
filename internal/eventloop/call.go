package eventloop

import (
	"net/http"
	"net/netip"
	"time"
)

// Call is the loop's view of one request it proxies. The loop fills the
// request half; Planner.Plan fills the upstream half. The call's state
// beyond the wire (its function, replica, counters, retries) is the
// Planner's: Plan returns its Owner, which the loop hands the call's end.
type Call struct {
	// The request, as scanned. The strings are views of the loop's buffer,
	// valid until the Owner's Done or Resume returns.
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
}

// Planner decides which calls the loop takes. Plan runs on the loop's
// thread: it must not block.
type Planner interface {
	// Plan routes a call to a ready replica, counting it as started, and
	// returns the call's owner; nil leaves the request to the goroutine
	// path (nothing is counted then).
	Plan(c *Call) Owner
}

// Owner is the Planner's state of one planned call. The loop ends the
// call through it exactly once: Done, or Resume. Its methods run on the
// loop's thread: they must not block.
type Owner interface {
	// Done ends the call with the status answered (499: the caller went
	// away; a response cut short keeps its status).
	Done(status int)
	// Resume ends the loop's attempt at the call, whose replica failed
	// before answering (refused, closed, or its watchdog reported the
	// function unreachable), and returns the handler that finishes the
	// call off the loop: it retries, waits for replicas and ends the call
	// itself.
	Resume(failed error) http.Handler
	// Timeout is the 504 message for the call past its deadline;
	// BadUpstream the 502 message for a replica that answered what cannot
	// be relayed.
	Timeout() string
	BadUpstream(err error) string
}
