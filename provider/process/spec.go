package process

import (
	"fmt"
	"maps"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/ferryfaas/ferry/api"
	"github.com/ferryfaas/ferry/provider"
)

// ArtifactAnnotation names the uploaded code of a function: "sha256:<hex>".
const ArtifactAnnotation = "com.ferryfaas.artifact"

// runSpec is everything needed to start a replica of one version of a
// function. It is immutable once built; an Update builds a new one.
type runSpec struct {
	gen      uint64
	env      []string // without the per-start keys (port, upstream)
	dir      string   // working dir
	uid, gid int      // -1: run as ferry's own user
	lim      limits   // what the replica's cgroups enforce
	// limitNote says how lim differs from the function's limits (a
	// default, a floor), "" when it does not.
	limitNote string
	grace     time.Duration
	timeout   time.Duration
	// httpPort: mode http without upstream_url: each replica gets its own
	// upstream port (given as PORT and http_port).
	httpPort bool
	// bare explains why this spec cannot run (no command, no artifact).
	bare string
}

// functionPath is every function's PATH unless it sets its own.
const functionPath = "/usr/local/bin:/usr/bin:/bin"

// reserved env keys are Ferry's to set; a deployment cannot override them.
var reserved = map[string]bool{
	"port": true, "bind_address": true, "metrics_port": true,
	"FERRY_READY_FD": true, "FERRY_SECRETS_BIND": true, "FERRY_WORKDIR_BIND": true, "FERRY_TMP_BIND": true, "FERRY_UID": true, "FERRY_GID": true, "FERRY_CGROUPS": true,
	"FERRY_TMPFS_SIZE": true, "FERRY_PRIVATE_PROC": true, "FERRY_READONLY_ROOT": true,
	"FERRY_GATEWAY_URL": true, "FERRY_UNIX_SOCKET": true, "FERRY_UNIX_FD": true,
}

// fnDirs are a function's directories under the data dir.
type fnDirs struct{ code, run, secrets, tmp string }

func (p *Provider) dirs(ns, name string) fnDirs {
	run := p.path("run", ns, name)
	return fnDirs{
		code:    p.path("functions", ns, name),
		run:     run,
		secrets: filepath.Join(run, "secrets"),
		tmp:     filepath.Join(run, "tmp"),
	}
}

// artifactOf returns the hex digest named by the annotation ("" if none).
func artifactOf(d *api.FunctionDeployment) (string, error) {
	v, ok := d.Annotations[ArtifactAnnotation]
	if !ok {
		return "", nil
	}
	hex, ok := parseDigest(v)
	if !ok {
		return "", api.BadRequest("annotation %q: %q is not a digest like sha256:<64 hex digits>", ArtifactAnnotation, short(v))
	}
	return hex, nil
}

