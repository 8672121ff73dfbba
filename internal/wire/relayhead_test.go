package wire

import (
	"bufio"
	"bytes"
	"fmt"
	"net/http"
	"net/textproto"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"
)

// rspScan scans s as a response head (with a fresh RelayHead).
func rspScan(s string) (*RelayHead, int, error) {
	h := new(RelayHead)
	n, err := ScanResponse([]byte(s), h)
	return h, n, err
}

// rspWant is what a table case expects of ScanResponse.
type rspWant struct {
	n           int // -1: the whole input
	status      int
	frame       int
	length      int64
	close       bool
	unreachable bool
	hasDate     bool
	hasType     bool
	encoded     bool
}

func TestScanResponseFraming(t *testing.T) {
	const ok = "HTTP/1.1 200 OK\r\n"
	tests := []struct {
		name string
		head string
		want rspWant
	}{
		{"Content-Length", ok + "Content-Length: 5\r\n\r\n",
			rspWant{n: -1, status: 200, frame: FrameLength, length: 5}},
		{"Content-Length 0", ok + "Content-Length: 0\r\n\r\n",
			rspWant{n: -1, status: 200, frame: FrameLength, length: 0}},
		{"Content-Length with OWS and leading zeros", ok + "content-length: \t007 \r\n\r\n",
			rspWant{n: -1, status: 200, frame: FrameLength, length: 7}},
		{"largest Content-Length", ok + "Content-Length: 9223372036854775807\r\n\r\n",
			rspWant{n: -1, status: 200, frame: FrameLength, length: 1<<63 - 1}},
		{"duplicate equal Content-Length", ok + "Content-Length: 5\r\nX-A: b\r\nContent-Length: 5\r\n\r\n",
			rspWant{n: -1, status: 200, frame: FrameLength, length: 5}},
		{"chunked", ok + "Transfer-Encoding: chunked\r\n\r\n",
			rspWant{n: -1, status: 200, frame: FrameChunked, length: -1}},
		{"chunked, any case", ok + "transfer-encoding: ChUnKeD\r\n\r\n",
			rspWant{n: -1, status: 200, frame: FrameChunked, length: -1}},
		{"chunked overrides Content-Length", ok + "Content-Length: 10\r\nTransfer-Encoding: chunked\r\n\r\n",
			rspWant{n: -1, status: 200, frame: FrameChunked, length: -1}},
		{"chunked overrides a later Content-Length", ok + "Transfer-Encoding: chunked\r\nContent-Length: 10\r\n\r\n",
			rspWant{n: -1, status: 200, frame: FrameChunked, length: -1}},
		{"close-delimited", ok + "Content-Type: text/plain\r\n\r\n",
			rspWant{n: -1, status: 200, frame: FrameEOF, length: -1, close: true, hasType: true}},
		{"close-delimited, no headers", ok + "\r\n",
			rspWant{n: -1, status: 200, frame: FrameEOF, length: -1, close: true}},
		{"204 without a length", "HTTP/1.1 204 No Content\r\n\r\n",
			rspWant{n: -1, status: 204, frame: FrameLength, length: -1}},
		{"204 with chunked", "HTTP/1.1 204 No Content\r\nTransfer-Encoding: chunked\r\n\r\n",
			rspWant{n: -1, status: 204, frame: FrameLength, length: -1}},
		{"304 keeps its Content-Length", "HTTP/1.1 304 Not Modified\r\nContent-Length: 1234\r\n\r\n",
			rspWant{n: -1, status: 304, frame: FrameLength, length: 1234}},
		{"304 without a length", "HTTP/1.1 304 Not Modified\r\nETag: \"x\"\r\n\r\n",
			rspWant{n: -1, status: 304, frame: FrameLength, length: -1}},
		{"HTTP/1.0 with a length closes", "HTTP/1.0 200 OK\r\nContent-Length: 3\r\n\r\n",
			rspWant{n: -1, status: 200, frame: FrameLength, length: 3, close: true}},
		{"HTTP/1.0 keep-alive", "HTTP/1.0 200 OK\r\nConnection: keep-alive\r\nContent-Length: 3\r\n\r\n",
			rspWant{n: -1, status: 200, frame: FrameLength, length: 3}},
		{"HTTP/1.0 Keep-Alive in a list", "HTTP/1.0 200 OK\r\nConnection: x-a, Keep-Alive\r\nContent-Length: 3\r\n\r\n",
			rspWant{n: -1, status: 200, frame: FrameLength, length: 3}},
		{"HTTP/1.0 keep-alive and close", "HTTP/1.0 200 OK\r\nConnection: keep-alive\r\nConnection: close\r\nContent-Length: 3\r\n\r\n",
			rspWant{n: -1, status: 200, frame: FrameLength, length: 3, close: true}},
		{"HTTP/1.0 keep-alive without a length", "HTTP/1.0 200 OK\r\nConnection: keep-alive\r\n\r\n",
			rspWant{n: -1, status: 200, frame: FrameEOF, length: -1, close: true}},
		{"HTTP/1.0 204 closes", "HTTP/1.0 204 No Content\r\n\r\n",
			rspWant{n: -1, status: 204, frame: FrameLength, length: -1, close: true}},
		{"Connection: close", ok + "Connection: close\r\nContent-Length: 0\r\n\r\n",
			rspWant{n: -1, status: 200, frame: FrameLength, length: 0, close: true}},
		{"close in a list, any case", ok + "Connection: keep-alive, CLOSE\r\nContent-Length: 0\r\n\r\n",
			rspWant{n: -1, status: 200, frame: FrameLength, length: 0, close: true}},
		{"closed is not close", ok + "Connection: closed\r\nContent-Length: 0\r\n\r\n",
			rspWant{n: -1, status: 200, frame: FrameLength, length: 0}},
		{"watchdog's own answer", "HTTP/1.1 502 Bad Gateway\r\nX-Openfaas-Internal: watchdog\r\nContent-Length: 0\r\n\r\n",
			rspWant{n: -1, status: 502, frame: FrameLength, length: 0, unreachable: true}},
		{"watchdog, any name case", "HTTP/1.1 502 Bad Gateway\r\nx-openfaas-internal: watchdog\r\nContent-Length: 0\r\n\r\n",
			rspWant{n: -1, status: 502, frame: FrameLength, length: 0, unreachable: true}},
		{"watchdog's value is exact", "HTTP/1.1 502 Bad Gateway\r\nX-Openfaas-Internal: Watchdog\r\nContent-Length: 0\r\n\r\n",
			rspWant{n: -1, status: 502, frame: FrameLength, length: 0}},
		{"another internal value", "HTTP/1.1 502 Bad Gateway\r\nX-Openfaas-Internal: gateway\r\nContent-Length: 0\r\n\r\n",
			rspWant{n: -1, status: 502, frame: FrameLength, length: 0}},
		{"flags", ok + "Date: Mon, 02 Jan 2006 15:04:05 GMT\r\nContent-Type: text/plain\r\nContent-Encoding: gzip\r\nContent-Length: 1\r\n\r\n",
			rspWant{n: -1, status: 200, frame: FrameLength, length: 1, hasDate: true, hasType: true, encoded: true}},
		{"empty values still count", ok + "Date:\r\nContent-Type:\r\nContent-Encoding:\r\nContent-Length: 1\r\n\r\n",
			rspWant{n: -1, status: 200, frame: FrameLength, length: 1, hasDate: true, hasType: true, encoded: true}},
		{"bare LF", "HTTP/1.1 200 OK\nContent-Length: 2\n\n",
			rspWant{n: -1, status: 200, frame: FrameLength, length: 2}},
		{"mixed line endings", "HTTP/1.1 200 OK\r\nContent-Length: 2\n\r\n",
			rspWant{n: -1, status: 200, frame: FrameLength, length: 2}},
		{"no reason phrase", "HTTP/1.1 200\r\nContent-Length: 0\r\n\r\n",
			rspWant{n: -1, status: 200, frame: FrameLength, length: 0}},
		{"empty reason phrase", "HTTP/1.1 200 \r\nContent-Length: 0\r\n\r\n",
			rspWant{n: -1, status: 200, frame: FrameLength, length: 0}},
		{"unknown status", "HTTP/1.1 599 Whatever\r\nContent-Length: 0\r\n\r\n",
			rspWant{n: -1, status: 599, frame: FrameLength, length: 0}},
		{"status 999", "HTTP/1.1 999 x\r\nContent-Length: 0\r\n\r\n",
			rspWant{n: -1, status: 999, frame: FrameLength, length: 0}},
		{"obs-text in a value", ok + "X-A: caf\xc3\xa9 \x80\xff\r\nContent-Length: 0\r\n\r\n",
			rspWant{n: -1, status: 200, frame: FrameLength, length: 0}},
		{"HTAB in a value", ok + "X-A: a\tb\r\nContent-Length: 0\r\n\r\n",
			rspWant{n: -1, status: 200, frame: FrameLength, length: 0}},
		{"body bytes after the head", ok + "Content-Length: 5\r\n\r\nhello",
			rspWant{n: len(ok + "Content-Length: 5\r\n\r\n"), status: 200, frame: FrameLength, length: 5}},
		{"the next response after the head", ok + "Content-Length: 0\r\n\r\nHTTP/1.1 200 OK\r\n\r\n",
			rspWant{n: len(ok + "Content-Length: 0\r\n\r\n"), status: 200, frame: FrameLength, length: 0}},
		{"100 Continue skipped", "HTTP/1.1 100 Continue\r\n\r\n" + ok + "Content-Length: 1\r\n\r\n",
			rspWant{n: -1, status: 200, frame: FrameLength, length: 1}},
		{"several 1xx skipped", "HTTP/1.1 100 Continue\r\n\r\nHTTP/1.1 103 Early Hints\r\nLink: </a.css>\r\n\r\nHTTP/1.1 102 Processing\n\n" + ok + "Content-Length: 1\r\n\r\nx",
			rspWant{n: -1 - 1, status: 200, frame: FrameLength, length: 1}},
		{"1xx headers do not carry over", "HTTP/1.1 103 Early Hints\r\nConnection: close\r\nDate: x\r\nContent-Type: a/b\r\nContent-Length: 5\r\nX-Openfaas-Internal: watchdog\r\n\r\nHTTP/1.1 502 Bad Gateway\r\n\r\n",
			rspWant{n: -1, status: 502, frame: FrameEOF, length: -1, close: true}},
		{"1xx with a differing length in a later head", "HTTP/1.1 100 Continue\r\nContent-Length: 1\r\n\r\n" + ok + "Content-Length: 2\r\n\r\n",
			rspWant{n: -1, status: 200, frame: FrameLength, length: 2}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			want := tt.want
			switch want.n {
			case -1:
				want.n = len(tt.head)
			case -2:
				want.n = len(tt.head) - 1
			}
			h, n, err := rspScan(tt.head)
			if err != nil {
				t.Fatalf("ScanResponse(%q): %v", tt.head, err)
			}
			got := rspWant{n: n, status: h.Status, frame: h.Frame, length: h.Length, close: h.Close,
				unreachable: h.Unreachable, hasDate: h.hasDate, hasType: h.hasType, encoded: h.encoded}
			if got != want {
				t.Fatalf("ScanResponse(%q)\n got %+v\nwant %+v", tt.head, got, want)
			}
			if h.Size != n {
				t.Fatalf("size %d, n %d", h.Size, n)
			}
			// Every strict prefix of the head asks for more bytes.
			for i := 0; i < n; i++ {
				var h2 RelayHead
				if n2, err := ScanResponse([]byte(tt.head[:i]), &h2); n2 != 0 || err != nil {
					t.Fatalf("prefix %q: %d, %v; want 0, nil", tt.head[:i], n2, err)
				}
			}
			// A RelayHead reused from an earlier scan gives the same.
			h3 := &RelayHead{Status: 1, Close: true, hasDate: true, Unreachable: true, Frame: FrameChunked,
				fields: []Field{{"Stale", "x"}}, conn: []Field{{"Connection", "close"}}}
			if n3, err := ScanResponse([]byte(tt.head), h3); n3 != n || err != nil || h3.Close != h.Close ||
				h3.Unreachable != h.Unreachable || h3.hasDate != h.hasDate || h3.Frame != h.Frame ||
				!slices.Equal(h3.fields, h.fields) || !slices.Equal(h3.conn, h.conn) {
				t.Fatalf("reused head: %d, %v, %+v; fresh: %+v", n3, err, h3, h)
			}
		})
	}
}

