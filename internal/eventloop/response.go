package eventloop

import (
	"bytes"
	"errors"
	"net/http"
	"strconv"
	"strings"
	"unsafe"

	"github.com/ferryfaas/ferry/internal/wire"
)

// maxRespHead bounds a replica's response head.
const maxRespHead = 64 << 10

// body framings of a response.
const (
	frameLength  = iota // Content-Length (or none: 204, 304)
	frameChunked        // passed through as it is, chunk by chunk
	frameEOF            // until the replica closes (the caller's connection closes too)
)

var errBadHead = errors.New("malformed response head")

// respHead is a replica's response head, scanned in place.
type respHead struct {
	status  int
	size    int // bytes of the head
	length  int64
	frame   int
	close   bool // the replica closes after this response
	hasDate bool
	hasType bool
	encoded bool // Content-Encoding is set (no type sniffing)
	// unreachable is the watchdog's own 502: the function never answered.
	unreachable bool
	internal    int    // X-Openfaas-Internal values
	lengthText  string // the Content-Length value as sent
	fields      []field
	conn        []field // the Connection headers
}

// scanResponse parses a response head at the start of b into h (its
// fields are views of b). It returns 0 when more bytes are needed.
// Informational heads (1xx but 101) are skipped: size covers them too.
func scanResponse(b []byte, h *respHead) (int, error) {
	skipped := 0
	for {
		n, err := scanOne(b[skipped:], h)
		if n <= 0 || err != nil {
			return n, err
		}
		if h.status >= 200 {
			h.size = skipped + n
			return h.size, nil
		}
		if h.status == http.StatusSwitchingProtocols {
			return 0, errors.New("101 Switching Protocols to a request that asked for no upgrade")
		}
		skipped += n
	}
}

func scanOne(b []byte, h *respHead) (int, error) {
	end := -1
	for i := 0; i < len(b); {
		j := bytes.IndexByte(b[i:], '\n')
		if j < 0 {
			break
		}
		j += i
		if j == i || j == i+1 && b[i] == '\r' {
			end = j + 1
			break
		}
		i = j + 1
	}
	if end < 0 {
		if len(b) > maxRespHead {
			return 0, errors.New("response head larger than 64 KiB")
		}
		return 0, nil
	}
	if end > maxRespHead {
		return 0, errors.New("response head larger than 64 KiB")
	}
	s := unsafe.String(&b[0], end)
	*h = respHead{fields: h.fields[:0], conn: h.conn[:0], length: -1}
	line, rest := wire.CutLine(s)
	if len(line) < 12 || line[:5] != "HTTP/" || (line[5:8] != "1.1" && line[5:8] != "1.0") || line[8] != ' ' {
		return 0, errBadHead
	}
	code, err := strconv.Atoi(line[9:12])
	if err != nil || code < 100 || len(line) > 12 && line[12] != ' ' {
		return 0, errBadHead
	}
	h.status = code
	http10 := line[5:8] == "1.0"
	keepAlive := false
	for rest != "" {
		line, rest = wire.CutLine(rest)
		if line == "" {
			break
		}
		colon := strings.IndexByte(line, ':')
		if colon <= 0 || !wire.IsToken(line[:colon]) {
			return 0, errBadHead
		}
		k, v := line[:colon], wire.TrimOWS(line[colon+1:])
		if !wire.IsReceivedFieldValue(v) {
			return 0, errBadHead
		}
		if err := h.add(k, v, &keepAlive); err != nil {
			return 0, err
		}
	}
	if http10 {
		// HTTP/1.0 has no Transfer-Encoding: net/http ignores it there.
		h.close = h.close || !keepAlive
		if h.frame == frameChunked {
			h.frame = frameLength
		}
	}
	if h.internal > 1 {
		h.unreachable = false // only a single "watchdog" marks the watchdog's own 502
	}
	if len(h.conn) > 0 {
		// Headers the Connection header names are dropped: they do not count.
		h.hasDate = h.hasDate && !listed(h.conn, "Date")
		h.hasType = h.hasType && !listed(h.conn, "Content-Type")
		h.encoded = h.encoded && !listed(h.conn, "Content-Encoding")
	}
	switch {
	case !wire.BodyAllowed(code):
		h.frame = frameLength
	case h.frame == frameChunked:
		h.length = -1
	case h.length >= 0:
		h.frame = frameLength
	default:
		h.frame, h.close = frameEOF, true
	}
	return end, nil
}

