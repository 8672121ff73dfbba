package process

import (
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/ferryfaas/ferry/api"
)

// procRuntime is the process runtime: each replica is a watchdog started
// as a process group of its own, with the function's code unpacked from
// its artifact into a working dir, its own uid and cgroups when ferry is
// root on Linux. It reaches the Provider for the data dir's layout, the
// artifact store and the isolation settings only.
type procRuntime struct {
	p  *Provider
	cg *cgroupMgr
}

var (
	_ Runtime     = (*procRuntime)(nil)
	_ UsageReader = (*procRuntime)(nil)
	_ Forgetter   = (*procRuntime)(nil)
	_ Closer      = (*procRuntime)(nil)
)

// procVersion is what Prepare readies for Start.
type procVersion struct {
	env      []string // without the per-start keys (port, upstream)
	dir      string   // working dir
	uid, gid int      // -1: ferry's own user
	lim      limits   // what the replica's cgroups enforce
	// httpPort: mode http without upstream_url: each replica gets its own
	// upstream port (given as PORT and http_port).
	httpPort bool
}

// Prepare unpacks the artifact into the working dir and computes the
// environment and limits of the watchdogs.
func (rt *procRuntime) Prepare(_ context.Context, v *Version) (Prepared, error) {
	p, d := rt.p, v.Deployment
	dirs := p.dirs(d.Namespace, d.Service)
	s := &procVersion{uid: v.UID, gid: v.GID}
	out := Prepared{Run: s}
	if v.Artifact != "" {
		s.dir = filepath.Join(v.CodeDir, v.Artifact)
		if err := v.Unpack(s.dir); err != nil {
			return out, err
		}
	} else {
		s.dir = filepath.Join(dirs.code, "none")
		if err := p.ownedDir(s.dir, 0o700, s.uid, s.gid); err != nil {
			return out, err
		}
	}
	out.Dir = s.dir
	if err := p.ownedDir(dirs.tmp, 0o700, s.uid, s.gid); err != nil {
		return out, err
	}

	fprocess := strings.TrimSpace(d.EnvProcess)
	if fprocess == "" {
		fprocess = strings.TrimSpace(d.EnvVars["fprocess"])
	}
	mode := strings.ToLower(strings.TrimSpace(d.EnvVars["mode"]))
	if fprocess == "" && mode != "static" {
		if v.Artifact == "" {
			out.Failure = fmt.Sprintf("the process runtime can't run the bare image %q: give the function a command (envProcess, faas-cli --fprocess) or upload its code as an artifact, or run `ferry serve --runtime containerd` (or --provider kubernetes)", short(d.Image))
		} else {
			out.Failure = "the function has an artifact but no command: set envProcess (faas-cli --fprocess) to the command that runs it"
		}
	}
	// No upstream_url, or one on port 0, means "pick a port per replica".
	up := strings.TrimSpace(d.EnvVars["upstream_url"])
	s.httpPort = mode == "http" && (up == "" || strings.HasSuffix(up, ":0") || strings.HasSuffix(up, ":0/"))

	// Only what the function needs: ferry's own environment (its PATH
	// included, which may name dirs of its admin) must not leak into
	// functions. A function may set its own PATH in its env (later keys
	// win).
	//
	// Isolated replicas see their code at /home/app and a private TMPDIR
	// (bind mounts made by the watchdog in its own mount namespace), so no
	// path under the data dir, whose parents may be closed to the
	// function's user, is needed.
	env := []string{"PATH=" + functionPath, "HOME=" + s.dir, "TMPDIR=" + dirs.tmp}
	if p.isolate {
		env = []string{"PATH=" + functionPath, "HOME=/home/app", "TMPDIR=/var/openfaas/tmp"}
	}
	env = append(env, v.Env...)
	// metrics_port is per replica too (set at start): the gateway
	// re-exposes the watchdog metrics on its own /metrics.
	env = append(env, "bind_address=127.0.0.1", "FERRY_READY_FD=3")
	if p.isolate {
		env = append(env, "FERRY_SECRETS_BIND="+v.SecretsDir, "FERRY_WORKDIR_BIND="+s.dir, "FERRY_TMP_BIND="+dirs.tmp,
			"FERRY_UID="+strconv.Itoa(s.uid), "FERRY_GID="+strconv.Itoa(s.gid),
			"FERRY_TMPFS_SIZE="+strconv.FormatInt(p.cfg.TmpSize, 10), "FERRY_PRIVATE_PROC=1")
		if d.ReadOnlyRootFilesystem {
			env = append(env, "FERRY_READONLY_ROOT=1")
		}
	} else {
		env = append(env, "secret_mount_path="+v.SecretsDir)
	}
	s.env = env
	var limitNote string
	if rt.cg.enabled() {
		s.lim, limitNote = rt.limitsOf(d)
	}
	out.Conditions = rt.conditions(d, limitNote)
	return out, nil
}