// TestScanResponseFields: the fields are the final head's lines, names as
// sent and values without their OWS, and the Connection ones are kept
// apart too.
func TestScanResponseFields(t *testing.T) {
	head := "HTTP/1.1 100 Continue\r\nX-Early: 1\r\n\r\n" +
		"HTTP/1.1 200 OK\r\nx-lower: \t a b \t\r\nConnection: x-lower\r\nX-Empty:\r\nX-Dup: 1\r\nX-Dup: 2\r\nconnection: keep-alive, close\r\n\r\n"
	h, n, err := rspScan(head)
	if err != nil || n != len(head) {
		t.Fatalf("%d, %v", n, err)
	}
	wantFields := []Field{{"x-lower", "a b"}, {"Connection", "x-lower"}, {"X-Empty", ""}, {"X-Dup", "1"}, {"X-Dup", "2"}, {"connection", "keep-alive, close"}}
	if !slices.Equal(h.fields, wantFields) {
		t.Fatalf("fields %q, want %q", h.fields, wantFields)
	}
	wantConn := []Field{{"Connection", "x-lower"}, {"Connection", "keep-alive, close"}}
	if !slices.Equal(h.conn, wantConn) {
		t.Fatalf("conn %q, want %q", h.conn, wantConn)
	}
}

func TestScanResponseMalformed(t *testing.T) {
	const ok = "HTTP/1.1 200 OK\r\n"
	tests := []struct{ name, head string }{
		{"empty line first", "\r\n"},
		{"not HTTP", "ICY 200 OK\r\n\r\n"},
		{"lower-case protocol", "http/1.1 200 OK\r\n\r\n"},
		{"HTTP/2", "HTTP/2 200 OK\r\n\r\n"},
		{"HTTP/2.0", "HTTP/2.0 200 OK\r\n\r\n"},
		{"HTTP/1.2", "HTTP/1.2 200 OK\r\n\r\n"},
		{"HTTP/0.9", "HTTP/0.9 200 OK\r\n\r\n"},
		{"no status", "HTTP/1.1\r\n\r\n"},
		{"short status", "HTTP/1.1 20\r\n\r\n"},
		{"long status", "HTTP/1.1 2000 OK\r\n\r\n"},
		{"two spaces", "HTTP/1.1  200 OK\r\n\r\n"},
		{"tab before the reason", "HTTP/1.1 200\tOK\r\n\r\n"},
		{"tab before the status", "HTTP/1.1\t200 OK\r\n\r\n"},
		{"status below 100", "HTTP/1.1 099 Low\r\n\r\n"},
		{"signed status", "HTTP/1.1 +20 OK\r\n\r\n"},
		{"negative status", "HTTP/1.1 -20 OK\r\n\r\n"},
		{"hex status", "HTTP/1.1 2a0 OK\r\n\r\n"},
		{"101", "HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: upgrade\r\n\r\n"},
		{"101 after a 100", "HTTP/1.1 100 Continue\r\n\r\nHTTP/1.1 101 Switching Protocols\r\n\r\n"},
		{"bad final head after a 1xx", "HTTP/1.1 100 Continue\r\n\r\nHTTP/1.1 2x0 OK\r\n\r\n"},
		{"differing Content-Length", ok + "Content-Length: 5\r\nContent-Length: 6\r\n\r\n"},
		{"differing Content-Length and chunked", ok + "Transfer-Encoding: chunked\r\nContent-Length: 5\r\nContent-Length: 6\r\n\r\n"},
		{"differing Content-Length on a 204", "HTTP/1.1 204 No Content\r\nContent-Length: 0\r\nContent-Length: 1\r\n\r\n"},
		{"Content-Length list", ok + "Content-Length: 5, 5\r\n\r\n"},
		{"signed Content-Length", ok + "Content-Length: +5\r\n\r\n"},
		{"negative Content-Length", ok + "Content-Length: -1\r\n\r\n"},
		{"empty Content-Length", ok + "Content-Length:\r\n\r\n"},
		{"hex Content-Length", ok + "Content-Length: 0x5\r\n\r\n"},
		{"Content-Length with a space inside", ok + "Content-Length: 1 2\r\n\r\n"},
		{"overflowing Content-Length", ok + "Content-Length: 9223372036854775808\r\n\r\n"},
		{"Transfer-Encoding gzip", ok + "Transfer-Encoding: gzip\r\n\r\n"},
		{"Transfer-Encoding identity", ok + "Transfer-Encoding: identity\r\n\r\n"},
		{"Transfer-Encoding list ending in chunked", ok + "Transfer-Encoding: gzip, chunked\r\n\r\n"},
		{"Transfer-Encoding list starting with chunked", ok + "Transfer-Encoding: chunked, gzip\r\n\r\n"},
		{"Transfer-Encoding twice", ok + "Transfer-Encoding: chunked\r\nTransfer-Encoding: chunked\r\n\r\n"},
		{"empty Transfer-Encoding", ok + "Transfer-Encoding:\r\n\r\n"},
		{"Transfer-Encoding gzip on HTTP/1.0", "HTTP/1.0 200 OK\r\nTransfer-Encoding: gzip\r\n\r\n"},
		{"Transfer-Encoding gzip on a 1xx", "HTTP/1.1 100 Continue\r\nTransfer-Encoding: gzip\r\n\r\n" + ok + "\r\n"},
		{"obs-fold", ok + "X-A: b\r\n c\r\nContent-Length: 0\r\n\r\n"},
		{"obs-fold with a tab", ok + "X-A: b\r\n\tc\r\nContent-Length: 0\r\n\r\n"},
		{"first header line folded", ok + " X-A: b\r\n\r\n"},
		{"space before the colon", ok + "X-A : b\r\n\r\n"},
		{"space in the name", ok + "X A: b\r\n\r\n"},
		{"no colon", ok + "X-A b\r\n\r\n"},
		{"empty name", ok + ": b\r\n\r\n"},
		{"separator in the name", ok + "X(A): b\r\n\r\n"},
		{"non-ASCII name", ok + "X-\xc3\xa9: b\r\n\r\n"},
		{"NUL in a value", ok + "X-A: a\x00b\r\n\r\n"},
		{"control character in a value", ok + "X-A: a\x01b\r\n\r\n"},
		{"DEL in a value", ok + "X-A: a\x7fb\r\n\r\n"},
		{"bare CR in a value", ok + "X-A: a\rb\r\n\r\n"},
		{"CR at the end of a value", ok + "X-A: a\r\r\n\r\n"},
		{"a line of CR", ok + "\r\r\n\r\n"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, n, err := rspScan(tt.head)
			if err == nil {
				t.Fatalf("ScanResponse(%q) = %d, nil; want an error", tt.head, n)
			}
			if n != 0 {
				t.Fatalf("ScanResponse(%q) = %d with an error", tt.head, n)
			}
		})
	}
}

