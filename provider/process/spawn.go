package process

import (
	"log/slog"
	"os/exec"
	"runtime"
	"strings"
	"sync"
	"sync/atomic"
)

// Replicas get Pdeathsig (SIGKILL when ferry dies). Linux sends it when
// the *thread* that forked them exits, and Go may end a thread (one whose
// goroutine exited while locked to it). So every watchdog is started from
// one goroutine locked to its thread for the life of the process.
var spawner = struct {
	once sync.Once
	reqs chan spawnReq
	// noThreadJoin is set when the thread could not be moved back from a
	// replica's cgroups: from then on the watchdogs join by themselves.
	noThreadJoin atomic.Bool
}{reqs: make(chan spawnReq)}

type spawnReq struct {
	cmd  *exec.Cmd
	cg   *cgroup
	mgr  *cgroupMgr
	log  *slog.Logger
	done chan error
}

// startCmd starts cmd from the spawner's thread, inside cg's groups when
// cg is not nil (see cgjoin_linux.go).
func startCmd(cmd *exec.Cmd, mgr *cgroupMgr, cg *cgroup, log *slog.Logger) error {
	spawner.once.Do(func() { go spawnLoop() })
	r := spawnReq{cmd: cmd, cg: cg, mgr: mgr, log: log, done: make(chan error, 1)}
	spawner.reqs <- r
	return <-r.done
}

// spawnLoop serves start requests on a thread of its own. A thread that
// could not leave a replica's groups is never used again: every later
// replica would be born in (and charged to) that group. It stays parked,
// not ended, since its replicas' parent-death signal is tied to it, and a
// fresh thread takes over.
func spawnLoop() {
	runtime.LockOSThread() // never unlocked: this thread lives as long as ferry
	// no_new_privs belongs to a thread and is inherited by every process
	// forked from it: no replica gains privileges by running a setuid
	// binary or one with file capabilities. Only this thread has it.
	if err := setNoNewPrivs(); err != nil {
		slog.Error("cannot set no_new_privs on the thread that starts replicas: they may run setuid binaries", "err", err)
	}
	for r := range spawner.reqs {
		stuck, err := r.start()
		r.done <- err
		if stuck {
			go spawnLoop()
			select {}
		}
	}
}

// start runs on the spawner's thread; stuck reports that the thread is
// left in a replica's group.
func (r spawnReq) start() (stuck bool, err error) {
	if r.cg == nil {
		return false, r.cmd.Start()
	}
	var back func() error
	if !r.cg.v2 && !spawner.noThreadJoin.Load() {
		back, err = r.mgr.enterThread(r.cg.dirs)
		if err != nil {
			r.log.Debug("starting the watchdog in its cgroups from the spawner's thread failed; it joins them itself", "err", err)
		}
	}
	if back == nil {
		// The watchdog joins them before it starts anything, so every
		// process of the replica is born inside.
		if err := r.cg.limitMemory(); err != nil {
			return false, err
		}
		r.cmd.Env = append(r.cmd.Env, "FERRY_CGROUPS="+strings.Join(r.cg.dirs, ":"))
		return false, r.cmd.Start()
	}
	err = r.cmd.Start()
	if berr := back(); berr != nil {
		spawner.noThreadJoin.Store(true)
		stuck = true
		r.log.Error("the spawner's thread could not leave a replica's cgroups; a new thread starts replicas, which join their groups by themselves", "err", berr)
	}
	if err == nil {
		if err = r.cg.limitMemory(); err != nil {
			// Never run a replica without the limit it was given.
			r.cmd.Process.Kill()
			r.cmd.Wait()
		}
	}
	return stuck, err
}
