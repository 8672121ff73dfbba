package bench

import (
	"context"
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"

	"github.com/ferryfaas/ferry/test/harness"
)

// The containerd runtime beside the process runtime, same function (the
// golang-http template deployed with `ferry up` to both), same run: calls
// through the gateway at c=16 in alternating rounds, cold start from zero
// through the gateway, idle memory of a replica. The work is
// test/e2e's TestContainerdBenchFigures (it starts its own containerd);
// this reads its figures. Skipped, with the reason, without root or
// containerd.
func init() { Register(Scenario{Name: "containerd", Order: 32, Run: runContainerd}) }

// ContainerdFigures is what TestContainerdBenchFigures measures.
type ContainerdFigures struct {
	Generator                 string    // "wrk" or "go"
	CtrRPS, ProcRPS, RPSRatio float64   // medians over alternating rounds at c=16
	Rounds                    []float64 // per-round ratios, containerd / process
	ColdCtr, ColdProc         []float64 // ms, sorted, from zero through the gateway
	CtrCgroupMiB, ShimMiB     float64   // an idle container replica; the one shim serving the runtime
	ProcMiB                   float64   // an idle process replica, as its runtime reads it
}

func runContainerd(ctx context.Context, env *Env) ([]Row, error) {
	if runtime.GOOS != "linux" || os.Geteuid() != 0 {
		return []Row{{Case: "containerd runtime", Metric: "skipped: needs root on Linux"}}, nil
	}
	for _, b := range []string{"containerd", "runc", "containerd-shim-runc-v2"} {
		if _, err := exec.LookPath(b); err != nil {
			return []Row{{Case: "containerd runtime", Metric: "skipped: " + b + " not installed: run scripts/install-deps.sh"}}, nil
		}
	}
	out := filepath.Join(os.TempDir(), fmt.Sprintf("ferry-ctrd-bench-%d.json", os.Getpid()))
	defer os.Remove(out)
	cmd := exec.CommandContext(ctx, "go", "test", "-count=1", "-run", "^TestContainerdBenchFigures$", "-v", "-timeout", "10m", ".")
	cmd.Dir = filepath.Join(harness.Root(), "test", "e2e")
	cmd.Env = append(os.Environ(), "FERRY_CTRD_BENCH_OUT="+out, "FERRY_BIN_DIR="+env.BinDir)
	b, err := cmd.CombinedOutput()
	if err != nil {
		return nil, fmt.Errorf("test/e2e TestContainerdBenchFigures: %v\n%s", err, kubeTail(string(b), 30))
	}
	raw, err := os.ReadFile(out)
	if err != nil {
		return nil, fmt.Errorf("TestContainerdBenchFigures wrote no figures: %v", err)
	}
	var f ContainerdFigures
	if err := json.Unmarshal(raw, &f); err != nil {
		return nil, fmt.Errorf("figures %q: %v", raw, err)
	}
	for i, r := range f.Rounds {
		env.Logf("   round %d c=16: containerd/process %.2f", i+1, r)
	}
	const coldTarget = 150.0
	cp50, pp50 := f.ColdCtr[len(f.ColdCtr)/2], f.ColdProc[len(f.ColdProc)/2]
	fn := "Go http function (golang-http)"
	return []Row{
		{Case: fmt.Sprintf("%s via the gateway c=16, %d alternating rounds, %s", fn, len(f.Rounds), f.Generator), Metric: "median req/s",
			Value: f.CtrRPS, Unit: "req/s", Baseline: "process runtime", BaselineValue: f.ProcRPS,
			Ratio: f.RPSRatio, Target: ">= 0.8x", Met: f.RPSRatio >= 0.8},
		{Case: fn + " from zero via the gateway", Metric: fmt.Sprintf("cold start p50 (%d tries)", len(f.ColdCtr)),
			Value: cp50, Unit: "ms", Baseline: "process runtime", BaselineValue: pp50,
			Ratio: cp50 / coldTarget, Target: "<= 150 ms", Met: cp50 <= coldTarget},
		{Case: fn + " from zero via the gateway", Metric: "cold start min / max",
			Value: f.ColdCtr[0], Unit: fmt.Sprintf("ms / %.0f ms", f.ColdCtr[len(f.ColdCtr)-1])},
		{Case: "idle replica: memory cgroup", Metric: "memory", Value: f.CtrCgroupMiB, Unit: "MiB",
			Baseline: "process replica", BaselineValue: f.ProcMiB, Ratio: f.CtrCgroupMiB / f.ProcMiB},
		{Case: "containerd shim (one for all replicas, outside their cgroups)", Metric: "RSS", Value: f.ShimMiB, Unit: "MiB"},
	}, nil
}