// TestScanResponseLimit: a head that has not ended is waited for up to
// MaxResponseHead bytes, then refused.
func TestScanResponseLimit(t *testing.T) {
	b := []byte("HTTP/1.1 200 OK\r\nX-A: " + strings.Repeat("a", MaxResponseHead))
	var h RelayHead
	if n, err := ScanResponse(b[:MaxResponseHead], &h); n != 0 || err != nil {
		t.Fatalf("%d bytes: %d, %v; want 0, nil", MaxResponseHead, n, err)
	}
	if n, err := ScanResponse(b[:MaxResponseHead+1], &h); n != 0 || err == nil {
		t.Fatalf("%d bytes: %d, %v; want an error", MaxResponseHead+1, n, err)
	}
	// Many header lines, none of them too long, count as a whole.
	lines := []byte("HTTP/1.1 200 OK\r\n" + strings.Repeat("X-A: b\r\n", MaxResponseHead/8))
	if n, err := ScanResponse(lines, &h); n != 0 || err == nil {
		t.Fatalf("%d bytes of lines: %d, %v; want an error", len(lines), n, err)
	}
	// A head just under the limit is taken.
	fill := MaxResponseHead - len("HTTP/1.1 200 OK\r\nX-A: \r\nContent-Length: 0\r\n\r\n")
	whole := "HTTP/1.1 200 OK\r\nX-A: " + strings.Repeat("a", fill) + "\r\nContent-Length: 0\r\n\r\n"
	if n, err := ScanResponse([]byte(whole), &h); n != MaxResponseHead || err != nil {
		t.Fatalf("head of %d bytes: %d, %v", len(whole), n, err)
	}
}

