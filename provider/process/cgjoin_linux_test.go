package process

import (
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"

	"github.com/ferryfaas/ferry/api"
)

// Under cgroup v1 the spawner's thread carries a replica into its groups
// (cgjoin_linux.go) and comes back: the watchdog is born inside both the
// memory and the cpu group without being told to join them, and no
// thread of ferry stays in a replica's group. With that path off, the
// watchdog joins by itself and ends up in the same groups.
func TestSpawnerThreadCarriesReplicaIntoCgroups(t *testing.T) {
	e := newEnv(t, nil)
	if !e.p.isolate || e.p.cgm().version != "v1" {
		t.Skip("needs root and cgroup v1: " + e.p.cgm().reason)
	}
	t.Cleanup(func() { spawner.noThreadJoin.Store(false) })
	for _, viaThread := range []bool{true, false} {
		spawner.noThreadJoin.Store(!viaThread)
		name := "cgt-" + strconv.FormatBool(viaThread)
		e.deploy(api.FunctionDeployment{Service: name, EnvProcess: "cat", Limits: &api.Resources{Memory: "64Mi", CPU: "500m"}})
		e.waitReady(name, 1)
		pid := e.p.pids(ns, name)[name+"-0"]
		env, err := os.ReadFile("/proc/" + strconv.Itoa(pid) + "/environ")
		if err != nil {
			t.Fatal(err)
		}
		if told := strings.Contains("\x00"+string(env), "\x00FERRY_CGROUPS="); told == viaThread {
			t.Fatalf("%s: watchdog told to join its cgroups = %v, want %v", name, told, !viaThread)
		}
		for _, root := range []string{e.p.cgm().mem, e.p.cgm().cpu} {
			dir := filepath.Join(root, e.p.cgm().base, ns+"-"+name, "0")
			procs, _ := os.ReadFile(filepath.Join(dir, "cgroup.procs"))
			if !strings.Contains("\n"+string(procs), "\n"+strconv.Itoa(pid)+"\n") {
				t.Fatalf("%s: watchdog %d not in %s: %q", name, pid, dir, procs)
			}
			if strings.Contains("\n"+string(procs), "\n"+strconv.Itoa(os.Getpid())+"\n") {
				t.Fatalf("%s: a thread of ferry (pid %d) is left in %s", name, os.Getpid(), dir)
			}
		}
		tasks, _ := filepath.Glob("/proc/self/task/*/cgroup")
		for _, f := range tasks {
			if b, _ := os.ReadFile(f); strings.Contains(string(b), "/"+e.p.cgm().base+"/") {
				t.Fatalf("%s: %s is in a replica's group:\n%s", name, f, b)
			}
		}
	}
}

func TestThreadCgroup(t *testing.T) {
	text := "12:pids:/user.slice\n4:memory:/process_api/6f1e\n3:cpu,cpuacct:/system.slice/ferry.service\n1:name=systemd:/x\n0::/y\n"
	for _, c := range []struct{ ctl, want string }{{"memory", "/process_api/6f1e"}, {"cpu", "/system.slice/ferry.service"}, {"cpuacct", "/system.slice/ferry.service"}} {
		if got, ok := threadCgroup(text, c.ctl); !ok || got != c.want {
			t.Errorf("threadCgroup(%s) = %q, %v; want %q", c.ctl, got, ok, c.want)
		}
	}
	if _, ok := threadCgroup(text, "cpuset"); ok {
		t.Error("cpuset found in a text without it")
	}
}
