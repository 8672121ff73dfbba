//go:build !unix

package watchdog

import (
	"os/exec"
	"time"
)

func setProcessGroup(cmd *exec.Cmd) {}

func killGroup(cmd *exec.Cmd) error {
	if cmd.Process == nil {
		return nil
	}
	return cmd.Process.Kill()
}

func terminateGroup(cmd *exec.Cmd, grace time.Duration, exited <-chan struct{}) {
	if cmd.Process != nil {
		cmd.Process.Kill()
	}
}
