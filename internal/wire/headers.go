package wire

import "strings"

// The contract's headers: every front adds them to a call on its way to a
// replica (X-Call-Id also on the answer), as OpenFaaS's gateway does.
const (
	CallID        = "X-Call-Id"
	StartTime     = "X-Start-Time"
	ForwardedFor  = "X-Forwarded-For"
	ForwardedHost = "X-Forwarded-Host"
)

// IsHopHeader reports a connection-level header a proxy must not forward
// (RFC 9110 7.6.1), plus Expect, which the receiving server already
// answered. Every hand-written front and client (the event loops, the
// gateway's goroutine path and the watchdog) shares this one list.
func IsHopHeader(k string) bool {
	switch k {
	case "Connection", "Proxy-Connection", "Keep-Alive", "Proxy-Authenticate",
		"Proxy-Authorization", "Te", "Trailer", "Transfer-Encoding", "Upgrade", "Expect":
		return true
	}
	return false
}

// AppendForwardedFor appends one X-Forwarded-For value of the caller's
// (prior: skipped when blank) and the separator before the next, as every
// front does before it appends the peer's address: a proxy adds the
// address it was called from to the list, so that a caller cannot pass
// off another address as its own.
func AppendForwardedFor(dst []byte, prior string) []byte {
	if prior = strings.Trim(prior, " \t"); prior == "" {
		return dst
	}
	dst = append(dst, prior...)
	return append(dst, ", "...)
}
