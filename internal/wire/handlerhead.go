package wire

import (
	"net/http"
	"strconv"
	"strings"
)

// The head of a handler's response, as a server sends it: the lean
// front's (internal/http1) and the event loop's own error answers. Both
// write what net/http's server would for the same status and header.

// HandlerBuffer is how much body net/http's server holds before it
// commits a head without a Content-Length (then chunked): a smaller
// body of a handler that returned gets an exact Content-Length.
const HandlerBuffer = 2048

// Framing is how a response's body is delimited, and whether the
// connection closes after it.
type Framing struct {
	// Length, when not negative, is stated as Content-Length (the header
	// then holds none); -1: the header's own, if any.
	Length  int64
	Chunked bool
	Close   bool
}

// HandlerFraming chooses the framing of a handler's answer as net/http's
// server does, editing h to match: none for a status without a body,
// whose Content-Length and Transfer-Encoding (and a 304's Content-Type)
// are dropped; the handler's Content-Length when it is one number (an
// invalid one is dropped); the exact length of a body held whole
// (final: the handler returned, held bytes of it, no declared trailers),
// set in h unless a HEAD request's body is empty; chunked otherwise, but
// not for HEAD. It returns the body's length, -1 if not known.
func HandlerFraming(h http.Header, code int, held int, final, head bool) (length int64, chunked bool) {
	if !BodyAllowed(code) {
		delete(h, "Content-Length")
		delete(h, "Transfer-Encoding")
		if code == http.StatusNotModified {
			delete(h, "Content-Type")
		}
		return -1, false
	}
	length = -1
	if v := h["Content-Length"]; len(v) == 1 {
		if n, err := strconv.ParseInt(v[0], 10, 64); err == nil && n >= 0 {
			length = n
		} else {
			delete(h, "Content-Length")
		}
	}
	_, trailers := h["Trailer"]
	switch {
	case length >= 0:
	case final && !trailers:
		length = int64(held)
		if !head || length > 0 {
			var num [20]byte
			h["Content-Length"] = []string{string(strconv.AppendInt(num[:0], length, 10))}
		}
	default:
		chunked = !head
	}
	return length, chunked
}

// SniffContentType sets the Content-Type net/http's server sniffs from a
// handler's first body bytes p when it set none, nor a Transfer-Encoding
// or a Content-Encoding that is not blank.
func SniffContentType(h http.Header, code int, p []byte) {
	if _, ok := h["Content-Type"]; ok || !BodyAllowed(code) || len(p) == 0 {
		return
	}
	if ce, te := h["Content-Encoding"], h["Transfer-Encoding"]; len(ce) > 0 && ce[0] != "" || len(te) > 0 && te[0] != "" {
		return
	}
	h["Content-Type"] = []string{http.DetectContentType(p)}
}

// AppendHandlerResponseHead appends the head of a handler's answer: the
// status line; h's fields but Transfer-Encoding, Connection, those set
// as trailers (http.TrailerPrefix) and names that are not tokens (one
// could split the head), CR and LF in values turned into spaces, as
// net/http does; Date unless h has one; then f's Content-Length,
// Transfer-Encoding: chunked and Connection: close, and the empty line.
func AppendHandlerResponseHead(dst []byte, code int, h http.Header, f Framing) []byte {
	dst = AppendStatusLine(dst, code)
	for k, vv := range h {
		if k == "Transfer-Encoding" || k == "Connection" || strings.HasPrefix(k, http.TrailerPrefix) || !IsToken(k) {
			continue
		}
		for _, v := range vv {
			dst = AppendHandlerField(dst, k, v)
		}
	}
	if _, ok := h["Date"]; !ok {
		dst = AppendField(dst, "Date", Date())
	}
	if f.Length >= 0 {
		dst = AppendContentLength(dst, f.Length)
	}
	if f.Chunked {
		dst = append(dst, "Transfer-Encoding: chunked\r\n"...)
	}
	if f.Close {
		dst = append(dst, "Connection: close\r\n"...)
	}
	return append(dst, "\r\n"...)
}

// AppendHandlerField appends one field a handler set (a head's or a
// trailer's), CR and LF in v turned into spaces.
func AppendHandlerField(dst []byte, k, v string) []byte {
	dst = append(dst, k...)
	dst = append(dst, ": "...)
	for {
		i := strings.IndexAny(v, "\r\n")
		if i < 0 {
			break
		}
		dst = append(dst, v[:i]...)
		dst = append(dst, ' ')
		v = v[i+1:]
	}
	dst = append(dst, v...)
	return append(dst, "\r\n"...)
}