// conditions says what isolation and limits the replicas get.
func (rt *procRuntime) conditions(d *api.FunctionDeployment, limitNote string) []api.Condition {
	p := rt.p
	var out []api.Condition
	if !p.isolate {
		out = append(out, api.Condition{Type: "Isolated", Status: "False", Reason: "NotIsolated",
			Message: p.noIsolation + ": replicas run as ferry's own user, so secrets and working dirs are not isolated between functions (secrets are in $secret_mount_path); /tmp, /var/tmp, /dev/shm and /proc are the host's"})
		if d.ReadOnlyRootFilesystem {
			out = append(out, api.Condition{Type: "ReadOnlyRootFilesystem", Status: "False", Reason: "NotIsolated",
				Message: "readOnlyRootFilesystem is not enforced: " + p.noIsolation})
		}
	}
	if rt.cg.enabled() {
		msg := "limits are enforced per replica with cgroup " + rt.cg.version
		if limitNote != "" {
			msg += ": " + limitNote
		}
		out = append(out, api.Condition{Type: "LimitsEnforced", Status: "True", Reason: "Cgroups", Message: msg})
	} else {
		out = append(out, api.Condition{Type: "LimitsEnforced", Status: "False", Reason: "NoCgroups",
			Message: "limits.memory and limits.cpu are not enforced: " + rt.cg.reason})
	}
	return out
}

// Start binds the replica's ports, starts its watchdog from the spawner's
// thread (in its cgroups) and watches it; see procReplica.
func (rt *procRuntime) Start(_ context.Context, r ReplicaSpec) (Replica, error) {
	p, spec := rt.p, r.Prepared.Run.(*procVersion)
	x := &procReplica{ready: make(chan struct{}), done: make(chan struct{}), output: r.Output}
	var files []*os.File // ferry's copies of the listeners: see tcpListener
	fail := func(err error) (Replica, error) {
		closeAll(files)
		return nil, err
	}
	port, portFile, err := tcpListener()
	if err != nil {
		return fail(fmt.Errorf("watchdog port: %w", err))
	}
	files = append(files, portFile)
	mport, mportFile, err := tcpListener()
	if err != nil {
		return fail(fmt.Errorf("watchdog metrics port: %w", err))
	}
	files = append(files, mportFile)
	x.ep.Address, x.ep.MetricsAddress = "127.0.0.1:"+itoa(port), "127.0.0.1:"+itoa(mport)
	env := append(slices.Clip(spec.env), "port="+itoa(port), "metrics_port="+itoa(mport))
	unix, unixFile := p.unixListener()
	if unixFile != nil {
		files = append(files, unixFile)
		env = append(env, "FERRY_UNIX_SOCKET="+unix, "FERRY_UNIX_FD=4")
	}
	if spec.httpPort {
		up, err := freePort()
		if err != nil {
			return fail(err)
		}
		env = append(env, "upstream_url=http://127.0.0.1:"+itoa(up), "upstream_port="+itoa(up), "PORT="+itoa(up), "http_port="+itoa(up))
	}
	var pipes [6]*os.File // ready r/w, stdout r/w, stderr r/w
	for i := 0; i < 6; i += 2 {
		if pipes[i], pipes[i+1], err = os.Pipe(); err != nil {
			closeAll(pipes[:])
			return fail(fmt.Errorf("create pipe: %w", err))
		}
	}
	argv := p.cfg.Watchdog
	cmd := exec.Command(argv[0], argv[1:]...)
	cmd.Env, cmd.Dir = env, spec.dir
	cmd.Stdout, cmd.Stderr = pipes[3], pipes[5]
	cmd.ExtraFiles = []*os.File{pipes[1]} // fd 3: FERRY_READY_FD
	if unixFile != nil {
		cmd.ExtraFiles = append(cmd.ExtraFiles, unixFile) // fd 4: FERRY_UNIX_FD
	}
	cmd.Env = append(cmd.Env, "FERRY_LISTEN_FD="+itoa(3+len(cmd.ExtraFiles)), "FERRY_METRICS_FD="+itoa(4+len(cmd.ExtraFiles)))
	cmd.ExtraFiles = append(cmd.ExtraFiles, portFile, mportFile)
	cmd.SysProcAttr = sysProcAttr(p.isolate)

	if rt.cg.enabled() {
		if x.cg, err = rt.cg.create(r.Namespace+"-"+r.Function, itoa(r.Slot), spec.lim); err != nil {
			p.log.Warn("cannot create cgroup; replica runs without limits", "function", r.Function, "err", err)
		}
	}
	err = startCmd(cmd, rt.cg, x.cg, p.log)
	pipes[1].Close()
	pipes[3].Close()
	pipes[5].Close()
	if err != nil {
		pipes[0].Close()
		pipes[2].Close()
		pipes[4].Close()
		x.cg.remove()
		return fail(fmt.Errorf("start watchdog: %w", err))
	}
	x.pid = cmd.Process.Pid
	x.files = files
	go x.watch(cmd, pipes[0], pipes[2], pipes[4], unix)
	return x, nil
}

