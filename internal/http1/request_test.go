package http1

import (
	"bufio"
	"bytes"
	"context"
	"io"
	"maps"
	"net/http"
	"slices"
	"strings"
	"testing"

	"github.com/ferryfaas/ferry/internal/wire"
)

// agree checks that whatever the lean parser accepts, net/http reads the
// same way: same method, target, URL, Host, headers and body length. A
// request the lean loop reads differently from net/http would let a
// caller smuggle one past the other.
func agree(t *testing.T, raw []byte) (accepted bool) {
	t.Helper()
	br := bufio.NewReaderSize(bytes.NewReader(raw), wire.MaxHeadBytes)
	h, err := peekHead(br, nil, nil)
	if err != nil {
		return false
	}
	mine, err := h.request(baseRequest(context.Background(), "1.2.3.4:5"), &bodyReader{br: br, n: max(h.ContentLength, 0)})
	if err != nil {
		return false
	}
	br.Discard(h.Size)
	std, err := http.ReadRequest(bufio.NewReader(bytes.NewReader(raw)))
	if err != nil {
		t.Fatalf("lean loop accepted what net/http rejects (%v):\n%q", err, raw)
	}
	if std.Close != mine.Close || len(std.TransferEncoding) > 0 {
		t.Fatalf("lean loop accepted a request net/http frames differently:\n%q", raw)
	}
	for _, c := range []struct{ what, a, b string }{
		{"method", mine.Method, std.Method},
		{"request URI", mine.RequestURI, std.RequestURI},
		{"path", mine.URL.Path, std.URL.Path},
		{"raw path", mine.URL.RawPath, std.URL.RawPath},
		{"query", mine.URL.RawQuery, std.URL.RawQuery},
		{"host", mine.Host, std.Host},
		{"proto", mine.Proto, std.Proto},
	} {
		if c.a != c.b {
			t.Fatalf("%s: lean %q, net/http %q for\n%q", c.what, c.a, c.b, raw)
		}
	}
	if !maps.EqualFunc(mine.Header, std.Header, slices.Equal) {
		t.Fatalf("headers differ for %q:\nlean     %v\nnet/http %v", raw, mine.Header, std.Header)
	}
	if mine.ContentLength != std.ContentLength {
		t.Fatalf("content length: lean %d, net/http %d for %q", mine.ContentLength, std.ContentLength, raw)
	}
	a, _ := io.ReadAll(mine.Body)
	b, _ := io.ReadAll(std.Body)
	if !bytes.Equal(a, b) {
		t.Fatalf("body: lean %q, net/http %q", a, b)
	}
	return true
}

func TestParseAgreesWithNetHTTP(t *testing.T) {
	accept := []string{
		"GET / HTTP/1.1\r\nHost: x\r\n\r\n",
		"POST /function/echo?a=1&b=%20 HTTP/1.1\r\nHost: 127.0.0.1:8080\r\nContent-Length: 5\r\nContent-Type: text/plain\r\n\r\nhello",
		"POST /function/echo.ns/a%2Fb/c HTTP/1.1\r\nHost: h\r\ncontent-length: 0\r\nx-call-id:  abc \r\nX-Multi: 1\r\nX-Multi: 2\r\n\r\n",
		"PUT /function/f HTTP/1.1\r\nHost: [::1]:80\r\nConnection: keep-alive\r\nContent-Length: 3\r\n\r\nabcEXTRA",
	}
	for _, raw := range accept {
		if !agree(t, []byte(raw)) {
			t.Errorf("lean loop did not take a plain request:\n%q", raw)
		}
	}
	fallback := []string{
		"GET / HTTP/1.0\r\nHost: x\r\n\r\n",                                             // 1.0 keep-alive rules
		"POST / HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n",     // chunked
		"POST / HTTP/1.1\r\nHost: x\r\nContent-Length: 1\r\nContent-Length: 1\r\n\r\na", // duplicate length
		"POST / HTTP/1.1\r\nHost: x\r\nContent-Length: +1\r\n\r\na",
		"POST / HTTP/1.1\r\nHost: x\r\nExpect: 100-continue\r\nContent-Length: 1\r\n\r\na",
		"GET / HTTP/1.1\r\nHost: x\r\nConnection: Upgrade\r\nUpgrade: websocket\r\n\r\n",
		"GET / HTTP/1.1\r\nHost: x\r\n folded\r\n\r\n",        // obs-fold
		"GET / HTTP/1.1\nHost: x\n\n",                         // bare LF
		"GET / HTTP/1.1\r\n\r\n",                              // no Host
		"GET / HTTP/1.1\r\nHost: a\r\nHost: b\r\n\r\n",        // two Hosts
		"GET / HTTP/1.1\r\nHost: x\r\nBad Header: v\r\n\r\n",  // space in name
		"GET / HTTP/1.1\r\nHost: x\r\nX: a\x00b\r\n\r\n",      // NUL in value
		"GET / HTTP/1.1\r\nHost: x\r\nX: caf\xc3\xa9\r\n\r\n", // obs-text
		"GET //evil/x HTTP/1.1\r\nHost: x\r\n\r\n",            // authority-looking path
		"GET http://x/ HTTP/1.1\r\nHost: x\r\n\r\n",           // absolute form
		"GET /a#frag HTTP/1.1\r\nHost: x\r\n\r\n",
		"GET  / HTTP/1.1\r\nHost: x\r\n\r\n", // two spaces
		"GET / HTTP/1.1\r\nHost: x\r\nPragma: no-cache\r\n\r\n",
		"G@T / HTTP/1.1\r\nHost: x\r\n\r\n",
	}
	for _, raw := range fallback {
		if agree(t, []byte(raw)) {
			t.Errorf("lean loop took a request it should leave to net/http:\n%q", raw)
		}
	}
}

func TestLargeHeadFallsBack(t *testing.T) {
	raw := "GET / HTTP/1.1\r\nHost: x\r\nX-Big: " + strings.Repeat("a", wire.MaxHeadBytes) + "\r\n\r\n"
	br := bufio.NewReaderSize(strings.NewReader(raw), wire.MaxHeadBytes)
	if _, err := peekHead(br, nil, nil); err != errFallback {
		t.Fatalf("a head over %d bytes: %v, want fallback", wire.MaxHeadBytes, err)
	}
	if br.Buffered() != wire.MaxHeadBytes {
		t.Fatalf("the fallback must consume nothing: %d buffered", br.Buffered())
	}
}

func FuzzParseAgreesWithNetHTTP(f *testing.F) {
	f.Add([]byte("POST /function/echo?a=1 HTTP/1.1\r\nHost: h:1\r\nContent-Length: 2\r\nX-A: b\r\n\r\nhi"))
	f.Add([]byte("GET /%41%2f?x HTTP/1.1\r\nHost: h\r\nconnection: close\r\n\r\n"))
	f.Add([]byte("GET / HTTP/1.1\r\nHost: x\r\nCookie: a=b; c=d\r\nAccept: */*\r\n\r\n"))
	f.Fuzz(func(t *testing.T, raw []byte) { agree(t, raw) })
}
