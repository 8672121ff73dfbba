package wire

import (
	"bytes"
	"errors"
	"net/http"
	"strconv"
	"strings"
	"unsafe"
)

// MaxResponseHead bounds a replica's response head.
const MaxResponseHead = 64 << 10

// Body framings of a response.
const (
	FrameLength  = iota // Content-Length (or none: 204, 304)
	FrameChunked        // passed through as it is, chunk by chunk
	FrameEOF            // until the replica closes (the caller's connection closes too)
)

var errBadHead = errors.New("malformed response head")

// RelayHead is a replica's response head as the event loop relays it,
// scanned in place: what the loop needs to frame the body and write the
// caller's head (AppendResponseHead). Unlike PeekResponseHead it takes
// every framing, as net/http's client does.
type RelayHead struct {
	Status int
	Size   int // bytes of the head
	Length int64
	Frame  int
	Close  bool // the replica closes after this response
	// Unreachable is the watchdog's own 502: the function never answered.
	Unreachable bool

	hasDate    bool
	hasType    bool
	encoded    bool   // Content-Encoding is set (no type sniffing)
	internal   int    // X-Openfaas-Internal values
	lengthText string // the Content-Length value as sent
	fields     []Field
	conn       []Field // the Connection headers
}

// ScanResponse parses a response head at the start of b into h (its
// fields are views of b). It returns 0 when more bytes are needed.
// Informational heads (1xx but 101) are skipped: Size covers them too.
func ScanResponse(b []byte, h *RelayHead) (int, error) {
	skipped := 0
	for {
		n, err := scanOne(b[skipped:], h)
		if n <= 0 || err != nil {
			return n, err
		}
		if h.Status >= 200 {
			h.Size = skipped + n
			return h.Size, nil
		}
		if h.Status == http.StatusSwitchingProtocols {
			return 0, errors.New("101 Switching Protocols to a request that asked for no upgrade")
		}
		skipped += n
	}
}

func scanOne(b []byte, h *RelayHead) (int, error) {
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
		if len(b) > MaxResponseHead {
			return 0, errors.New("response head larger than 64 KiB")
		}
		return 0, nil
	}
	if end > MaxResponseHead {
		return 0, errors.New("response head larger than 64 KiB")
	}
	s := unsafe.String(&b[0], end)
	*h = RelayHead{fields: h.fields[:0], conn: h.conn[:0], Length: -1}
	line, rest := CutLine(s)
	if len(line) < 12 || line[:5] != "HTTP/" || (line[5:8] != "1.1" && line[5:8] != "1.0") || line[8] != ' ' {
		return 0, errBadHead
	}
	code, err := strconv.Atoi(line[9:12])
	if err != nil || code < 100 || len(line) > 12 && line[12] != ' ' {
		return 0, errBadHead
	}
	h.Status = code
	http10 := line[5:8] == "1.0"
	keepAlive := false
	for rest != "" {
		line, rest = CutLine(rest)
		if line == "" {
			break
		}
		colon := strings.IndexByte(line, ':')
		if colon <= 0 || !IsToken(line[:colon]) {
			return 0, errBadHead
		}
		k, v := line[:colon], TrimOWS(line[colon+1:])
		if !IsReceivedFieldValue(v) {
			return 0, errBadHead
		}
		if err := h.add(k, v, &keepAlive); err != nil {
			return 0, err
		}
	}
	if http10 {
		// HTTP/1.0 has no Transfer-Encoding: net/http ignores it there.
		h.Close = h.Close || !keepAlive
		if h.Frame == FrameChunked {
			h.Frame = FrameLength
		}
	}
	if h.internal > 1 {
		h.Unreachable = false // only a single "watchdog" marks the watchdog's own 502
	}
	if len(h.conn) > 0 {
		// Headers the Connection header names are dropped: they do not count.
		h.hasDate = h.hasDate && !Listed(h.conn, "Date")
		h.hasType = h.hasType && !Listed(h.conn, "Content-Type")
		h.encoded = h.encoded && !Listed(h.conn, "Content-Encoding")
	}
	switch {
	case !BodyAllowed(code):
		h.Frame = FrameLength
	case h.Frame == FrameChunked:
		h.Length = -1
	case h.Length >= 0:
		h.Frame = FrameLength
	default:
		h.Frame, h.Close = FrameEOF, true
	}
	return end, nil
}

