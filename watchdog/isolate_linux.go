//go:build linux

package watchdog

import (
	"errors"
	"fmt"
	"log"
	"os"
	"syscall"
)

// SecretsMountPath is where functions find their secrets, as in OpenFaaS.
const SecretsMountPath = "/var/openfaas/secrets"

// isolate applies the Ferry supervisor's isolation before the function runs.
// The supervisor starts the watchdog in a fresh mount namespace
// (CLONE_NEWNS); here, as root, the watchdog makes its mounts private, binds
// FERRY_SECRETS_BIND read-only at /var/openfaas/secrets, then drops to
// FERRY_UID/FERRY_GID. Go's Setuid/Setgid/Setgroups apply to every thread.
func isolate(cfg *Config, _ *log.Logger) error {
	if cfg.SecretsBind == "" && cfg.UID < 0 && cfg.GID < 0 {
		return nil
	}
	if os.Geteuid() != 0 {
		return errors.New("FERRY_SECRETS_BIND, FERRY_UID and FERRY_GID need the watchdog to run as root; unset them when not root")
	}
	if cfg.SecretsBind != "" {
		if err := bindSecrets(cfg.SecretsBind); err != nil {
			return err
		}
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
	return nil
}

func bindSecrets(dir string) error {
	// Private first: the bind below must not propagate back to the host's
	// namespace (which would show every function's secrets to all).
	if err := syscall.Mount("", "/", "", syscall.MS_REC|syscall.MS_PRIVATE, ""); err != nil {
		return fmt.Errorf("make mounts private (is the watchdog in its own mount namespace?): %w", err)
	}
	if fi, err := os.Stat(dir); err != nil || !fi.IsDir() {
		return fmt.Errorf("FERRY_SECRETS_BIND=%s is not a directory", dir)
	}
	if err := os.MkdirAll(SecretsMountPath, 0o755); err != nil {
		return fmt.Errorf("create %s: %w", SecretsMountPath, err)
	}
	if err := syscall.Mount(dir, SecretsMountPath, "", syscall.MS_BIND|syscall.MS_REC, ""); err != nil {
		return fmt.Errorf("bind %s on %s: %w", dir, SecretsMountPath, err)
	}
	flags := uintptr(syscall.MS_BIND | syscall.MS_REMOUNT | syscall.MS_RDONLY | syscall.MS_NOSUID | syscall.MS_NODEV)
	if err := syscall.Mount("", SecretsMountPath, "", flags, ""); err != nil {
		return fmt.Errorf("remount %s read-only: %w", SecretsMountPath, err)
	}
	return nil
}