// rspRawHead is one head of a scanned input, parsed with the scanner's
// own line rules (the scanner accepted it).
type rspRawHead struct {
	http10 bool
	status int
	fields []Field
}

// rspSplitHeads splits the n bytes ScanResponse took into their heads.
func rspSplitHeads(s string) []rspRawHead {
	var heads []rspRawHead
	for s != "" {
		line, rest := CutLine(s)
		st, _ := strconv.Atoi(line[9:12])
		h := rspRawHead{http10: line[5:8] == "1.0", status: st}
		for {
			line, rest = CutLine(rest)
			if line == "" {
				break
			}
			k, v, _ := strings.Cut(line, ":")
			h.fields = append(h.fields, Field{textproto.CanonicalMIMEHeaderKey(k), TrimOWS(v)})
		}
		heads = append(heads, h)
		s = rest
	}
	return heads
}

// rspFieldMap is the scanner's fields as an http.Header would hold them.
func rspFieldMap(fs []Field) http.Header {
	m := http.Header{}
	for _, f := range fs {
		k := http.CanonicalHeaderKey(f.K)
		m[k] = append(m[k], f.V)
	}
	return m
}

// rspReadNet reads b as the goroutine path reads a replica's answer:
// http.ReadResponse to a GET, informational heads (but 101) skipped. It
// returns the final response and how many bytes of b its heads took.
func rspReadNet(b []byte) (*http.Response, int, error) {
	rd := bytes.NewReader(b)
	br := bufio.NewReader(rd)
	for {
		resp, err := http.ReadResponse(br, &http.Request{Method: http.MethodGet})
		if err != nil {
			return nil, 0, err
		}
		if resp.StatusCode >= 200 || resp.StatusCode == http.StatusSwitchingProtocols {
			return resp, len(b) - rd.Len() - br.Buffered(), nil
		}
		resp.Body.Close()
	}
}

// checkResponseAgainstNetHTTP is FuzzScanResponseAgreesWithNetHTTP's
// check; it reports which way it went ("skip: ..." for the known
// divergences).
func checkResponseAgainstNetHTTP(t testing.TB, b []byte) string {
	t.Helper()
	var h RelayHead
	n, err := ScanResponse(b, &h)
	if err != nil {
		if n != 0 {
			t.Fatalf("%q: %d bytes with an error", b, n)
		}
		return "ScanResponse refuses"
	}
	if n == 0 {
		// Only an informational head may have ended (the final one is to
		// come).
		if (bytes.Contains(b, []byte("\n\n")) || bytes.Contains(b, []byte("\n\r\n"))) && !(len(b) > 9 && b[9] == '1') {
			t.Fatalf("%q: a head ends in it, ScanResponse asks for more", b)
		}
		return "incomplete"
	}
	if n != h.Size || n > len(b) || h.Status < 200 || h.Status > 999 {
		t.Fatalf("%q: n %d, size %d, status %d", b, n, h.Size, h.Status)
	}
	// The same head with more bytes after it, or split off from them,
	// scans the same.
	var h2 RelayHead
	if n2, err := ScanResponse(b[:n], &h2); n2 != n || err != nil || h2.Status != h.Status || h2.Frame != h.Frame ||
		h2.Length != h.Length || h2.Close != h.Close || !slices.Equal(h2.fields, h.fields) {
		t.Fatalf("%q: the head alone scans as %d, %v, %+v; with what follows: %d, %+v", b, n2, err, h2, n, h)
	}
	if n2, err := ScanResponse(b[:n-1], &h2); n2 != 0 || err != nil {
		t.Fatalf("%q: the head less a byte: %d, %v", b, n2, err)
	}

	heads := rspSplitHeads(string(b[:n]))
	resp, netN, err := rspReadNet(b[:n])
	if err != nil {
		t.Fatalf("%q: ScanResponse takes %d bytes (status %d), http.ReadResponse refuses: %v", b, n, h.Status, err)
	}
	if netN != n {
		t.Fatalf("%q: ScanResponse takes %d bytes, http.ReadResponse %d", b, n, netN)
	}
	if resp.StatusCode != h.Status {
		t.Fatalf("%q: status %d, net/http %d", b, h.Status, resp.StatusCode)
	}
	if resp.Close != h.Close {
		t.Fatalf("%q: close %v, net/http %v", b, h.Close, resp.Close)
	}
	chunkedNet := len(resp.TransferEncoding) == 1 && resp.TransferEncoding[0] == "chunked"
	if !BodyAllowed(h.Status) {
		if h.Frame != FrameLength || resp.Body != http.NoBody {
			t.Fatalf("%q: no body for %d: frame %d, net/http body %T", b, h.Status, h.Frame, resp.Body)
		}
	} else {
		switch h.Frame {
		case FrameChunked:
			if !chunkedNet || resp.ContentLength != -1 || h.Length != -1 {
				t.Fatalf("%q: chunked, net/http: %q, length %d", b, resp.TransferEncoding, resp.ContentLength)
			}
		case FrameLength:
			if chunkedNet || resp.ContentLength != h.Length || h.Length < 0 {
				t.Fatalf("%q: length %d, net/http: %q, length %d", b, h.Length, resp.TransferEncoding, resp.ContentLength)
			}
		case FrameEOF:
			if chunkedNet || resp.ContentLength != -1 || !h.Close {
				t.Fatalf("%q: to the end, net/http: %q, length %d", b, resp.TransferEncoding, resp.ContentLength)
			}
		default:
			t.Fatalf("%q: frame %d", b, h.Frame)
		}
	}

	// The header values, by canonical name. net/http takes some apart
	// from Header: Transfer-Encoding always, Content-Length when chunked
	// (else one copy of equal ones), Connection when it says close in
	// HTTP/1.1, Trailer when chunked; and it adds Cache-Control for
	// "Pragma: no-cache".
	final := heads[len(heads)-1]
	ours := rspFieldMap(h.fields)
	if !slices.EqualFunc(final.fields, h.fields, func(a, b Field) bool { return strings.EqualFold(a.K, b.K) && a.V == b.V }) {
		t.Fatalf("%q: fields %q, the final head's lines %q", b, h.fields, final.fields)
	}
	theirs := resp.Header.Clone()
	if v, ok := theirs["Connection"]; ok || ours["Connection"] != nil {
		closes := !final.http10 && slices.ContainsFunc(ours["Connection"], func(v string) bool { return HasToken(v, "close") })
		if closes == ok || ok && !slices.Equal(v, ours["Connection"]) {
			t.Fatalf("%q: Connection %q, net/http %q", b, ours["Connection"], v)
		}
	}
	// (Transfer-Encoding present means chunked, but in HTTP/1.0, where
	// both ignore it.)
	te := ours["Transfer-Encoding"] != nil && !final.http10
	if v, ok := theirs["Content-Length"]; ok != (ours["Content-Length"] != nil && !(te && BodyAllowed(h.Status))) ||
		ok && (len(v) != 1 || v[0] != ours["Content-Length"][0]) {
		t.Fatalf("%q: Content-Length %q, net/http %q", b, ours["Content-Length"], v)
	}
	if v, ok := theirs["Trailer"]; ok != (ours["Trailer"] != nil && !te) || ok && !slices.Equal(v, ours["Trailer"]) {
		t.Fatalf("%q: Trailer %q, net/http %q", b, ours["Trailer"], v)
	}
	if p := ours["Pragma"]; len(p) > 0 && p[0] == "no-cache" && ours["Cache-Control"] == nil {
		ours["Cache-Control"] = []string{"no-cache"}
	}
	for _, k := range []string{"Transfer-Encoding", "Content-Length", "Connection", "Trailer"} {
		delete(ours, k)
		delete(theirs, k)
	}
	if !rspHeaderEqual(ours, theirs) {
		t.Fatalf("%q: header\n%q\nnet/http\n%q", b, ours, theirs)
	}

	checkResponseHeadOutput(t, b[:n], &h)
	return "agree"
}

