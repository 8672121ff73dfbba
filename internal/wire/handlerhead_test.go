package wire

import (
	"bufio"
	"bytes"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"reflect"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"
)

// handlerAnswer is one handler's answer: its status, header and body,
// and whether it flushed before returning.
type handlerAnswer struct {
	code  int
	h     http.Header
	body  []byte
	flush bool
}

// netHandlers serves each handlerAnswer with net/http's server, once per
// process: a fuzzer calls it for every input.
var netHandlers struct {
	once    sync.Once
	addr    string
	answers sync.Map
	next    atomic.Int64
}

// netHTTPAnswer is the answer net/http's server sends for a, as its
// client reads it, and the body read.
func netHTTPAnswer(t *testing.T, a handlerAnswer, method string) (*http.Response, []byte, error) {
	nh := &netHandlers
	nh.once.Do(func() {
		srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			v, _ := nh.answers.Load(r.URL.Path)
			a := v.(handlerAnswer)
			for k, vv := range a.h {
				w.Header()[k] = append([]string(nil), vv...)
			}
			w.WriteHeader(a.code)
			if BodyAllowed(a.code) {
				w.Write(a.body)
			}
			if a.flush {
				w.(http.Flusher).Flush()
			}
		}))
		nh.addr = srv.Listener.Addr().String() // served until the process exits
	})
	path := "/" + strconv.FormatInt(nh.next.Add(1), 10)
	nh.answers.Store(path, a)
	defer nh.answers.Delete(path)
	c, err := net.Dial("tcp", nh.addr)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	c.SetDeadline(time.Now().Add(5 * time.Second))
	fmt.Fprintf(c, "%s %s HTTP/1.1\r\nHost: x\r\n\r\n", method, path)
	return readAnswer(bufio.NewReader(c), method)
}

// readAnswer reads a response to method and its body.
func readAnswer(br *bufio.Reader, method string) (*http.Response, []byte, error) {
	resp, err := http.ReadResponse(br, &http.Request{Method: method})
	if err != nil {
		return nil, nil, err
	}
	b, err := io.ReadAll(resp.Body)
	return resp, b, err
}

// handlerHeader is the header a handler would set from fuzzed "K: v"
// lines (Add: valid names made canonical), with none of the fields whose
// framing is the fuzzer's own (Content-Length, Transfer-Encoding,
// Connection) or that need the handler's end (trailers).
func handlerHeader(t *testing.T, fields string) http.Header {
	h := http.Header{}
	for k, v := range fuzzFields(fields) {
		switch ck := http.CanonicalHeaderKey(strings.TrimSpace(k)); {
		case ck == "Content-Length", ck == "Transfer-Encoding", ck == "Connection", ck == "Trailer",
			strings.HasPrefix(ck, http.TrailerPrefix):
			t.Skip("framing is the fuzzer's own")
		}
		h.Add(k, strings.ReplaceAll(v, "\\n", "\n")) // ("\\n": a value with a newline)
	}
	return h
}

