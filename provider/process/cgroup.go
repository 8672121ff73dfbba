package process

// cgroupMgr creates per-replica cgroups that enforce limits.memory and
// limits.cpu (Linux, root). Disabled, it says why in reason.
type cgroupMgr struct {
	version string // "v1" or "v2"; "" when limits cannot be enforced
	reason  string
	mem     string // v1: memory hierarchy mount point
	cpu     string // v1: cpu hierarchy mount point
	pids    string // v1: pids hierarchy mount point ("" when not mounted)
	unified string // v2: mount point
	// base is "ferry/<id of the data dir>" under each mount: two ferry
	// servers on one host (tests, e2e runs) never share or kill each
	// other's groups.
	base string
}

func (m *cgroupMgr) enabled() bool { return m != nil && m.version != "" }

// cgroup is one replica's group (one dir per v1 hierarchy, one for v2).
// All methods accept a nil receiver: no cgroup, nothing to do.
type cgroup struct {
	dirs []string
	v2   bool
	// memFile and mem are the memory limit that limitMemory sets (mem 0:
	// none). It is set apart from the other limits because the spawner's
	// thread passes through the group (cgjoin_linux.go): any page that
	// thread touches there is charged to the group, so a limit too small
	// for it would make the kernel refuse to move it back out, or OOM-kill
	// ferry itself.
	memFile string
	mem     int64
}

// limits is what a replica's cgroups enforce (0: no limit).
type limits struct {
	memBytes, cpuMilli, pids int64
}
