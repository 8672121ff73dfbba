package containerd

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// A runtime dropped without stopping its replicas (ferry killed with -9)
// leaves running containers, and a Start cut short leaves a bare netns
// and IP lease; the next New removes all of it and the names work again.
func TestNewReapsWhatACrashLeft(t *testing.T) {
	e := newEnv(t, 94)
	e.importProbe(t)
	e.start(t, ReplicaSpec{Instance: "probe-1", Secrets: map[string][]byte{"k": []byte("v")}})
	e.start(t, ReplicaSpec{Instance: "probe-2"})
	// Half a Start: netns and lease, no container.
	ctx := e.rt.ns(context.Background())
	ns, err := newNetns(e.rt.netnsName("fn.half-1"))
	if err != nil {
		t.Fatal(err)
	}
	if _, err := e.rt.attach(ctx, "fn.half-1", ns); err != nil {
		t.Fatal(err)
	}
	if n := len(e.leftovers(t)); n < 10 {
		t.Fatalf("expected the replicas' pieces before the crash, got %v", e.leftovers(t))
	}
	e.rt.Close() // no Stop: what kill -9 leaves

	t0 := time.Now()
	rt, err := New(context.Background(), e.cfg)
	t.Logf("New reaped in %s", time.Since(t0))
	if err != nil {
		t.Fatal(err)
	}
	e.rt = rt
	e.requireClean(t)
	x := e.start(t, ReplicaSpec{Instance: "probe-1"})
	if err := x.Stop(context.Background(), 5*time.Second); err != nil {
		t.Fatal(err)
	}
	e.requireClean(t)
}

// Reap keeps what the caller still supervises (after a containerd
// restart) and removes the rest.
func TestReapKeepsLiveReplicas(t *testing.T) {
	e := newEnv(t, 95)
	e.importProbe(t)
	keep := e.start(t, ReplicaSpec{Instance: "probe-1"})
	gone := e.start(t, ReplicaSpec{Instance: "probe-2"})
	err := e.rt.Reap(context.Background(), func(instance string) bool { return instance == "probe-1" })
	if err != nil {
		t.Fatal(err)
	}
	select {
	case <-gone.Done(): // its supervisor has let go of its stdio
	case <-time.After(10 * time.Second):
		t.Fatal("a reaped replica's Done is still open")
	}
	left := e.leftovers(t)
	want := map[string]bool{"container fn.probe-1": true, "task fn.probe-1": true, "snapshot fn.probe-1": true,
		"netns " + e.rt.netnsName("fn.probe-1"): true}
	leases, fifos := 0, 0
	for _, l := range left {
		if strings.HasPrefix(l, "IP lease ") {
			leases++
		} else if strings.HasPrefix(l, "fifo ") {
			fifos++
		} else if !want[l] {
			t.Errorf("Reap left %s", l)
		}
		delete(want, l)
	}
	if len(want) > 0 || leases != 1 || fifos != 1 {
		t.Fatalf("after Reap, missing %v or not one IP lease and one stdio FIFO set: %v", want, left)
	}
	ask(t, keep, "op=id")
	if _, err := os.Stat(filepath.Join(netnsDir, e.rt.netnsName("fn.probe-2"))); err == nil {
		t.Fatal("probe-2's netns survived Reap")
	}
}

// A containerd restart is not an exit: the shim keeps the container, the
// replica keeps serving and its Done stays open; Stop still cleans up.
func TestReplicaOutlivesContainerdRestart(t *testing.T) {
	e := newEnv(t, 99)
	e.importProbe(t)
	x := e.start(t, ReplicaSpec{Instance: "probe-1"})
	if err := e.ctd.Restart(); err != nil {
		t.Fatal(err)
	}
	ask(t, x, "op=id")
	select {
	case <-x.Done():
		t.Fatalf("replica reported gone after a containerd restart: %v", x.Err())
	case <-time.After(2 * time.Second):
	}
	ask(t, x, "op=id")
	if err := x.Stop(context.Background(), 5*time.Second); err != nil {
		t.Fatal(err)
	}
	if err := x.Err(); err != ErrStopped {
		t.Fatalf("Err() after Stop = %v", err)
	}
	e.requireClean(t)
}
