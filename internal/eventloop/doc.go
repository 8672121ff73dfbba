// Package eventloop is the gateway's event loops for function calls: each
// loop (one per two CPUs) is a goroutine that waits on one epoll fd for the
// caller and replica connections it holds (callers are dealt to the loops
// in turn), and proxies plain HTTP/1.1 calls (a length-delimited body of at most
// MaxBody, any response framing, streams included) without a goroutine
// per connection.
//
// Why: on a small machine a proxy hop's cost is mostly its waiting. With a
// goroutine per connection, each call parks and wakes two goroutines,
// reads until EAGAIN twice and moves the runtime's single P between
// threads; measured on the 2-vCPU bench VM that was about a third of the
// gateway's CPU per call. A loop that reads only what epoll says is ready
// does the same work in nginx's shape.
//
// The loop takes only what it does exactly as the goroutine path
// (packages http1 and gateway) does: it scans request heads with wire.ScanHead,
// and hands a connection back (Server.Fallback) the moment a request is
// anything else, or the Planner declines it (unknown function, no ready
// replica, a body over the limit). A call whose replica failed before
// answering is also handed back to the call's Owner (the Planner's state
// of it, which the loop never looks into), so that the goroutine path
// retries it and waits for replicas as it always has.
package eventloop
