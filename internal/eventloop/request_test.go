package eventloop

import (
	"bufio"
	"bytes"
	"io"
	"maps"
	"net/http"
	"net/netip"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/ferryfaas/ferry/internal/wire"
)

const (
	rqRemote = "192.0.2.7"
	rqGenID  = "generated-id"
)

var (
	rqStart = time.Unix(1700000000, 123456789)
	rqAddr  = netip.MustParseAddrPort("10.1.2.3:8080")
)

// rqScan scans a request head as the loop does (headEnd, then
// wire.ScanHead collecting the fields), failing the test if the loop would
// not take it.
func rqScan(t testing.TB, raw string) (wire.Head, []field, int) {
	t.Helper()
	end := headEnd([]byte(raw))
	if end <= 0 {
		t.Fatalf("headEnd(%q) = %d", raw, end)
	}
	var fs []field
	h, ok := wire.ScanHead(raw[:end], nil, func(_ int, k, v string) { fs = append(fs, field{K: k, V: v}) })
	if !ok {
		t.Fatalf("wire.ScanHead refuses %q", raw[:end])
	}
	return h, fs, end
}

// rqCall is the call the loop makes of a scanned head (Plan routing it
// to rqAddr, with the target unchanged, and an X-Call-Id of its own when
// the caller gave none).
func rqCall(h wire.Head, ri reqInfo) *Call {
	c := &Call{Method: h.Method, Target: h.Target, Path: h.Path, Host: h.Host, ContentLength: h.ContentLength,
		Start: rqStart, CallID: ri.callID, Addr: rqAddr, URI: h.Target}
	if c.CallID == "" {
		c.CallID = rqGenID
	}
	return c
}

// rqBuild runs the loop's steps on raw (a head and its body) and returns
// the upstream request's bytes and the request http.ReadRequest reads
// from them (body read whole into the returned slice).
func rqBuild(t testing.TB, raw string) (*Call, []byte, *http.Request, []byte) {
	t.Helper()
	h, fs, end := rqScan(t, raw)
	ri := inspect(fs)
	c := rqCall(h, ri)
	body := []byte(raw[end:])
	out := appendRequest([]byte("prefix"), c, fs, &ri, rqRemote, body)
	if !bytes.HasPrefix(out, []byte("prefix")) {
		t.Fatalf("the output does not extend dst: %q", out)
	}
	out = out[len("prefix"):]
	req, err := http.ReadRequest(bufio.NewReader(bytes.NewReader(out)))
	if err != nil {
		t.Fatalf("http.ReadRequest(%q): %v", out, err)
	}
	got, err := io.ReadAll(req.Body)
	if err != nil {
		t.Fatalf("reading the body of %q: %v", out, err)
	}
	if !bytes.Equal(got, body) {
		t.Fatalf("body %q, want %q", got, body)
	}
	return c, out, req, got
}

// rqLines is the header lines of an upstream request head.
func rqLines(t testing.TB, out []byte) []string {
	t.Helper()
	head, _, ok := strings.Cut(string(out), "\r\n\r\n")
	if !ok {
		t.Fatalf("%q: no end of head", out)
	}
	lines := strings.Split(head, "\r\n")
	return lines[1:]
}

func TestAppendRequestBasics(t *testing.T) {
	raw := "POST /function/echo?x=1 HTTP/1.1\r\nHost: gw.example:8080\r\nContent-Length: 5\r\nContent-Type: text/plain\r\nUser-Agent: t\r\n\r\nhello"
	c, out, req, _ := rqBuild(t, raw)
	wantHead := "POST /function/echo?x=1 HTTP/1.1\r\n" +
		"Host: 10.1.2.3:8080\r\n" +
		"Content-Type: text/plain\r\n" +
		"User-Agent: t\r\n" +
		"X-Call-Id: " + rqGenID + "\r\n" +
		"X-Start-Time: " + strconv.FormatInt(rqStart.UnixNano(), 10) + "\r\n" +
		"X-Forwarded-For: " + rqRemote + "\r\n" +
		"X-Forwarded-Host: gw.example:8080\r\n" +
		"Content-Length: 5\r\n\r\nhello"
	if string(out) != wantHead {
		t.Fatalf("upstream request\n%q\nwant\n%q", out, wantHead)
	}
	if req.Method != "POST" || req.RequestURI != c.URI || req.Host != "10.1.2.3:8080" || req.ContentLength != 5 {
		t.Fatalf("read back: %s %s host %s length %d", req.Method, req.RequestURI, req.Host, req.ContentLength)
	}
}

