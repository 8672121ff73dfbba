package cli

import (
	"fmt"

	"github.com/ferryfaas/ferry/api"
	"github.com/ferryfaas/ferry/provider/process"
	"github.com/spf13/pflag"
)

// processFlags are the process provider's defaults for what one replica
// may use (see docs/security.md, "Process runtime isolation").
type processFlags struct {
	defaultMemory, tmpSize string
	defaultPids            int64
}

func (f *processFlags) register(fs *pflag.FlagSet) {
	fs.StringVar(&f.defaultMemory, "default-memory", "256Mi", "process provider: memory limit of a replica whose function sets no limits.memory (\"0\": none; needs root)")
	fs.Int64Var(&f.defaultPids, "default-pids", process.DefaultPidsMax, "process provider: most processes and threads per replica (0: no limit; needs root)")
	fs.StringVar(&f.tmpSize, "tmp-size", "64Mi", "process provider: size of each replica's private /tmp (also /var/tmp) and /dev/shm, counted in its memory (needs root)")
}

// apply puts the flags into cfg; "0" turns a default limit off.
func (f *processFlags) apply(cfg *process.Config) error {
	mem, err := quantityFlag("--default-memory", f.defaultMemory)
	if err != nil {
		return err
	}
	if cfg.TmpSize, err = quantityFlag("--tmp-size", f.tmpSize); err != nil {
		return err
	}
	if cfg.TmpSize <= 0 {
		return fmt.Errorf("--tmp-size %q: give a size such as 64Mi", f.tmpSize)
	}
	cfg.DefaultMemory, cfg.DefaultPids = -1, -1
	if mem > 0 {
		cfg.DefaultMemory = max(mem, process.MinMemoryBytes)
	}
	if f.defaultPids > 0 {
		cfg.DefaultPids = f.defaultPids
	}
	return nil
}

func quantityFlag(name, v string) (int64, error) {
	if v == "0" {
		return 0, nil
	}
	n, err := api.ParseMemory(v)
	if err != nil {
		return 0, fmt.Errorf("%s: %w", name, err)
	}
	return n, nil
}
