package wasmrt

import (
	"context"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/ferryfaas/ferry/api"
	"github.com/ferryfaas/ferry/provider/process"
)

// A symlink in the function's tree that resolves outside it must not
// give the guest the host's files. wazero's read-only dir mount opens
// paths with the host's resolution, so a link is followed wherever it
// points. The artifact check refuses such links on upload, but a tree
// unpacked by an older Ferry (kept across upgrades: an unpacked dir is
// never unpacked again) still has them: the runtime must refuse the tree
// (Prepare fails) or not follow the link.
func TestSymlinkLeavingHomeAppNotFollowed(t *testing.T) {
	tmp := t.TempDir()
	codeDir := filepath.Join(tmp, "code")
	if err := os.MkdirAll(codeDir, 0o700); err != nil {
		t.Fatal(err)
	}
	// Another function's secret copy, beside this function's tree.
	if err := os.WriteFile(filepath.Join(codeDir, "other-secret"), []byte("OTHER"), 0o600); err != nil {
		t.Fatal(err)
	}
	rt, err := New(cacheDir, 64<<20)
	if err != nil {
		t.Fatal(err)
	}
	defer rt.Close()
	v := &process.Version{Deployment: &api.FunctionDeployment{Service: "guest", Namespace: "ferry-fn"}, UID: -1, GID: -1,
		Env: []string{"healthcheck_interval=0"}, Artifact: "abc", CodeDir: codeDir,
		Unpack: func(dir string) error {
			if err := unpackGuest(dir); err != nil {
				return err
			}
			// The chain an archive could hold: each link alone stays inside.
			if err := os.MkdirAll(filepath.Join(dir, "d1"), 0o755); err != nil {
				return err
			}
			if err := os.Symlink("..", filepath.Join(dir, "d1", "d2")); err != nil {
				return err
			}
			return os.Symlink("d1/d2/..", filepath.Join(dir, "l"))
		}}
	prep, err := rt.Prepare(context.Background(), v)
	if err != nil || prep.Failure != "" {
		t.Logf("refused at prepare: %v %s", err, prep.Failure)
		return
	}
	f := &fixture{t: t, rt: rt, ver: v, prep: prep}
	url := f.start()
	code, body := call(t, url+"/?read", "/home/app/l/other-secret")
	if strings.Contains(body, "OTHER") {
		t.Fatalf("the guest read a file outside /home/app through a symlink: %d %q", code, body)
	}
}

// exec_timeout must stop a guest that sleeps, as it stops one that loops.
// wazero's poll_oneoff sleeps in the host (time.Sleep) without looking at
// the call's context, so a guest's time.Sleep(20s) under exec_timeout=1s
// ran the full 20 s, holding its max_inflight slot and its memory, and the
// caller got no 408 but a cut connection at the end.
func TestSleepStoppedAtTimeout(t *testing.T) {
	url := newFixture(t, &api.FunctionDeployment{}, "exec_timeout=1s").start()
	start := time.Now()
	req, _ := http.NewRequest("POST", url+"/?sleep", strings.NewReader("10s"))
	resp, err := http.DefaultClient.Do(req)
	took := time.Since(start)
	if err == nil {
		resp.Body.Close()
	}
	if err != nil || resp.StatusCode != http.StatusRequestTimeout || took > 5*time.Second {
		code := 0
		if resp != nil {
			code = resp.StatusCode
		}
		t.Fatalf("a guest sleeping 10s under exec_timeout=1s: %d %v after %s, want 408 within a few seconds", code, err, took.Round(time.Millisecond))
	}
}