func rspHeaderEqual(a, b http.Header) bool {
	if len(a) != len(b) {
		return false
	}
	for k, v := range a {
		if !slices.Equal(v, b[k]) {
			return false
		}
	}
	return true
}

// checkResponseHeadOutput writes the caller's head for h as the loop
// does (closing for a close-delimited body, sniffing when Sniffs says
// so) and checks it against a model of AppendResponseHead's rules and
// against http.ReadResponse.
func checkResponseHeadOutput(t testing.TB, in []byte, h *RelayHead) {
	t.Helper()
	closing := h.Frame == FrameEOF
	var sniff []byte
	if Sniffs(h, false) {
		sniff = []byte("<!DOCTYPE html><p>x")
	}
	out := AppendResponseHead([]byte("prefix"), h, "call-1", "", sniff, closing)
	if !bytes.HasPrefix(out, []byte("prefix")) {
		t.Fatalf("the output does not extend dst: %q", out)
	}
	out = out[len("prefix"):]
	got := rspOutputFields(t, out)

	// The model: the fields but hop-by-hop ones (Trailer passes), those
	// named in Connection, X-Call-Id and Content-Length (and a 304's
	// Content-Type, as net/http's server drops it); then the call's
	// X-Call-Id, a Date when none was given, the sniffed type, the
	// framing of a status with a body.
	var want []Field
	for _, f := range h.fields {
		k := http.CanonicalHeaderKey(f.K)
		if k != "Trailer" && (IsHopHeader(k) || k == "X-Call-Id" || k == "Content-Length" || rspNamedInConnection(h.fields, k)) {
			continue
		}
		if k == "Content-Type" && h.Status == http.StatusNotModified {
			continue
		}
		want = append(want, Field{k, f.V})
	}
	want = append(want, Field{"X-Call-Id", "call-1"})
	if !h.hasDate {
		want = append(want, Field{"Date", "*"})
	}
	if sniff != nil {
		want = append(want, Field{"Content-Type", "text/html; charset=utf-8"})
	}
	switch {
	case h.Frame == FrameChunked:
		want = append(want, Field{"Transfer-Encoding", "chunked"})
	case h.Length >= 0 && BodyAllowed(h.Status):
		want = append(want, Field{"Content-Length", strconv.FormatInt(h.Length, 10)})
	}
	if closing {
		want = append(want, Field{"Connection", "close"})
	}
	if !slices.EqualFunc(got, want, func(a, b Field) bool { return a.K == b.K && (a.V == b.V || b.V == "*") }) {
		t.Fatalf("%q: caller's head\n%q\nwant\n%q", in, got, want)
	}

	resp, err := http.ReadResponse(bufio.NewReader(bytes.NewReader(out)), &http.Request{Method: http.MethodGet})
	if err != nil {
		t.Fatalf("%q: the caller's head %q does not parse: %v", in, out, err)
	}
	if resp.StatusCode != h.Status {
		t.Fatalf("%q: caller's status %d, want %d", in, resp.StatusCode, h.Status)
	}
	if resp.Header.Get("X-Call-Id") != "call-1" || len(resp.Header["X-Call-Id"]) != 1 ||
		len(resp.Header["Date"]) == 0 && !rspNamedInConnection(h.fields, "Date") {
		t.Fatalf("%q: caller's head %q", in, out)
	}
	if BodyAllowed(h.Status) {
		chunked := len(resp.TransferEncoding) == 1
		if chunked != (h.Frame == FrameChunked) || !chunked && resp.ContentLength != h.Length || closing && !resp.Close {
			t.Fatalf("%q: caller's head %q: framing %q, %d, close %v", in, out, resp.TransferEncoding, resp.ContentLength, resp.Close)
		}
	}
}

// rspNamedInConnection reports whether a Connection field of fs names k.
func rspNamedInConnection(fs []Field, k string) bool {
	for _, f := range fs {
		if !strings.EqualFold(f.K, "Connection") {
			continue
		}
		for _, name := range strings.Split(f.V, ",") {
			if http.CanonicalHeaderKey(textproto.TrimString(name)) == k {
				return true
			}
		}
	}
	return false
}

// rspOutputFields parses a head AppendResponseHead wrote, checking its
// shape: a status line, "Name: value" CRLF lines, an empty line, nothing
// after.
func rspOutputFields(t testing.TB, out []byte) []Field {
	t.Helper()
	s := string(out)
	if !strings.HasSuffix(s, "\r\n\r\n") || strings.Count(s, "\r\n\r\n") != 1 {
		t.Fatalf("head %q does not end in one empty line", s)
	}
	if strings.Count(s, "\n") != strings.Count(s, "\r\n") || strings.Count(s, "\r") != strings.Count(s, "\r\n") {
		t.Fatalf("head %q has a bare CR or LF", s)
	}
	lines := strings.Split(strings.TrimSuffix(s, "\r\n\r\n"), "\r\n")
	var fs []Field
	for _, l := range lines[1:] {
		k, v, ok := strings.Cut(l, ": ")
		if !ok || !IsToken(k) || !IsCanonical(k) {
			t.Fatalf("head %q: line %q", s, l)
		}
		fs = append(fs, Field{k, v})
	}
	return fs
}

