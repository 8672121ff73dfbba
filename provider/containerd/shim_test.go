package containerd

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// Every replica of a runtime is served by one containerd shim: a replica
// costs no shim process of its own, and once the last one is gone the
// shim is gone too.
func TestReplicasShareOneShim(t *testing.T) {
	e := newEnv(t, 89)
	e.importProbe(t)
	var xs []*Replica
	for i := 0; i < 3; i++ {
		t0 := time.Now()
		xs = append(xs, e.start(t, ReplicaSpec{Instance: fmt.Sprintf("probe-%d", i)}))
		t.Logf("replica %d ready in %s", i, time.Since(t0).Round(time.Millisecond))
	}
	if shims := shimPids(e.cfg.Namespace); len(shims) != 1 {
		t.Errorf("%d shims serve 3 replicas (%v), want 1", len(shims), shims)
	}
	for _, x := range xs {
		if err := x.Stop(context.Background(), 5*time.Second); err != nil {
			t.Fatal(err)
		}
	}
	deadline := time.Now().Add(10 * time.Second)
	for len(shimPids(e.cfg.Namespace)) > 0 && time.Now().Before(deadline) {
		time.Sleep(50 * time.Millisecond)
	}
	if shims := shimPids(e.cfg.Namespace); len(shims) > 0 {
		t.Errorf("shims %v still run after the last replica stopped", shims)
	}
	e.requireClean(t)
}

// shimPids lists the containerd shims serving a containerd namespace.
func shimPids(namespace string) []string {
	var out []string
	procs, _ := filepath.Glob("/proc/[0-9]*/cmdline")
	for _, p := range procs {
		b, err := os.ReadFile(p)
		if err == nil && strings.Contains(string(b), "containerd-shim") && strings.Contains(string(b), "\x00-namespace\x00"+namespace+"\x00") {
			out = append(out, filepath.Base(filepath.Dir(p)))
		}
	}
	return out
}