// limitsOf is what a replica of d is held to: its own limits, the
// defaults for those it does not set, and never less than the floors that
// the watchdog needs to start at all (a limit of "128" bytes, typed for
// 128Mi, would only make it crash in a loop).
func (rt *procRuntime) limitsOf(d *api.FunctionDeployment) (limits, string) {
	cfg := &rt.p.cfg
	lim := limits{memBytes: max(cfg.DefaultMemory, 0), pids: max(cfg.DefaultPids, 0)}
	if rt.cg.version == "v1" && rt.cg.pids == "" {
		lim.pids = 0 // no pids hierarchy mounted: nothing to enforce it with
	}
	var notes []string
	if d.Limits != nil && d.Limits.Memory != "" {
		if v, err := api.ParseMemory(d.Limits.Memory); err == nil && v > 0 {
			lim.memBytes = v
			if v < MinMemoryBytes {
				lim.memBytes = MinMemoryBytes
				notes = append(notes, fmt.Sprintf("limits.memory %q is below the floor of %d MiB, which is enforced instead", d.Limits.Memory, MinMemoryBytes>>20))
			}
		}
	} else if lim.memBytes > 0 {
		notes = append(notes, fmt.Sprintf("no limits.memory: the default of %d MiB is enforced", lim.memBytes>>20))
	}
	if d.Limits != nil && d.Limits.CPU != "" {
		lim.cpuMilli, _ = api.ParseCPU(d.Limits.CPU)
	}
	if lim.pids > 0 {
		notes = append(notes, fmt.Sprintf("at most %d processes and threads per replica", lim.pids))
	}
	return lim, strings.Join(notes, "; ")
}

// Usage sums CPU and RSS over the replicas' process trees, in one /proc
// scan for all of them.
func (rt *procRuntime) Usage(rs []Replica) []Usage {
	roots := map[int]bool{}
	for _, r := range rs {
		if x, ok := r.(*procReplica); ok {
			roots[x.pid] = true
		}
	}
	out := make([]Usage, len(rs))
	if len(roots) == 0 {
		return out
	}
	trees := treeOf(scanProcs(), roots)
	for i, r := range rs {
		x, ok := r.(*procReplica)
		if !ok {
			continue
		}
		var ticks uint64
		for _, pr := range trees[x.pid] {
			out[i].MemoryBytes += pr.rss * pageSize
			ticks += pr.ticks
		}
		out[i].CPU = time.Duration(ticks) * (time.Second / clockTicks)
	}
	return out
}

// Forget removes a deleted function's cgroup parents.
func (rt *procRuntime) Forget(namespace, name string) { rt.cg.removeFunction(namespace + "-" + name) }

// Close removes the cgroups of this data dir, now empty.
func (rt *procRuntime) Close() { rt.cg.removeFunction("") }