// FuzzScanResponseAgreesWithNetHTTP: whatever head ScanResponse takes,
// http.ReadResponse (as the goroutine path reads replica answers) takes
// too, with the same length, status, framing, Close and header values;
// and the caller's head written from it is well-formed. The inputs where
// the two are known to differ are skipped, each named
// (rspKnownDivergence); ScanResponse refusing what net/http takes is by
// design (a stricter subset: obs-fold, spaces around names, unusual
// status lines are net/http's to judge on the goroutine path) and not
// compared.
func FuzzScanResponseAgreesWithNetHTTP(f *testing.F) {
	for _, s := range []string{
		"HTTP/1.1 200 OK\r\nContent-Length: 5\r\n\r\nhello",
		"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\nTrailer: X-Sum\r\n\r\n",
		"HTTP/1.1 200 OK\r\nContent-Type: text/event-stream\r\n\r\n",
		"HTTP/1.1 204 No Content\r\nContent-Length: 0\r\n\r\n",
		"HTTP/1.1 304 Not Modified\r\nContent-Length: 10\r\nTransfer-Encoding: chunked\r\n\r\n",
		"HTTP/1.0 200 OK\r\nConnection: keep-alive\r\nContent-Length: 1\r\n\r\n",
		"HTTP/1.0 200 OK\r\n\r\n",
		"HTTP/1.1 100 Continue\r\n\r\nHTTP/1.1 103 Early Hints\r\nLink: </a>\r\n\r\nHTTP/1.1 200 OK\r\nContent-Length: 0\r\n\r\n",
		"HTTP/1.1 502 Bad Gateway\r\nX-Openfaas-Internal: watchdog\r\nContent-Length: 0\r\n\r\n",
		"HTTP/1.1 200 OK\r\nConnection: close, X-Private\r\nX-Private: 1\r\nKeep-Alive: timeout=5\r\nX-Call-Id: theirs\r\nDate: x\r\nContent-Length: 2\r\n\r\n",
		"HTTP/1.1 200 OK\r\nContent-Length: 5\r\nContent-Length: 5\r\nPragma: no-cache\r\n\r\n",
		"HTTP/1.1 599 x\nx-a: \t\xc3\xa9 \ncontent-length: 0\n\n",
		"HTTP/1.1 200 OK\r\nTransfer-Encoding: chun\u212aed\r\n\r\n",
		"HTTP/1.1 200 OK\r\nContent-Length: -0\r\n\r\n",
		"HTTP/1.1 200 OK\r\nContent-Length: 5\r\nContent-Length: 05\r\n\r\n",
		"HTTP/1.0 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n",
		"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\nTrailer: Content-Length\r\n\r\n",
		"HTTP/1.1 200 OK\r\nConnection: Date, Content-Type\r\nDate: x\r\nContent-Type: a/b\r\n\r\n",
	} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, b []byte) {
		if outcome := checkResponseAgainstNetHTTP(t, b); strings.HasPrefix(outcome, "skip") {
			t.Skip(outcome)
		}
	})
}

// TestScanResponseAgreesWithNetHTTPOnGeneratedHeads runs the fuzz
// target's check on heads built from header lines likely to matter
// (framing, connection, flags, odd spacing and case, 1xx), which reach
// acceptance far more often than byte-level mutation.
func TestScanResponseAgreesWithNetHTTPOnGeneratedHeads(t *testing.T) {
	statuses := []string{"HTTP/1.1 200 OK", "HTTP/1.1 201", "HTTP/1.0 200 OK", "HTTP/1.1 204 No Content", "HTTP/1.1 304 Not Modified",
		"HTTP/1.1 502 Bad Gateway", "HTTP/1.1 599 x", "HTTP/1.0 304 x", "HTTP/1.1 404 ", "HTTP/1.1 101 Switching", "HTTP/1.1 200  OK"}
	infos := []string{"HTTP/1.1 100 Continue", "HTTP/1.1 103 Early Hints\r\nLink: </a>", "HTTP/1.0 102 x", "HTTP/1.1 100 x\r\nContent-Length: 3"}
	lines := []string{
		"Content-Length: 5", "content-length:0", "Content-Length: 05", "Content-Length: 7 ", "Content-Length: \t5",
		"Transfer-Encoding: chunked", "transfer-encoding: Chunked ", "Transfer-Encoding: gzip",
		"Connection: close", "Connection: keep-alive", "connection: Keep-Alive, X-A", "Connection: x-a,, close", "Connection: upgrade",
		"X-A: 1", "x-a: 2", "X-Empty:", "X-Ws:  \t v \t", "X-Obs: \xc3\xa9\xff",
		"Date: Mon, 02 Jan 2006 15:04:05 GMT", "Content-Type: text/plain", "Content-Encoding: gzip",
		"X-Openfaas-Internal: watchdog", "Pragma: no-cache", "Cache-Control: max-age=1",
		"Trailer: X-Sum", "Keep-Alive: timeout=5", "Proxy-Authenticate: Basic", "Upgrade: h2c", "Te: trailers",
		"X-Call-Id: theirs", "Expect: 100-continue", "Set-Cookie: a=b", "Set-Cookie: c=d",
	}
	outcomes := map[string]int{}
	var seed uint64 = 1
	next := func(n int) int { // a small LCG: the test needs no quality
		seed = seed*6364136223846793005 + 1442695040888963407
		return int(seed>>33) % n
	}
	for iter := 0; iter < 6000; iter++ {
		var b strings.Builder
		eol := "\r\n"
		if next(8) == 0 {
			eol = "\n"
		}
		for n := next(4) - 2; n > 0; n-- {
			b.WriteString(strings.ReplaceAll(infos[next(len(infos))], "\r\n", eol) + eol + eol)
		}
		b.WriteString(statuses[next(len(statuses))] + eol)
		for n := next(6); n > 0; n-- {
			b.WriteString(lines[next(len(lines))] + eol)
		}
		b.WriteString(eol)
		if next(2) == 0 {
			b.WriteString("body")
		}
		o := checkResponseAgainstNetHTTP(t, []byte(b.String()))
		if i := strings.Index(o, "divergence "); i >= 0 {
			o = o[:i+len("divergence 1")] // by number
		}
		outcomes[o]++
	}
	t.Logf("outcomes: %v", outcomes)
	if outcomes["agree"] < 2000 {
		t.Fatalf("only %d generated heads were compared: %v", outcomes["agree"], outcomes)
	}
}

