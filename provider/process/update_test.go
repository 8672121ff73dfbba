package process

import (
	"context"
	"maps"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/ferryfaas/ferry/api"
	"github.com/ferryfaas/ferry/provider"
	"github.com/ferryfaas/ferry/store"
)

// A rolling update under steady load: new replicas are ready before old
// ones stop, so no request fails. The load is bounded in count and time.
func TestUpdateWithoutFailedRequests(t *testing.T) {
	e := newEnv(t, nil)
	fn := func(v string) api.FunctionDeployment {
		return api.FunctionDeployment{Service: "up", Image: "x", Namespace: ns,
			EnvProcess: `sh -c 'cat >/dev/null; echo "v$VERSION"'`,
			EnvVars:    map[string]string{"VERSION": v},
			Labels:     map[string]string{"com.openfaas.scale.min": "2"}}
	}
	e.deploy(fn("1"))
	e.waitReady("up", 2)

	const maxRequests, workers = 3000, 4
	var sent, failed, v1, v2 atomic.Int64
	var firstErr atomic.Value
	stop := make(chan struct{})
	deadline := time.Now().Add(40 * time.Second)
	var wg sync.WaitGroup
	for w := range workers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := w; sent.Load() < maxRequests && time.Now().Before(deadline); i++ {
				select {
				case <-stop:
					return
				default:
				}
				r, _ := e.p.Route(ns, "up")
				if len(r.Endpoints) == 0 {
					failed.Add(1)
					firstErr.CompareAndSwap(nil, "no endpoints")
					continue
				}
				sent.Add(1)
				code, body, err := tryInvoke(r.Endpoints[i%len(r.Endpoints)], "x")
				switch {
				case err != nil || code != 200:
					failed.Add(1)
					firstErr.CompareAndSwap(nil, r.Endpoints[i%len(r.Endpoints)].Instance+": "+strconv.Itoa(code)+" "+body+" "+errString(err))
				case body == "v1\n":
					v1.Add(1)
				case body == "v2\n":
					v2.Add(1)
				}
			}
		}()
	}
	waitCount := func(n int64) {
		for sent.Load() < n && time.Now().Before(deadline) {
			time.Sleep(5 * time.Millisecond) // progress of the load loop, not a readiness wait
		}
	}
	waitCount(100)
	if err := e.p.Update(context.Background(), fn("2")); err != nil {
		t.Fatal(err)
	}
	e.waitRoute("up", 30*time.Second, "only new replicas", func(r provider.Route) bool {
		if len(r.Endpoints) != 2 {
			return false
		}
		for _, ep := range r.Endpoints {
			if ep.Instance == "up-0" || ep.Instance == "up-1" {
				return false
			}
		}
		return true
	})
	waitCount(sent.Load() + 200)
	close(stop)
	wg.Wait()
	t.Logf("requests %d, failed %d, v1 %d, v2 %d", sent.Load(), failed.Load(), v1.Load(), v2.Load())
	if failed.Load() != 0 {
		t.Fatalf("%d requests failed during the update; first: %v", failed.Load(), firstErr.Load())
	}
	if v1.Load() == 0 || v2.Load() == 0 {
		t.Fatalf("want answers from both versions: v1 %d v2 %d", v1.Load(), v2.Load())
	}
	st, _ := e.p.Get(context.Background(), ns, "up")
	if st.Replicas != 2 || st.EnvVars["VERSION"] != "2" {
		t.Fatalf("status after update: %+v", st)
	}
}

func errString(err error) string {
	if err == nil {
		return ""
	}
	return err.Error()
}

