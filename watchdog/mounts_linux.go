//go:build linux

package watchdog

import (
	"fmt"
	"os"
	"strconv"
	"syscall"
	"unsafe"
)

// privateMounts gives the replica, in its own mount namespace, what it
// must not share with the host or other functions: /tmp, /var/tmp and
// /dev/shm (tmpfs of a fixed size, whose pages count in its memory
// cgroup), a /proc that shows only its own user's processes, and, when
// asked, a read-only view of every other mount.
func privateMounts(cfg *Config) error {
	var writable []string
	if cfg.TmpfsSize > 0 {
		opts := "mode=1777,size=" + strconv.FormatInt(cfg.TmpfsSize, 10)
		for _, dir := range []string{"/tmp", "/dev/shm"} {
			if fi, err := os.Stat(dir); dir != "/tmp" && (err != nil || !fi.IsDir()) {
				continue // a host without /dev/shm: nothing to share either
			}
			if err := mountTmpfs(dir, opts); err != nil {
				return err
			}
			writable = append(writable, dir)
		}
		// /var/tmp is the same tmpfs as /tmp: one size for both.
		if fi, err := os.Stat("/var/tmp"); err == nil && fi.IsDir() {
			if err := syscall.Mount("/tmp", "/var/tmp", "", syscall.MS_BIND, ""); err != nil {
				return fmt.Errorf("bind /tmp on /var/tmp: %w", err)
			}
			writable = append(writable, "/var/tmp")
		}
	}
	if cfg.PrivateProc {
		// hidepid=2 (invisible): a process other than root sees in /proc
		// only the processes of its own user, that is its function's
		// replicas. A PID namespace would hide them too but make the
		// watchdog an init that must reap every orphan of the function.
		if err := syscall.Mount("proc", "/proc", "proc", syscall.MS_NOSUID|syscall.MS_NODEV|syscall.MS_NOEXEC, "hidepid=2"); err != nil {
			return fmt.Errorf("mount a private /proc: %w", err)
		}
	}
	if !cfg.ReadOnlyRoot {
		return nil
	}
	if cfg.TmpBind != "" {
		writable = append(writable, TmpMountPath)
	}
	if err := mountSetattr("/", atRecursive, mountAttrRdonly, 0); err != nil {
		return fmt.Errorf("make the root read-only: %w", err)
	}
	for _, dir := range writable {
		if err := mountSetattr(dir, 0, 0, mountAttrRdonly); err != nil {
			return fmt.Errorf("keep %s writable: %w", dir, err)
		}
	}
	return nil
}

func mountTmpfs(dir, opts string) error {
	if err := syscall.Mount("tmpfs", dir, "tmpfs", syscall.MS_NOSUID|syscall.MS_NODEV, opts); err != nil {
		return fmt.Errorf("mount a private tmpfs on %s: %w", dir, err)
	}
	return nil
}

const (
	sysMountSetattr = 442 // the same number on every architecture
	atRecursive     = 0x8000
	mountAttrRdonly = 0x1
)

// mountSetattr sets and clears mount attributes (Linux 5.12): unlike a
// remount, it changes a whole tree at once and keeps every other flag.
func mountSetattr(path string, flags int, set, clr uint64) error {
	p, err := syscall.BytePtrFromString(path)
	if err != nil {
		return err
	}
	attr := struct{ set, clr, propagation, userns uint64 }{set: set, clr: clr}
	const atFdcwd = -100
	_, _, e := syscall.Syscall6(sysMountSetattr, uintptr(atFdcwd&0xffffffff), uintptr(unsafe.Pointer(p)), uintptr(flags), uintptr(unsafe.Pointer(&attr)), unsafe.Sizeof(attr), 0)
	if e != 0 {
		if e == syscall.ENOSYS {
			return fmt.Errorf("mount_setattr: %w (a read-only root needs Linux 5.12 or later)", e)
		}
		return fmt.Errorf("mount_setattr %s: %w", path, e)
	}
	return nil
}
