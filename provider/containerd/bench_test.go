package containerd

import (
	"context"
	"fmt"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/ferryfaas/ferry/internal/ports"
	"github.com/ferryfaas/ferry/test/harness"
)

const coldStarts = 10

// Cold start is Start until the watchdog answers its health check, for a
// Go http function image already imported; beside it, in the same run,
// the same watchdog and handler started as plain processes (what the
// process runtime does). Idle memory is the replica's memory cgroup once
// it has served one call, and the one containerd shim serving the
// runtime's replicas.
func TestColdStartAndIdleMemory(t *testing.T) {
	e := newEnv(t, 93)
	e.importProbe(t)
	var times []time.Duration
	ctx := context.Background()
	// Another function's replica runs meanwhile, as on any server with
	// more than one function: its shim serves the new replicas too.
	other := e.start(t, ReplicaSpec{Function: "other", Instance: "other-0"})
	for i := 0; i < coldStarts; i++ {
		t0 := time.Now()
		x, err := e.rt.Start(ctx, ReplicaSpec{Function: "probe", Namespace: "fn", Instance: fmt.Sprintf("probe-%d", i),
			Image: "ferry-test/probe:1", Env: []string{"healthcheck_interval=100ms"}})
		if err != nil {
			t.Fatal(err)
		}
		select {
		case <-x.Ready():
		case <-x.Done():
			t.Fatalf("exited: %v", x.Err())
		case <-time.After(30 * time.Second):
			t.Fatal("not ready in 30s")
		}
		times = append(times, time.Since(t0))
		if i == coldStarts-1 {
			ask(t, x, "op=id")
			time.Sleep(500 * time.Millisecond)
			u, err := x.Usage(ctx)
			if err != nil {
				t.Fatal(err)
			}
			t.Logf("idle replica: memory cgroup usage %.1f MiB; its containerd shim (outside the cgroup) RSS %.1f MiB",
				float64(u.MemoryBytes)/(1<<20), float64(shimRSS(t, e.cfg.Namespace))/(1<<20))
		}
		if err := x.Stop(ctx, 5*time.Second); err != nil {
			t.Fatal(err)
		}
	}
	base := processColdStarts(t)
	t.Logf("cold start to ready, p50 of %d: containerd %s (min %s, max %s); same watchdog+handler as processes %s (min %s)",
		coldStarts, p50(times), slices.Min(times).Round(100*time.Microsecond), slices.Max(times).Round(100*time.Microsecond),
		p50(base), slices.Min(base).Round(100*time.Microsecond))
	if err := other.Stop(ctx, time.Second); err != nil {
		t.Fatal(err)
	}
	e.requireClean(t)
}

func p50(d []time.Duration) time.Duration {
	s := slices.Clone(d)
	slices.Sort(s)
	return s[len(s)/2].Round(100 * time.Microsecond)
}

// processColdStarts starts the probe's watchdog and handler binaries on
// the host, polled the same way as a replica.
func processColdStarts(t *testing.T) []time.Duration {
	wd, err := harness.GoBinary("watchdog", "./cmd/watchdog")
	if err != nil {
		t.Fatal(err)
	}
	handler := filepath.Join(probe.dir, "build-docker", "probe", "handler")
	client := &http.Client{Timeout: time.Second, Transport: &http.Transport{DisableKeepAlives: true}}
	var out []time.Duration
	for i := 0; i < coldStarts; i++ {
		port, err1 := ports.Free()
		up, err2 := ports.Free()
		if err1 != nil || err2 != nil {
			t.Fatal(err1, err2)
		}
		cmd := exec.Command(wd)
		cmd.Env = []string{"mode=http", "fprocess=" + handler, "port=" + strconv.Itoa(port), "metrics_port=0",
			"upstream_url=http://127.0.0.1:" + strconv.Itoa(up), "upstream_port=" + strconv.Itoa(up), "healthcheck_interval=100ms"}
		cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
		t0 := time.Now()
		if err := cmd.Start(); err != nil {
			t.Fatal(err)
		}
		url := "http://127.0.0.1:" + strconv.Itoa(port) + "/_/health"
		wait := time.Millisecond
		for {
			if resp, err := client.Get(url); err == nil {
				resp.Body.Close()
				if resp.StatusCode == 200 {
					break
				}
			}
			if time.Since(t0) > 30*time.Second {
				syscall.Kill(-cmd.Process.Pid, syscall.SIGKILL)
				cmd.Wait()
				t.Fatal("watchdog process not ready in 30s")
			}
			time.Sleep(wait)
			wait = min(wait*2, 5*time.Millisecond)
		}
		out = append(out, time.Since(t0))
		if i == coldStarts-1 {
			if resp, err := client.Get("http://127.0.0.1:" + strconv.Itoa(port) + "/?op=id"); err == nil {
				resp.Body.Close()
			}
			time.Sleep(500 * time.Millisecond)
			t.Logf("same watchdog+handler as processes: RSS %.1f MiB", float64(vmRSS(strconv.Itoa(cmd.Process.Pid)))/(1<<20))
		}
		syscall.Kill(-cmd.Process.Pid, syscall.SIGKILL)
		cmd.Wait()
	}
	return out
}

// shimRSS is the resident memory of the containerd shim serving the
// runtime's replicas (one shim for all of them), without the containers.
func shimRSS(t *testing.T, namespace string) int64 {
	pids := shimPids(namespace)
	if len(pids) == 0 {
		t.Logf("no shim process found for namespace %s", namespace)
		return 0
	}
	var sum int64
	for _, pid := range pids {
		st, _ := os.ReadFile("/proc/" + pid + "/status")
		for _, l := range strings.Split(string(st), "\n") {
			if f := strings.Fields(l); len(f) == 3 && f[0] == "VmRSS:" {
				kb, _ := strconv.ParseInt(f[1], 10, 64)
				sum += kb << 10
			}
		}
	}
	return sum
}

// vmRSS is a process's resident memory, plus its children's.
func vmRSS(pid string) int64 {
	st, _ := os.ReadFile("/proc/" + pid + "/status")
	var rss int64
	for _, l := range strings.Split(string(st), "\n") {
		if f := strings.Fields(l); len(f) == 3 && f[0] == "VmRSS:" {
			kb, _ := strconv.ParseInt(f[1], 10, 64)
			rss = kb << 10
		}
	}
	kids, _ := os.ReadFile("/proc/" + pid + "/task/" + pid + "/children")
	for _, k := range strings.Fields(string(kids)) {
		rss += vmRSS(k)
	}
	return rss
}
