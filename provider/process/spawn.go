package process

import (
	"os/exec"
	"runtime"
	"sync"
)

// Replicas get Pdeathsig (SIGKILL when ferry dies). Linux sends it when
// the *thread* that forked them exits, and Go may end a thread (one whose
// goroutine exited while locked to it). So every watchdog is started from
// one goroutine locked to its thread for the life of the process.
var spawner = struct {
	once sync.Once
	reqs chan spawnReq
}{reqs: make(chan spawnReq)}

type spawnReq struct {
	cmd  *exec.Cmd
	done chan error
}

func startCmd(cmd *exec.Cmd) error {
	spawner.once.Do(func() {
		go func() {
			runtime.LockOSThread() // never unlocked: this thread lives as long as ferry
			for r := range spawner.reqs {
				r.done <- r.cmd.Start()
			}
		}()
	})
	r := spawnReq{cmd: cmd, done: make(chan error, 1)}
	spawner.reqs <- r
	return <-r.done
}
