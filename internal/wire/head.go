package wire

import (
	"bytes"
	"net/http"
	"net/textproto"
	"strconv"
)

// Limits of the hand-written readers; a head beyond them is left to
// net/http, which applies its own.
const (
	// MaxHeadBytes is the largest head the fronts take: the whole head
	// must fit one read buffer.
	MaxHeadBytes = 4 << 10
	// MaxHeaders is the most header lines a head may have.
	MaxHeaders = 64
)

// HeadEnd returns the length of the head ending in CRLF CRLF, 0 if more
// bytes are needed, -1 for a bare LF (net/http accepts it; we do not).
func HeadEnd(b []byte) int {
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
// (HeadEnd); field is called with each header but Host, its name
// canonical. Both fronts (internal/http1 and internal/eventloop) scan with
// it, so that a request the event loop hands back is one http1 takes.
func ScanHead(s string, fast func(string) bool, field func(i int, k, v string)) (Head, bool) {
	line, rest := CutLine(s)
	sp1 := indexByte(line, ' ')
	if sp1 <= 0 || !IsToken(line[:sp1]) {
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
		if i >= MaxHeaders {
			return Head{}, false
		}
		line, rest = CutLine(rest)
		k, v, fok := ParseField(line)
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
			if h.ContentLength, ok = ParseLength(v, h.ContentLength); !ok {
				return Head{}, false
			}
		case "Connection":
			if HasToken(v, "close") {
				h.Close = true
			}
			if HasToken(v, "upgrade") {
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

// ParseField splits a header line into its canonical name and trimmed
// value; false for anything but a token name and a value of visible
// characters, SP and HTAB (also obs-fold: a line starting with SP).
func ParseField(line string) (k, v string, ok bool) {
	colon := indexByte(line, ':')
	if colon <= 0 || !IsToken(line[:colon]) {
		return "", "", false
	}
	v = TrimOWS(line[colon+1:])
	if !IsFieldValue(v) {
		return "", "", false
	}
	k = line[:colon]
	if !IsCanonical(k) {
		k = textproto.CanonicalMIMEHeaderKey(k)
	}
	return k, v, true
}

// ParseLength reads a Content-Length of plain digits; false when one was
// already seen (have >= 0) or v is not one.
func ParseLength(v string, have int64) (int64, bool) {
	cl, err := strconv.ParseInt(v, 10, 64)
	if have >= 0 || err != nil || v[0] < '0' || v[0] > '9' { // (no sign: "-0" parses)
		return have, false
	}
	return cl, true
}

// AddField appends v to hdr[k]; a first value is a slice of vals (one
// allocation for all the head's values).
func AddField(hdr http.Header, vals []string, i int, k, v string) {
	vals[i] = v
	if old, ok := hdr[k]; ok {
		hdr[k] = append(old, v)
	} else {
		hdr[k] = vals[i : i+1 : i+1]
	}
}

// indexByte is a loop the compiler inlines: the heads' lines are short.
func indexByte(s string, c byte) int {
	for i := 0; i < len(s); i++ {
		if s[i] == c {
			return i
		}
	}
	return -1
}

// PlainPath reports whether a request path is one net/url keeps as it is
// (no escapes, no characters it would escape): its raw and decoded forms
// are the same.
func PlainPath(p string) bool {
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
		if !(TokenChars[c] && c != '`' && c != '^' && c != '|' && c != '#' || c == ':' || c == '[' || c == ']' || c == '(' || c == ')' || c == ',' || c == ';' || c == '=') {
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