// As root with cgroups: limits land in the replica's cgroup and the
// replica runs as the function's own uid.
func TestLimitsAndUser(t *testing.T) {
	e := newEnv(t, nil)
	if !e.p.isolate || !e.p.cgm().enabled() {
		t.Skip("needs root and cgroups: " + e.p.cgm().reason)
	}
	e.deploy(api.FunctionDeployment{Service: "lim", EnvProcess: "cat", Limits: &api.Resources{Memory: "64Mi", CPU: "250m"}})
	e.waitReady("lim", 1)
	pid := e.p.pids(ns, "lim")["lim-0"]
	uid := e.p.lookup(ns, "lim").record().UID
	status, _ := os.ReadFile("/proc/" + strconv.Itoa(pid) + "/status")
	if !strings.Contains(string(status), "\nUid:\t"+strconv.Itoa(uid)+"\t") {
		t.Fatalf("watchdog of lim should run as uid %d:\n%s", uid, status)
	}
	var memDir, cpuDir string
	if e.p.cgm().version == "v1" {
		memDir = filepath.Join(e.p.cgm().mem, e.p.cgm().base, ns+"-lim", "0")
		cpuDir = filepath.Join(e.p.cgm().cpu, e.p.cgm().base, ns+"-lim", "0")
		expectFile(t, filepath.Join(memDir, "memory.limit_in_bytes"), "67108864")
		expectFile(t, filepath.Join(cpuDir, "cpu.cfs_quota_us"), "25000")
		expectFile(t, filepath.Join(cpuDir, "cpu.cfs_period_us"), "100000")
	} else {
		memDir = filepath.Join(e.p.cgm().unified, e.p.cgm().base, ns+"-lim", "0")
		cpuDir = memDir
		expectFile(t, filepath.Join(memDir, "memory.max"), "67108864")
		expectFile(t, filepath.Join(memDir, "cpu.max"), "25000 100000")
	}
	for _, d := range []string{memDir, cpuDir} {
		procs, _ := os.ReadFile(filepath.Join(d, "cgroup.procs"))
		if !strings.Contains("\n"+string(procs), "\n"+strconv.Itoa(pid)+"\n") {
			t.Fatalf("pid %d not in %s/cgroup.procs: %q", pid, d, procs)
		}
	}
	st, _ := e.p.Get(context.Background(), ns, "lim")
	found := false
	for _, c := range st.Conditions {
		found = found || c.Type == "LimitsEnforced" && c.Status == "True"
	}
	if !found {
		t.Fatalf("conditions: %+v", st.Conditions)
	}
	// An update without the CPU limit leaves no cpu group behind (v1).
	if err := e.p.Update(context.Background(), api.FunctionDeployment{Service: "lim", Namespace: ns, Image: "example/fn:latest",
		EnvProcess: "cat", Limits: &api.Resources{Memory: "64Mi"}}); err != nil {
		t.Fatal(err)
	}
	for deadline := time.Now().Add(20 * time.Second); ; time.Sleep(20 * time.Millisecond) {
		pids := e.p.pids(ns, "lim")
		if len(pids) == 1 && !slices.Contains(slices.Collect(maps.Values(pids)), pid) {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("replica of lim not replaced after the update: %v", pids)
		}
	}
	e.waitReady("lim", 1)
	if e.p.cgm().version == "v1" {
		// The old replica removes its groups as it finishes stopping.
		for deadline := time.Now().Add(5 * time.Second); ; time.Sleep(20 * time.Millisecond) {
			_, err := os.Stat(cpuDir)
			if os.IsNotExist(err) {
				break
			}
			if time.Now().After(deadline) {
				t.Fatalf("cpu group %s left after the CPU limit was removed: %v", cpuDir, err)
			}
		}
	}
	// Delete removes the function's cgroups once its replicas are gone.
	if err := e.p.Delete(context.Background(), ns, "lim"); err != nil {
		t.Fatal(err)
	}
	e.p.waitCleanup(context.Background(), ns+"/lim")
	if _, err := os.Stat(filepath.Dir(memDir)); !os.IsNotExist(err) {
		t.Fatalf("cgroup %s left after delete: %v", filepath.Dir(memDir), err)
	}
}

// An http-mode function is started by the watchdog at once, in a process
// group of its own: it must still be born inside the replica's cgroup
// (it used to stay outside, its limits unenforced). A function with no CPU
// limit gets no cpu group under cgroup v1.
func TestLimitsCoverHTTPFunction(t *testing.T) {
	e := newEnv(t, nil)
	if !e.p.isolate || !e.p.cgm().enabled() {
		t.Skip("needs root and cgroups: " + e.p.cgm().reason)
	}
	ann, upstream := upstreamWatchdog(t, e)
	e.deploy(api.FunctionDeployment{Service: "webl", EnvProcess: upstream, Annotations: ann,
		EnvVars: map[string]string{"mode": "http"},
		Limits:  &api.Resources{Memory: "64Mi"}})
	r := e.waitReady("webl", 1)
	if code, body := invoke(t, r.Endpoints[0], "limited"); code != 200 || body != "limited" {
		t.Fatalf("invoke: %d %q", code, body)
	}
	wd := e.p.pids(ns, "webl")["webl-0"]
	kids := descendants(wd)
	if len(kids) == 0 {
		t.Fatal("no function process under the watchdog")
	}
	root := e.p.cgm().mem
	if e.p.cgm().version == "v2" {
		root = e.p.cgm().unified
	}
	dir := filepath.Join(root, e.p.cgm().base, ns+"-webl", "0")
	procs, _ := os.ReadFile(filepath.Join(dir, "cgroup.procs"))
	for _, k := range append(kids, proc{pid: wd}) {
		if !strings.Contains("\n"+string(procs), "\n"+strconv.Itoa(k.pid)+"\n") {
			t.Fatalf("pid %d (of %d under watchdog %d) is not in %s: %q", k.pid, len(kids), wd, dir, procs)
		}
	}
	if e.p.cgm().version == "v1" {
		cpuDir := filepath.Join(e.p.cgm().cpu, e.p.cgm().base, ns+"-webl", "0")
		if _, err := os.Stat(cpuDir); !os.IsNotExist(err) {
			t.Fatalf("cpu group %s made for a function without a CPU limit (%v)", cpuDir, err)
		}
	}
}

func expectFile(t *testing.T, path, want string) {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil || strings.TrimSpace(string(b)) != want {
		t.Fatalf("%s = %q (%v), want %q", path, b, err, want)
	}
}

