package kube

import (
	"bytes"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"syscall"
	"time"
)

// What the cluster changes on the host outside its work dir, and how Stop
// undoes exactly that (never more: other tests share this machine, so the
// iptables rules, netns and cgroups of others are left alone).

// sysctls the kubelet, kube-proxy or the CNI bridge plugin may change.
var sysctls = []string{
	"vm/overcommit_memory", "vm/panic_on_oom", "kernel/panic", "kernel/panic_on_oops",
	"kernel/keys/root_maxkeys", "kernel/keys/root_maxbytes", "net/ipv4/ip_forward",
	"net/ipv4/conf/all/route_localnet", "net/bridge/bridge-nf-call-iptables",
	"net/bridge/bridge-nf-call-ip6tables", "net/netfilter/nf_conntrack_max",
	"net/netfilter/nf_conntrack_tcp_timeout_established", "net/netfilter/nf_conntrack_tcp_timeout_close_wait",
}

const (
	cniNetwork = "ferry-kube"    // name in the conflist; host-local keeps leases under it
	cniState   = "/var/lib/cni"  // host-local leases and cached results
	podLogs    = "/var/log/pods" // the kubelet writes container logs here, whatever its root dir
	ctrLogs    = "/var/log/containers"
	cgroupRoot = "/sys/fs/cgroup"
	kubepods   = "kubepods" // the kubelet's cgroup parent (cgroupfs driver)
)

// Snapshot records the host state the cluster may change.
type Snapshot struct {
	Sysctls  map[string]string
	Netns    map[string]bool
	Chains   map[string]bool // "iptables/nat/KUBE-X"
	Rules    map[string]bool // "iptables/nat/-A ..."
	PodLogs  map[string]bool
	CtrLogs  map[string]bool
	Kubepods map[string]bool // cgroup controller dirs that had kubepods
}

// TakeSnapshot reads the current host state.
func TakeSnapshot() *Snapshot {
	s := &Snapshot{Sysctls: map[string]string{}, Netns: netnsList(), Chains: map[string]bool{}, Rules: map[string]bool{},
		PodLogs: dirSet(podLogs), CtrLogs: dirSet(ctrLogs), Kubepods: kubepodsDirs()}
	for _, k := range sysctls {
		if b, err := os.ReadFile("/proc/sys/" + k); err == nil {
			s.Sysctls[k] = strings.TrimSpace(string(b))
		}
	}
	for _, tool := range []string{"iptables", "ip6tables"} {
		chains, rules := kubeIptables(tool)
		for _, c := range chains {
			s.Chains[tool+"/"+c] = true
		}
		for _, r := range rules {
			s.Rules[tool+"/"+r] = true
		}
	}
	return s
}

// kubeIptables lists the KUBE-* chains ("table/NAME") and the rules that
// mention them ("table/-A ..."), the only ones the kubelet makes.
func kubeIptables(tool string) (chains, rules []string) {
	out, err := exec.Command(tool + "-save").Output()
	if err != nil {
		return nil, nil
	}
	table := ""
	for _, l := range strings.Split(string(out), "\n") {
		switch {
		case strings.HasPrefix(l, "*"):
			table = l[1:]
		case strings.HasPrefix(l, ":KUBE-"):
			chains = append(chains, table+"/"+strings.Fields(l[1:])[0])
		case strings.HasPrefix(l, "-A ") && strings.Contains(l, "KUBE-"):
			rules = append(rules, table+"/"+l)
		}
	}
	return chains, rules
}

