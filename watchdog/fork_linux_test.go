//go:build linux

package watchdog

import (
	"net/http"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"
)

// TestForkExecTimeout: a fork that outlives exec_timeout answers 408 and its
// whole process group (the background grandchild too) is killed.
func TestForkExecTimeout(t *testing.T) {
	pidFile := filepath.Join(t.TempDir(), "pid")
	for _, mode := range []string{"streaming", "serializing"} {
		t.Run(mode, func(t *testing.T) {
			wd := start(t, testConfig(t, "mode="+mode, "exec_timeout=0.3",
				"fprocess=sleep 30 & echo $! > "+pidFile+"; wait"))
			began := time.Now()
			code, _, body := call(t, "GET", wd.url+"/", "")
			if code != http.StatusRequestTimeout {
				t.Fatalf("got %d %q, want 408", code, body)
			}
			if el := time.Since(began); el > 3*time.Second {
				t.Errorf("408 took %s", el)
			}
			b, err := os.ReadFile(pidFile)
			if err != nil {
				t.Fatal(err)
			}
			pid, _ := strconv.Atoi(strings.TrimSpace(string(b)))
			// SIGKILL was sent to the group before Wait returned; its delivery
			// to the grandchild is asynchronous, so allow it a moment. A killed
			// process is at most a zombie until its reaper collects it.
			deadline := time.Now().Add(2 * time.Second)
			st := procState(pid)
			for st != "" && st != "Z" && time.Now().Before(deadline) {
				time.Sleep(5 * time.Millisecond)
				st = procState(pid)
			}
			if st != "" && st != "Z" {
				t.Errorf("grandchild %d still alive (state %s)", pid, st)
			}
		})
	}
}

// procState is the one-letter state of pid from /proc, "" if gone.
func procState(pid int) string {
	b, err := os.ReadFile("/proc/" + strconv.Itoa(pid) + "/stat")
	if err != nil {
		return ""
	}
	s := string(b)
	if i := strings.LastIndexByte(s, ')'); i >= 0 && i+3 <= len(s) {
		return s[i+2 : i+3]
	}
	return "?"
}

// TestForkLeftoverChild: a function that exits but leaves a background child
// holding stdout still gets its answer (after a short grace), and the child
// is killed with the request.
func TestForkLeftoverChild(t *testing.T) {
	pidFile := filepath.Join(t.TempDir(), "pid")
	for _, mode := range []string{"streaming", "serializing"} {
		t.Run(mode, func(t *testing.T) {
			cfg := testConfig(t, "mode="+mode, "exec_timeout=0", "fprocess=sleep 30 & echo $! > "+pidFile+"; echo hi")
			cfg.exitGrace = 100 * time.Millisecond
			wd := start(t, cfg)
			began := time.Now()
			code, _, body := call(t, "GET", wd.url+"/", "")
			if code != 200 || body != "hi\n" {
				t.Fatalf("got %d %q", code, body)
			}
			if el := time.Since(began); el > 2*time.Second {
				t.Errorf("answer took %s", el)
			}
			b, _ := os.ReadFile(pidFile)
			pid, _ := strconv.Atoi(strings.TrimSpace(string(b)))
			deadline := time.Now().Add(2 * time.Second)
			st := procState(pid)
			for st != "" && st != "Z" && time.Now().Before(deadline) {
				time.Sleep(5 * time.Millisecond)
				st = procState(pid)
			}
			if st != "" && st != "Z" {
				syscall.Kill(pid, syscall.SIGKILL)
				t.Errorf("leftover child %d still running (state %s)", pid, st)
			}
		})
	}
}