func TestAppendRequestHopByHopHeadersDropped(t *testing.T) {
	raw := "GET / HTTP/1.1\r\nHost: h\r\nConnection: keep-alive, X-Secret , x-other\r\nconnection: X-Third\r\nKeep-Alive: timeout=5\r\n" +
		"Proxy-Authorization: Basic x\r\nProxy-Connection: keep-alive\r\nProxy-Authenticate: x\r\nTe: trailers\r\nTrailer: X-Sum\r\n" +
		"X-Secret: 1\r\nX-Other: 2\r\nX-Third: 3\r\nX-Kept: 4\r\n\r\n"
	_, out, req, _ := rqBuild(t, raw)
	for _, k := range []string{"Connection", "Keep-Alive", "Proxy-Authorization", "Proxy-Connection", "Proxy-Authenticate", "Te", "Trailer", "X-Secret", "X-Other", "X-Third"} {
		if v, ok := req.Header[k]; ok {
			t.Errorf("%s: %q forwarded in %q", k, v, out)
		}
	}
	if got := req.Header["X-Kept"]; !slices.Equal(got, []string{"4"}) {
		t.Errorf("X-Kept %q", got)
	}
	// Those wire.ScanHead never passes on are dropped too.
	h, fs, _ := rqScan(t, "GET / HTTP/1.1\r\nHost: h\r\nX-A: 1\r\n\r\n")
	fs = append(fs, field{K: "Transfer-Encoding", V: "chunked"}, field{K: "Upgrade", V: "websocket"}, field{K: "Expect", V: "100-continue"},
		field{K: "Content-Length", V: "99"}, field{K: "X-B", V: "2"})
	ri := inspect(fs)
	out = appendRequest(nil, rqCall(h, ri), fs, &ri, rqRemote, nil)
	lines := rqLines(t, out)
	for _, l := range lines {
		k, _, _ := strings.Cut(l, ":")
		switch k {
		case "Transfer-Encoding", "Upgrade", "Expect", "Content-Length":
			t.Errorf("%q forwarded in %q", l, out)
		}
	}
	if !slices.Contains(lines, "X-A: 1") || !slices.Contains(lines, "X-B: 2") {
		t.Errorf("%q", out)
	}
}

func TestAppendRequestHost(t *testing.T) {
	_, out, req, _ := rqBuild(t, "GET /x HTTP/1.1\r\nHost: public.example\r\n\r\n")
	lines := rqLines(t, out)
	if lines[0] != "Host: 10.1.2.3:8080" || req.Host != "10.1.2.3:8080" {
		t.Fatalf("%q", out)
	}
	n := 0
	for _, l := range lines {
		if strings.HasPrefix(strings.ToLower(l), "host:") {
			n++
		}
	}
	if n != 1 {
		t.Fatalf("%d Host lines in %q", n, out)
	}
	// An IPv6 replica.
	h, fs, _ := rqScan(t, "GET /x HTTP/1.1\r\nHost: public.example\r\n\r\n")
	ri := inspect(fs)
	c := rqCall(h, ri)
	c.Addr = netip.MustParseAddrPort("[fd00::1]:8080")
	out = appendRequest(nil, c, fs, &ri, rqRemote, nil)
	req, err := http.ReadRequest(bufio.NewReader(bytes.NewReader(out)))
	if err != nil || req.Host != "[fd00::1]:8080" {
		t.Fatalf("%q: %v", out, err)
	}
}

