package e2e

import (
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"
)

// memCgroup is a memory cgroup a test made (v1, or v2 when the memory
// controller is there), removed at cleanup.
type memCgroup struct {
	dir string
	v2  bool
}

// newMemCgroup makes a memory cgroup of limit bytes below this process's
// own, or skips the test when it cannot.
func newMemCgroup(t *testing.T, limit int64) *memCgroup {
	t.Helper()
	if os.Geteuid() != 0 {
		t.Skip("needs root to make a memory cgroup")
	}
	self, _ := os.ReadFile("/proc/self/cgroup")
	var cg *memCgroup
	name := "ferry-e2e-" + strconv.Itoa(os.Getpid()) + "-" + strconv.FormatInt(time.Now().UnixNano()%1e6, 10)
	for _, line := range strings.Split(string(self), "\n") {
		parts := strings.SplitN(line, ":", 3)
		if len(parts) != 3 {
			continue
		}
		if strings.Contains(","+parts[1]+",", ",memory,") {
			cg = &memCgroup{dir: filepath.Join("/sys/fs/cgroup/memory", parts[2], name)}
		} else if parts[0] == "0" && cg == nil {
			ctl, _ := os.ReadFile("/sys/fs/cgroup/cgroup.controllers")
			if strings.Contains(" "+string(ctl)+" ", " memory ") {
				cg = &memCgroup{dir: filepath.Join("/sys/fs/cgroup", parts[2], name), v2: true}
			}
		}
	}
	if cg == nil {
		t.Skip("no cgroup memory controller (v1 or v2) here")
	}
	if err := os.Mkdir(cg.dir, 0o755); err != nil {
		t.Skipf("cannot make a memory cgroup: %v", err)
	}
	t.Cleanup(func() {
		// The processes in it have exited (or been killed) by now.
		for i := 0; i < 50 && os.Remove(cg.dir) != nil; i++ {
			time.Sleep(100 * time.Millisecond)
		}
	})
	file, val := "memory.limit_in_bytes", strconv.FormatInt(limit, 10)
	if cg.v2 {
		file = "memory.max"
	}
	if err := os.WriteFile(filepath.Join(cg.dir, file), []byte(val), 0o644); err != nil {
		t.Fatalf("limit the cgroup: %v", err)
	}
	if cg.v2 {
		os.WriteFile(filepath.Join(cg.dir, "memory.swap.max"), []byte("0"), 0o644)
	}
	return cg
}

// add moves a process (all its threads) into the cgroup.
func (c *memCgroup) add(t *testing.T, pid int) {
	t.Helper()
	if err := os.WriteFile(filepath.Join(c.dir, "cgroup.procs"), []byte(strconv.Itoa(pid)), 0o644); err != nil {
		t.Fatalf("move %d into %s: %v", pid, c.dir, err)
	}
}

// peak is the most memory the cgroup held, in bytes (0 if unknown).
func (c *memCgroup) peak() int64 {
	file := "memory.max_usage_in_bytes"
	if c.v2 {
		file = "memory.peak"
	}
	b, _ := os.ReadFile(filepath.Join(c.dir, file))
	n, _ := strconv.ParseInt(strings.TrimSpace(string(b)), 10, 64)
	return n
}

// stat is a counter of memory.events (v2) or memory.oom_control (v1).
func (c *memCgroup) stat(key string) string {
	file := "memory.oom_control"
	if c.v2 {
		file = "memory.events"
	}
	b, _ := os.ReadFile(filepath.Join(c.dir, file))
	for _, l := range strings.Split(string(b), "\n") {
		if v, ok := strings.CutPrefix(l, key+" "); ok {
			return v
		}
	}
	return "?"
}
