package bench

import (
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strings"

	"github.com/ferryfaas/ferry/test/harness"
)

// Kubernetes cold start: 0 → 1 replica to the first response
// through the gateway, image already on the node, p50 over 10 tries, on the
// real single-node cluster of test/kube (its own Go module, so this runs its
// TestColdStart rather than importing it). Target 1 s; OpenFaaS publishes
// 0.7 to 2 s. Skipped, with the reason, when the cluster binaries are not
// cached (test/kube/build.sh builds them once, ~25 min). When helm is
// cached too, the same cluster then runs the platform installed in it
// with the chart (TestHelmChart, its Bench subtest only): invocation at
// c=16 through the in-cluster gateway's Service and the 0→1 cold start
// through it, each beside a gateway on the host on the same cluster and
// function.
func init() { Register(Scenario{Name: "kubernetes", Order: 35, Run: runKube}) }

// kubeVersion must match test/kube.Version.
const kubeVersion = "v1.37.2"

func kubeBinDir() string {
	if d := os.Getenv("FERRY_KUBE_CACHE"); d != "" {
		return filepath.Join(d, kubeVersion)
	}
	home, _ := os.UserHomeDir()
	return filepath.Join(home, ".cache", "ferry", "kube", kubeVersion)
}

// kubeUnavailable says why the cluster cannot run here, or "".
func kubeUnavailable(env *Env) string {
	if env.Quick {
		return "quick mode (a cluster start takes ~30 s)"
	}
	if runtime.GOOS != "linux" || os.Geteuid() != 0 {
		return "needs root on Linux"
	}
	for _, b := range []string{"kube-apiserver", "kube-controller-manager", "kube-scheduler", "kubelet", "kubectl"} {
		if _, err := os.Stat(filepath.Join(kubeBinDir(), b)); err != nil {
			return "Kubernetes binaries not cached in " + kubeBinDir() + ": run test/kube/build.sh"
		}
	}
	for _, b := range []string{"etcd", "containerd", "ctr", "runc"} {
		if _, err := exec.LookPath(b); err != nil {
			return b + " not installed: run scripts/install-deps.sh"
		}
	}
	return ""
}

func runKube(ctx context.Context, env *Env) ([]Row, error) {
	const target = 1000.0 // ms
	name := "cold start 0→1, image on node (OpenFaaS: 0.7–2 s)"
	if why := kubeUnavailable(env); why != "" {
		env.Logf("   kubernetes: skipped: %s", why)
		return []Row{{Case: name, Metric: "skipped: " + why}}, nil
	}
	out := filepath.Join(os.TempDir(), fmt.Sprintf("ferry-kube-bench-%d.txt", os.Getpid()))
	helmOut := out + ".helm"
	defer os.Remove(out)
	defer os.Remove(helmOut)
	pattern := "^TestColdStart$"
	if _, err := os.Stat(filepath.Join(filepath.Dir(kubeBinDir()), "helm", kubeHelmVersion, "helm")); err == nil {
		pattern = "^(TestColdStart|TestHelmChart)$/^Bench$"
	}
	cmd := exec.CommandContext(ctx, "go", "test", "-count=1", "-run", pattern, "-v", "-timeout", "25m", ".")
	cmd.Dir = filepath.Join(harness.Root(), "test", "kube")
	cmd.Env = append(os.Environ(), "FERRY_KUBE_BENCH_OUT="+out, "FERRY_KUBE_HELM_BENCH_OUT="+helmOut,
		"FERRY_BIN_DIR="+env.BinDir, "FERRY_KUBE_REQUIRED=1")
	b, err := cmd.CombinedOutput()
	if err != nil {
		return nil, fmt.Errorf("test/kube TestColdStart: %v\n%s", err, kubeTail(string(b), 30))
	}
	raw, err := os.ReadFile(out)
	if err != nil {
		return nil, fmt.Errorf("test/kube TestColdStart wrote no figures: %v\n%s", err, kubeTail(string(b), 30))
	}
	var p50, lo, hi, kubelet float64
	if _, err := fmt.Sscan(string(raw), &p50, &lo, &hi, &kubelet); err != nil {
		return nil, fmt.Errorf("figures %q: %v", raw, err)
	}
	rows := []Row{
		{Case: name, Metric: "p50 (10 tries)", Value: p50, Unit: "ms", Ratio: p50 / target, Target: "<= 1000 ms", Met: p50 <= target},
		{Case: name, Metric: "min", Value: lo, Unit: "ms"},
		{Case: name, Metric: "max", Value: hi, Unit: "ms"},
		{Case: name + ", kubelet readiness only (FERRY_KUBE_DIRECT_READINESS=0)", Metric: "p50 (10 tries)", Value: kubelet, Unit: "ms"},
	}
	return append(rows, inClusterRows(helmOut)...), nil
}

// kubeHelmVersion must match test/kube.HelmVersion.
const kubeHelmVersion = "v4.3.2"

// inClusterRows reads the figures of TestHelmChart/Bench (none when it did
// not run).
func inClusterRows(file string) []Row {
	raw, err := os.ReadFile(file)
	if err != nil {
		return nil
	}
	var rIn, rOut, pIn, pOut, cIn, cOut, cLo, cHi float64
	if _, err := fmt.Sscan(string(raw), &rIn, &rOut, &pIn, &pOut, &cIn, &cOut, &cLo, &cHi); err != nil || rOut == 0 || cOut == 0 {
		return nil
	}
	inv := "invocation c=16 through the in-cluster gateway Service (helm chart, 2 gateways, kube-proxy), 3 alternating 3 s rounds"
	host := "gateway on the host, same cluster and function"
	cold := "cold start 0→1 through the in-cluster gateway Service (5 tries)"
	return []Row{
		{Case: inv, Metric: "req/s (median)", Value: rIn, Unit: "req/s", Baseline: host, BaselineValue: rOut, Ratio: rIn / rOut},
		{Case: inv, Metric: "p50 (median)", Value: pIn, Unit: "ms", Baseline: host, BaselineValue: pOut, Ratio: pIn / pOut},
		{Case: cold, Metric: "p50", Value: cIn, Unit: "ms", Baseline: host, BaselineValue: cOut, Ratio: cIn / cOut},
		{Case: cold, Metric: "min", Value: cLo, Unit: "ms"},
		{Case: cold, Metric: "max", Value: cHi, Unit: "ms"},
	}
}

func kubeTail(s string, n int) string {
	l := strings.Split(strings.TrimRight(s, "\n"), "\n")
	if len(l) > n {
		l = l[len(l)-n:]
	}
	return strings.Join(l, "\n")
}
