package wire

import (
	"fmt"
	"io"
	"net/http"
	"net/textproto"
	"os"
	"strings"
	"syscall"
	"testing"
)

func TestCutLine(t *testing.T) {
	for _, c := range []struct{ in, line, rest string }{
		{"GET / HTTP/1.1\r\nHost: a\r\n", "GET / HTTP/1.1", "Host: a\r\n"},
		{"HTTP/1.1 200 OK\nX: y\n", "HTTP/1.1 200 OK", "X: y\n"}, // a replica's bare LF
		{"\r\n", "", ""},
		{"no end", "no end", ""},
		{"", "", ""},
	} {
		if line, rest := CutLine(c.in); line != c.line || rest != c.rest {
			t.Errorf("CutLine(%q) = %q, %q; want %q, %q", c.in, line, rest, c.line, c.rest)
		}
	}
}

// The servers' test refuses obs-text (left to net/http); the clients'
// lets it through as net/http's client does. Both refuse control bytes.
func TestFieldValues(t *testing.T) {
	for _, c := range []struct {
		v                string
		strict, received bool
	}{
		{"text/plain; charset=utf-8", true, true},
		{"a\tb", true, true},
		{"caf\xc3\xa9", false, true},
		{"a\x7fb", false, false},
		{"a\rb", false, false},
		{"a\x00b", false, false},
	} {
		if IsFieldValue(c.v) != c.strict || IsReceivedFieldValue(c.v) != c.received {
			t.Errorf("%q: IsFieldValue %v, IsReceivedFieldValue %v; want %v, %v", c.v, IsFieldValue(c.v), IsReceivedFieldValue(c.v), c.strict, c.received)
		}
	}
}

func TestTokensAndCase(t *testing.T) {
	for _, k := range []string{"Content-Type", "X-Call-Id", "Www-Authenticate", "X", "A-B-C"} {
		if !IsToken(k) || !IsCanonical(k) || textproto.CanonicalMIMEHeaderKey(k) != k {
			t.Errorf("%q: token %v canonical %v", k, IsToken(k), IsCanonical(k))
		}
	}
	for _, k := range []string{"content-type", "X-CALL-ID", "x-call-id"} {
		if IsCanonical(k) {
			t.Errorf("%q is not canonical", k)
		}
	}
	for _, k := range []string{"", "a b", "a:b", "a\x80", "(x)"} {
		if IsToken(k) {
			t.Errorf("%q is not a token", k)
		}
	}
	if !EqualFold("Chunked", "cHUNKED") || EqualFold("chun\u212aed", "chunked") || EqualFold("a", "ab") {
		t.Error("EqualFold")
	}
	if !HasToken("keep-alive, Close", "close") || !HasToken(" upgrade ", "Upgrade") || HasToken("closed", "close") || HasToken("", "close") {
		t.Error("HasToken")
	}
	if TrimOWS(" \t v \t") != "v" || TrimOWS("a b") != "a b" {
		t.Error("TrimOWS")
	}
}

func TestBodyAllowed(t *testing.T) {
	for code, want := range map[int]bool{100: false, 101: false, 200: true, 204: false, 206: true, 304: false, 404: true, 500: true} {
		if BodyAllowed(code) != want {
			t.Errorf("BodyAllowed(%d) != %v", code, want)
		}
	}
}

// Every header net/http's own proxy drops as hop-by-hop is dropped here
// too (and Expect, which the receiving server answered).
func TestHopHeaders(t *testing.T) {
	for _, k := range []string{"Connection", "Proxy-Connection", "Keep-Alive", "Proxy-Authenticate",
		"Proxy-Authorization", "Te", "Trailer", "Transfer-Encoding", "Upgrade", "Expect"} {
		if !IsHopHeader(k) {
			t.Errorf("%s is hop-by-hop", k)
		}
	}
	for _, k := range []string{CallID, StartTime, ForwardedFor, ForwardedHost, "Content-Length", "Content-Type", "Authorization"} {
		if IsHopHeader(k) {
			t.Errorf("%s is end-to-end", k)
		}
	}
}

func TestAppendForwardedFor(t *testing.T) {
	for prior, want := range map[string]string{"": "", " \t": "", "10.0.0.1": "10.0.0.1, ", " 10.0.0.1, 10.0.0.2 ": "10.0.0.1, 10.0.0.2, "} {
		if got := string(AppendForwardedFor(nil, prior)); got != want {
			t.Errorf("AppendForwardedFor(%q) = %q, want %q", prior, got, want)
		}
	}
}

func TestDate(t *testing.T) {
	d := Date()
	if _, err := http.ParseTime(d); err != nil || !strings.HasSuffix(d, " GMT") {
		t.Fatalf("Date() = %q: %v", d, err)
	}
}

// Every field the caller sent counts, each trimmed; no peer keeps the
// list as it is.
func TestForwardedForValue(t *testing.T) {
	for _, c := range []struct {
		prior      []string
		peer, want string
	}{
		{nil, "1.1.1.1", "1.1.1.1"},
		{[]string{"10.0.0.1", " 10.0.0.2 ", " "}, "1.1.1.1", "10.0.0.1, 10.0.0.2, 1.1.1.1"},
		{[]string{"10.0.0.1, 1.1.1.1"}, "", "10.0.0.1, 1.1.1.1"},
		{nil, "", ""},
	} {
		if got := ForwardedForValue(c.prior, c.peer); got != c.want {
			t.Errorf("ForwardedForValue(%q, %q) = %q, want %q", c.prior, c.peer, got, c.want)
		}
	}
}

func TestForwardRequestField(t *testing.T) {
	for k, want := range map[string]bool{"Content-Type": true, CallID: true, "Authorization": true,
		"Host": false, "Content-Length": false, "Proxy-Authorization": false, "Expect": false, "Connection": false} {
		if ForwardRequestField(k) != want {
			t.Errorf("ForwardRequestField(%q) != %v", k, want)
		}
	}
}

func TestClosedBeforeAnswer(t *testing.T) {
	for err, want := range map[error]bool{
		io.EOF: true, fmt.Errorf("read: %w", syscall.ECONNRESET): true, syscall.EPIPE: true,
		io.ErrUnexpectedEOF:    false, // an answer broken off mid-head: the peer took the request
		os.ErrDeadlineExceeded: false,
	} {
		if ClosedBeforeAnswer(err) != want {
			t.Errorf("ClosedBeforeAnswer(%v) != %v", err, want)
		}
	}
}
