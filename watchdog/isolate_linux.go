//go:build linux

package watchdog

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"runtime"
	"strconv"
	"syscall"
)

// SecretsMountPath is where functions find their secrets, as in OpenFaaS.
const SecretsMountPath = "/var/openfaas/secrets"

// WorkdirMountPath is where the function's code appears (as in OpenFaaS's
// images), so that no path of the supervisor's data dir, whose parents an
// unprivileged user may not traverse, is ever seen by the function.
const WorkdirMountPath = "/home/app"

// TmpMountPath is the function's temporary dir (its TMPDIR), shared by its
// replicas and kept across restarts; /tmp is per replica (FERRY_TMPFS_SIZE).
const TmpMountPath = "/var/openfaas/tmp"

// isolate applies the Ferry supervisor's isolation before the function runs.
// The supervisor starts the watchdog in a fresh mount namespace
// (CLONE_NEWNS); here, as root, the watchdog makes its mounts private, binds
// FERRY_SECRETS_BIND read-only at /var/openfaas/secrets, then drops to
// FERRY_UID/FERRY_GID. Go's Setuid/Setgid/Setgroups apply to every thread.
func isolate(cfg *Config) error {
	mounts := cfg.SecretsBind != "" || cfg.WorkdirBind != "" || cfg.TmpBind != "" || cfg.TmpfsSize > 0 || cfg.PrivateProc || cfg.ReadOnlyRoot
	if !mounts && cfg.UID < 0 && cfg.GID < 0 && len(cfg.Cgroups) == 0 {
		return nil
	}
	if os.Geteuid() != 0 {
		return errors.New("FERRY_SECRETS_BIND, FERRY_TMPFS_SIZE, FERRY_PRIVATE_PROC, FERRY_READONLY_ROOT, FERRY_CGROUPS, FERRY_UID and FERRY_GID need the watchdog to run as root; unset them when not root")
	}
	ppid := os.Getppid()
	// Join the replica's cgroups first: an http-mode function is started
	// at once, and a supervisor moving the watchdog after the fact would
	// leave it (in a process group of its own) outside its limits.
	for _, dir := range cfg.Cgroups {
		if err := os.WriteFile(filepath.Join(dir, "cgroup.procs"), []byte(strconv.Itoa(os.Getpid())), 0); err != nil {
			return fmt.Errorf("join cgroup %s: %w", dir, err)
		}
	}
	if mounts {
		// Private first: the binds below must not propagate back to the
		// host's namespace (which would show every function's files to all).
		if err := syscall.Mount("", "/", "", syscall.MS_REC|syscall.MS_PRIVATE, ""); err != nil {
			return fmt.Errorf("make mounts private (is the watchdog in its own mount namespace?): %w", err)
		}
	}
	if cfg.SecretsBind != "" {
		if err := bindDir(cfg.SecretsBind, SecretsMountPath, true); err != nil {
			return err
		}
	}
	if cfg.WorkdirBind != "" {
		if err := bindDir(cfg.WorkdirBind, WorkdirMountPath, false); err != nil {
			return err
		}
		if err := os.Chdir(WorkdirMountPath); err != nil {
			return fmt.Errorf("chdir %s: %w", WorkdirMountPath, err)
		}
	}
	if cfg.TmpBind != "" {
		if err := bindDir(cfg.TmpBind, TmpMountPath, false); err != nil {
			return err
		}
	}
	if err := privateMounts(cfg); err != nil {
		return err
	}
	if cfg.GID >= 0 || cfg.UID >= 0 {
		if err := syscall.Setgroups([]int{}); err != nil {
			return fmt.Errorf("setgroups: %w", err)
		}
	}
	if cfg.GID >= 0 {
		if err := syscall.Setgid(cfg.GID); err != nil {
			return fmt.Errorf("setgid %d: %w", cfg.GID, err)
		}
	}
	if cfg.UID >= 0 {
		if err := syscall.Setuid(cfg.UID); err != nil {
			return fmt.Errorf("setuid %d: %w", cfg.UID, err)
		}
	}
	if cfg.GID >= 0 || cfg.UID >= 0 {
		return rearmDeathSignal(ppid)
	}
	return nil
}

// rearmDeathSignal sets the parent-death signal again after a change of
// user or group, which clears it: without this, a `kill -9` of the
// supervisor left every isolated replica running, holding its port. The
// signal belongs to a thread, so this goroutine keeps its thread for the
// life of the watchdog (Go ends a thread only when a goroutine locked to
// it exits). ppid is the parent seen before the change: if it is gone
// already, the signal came too late and the watchdog stops here.
func rearmDeathSignal(ppid int) error {
	runtime.LockOSThread()
	if _, _, e := syscall.RawSyscall(syscall.SYS_PRCTL, syscall.PR_SET_PDEATHSIG, uintptr(syscall.SIGKILL), 0); e != 0 {
		return fmt.Errorf("prctl(PR_SET_PDEATHSIG): %w", e)
	}
	if os.Getppid() != ppid {
		return errors.New("the supervisor exited while the watchdog started")
	}
	return nil
}

// bindDir binds dir at target (created if missing), read-only when asked,
// never with setuid binaries or device files.
func bindDir(dir, target string, readOnly bool) error {
	if fi, err := os.Stat(dir); err != nil || !fi.IsDir() {
		return fmt.Errorf("%s is not a directory (to bind at %s)", dir, target)
	}
	if err := os.MkdirAll(target, 0o755); err != nil {
		return fmt.Errorf("create %s: %w", target, err)
	}
	if err := syscall.Mount(dir, target, "", syscall.MS_BIND|syscall.MS_REC, ""); err != nil {
		return fmt.Errorf("bind %s on %s: %w", dir, target, err)
	}
	flags := uintptr(syscall.MS_BIND | syscall.MS_REMOUNT | syscall.MS_NOSUID | syscall.MS_NODEV)
	if readOnly {
		flags |= syscall.MS_RDONLY
	}
	if err := syscall.Mount("", target, "", flags, ""); err != nil {
		return fmt.Errorf("remount %s: %w", target, err)
	}
	return nil
}
