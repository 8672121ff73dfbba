package http1

import (
	"bufio"
	"bytes"
	"context"
	"errors"
	"net/http"
	"net/textproto"
	"net/url"
	"strconv"
	"strings"

	"github.com/ferryfaas/ferry/internal/wire"
)

// Limits of the lean loop; a request beyond them goes to net/http, which
// applies its own.
const (
	// MaxHeadBytes is the largest head the loop takes: the whole head must
	// fit one read buffer.
	MaxHeadBytes   = 4 << 10
	maxHeaderBytes = MaxHeadBytes
	maxHeaders     = 64
)

// errFallback: the request is not one the lean loop takes (nothing was
// consumed); net/http serves the connection from here on.
var errFallback = errors.New("http1: request left to net/http")

// head is a parsed request head; its strings share one allocation.
type head struct {
	Head
	header http.Header
}

// peekHead waits until br holds a whole request head and parses it without
// consuming anything. It returns errFallback for anything outside the
// strict subset below, and the read error if the connection failed. wait,
// if not nil, is called once before it first has to wait for more bytes
// (a head that came whole, the usual case, does not wait).
func peekHead(br *bufio.Reader, fast func(string) bool, wait func()) (*head, error) {
	for {
		buf, _ := br.Peek(br.Buffered())
		if end := headEnd(buf); end > 0 {
			return parseHead(buf[:end], fast)
		} else if end < 0 {
			return nil, errFallback
		}
		if br.Buffered() >= maxHeaderBytes || br.Buffered() == br.Size() {
			return nil, errFallback
		}
		if wait != nil {
			wait()
			wait = nil
		}
		if _, err := br.Peek(br.Buffered() + 1); err != nil {
			if br.Buffered() > 0 && !isTimeout(err) {
				return nil, errFallback // let net/http answer a cut head
			}
			return nil, err
		}
	}
}

// headEnd returns the length of the head ending in CRLF CRLF, 0 if more
// bytes are needed, -1 for a bare LF (net/http accepts it; we do not).
func headEnd(b []byte) int {
	for i := 0; i < len(b); {
		j := bytes.IndexByte(b[i:], '\n')
		if j < 0 {
			return 0
		}
		j += i
		if j == 0 || b[j-1] != '\r' {
			return -1
		}
		if j-i == 1 { // empty line: "\r\n"
			return j + 1
		}
		i = j + 1
	}
	return 0
}

// Head is a request head scanned in place: its strings are views of the
// scanned text.
type Head struct {
	Method, Target, Path, Host string
	ContentLength              int64 // -1: none
	Close                      bool
	Size                       int // bytes of the head, final CRLF included
}

// ScanHead accepts only: METHOD SP origin-form SP HTTP/1.1, one Host,
// token header names, values of visible characters, SP and HTAB, at most
// one Content-Length of digits, and no Transfer-Encoding, Expect, Upgrade
// or Pragma. Everything else is net/http's to judge. s is a whole head
// (headEnd); field is called with each header but Host, its name
// canonical. The event loop (package eventloop) scans with it too, so that a
// request it hands back is one this loop takes.
func ScanHead(s string, fast func(string) bool, field func(i int, k, v string)) (Head, bool) {
	line, rest := wire.CutLine(s)
	sp1 := indexByte(line, ' ')
	if sp1 <= 0 || !wire.IsToken(line[:sp1]) {
		return Head{}, false
	}
	h := Head{Method: line[:sp1], Size: len(s), ContentLength: -1}
	line = line[sp1+1:]
	sp2 := indexByte(line, ' ')
	if sp2 <= 0 || line[sp2+1:] != "HTTP/1.1" {
		return Head{}, false
	}
	h.Target = line[:sp2]
	if h.Target[0] != '/' || len(h.Target) > 1 && h.Target[1] == '/' || !isTarget(h.Target) {
		return Head{}, false
	}
	h.Path = h.Target
	if q := indexByte(h.Target, '?'); q >= 0 {
		h.Path = h.Target[:q]
	}
	if fast != nil && !fast(h.Path) {
		return Head{}, false
	}
	var ok bool
	for i := 0; rest != "\r\n"; i++ {
		if i >= maxHeaders {
			return Head{}, false
		}
		line, rest = wire.CutLine(rest)
		k, v, fok := parseField(line)
		if !fok {
			return Head{}, false
		}
		switch k {
		case "Transfer-Encoding", "Expect", "Upgrade", "Pragma":
			return Head{}, false // (Pragma: net/http may add Cache-Control)
		case "Host":
			if h.Host != "" || !isHost(v) {
				return Head{}, false
			}
			h.Host = v
			continue // net/http moves it to Request.Host
		case "Content-Length":
			if h.ContentLength, ok = parseLength(v, h.ContentLength); !ok {
				return Head{}, false
			}
		case "Connection":
			if wire.HasToken(v, "close") {
				h.Close = true
			}
			if wire.HasToken(v, "upgrade") {
				return Head{}, false
			}
		}
		field(i, k, v)
	}
	if h.Host == "" {
		return Head{}, false
	}
	return h, true
}

