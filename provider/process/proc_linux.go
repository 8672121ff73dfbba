//go:build linux

package process

import (
	"bytes"
	"math"
	"os"
	"strconv"
	"syscall"

	"golang.org/x/sys/unix"
)

// closeRangeCloexec is CLOSE_RANGE_CLOEXEC (Linux 5.11).
const closeRangeCloexec = 1 << 2

// closeInheritedOnExec marks every descriptor above stderr close-on-exec.
// Go opens its own that way, but those ferry was started with (a
// launcher's pipe, socket or file left open) were passed on to every
// replica and its function, whatever user they run as.
func closeInheritedOnExec() {
	if unix.CloseRange(3, math.MaxUint32, closeRangeCloexec) == nil {
		return
	}
	ents, _ := os.ReadDir("/proc/self/fd") // before Linux 5.11
	for _, e := range ents {
		if fd, err := strconv.Atoi(e.Name()); err == nil && fd > 2 {
			unix.CloseOnExec(fd)
		}
	}
}

func sysProcAttr(isolate bool) *syscall.SysProcAttr {
	a := &syscall.SysProcAttr{
		// One session (and process group) per replica. The watchdog puts
		// forked functions in process groups of their own, but they stay
		// in its session, so the session finds everything it started even
		// after it died and they were re-parented.
		Setsid: true,
		// If ferry itself dies, its replicas go with it instead of
		// holding their ports until the next start.
		Pdeathsig: syscall.SIGKILL,
	}
	if isolate {
		// The watchdog bind-mounts the function's secrets in its own
		// mount namespace, invisible to other functions. An IPC namespace
		// of its own: System V segments, semaphores and message queues
		// (and POSIX queues) outlive their processes, so shared ones would
		// keep a deleted function's memory pinned outside every limit and
		// let functions reach each other's.
		a.Cloneflags = syscall.CLONE_NEWNS | syscall.CLONE_NEWIPC
	}
	return a
}

// proc is one line of /proc/<pid>/stat we care about.
type proc struct {
	pid, ppid, pgrp, sid int
	start                uint64 // start time in ticks (tells reused pids apart)
	ticks                uint64 // utime+stime
	rss                  int64  // pages
}

// scanProcs reads every process's stat line.
func scanProcs() []proc {
	d, err := os.Open("/proc")
	if err != nil {
		return nil
	}
	defer d.Close()
	names, _ := d.Readdirnames(-1)
	out := make([]proc, 0, len(names))
	for _, n := range names {
		pid, err := strconv.Atoi(n)
		if err != nil {
			continue
		}
		if pr, ok := readStat(pid); ok {
			out = append(out, pr)
		}
	}
	return out
}

func readStat(pid int) (proc, bool) {
	b, err := os.ReadFile("/proc/" + strconv.Itoa(pid) + "/stat")
	if err != nil {
		return proc{}, false
	}
	// The command name may hold spaces and parens: fields start after the last ')'.
	i := bytes.LastIndexByte(b, ')')
	if i < 0 {
		return proc{}, false
	}
	f := bytes.Fields(b[i+1:])
	// f[0] is field 3 (state); field k is f[k-3].
	if len(f) < 22 {
		return proc{}, false
	}
	num := func(k int) uint64 { v, _ := strconv.ParseUint(string(f[k-3]), 10, 64); return v }
	return proc{
		pid: pid, ppid: int(num(4)), pgrp: int(num(5)), sid: int(num(6)),
		ticks: num(14) + num(15), start: num(22), rss: int64(num(24)),
	}, true
}