// restoreHost undoes what the cluster changed since before: new KUBE-*
// rules and chains, sysctls, new netns, the bridge, CNI leases, pod logs
// and the kubelet's cgroups. Processes must be gone already.
func restoreHost(before *Snapshot) {
	for _, tool := range []string{"iptables", "ip6tables"} {
		chains, rules := kubeIptables(tool)
		for _, r := range rules {
			if before.Rules[tool+"/"+r] {
				continue
			}
			table, spec, _ := strings.Cut(r, "/")
			args := append([]string{"-w", "-t", table, "-D"}, splitRule(strings.TrimPrefix(spec, "-A "))...)
			exec.Command(tool, args...).Run()
		}
		for _, verb := range []string{"-F", "-X"} {
			for _, c := range chains {
				if !before.Chains[tool+"/"+c] {
					table, name, _ := strings.Cut(c, "/")
					exec.Command(tool, "-w", "-t", table, verb, name).Run()
				}
			}
		}
	}
	for k, v := range before.Sysctls {
		if b, err := os.ReadFile("/proc/sys/" + k); err == nil && strings.TrimSpace(string(b)) != v {
			os.WriteFile("/proc/sys/"+k, []byte(v), 0o644)
		}
	}
	for ns := range netnsList() {
		if !before.Netns[ns] {
			exec.Command("ip", "netns", "del", ns).Run()
		}
	}
	exec.Command("ip", "link", "del", bridgeName).Run()
	os.RemoveAll(filepath.Join(cniState, "networks", cniNetwork))
	if m, _ := filepath.Glob(filepath.Join(cniState, "results", cniNetwork+"-*")); m != nil {
		for _, f := range m {
			os.Remove(f)
		}
	}
	for _, d := range []struct {
		dir  string
		keep map[string]bool
	}{{ctrLogs, before.CtrLogs}, {podLogs, before.PodLogs}} {
		for e := range dirSet(d.dir) {
			if !d.keep[e] {
				os.RemoveAll(filepath.Join(d.dir, e))
			}
		}
	}
	for _, dir := range kubepodsList() {
		if !before.Kubepods[dir] {
			killCgroup(dir)
			rmdirTree(dir)
		}
	}
}

