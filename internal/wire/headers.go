package wire

import (
	"bytes"
	"errors"
	"io"
	"net/http"
	"strconv"
	"strings"
	"syscall"
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

// ForwardRequestField reports whether a proxy passes a request's field k
// on as it is: not hop-by-hop, and neither Host nor Content-Length, which
// the writer of the next request states itself. (The fields a Connection
// header names are dropped apart: RemoveHopHeaders, Listed.)
func ForwardRequestField(k string) bool {
	return !IsHopHeader(k) && k != "Content-Length" && k != "Host"
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
// a replica: X-Call-Id, X-Start-Time, X-Forwarded-For (the X-Forwarded-For
// values among the caller's fields prior, then peer) and X-Forwarded-Host
// when host is not empty (the caller's own one, if any, is kept instead).
// SetContract is the same for a header map. (prior is a slice, not an
// iterator: a loop over a func would move dst to the heap on every call.)
func AppendContract(dst []byte, callID string, start time.Time, prior []Field, peer, host string) []byte {
	dst = AppendField(dst, CallID, callID)
	dst = append(dst, StartTime+": "...)
	dst = AppendStartTime(dst, start)
	dst = append(dst, "\r\n"+ForwardedFor+": "...)
	for _, f := range prior {
		if f.K == ForwardedFor {
			dst = AppendForwardedFor(dst, f.V)
		}
	}
	dst = append(dst, peer...)
	dst = append(dst, "\r\n"...)
	if host != "" {
		dst = AppendField(dst, ForwardedHost, host)
	}
	return dst
}

// ForwardedForValue is the one X-Forwarded-For value of a call on its
// way on: the caller's values (prior, every field, each trimmed, blank
// ones skipped), then peer. peer empty: a call this process made for a
// caller whose address the values already end with; they are kept as
// they are.
func ForwardedForValue(prior []string, peer string) string {
	if len(prior) == 0 {
		return peer
	}
	var b []byte
	for _, v := range prior {
		b = AppendForwardedFor(b, v)
	}
	if peer == "" {
		b = bytes.TrimSuffix(b, []byte(", "))
	}
	return string(append(b, peer...))
}

// AppendStartTime appends X-Start-Time's value: the time the gateway
// took the call, in Unix nanoseconds.
func AppendStartTime(dst []byte, start time.Time) []byte {
	return strconv.AppendInt(dst, start.UnixNano(), 10)
}

// SetContract puts the contract's headers in h (a request's header map,
// hop-by-hop fields already removed), as AppendContract writes them: the
// caller's X-Call-Id, or newID's when it sent none; X-Start-Time; the
// caller's X-Forwarded-For values and peer in one field (peer empty: a
// call this process made for a caller whose address the values already
// end with, as a queued call's do; they are kept as they are);
// X-Forwarded-Host unless the caller sent one. It returns the X-Call-Id
// value to echo. The added values share one allocation: this runs on
// every call.
func SetContract(h http.Header, newID func() string, start time.Time, peer, host string) (callID []string) {
	vals := make([]string, 4)
	if v := h[CallID]; len(v) > 0 && v[0] != "" {
		vals[0] = v[0]
	} else {
		vals[0] = newID()
	}
	callID = vals[0:1:1]
	h[CallID] = callID
	var buf [20]byte
	vals[1] = string(AppendStartTime(buf[:0], start))
	h[StartTime] = vals[1:2:2]
	peer = ForwardedForValue(h[ForwardedFor], peer)
	if peer == "" {
		delete(h, ForwardedFor)
	} else {
		vals[2] = peer
		h[ForwardedFor] = vals[2:3:3]
	}
	if len(h[ForwardedHost]) == 0 && host != "" {
		vals[3] = host
		h[ForwardedHost] = vals[3:4:4]
	}
	return callID
}

// ClosedBeforeAnswer reports the error of a client whose peer closed or
// reset the connection before sending a byte of its answer (or had gone
// when the request was written): on a kept-alive connection, one that
// was closed while it sat idle, so that the request never reached the
// peer and may be sent again. The caller tells it from an answer broken
// off mid-head (io.ErrUnexpectedEOF from http.ReadResponse, which a
// peer that took the request sends too) by waiting for the first byte
// apart.
func ClosedBeforeAnswer(err error) bool {
	return errors.Is(err, io.EOF) || errors.Is(err, syscall.ECONNRESET) || errors.Is(err, syscall.EPIPE)
}

// StaleWindow: a kept-alive connection that the peer had closed while it
// sat in a pool fails within it of the request being sent; a call that
// fails later reached the peer, which may have run it.
const StaleWindow = 50 * time.Millisecond

// ClosedAtOnce reports a connection closed before any answer
// (ClosedBeforeAnswer, err from the wait for the first byte) within
// StaleWindow of the request being sent: the only failure after sending
// that may be sent again.
func ClosedAtOnce(err error, sent time.Time) bool {
	return ClosedBeforeAnswer(err) && time.Since(sent) < StaleWindow
}
