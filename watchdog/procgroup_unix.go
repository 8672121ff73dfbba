//go:build unix

package watchdog

import (
	"os/exec"
	"syscall"
	"time"
)

// setProcessGroup puts the function in its own process group so a timeout
// or shutdown kills everything it started, not just the direct child. As
// that takes it out of the supervisor's process group, it also asks (on
// Linux) to be killed if the watchdog dies abruptly.
func setProcessGroup(cmd *exec.Cmd) {
	if cmd.SysProcAttr == nil {
		cmd.SysProcAttr = &syscall.SysProcAttr{}
	}
	cmd.SysProcAttr.Setpgid = true
	setDeathSignal(cmd.SysProcAttr)
}

// killGroup sends SIGKILL to the whole process group of cmd.
func killGroup(cmd *exec.Cmd) error {
	if cmd.Process == nil {
		return nil
	}
	return syscall.Kill(-cmd.Process.Pid, syscall.SIGKILL)
}

// terminateGroup sends SIGTERM to the group, and SIGKILL if exited is not
// closed within grace. The group is signalled even after the leader exited:
// its children may remain.
func terminateGroup(cmd *exec.Cmd, grace time.Duration, exited <-chan struct{}) {
	if cmd.Process == nil {
		return
	}
	pgid := -cmd.Process.Pid
	syscall.Kill(pgid, syscall.SIGTERM)
	t := time.NewTimer(grace)
	defer t.Stop()
	select {
	case <-exited:
	case <-t.C:
	}
	syscall.Kill(pgid, syscall.SIGKILL)
}
