// Package wire is the HTTP/1.1 text every hand-written part of Ferry's
// call path shares: the event loops (internal/eventloop), the lean front
// (internal/http1), the gateway's upstream client and the watchdog's. It
// holds the strict request-head scanner both fronts use (ScanHead), the
// response-head reader of the gateway's upstream client
// (PeekResponseHead), the grammar's small pieces (fields, tokens, header
// name case, line splitting), the rules a proxy follows (hop-by-hop
// headers, which statuses carry a body) and the contract's headers
// (X-Call-Id, X-Start-Time, X-Forwarded-*), each written once so that two
// paths cannot judge the same bytes two ways.
//
// What is strict and what is lenient is deliberate: a server (the fronts)
// takes only a strict subset and leaves the rest to net/http, so a request
// is never judged two ways; a client (reading a replica's answer) lets
// through what net/http's client lets through.
package wire
