//go:build unix && !linux

package watchdog

import "syscall"

// setDeathSignal has no equivalent outside Linux.
func setDeathSignal(*syscall.SysProcAttr) {}
