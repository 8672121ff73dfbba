package wire

import (
	"bufio"
	"net/http"
	"net/textproto"
	"slices"
	"strings"
	"testing"
	"time"
)

// The two forms of the contract's headers, the header map of the
// goroutine path and the bytes of the event loop, carry the same values.
func TestSetContractAgreesWithAppendContract(t *testing.T) {
	start := time.Unix(1700000000, 123456789)
	for _, tc := range []struct {
		name string
		in   http.Header
		host string
	}{
		{"bare", http.Header{}, "gw:8080"},
		{"caller's id and lists", http.Header{CallID: {"abc"}, ForwardedFor: {"198.51.100.1", " ", "10.0.0.1 "}}, "gw"},
		{"empty id, caller's host", http.Header{CallID: {""}, ForwardedHost: {"origin"}}, "gw"},
		{"no host", http.Header{}, ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			h := tc.in.Clone()
			callID := SetContract(h, func() string { return "new-id" }, start, "192.0.2.7", tc.host)
			if len(callID) != 1 || h.Get(CallID) != callID[0] {
				t.Fatalf("call id %q, header %q", callID, h[CallID])
			}
			id, host := callID[0], tc.host
			if len(tc.in[ForwardedHost]) > 0 {
				host = ""
			}
			var prior []Field
			for _, v := range tc.in[ForwardedFor] {
				prior = append(prior, Field{K: ForwardedFor, V: v}, Field{K: "X-Other", V: "x"})
			}
			b := AppendContract(nil, id, start, prior, "192.0.2.7", host)
			got, err := textproto.NewReader(bufio.NewReader(strings.NewReader(string(b) + "\r\n"))).ReadMIMEHeader()
			if err != nil {
				t.Fatalf("%q: %v", b, err)
			}
			for _, k := range []string{CallID, StartTime, ForwardedFor, ForwardedHost} {
				if k == ForwardedHost && host == "" && tc.host != "" {
					continue // the caller's own, passed on with its other fields
				}
				if !slices.Equal(got[k], h[k]) {
					t.Errorf("%s: bytes %q, map %q", k, got[k], h[k])
				}
			}
		})
	}
}

// With no peer (a queued call handed over in process) the caller's list
// is kept as it is, and no list at all means no X-Forwarded-For.
func TestSetContractWithoutPeer(t *testing.T) {
	h := http.Header{ForwardedFor: {"198.51.100.1", "203.0.113.9"}}
	SetContract(h, func() string { return "id" }, time.Now(), "", "gw")
	if got := h[ForwardedFor]; len(got) != 1 || got[0] != "198.51.100.1, 203.0.113.9" {
		t.Fatalf("X-Forwarded-For %q, want the caller's list joined, nothing added", got)
	}
	h = http.Header{}
	SetContract(h, func() string { return "id" }, time.Now(), "", "gw")
	if got, ok := h[ForwardedFor]; ok {
		t.Fatalf("X-Forwarded-For %q with no list and no peer, want none", got)
	}
}