// add records one header line. Names are matched by length first: most
// of a response's headers are none of these.
func (h *RelayHead) add(k, v string, keepAlive *bool) error {
	switch len(k) {
	case 14: // Content-Length
		if !EqualFold(k, "Content-Length") {
			break
		}
		if h.Length >= 0 {
			if v != h.lengthText { // (net/http allows only the same text again)
				return errors.New("conflicting Content-Length headers")
			}
			break
		}
		n, err := strconv.ParseInt(v, 10, 64)
		if err != nil || v[0] < '0' || v[0] > '9' {
			return errors.New("bad Content-Length")
		}
		h.Length, h.lengthText = n, v
	case 17: // Transfer-Encoding
		if !EqualFold(k, "Transfer-Encoding") {
			break
		}
		if !EqualFold(v, "chunked") || h.Frame == FrameChunked {
			return errors.New("unsupported Transfer-Encoding " + strconv.Quote(v))
		}
		h.Frame = FrameChunked
	case 10: // Connection
		if EqualFold(k, "Connection") {
			h.Close = h.Close || HasToken(v, "close")
			*keepAlive = *keepAlive || HasToken(v, "keep-alive")
			h.conn = append(h.conn, Field{"Connection", v})
		}
	case 4: // Date
		h.hasDate = h.hasDate || EqualFold(k, "Date")
	case 12: // Content-Type
		h.hasType = h.hasType || EqualFold(k, "Content-Type")
	case 16: // Content-Encoding
		h.encoded = h.encoded || EqualFold(k, "Content-Encoding")
	case 19: // X-Openfaas-Internal
		if EqualFold(k, "X-Openfaas-Internal") {
			h.internal++
			h.Unreachable = v == "watchdog"
		}
	case 7: // Trailer
		if EqualFold(k, "Trailer") && badTrailer(v) {
			return errors.New("a Trailer names a framing header")
		}
	}
	h.fields = append(h.fields, Field{k, v})
	return nil
}

// badTrailer: net/http refuses a response whose Trailer header names
// Content-Length, Transfer-Encoding or Trailer.
func badTrailer(v string) bool {
	for _, k := range []string{"Content-Length", "Transfer-Encoding", "Trailer"} {
		if HasToken(v, k) {
			return true
		}
	}
	return false
}

// AppendResponseHead writes the caller's response head for a relayed h as
// the gateway's goroutine path (copyResponse through http1's writer) does:
// hop-by-hop headers and X-Call-Id dropped, the call's X-Call-Id, extra
// (whole header lines), a Date and a sniffed Content-Type added, the
// status text Go's; no framing for a status without a body (nor a 304's
// Content-Type), as net/http's server and the lean front send.
func AppendResponseHead(dst []byte, h *RelayHead, callID, extra string, sniff []byte, closing bool) []byte {
	dst = AppendStatusLine(dst, h.Status)
	for _, f := range h.fields {
		k := f.K
		if !IsCanonical(k) {
			k = http.CanonicalHeaderKey(k)
		}
		switch {
		case k == "Trailer": // passed through with the chunks' trailer section
		case IsHopHeader(k), k == CallID, k == "Content-Length":
			continue
		case k == "Content-Type" && h.Status == http.StatusNotModified:
			continue // dropped by net/http's server, as by HandlerFraming
		case len(h.conn) > 0 && Listed(h.conn, k):
			continue
		}
		dst = AppendField(dst, k, f.V)
	}
	dst = AppendField(dst, CallID, callID)
	dst = append(dst, extra...)
	if !h.hasDate {
		dst = AppendField(dst, "Date", Date())
	}
	if sniff != nil {
		dst = AppendField(dst, "Content-Type", http.DetectContentType(sniff))
	}
	switch {
	case h.Frame == FrameChunked:
		dst = append(dst, "Transfer-Encoding: chunked\r\n"...)
	case h.Length >= 0 && BodyAllowed(h.Status):
		dst = AppendContentLength(dst, h.Length) // (none without a body, as HandlerFraming)
	}
	if closing {
		dst = append(dst, "Connection: close\r\n"...)
	}
	return append(dst, "\r\n"...)
}

// Sniffs reports whether the goroutine path would sniff a Content-Type for
// this response: a length-delimited body, not a stream, no type and no
// encoding given.
func Sniffs(h *RelayHead, acceptEventStream bool) bool {
	return !h.hasType && !h.encoded && h.Frame == FrameLength && h.Length > 0 &&
		BodyAllowed(h.Status) && !acceptEventStream
}