func TestAppendResponseHead(t *testing.T) {
	const date = "Mon, 02 Jan 2006 15:04:05 GMT"
	tests := []struct {
		name    string
		head    string
		sniff   []byte
		closing bool
		want    []string // the lines after the status line; "Date: *" matches any Date
		status  string
	}{
		{
			name: "hop-by-hop headers dropped",
			head: "HTTP/1.1 200 OK\r\nConnection: keep-alive\r\nKeep-Alive: timeout=5\r\nProxy-Connection: keep-alive\r\n" +
				"Proxy-Authenticate: Basic\r\nProxy-Authorization: x\r\nTe: trailers\r\nUpgrade: h2c\r\nExpect: 100-continue\r\n" +
				"X-Kept: 1\r\nContent-Length: 2\r\n\r\n",
			want:   []string{"X-Kept: 1", "X-Call-Id: call-1", "Date: *", "Content-Length: 2"},
			status: "HTTP/1.1 200 OK",
		},
		{
			name:   "headers named in Connection dropped, any case",
			head:   "HTTP/1.1 200 OK\r\nconnection: X-Private , x-other\r\nCONNECTION: X-Third\r\nx-private: 1\r\nX-Other: 2\r\nX-THIRD: 3\r\nX-Kept: 4\r\nContent-Length: 0\r\n\r\n",
			want:   []string{"X-Kept: 4", "X-Call-Id: call-1", "Date: *", "Content-Length: 0"},
			status: "HTTP/1.1 200 OK",
		},
		{
			name:   "names canonicalized, order and duplicates kept",
			head:   "HTTP/1.1 200 OK\r\nx-b: 1\r\nset-cookie: a=b\r\nX-A: 2\r\nSet-Cookie: c=d\r\nwww-authenticate: Basic\r\nContent-Length: 0\r\n\r\n",
			want:   []string{"X-B: 1", "Set-Cookie: a=b", "X-A: 2", "Set-Cookie: c=d", "Www-Authenticate: Basic", "X-Call-Id: call-1", "Date: *", "Content-Length: 0"},
			status: "HTTP/1.1 200 OK",
		},
		{
			name:   "the call's X-Call-Id replaces the replica's",
			head:   "HTTP/1.1 200 OK\r\nX-Call-Id: theirs\r\nx-call-id: again\r\nContent-Length: 0\r\n\r\n",
			want:   []string{"X-Call-Id: call-1", "Date: *", "Content-Length: 0"},
			status: "HTTP/1.1 200 OK",
		},
		{
			name:   "the replica's Date kept, none added",
			head:   "HTTP/1.1 200 OK\r\nDate: " + date + "\r\nContent-Length: 0\r\n\r\n",
			want:   []string{"Date: " + date, "X-Call-Id: call-1", "Content-Length: 0"},
			status: "HTTP/1.1 200 OK",
		},
		{
			name:   "sniffed Content-Type added",
			head:   "HTTP/1.1 200 OK\r\nContent-Length: 13\r\n\r\n",
			sniff:  []byte("<html><body>"),
			want:   []string{"X-Call-Id: call-1", "Date: *", "Content-Type: text/html; charset=utf-8", "Content-Length: 13"},
			status: "HTTP/1.1 200 OK",
		},
		{
			name:   "sniffed plain text",
			head:   "HTTP/1.1 200 OK\r\nContent-Length: 5\r\n\r\n",
			sniff:  []byte("hello"),
			want:   []string{"X-Call-Id: call-1", "Date: *", "Content-Type: text/plain; charset=utf-8", "Content-Length: 5"},
			status: "HTTP/1.1 200 OK",
		},
		{
			name:   "no Content-Type without sniffing",
			head:   "HTTP/1.1 200 OK\r\nContent-Length: 5\r\n\r\n",
			want:   []string{"X-Call-Id: call-1", "Date: *", "Content-Length: 5"},
			status: "HTTP/1.1 200 OK",
		},
		{
			name:   "the replica's Content-Type kept",
			head:   "HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: 2\r\n\r\n",
			want:   []string{"Content-Type: application/json", "X-Call-Id: call-1", "Date: *", "Content-Length: 2"},
			status: "HTTP/1.1 200 OK",
		},
		{
			name:   "chunked written as chunked, the replica's lengths dropped",
			head:   "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\nContent-Length: 5\r\nTrailer: X-Sum\r\n\r\n",
			want:   []string{"Trailer: X-Sum", "X-Call-Id: call-1", "Date: *", "Transfer-Encoding: chunked"},
			status: "HTTP/1.1 200 OK",
		},
		{
			name:   "Trailer passes even when named in Connection",
			head:   "HTTP/1.1 200 OK\r\nConnection: Trailer\r\nTrailer: X-Sum\r\nTransfer-Encoding: chunked\r\n\r\n",
			want:   []string{"Trailer: X-Sum", "X-Call-Id: call-1", "Date: *", "Transfer-Encoding: chunked"},
			status: "HTTP/1.1 200 OK",
		},
		{
			name:    "close-delimited: no length, Connection: close",
			head:    "HTTP/1.1 200 OK\r\nContent-Type: text/event-stream\r\n\r\n",
			closing: true,
			want:    []string{"Content-Type: text/event-stream", "X-Call-Id: call-1", "Date: *", "Connection: close"},
			status:  "HTTP/1.1 200 OK",
		},
		{
			name:    "closing with a length",
			head:    "HTTP/1.1 201 Created\r\nContent-Length: 1\r\nConnection: close\r\n\r\n",
			closing: true,
			want:    []string{"X-Call-Id: call-1", "Date: *", "Content-Length: 1", "Connection: close"},
			status:  "HTTP/1.1 201 Created",
		},
		{
			name:   "the replica's close is not the caller's",
			head:   "HTTP/1.1 200 OK\r\nContent-Length: 1\r\nConnection: close\r\n\r\n",
			want:   []string{"X-Call-Id: call-1", "Date: *", "Content-Length: 1"},
			status: "HTTP/1.1 200 OK",
		},
		{
			name:   "HTTP/1.0 answered as HTTP/1.1",
			head:   "HTTP/1.0 200 Fine\r\nConnection: keep-alive\r\nContent-Length: 1\r\n\r\n",
			want:   []string{"X-Call-Id: call-1", "Date: *", "Content-Length: 1"},
			status: "HTTP/1.1 200 OK",
		},
		{
			name:   "204: no framing headers",
			head:   "HTTP/1.1 204 No Content\r\nTransfer-Encoding: chunked\r\n\r\n",
			want:   []string{"X-Call-Id: call-1", "Date: *"},
			status: "HTTP/1.1 204 No Content",
		},
		{
			name:   "304: no framing headers nor Content-Type, as net/http's server",
			head:   "HTTP/1.1 304 Not Modified\r\nContent-Length: 99\r\nContent-Type: text/plain\r\nETag: \"e\"\r\n\r\n",
			want:   []string{"Etag: \"e\"", "X-Call-Id: call-1", "Date: *"},
			status: "HTTP/1.1 304 Not Modified",
		},
		{
			name:   "204: no Content-Length",
			head:   "HTTP/1.1 204 No Content\r\nContent-Length: 0\r\nContent-Type: text/plain\r\n\r\n",
			want:   []string{"Content-Type: text/plain", "X-Call-Id: call-1", "Date: *"},
			status: "HTTP/1.1 204 No Content",
		},
		{
			name:   "Go's status text, not the replica's",
			head:   "HTTP/1.1 418 Short And Stout\r\nContent-Length: 0\r\n\r\n",
			want:   []string{"X-Call-Id: call-1", "Date: *", "Content-Length: 0"},
			status: "HTTP/1.1 418 I'm a teapot",
		},
		{
			name:   "unknown status",
			head:   "HTTP/1.1 599 Custom\r\nContent-Length: 0\r\n\r\n",
			want:   []string{"X-Call-Id: call-1", "Date: *", "Content-Length: 0"},
			status: "HTTP/1.1 599 status code 599",
		},
		{
			name:   "unknown status in a known class",
			head:   "HTTP/1.1 299 x\r\nContent-Length: 0\r\n\r\n",
			want:   []string{"X-Call-Id: call-1", "Date: *", "Content-Length: 0"},
			status: "HTTP/1.1 299 status code 299",
		},
		{
			name:   "status 999",
			head:   "HTTP/1.1 999\r\nContent-Length: 0\r\n\r\n",
			want:   []string{"X-Call-Id: call-1", "Date: *", "Content-Length: 0"},
			status: "HTTP/1.1 999 status code 999",
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			h, n, err := rspScan(tt.head)
			if err != nil || n != len(tt.head) {
				t.Fatalf("ScanResponse: %d, %v", n, err)
			}
			out := AppendResponseHead(nil, h, "call-1", "", tt.sniff, tt.closing)
			s := string(out)
			if !strings.HasSuffix(s, "\r\n\r\n") {
				t.Fatalf("head %q does not end in CRLF CRLF", s)
			}
			lines := strings.Split(strings.TrimSuffix(s, "\r\n\r\n"), "\r\n")
			if lines[0] != tt.status {
				t.Errorf("status line %q, want %q", lines[0], tt.status)
			}
			if len(lines[1:]) != len(tt.want) {
				t.Fatalf("header lines\n%q\nwant\n%q", lines[1:], tt.want)
			}
			for i, l := range lines[1:] {
				if w := tt.want[i]; l != w && !(w == "Date: *" && strings.HasPrefix(l, "Date: ")) {
					t.Fatalf("header lines\n%q\nwant\n%q", lines[1:], tt.want)
				}
				if d, ok := strings.CutPrefix(l, "Date: "); ok && tt.want[i] == "Date: *" {
					if _, err := time.Parse(http.TimeFormat, d); err != nil {
						t.Fatalf("Date %q: %v", d, err)
					}
				}
			}
			// The caller reads it as the response it stands for.
			resp, err := http.ReadResponse(bufio.NewReader(bytes.NewReader(out)), &http.Request{Method: http.MethodGet})
			if err != nil {
				t.Fatalf("http.ReadResponse(%q): %v", s, err)
			}
			if resp.StatusCode != h.Status || resp.Header.Get("X-Call-Id") != "call-1" || len(resp.Header["X-Call-Id"]) != 1 || len(resp.Header["Date"]) != 1 {
				t.Fatalf("read back: %d %q", resp.StatusCode, resp.Header)
			}
			if tt.closing != resp.Close {
				t.Fatalf("read back: Close %v, want %v", resp.Close, tt.closing)
			}
		})
	}
}