// add records one header line. Names are matched by length first: most
// of a response's headers are none of these.
func (h *respHead) add(k, v string, keepAlive *bool) error {
	switch len(k) {
	case 14: // Content-Length
		if !wire.EqualFold(k, "Content-Length") {
			break
		}
		if h.length >= 0 {
			if v != h.lengthText { // (net/http allows only the same text again)
				return errors.New("conflicting Content-Length headers")
			}
			break
		}
		n, err := strconv.ParseInt(v, 10, 64)
		if err != nil || v[0] < '0' || v[0] > '9' {
			return errors.New("bad Content-Length")
		}
		h.length, h.lengthText = n, v
	case 17: // Transfer-Encoding
		if !wire.EqualFold(k, "Transfer-Encoding") {
			break
		}
		if !wire.EqualFold(v, "chunked") || h.frame == frameChunked {
			return errors.New("unsupported Transfer-Encoding " + strconv.Quote(v))
		}
		h.frame = frameChunked
	case 10: // Connection
		if wire.EqualFold(k, "Connection") {
			h.close = h.close || wire.HasToken(v, "close")
			*keepAlive = *keepAlive || wire.HasToken(v, "keep-alive")
			h.conn = append(h.conn, field{"Connection", v})
		}
	case 4: // Date
		h.hasDate = h.hasDate || wire.EqualFold(k, "Date")
	case 12: // Content-Type
		h.hasType = h.hasType || wire.EqualFold(k, "Content-Type")
	case 16: // Content-Encoding
		h.encoded = h.encoded || wire.EqualFold(k, "Content-Encoding")
	case 19: // X-Openfaas-Internal
		if wire.EqualFold(k, "X-Openfaas-Internal") {
			h.internal++
			h.unreachable = v == "watchdog"
		}
	case 7: // Trailer
		if wire.EqualFold(k, "Trailer") && badTrailer(v) {
			return errors.New("a Trailer names a framing header")
		}
	}
	h.fields = append(h.fields, field{k, v})
	return nil
}

// badTrailer: net/http refuses a response whose Trailer header names
// Content-Length, Transfer-Encoding or Trailer.
func badTrailer(v string) bool {
	for _, k := range []string{"Content-Length", "Transfer-Encoding", "Trailer"} {
		if wire.HasToken(v, k) {
			return true
		}
	}
	return false
}

// appendResponseHead writes the caller's response head as the goroutine
// path (copyResponse through http1's writer) does: hop-by-hop headers and
// X-Call-Id dropped, the call's X-Call-Id, the Planner's headers, a Date
// and a sniffed Content-Type added, the status text Go's.
func appendResponseHead(dst []byte, h *respHead, callID, extra string, sniff []byte, closing bool) []byte {
	dst = append(dst, "HTTP/1.1 "...)
	if text := http.StatusText(h.status); text != "" {
		dst = strconv.AppendInt(dst, int64(h.status), 10)
		dst = append(dst, ' ')
		dst = append(dst, text...)
	} else {
		dst = strconv.AppendInt(dst, int64(h.status), 10)
		dst = append(dst, " status code "...)
		dst = strconv.AppendInt(dst, int64(h.status), 10)
	}
	dst = append(dst, "\r\n"...)
	for _, f := range h.fields {
		k := f.k
		if !wire.IsCanonical(k) {
			k = http.CanonicalHeaderKey(k)
		}
		switch {
		case k == "Trailer": // passed through with the chunks' trailer section
		case wire.IsHopHeader(k), k == wire.CallID, k == "Content-Length":
			continue
		case len(h.conn) > 0 && listed(h.conn, k):
			continue
		}
		dst = wire.AppendField(dst, k, f.v)
	}
	dst = wire.AppendField(dst, wire.CallID, callID)
	dst = append(dst, extra...)
	if !h.hasDate {
		dst = wire.AppendField(dst, "Date", wire.Date())
	}
	if sniff != nil {
		dst = wire.AppendField(dst, "Content-Type", http.DetectContentType(sniff))
	}
	switch {
	case h.frame == frameChunked:
		dst = append(dst, "Transfer-Encoding: chunked\r\n"...)
	case h.length >= 0:
		dst = append(dst, "Content-Length: "...)
		dst = strconv.AppendInt(dst, h.length, 10)
		dst = append(dst, "\r\n"...)
	}
	if closing {
		dst = append(dst, "Connection: close\r\n"...)
	}
	return append(dst, "\r\n"...)
}

// sniffs reports whether the goroutine path would sniff a Content-Type for
// this response: a length-delimited body, not a stream, no type and no
// encoding given.
func sniffs(h *respHead, acceptEventStream bool) bool {
	return !h.hasType && !h.encoded && h.frame == frameLength && h.length > 0 &&
		wire.BodyAllowed(h.status) && !acceptEventStream
}
