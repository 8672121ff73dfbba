package queue

import (
	"context"
	"errors"
	"net/netip"
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

func TestCodecRoundTrip(t *testing.T) {
	r := &Request{CallID: "id", Function: "f", Namespace: "ns", Method: "PATCH", Path: "/p", Body: []byte("body\x00bytes")}
	data, err := r.encode()
	if err != nil {
		t.Fatal(err)
	}
	got, err := decode(data)
	if err != nil || got.CallID != "id" || got.Method != "PATCH" || string(got.Body) != "body\x00bytes" {
		t.Fatalf("%+v %v", got, err)
	}
	for _, bad := range [][]byte{nil, {9, 1}, {codecVersion, 200}, {codecVersion, 5, '{'}} {
		if _, err := decode(bad); err == nil {
			t.Errorf("decoded %v", bad)
		}
	}
}