func TestAppendRequestContentLength(t *testing.T) {
	tests := []struct {
		name, raw string
		want      []string // the Content-Length values sent
	}{
		{"POST with a body", "POST / HTTP/1.1\r\nHost: h\r\nContent-Length: 3\r\n\r\nabc", []string{"3"}},
		{"POST empty", "POST / HTTP/1.1\r\nHost: h\r\nContent-Length: 0\r\n\r\n", []string{"0"}},
		{"POST without a length", "POST / HTTP/1.1\r\nHost: h\r\n\r\n", []string{"0"}},
		{"PUT without a length", "PUT / HTTP/1.1\r\nHost: h\r\n\r\n", []string{"0"}},
		{"PATCH without a length", "PATCH / HTTP/1.1\r\nHost: h\r\n\r\n", []string{"0"}},
		{"GET", "GET / HTTP/1.1\r\nHost: h\r\n\r\n", nil},
		{"GET with an empty length", "GET / HTTP/1.1\r\nHost: h\r\nContent-Length: 0\r\n\r\n", nil},
		{"GET with a body", "GET / HTTP/1.1\r\nHost: h\r\nContent-Length: 2\r\n\r\nhi", []string{"2"}},
		{"DELETE with a body", "DELETE / HTTP/1.1\r\nHost: h\r\nContent-Length: 4\r\n\r\nbody", []string{"4"}},
		{"DELETE empty", "DELETE / HTTP/1.1\r\nHost: h\r\n\r\n", nil},
		{"lowercase post is not POST", "post / HTTP/1.1\r\nHost: h\r\n\r\n", nil},
		{"leading zeros", "PUT / HTTP/1.1\r\nHost: h\r\nContent-Length: 003\r\n\r\nabc", []string{"3"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, out, req, body := rqBuild(t, tt.raw)
			var got []string
			for _, l := range rqLines(t, out) {
				if v, ok := strings.CutPrefix(l, "Content-Length: "); ok {
					got = append(got, v)
				}
			}
			if !slices.Equal(got, tt.want) {
				t.Fatalf("Content-Length %q, want %q in %q", got, tt.want, out)
			}
			if req.ContentLength != int64(len(body)) {
				t.Fatalf("read back: length %d, body %d", req.ContentLength, len(body))
			}
		})
	}
}

func TestInspect(t *testing.T) {
	tests := []struct {
		name   string
		fields []field
		want   reqInfo
	}{
		{"nothing", nil, reqInfo{}},
		{"call id", []field{{K: "X-Call-Id", V: "abc"}}, reqInfo{callID: "abc"}},
		{"first call id", []field{{K: "X-Call-Id", V: "abc"}, {K: "X-Call-Id", V: "def"}}, reqInfo{callID: "abc"}},
		// As the goroutine path (gateway's prepareHeaders) reads it: the
		// first value, if it is not empty; an empty first value is not
		// passed over for a later one.
		{"empty first call id", []field{{K: "X-Call-Id", V: ""}, {K: "X-Call-Id", V: "def"}}, reqInfo{}},
		{"Connection naming another header",
			[]field{{K: "Connection", V: "x-other"}, {K: "X-Call-Id", V: "abc"}}, reqInfo{callID: "abc", hasConnection: true}},
		{"call id named in Connection",
			[]field{{K: "Connection", V: "X-Call-Id"}, {K: "X-Call-Id", V: "abc"}}, reqInfo{hasConnection: true}},
		{"call id named in Connection, any case and spacing",
			[]field{{K: "X-Call-Id", V: "abc"}, {K: "Connection", V: "keep-alive,  x-call-id\t"}}, reqInfo{hasConnection: true}},
		{"forwarded headers", []field{{K: "X-Forwarded-For", V: "1.1.1.1"}, {K: "X-Forwarded-Host", V: "a"}}, reqInfo{hasXFF: true, hasXFH: true}},
		{"empty forwarded headers count", []field{{K: "X-Forwarded-For", V: ""}, {K: "X-Forwarded-Host", V: ""}}, reqInfo{hasXFF: true, hasXFH: true}},
		{"forwarded headers named in Connection",
			[]field{{K: "X-Forwarded-For", V: "1.1.1.1"}, {K: "X-Forwarded-Host", V: "a"}, {K: "Connection", V: "X-Forwarded-For, X-Forwarded-Host"}},
			reqInfo{hasConnection: true}},
		{"event stream", []field{{K: "Accept", V: "text/html, text/event-stream;q=0.9"}}, reqInfo{acceptEventStream: true}},
		{"event stream in a second Accept", []field{{K: "Accept", V: "text/html"}, {K: "Accept", V: "text/event-stream"}}, reqInfo{acceptEventStream: true}},
		{"no event stream", []field{{K: "Accept", V: "text/html"}}, reqInfo{}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := inspect(tt.fields); got != tt.want {
				t.Fatalf("inspect(%q) = %+v, want %+v", tt.fields, got, tt.want)
			}
		})
	}
}

