package wire

import (
	"bufio"
	"bytes"
	"io"
	"iter"
	"net/http"
	"net/textproto"
	"net/url"
	"reflect"
	"strings"
	"testing"
)

// FuzzRequestHeadAgreesWithNetHTTP: a head AppendRequestHead writes from
// what a client holds (a method, an origin-form target and query, a
// host, a header a server parsed) is read by http.ReadRequest as that
// request: the same line, Host and fields, but the connection's own, and
// the body framed as announced.
func FuzzRequestHeadAgreesWithNetHTTP(f *testing.F) {
	f.Add("POST", "/function/echo", "a=1", "127.0.0.1:8080", "X-A: 1\nx-b: two\nConnection: close\nContent-Length: 9", int64(5))
	f.Add("GET", "/", "", "[::1]:80", "Te: trailers\nAccept: */*", int64(0))
	f.Add("PUT", "/x/y", "", "h", "", int64(-1))
	f.Add("PATCH", "/p", "", "h:1", "Host: other\nX-A:", int64(0))
	f.Fuzz(func(t *testing.T, method, target, query, host, fields string, n int64) {
		if !IsToken(method) || target == "" || target[0] != '/' || len(target) > 1 && target[1] == '/' ||
			!isTarget(target) || strings.ContainsRune(target, '?') || !isTarget(query) || !isHost(host) {
			t.Skip("not a request a client holds")
		}
		uri := target
		if query != "" {
			uri += "?" + query
		}
		if _, err := url.ParseRequestURI(uri); err != nil {
			t.Skip("a bad escape: no client holds it")
		}
		h := fuzzHeader(t, fields)
		if n < -1 {
			n = -1
		}
		head := AppendRequestHead(nil, method, target, query, host, h, n)
		var body []byte
		if n > 0 {
			body = bytes.Repeat([]byte("b"), int(n%4096))
			n = int64(len(body))
			head = AppendRequestHead(nil, method, target, query, host, h, n)
		}
		raw := append(head, body...)
		if n < 0 {
			raw = append(raw, "3\r\nabc\r\n0\r\n\r\n"...)
		}
		r, err := http.ReadRequest(bufio.NewReader(bytes.NewReader(raw)))
		if err != nil {
			t.Fatalf("%q does not parse: %v", head, err)
		}
		if r.Method != method || r.RequestURI != uri || r.Host != host {
			t.Fatalf("%q read as %s %s host %s", head, r.Method, r.RequestURI, r.Host)
		}
		want := http.Header{}
		for k, vv := range h {
			if !IsHopHeader(k) && k != "Content-Length" && k != "Host" {
				want[k] = vv
			}
		}
		got := r.Header.Clone()
		delete(got, "Content-Length")
		delete(got, "Transfer-Encoding")
		if len(got) == 0 && len(want) == 0 {
			got, want = nil, nil
		}
		if !reflect.DeepEqual(got, want) {
			t.Fatalf("%q: fields %q, want %q", head, got, want)
		}
		b, err := io.ReadAll(r.Body)
		switch {
		case err != nil:
			t.Fatalf("%q: body: %v", head, err)
		case n < 0 && (string(b) != "abc" || len(r.TransferEncoding) != 1):
			t.Fatalf("%q: chunked body %q", head, b)
		case n >= 0 && (r.ContentLength != n || !bytes.Equal(b, body)):
			t.Fatalf("%q: length %d, body of %d bytes; want %d", head, r.ContentLength, len(b), n)
		}
		needs := method == "POST" || method == "PUT" || method == "PATCH"
		if has := len(r.Header["Content-Length"]) > 0; n >= 0 && has != (n > 0 || needs) {
			t.Fatalf("%q: Content-Length sent: %v", head, has)
		}
	})
}

// fuzzHeader is the header map a server would make of fuzzed "K: v"
// lines (skipping the input when it holds a field no server takes).
func fuzzHeader(t *testing.T, fields string) http.Header {
	h := http.Header{}
	for k, v := range fuzzFields(fields) {
		if v = TrimOWS(v); !IsToken(k) || !IsFieldValue(v) {
			t.Skip("not a field a server takes")
		}
		k = textproto.CanonicalMIMEHeaderKey(k) // as a server stores it
		h[k] = append(h[k], v)
	}
	return h
}

// fuzzFields yields the name and value of each fuzzed "K: v" line.
func fuzzFields(fields string) iter.Seq2[string, string] {
	return func(yield func(k, v string) bool) {
		for _, line := range strings.Split(fields, "\n") {
			if k, v, ok := strings.Cut(line, ":"); ok && !yield(k, v) {
				return
			}
		}
	}
}
