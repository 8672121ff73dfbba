package wire

import (
	"bufio"
	"bytes"
	"io"
	"maps"
	"net/http"
	"slices"
	"testing"
)

// agreeResponse checks that whatever PeekResponseHead accepts, net/http's
// ReadResponse reads the same way: status, headers, framing and body. A
// proxy that framed a reply differently from net/http could be made to
// hand one function's bytes to the next caller on the connection.
func agreeResponse(t *testing.T, raw []byte) (accepted bool) {
	t.Helper()
	br := bufio.NewReaderSize(bytes.NewReader(raw), 8<<10)
	br.Peek(1)
	hdr := http.Header{}
	h, ok := PeekResponseHead(br, hdr)
	if !ok {
		if n := br.Buffered(); n != min(len(raw), br.Size()) {
			t.Fatalf("a fallback consumed bytes: %d buffered of %d", n, len(raw))
		}
		return false
	}
	br.Discard(h.Size)
	std, err := http.ReadResponse(bufio.NewReader(bytes.NewReader(raw)), &http.Request{Method: http.MethodGet})
	if err != nil {
		t.Fatalf("lean head accepted what net/http rejects (%v):\n%q", err, raw)
	}
	if std.StatusCode != h.Status || std.Status != h.Reason || std.ContentLength != h.ContentLength || std.Close != h.Close ||
		len(std.TransferEncoding) > 0 || std.ProtoMinor != 1 {
		t.Fatalf("framing differs for %q:\nlean     %+v\nnet/http status %q %d, length %d, close %v, TE %v",
			raw, h, std.Status, std.StatusCode, std.ContentLength, std.Close, std.TransferEncoding)
	}
	if !maps.EqualFunc(hdr, std.Header, slices.Equal) {
		t.Fatalf("headers differ for %q:\nlean     %v\nnet/http %v", raw, hdr, std.Header)
	}
	mine := make([]byte, h.ContentLength)
	n, _ := io.ReadFull(br, mine)
	theirs, _ := io.ReadAll(std.Body)
	if !bytes.Equal(mine[:n], theirs) {
		t.Fatalf("body: lean %q, net/http %q", mine[:n], theirs)
	}
	return true
}

func TestResponseHeadAgreesWithNetHTTP(t *testing.T) {
	accept := []string{
		"HTTP/1.1 200 OK\r\nContent-Length: 5\r\nContent-Type: text/plain\r\n\r\nhello",
		"HTTP/1.1 200 OK\r\nDate: Thu, 26 Nov 2026 21:00:00 GMT\r\nX-Duration-Seconds: 0.000123\r\nContent-Length: 0\r\n\r\n",
		"HTTP/1.1 502 Bad Gateway\r\ncontent-length: 3\r\nx-openfaas-internal: watchdog\r\nX-Multi: 1\r\nX-Multi: 2\r\n\r\nbadEXTRA",
		"HTTP/1.1 200 OK\r\nConnection: close\r\nContent-Length: 2\r\n\r\nok",
		"HTTP/1.1 418\r\nContent-Length: 0\r\n\r\n", // no reason phrase
		"HTTP/1.1 200 OK\r\nSet-Cookie: a=1\r\nSet-Cookie: b=2\r\nContent-Length:  1 \r\n\r\nx",
	}
	for _, raw := range accept {
		if !agreeResponse(t, []byte(raw)) {
			t.Errorf("lean head did not take a plain response:\n%q", raw)
		}
	}
	fallback := []string{
		"HTTP/1.0 200 OK\r\nContent-Length: 1\r\n\r\na",                            // 1.0 keep-alive rules
		"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n1\r\na\r\n0\r\n\r\n", // chunked
		"HTTP/1.1 200 OK\r\n\r\nread until close",                                  // no length
		"HTTP/1.1 200 OK\r\nContent-Length: 1\r\nContent-Length: 1\r\n\r\na",       // duplicate length
		"HTTP/1.1 200 OK\r\nContent-Length: +1\r\n\r\na",
		"HTTP/1.1 200 OK\r\nContent-Length: 1,1\r\n\r\na",
		"HTTP/1.1 204 No Content\r\nContent-Length: 0\r\n\r\n",
		"HTTP/1.1 304 Not Modified\r\nContent-Length: 10\r\n\r\n",
		"HTTP/1.1 103 Early Hints\r\nLink: </a>\r\n\r\nHTTP/1.1 200 OK\r\nContent-Length: 0\r\n\r\n",
		"HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\n\r\n",
		"HTTP/1.1 200 OK\r\nTrailer: X-T\r\nContent-Length: 0\r\n\r\n",
		"HTTP/1.1 200 OK\r\nPragma: no-cache\r\nContent-Length: 0\r\n\r\n",
		"HTTP/1.1 200 OK\r\n folded\r\nContent-Length: 0\r\n\r\n", // obs-fold
		"HTTP/1.1 200 OK\nContent-Length: 0\n\n",                  // bare LF
		"HTTP/1.1 200 OK\r\nBad Header: v\r\nContent-Length: 0\r\n\r\n",
		"HTTP/1.1 200 OK\r\nX: a\x00b\r\nContent-Length: 0\r\n\r\n",
		"HTTP/1.1 200 OK\r\nX: caf\xc3\xa9\r\nContent-Length: 0\r\n\r\n",
		"HTTP/1.1 2000 OK\r\nContent-Length: 0\r\n\r\n",
		"HTTP/1.1 20x OK\r\nContent-Length: 0\r\n\r\n",
		"HTTP/1.1 200 OK\r\nContent-Length: 0\r\n", // head not whole yet
		"http/1.1 200 OK\r\nContent-Length: 0\r\n\r\n",
	}
	for _, raw := range fallback {
		if agreeResponse(t, []byte(raw)) {
			t.Errorf("lean head took a response it should leave to net/http:\n%q", raw)
		}
	}
}

func FuzzResponseHeadAgreesWithNetHTTP(f *testing.F) {
	f.Add([]byte("HTTP/1.1 200 OK\r\nContent-Length: 5\r\nContent-Type: text/plain\r\n\r\nhello"))
	f.Add([]byte("HTTP/1.1 502 Bad Gateway\r\nx-openfaas-internal: watchdog\r\nContent-Length: 0\r\nConnection: close\r\n\r\n"))
	f.Add([]byte("HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n"))
	f.Fuzz(func(t *testing.T, raw []byte) { agreeResponse(t, raw) })
}

// The lean path allocates the head's string, the value slice and nothing
// per header beyond them.
func TestResponseHeadAllocs(t *testing.T) {
	raw := []byte("HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\nDate: Thu, 26 Nov 2026 21:00:00 GMT\r\nX-Duration-Seconds: 0.0001\r\nContent-Length: 5\r\n\r\nhello")
	rd := bytes.NewReader(raw)
	br := bufio.NewReaderSize(rd, 8<<10)
	hdr := make(http.Header, 8)
	allocs := testing.AllocsPerRun(100, func() {
		rd.Reset(raw)
		br.Reset(rd)
		br.Peek(1)
		clear(hdr)
		if _, ok := PeekResponseHead(br, hdr); !ok {
			t.Fatal("not taken")
		}
	})
	if allocs > 2 {
		t.Fatalf("%.0f allocations per head, want at most 2", allocs)
	}
}