func TestAppendRequestCallIDAndStartTime(t *testing.T) {
	tests := []struct {
		name, headers, want string
	}{
		{"none: the call's own", "", rqGenID},
		{"the caller's", "X-Call-Id: caller-1\r\n", "caller-1"},
		{"the caller's first", "X-Call-Id: caller-1\r\nX-Call-Id: caller-2\r\n", "caller-1"},
		{"empty: the call's own", "X-Call-Id:\r\nX-Call-Id: caller-2\r\n", rqGenID},
		{"named in Connection: the call's own", "Connection: X-Call-Id\r\nX-Call-Id: caller-1\r\n", rqGenID},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			raw := "GET / HTTP/1.1\r\nHost: h\r\n" + tt.headers + "X-Start-Time: 1\r\nx-start-time: 2\r\n\r\n"
			_, out, req, _ := rqBuild(t, raw)
			if got := req.Header["X-Call-Id"]; !slices.Equal(got, []string{tt.want}) {
				t.Fatalf("X-Call-Id %q, want %q in %q", got, tt.want, out)
			}
			want := strconv.FormatInt(rqStart.UnixNano(), 10)
			if got := req.Header["X-Start-Time"]; !slices.Equal(got, []string{want}) {
				t.Fatalf("X-Start-Time %q, want %q", got, want)
			}
		})
	}
}

func TestAppendRequestForwardedHeaders(t *testing.T) {
	tests := []struct {
		name, headers string
		xff, xfh      []string
	}{
		{"added", "", []string{rqRemote}, []string{"public.example"}},
		{"the peer appended to the caller's", "X-Forwarded-For: 198.51.100.1\r\nX-Forwarded-Host: other.example\r\n",
			[]string{"198.51.100.1, " + rqRemote}, []string{"other.example"}},
		{"the peer appended to all of the caller's, in one field", "X-Forwarded-For: 198.51.100.1\r\nX-Forwarded-For: 198.51.100.2, 198.51.100.3 \r\n",
			[]string{"198.51.100.1, 198.51.100.2, 198.51.100.3, " + rqRemote}, []string{"public.example"}},
		{"empty ones: the peer alone", "X-Forwarded-For:\r\nX-Forwarded-Host:\r\n", []string{rqRemote}, []string{""}},
		{"named in Connection: replaced", "Connection: X-Forwarded-For, X-Forwarded-Host\r\nX-Forwarded-For: 198.51.100.1\r\nX-Forwarded-Host: other.example\r\n",
			[]string{rqRemote}, []string{"public.example"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			raw := "GET / HTTP/1.1\r\nHost: public.example\r\n" + tt.headers + "\r\n"
			_, out, req, _ := rqBuild(t, raw)
			if got := req.Header["X-Forwarded-For"]; !slices.Equal(got, tt.xff) {
				t.Errorf("X-Forwarded-For %q, want %q in %q", got, tt.xff, out)
			}
			if got := req.Header["X-Forwarded-Host"]; !slices.Equal(got, tt.xfh) {
				t.Errorf("X-Forwarded-Host %q, want %q in %q", got, tt.xfh, out)
			}
		})
	}
	// No Host (the loop always has one; appendRequest on its own): no
	// X-Forwarded-Host.
	h, fs, _ := rqScan(t, "GET / HTTP/1.1\r\nHost: h\r\n\r\n")
	ri := inspect(fs)
	c := rqCall(h, ri)
	c.Host = ""
	out := appendRequest(nil, c, fs, &ri, rqRemote, nil)
	if bytes.Contains(out, []byte("X-Forwarded-Host")) {
		t.Fatalf("%q", out)
	}
}