// prepare builds a runSpec: unpacks the artifact into the working dir,
// writes the secret copies and computes the environment. It is called under
// opMu, on deploy, update and restore.
func (p *Provider) prepare(rec *record, gen uint64) (*runSpec, error) {
	d := &rec.Deployment
	dirs := p.dirs(d.Namespace, d.Service)
	s := &runSpec{gen: gen, uid: -1, gid: -1}
	if p.isolate {
		s.uid, s.gid = rec.UID, rec.GID
	}
	digest, err := artifactOf(d)
	if err != nil {
		return nil, err
	}
	for _, dir := range []string{p.path("functions", d.Namespace), p.path("run", d.Namespace), dirs.code, dirs.run} {
		if err := os.MkdirAll(dir, 0o711); err != nil {
			return nil, fmt.Errorf("create %s: %w", dir, err)
		}
	}
	if digest != "" {
		s.dir = filepath.Join(dirs.code, digest)
		if err := p.unpack(digest, s.dir, s.uid, s.gid); err != nil {
			return nil, err
		}
	} else {
		s.dir = filepath.Join(dirs.code, "none")
		if err := p.ownedDir(s.dir, 0o700, s.uid, s.gid); err != nil {
			return nil, err
		}
	}
	if err := p.ownedDir(dirs.tmp, 0o700, s.uid, s.gid); err != nil {
		return nil, err
	}
	if err := p.writeSecrets(d.Namespace, d.Secrets, dirs.secrets, s.gid); err != nil {
		return nil, err
	}

	fprocess := strings.TrimSpace(d.EnvProcess)
	if fprocess == "" {
		fprocess = strings.TrimSpace(d.EnvVars["fprocess"])
	}
	mode := strings.ToLower(strings.TrimSpace(d.EnvVars["mode"]))
	if fprocess == "" && mode != "static" {
		if digest == "" {
			s.bare = fmt.Sprintf("the process runtime can't run the bare image %q: give the function a command (envProcess, faas-cli --fprocess) or upload its code as an artifact, or use --provider containerd or kubernetes", short(d.Image))
		} else {
			s.bare = "the function has an artifact but no command: set envProcess (faas-cli --fprocess) to the command that runs it"
		}
	}
	// No upstream_url, or one on port 0, means "pick a port per replica".
	up := strings.TrimSpace(d.EnvVars["upstream_url"])
	s.httpPort = mode == "http" && (up == "" || strings.HasSuffix(up, ":0") || strings.HasSuffix(up, ":0/"))

	// Only what the function needs: ferry's own environment (its PATH
	// included, which may name dirs of its admin) must not leak into
	// functions. A function may set its own PATH in its env.
	path := functionPath
	// Isolated replicas see their code at /home/app and a private TMPDIR
	// (bind mounts made by the watchdog in its own mount namespace), so no
	// path under the data dir, whose parents may be closed to the
	// function's user, is needed.
	env := []string{"PATH=" + path, "HOME=" + s.dir, "TMPDIR=" + dirs.tmp}
	if p.isolate {
		env = []string{"PATH=" + path, "HOME=/home/app", "TMPDIR=/var/openfaas/tmp"}
	}
	for _, k := range slices.Sorted(maps.Keys(d.EnvVars)) {
		if reserved[k] || k == "fprocess" || (!p.isolate && k == "secret_mount_path") {
			continue
		}
		env = append(env, k+"="+d.EnvVars[k])
	}
	if fprocess != "" {
		env = append(env, "fprocess="+fprocess)
	}
	if provider.TimeoutOf(d.EnvVars) == 0 && p.cfg.DefaultTimeout > 0 {
		t := p.cfg.DefaultTimeout.String()
		env = append(env, "exec_timeout="+t, "write_timeout="+t)
	}
	if _, ok := d.EnvVars["healthcheck_interval"]; !ok {
		// The gateway drops a stopping replica from its endpoints at once,
		// so a short drain is enough for requests already on their way.
		env = append(env, "healthcheck_interval=1s")
	}
	// metrics_port is per replica too (set at start, see slot.once): the
	// gateway re-exposes the watchdog metrics on its own /metrics.
	env = append(env, "bind_address=127.0.0.1", "FERRY_READY_FD=3")
	if p.cfg.GatewayURL != "" {
		env = append(env, "FERRY_GATEWAY_URL="+p.cfg.GatewayURL)
	}
	if p.isolate {
		env = append(env, "FERRY_SECRETS_BIND="+dirs.secrets, "FERRY_WORKDIR_BIND="+s.dir, "FERRY_TMP_BIND="+dirs.tmp,
			"FERRY_UID="+strconv.Itoa(s.uid), "FERRY_GID="+strconv.Itoa(s.gid),
			"FERRY_TMPFS_SIZE="+strconv.FormatInt(p.cfg.TmpSize, 10), "FERRY_PRIVATE_PROC=1")
		if d.ReadOnlyRootFilesystem {
			env = append(env, "FERRY_READONLY_ROOT=1")
		}
	} else {
		env = append(env, "secret_mount_path="+dirs.secrets)
	}
	s.env = env

	if p.cg.enabled() {
		s.lim, s.limitNote = p.limitsOf(d)
	}
	s.timeout = provider.TimeoutOf(d.EnvVars)
	if s.timeout == 0 && p.cfg.DefaultTimeout > 0 {
		// as TimeoutOf: the watchdog answers at the limit, the gateway a bit later
		s.timeout = p.cfg.DefaultTimeout + 500*time.Millisecond
	}
	drain := time.Second
	if v, ok := provider.ParseDuration(d.EnvVars["healthcheck_interval"]); ok {
		drain = v
	}
	s.grace = drain + max(s.timeout, 10*time.Second) + 2*time.Second
	return s, nil
}

// ownedDir creates dir with mode, owned by uid/gid when isolated.
func (p *Provider) ownedDir(dir string, mode os.FileMode, uid, gid int) error {
	if err := os.MkdirAll(dir, mode); err != nil {
		return fmt.Errorf("create %s: %w", dir, err)
	}
	if err := os.Chmod(dir, mode); err != nil {
		return err
	}
	if uid >= 0 {
		if err := os.Chown(dir, uid, gid); err != nil {
			return fmt.Errorf("chown %s: %w", dir, err)
		}
	}
	return nil
}

// limitsOf is what a replica of d is held to: its own limits, the
// defaults for those it does not set, and never less than the floors that
// the watchdog needs to start at all (a limit of "128" bytes, typed for
// 128Mi, would only make it crash in a loop).
func (p *Provider) limitsOf(d *api.FunctionDeployment) (limits, string) {
	lim := limits{memBytes: max(p.cfg.DefaultMemory, 0), pids: max(p.cfg.DefaultPids, 0)}
	if p.cg.version == "v1" && p.cg.pids == "" {
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

func short(s string) string {
	if len(s) > 80 {
		return s[:77] + "..."
	}
	return s
}
