package watchdog

import "syscall"

// setDeathSignal makes the kernel SIGKILL the function when the watchdog
// dies, so a `kill -9` of the watchdog leaves no orphan holding its port.
// (Go never ends the OS thread that started the child while it runs, which
// is what Pdeathsig is tied to.)
func setDeathSignal(a *syscall.SysProcAttr) { a.Pdeathsig = syscall.SIGKILL }
