package process

import (
	"context"
	"fmt"
	"maps"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"time"

	"github.com/ferryfaas/ferry/api"
	"github.com/ferryfaas/ferry/provider"
)

// ArtifactAnnotation names the uploaded code of a function: "sha256:<hex>".
const ArtifactAnnotation = "com.ferryfaas.artifact"

// runSpec is one version of a function: what the Provider computed and
// what its runtime prepared. It is immutable once built; an Update builds
// a new one.
type runSpec struct {
	gen     uint64
	ver     *Version
	prep    Prepared
	grace   time.Duration
	timeout time.Duration
}

// bare explains why this version cannot run ("" when it can).
func (s *runSpec) bare() string { return s.prep.Failure }

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

// prepare builds a runSpec: creates the function's dirs, writes the
// secret copies, computes the environment every runtime gives, and has
// the runtime prepare the rest. It is called under opMu, on deploy,
// update and restore.
func (p *Provider) prepare(rec *record, gen uint64) (*runSpec, error) {
	d := &rec.Deployment
	dirs := p.dirs(d.Namespace, d.Service)
	v := &Version{Deployment: d, UID: -1, GID: -1, SecretsDir: dirs.secrets}
	if p.isolate {
		v.UID, v.GID = rec.UID, rec.GID
	}
	digest, err := artifactOf(d)
	if err != nil {
		return nil, err
	}
	v.Artifact = digest
	v.CodeDir = dirs.code
	v.Unpack = func(dir string) error { return p.unpack(digest, dir, v.UID, v.GID) }
	for _, dir := range []string{p.path("functions", d.Namespace), p.path("run", d.Namespace), dirs.code, dirs.run} {
		if err := os.MkdirAll(dir, 0o711); err != nil {
			return nil, fmt.Errorf("create %s: %w", dir, err)
		}
	}
	if err := p.writeSecrets(d.Namespace, d.Secrets, dirs.secrets, v.GID); err != nil {
		return nil, err
	}
	v.Env = p.envOf(d)
	if _, multi := p.rt.(*runtimes); !multi {
		if err := checkLabel(p.rt, d); err != nil {
			return nil, err
		}
	}
	s := &runSpec{gen: gen, ver: v}
	if s.prep, err = p.rt.Prepare(context.Background(), v); err != nil {
		return nil, err
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

// envOf is the environment every runtime gives d's replicas: its own
// variables but Ferry's reserved keys, its command, and the defaults the
// watchdog needs from the gateway.
func (p *Provider) envOf(d *api.FunctionDeployment) []string {
	var env []string
	for _, k := range slices.Sorted(maps.Keys(d.EnvVars)) {
		if reserved[k] || k == "fprocess" {
			continue
		}
		env = append(env, k+"="+d.EnvVars[k])
	}
	fprocess := strings.TrimSpace(d.EnvProcess)
	if fprocess == "" {
		fprocess = strings.TrimSpace(d.EnvVars["fprocess"])
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
	if p.cfg.GatewayURL != "" {
		env = append(env, "FERRY_GATEWAY_URL="+p.cfg.GatewayURL)
	}
	return env
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

func short(s string) string {
	if len(s) > 80 {
		return s[:77] + "..."
	}
	return s
}
