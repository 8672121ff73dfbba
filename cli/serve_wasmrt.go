package cli

import (
	"bufio"
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"

	"github.com/ferryfaas/ferry/provider/process"
	"github.com/ferryfaas/ferry/provider/wasmrt"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/spf13/pflag"
)

// wasmFlags configure the wasm runtime of the process provider.
type wasmFlags struct {
	enabled bool
	budget  string
}

// minWasmBudget is the smallest budget worth having: a Go guest takes a
// few MiB just to start, so less would refuse every call.
const minWasmBudget = 16 << 20

func (f *wasmFlags) register(fs *pflag.FlagSet) {
	fs.BoolVar(&f.enabled, "wasm", envOr("FERRY_WASM", "true") != "false", "process provider: run functions labelled "+process.RuntimeLabel+"=wasm as WebAssembly (WASI) modules, a fresh sandbox per call (env FERRY_WASM)")
	fs.StringVar(&f.budget, "wasm-memory-budget", envOr("FERRY_WASM_MEMORY_BUDGET", "auto"), "wasm runtime: linear memory all wasm calls in flight may hold together, such as 2Gi; a call past it gets a 503 with Retry-After (\"auto\": a quarter of the machine's memory or of this server's cgroup limit, if lower; \"0\": no bound) (env FERRY_WASM_MEMORY_BUDGET)")
}

// budgetBytes is the budget the flag asks for (0: none).
func (f *wasmFlags) budgetBytes() (int64, error) {
	if f.budget == "auto" {
		return max(availableMemory()/4, minWasmBudget), nil
	}
	n, err := quantityFlag("--wasm-memory-budget", f.budget)
	if err != nil {
		return 0, err
	}
	if n > 0 && n < minWasmBudget {
		return 0, fmt.Errorf("--wasm-memory-budget %q: under 16Mi no Go guest can start; give a size such as 1Gi, \"auto\" or 0 for no bound", f.budget)
	}
	return n, nil
}

// use adds the wasm runtime to cfg: as the default runtime when
// asDefault (--runtime wasm), else beside it for functions that ask.
func (f *wasmFlags) use(s *Server, cfg *process.Config, asDefault bool) error {
	budget, err := f.budgetBytes()
	if err != nil {
		return err
	}
	rt, err := wasmrt.New(filepath.Join(s.DataDir, "wasm-cache"), cfg.DefaultMemory)
	if err != nil {
		return err
	}
	rt.Budget = wasmrt.NewBudget(budget)
	s.OnStart = append(s.OnStart, func(context.Context) error { return registerBudget(s.Metrics, rt.Budget) })
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

// registerBudget exposes the budget on /metrics, read at scrape time.
func registerBudget(reg prometheus.Registerer, b *wasmrt.Budget) error {
	for _, c := range []prometheus.Collector{
		prometheus.NewGaugeFunc(prometheus.GaugeOpts{Name: "ferry_wasm_memory_reserved_bytes",
			Help: "Linear memory the wasm calls in flight hold, reserved from --wasm-memory-budget."},
			func() float64 { return float64(b.Reserved()) }),
		prometheus.NewGaugeFunc(prometheus.GaugeOpts{Name: "ferry_wasm_memory_budget_bytes",
			Help: "The --wasm-memory-budget all wasm calls in flight share (0: no bound)."},
			func() float64 { return float64(b.Limit()) }),
		prometheus.NewCounterFunc(prometheus.CounterOpts{Name: "ferry_wasm_memory_refused_total",
			Help: "wasm calls refused (503) because --wasm-memory-budget could not hold their memory."},
			func() float64 { return float64(b.Refused()) }),
	} {
		if err := registerCollector(reg, c); err != nil {
			return err
		}
	}
	return nil
}

// availableMemory is the machine's memory, or this process's cgroup
// memory limit when lower (a container's); 1 GiB when neither can be read.
func availableMemory() int64 {
	n := meminfoTotal()
	if l := cgroupMemoryLimit(); l > 0 && (n <= 0 || l < n) {
		n = l
	}
	if n <= 0 {
		return 1 << 30
	}
	return n
}

func meminfoTotal() int64 {
	f, err := os.Open("/proc/meminfo")
	if err != nil {
		return 0
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		if w := strings.Fields(sc.Text()); len(w) >= 2 && w[0] == "MemTotal:" {
			kb, _ := strconv.ParseInt(w[1], 10, 64)
			return kb << 10
		}
	}
	return 0
}

// cgroupMemoryLimit reads the memory limit of this process's cgroup (v2,
// else v1); 0 when there is none or it cannot be read.
func cgroupMemoryLimit() int64 {
	b, err := os.ReadFile("/proc/self/cgroup")
	if err != nil {
		return 0
	}
	for _, line := range strings.Split(string(b), "\n") {
		parts := strings.SplitN(line, ":", 3)
		if len(parts) != 3 {
			continue
		}
		var file string
		switch {
		case parts[0] == "0" && parts[1] == "":
			file = filepath.Join("/sys/fs/cgroup", parts[2], "memory.max")
		case strings.Contains(","+parts[1]+",", ",memory,"):
			file = filepath.Join("/sys/fs/cgroup/memory", parts[2], "memory.limit_in_bytes")
		default:
			continue
		}
		v, err := os.ReadFile(file)
		if err != nil {
			continue
		}
		if n, err := strconv.ParseInt(strings.TrimSpace(string(v)), 10, 64); err == nil && n > 0 && n < 1<<60 {
			return n
		}
	}
	return 0
}
