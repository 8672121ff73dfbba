package bench

import "testing"

func TestSelected(t *testing.T) {
	for _, c := range []struct {
		name, filter string
		want         bool
	}{
		{"wasm", "", true},
		{"wasm", "wasm", true},
		{"containerd", "wasm", false},
		{"containerd", "wasm,containerd", true},
		{"wasm", "wasm, containerd", true},
		{"core", "wasm,containerd", false},
		{"core", ",", false},
	} {
		if got := selected(c.name, c.filter); got != c.want {
			t.Errorf("selected(%q, %q) = %v", c.name, c.filter, got)
		}
	}
}