// FuzzHandlerResponseHeadAgreesWithNetHTTP: for a handler's status,
// header and body (its length declared or not, flushed or not, answering
// GET or HEAD), HandlerFraming and AppendHandlerResponseHead write the
// answer net/http's server writes, as net/http's client reads both: the
// same status, fields (Date aside, Content-Type sniffed by
// SniffContentType), framing, connection close and body.
//
// The body is its first bytes (what sniffing reads) padded with pad
// bytes: a long body costs the fuzzer's minimizer an exchange per byte.
func FuzzHandlerResponseHeadAgreesWithNetHTTP(f *testing.F) {
	f.Add(200, "Content-Type: text/plain\nX-A: 1\nx-a: 2", []byte("hello"), uint16(0), false, false, false, false)
	f.Add(200, "", []byte("<html>hi</html>"), uint16(0), false, false, false, true)
	f.Add(404, "X-Evil: a\\nSet-Cookie: b\nbad key: x", []byte("x"), uint16(3000), false, false, false, false)
	f.Add(204, "X-A: 1", []byte(""), uint16(0), true, false, false, false)
	f.Add(304, "Etag: \"1\"", []byte("x"), uint16(0), true, false, false, true)
	f.Add(599, "Date: Mon, 01 Jan 2024 00:00:00 GMT", []byte("flushed"), uint16(10), false, true, true, false)
	f.Add(200, "Content-Encoding: gzip", []byte("zz"), uint16(2046), false, true, false, false)
	f.Fuzz(func(t *testing.T, code int, fields string, first []byte, pad uint16, declare, flush, closing, head bool) {
		if code < 200 || code > 999 {
			t.Skip("informational (not relayed) or no status")
		}
		if len(first) > 600 {
			first = first[:600]
		}
		body := append(first, bytes.Repeat([]byte("p"), int(pad)%(3*HandlerBuffer))...)
		h := handlerHeader(t, fields)
		if declare {
			h.Set("Content-Length", strconv.Itoa(len(body)))
		}
		if closing {
			h.Set("Connection", "close")
		}
		method := http.MethodGet
		if head {
			method = http.MethodHead
		}
		want, wantBody, wantErr := netHTTPAnswer(t, handlerAnswer{code, h.Clone(), body, flush}, method)
		if errors.Is(wantErr, os.ErrDeadlineExceeded) {
			t.Fatalf("net/http's answer: %v", wantErr)
		}

		// What the lean front does with the same answer.
		SniffContentType(h, code, body)
		final := !flush && len(body) <= HandlerBuffer
		length, chunked := HandlerFraming(h, code, len(body), final, head)
		out := AppendHandlerResponseHead(nil, code, h, Framing{Length: -1, Chunked: chunked, Close: ListsToken(h["Connection"], "close")})
		switch {
		case head || !BodyAllowed(code):
		case chunked:
			var b bytes.Buffer
			bw := bufio.NewWriter(&b)
			cw := NewChunkedWriter(bw)
			cw.Write(body)
			cw.Close()
			bw.Flush()
			out = append(out, b.Bytes()...)
		default:
			out = append(out, body...)
		}
		got, gotBody, gotErr := readAnswer(bufio.NewReader(bytes.NewReader(out)), method)
		if (gotErr != nil) != (wantErr != nil) {
			t.Fatalf("%q: read: %v; net/http's answer: %v", out, gotErr, wantErr)
		}
		if gotErr != nil {
			return
		}
		if _, set := h["Date"]; !set {
			got.Header.Del("Date")
			want.Header.Del("Date")
		}
		switch {
		case got.Status != want.Status:
			t.Fatalf("%q: status %q, net/http %q", out, got.Status, want.Status)
		case !reflect.DeepEqual(got.Header, want.Header):
			t.Fatalf("%q: fields\n%v\nnet/http\n%v", out, got.Header, want.Header)
		case got.ContentLength != want.ContentLength || !reflect.DeepEqual(got.TransferEncoding, want.TransferEncoding):
			t.Fatalf("%q: framing %d %v, net/http %d %v (chose %d, %v)", out, got.ContentLength, got.TransferEncoding,
				want.ContentLength, want.TransferEncoding, length, chunked)
		case got.Close != want.Close:
			t.Fatalf("%q: close %v, net/http %v", out, got.Close, want.Close)
		case !bytes.Equal(gotBody, wantBody):
			t.Fatalf("%q: body %q, net/http %q", out, gotBody, wantBody)
		}
	})
}

// A stated length (the event loop's error answers) is written once, after
// the header's fields, and CR or LF in a value cannot split the head.
func TestAppendHandlerResponseHeadLength(t *testing.T) {
	h := http.Header{"Content-Type": {"text/plain"}, "X-Evil": {"a\r\nSet-Cookie: b"}, "Bad Key": {"x"}}
	out := AppendHandlerResponseHead(nil, http.StatusBadGateway, h, Framing{Length: 4, Close: true})
	resp, b, err := readAnswer(bufio.NewReader(bytes.NewReader(append(out, "oops"...))), http.MethodGet)
	switch {
	case err != nil:
		t.Fatalf("%q: %v", out, err)
	case resp.StatusCode != 502 || resp.ContentLength != 4 || string(b) != "oops" || !resp.Close:
		t.Fatalf("%q: %d, length %d, body %q, close %v", out, resp.StatusCode, resp.ContentLength, b, resp.Close)
	case resp.Header.Get("X-Evil") != "a  Set-Cookie: b" || len(resp.Header["Set-Cookie"]) > 0 || resp.Header.Get("Date") == "":
		t.Fatalf("%q: fields %v", out, resp.Header)
	}
}