func TestHeadEnd(t *testing.T) {
	const head = "GET / HTTP/1.1\r\nHost: h\r\n\r\n"
	tests := []struct {
		name string
		b    string
		want int
	}{
		{"whole head", head, len(head)},
		{"head and body", head + "body", len(head)},
		{"head and the next head", head + head, len(head)},
		{"empty", "", 0},
		{"empty line only", "\r\n", 2},
		{"bare LF first", "\n", -1},
		{"bare LF on the request line", "GET / HTTP/1.1\nHost: h\r\n\r\n", -1},
		{"bare LF on a header line", "GET / HTTP/1.1\r\nHost: h\n\r\n", -1},
		{"bare LF ending the head", "GET / HTTP/1.1\r\nHost: h\r\n\n", -1},
		{"bare LF in the body is not looked at", head + "a\nb", len(head)},
		{"CR CR LF is not the end", "GET / HTTP/1.1\r\nHost: h\r\n\r\r\n", 0},
		{"incomplete: no empty line yet", "GET / HTTP/1.1\r\nHost: h\r\n", 0},
		{"incomplete: CR", "GET / HTTP/1.1\r\nHost: h\r\n\r", 0},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := headEnd([]byte(tt.b)); got != tt.want {
				t.Fatalf("headEnd(%q) = %d, want %d", tt.b, got, tt.want)
			}
		})
	}
	// Every strict prefix of a head is incomplete.
	full := "POST /function/x?y=1 HTTP/1.1\r\nHost: h\r\nContent-Length: 2\r\nX-A: b\r\n\r\nhi"
	end := len(full) - 2
	for i := 0; i < end; i++ {
		if got := headEnd([]byte(full[:i])); got != 0 {
			t.Fatalf("headEnd(%q) = %d, want 0", full[:i], got)
		}
	}
	if got := headEnd([]byte(full)); got != end {
		t.Fatalf("headEnd = %d, want %d", got, end)
	}
}

// TestHeadEndLimit: a head of wire.MaxHeadBytes is taken, one byte more is
// not; bytes that cannot end a head within the limit are refused.
func TestHeadEndLimit(t *testing.T) {
	const max = wire.MaxHeadBytes
	const pre = "GET / HTTP/1.1\r\nHost: h\r\nX-Pad: "
	mk := func(n int) string { // a head of n bytes
		return pre + strings.Repeat("p", n-len(pre)-len("\r\n\r\n")) + "\r\n\r\n"
	}
	if got := headEnd([]byte(mk(max))); got != max {
		t.Fatalf("head of %d bytes: %d", max, got)
	}
	if got := headEnd([]byte(mk(max) + "body")); got != max {
		t.Fatalf("head of %d bytes and a body: %d", max, got)
	}
	if got := headEnd([]byte(mk(max + 1))); got != -1 {
		t.Fatalf("head of %d bytes: %d, want -1", max+1, got)
	}
	// The client's buffer holds max+1 bytes: a head not ended by then is
	// over the limit.
	if got := headEnd([]byte(mk(max + 100)[:max+1])); got != -1 {
		t.Fatalf("%d bytes of a longer head: %d, want -1", max+1, got)
	}
	// max bytes without a line end yet: waits (one more byte tells).
	if got := headEnd([]byte(mk(max + 100)[:max])); got != 0 {
		t.Fatalf("%d bytes without a line end: %d, want 0", max, got)
	}
	// max bytes ending in a header line's CRLF: no head can end within
	// the limit any more.
	ends := pre + strings.Repeat("p", max-len(pre)-2) + "\r\n"
	if got := headEnd([]byte(ends)); len(ends) != max || got != -1 {
		t.Fatalf("%d bytes ending in a line: %d, want -1", len(ends), got)
	}
}

