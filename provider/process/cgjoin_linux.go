//go:build linux

package process

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
)

// Starting a replica inside its cgroups.
//
// A process moved through cgroup v1's cgroup.procs makes the kernel take
// the global threadgroup lock, whose write side waits for an RCU grace
// period: 8-20 ms per move on the bench VM, most of a Go function's cold
// start when the watchdog joined its groups itself. Moving one thread,
// the caller's own, by writing "0" to "tasks" skips that lock (about
// 0.2 ms). A child is born in the cgroups of the thread that forks it, so
// the spawner's thread joins the replica's groups, forks the watchdog and
// goes back home. (cgroup v2 has no "tasks" file; there the watchdog still
// joins by itself.)

// enterThread moves the calling thread, which must be locked to its
// goroutine, into the v1 cgroup dirs of a replica, and returns the
// function that moves it back to the groups it was in.
func (m *cgroupMgr) enterThread(dirs []string) (back func() error, err error) {
	if m == nil || m.version != "v1" {
		return nil, errors.New("not cgroup v1")
	}
	homes, err := m.threadHomes(dirs)
	if err != nil {
		return nil, err
	}
	back = func() error {
		var errs []error
		for _, h := range homes {
			errs = append(errs, writeTasks(h))
		}
		return errors.Join(errs...)
	}
	for _, d := range dirs {
		if err := writeTasks(d); err != nil {
			if berr := back(); berr != nil {
				err = errors.Join(err, berr)
			}
			return nil, err
		}
	}
	return back, nil
}

// threadHomes finds, for each replica dir, the dir of the same hierarchy
// that the calling thread is in now (from /proc/thread-self/cgroup).
func (m *cgroupMgr) threadHomes(dirs []string) ([]string, error) {
	b, err := os.ReadFile("/proc/thread-self/cgroup")
	if err != nil {
		return nil, err
	}
	var homes []string
	for _, d := range dirs {
		mount, ctl := m.mem, "memory"
		switch {
		case strings.HasPrefix(d, m.cpu+"/"):
			mount, ctl = m.cpu, "cpu"
		case m.pids != "" && strings.HasPrefix(d, m.pids+"/"):
			mount, ctl = m.pids, "pids"
		}
		path, ok := threadCgroup(string(b), ctl)
		if !ok {
			return nil, fmt.Errorf("no %s line in /proc/thread-self/cgroup", ctl)
		}
		home := filepath.Join(mount, path)
		// Never make a replica's group (a failed move back) the home; and
		// a mount of a sub-tree (a container's) does not show the path.
		if strings.HasPrefix(home+"/", filepath.Join(mount, m.base)+"/") {
			return nil, fmt.Errorf("the spawner's thread is still in %s", home)
		}
		if _, err := os.Stat(filepath.Join(home, "tasks")); err != nil {
			return nil, fmt.Errorf("the spawner's %s group: %w", ctl, err)
		}
		homes = append(homes, home)
	}
	return homes, nil
}

// threadCgroup is the path of the v1 hierarchy holding controller ctl in
// a /proc/*/cgroup text ("4:memory:/a/b", "3:cpu,cpuacct:/").
func threadCgroup(text, ctl string) (string, bool) {
	for _, line := range strings.Split(text, "\n") {
		parts := strings.SplitN(line, ":", 3)
		if len(parts) == 3 && strings.Contains(","+parts[1]+",", ","+ctl+",") {
			return parts[2], true
		}
	}
	return "", false
}

// writeTasks moves the calling thread into dir ("0" is the writer itself).
func writeTasks(dir string) error {
	if err := os.WriteFile(filepath.Join(dir, "tasks"), []byte("0"), 0); err != nil {
		return fmt.Errorf("move the spawner's thread to %s: %w", dir, err)
	}
	return nil
}
