//go:build linux

package process

import (
	"bufio"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"syscall"
	"time"
)

// detectCgroups finds the memory and cpu controllers: cgroup v1 (also in
// hybrid mode, as on this project's hosts) first, then v2.
func detectCgroups() *cgroupMgr {
	m := &cgroupMgr{}
	f, err := os.Open("/proc/self/mountinfo")
	if err != nil {
		m.reason = "cannot read /proc/self/mountinfo: " + err.Error()
		return m
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		// ... mountpoint(5th) ... - fstype source superopts
		fields := strings.Fields(sc.Text())
		sep := slices.Index(fields, "-")
		if len(fields) < 5 || sep < 0 || sep+3 >= len(fields) {
			continue
		}
		mnt, fstype, opts := fields[4], fields[sep+1], strings.Split(fields[sep+3], ",")
		switch fstype {
		case "cgroup":
			if slices.Contains(opts, "memory") && m.mem == "" {
				m.mem = mnt
			}
			if slices.Contains(opts, "cpu") && m.cpu == "" {
				m.cpu = mnt
			}
			if slices.Contains(opts, "pids") && m.pids == "" {
				m.pids = mnt
			}
		case "cgroup2":
			if b, err := os.ReadFile(filepath.Join(mnt, "cgroup.controllers")); err == nil {
				c := strings.Fields(string(b))
				if slices.Contains(c, "memory") && slices.Contains(c, "cpu") && m.unified == "" {
					m.unified = mnt
				}
			}
		}
	}
	switch {
	case m.mem != "" && m.cpu != "":
		m.version = "v1"
		for _, root := range []string{m.mem, m.cpu} {
			if err := os.MkdirAll(filepath.Join(root, "ferry"), 0o755); err != nil {
				m.version, m.reason = "", "cannot create a cgroup under "+root+": "+err.Error()
			}
		}
		if m.pids != "" && os.MkdirAll(filepath.Join(m.pids, "ferry"), 0o755) != nil {
			m.pids = "" // no pids limit, the rest still works
		}
	case m.unified != "":
		m.version = "v2"
		if err := v2Enable(m.unified, "ferry"); err != nil {
			m.version, m.reason = "", "cannot enable the memory and cpu controllers under "+m.unified+": "+err.Error()
		}
	default:
		m.reason = "no cgroup v1 memory+cpu hierarchies and no cgroup v2 with memory and cpu controllers are mounted"
	}
	return m
}

// v2Enable turns on memory and cpu for the children of parent and of each
// dir below it down to rel, creating them.
func v2Enable(parent, rel string) error {
	dir := parent
	for _, el := range append([]string{""}, strings.Split(rel, "/")...) {
		dir = filepath.Join(dir, el)
		if err := os.MkdirAll(dir, 0o755); err != nil {
			return err
		}
		if err := os.WriteFile(filepath.Join(dir, "cgroup.subtree_control"), []byte("+memory +cpu"), 0); err != nil {
			return err
		}
		// pids is optional: it may be bound to a v1 hierarchy instead.
		os.WriteFile(filepath.Join(dir, "cgroup.subtree_control"), []byte("+pids"), 0)
	}
	return nil
}

// create makes (or reuses) ferry/<fn>/<replica> with the given limits
// (0: none), all but the memory limit: limitMemory sets that one once
// no thread of ferry is in the group.
func (m *cgroupMgr) create(fn, replica string, lim limits) (*cgroup, error) {
	const period = 100000 // µs
	write := func(dir, file, val string) error {
		if err := os.WriteFile(filepath.Join(dir, file), []byte(val), 0); err != nil {
			return fmt.Errorf("set %s: %w", file, err)
		}
		return nil
	}
	if m.version == "v2" {
		fnDir := filepath.Join(m.unified, m.base, fn)
		if err := v2Enable(m.unified, filepath.Join(m.base, fn)); err != nil {
			return nil, err
		}
		dir := filepath.Join(fnDir, replica)
		if err := os.MkdirAll(dir, 0o755); err != nil {
			return nil, err
		}
		cpu := "max " + strconv.Itoa(period)
		if lim.cpuMilli > 0 {
			cpu = strconv.FormatInt(lim.cpuMilli*period/1000, 10) + " " + strconv.Itoa(period)
		}
		c := &cgroup{dirs: []string{dir}, v2: true, memFile: filepath.Join(dir, "memory.max"), mem: lim.memBytes}
		err := write(dir, "cpu.max", cpu)
		if _, serr := os.Stat(filepath.Join(dir, "pids.max")); serr == nil {
			err = errors.Join(err, write(dir, "pids.max", pidsMax(lim.pids)))
		}
		return c, err
	}
	// v1: the cpu hierarchy only for a CPU limit. A nested cpu group makes
	// the scheduler account each switch at every level: measured on the
	// 2-core bench box, a replica's watchdog took about 10% more CPU per
	// call in one (and calls switch threads several times). The memory
	// group, which also finds every process of the replica, is always made.
	memDir := filepath.Join(m.mem, m.base, fn, replica)
	c := &cgroup{dirs: []string{memDir}, memFile: filepath.Join(memDir, "memory.limit_in_bytes"), mem: lim.memBytes}
	cpuDir := filepath.Join(m.cpu, m.base, fn, replica)
	if lim.cpuMilli > 0 && cpuDir != memDir {
		c.dirs = append(c.dirs, cpuDir)
	}
	pidsDir := ""
	if lim.pids > 0 && m.pids != "" && m.pids != m.mem && m.pids != m.cpu {
		pidsDir = filepath.Join(m.pids, m.base, fn, replica)
		c.dirs = append(c.dirs, pidsDir)
	}
	for _, d := range c.dirs {
		if err := os.MkdirAll(d, 0o755); err != nil {
			return nil, err
		}
	}
	// No limit while the spawner's thread passes through (a group left
	// behind by a previous start keeps its old one): see limitMemory.
	err := write(memDir, "memory.limit_in_bytes", "-1")
	if lim.cpuMilli > 0 {
		err = errors.Join(err, write(cpuDir, "cpu.cfs_period_us", strconv.Itoa(period)),
			write(cpuDir, "cpu.cfs_quota_us", strconv.FormatInt(lim.cpuMilli*period/1000, 10)))
	}
	if pidsDir != "" {
		err = errors.Join(err, write(pidsDir, "pids.max", pidsMax(lim.pids)))
	}
	return c, err
}

