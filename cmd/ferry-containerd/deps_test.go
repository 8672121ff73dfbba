package main

import (
	"os/exec"
	"strings"
	"testing"
)

// The default ferry binary hands --runtime containerd over to this one, so
// it must not link containerd's client (about 6 MB of idle RSS in every
// ferry serve and CLI run), while this one must.
func TestOnlyThisBinaryLinksContainerd(t *testing.T) {
	for pkg, want := range map[string]bool{"../ferry": false, ".": true} {
		out, err := exec.Command("go", "list", "-deps", pkg).Output()
		if err != nil {
			t.Fatalf("go list -deps %s: %v", pkg, err)
		}
		if got := strings.Contains(string(out), "github.com/containerd/containerd/v2/client\n"); got != want {
			t.Errorf("%s links containerd's client: %v, want %v", pkg, got, want)
		}
	}
}
