package eventloop

import (
	"bytes"
	"net/textproto"
	"strconv"
	"strings"

	"github.com/ferryfaas/ferry/internal/wire"
)

// field is one request header, scanned in place (canonical name).
type field struct{ k, v string }

// listed reports whether a Connection header in fs names k (those headers
// are connection-level too).
func listed(fs []field, k string) bool {
	for _, f := range fs {
		if f.k != "Connection" {
			continue
		}
		for v := f.v; v != ""; {
			var item string
			if i := strings.IndexByte(v, ','); i >= 0 {
				item, v = v[:i], v[i+1:]
			} else {
				item, v = v, ""
			}
			if item = wire.TrimOWS(item); item != "" && textproto.CanonicalMIMEHeaderKey(item) == k {
				return true
			}
		}
	}
	return false
}

// reqInfo is what the upstream request needs from the inbound headers.
type reqInfo struct {
	callID            string // the caller's X-Call-Id (first value)
	authorization     string // see Call.Authorization
	hasXFF, hasXFH    bool
	acceptEventStream bool
	hasConnection     bool
}

// inspect reads the headers the gateway acts on.
func inspect(fs []field) (ri reqInfo) {
	for _, f := range fs {
		if f.k == "Connection" {
			ri.hasConnection = true
		}
	}
	gone := func(k string) bool { return ri.hasConnection && listed(fs, k) }
	for _, f := range fs {
		switch f.k {
		case wire.CallID:
			if ri.callID == "" && !gone(f.k) {
				ri.callID = f.v
				if f.v == "" {
					ri.callID = "\x00" // present but empty: not the caller's
				}
			}
		case wire.ForwardedFor:
			ri.hasXFF = ri.hasXFF || !gone(f.k)
		case wire.ForwardedHost:
			ri.hasXFH = ri.hasXFH || !gone(f.k)
		case "Authorization":
			if ri.authorization != "" {
				ri.authorization += "\n" // rare: a copy only then
			}
			ri.authorization += f.v
		case "Accept":
			ri.acceptEventStream = ri.acceptEventStream || strings.Contains(f.v, "text/event-stream")
		}
	}
	if ri.callID == "\x00" {
		ri.callID = ""
	}
	return ri
}

// appendRequest writes the upstream request for c: the headers the
// gateway's goroutine path sends (prepareHeaders, writeRequest): hop-by-hop
// headers and Host, Content-Length, X-Call-Id, X-Start-Time dropped, then
// the call's own.
func appendRequest(dst []byte, c *Call, fs []field, ri *reqInfo, remoteIP string, body []byte) []byte {
	dst = append(dst, c.Method...)
	dst = append(dst, ' ')
	dst = append(dst, c.URI...)
	dst = append(dst, " HTTP/1.1\r\nHost: "...)
	dst = c.Addr.AppendTo(dst)
	dst = append(dst, "\r\n"...)
	for _, f := range fs {
		switch {
		case wire.IsHopHeader(f.k), f.k == "Content-Length", f.k == wire.CallID, f.k == wire.StartTime:
			continue
		case ri.hasConnection && listed(fs, f.k):
			continue
		case f.k == wire.ForwardedFor:
			continue // one field below, the peer appended
		}
		dst = appendField(dst, f.k, f.v)
	}
	dst = append(dst, wire.CallID+": "...)
	dst = append(dst, c.CallID...)
	dst = append(dst, "\r\n"+wire.StartTime+": "...)
	dst = strconv.AppendInt(dst, c.Start.UnixNano(), 10)
	dst = append(dst, "\r\n"...)
	dst = append(dst, wire.ForwardedFor+": "...)
	if ri.hasXFF {
		// The caller's list, then the peer, as a proxy appends itself:
		// a caller cannot pass off another address as the one that called.
		for _, f := range fs {
			if f.k == wire.ForwardedFor && !(ri.hasConnection && listed(fs, f.k)) {
				dst = wire.AppendForwardedFor(dst, f.v)
			}
		}
	}
	dst = append(dst, remoteIP...)
	dst = append(dst, "\r\n"...)
	if !ri.hasXFH && c.Host != "" {
		dst = appendField(dst, wire.ForwardedHost, c.Host)
	}
	if len(body) > 0 || needsLength(c.Method) {
		dst = append(dst, "Content-Length: "...)
		dst = strconv.AppendInt(dst, int64(len(body)), 10)
		dst = append(dst, "\r\n"...)
	}
	dst = append(dst, "\r\n"...)
	return append(dst, body...)
}

func appendField(dst []byte, k, v string) []byte {
	dst = append(dst, k...)
	dst = append(dst, ": "...)
	dst = append(dst, v...)
	return append(dst, "\r\n"...)
}

// needsLength: methods that carry a body get "Content-Length: 0" when
// empty, as net/http's client sends.
func needsLength(m string) bool { return m == "POST" || m == "PUT" || m == "PATCH" }

// headEnd is the length of a request head ending in CRLF CRLF in b, 0 if
// more bytes are needed, -1 if it is not one the loop takes.
func headEnd(b []byte) int {
	for i := 0; i < len(b); {
		j := bytes.IndexByte(b[i:], '\n')
		if j < 0 {
			if len(b) > wire.MaxHeadBytes {
				return -1
			}
			return 0
		}
		j += i
		if j == 0 || b[j-1] != '\r' {
			return -1
		}
		if j-i == 1 {
			if j+1 > wire.MaxHeadBytes {
				return -1
			}
			return j + 1
		}
		i = j + 1
	}
	if len(b) >= wire.MaxHeadBytes {
		return -1
	}
	return 0
}
