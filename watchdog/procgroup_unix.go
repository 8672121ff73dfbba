//go:build unix

package watchdog

import (
	"os/exec"
	"syscall"
	"time"
)

// setProcessGroup puts the function in its own process group so a timeout
// or shutdown kills everything it started, not just the direct child.
func setProcessGroup(cmd *exec.Cmd) {
	if cmd.SysProcAttr == nil {
		cmd.SysProcAttr = &syscall.SysProcAttr{}
	}
	cmd.SysProcAttr.Setpgid = true
}

// killGroup sends SIGKILL to the whole process group of cmd.
func killGroup(cmd *exec.Cmd) error {
	if cmd.Process == nil {
		return nil
	}
	return syscall.Kill(-cmd.Process.Pid, syscall.SIGKILL)
}

// terminateGroup sends SIGTERM to the group, and SIGKILL if done has not
// fired within grace. done is re-filled for other readers.
func terminateGroup(cmd *exec.Cmd, grace time.Duration, done chan error) {
	if cmd.Process == nil {
		return
	}
	syscall.Kill(-cmd.Process.Pid, syscall.SIGTERM)
	t := time.NewTimer(grace)
	defer t.Stop()
	select {
	case err := <-done:
		done <- err
	case <-t.C:
		syscall.Kill(-cmd.Process.Pid, syscall.SIGKILL)
	}
}
