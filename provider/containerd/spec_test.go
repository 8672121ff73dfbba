package containerd

import (
	"context"
	"strings"
	"testing"

	"github.com/containerd/containerd/v2/pkg/oci"
	specs "github.com/opencontainers/runtime-spec/specs-go"
)

// An image that says root runs as nobody; any non-root replica keeps the
// default capabilities only as its bounding set.
func TestUnprivilegedUser(t *testing.T) {
	caps := []string{"CAP_CHOWN", "CAP_NET_RAW"}
	for _, c := range []struct {
		uid, gid, wantUID, wantGID uint32
	}{{0, 0, nobodyID, nobodyID}, {1000, 0, 1000, 1000}, {1000, 1001, 1000, 1001}} {
		s := &oci.Spec{Process: &specs.Process{
			User:         specs.User{UID: c.uid, GID: c.gid, AdditionalGids: []uint32{0}},
			Capabilities: &specs.LinuxCapabilities{Bounding: caps, Effective: caps, Permitted: caps, Ambient: caps, Inheritable: caps},
		}}
		if err := unprivileged(context.Background(), nil, nil, s); err != nil {
			t.Fatal(err)
		}
		u, k := s.Process.User, s.Process.Capabilities
		if u.UID != c.wantUID || u.GID != c.wantGID {
			t.Errorf("image user %d:%d runs as %d:%d, want %d:%d", c.uid, c.gid, u.UID, u.GID, c.wantUID, c.wantGID)
		}
		if c.uid == 0 && len(u.AdditionalGids) != 0 {
			t.Errorf("root's groups kept: %v", u.AdditionalGids)
		}
		if len(k.Effective)+len(k.Permitted)+len(k.Ambient)+len(k.Inheritable) != 0 || len(k.Bounding) != 2 {
			t.Errorf("capabilities %+v", k)
		}
	}
}

func TestContainerID(t *testing.T) {
	if id, err := containerID("openfaas-fn", "figlet-3"); err != nil || id != "openfaas-fn.figlet-3" {
		t.Fatalf("got %q %v", id, err)
	}
	for _, bad := range []string{"", "a/b", "a b", strings.Repeat("x", 80)} {
		if _, err := containerID("fn", bad); err == nil || !strings.Contains(err.Error(), "instance") {
			t.Errorf("instance %q: %v", bad, err)
		}
	}
}

func TestPlainHTTPRegistries(t *testing.T) {
	r := &Runtime{cfg: Config{InsecureRegistries: []string{"reg.lan:5000", "other.lan"}}}
	for host, want := range map[string]bool{
		"127.0.0.1:5000": true, "localhost:5000": true, "[::1]:5000": true, "reg.lan:5000": true,
		"other.lan:443": true, "reg.lan": false, "ghcr.io": false, "10.0.0.1:5000": false,
	} {
		if got := r.plainHTTP(host); got != want {
			t.Errorf("plainHTTP(%s) = %v, want %v", host, got, want)
		}
	}
}
