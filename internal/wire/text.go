package wire

import (
	"net/http"
	"sync/atomic"
	"time"
)

// CutLine splits s at its first LF; a CR before it is dropped. Without an
// LF, s is the whole line.
func CutLine(s string) (line, rest string) {
	i := indexByte(s, '\n')
	if i < 0 {
		return s, ""
	}
	if i > 0 && s[i-1] == '\r' {
		return s[:i-1], s[i+1:]
	}
	return s[:i], s[i+1:]
}

// TrimOWS trims the optional white space (SP, HTAB) around a field value.
func TrimOWS(s string) string {
	for len(s) > 0 && (s[0] == ' ' || s[0] == '\t') {
		s = s[1:]
	}
	for len(s) > 0 && (s[len(s)-1] == ' ' || s[len(s)-1] == '\t') {
		s = s[:len(s)-1]
	}
	return s
}

// TokenChars marks RFC 9110 tchar.
var TokenChars = func() (t [256]bool) {
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

// IsToken reports an RFC 9110 token (a method, a header name).
func IsToken(s string) bool {
	if s == "" {
		return false
	}
	for i := 0; i < len(s); i++ {
		if !TokenChars[s[i]] {
			return false
		}
	}
	return true
}

// IsFieldValue is the servers' strict test of a field value: visible
// ASCII, SP and HTAB. obs-text (bytes from 0x80) is left to net/http.
func IsFieldValue(s string) bool {
	for i := 0; i < len(s); i++ {
		if c := s[i]; (c < ' ' && c != '\t') || c >= 0x7f {
			return false
		}
	}
	return true
}

// IsReceivedFieldValue is the clients' test of a field value in a
// replica's answer: no control character but HTAB. obs-text passes, as
// net/http's client lets it.
func IsReceivedFieldValue(s string) bool {
	for i := 0; i < len(s); i++ {
		if c := s[i]; c < ' ' && c != '\t' || c == 0x7f {
			return false
		}
	}
	return true
}

// IsCanonical reports whether k is in the form CanonicalMIMEHeaderKey
// returns (first letter and letters after '-' upper case, others lower
// case).
func IsCanonical(k string) bool {
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

// EqualFold compares two strings ASCII case-insensitively (no Unicode
// folding: "chun\u212aed" is not "chunked").
func EqualFold(a, b string) bool {
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

// BodyAllowed reports whether a response with this status may have a body
// (RFC 9110: not 1xx, 204 or 304).
func BodyAllowed(code int) bool {
	return code >= 200 && code != http.StatusNoContent && code != http.StatusNotModified
}

// dateCache is the Date header value of the current second.
var dateCache atomic.Pointer[struct {
	sec int64
	s   string
}]

// Date is the Date header value now, formatted once per second.
func Date() string {
	now := time.Now()
	if d := dateCache.Load(); d != nil && d.sec == now.Unix() {
		return d.s
	}
	d := &struct {
		sec int64
		s   string
	}{now.Unix(), now.UTC().Format(http.TimeFormat)}
	dateCache.Store(d)
	return d.s
}