// treeOf returns the processes of the given roots (watchdog pids, each the
// leader of its own session): their sessions, process groups and
// descendants.
func treeOf(all []proc, roots map[int]bool) map[int][]proc {
	byPid := make(map[int]proc, len(all))
	for _, p := range all {
		byPid[p.pid] = p
	}
	out := map[int][]proc{}
	for _, p := range all {
		if roots[p.sid] {
			out[p.sid] = append(out[p.sid], p)
			continue
		}
		if roots[p.pgrp] {
			out[p.pgrp] = append(out[p.pgrp], p)
			continue
		}
		// Walk up to a root (bounded: pids form a tree).
		cur := p
		for range 64 {
			if roots[cur.pid] {
				out[cur.pid] = append(out[cur.pid], p)
				break
			}
			parent, ok := byPid[cur.ppid]
			if !ok || cur.ppid <= 1 {
				break
			}
			cur = parent
		}
	}
	return out
}

// descendants lists the processes under pid (not pid itself).
func descendants(pid int) []proc {
	var out []proc
	for _, p := range treeOf(scanProcs(), map[int]bool{pid: true})[pid] {
		if p.pid != pid {
			out = append(out, p)
		}
	}
	return out
}

// killTree kills what a dead watchdog left behind: its process group and
// session, the children it had when it became ready (checked by start time
// so a reused pid is spared) and everything in its cgroup.
func killTree(pid int, kids []proc, cg *cgroup) {
	syscall.Kill(-pid, syscall.SIGKILL)
	for _, p := range scanProcs() {
		if p.sid == pid && p.pid != pid {
			syscall.Kill(p.pid, syscall.SIGKILL)
		}
	}
	for _, k := range kids {
		if now, ok := readStat(k.pid); ok && now.start == k.start {
			syscall.Kill(k.pid, syscall.SIGKILL)
		}
	}
	cg.killAll()
}

// clockTicks is USER_HZ, 100 on every Linux architecture Go supports.
const clockTicks = 100

var pageSize = int64(os.Getpagesize())

func ownedBy(fi os.FileInfo, uid int) bool {
	st, ok := fi.Sys().(*syscall.Stat_t)
	return !ok || int(st.Uid) == uid
}

// listenUnix binds and listens on the Unix socket name ('@' first: an
// abstract name), close-on-exec: only a child given it in ExtraFiles
// inherits it.
func listenUnix(name string) (*os.File, error) {
	fd, err := syscall.Socket(syscall.AF_UNIX, syscall.SOCK_STREAM|syscall.SOCK_CLOEXEC, 0)
	if err != nil {
		return nil, os.NewSyscallError("socket", err)
	}
	if err := syscall.Bind(fd, &syscall.SockaddrUnix{Name: name}); err != nil {
		syscall.Close(fd)
		return nil, os.NewSyscallError("bind "+name, err)
	}
	if err := syscall.Listen(fd, syscall.SOMAXCONN); err != nil {
		syscall.Close(fd)
		return nil, os.NewSyscallError("listen", err)
	}
	return os.NewFile(uintptr(fd), name), nil
}

// setNoNewPrivs sets no_new_privs on the calling thread (see spawnLoop).
func setNoNewPrivs() error {
	if _, _, e := syscall.RawSyscall(syscall.SYS_PRCTL, prSetNoNewPrivs, 1, 0); e != 0 {
		return os.NewSyscallError("prctl(PR_SET_NO_NEW_PRIVS)", e)
	}
	return nil
}

const prSetNoNewPrivs = 38

// uidsRunning is the set of uids (real, effective, saved or filesystem)
// that a process has. (Not the owner of /proc/<pid>: a process that
// dropped to a uid without exec since shows as root there.)
func uidsRunning() map[int]bool {
	out := map[int]bool{}
	names, _ := os.ReadDir("/proc")
	for _, d := range names {
		if _, err := strconv.Atoi(d.Name()); err != nil {
			continue
		}
		b, _ := os.ReadFile("/proc/" + d.Name() + "/status")
		if i := bytes.Index(b, []byte("\nUid:")); i >= 0 {
			line, _, _ := bytes.Cut(b[i+5:], []byte("\n"))
			for _, f := range bytes.Fields(line) {
				if n, err := strconv.Atoi(string(f)); err == nil {
					out[n] = true
				}
			}
		}
	}
	return out
}
