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
	spawner.once.Do(func() {
		go func() {
			runtime.LockOSThread() // never unlocked: this thread lives as long as ferry
			for r := range spawner.reqs {
				r.done <- r.start()
			}
		}()
	})
	r := spawnReq{cmd: cmd, cg: cg, mgr: mgr, log: log, done: make(chan error, 1)}
	spawner.reqs <- r
	return <-r.done
}

// start runs on the spawner's thread.
func (r spawnReq) start() error {
	if r.cg == nil {
		return r.cmd.Start()
	}
	var back func() error
	var err error
	if !r.cg.v2 && !spawner.noThreadJoin.Load() {
		back, err = r.mgr.enterThread(r.cg.dirs)
		if err != nil {
			r.log.Debug("starting the watchdog in its cgroups from the spawner's thread failed; it joins them itself", "err", err)
		}
	}
	if back == nil {
		// The watchdog joins them before it starts anything, so every
		// process of the replica is born inside.
		r.cmd.Env = append(r.cmd.Env, "FERRY_CGROUPS="+strings.Join(r.cg.dirs, ":"))
		return r.cmd.Start()
	}
	err = r.cmd.Start()
	if berr := back(); berr != nil {
		spawner.noThreadJoin.Store(true)
		r.log.Error("the spawner's thread could not leave a replica's cgroups; later replicas join theirs by themselves", "err", berr)
	}
	return err
}
