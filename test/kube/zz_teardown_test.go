package kube

import (
	"testing"
	"time"
)

// TestTeardown runs last (files run in name order): it stops the gateway
// and the cluster and checks that nothing of ours is left on the host: no
// process, mount, bridge, netns, KUBE-* iptables chain or rule, route,
// changed sysctl, CNI lease, pod log or kubepods cgroup.
func TestTeardown(t *testing.T) {
	kubeTest(t)
	ferry.Stop()
	ferry = nil
	t0 := time.Now()
	cluster.Stop()
	t.Logf("cluster stopped in %s", time.Since(t0).Round(time.Millisecond))
	if left := cluster.Leftovers(); len(left) > 0 {
		t.Fatalf("left on the host after Stop:\n%v", left)
	}
}
