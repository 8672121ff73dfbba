package eventloop

import (
	"strings"

	"github.com/ferryfaas/ferry/internal/wire"
)

// field is one request header, scanned in place (canonical name).
type field = wire.Field

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
		if f.K == "Connection" {
			ri.hasConnection = true
		}
	}
	gone := func(k string) bool { return ri.hasConnection && wire.Listed(fs, k) }
	for _, f := range fs {
		switch f.K {
		case wire.CallID:
			if ri.callID == "" && !gone(f.K) {
				ri.callID = f.V
				if f.V == "" {
					ri.callID = "\x00" // present but empty: not the caller's
				}
			}
		case wire.ForwardedFor:
			ri.hasXFF = ri.hasXFF || !gone(f.K)
		case wire.ForwardedHost:
			ri.hasXFH = ri.hasXFH || !gone(f.K)
		case "Authorization":
			if ri.authorization != "" {
				ri.authorization += "\n" // rare: a copy only then
			}
			ri.authorization += f.V
		case "Accept":
			ri.acceptEventStream = ri.acceptEventStream || strings.Contains(f.V, "text/event-stream")
		}
	}
	if ri.callID == "\x00" {
		ri.callID = ""
	}
	return ri
}

// appendRequest writes the upstream request for c: the headers the
// gateway's goroutine path sends (prepareHeaders, writeRequest): hop-by-hop
// headers and Host, Content-Length and the contract's headers dropped,
// then the call's own.
func appendRequest(dst []byte, c *Call, fs []field, ri *reqInfo, remoteIP string, body []byte) []byte {
	dst = wire.AppendRequestLine(dst, c.Method, c.URI, "")
	dst = wire.AppendHost(dst, c.Addr)
	for _, f := range fs {
		switch {
		case !wire.ForwardRequestField(f.K), f.K == wire.CallID, f.K == wire.StartTime:
			continue // (Host is not among fs: wire.ScanHead keeps it apart)
		case ri.hasConnection && wire.Listed(fs, f.K):
			continue
		case f.K == wire.ForwardedFor:
			continue // one field, the peer appended: AppendContract
		}
		dst = wire.AppendField(dst, f.K, f.V)
	}
	var prior []field // the caller's X-Forwarded-For, unless its Connection header drops it
	if ri.hasXFF && !(ri.hasConnection && wire.Listed(fs, wire.ForwardedFor)) {
		prior = fs
	}
	host := c.Host
	if ri.hasXFH {
		host = "" // the caller's is kept
	}
	dst = wire.AppendContract(dst, c.CallID, c.Start, prior, remoteIP, host)
	dst = wire.EndRequestHead(dst, c.Method, int64(len(body)))
	return append(dst, body...)
}

// headEnd is wire.HeadEnd within the loop's read buffer: -1 also for a
// head that cannot end within wire.MaxHeadBytes.
func headEnd(b []byte) int {
	end := wire.HeadEnd(b)
	switch {
	case end > wire.MaxHeadBytes:
		return -1
	case end == 0 && len(b) > wire.MaxHeadBytes:
		return -1
	case end == 0 && len(b) == wire.MaxHeadBytes && b[len(b)-1] == '\n':
		return -1 // a line ends at the limit: the head's end cannot fit
	}
	return end
}