// rqModel is the upstream header the goroutine path sends for an inbound
// request net/http parsed (wire.RemoveHopHeaders and gateway's prepareHeaders,
// then writeRequest's framing), restated here.
func rqModel(in *http.Request, callID string, remote string, body []byte) http.Header {
	h := in.Header.Clone()
	wire.RemoveHopHeaders(h)
	h["X-Call-Id"] = []string{callID}
	h["X-Start-Time"] = []string{strconv.FormatInt(rqStart.UnixNano(), 10)}
	var xff []string // the caller's list, then the peer
	for _, v := range h["X-Forwarded-For"] {
		if v = strings.TrimSpace(v); v != "" {
			xff = append(xff, v)
		}
	}
	h["X-Forwarded-For"] = []string{strings.Join(append(xff, remote), ", ")}
	if len(h["X-Forwarded-Host"]) == 0 && in.Host != "" {
		h["X-Forwarded-Host"] = []string{in.Host}
	}
	delete(h, "Content-Length")
	if len(body) > 0 || in.Method == "POST" || in.Method == "PUT" || in.Method == "PATCH" {
		h["Content-Length"] = []string{strconv.Itoa(len(body))}
	}
	return h
}

// rqModelCallID is the X-Call-Id the goroutine path sends.
func rqModelCallID(in *http.Request) string {
	h := in.Header.Clone()
	for _, v := range h["Connection"] {
		for _, f := range strings.Split(v, ",") {
			if f = strings.TrimSpace(f); f != "" {
				delete(h, http.CanonicalHeaderKey(f))
			}
		}
	}
	if v := h["X-Call-Id"]; len(v) > 0 && v[0] != "" {
		return v[0]
	}
	return rqGenID
}

// FuzzAppendRequestAgreesWithNetHTTP: for any request the loop takes
// (headEnd, wire.ScanHead, and a path wire.PlainPath passes, as the gateway's
// Planner requires), net/http reads the inbound request too, the
// upstream request appendRequest writes parses with http.ReadRequest,
// and its header and body are those the goroutine path would send for
// the request net/http read (rqModel).
func FuzzAppendRequestAgreesWithNetHTTP(f *testing.F) {
	for _, s := range []string{
		"GET / HTTP/1.1\r\nHost: h\r\n\r\n",
		"POST /function/echo?x=1 HTTP/1.1\r\nHost: gw:8080\r\nContent-Length: 5\r\nX-Call-Id: abc\r\n\r\nhello",
		"PUT /x HTTP/1.1\r\nHost: h\r\nConnection: keep-alive, X-Forwarded-For\r\nX-Forwarded-For: 1.2.3.4\r\nKeep-Alive: 1\r\n\r\n",
		"GET / HTTP/1.1\r\nHost: h\r\nX-Call-Id:\r\nX-Call-Id: b\r\nX-Start-Time: 5\r\nx-forwarded-host: o\r\nAccept: text/event-stream\r\n\r\n",
		"DELETE /a/b HTTP/1.1\r\nHost: [::1]:80\r\nTe: trailers\r\nProxy-Authorization: x\r\nConnection: close\r\nContent-Length: 2\r\n\r\nhi",
		"POST /function/f HTTP/1.1\r\nHost: h\r\nContent-Length: -0\r\n\r\n",
	} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, raw string) {
		if outcome := checkRequestAgainstNetHTTP(t, raw); strings.HasPrefix(outcome, "skip") {
			t.Skip(outcome)
		}
	})
}