// killCgroup SIGKILLs every process left in a cgroup tree the kubelet made
// (containers whose shim is gone), then waits briefly for them to exit.
func killCgroup(root string) {
	for try := 0; try < 20; try++ {
		n := 0
		filepath.WalkDir(root, func(p string, d os.DirEntry, err error) error {
			if err != nil || d.IsDir() || d.Name() != "cgroup.procs" {
				return nil
			}
			b, _ := os.ReadFile(p)
			for _, f := range strings.Fields(string(b)) {
				if pid, err := strconv.Atoi(f); err == nil {
					syscall.Kill(pid, syscall.SIGKILL)
					n++
				}
			}
			return nil
		})
		if n == 0 {
			return
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// Leftovers lists what the cluster left on the host compared with before
// (empty when teardown was complete).
func (before *Snapshot) Leftovers(workDir string) []string {
	var out []string
	after := TakeSnapshot()
	for k, v := range before.Sysctls {
		if after.Sysctls[k] != v {
			out = append(out, fmt.Sprintf("sysctl %s = %s, was %s", k, after.Sysctls[k], v))
		}
	}
	for _, m := range []struct {
		what          string
		before, after map[string]bool
	}{{"netns", before.Netns, after.Netns}, {"iptables chain", before.Chains, after.Chains}, {"iptables rule", before.Rules, after.Rules},
		{"pod log dir", before.PodLogs, after.PodLogs}, {"container log", before.CtrLogs, after.CtrLogs}, {"kubepods cgroup", before.Kubepods, after.Kubepods}} {
		for k := range m.after {
			if !m.before[k] {
				out = append(out, m.what+" "+k)
			}
		}
	}
	if err := exec.Command("ip", "link", "show", bridgeName).Run(); err == nil {
		out = append(out, "bridge "+bridgeName)
	}
	if r, _ := exec.Command("ip", "route", "show", serviceCIDR).Output(); len(bytes.TrimSpace(r)) > 0 {
		out = append(out, "route "+strings.TrimSpace(string(r)))
	}
	if _, err := os.Stat(filepath.Join(cniState, "networks", cniNetwork)); err == nil {
		out = append(out, "CNI leases "+filepath.Join(cniState, "networks", cniNetwork))
	}
	if workDir != "" {
		for _, pid := range procsMentioning(workDir) {
			cmd, _ := os.ReadFile(fmt.Sprintf("/proc/%d/cmdline", pid))
			out = append(out, fmt.Sprintf("process %d: %s", pid, bytes.ReplaceAll(cmd, []byte{0}, []byte{' '})))
		}
		if m := mountsBelow(workDir); len(m) > 0 {
			out = append(out, "mounts: "+strings.Join(m, ", "))
		}
		if _, err := os.Stat(workDir); err == nil {
			out = append(out, "work dir "+workDir)
		}
	}
	sort.Strings(out)
	return out
}

// procsMentioning lists processes whose command line contains s (the
// cluster's work dir is in every daemon's and shim's arguments).
func procsMentioning(s string) []int {
	ents, _ := os.ReadDir("/proc")
	var pids []int
	self := os.Getpid()
	for _, e := range ents {
		pid, err := strconv.Atoi(e.Name())
		if err != nil || pid == self {
			continue
		}
		b, err := os.ReadFile("/proc/" + e.Name() + "/cmdline")
		if err == nil && bytes.Contains(b, []byte(s)) {
			pids = append(pids, pid)
		}
	}
	return pids
}

// killProcsMentioning SIGKILLs, by pid, the processes found by
// procsMentioning (containerd shims outlive containerd by design).
func killProcsMentioning(s string) {
	for _, pid := range procsMentioning(s) {
		syscall.Kill(pid, syscall.SIGKILL)
	}
}

func mountsBelow(dir string) []string {
	b, err := os.ReadFile("/proc/self/mounts")
	if err != nil {
		return nil
	}
	var mps []string
	for _, l := range strings.Split(string(b), "\n") {
		f := strings.Fields(l)
		if len(f) > 1 && (f[1] == dir || strings.HasPrefix(f[1], dir+"/")) {
			mps = append(mps, f[1])
		}
	}
	return mps
}

func dirSet(dir string) map[string]bool {
	m := map[string]bool{}
	ents, _ := os.ReadDir(dir)
	for _, e := range ents {
		m[e.Name()] = true
	}
	return m
}

func netnsList() map[string]bool {
	m := map[string]bool{}
	for e := range dirSet("/run/netns") {
		m[e] = true
	}
	return m
}

// kubepodsList lists CGROUP/CONTROLLER/kubepods dirs (cgroup v1) or
// CGROUP/kubepods (v2).
func kubepodsList() []string {
	var out []string
	if _, err := os.Stat(filepath.Join(cgroupRoot, kubepods)); err == nil {
		out = append(out, filepath.Join(cgroupRoot, kubepods))
	}
	m, _ := filepath.Glob(filepath.Join(cgroupRoot, "*", kubepods))
	return append(out, m...)
}

func kubepodsDirs() map[string]bool {
	m := map[string]bool{}
	for _, d := range kubepodsList() {
		m[d] = true
	}
	return m
}

// rmdirTree removes an empty cgroup tree, deepest first (cgroup dirs are
// removed with rmdir, never by deleting their files).
func rmdirTree(root string) {
	var dirs []string
	filepath.WalkDir(root, func(p string, d os.DirEntry, err error) error {
		if err == nil && d.IsDir() {
			dirs = append(dirs, p)
		}
		return nil
	})
	for i := len(dirs) - 1; i >= 0; i-- {
		syscall.Rmdir(dirs[i])
	}
}

// splitRule splits an iptables-save rule into arguments, honouring the
// double quotes around comments.
func splitRule(s string) []string {
	var args []string
	var cur strings.Builder
	inQ, have := false, false
	for _, r := range s {
		switch {
		case r == '"':
			inQ, have = !inQ, true
		case r == ' ' && !inQ:
			if have {
				args = append(args, cur.String())
				cur.Reset()
				have = false
			}
		default:
			cur.WriteRune(r)
			have = true
		}
	}
	if have {
		args = append(args, cur.String())
	}
	return args
}

// cniResultsOf lists the cached CNI results of the given containers.
func cniResultsOf(ids []string) []string {
	var out []string
	for _, id := range ids {
		m, _ := filepath.Glob(filepath.Join(cniState, "results", "*-"+id+"-*"))
		out = append(out, m...)
	}
	return out
}
