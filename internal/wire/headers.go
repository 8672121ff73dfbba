package wire

import (
	"iter"
	"strconv"
	"strings"
	"time"
)

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

// AppendContract appends the contract's headers of a call on its way to
// a replica: X-Call-Id, X-Start-Time, X-Forwarded-For (the caller's
// values, prior, then peer) and X-Forwarded-Host when host is not empty
// (the caller's own one, if any, is kept instead). The gateway's
// goroutine path puts the same values in its header map (StartTimeValue,
// AppendForwardedFor).
func AppendContract(dst []byte, callID string, start time.Time, prior iter.Seq[string], peer, host string) []byte {
	dst = AppendField(dst, CallID, callID)
	dst = append(dst, StartTime+": "...)
	dst = AppendStartTime(dst, start)
	dst = append(dst, "\r\n"+ForwardedFor+": "...)
	if prior != nil {
		for v := range prior {
			dst = AppendForwardedFor(dst, v)
		}
	}
	dst = append(dst, peer...)
	dst = append(dst, "\r\n"...)
	if host != "" {
		dst = AppendField(dst, ForwardedHost, host)
	}
	return dst
}

// AppendStartTime appends X-Start-Time's value: the time the gateway
// took the call, in Unix nanoseconds.
func AppendStartTime(dst []byte, start time.Time) []byte {
	return strconv.AppendInt(dst, start.UnixNano(), 10)
}