// checkRequestAgainstNetHTTP is FuzzAppendRequestAgreesWithNetHTTP's
// check; it reports which way it went.
func checkRequestAgainstNetHTTP(t testing.TB, raw string) string {
	t.Helper()
	end := headEnd([]byte(raw))
	if end <= 0 {
		return "headEnd refuses"
	}
	var fs []field
	h, ok := wire.ScanHead(raw[:end], nil, func(_ int, k, v string) { fs = append(fs, field{K: k, V: v}) })
	if !ok {
		return "wire.ScanHead refuses"
	}
	if !wire.PlainPath(h.Path) {
		// The gateway's Planner declines these (the loop hands them back
		// to net/http, which may answer 400 for a bad escape).
		return "not a plain path"
	}
	body := raw[end:]
	if h.ContentLength < 0 {
		body = ""
	} else if int64(len(body)) < h.ContentLength {
		return "incomplete" // the loop waits for the rest
	} else {
		body = body[:h.ContentLength]
	}
	in, err := http.ReadRequest(bufio.NewReader(strings.NewReader(raw[:end] + body)))
	if err != nil && slices.ContainsFunc(fs, func(f field) bool { return f.K == "Content-Length" && strings.HasPrefix(f.V, "-") }) {
		// Known bug, reported with these tests (http1's parseLength, as
		// scanResponse, takes "Content-Length: -0"; net/http answers 400).
		return "skip: known divergence: Content-Length -0"
	}
	if err != nil {
		t.Fatalf("wire.ScanHead takes %q, http.ReadRequest refuses it: %v", raw[:end], err)
	}
	ri := inspect(fs)
	c := rqCall(h, ri)
	if c.CallID != rqModelCallID(in) {
		t.Fatalf("%q: X-Call-Id %q, the goroutine path's %q", raw[:end], c.CallID, rqModelCallID(in))
	}
	if ri.acceptEventStream != slices.ContainsFunc(in.Header["Accept"], func(v string) bool { return strings.Contains(v, "text/event-stream") }) {
		t.Fatalf("%q: acceptEventStream %v", raw[:end], ri.acceptEventStream)
	}
	out := appendRequest(nil, c, fs, &ri, rqRemote, []byte(body))
	up, err := http.ReadRequest(bufio.NewReader(bytes.NewReader(out)))
	if err != nil {
		t.Fatalf("%q: the upstream request %q does not parse: %v", raw[:end], out, err)
	}
	if up.Method != h.Method || up.RequestURI != h.Target || up.Host != rqAddr.String() {
		t.Fatalf("%q: upstream %s %s host %s", out, up.Method, up.RequestURI, up.Host)
	}
	got, err := io.ReadAll(up.Body)
	if err != nil || string(got) != body {
		t.Fatalf("%q: upstream body %q, %v; want %q", out, got, err, body)
	}
	if want := rqModel(in, c.CallID, rqRemote, []byte(body)); !maps.EqualFunc(up.Header, want, slices.Equal) {
		t.Fatalf("%q: upstream header\n%q\nthe goroutine path's\n%q", raw[:end], up.Header, want)
	}
	return "agree"
}

// TestAppendRequestAgreesWithNetHTTPOnGeneratedRequests runs the fuzz
// target's check on requests built from header lines that matter here
// (hop-by-hop, Connection lists, call ids, forwarded headers, lengths).
func TestAppendRequestAgreesWithNetHTTPOnGeneratedRequests(t *testing.T) {
	methods := []string{"GET", "POST", "PUT", "PATCH", "DELETE", "OPTIONS", "post"}
	lines := []string{
		"Connection: keep-alive", "Connection: close", "connection: X-A, x-call-id", "Connection: X-Forwarded-For,, X-Forwarded-Host",
		"Connection: x-start-time, Keep-Alive", "Connection: Content-Type", "Connection: Host",
		"Keep-Alive: timeout=5", "Te: trailers", "Trailer: X-Sum", "Proxy-Authorization: Basic x", "Proxy-Connection: keep-alive",
		"X-Call-Id: caller-1", "x-call-id: caller-2", "X-Call-Id:", "X-Start-Time: 1",
		"X-Forwarded-For: 198.51.100.1", "X-Forwarded-For:", "x-forwarded-host: other", "X-Forwarded-Host: ",
		"X-A: 1", "x-a: 2", "Content-Type: text/plain", "Accept: text/event-stream", "Accept: */*",
		"Content-Length: 3", "Content-Length: 0", "Cookie: a=b",
	}
	outcomes := map[string]int{}
	var seed uint64 = 3
	next := func(n int) int {
		seed = seed*6364136223846793005 + 1442695040888963407
		return int(seed>>33) % n
	}
	for iter := 0; iter < 3000; iter++ {
		var b strings.Builder
		b.WriteString(methods[next(len(methods))] + " /function/f?q=1 HTTP/1.1\r\nHost: gw.example\r\n")
		for n := next(7); n > 0; n-- {
			b.WriteString(lines[next(len(lines))] + "\r\n")
		}
		b.WriteString("\r\nabcdef")
		outcomes[checkRequestAgainstNetHTTP(t, b.String())]++
	}
	t.Logf("outcomes: %v", outcomes)
	if outcomes["agree"] < 1500 {
		t.Fatalf("only %d generated requests were compared: %v", outcomes["agree"], outcomes)
	}
}
