package http1

import (
	"bufio"
	"net/http"
	"strconv"
	"strings"
	"sync/atomic"

	"github.com/ferryfaas/ferry/internal/wire"
)

// chunkAfter is how much body is held before the response is committed
// without a Content-Length (then chunked), as net/http does: a small
// answer gets an exact Content-Length.
const chunkAfter = wire.HandlerBuffer

// response is the http.ResponseWriter of the lean loop. The head is
// written when the handler first flushes, writes past chunkAfter, or
// returns.
type response struct {
	bw       *bufio.Writer
	head     bool        // HEAD request: no body is sent
	header   http.Header // the handler's, live
	snap     http.Header // the header as it was at WriteHeader, if copied
	code     int
	trailers []string // the declared Trailer header
	held     []byte   // body bytes not yet committed
	commit   bool     // the head was written
	chunked  bool
	length   int64 // declared Content-Length, -1 if none
	written  int64
	close    bool // the connection closes after this response
	failed   bool // a write to the connection failed
	// draining, when true as the head is written, closes the connection
	// after this response (Server.Drain).
	draining *atomic.Bool
}

var (
	_ http.ResponseWriter = (*response)(nil)
	_ http.Flusher        = (*response)(nil)
)

func (w *response) Header() http.Header { return w.header }

func (w *response) WriteHeader(code int) {
	if w.code != 0 || w.commit {
		return
	}
	if code < 100 || code > 999 {
		panic("http1: invalid WriteHeader code " + strconv.Itoa(code))
	}
	if code < 200 {
		return // informational answers are not relayed by the lean loop
	}
	w.code = code
	h := w.header
	_, typed := h["Content-Type"]
	if len(h["Content-Length"]) == 1 && typed || !wire.BodyAllowed(code) {
		// The framing is known: write the head now (buffered), which also
		// fixes the header as net/http's snapshot would. A gateway relay
		// of an upstream answer takes this path.
		w.writeHead(false, nil)
		return
	}
	// Later changes to the header must not reach the head (only declared
	// trailers do), as with net/http.
	w.snap = h.Clone()
}

func (w *response) Write(p []byte) (int, error) {
	if w.code == 0 {
		w.WriteHeader(http.StatusOK)
	}
	if !wire.BodyAllowed(w.code) {
		return 0, http.ErrBodyNotAllowed
	}
	if !w.commit {
		if len(w.held)+len(p) <= chunkAfter {
			w.held = append(w.held, p...)
			return len(p), nil
		}
		w.writeHead(false, p)
	}
	return w.writeBody(p)
}

// Flush commits the head and sends what is buffered.
func (w *response) Flush() {
	if w.code == 0 {
		w.WriteHeader(http.StatusOK)
	}
	if !w.commit {
		w.writeHead(false, nil)
	}
	if err := w.bw.Flush(); err != nil {
		w.failed = true
	}
}

// finish completes the response after the handler returned.
func (w *response) finish() {
	if w.code == 0 {
		w.WriteHeader(http.StatusOK)
	}
	if !w.commit {
		w.writeHead(true, nil)
	}
	if w.chunked {
		w.bw.WriteString(wire.LastChunk)
		w.writeTrailers()
		w.bw.WriteString("\r\n")
	}
	if w.length >= 0 && w.written != w.length && !w.head {
		w.close = true // short body: the client must not read the next answer into it
	}
	if err := w.bw.Flush(); err != nil {
		w.failed = true
	}
}

func (w *response) writeBody(p []byte) (int, error) {
	if w.length >= 0 && w.written+int64(len(p)) > w.length {
		return 0, http.ErrContentLength
	}
	w.written += int64(len(p))
	if w.head {
		return len(p), nil
	}
	if w.chunked {
		return w.result(wire.WriteChunk(w.bw, p))
	}
	n, err := w.bw.Write(p)
	return w.result(n, err)
}

func (w *response) result(n int, err error) (int, error) {
	if err != nil {
		w.failed = true
	}
	return n, err
}

// writeHead writes the status line and headers, choosing the framing:
// the handler's Content-Length, an exact one when the handler returned
// with the whole body held (final), chunked otherwise. first is the first
// body bytes when none are held (for Content-Type sniffing).
func (w *response) writeHead(final bool, first []byte) {
	w.commit = true
	h := w.header
	if w.snap != nil {
		h = w.snap
	}
	if len(w.held) > 0 {
		first = w.held
	}
	wire.SniffContentType(h, w.code, first)
	w.length, w.chunked = wire.HandlerFraming(h, w.code, len(w.held), final, w.head)
	if wire.ListsToken(h["Connection"], "close") {
		w.close = true
	}
	if w.draining != nil && w.draining.Load() {
		w.close = true
	}
	w.bw.Write(wire.AppendHandlerResponseHead(w.bw.AvailableBuffer(), w.code, h, wire.Framing{Length: -1, Chunked: w.chunked, Close: w.close}))
	w.trailers = h["Trailer"]
	if len(w.held) > 0 {
		held := w.held
		w.held = nil
		w.writeBody(held)
	}
}

// writeTrailers writes the declared trailers and those set through
// http.TrailerPrefix, with their values at the end of the handler.
func (w *response) writeTrailers() {
	for _, list := range w.trailers {
		for k := range wire.Items(list) {
			if k = http.CanonicalHeaderKey(k); !wire.IsToken(k) {
				continue
			}
			for _, v := range w.header[k] {
				w.bw.Write(wire.AppendHandlerField(w.bw.AvailableBuffer(), k, v))
			}
		}
	}
	for k, vv := range w.header {
		if !strings.HasPrefix(k, http.TrailerPrefix) || !wire.IsToken(k[len(http.TrailerPrefix):]) {
			continue
		}
		for _, v := range vv {
			w.bw.Write(wire.AppendHandlerField(w.bw.AvailableBuffer(), k[len(http.TrailerPrefix):], v))
		}
	}
}