func pidsMax(n int64) string {
	if n <= 0 {
		return "max"
	}
	return strconv.FormatInt(n, 10)
}

// limitMemory sets the group's memory limit. It is called once the
// spawner's thread is back in its own groups, right after the watchdog
// was forked: the watchdog is only starting then, far below any limit
// at or above the floor (minMemoryBytes), and if it ever were above, the
// kernel refuses the limit and the replica is not run without one.
func (c *cgroup) limitMemory() error {
	if c == nil || c.memFile == "" {
		return nil
	}
	val := strconv.FormatInt(c.mem, 10)
	if c.mem <= 0 {
		if !c.v2 {
			return nil // create left it unlimited
		}
		val = "max"
	}
	if err := os.WriteFile(c.memFile, []byte(val), 0); err != nil {
		return fmt.Errorf("set the memory limit of %s: %w", filepath.Dir(c.memFile), err)
	}
	return nil
}

// pids lists the processes in the group.
func (c *cgroup) pids() []int {
	if c == nil {
		return nil
	}
	var out []int
	for _, d := range c.dirs {
		b, _ := os.ReadFile(filepath.Join(d, "cgroup.procs"))
		for _, f := range strings.Fields(string(b)) {
			// Never ferry itself: its spawner's thread is in a replica's
			// group for the moment it forks the watchdog (cgjoin_linux.go).
			if n, err := strconv.Atoi(f); err == nil && n != os.Getpid() && !slices.Contains(out, n) {
				out = append(out, n)
			}
		}
	}
	return out
}

func (c *cgroup) killAll() {
	for _, p := range c.pids() {
		syscall.Kill(p, syscall.SIGKILL)
	}
}

// remove deletes the group once its killed processes are gone (they take
// a moment to exit); a group left behind is reused by the next start.
func (c *cgroup) remove() {
	if c == nil {
		return
	}
	for _, d := range c.dirs {
		for i := 0; i < 20; i++ {
			if err := syscall.Rmdir(d); err == nil || errors.Is(err, syscall.ENOENT) {
				break
			}
			c.killAll()
			time.Sleep(5 * time.Millisecond)
		}
	}
}

// removeFunction deletes the function's groups after a delete or on
// Close, replica groups left in them included (their processes killed);
// fn "" removes this server's base group if empty.
func (m *cgroupMgr) removeFunction(fn string) {
	if !m.enabled() {
		return
	}
	for _, root := range []string{m.mem, m.cpu, m.pids, m.unified} {
		if root == "" {
			continue
		}
		if fn == "" {
			syscall.Rmdir(filepath.Join(root, m.base))
		} else {
			reapFunction(filepath.Join(root, m.base, fn))
		}
	}
}

// reapStale kills and removes what a previous run of this server left in
// its cgroups (ferry killed with SIGKILL: the watchdogs die with it, but
// processes they started may not). Called before restoring functions.
func (m *cgroupMgr) reapStale() int {
	if !m.enabled() {
		return 0
	}
	killed := 0
	for _, root := range []string{m.mem, m.cpu, m.pids, m.unified} {
		if root == "" {
			continue
		}
		fns, _ := os.ReadDir(filepath.Join(root, m.base))
		for _, fn := range fns {
			if fn.IsDir() {
				killed += reapFunction(filepath.Join(root, m.base, fn.Name()))
			}
		}
	}
	return killed
}

// reapFunction kills the processes of a function group's replica groups,
// removes them, then the function group; it returns how many it killed.
func reapFunction(dir string) int {
	killed := 0
	reps, _ := os.ReadDir(dir)
	for _, r := range reps {
		if r.IsDir() {
			c := &cgroup{dirs: []string{filepath.Join(dir, r.Name())}}
			killed += len(c.pids())
			c.remove()
		}
	}
	(&cgroup{dirs: []string{dir}}).remove()
	return killed
}
