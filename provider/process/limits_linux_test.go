package process

import (
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"

	"github.com/ferryfaas/ferry/api"
)

// A memory limit far too small for anything (128 bytes, typed for 128Mi)
// must not stop other functions from starting: the spawner's thread that
// carries replicas into their cgroups always gets back to its own, before
// and after a restart of the provider and after the function is deleted.
func TestTinyMemoryLimitStopsNoOtherStart(t *testing.T) {
	e := newEnv(t, nil)
	if !e.p.cgm().enabled() {
		t.Skip("needs root and cgroups: " + e.p.cgm().reason)
	}
	e.deploy(api.FunctionDeployment{Service: "tiny", EnvProcess: "cat", Limits: &api.Resources{Memory: "128"}})
	e.deploy(api.FunctionDeployment{Service: "normal", EnvProcess: "cat"})
	e.waitReady("normal", 1)

	e.reopen()
	e.waitReady("normal", 1)
	e.deploy(api.FunctionDeployment{Service: "after", EnvProcess: "cat"})
	e.waitReady("after", 1)

	if err := e.p.Delete(t.Context(), ns, "tiny"); err != nil {
		t.Fatal(err)
	}
	e.reopen()
	e.deploy(api.FunctionDeployment{Service: "later", EnvProcess: "cat"})
	e.waitReady("later", 1)
}

// The floor is enforced instead of the tiny limit, and said so.
func TestTinyMemoryLimitRaisedToFloor(t *testing.T) {
	e := newEnv(t, nil)
	if !e.p.cgm().enabled() {
		t.Skip("needs root and cgroups: " + e.p.cgm().reason)
	}
	e.deploy(api.FunctionDeployment{Service: "tiny", EnvProcess: "cat", Limits: &api.Resources{Memory: "128"}})
	e.waitReady("tiny", 1)
	st, err := e.p.Get(t.Context(), ns, "tiny")
	if err != nil {
		t.Fatal(err)
	}
	if !hasCondition(st, "LimitsEnforced", "below the floor of 16 MiB") {
		t.Fatalf("conditions %+v: no word of the floor", st.Conditions)
	}
	if e.p.cgm().version == "v1" {
		b, _ := os.ReadFile(filepath.Join(e.p.cgm().mem, e.p.cgm().base, ns+"-tiny", "0", "memory.limit_in_bytes"))
		if got := strings.TrimSpace(string(b)); got != strconv.Itoa(MinMemoryBytes) {
			t.Fatalf("memory.limit_in_bytes %s, want %d", got, MinMemoryBytes)
		}
	}
}

func hasCondition(st api.FunctionStatus, typ, text string) bool {
	for _, c := range st.Conditions {
		if c.Type == typ && strings.Contains(c.Message, text) {
			return true
		}
	}
	return false
}

// Below the floor too (a group made directly), the spawner's thread comes
// back: the limit is set only once it left, and a replica the kernel
// cannot hold to it is not run at all.
func TestSpawnerLeavesGroupOfTinyLimit(t *testing.T) {
	e := newEnv(t, nil)
	if !e.p.cgm().enabled() {
		t.Skip("needs root and cgroups: " + e.p.cgm().reason)
	}
	cg, err := e.p.cgm().create(ns+"-raw", "0", limits{memBytes: 128})
	if err != nil {
		t.Fatal(err)
	}
	defer e.p.cgm().removeFunction(ns + "-raw")
	cmd := exec.Command("sleep", "5")
	if err := startCmd(cmd, e.p.cgm(), cg, e.p.log); err == nil {
		// The kernel may accept the limit for a process still that small.
		defer func() { cmd.Process.Kill(); cmd.Wait() }()
	}
	tasks, _ := filepath.Glob("/proc/self/task/*/cgroup")
	for _, f := range tasks {
		if b, _ := os.ReadFile(f); strings.Contains(string(b), "/"+e.p.cgm().base+"/") {
			t.Fatalf("%s is in a replica's group:\n%s", f, b)
		}
	}
	e.deploy(api.FunctionDeployment{Service: "normal", EnvProcess: "cat"})
	e.waitReady("normal", 1)
}
