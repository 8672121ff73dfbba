// Package wire is Ferry's HTTP/1.1 text: every byte of HTTP the project
// scans or writes by hand goes through it, so that two paths cannot judge
// or frame the same bytes two ways. Its users are the event loops
// (internal/eventloop), the lean front (internal/http1), the gateway's
// upstream client, the watchdog's, the queue's worker, and the upgrade
// tunnel.
//
//   - Request heads in: ScanHead, the strict scanner both fronts share.
//   - Response heads in: PeekResponseHead (the gateway's lean client: a
//     strict subset, the rest left to net/http) and ScanResponse (the
//     event loop's relay: every framing net/http's client takes).
//   - Chunked bodies: ChunkScanner finds a relayed body's end;
//     WriteChunk and ChunkedWriter write one.
//   - Heads out: AppendRequestHead and its parts (the upstream clients),
//     AppendResponseHead (the loop's relayed answer), and a handler's
//     answer as net/http's server frames and writes it (HandlerFraming,
//     SniffContentType, AppendHandlerResponseHead: the lean front, and
//     the loop's own error answers).
//   - A proxy's rules: hop-by-hop headers (IsHopHeader, RemoveHopHeaders,
//     Listed), which request fields go on (ForwardRequestField), which
//     statuses carry a body (BodyAllowed), a connection closed before
//     answering (ClosedBeforeAnswer), and the contract's headers
//     (X-Call-Id, X-Start-Time, X-Forwarded-*: AppendContract,
//     SetContract), written here once for every front and the queue.
//   - The grammar's small pieces: tokens, comma-separated lists (Items,
//     HasToken), field values, header name case, lines.
//
// What is strict and what is lenient is deliberate: a server (the fronts)
// takes only a strict subset and leaves the rest to net/http, so a request
// is never judged two ways; a client (reading a replica's answer) lets
// through what net/http's client lets through. Every scanner and writer
// has a differential fuzzer against net/http (make fuzz).
package wire
