package cli

import (
	"path/filepath"

	"github.com/ferryfaas/ferry/provider/process"
	"github.com/ferryfaas/ferry/provider/wasmrt"
	"github.com/spf13/pflag"
)

// wasmFlags configure the wasm runtime of the process provider.
type wasmFlags struct{ enabled bool }

func (f *wasmFlags) register(fs *pflag.FlagSet) {
	fs.BoolVar(&f.enabled, "wasm", envOr("FERRY_WASM", "true") != "false", "process provider: run functions labelled "+process.RuntimeLabel+"=wasm as WebAssembly (WASI) modules, a fresh sandbox per call (env FERRY_WASM)")
}

// useWasm adds the wasm runtime to cfg: as the default runtime when
// asDefault (--runtime wasm), else beside it for functions that ask.
func useWasm(s *Server, cfg *process.Config, asDefault bool) error {
	rt, err := wasmrt.New(filepath.Join(s.DataDir, "wasm-cache"), cfg.DefaultMemory)
	if err != nil {
		return err
	}
	if asDefault {
		cfg.Runtime = rt
		return nil
	}
	if cfg.Runtimes == nil {
		cfg.Runtimes = map[string]process.Runtime{}
	}
	cfg.Runtimes[wasmrt.Name] = rt
	return nil
}
