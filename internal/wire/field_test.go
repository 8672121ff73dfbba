package wire

import "testing"

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
