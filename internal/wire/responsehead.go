package wire

import (
	"bufio"
	"net/http"
	"strings"
)

// ResponseHead is a response head read by PeekResponseHead: what a proxy
// needs to relay a plain, length-delimited response.
type ResponseHead struct {
	Status        int
	Reason        string // "200 OK" form, as http.Response.Status
	ContentLength int64
	Close         bool // Connection: close
	Size          int  // bytes of the head, final CRLF included
}

// PeekResponseHead parses the response head already buffered in br, for a
// client reading replies on a kept-alive connection, without consuming it.
// It fills hdr (which the caller cleared) with values that share one
// allocation. ok is false for anything outside the strict subset a lean
// client handles: a head not yet whole in the buffer, a status other than
// HTTP/1.1 2xx-5xx with a body, a body not delimited by one
// Content-Length, Transfer-Encoding, Trailer, or any unusual syntax. Then
// nothing was consumed and net/http's ReadResponse reads it as usual, so a
// response is never judged two ways.
func PeekResponseHead(br *bufio.Reader, hdr http.Header) (h ResponseHead, ok bool) {
	buf, _ := br.Peek(br.Buffered())
	end := HeadEnd(buf)
	if end <= 0 || end > MaxHeadBytes {
		return h, false
	}
	s := string(buf[:end]) // every string below is a slice of this one
	line, rest := CutLine(s)
	const proto = "HTTP/1.1 "
	if len(line) < len(proto)+3 || line[:len(proto)] != proto || len(line) > len(proto)+3 && line[len(proto)+3] != ' ' {
		return h, false
	}
	code := line[len(proto) : len(proto)+3]
	for i := 0; i < 3; i++ {
		if code[i] < '0' || code[i] > '9' {
			return h, false
		}
	}
	h.Status = int(code[0]-'0')*100 + int(code[1]-'0')*10 + int(code[2]-'0')
	if h.Status < 200 || h.Status > 599 || h.Status == http.StatusNoContent || h.Status == http.StatusNotModified {
		return h, false // no body by definition, or informational: net/http's rules
	}
	h.Reason = line[len(proto):]
	if !IsFieldValue(h.Reason) {
		return h, false
	}
	n := strings.Count(rest, "\n") - 1
	if n > MaxHeaders {
		return h, false
	}
	vals := make([]string, n)
	h.ContentLength = -1
	for i := 0; rest != "\r\n"; i++ {
		line, rest = CutLine(rest)
		k, v, ok := ParseField(line)
		if !ok {
			return h, false
		}
		switch k {
		case "Transfer-Encoding", "Trailer", "Pragma":
			return h, false // (Pragma: net/http may add Cache-Control)
		case "Content-Length":
			if h.ContentLength, ok = ParseLength(v, h.ContentLength); !ok {
				return h, false
			}
		case "Connection":
			if HasToken(v, "close") {
				h.Close = true
			}
		}
		AddField(hdr, vals, i, k, v)
	}
	if h.ContentLength < 0 {
		return h, false // delimited by the connection's end: net/http's job
	}
	if h.Close {
		delete(hdr, "Connection") // as net/http does once it has noted it
	}
	h.Size = end
	return h, true
}
