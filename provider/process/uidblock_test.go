package process

import (
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"testing"

	"github.com/ferryfaas/ferry/api"
	"github.com/ferryfaas/ferry/store"
)

// TestUIDBlocks: each data dir of the machine gets a block of its own,
// the same one on every start, also when servers start together; a deleted
// data dir's block is given again; a broken registry is an error naming it.
func TestUIDBlocks(t *testing.T) {
	reg := filepath.Join(t.TempDir(), "ferry", "uid-blocks")
	parent := t.TempDir()
	dirs := make([]string, 6)
	for i := range dirs {
		dirs[i] = filepath.Join(parent, "data"+string(rune('a'+i)))
		os.Mkdir(dirs[i], 0o700)
	}
	bases := make([]int, len(dirs))
	var wg sync.WaitGroup
	for i, d := range dirs {
		wg.Add(1)
		go func() {
			defer wg.Done()
			var err error
			if bases[i], err = claimUIDBlock(reg, d); err != nil {
				t.Error(err)
			}
		}()
	}
	wg.Wait()
	seen := map[int]bool{}
	for i, b := range bases {
		if b < uidBase || b+uidBlockSize > 1<<31 || (b-uidBase)%uidBlockSize != 0 || seen[b] {
			t.Fatalf("data dir %d: block at %d (blocks so far %v)", i, b, bases)
		}
		seen[b] = true
		if again, err := claimUIDBlock(reg, dirs[i]); err != nil || again != b {
			t.Fatalf("data dir %d claimed again: %d, %v; want %d", i, again, err, b)
		}
	}
	// A deleted data dir frees its block; one whose parent is missing (an
	// unmounted volume) keeps it.
	os.RemoveAll(dirs[2])
	fresh := filepath.Join(parent, "fresh")
	if b, err := claimUIDBlock(reg, fresh); err != nil || b != bases[2] {
		t.Fatalf("a new data dir got %d, %v; want the deleted one's %d", b, err, bases[2])
	}
	unmounted := filepath.Join(parent, "not-mounted", "data")
	kept, err := claimUIDBlock(reg, unmounted)
	if err != nil {
		t.Fatal(err)
	}
	claimUIDBlock(reg, filepath.Join(parent, "another"))
	if b, err := claimUIDBlock(reg, unmounted); err != nil || b != kept {
		t.Fatalf("the unmounted data dir's block moved: %d -> %d, %v", kept, b, err)
	}
	if fi, err := os.Stat(reg); err != nil || fi.Mode().Perm() != 0o600 {
		t.Fatalf("registry mode: %v %v", fi, err)
	}
	os.WriteFile(reg, []byte("0 relative/path\n"), 0o600)
	if _, err := claimUIDBlock(reg, fresh); err == nil || !strings.Contains(err.Error(), reg+": line 1") {
		t.Fatalf("broken registry: %v", err)
	}
}

// TestLegacyUIDsMoveIntoTheBlock: a function given a uid by an older Ferry
// (from 200000, a range every data dir shared) gets one of its data dir's
// block at the next start, and can still read its own code.
func TestLegacyUIDsMoveIntoTheBlock(t *testing.T) {
	e := newEnv(t, nil)
	if !e.p.isolate {
		t.Skip("needs root on Linux")
	}
	dg := readerArtifact(t, e)
	e.deploy(api.FunctionDeployment{Service: "old", EnvProcess: "sh read.sh", Annotations: map[string]string{ArtifactAnnotation: dg}})
	e.waitReady("old", 1)
	rec := e.p.lookup(ns, "old").record()
	rec.UID, rec.GID = 200000, 200000
	if err := e.p.putRecord(&rec); err != nil {
		t.Fatal(err)
	}
	e.reopen()
	r := e.waitReady("old", 1)
	got := e.p.lookup(ns, "old").record()
	if !e.p.inBlock(got.UID) || got.GID != got.UID {
		t.Fatalf("uid %d/%d after restart, want one of the block at %d", got.UID, got.GID, e.p.uidBase)
	}
	if _, out := invoke(t, r.Endpoints[0], "read.sh\n"); !strings.Contains(out, "read p") {
		t.Fatalf("the function cannot read its own code after the move: %q", out)
	}
}

// A data dir gives its uids again once their functions are deleted and
// cleaned up: create/delete cycles go on past the block's size, and a uid
// that still runs a process is not given.
func TestUIDsReusedAfterDelete(t *testing.T) {
	e := newEnv(t, func(c *Config) { c.uidCount = 3 })
	if !e.p.isolate {
		t.Skip("needs root on Linux")
	}
	deleteAndWait := func(name string) {
		t.Helper()
		if err := e.p.Delete(t.Context(), ns, name); err != nil {
			t.Fatal(err)
		}
		e.p.mu.Lock()
		done := e.p.cleaning[store.Key(ns, name)]
		e.p.mu.Unlock()
		if done != nil {
			<-done
		}
	}
	seen := map[int]bool{}
	for i := range 8 {
		name := fmt.Sprintf("cycle-%d", i)
		e.deploy(api.FunctionDeployment{Service: name, EnvProcess: "cat"})
		if _, out := invoke(t, e.waitReady(name, 1).Endpoints[0], "hi"); out != "hi" {
			t.Fatalf("cycle %d: %q", i, out)
		}
		uid := e.p.lookup(ns, name).record().UID
		if !e.p.inBlock(uid) {
			t.Fatalf("cycle %d: uid %d outside the block of 3 at %d", i, uid, e.p.uidBase)
		}
		seen[uid] = true
		deleteAndWait(name)
	}
	if len(seen) > 3 {
		t.Fatalf("uids given: %v", seen)
	}

	// A process left running as a freed uid keeps it from being given.
	e.deploy(api.FunctionDeployment{Service: "a", EnvProcess: "cat"})
	e.deploy(api.FunctionDeployment{Service: "b", EnvProcess: "cat"})
	e.deploy(api.FunctionDeployment{Service: "c", EnvProcess: "cat"})
	ua := e.p.lookup(ns, "a").record().UID
	deleteAndWait("a")
	straggler := exec.Command("sleep", "30")
	straggler.SysProcAttr = &syscall.SysProcAttr{Credential: &syscall.Credential{Uid: uint32(ua), Gid: uint32(ua)}}
	if err := straggler.Start(); err != nil {
		t.Fatal(err)
	}
	defer func() { straggler.Process.Kill(); straggler.Wait() }()
	err := e.p.Deploy(t.Context(), api.FunctionDeployment{Service: "d", Namespace: ns, Image: "x", EnvProcess: "cat"})
	if err == nil || !strings.Contains(err.Error(), "no deleted function's uid is free") {
		t.Fatalf("deploy while the only free uid runs a process: %v", err)
	}
	straggler.Process.Kill()
	straggler.Wait()
	e.deploy(api.FunctionDeployment{Service: "d", EnvProcess: "cat"})
	if got := e.p.lookup(ns, "d").record().UID; got != ua {
		t.Fatalf("uid %d, want the freed %d", got, ua)
	}
}
