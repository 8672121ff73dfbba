package e2e

import (
	"context"
	"encoding/json"
	"net/http"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/ferryfaas/ferry/bench"
	"github.com/ferryfaas/ferry/templates"
	"github.com/ferryfaas/ferry/test/harness"
)

// The containerd runtime's benchmark figures, each beside the process
// runtime's in the same run: the same golang-http function deployed with
// `ferry up` to `ferry serve --runtime containerd` and to a process-runtime
// server, then called at c=16 in alternating rounds, started from zero,
// and measured idle. Run by `ferrybench -run containerd`, which sets
// FERRY_CTRD_BENCH_OUT; skipped otherwise (it takes about a minute).
func TestContainerdBenchFigures(t *testing.T) {
	out := os.Getenv("FERRY_CTRD_BENCH_OUT")
	if out == "" {
		t.Skip("benchmark: run with FERRY_CTRD_BENCH_OUT=FILE (ferrybench -run containerd)")
	}
	harness.RequireContainerd(t)
	work, err := os.MkdirTemp("", "ferry-e2eb-")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { os.RemoveAll(work) })
	ctd := harness.StartContainerd(t, work)
	const bridge, subnet = "ferrye2e2", "198.18.215.0/24"
	log := &harness.LockedBuffer{}
	cf, err := harness.Start(harness.Options{DataDir: filepath.Join(work, "data"), Log: log, Args: []string{
		"--runtime", "containerd", "--containerd-address", ctd.Sock, "--containerd-namespace", ctrdNS + "-bench",
		"--containerd-subnet", subnet, "--containerd-bridge", bridge,
	}})
	if err != nil {
		t.Fatalf("%v\n%s", err, log.String())
	}
	t.Cleanup(func() {
		cf.Stop()
		harness.RemoveBridge(bridge)
		if t.Failed() {
			t.Logf("ferry log:\n%s", log.String())
		}
	})
	pf, err := harness.Start(harness.Options{DataDir: filepath.Join(work, "pdata")})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(pf.Stop)

	dir := filepath.Join(work, "stack")
	if err := os.MkdirAll(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	if out, err := ferryIn(t, cf, dir)("new", "gofn", "--lang", "golang-http"); err != nil {
		t.Fatalf("ferry new: %v\n%s", err, out)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
	defer cancel()
	for _, f := range []*harness.Ferry{cf, pf} {
		if out, err := ferryIn(t, f, dir)("up"); err != nil {
			t.Fatalf("ferry up: %v\n%s", err, out)
		}
		if err := f.WaitReady(ctx, "gofn", ns, 1); err != nil {
			t.Fatal(err)
		}
		invokeN(t, f, "gofn", 20)
	}

	var fig bench.ContainerdFigures
	// Throughput: alternating rounds, so both see the same phase of a
	// shared machine.
	load := func(f *harness.Ferry) float64 {
		url := f.URL + "/function/gofn"
		rps, non2xx, ok, err := bench.Wrk(ctx, url, "x", 16, 3*time.Second)
		if err != nil || non2xx > 0 {
			t.Fatalf("wrk %s: %v (%d non-2xx)", url, err, non2xx)
		}
		fig.Generator = "wrk"
		if !ok {
			fig.Generator = "go"
			r := bench.Load(ctx, url, "x", 16, 3*time.Second, 200000)
			if r.Errors > 0 {
				t.Fatalf("load %s: %d errors", url, r.Errors)
			}
			rps = r.RPS
		}
		return rps
	}
	var ctr, proc []float64
	for i := 0; i < 5; i++ {
		p, c := load(pf), load(cf)
		t.Logf("round %d c=16: process %.0f req/s, containerd %.0f req/s, ratio %.2f", i+1, p, c, c/p)
		proc, ctr, fig.Rounds = append(proc, p), append(ctr, c), append(fig.Rounds, c/p)
	}
	fig.ProcRPS, fig.CtrRPS, fig.RPSRatio = medianOf(proc), medianOf(ctr), medianOf(slices.Clone(fig.Rounds))

	// Idle memory of one replica that has served calls.
	time.Sleep(2 * time.Second)
	fig.CtrCgroupMiB = usageMiB(t, cf, "gofn")
	fig.ProcMiB = usageMiB(t, pf, "gofn")
	fig.ShimMiB = float64(shimsRSS(ctrdNS+"-bench")) / (1 << 20)

	// Cold start from zero through the gateway, alternating runtimes.
	want := templates.ExpectedReply("golang-http", "x")
	cold := func(f *harness.Ferry) float64 {
		if code, b, _ := f.Do("POST", "/system/scale-function/gofn", map[string]any{"serviceName": "gofn", "replicas": 0}); code/100 != 2 {
			t.Fatalf("scale to 0: %d %s", code, b)
		}
		waitAvailable(t, f, "gofn", 0)
		t0 := time.Now()
		c, _, body := invoke(t, f, "POST", "gofn", "x", nil)
		el := time.Since(t0)
		if c != 200 || body != want {
			t.Fatalf("call from zero: %d %q", c, body)
		}
		return float64(el.Microseconds()) / 1000
	}
	for i := 0; i < 10; i++ {
		fig.ColdProc = append(fig.ColdProc, cold(pf))
		fig.ColdCtr = append(fig.ColdCtr, cold(cf))
	}
	slices.Sort(fig.ColdCtr)
	slices.Sort(fig.ColdProc)
	t.Logf("figures: %+v", fig)
	b, _ := json.Marshal(fig)
	if err := os.WriteFile(out, b, 0o644); err != nil {
		t.Fatal(err)
	}
}

func medianOf(xs []float64) float64 {
	slices.Sort(xs)
	n := len(xs)
	if n%2 == 1 {
		return xs[n/2]
	}
	return (xs[n/2-1] + xs[n/2]) / 2
}

// usageMiB is the memory the runtime reports for the function's replicas.
func usageMiB(t *testing.T, f *harness.Ferry, name string) float64 {
	t.Helper()
	var st struct {
		Usage *struct {
			TotalMemoryBytes float64 `json:"totalMemoryBytes"`
		} `json:"usage"`
	}
	code, b, err := f.Do("GET", "/system/function/"+name, nil)
	if err != nil || code != http.StatusOK || json.Unmarshal(b, &st) != nil || st.Usage == nil {
		t.Fatalf("status of %s: %d %s %v (no usage)", name, code, b, err)
	}
	return st.Usage.TotalMemoryBytes / (1 << 20)
}

// shimsRSS sums the resident memory of the containerd shims serving a
// containerd namespace (outside the replicas' cgroups).
func shimsRSS(namespace string) int64 {
	var sum int64
	procs, _ := filepath.Glob("/proc/[0-9]*/cmdline")
	for _, p := range procs {
		b, err := os.ReadFile(p)
		if err != nil || !strings.Contains(string(b), "containerd-shim") || !strings.Contains(string(b), "\x00-namespace\x00"+namespace+"\x00") {
			continue
		}
		if pid, err := strconv.Atoi(filepath.Base(filepath.Dir(p))); err == nil {
			sum += bench.RSS(pid)
		}
	}
	return sum
}
