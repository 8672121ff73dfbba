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
	line, rest := cutLine(s)
	sp1 := indexByte(line, ' ')
	if sp1 <= 0 || !isToken(line[:sp1]) {
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
		line, rest = cutLine(rest)
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
			if hasToken(v, "close") {
				h.Close = true
			}
			if hasToken(v, "upgrade") {
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
	if colon <= 0 || !isToken(line[:colon]) {
		return "", "", false
	}
	v = trimOWS(line[colon+1:])
	if !isValue(v) {
		return "", "", false
	}
	k = line[:colon]
	if !isCanonical(k) {
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

func cutLine(s string) (line, rest string) {
	i := indexByte(s, '\n')
	return s[:i-1], s[i+1:]
}

func indexByte(s string, c byte) int {
	for i := 0; i < len(s); i++ {
		if s[i] == c {
			return i
		}
	}
	return -1
}

func trimOWS(s string) string {
	for len(s) > 0 && (s[0] == ' ' || s[0] == '\t') {
		s = s[1:]
	}
	for len(s) > 0 && (s[len(s)-1] == ' ' || s[len(s)-1] == '\t') {
		s = s[:len(s)-1]
	}
	return s
}

// tokenChars marks RFC 9110 tchar.
var tokenChars = func() (t [256]bool) {
	for c := '0'; c <= '9'; c++ {
		t[c] = true
	}
	for c := 'a'; c <= 'z'; c++ {
		t[c], t[c-'a'+'A'] = true, true
	}
	for _, c := range "!#$%&'*+-.^_`|~" {
		t[c] = true
	}
	return t
}()

func isToken(s string) bool {
	if s == "" {
		return false
	}
	for i := 0; i < len(s); i++ {
		if !tokenChars[s[i]] {
			return false
		}
	}
	return true
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
		if !(tokenChars[c] && c != '`' && c != '^' && c != '|' && c != '#' || c == ':' || c == '[' || c == ']' || c == '(' || c == ')' || c == ',' || c == ';' || c == '=') {
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

// isValue: field-vchar, SP and HTAB (obs-text is left to net/http).
func isValue(s string) bool {
	for i := 0; i < len(s); i++ {
		if c := s[i]; (c < ' ' && c != '\t') || c >= 0x7f {
			return false
		}
	}
	return true
}

// isCanonical: the form CanonicalMIMEHeaderKey returns (first letter and
// letters after '-' upper case, others lower case).
func isCanonical(k string) bool {
	upper := true
	for i := 0; i < len(k); i++ {
		c := k[i]
		if upper && 'a' <= c && c <= 'z' || !upper && 'A' <= c && c <= 'Z' {
			return false
		}
		upper = c == '-'
	}
	return true
}

// hasToken reports whether the comma-separated list v holds tok (case
// insensitive).
func hasToken(v, tok string) bool {
	for v != "" {
		var item string
		if i := indexByte(v, ','); i >= 0 {
			item, v = v[:i], v[i+1:]
		} else {
			item, v = v, ""
		}
		if equalFold(trimOWS(item), tok) {
			return true
		}
	}
	return false
}

func equalFold(a, b string) bool {
	if len(a) != len(b) {
		return false
	}
	for i := 0; i < len(a); i++ {
		x, y := a[i], b[i]
		if 'A' <= x && x <= 'Z' {
			x += 'a' - 'A'
		}
		if 'A' <= y && y <= 'Z' {
			y += 'a' - 'A'
		}
		if x != y {
			return false
		}
	}
	return true
}

// HasToken reports whether the comma-separated list v holds tok (case
// insensitive), as in a Connection header.
func HasToken(v, tok string) bool { return hasToken(v, tok) }

// TrimOWS trims the optional white space (SP, HTAB) around a field value.
func TrimOWS(s string) string { return trimOWS(s) }

// PlainPath reports whether a request path is one net/url keeps as it is
// (no escapes, no characters it would escape): its raw and decoded forms
// are the same.
func PlainPath(p string) bool { return plainPath(p) }

// IsToken reports whether s is an RFC 9110 token (a valid header name).
func IsToken(s string) bool { return isToken(s) }

// IsCanonical reports whether k is in the form CanonicalMIMEHeaderKey
// returns.
func IsCanonical(k string) bool { return isCanonical(k) }

// EqualFold compares two strings ASCII case-insensitively (no Unicode
// folding: "chun\u212aed" is not "chunked").
func EqualFold(a, b string) bool { return equalFold(a, b) }

// IsHopHeader reports a connection-level header a proxy must not forward
// (RFC 9110 7.6.1), plus Expect, which the server already answered. The
// gateway's goroutine path and its event loops share this list.
func IsHopHeader(k string) bool {
	switch k {
	case "Connection", "Proxy-Connection", "Keep-Alive", "Proxy-Authenticate",
		"Proxy-Authorization", "Te", "Trailer", "Transfer-Encoding", "Upgrade", "Expect":
		return true
	}
	return false
}