// Processes a killed ferry left in its cgroups are reaped on the next start.
func TestStaleCgroupsReaped(t *testing.T) {
	e := newEnv(t, nil)
	if !e.p.isolate || !e.p.cgm().enabled() {
		t.Skip("needs root and cgroups")
	}
	e.close()
	cg, err := e.p.cgm().create(ns+"-ghost", "0", limits{})
	if err != nil {
		t.Fatal(err)
	}
	orphan := exec.Command("sleep", "300")
	if err := orphan.Start(); err != nil {
		t.Fatal(err)
	}
	for _, d := range cg.dirs {
		if err := os.WriteFile(filepath.Join(d, "cgroup.procs"), []byte(strconv.Itoa(orphan.Process.Pid)), 0); err != nil {
			t.Fatal(err)
		}
	}
	done := make(chan error, 1)
	go func() { done <- orphan.Wait() }()
	e.open()
	select {
	case <-done:
	case <-time.After(10 * time.Second):
		orphan.Process.Kill()
		t.Fatal("a process left in this server's cgroup survived New")
	}
	if _, err := os.Stat(cg.dirs[0]); !os.IsNotExist(err) {
		t.Fatalf("stale cgroup %s not removed: %v", cg.dirs[0], err)
	}
	if _, err := os.Stat(filepath.Dir(cg.dirs[0])); !os.IsNotExist(err) {
		t.Fatalf("the stale function's group %s not removed: %v", filepath.Dir(cg.dirs[0]), err)
	}
}

// A delete removes the function's groups, also a replica group left in it
// (found by a reviewer: nine deploy/delete cycles left nine groups).
func TestDeleteRemovesCgroups(t *testing.T) {
	e := newEnv(t, nil)
	if !e.p.isolate || !e.p.cgm().enabled() {
		t.Skip("needs root and cgroups")
	}
	e.deploy(api.FunctionDeployment{Service: "lim", EnvProcess: "cat",
		Limits: &api.Resources{Memory: "64Mi", CPU: "500m"}})
	e.waitReady("lim", 1)
	stray, err := e.p.cgm().create(ns+"-lim", "7", limits{cpuMilli: 100})
	if err != nil {
		t.Fatal(err)
	}
	fnDirs := []string{}
	for _, d := range stray.dirs {
		fnDirs = append(fnDirs, filepath.Dir(d))
	}
	if err := e.p.Delete(context.Background(), ns, "lim"); err != nil {
		t.Fatal(err)
	}
	if err := e.p.waitCleanup(context.Background(), store.Key(ns, "lim")); err != nil {
		t.Fatal(err)
	}
	for _, d := range fnDirs {
		if _, err := os.Stat(d); !os.IsNotExist(err) {
			t.Errorf("the deleted function's group %s is still there: %v", d, err)
		}
	}
}

// An update whose replicas never become ready leaves the old ones serving
// and says why; a good update afterwards recovers.
func TestBadUpdateKeepsOldReplicas(t *testing.T) {
	e := newEnv(t, func(c *Config) { c.BackoffMin = 10 * time.Millisecond; c.BackoffMax = 50 * time.Millisecond })
	ctx := context.Background()
	d := api.FunctionDeployment{Service: "keep", Image: "x", Namespace: ns, EnvProcess: "cat"}
	e.deploy(d)
	e.waitReady("keep", 1)
	bad := d
	bad.EnvVars = map[string]string{"mode": "bogus"}
	if err := e.p.Update(ctx, bad); err != nil {
		t.Fatal(err)
	}
	waitCrash := time.NewTimer(20 * time.Second)
	defer waitCrash.Stop()
	for {
		st, _ := e.p.Get(ctx, ns, "keep")
		if st.Conditions[0].Reason == "CrashLoop" {
			break
		}
		select {
		case <-waitCrash.C:
			t.Fatalf("no crash loop reported: %+v", st.Conditions)
		case <-time.After(20 * time.Millisecond): // status has no change event; poll it
		}
	}
	r, _ := e.p.Route(ns, "keep")
	if len(r.Endpoints) != 1 || r.Endpoints[0].Instance != "keep-0" || r.Failure != "" {
		t.Fatalf("old replica should keep serving without a failure: %+v", r)
	}
	if code, body := invoke(t, r.Endpoints[0], "old"); code != 200 || body != "old" {
		t.Fatalf("old replica: %d %q", code, body)
	}
	good := d
	good.EnvVars = map[string]string{"VERSION": "3"}
	if err := e.p.Update(ctx, good); err != nil {
		t.Fatal(err)
	}
	r = e.waitRoute("keep", 20*time.Second, "recovered", func(r provider.Route) bool {
		return len(r.Endpoints) == 1 && r.Endpoints[0].Instance != "keep-0"
	})
	if code, _ := invoke(t, r.Endpoints[0], "new"); code != 200 {
		t.Fatalf("after the good update: %d", code)
	}
	if st, _ := e.p.Get(ctx, ns, "keep"); st.Conditions[0].Status != "True" {
		t.Fatalf("conditions after recovery: %+v", st.Conditions)
	}
}
