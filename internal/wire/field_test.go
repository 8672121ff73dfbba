package wire

import (
	"net/http"
	"reflect"
	"strings"
	"testing"
)

func TestListed(t *testing.T) {
	fs := []Field{{K: "X-A", V: "1"}, {K: "Connection", V: " keep-alive ,, x-one\t,X-TWO"}, {K: "Connection", V: "three"}, {K: "X-Four", V: "Connection"}}
	for k, want := range map[string]bool{
		"Keep-Alive": true, "X-One": true, "X-Two": true, "Three": true,
		"X-A": false, "X-Four": false, "Connection": false, "": false, "X-On": false,
	} {
		if got := Listed(fs, k); got != want {
			t.Errorf("Listed(%q) = %v, want %v", k, got, want)
		}
	}
}

func TestItems(t *testing.T) {
	var got []string
	for item := range Items(" a ,,\tB\t, c d ,") {
		got = append(got, item)
	}
	if strings.Join(got, "|") != "a|B|c d" {
		t.Errorf("Items = %q", got)
	}
	if !ListsToken([]string{"keep-alive", "x, Upgrade"}, "upgrade") || ListsToken([]string{"upgrades"}, "upgrade") || ListsToken(nil, "close") {
		t.Error("ListsToken")
	}
}

// The fields a Connection header names go with it, in any case and
// spacing, as do the hop-by-hop ones; the others stay.
func TestRemoveHopHeaders(t *testing.T) {
	h := http.Header{
		"Connection":          {"x-one ,\tX-TWO", "keep-alive,"},
		"X-One":               {"1"},
		"X-Two":               {"2"},
		"Keep-Alive":          {"timeout=5"},
		"Proxy-Authorization": {"Basic eDp5"},
		"Te":                  {"trailers"},
		"Expect":              {"100-continue"},
		"X-Three":             {"3"},
		"Content-Type":        {"text/plain"},
	}
	RemoveHopHeaders(h)
	want := http.Header{"X-Three": {"3"}, "Content-Type": {"text/plain"}}
	if !reflect.DeepEqual(h, want) {
		t.Errorf("left %v, want %v", h, want)
	}
}
