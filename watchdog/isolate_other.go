//go:build !linux

package watchdog

import (
	"errors"
)

// isolate is Linux-only; elsewhere asking for it is an error, not a silent
// downgrade.
func isolate(cfg *Config) error {
	if cfg.SecretsBind != "" || cfg.WorkdirBind != "" || cfg.TmpBind != "" || cfg.UID >= 0 || cfg.GID >= 0 || len(cfg.Cgroups) > 0 ||
		cfg.TmpfsSize > 0 || cfg.PrivateProc || cfg.ReadOnlyRoot {
		return errors.New("FERRY_SECRETS_BIND, FERRY_WORKDIR_BIND, FERRY_TMP_BIND, FERRY_TMPFS_SIZE, FERRY_PRIVATE_PROC, FERRY_READONLY_ROOT, FERRY_CGROUPS, FERRY_UID and FERRY_GID work on Linux only; unset them")
	}
	return nil
}