// parseHead is ScanHead building the request's header map.
func parseHead(b []byte, fast func(string) bool) (*head, error) {
	s := string(b) // every string below is a slice of this one
	n := strings.Count(s, "\n") - 2
	if n > maxHeaders {
		return nil, errFallback
	}
	hdr := make(http.Header, n+4) // room for a proxy's X-Forwarded-* and call headers
	vals := make([]string, max(n, 0))
	h, ok := ScanHead(s, fast, func(i int, k, v string) { addField(hdr, vals, i, k, v) })
	if !ok {
		return nil, errFallback
	}
	return &head{Head: h, header: hdr}, nil
}

// parseField splits a header line into its canonical name and trimmed
// value; false for anything but a token name and a value of visible
// characters, SP and HTAB (also obs-fold: a line starting with SP).
func parseField(line string) (k, v string, ok bool) {
	colon := indexByte(line, ':')
	if colon <= 0 || !wire.IsToken(line[:colon]) {
		return "", "", false
	}
	v = wire.TrimOWS(line[colon+1:])
	if !wire.IsFieldValue(v) {
		return "", "", false
	}
	k = line[:colon]
	if !wire.IsCanonical(k) {
		k = textproto.CanonicalMIMEHeaderKey(k)
	}
	return k, v, true
}

// parseLength reads a Content-Length of plain digits; false when one was
// already seen (have >= 0) or v is not one.
func parseLength(v string, have int64) (int64, bool) {
	cl, err := strconv.ParseInt(v, 10, 64)
	if have >= 0 || err != nil || v[0] < '0' || v[0] > '9' { // (no sign: "-0" parses)
		return have, false
	}
	return cl, true
}

// addField appends v to hdr[k]; a first value is a slice of vals (one
// allocation for all the head's values).
func addField(hdr http.Header, vals []string, i int, k, v string) {
	vals[i] = v
	if old, ok := hdr[k]; ok {
		hdr[k] = append(old, v)
	} else {
		hdr[k] = vals[i : i+1 : i+1]
	}
}

// request builds the *http.Request net/http would have built for h, as a
// copy of base (the connection's: its context, remote address and
// protocol), which costs one allocation where WithContext would add one.
func (h *head) request(base *http.Request, body *bodyReader) (*http.Request, error) {
	var u *url.URL
	if plainPath(h.Path) {
		u = &url.URL{Path: h.Path}
		if len(h.Path) < len(h.Target) {
			u.RawQuery = h.Target[len(h.Path)+1:]
		}
	} else {
		var err error
		if u, err = url.ParseRequestURI(h.Target); err != nil {
			return nil, errFallback
		}
	}
	r := new(http.Request)
	*r = *base
	r.Method, r.URL, r.Header, r.Host, r.RequestURI, r.Close = h.Method, u, h.header, h.Host, h.Target, h.Close
	r.Body = http.NoBody
	if h.ContentLength > 0 {
		r.ContentLength, r.Body = h.ContentLength, body
	}
	return r, nil
}

// baseRequest is what every request of a connection shares.
func baseRequest(ctx context.Context, remote string) *http.Request {
	return (&http.Request{Proto: "HTTP/1.1", ProtoMajor: 1, ProtoMinor: 1, RemoteAddr: remote}).WithContext(ctx)
}

func indexByte(s string, c byte) int {
	for i := 0; i < len(s); i++ {
		if s[i] == c {
			return i
		}
	}
	return -1
}

// plainPath: a path net/url would keep as it is (no RawPath), so it needs
// no parsing.
func plainPath(p string) bool {
	for i := 0; i < len(p); i++ {
		c := p[i]
		if !('a' <= c && c <= 'z' || 'A' <= c && c <= 'Z' || '0' <= c && c <= '9' || indexByte("-_.~$&+,/:;=@", c) >= 0) {
			return false
		}
	}
	return true
}

// isHost: a host[:port] of the characters a URL authority may hold.
func isHost(s string) bool {
	if s == "" {
		return false
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		if !(wire.TokenChars[c] && c != '`' && c != '^' && c != '|' && c != '#' || c == ':' || c == '[' || c == ']' || c == '(' || c == ')' || c == ',' || c == ';' || c == '=') {
			return false
		}
	}
	return true
}

// isTarget: visible ASCII only, no fragment.
func isTarget(s string) bool {
	for i := 0; i < len(s); i++ {
		if c := s[i]; c <= ' ' || c >= 0x7f || c == '#' {
			return false
		}
	}
	return true
}

// PlainPath reports whether a request path is one net/url keeps as it is
// (no escapes, no characters it would escape): its raw and decoded forms
// are the same.
func PlainPath(p string) bool { return plainPath(p) }
