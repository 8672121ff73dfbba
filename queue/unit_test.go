package queue

import (
	"context"
	"errors"
	"net/http"
	"net/netip"
	"reflect"
	"strings"
	"testing"
	"time"
)

func TestAllowList(t *testing.T) {
	a, err := ParseAllowList([]string{"10.0.0.0/8, hooks.example.com", "*.corp.example", "::1"})
	if err != nil {
		t.Fatal(err)
	}
	a.Resolve = fakeDNS
	for url, ok := range map[string]bool{
		"http://inside.example/":          true,  // resolves into 10.0.0.0/8
		"http://outside.example/":         false, // resolves elsewhere
		"http://mixed.example/":           true,  // one address inside: the dialer uses only that one
		"http://10.1.2.3/x":               true,
		"https://hooks.example.com/x":     true,
		"https://HOOKS.example.com:8443/": true,
		"http://a.b.corp.example/":        true,
		"http://[::1]:9/":                 true,
		"http://11.0.0.1/":                false,
		"http://evil.example.com/":        false,
		"http://corp.example/":            false,
		"http://127.0.0.1/":               false,
	} {
		if err := a.ValidateCallback(context.Background(), url); (err == nil) != ok {
			t.Errorf("%s: allowed=%v, want %v (%v)", url, err == nil, ok, err)
		}
	}
	if _, err := ParseAllowList([]string{"10.0.0.0/99"}); err == nil {
		t.Error("bad CIDR accepted")
	}
	var open *AllowList
	if err := open.ValidateCallback(context.Background(), "http://anything:1/"); err != nil {
		t.Errorf("empty list refused: %v", err)
	}
	for _, bad := range []string{"", "/relative", "ftp://h/", "http://", "mailto:a@b", "http://h:99999/"} {
		if open.ValidateCallback(context.Background(), bad) == nil {
			t.Errorf("%q accepted", bad)
		}
	}
}

// fakeDNS answers for a few names, so that no test queries a real resolver.
func fakeDNS(_ context.Context, host string) ([]netip.Addr, error) {
	switch host {
	case "inside.example":
		return []netip.Addr{netip.MustParseAddr("10.1.1.1")}, nil
	case "outside.example":
		return []netip.Addr{netip.MustParseAddr("192.0.2.1")}, nil
	case "mixed.example":
		return []netip.Addr{netip.MustParseAddr("192.0.2.1"), netip.MustParseAddr("10.2.2.2")}, nil
	}
	return nil, errors.New("no such host")
}

func TestAllowListExplainsRefusal(t *testing.T) {
	a, _ := ParseAllowList([]string{"10.0.0.0/8"})
	a.Resolve = fakeDNS
	err := a.ValidateCallback(context.Background(), "http://outside.example/")
	if err == nil || !strings.Contains(err.Error(), "resolves to [192.0.2.1]") {
		t.Fatalf("refusal does not say where the name resolves: %v", err)
	}
}

func TestBackoff(t *testing.T) {
	b := Backoff{Min: time.Second, Max: 10 * time.Second}
	for n, nominal := range map[int]time.Duration{1: time.Second, 2: 2 * time.Second, 3: 4 * time.Second, 4: 8 * time.Second, 5: 10 * time.Second, 50: 10 * time.Second} {
		for i := 0; i < 20; i++ {
			d := b.Delay(n)
			if d < nominal*8/10 || d >= nominal*12/10 {
				t.Fatalf("attempt %d: %v outside [0.8, 1.2) of %v", n, d, nominal)
			}
		}
	}
}

// TestCodecRoundTrip: both framings carry every field; each reads what
// the other setting wrote (workers of either setting share a queue); a
// broken message of either is refused, not half read.
func TestCodecRoundTrip(t *testing.T) {
	r := &Request{CallID: "id", Function: "f", Namespace: "ns", QueueName: "q", Method: "PATCH", Path: "/p",
		QueryString: "a=1", Host: "h", CallbackURL: "http://cb/", StartTime: -5, Attempt: 2, LastStatus: 503,
		LastError: "boom", BodyRef: "ref", BodySize: 11, Body: []byte("body\x00bytes"),
		Header: http.Header{"X-A": {"1", ""}, "Content-Type": {"text/plain"}, "X-Empty": {}}}
	for _, codec := range []byte{codecJSON, codecBinary} {
		data, err := r.appendCodec(nil, codec)
		if err != nil || data[0] != codec {
			t.Fatalf("codec %d: %v %v", codec, data, err)
		}
		got, err := decode(data)
		if err != nil {
			t.Fatalf("codec %d: %v", codec, err)
		}
		if !reflect.DeepEqual(got, r) {
			t.Fatalf("codec %d:\n got %+v\nwant %+v", codec, got, r)
		}
		for i := 1; i < len(data)-len(r.Body); i++ {
			if got, err := decode(data[:i]); err == nil {
				t.Fatalf("codec %d: %d-byte prefix decoded: %+v", codec, i, got)
			}
		}
	}
	if got, err := decode((&Request{CallID: "x"}).appendCodecMust(t, codecBinary)); err != nil || got.Header != nil || got.CallID != "x" {
		t.Fatalf("%+v %v", got, err)
	}
	for _, bad := range [][]byte{nil, {9, 1}, {codecJSON, 200}, {codecJSON, 5, '{'}, {codecBinary, 1, 0},
		{codecBinary, 16, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff}} {
		if _, err := decode(bad); err == nil {
			t.Errorf("decoded %v", bad)
		}
	}
	if writeCodec != codecBinary {
		t.Fatal("queued calls are written in the binary framing by default")
	}
	defer SetWriteCodec("binary")
	if err := SetWriteCodec("json"); err != nil || writeCodec != codecJSON {
		t.Fatalf("json: %v", err)
	}
	if err := SetWriteCodec("yaml"); err == nil || !strings.Contains(err.Error(), "--queue-codec") {
		t.Fatalf("yaml: %v", err)
	}
}

func (r *Request) appendCodecMust(t *testing.T, codec byte) []byte {
	data, err := r.appendCodec(nil, codec)
	if err != nil {
		t.Fatal(err)
	}
	return data
}

// BenchmarkCodec: encode and decode of a typical call (the enqueue's
// headers), per framing.
func BenchmarkCodec(b *testing.B) {
	r := &Request{CallID: "2Xh3kP9aQ1s7v8w0", Function: "echo", Namespace: "openfaas-fn", QueueName: "openfaas-fn.echo",
		Method: "POST", Host: "127.0.0.1:8080", CallbackURL: "http://127.0.0.1:9000/cb", StartTime: 1, BodySize: 11,
		Header: http.Header{"User-Agent": {"Go-http-client/1.1"}, "X-Call-Id": {"b-1"}, "X-Callback-Url": {"http://127.0.0.1:9000/cb"},
			"Accept-Encoding": {"gzip"}, "X-Forwarded-For": {"127.0.0.1"}}, Body: []byte("hello ferry")}
	for _, c := range []struct {
		name  string
		codec byte
	}{{"json", codecJSON}, {"binary", codecBinary}} {
		b.Run(c.name, func(b *testing.B) {
			b.ReportAllocs()
			buf := make([]byte, 0, 1024)
			for b.Loop() {
				data, _ := r.appendCodec(buf, c.codec)
				if _, err := decode(data); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}
