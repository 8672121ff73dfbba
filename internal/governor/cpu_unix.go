//go:build unix

package governor

import (
	"syscall"
	"time"
)

// processCPU is the user and system time of every thread of the process
// (not of its children: a forked function's CPU is its own).
func processCPU() time.Duration {
	var ru syscall.Rusage
	if syscall.Getrusage(syscall.RUSAGE_SELF, &ru) != nil {
		return -1
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}