// TestAppendResponseHeadAppends: dst's bytes are kept, and a status
// written the long way matches net/http's server.
func TestAppendResponseHeadAppends(t *testing.T) {
	h, _, err := rspScan("HTTP/1.1 200 OK\r\nContent-Length: 0\r\n\r\n")
	if err != nil {
		t.Fatal(err)
	}
	out := AppendResponseHead([]byte("HTTP/1.1 100 Continue\r\n\r\n"), h, "id", "", nil, false)
	if !strings.HasPrefix(string(out), "HTTP/1.1 100 Continue\r\n\r\nHTTP/1.1 200 OK\r\n") {
		t.Fatalf("%q", out)
	}
	for code := 100; code <= 999; code++ {
		h.Status = code
		line, _, _ := strings.Cut(string(AppendResponseHead(nil, h, "id", "", nil, false)), "\r\n")
		want := fmt.Sprintf("HTTP/1.1 %03d %s", code, http.StatusText(code))
		if http.StatusText(code) == "" {
			want = fmt.Sprintf("HTTP/1.1 %03d status code %d", code, code)
		}
		if line != want {
			t.Fatalf("status %d: %q, want %q", code, line, want)
		}
	}
}

func TestSniffs(t *testing.T) {
	tests := []struct {
		head        string
		eventStream bool
		want        bool
	}{
		{"HTTP/1.1 200 OK\r\nContent-Length: 5\r\n\r\n", false, true},
		{"HTTP/1.1 200 OK\r\nContent-Length: 5\r\n\r\n", true, false},
		{"HTTP/1.1 200 OK\r\nContent-Length: 0\r\n\r\n", false, false},
		{"HTTP/1.1 200 OK\r\nContent-Length: 5\r\nContent-Type: a/b\r\n\r\n", false, false},
		{"HTTP/1.1 200 OK\r\nContent-Length: 5\r\nContent-Encoding: gzip\r\n\r\n", false, false},
		{"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n", false, false},
		{"HTTP/1.1 200 OK\r\n\r\n", false, false},
		{"HTTP/1.1 304 Not Modified\r\nContent-Length: 5\r\n\r\n", false, false},
		{"HTTP/1.1 204 No Content\r\nContent-Length: 5\r\n\r\n", false, false},
		{"HTTP/1.1 404 Not Found\r\nContent-Length: 5\r\n\r\n", false, true},
	}
	for _, tt := range tests {
		h, _, err := rspScan(tt.head)
		if err != nil {
			t.Fatal(err)
		}
		if got := Sniffs(h, tt.eventStream); got != tt.want {
			t.Errorf("Sniffs(%q, %v) = %v, want %v", tt.head, tt.eventStream, got, tt.want)
		}
	}
}

// TestRefusesWhatNetHTTPRefuses: heads the loop once took where net/http
// (the goroutine path) refuses them or frames them otherwise.
func TestRefusesWhatNetHTTPRefuses(t *testing.T) {
	for _, s := range []string{
		"HTTP/1.1 200 OK\r\nTransfer-Encoding: chun\u212aed\r\n\r\n", // folds to chunked in Unicode only
		"HTTP/1.1 200 OK\r\nContent-Length: -0\r\n\r\n",
		"HTTP/1.1 200 OK\r\nContent-Length: 5\r\nContent-Length: 05\r\n\r\n",
		"HTTP/1.1 100 Continue\r\nContent-Length: 5\r\nContent-Length: 05\r\n\r\nHTTP/1.1 200 OK\r\nContent-Length: 0\r\n\r\n",
		"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\nTrailer: X-A, content-length\r\n\r\n",
	} {
		if _, _, err := rspReadNet([]byte(s)); err == nil {
			t.Errorf("net/http takes %q", s)
		}
		var h RelayHead
		if n, err := ScanResponse([]byte(s), &h); err == nil {
			t.Errorf("ScanResponse takes %q (%d bytes)", s, n)
		}
	}
	// HTTP/1.0: net/http ignores Transfer-Encoding.
	for _, s := range []string{
		"HTTP/1.0 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n",
		"HTTP/1.0 200 OK\r\nTransfer-Encoding: chunked\r\nContent-Length: 3\r\n\r\n",
	} {
		resp, _, err := rspReadNet([]byte(s))
		if err != nil || resp.TransferEncoding != nil {
			t.Errorf("net/http reads %q as chunked (%v)", s, err)
		}
		var h RelayHead
		if _, err := ScanResponse([]byte(s), &h); err != nil || h.Frame == FrameChunked {
			t.Errorf("ScanResponse: %q framed %d (%v), want not chunked", s, h.Frame, err)
		}
	}
}
