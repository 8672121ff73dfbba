package containerd

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strconv"

	"github.com/containerd/containerd/v2/contrib/seccomp"
	"github.com/containerd/containerd/v2/core/containers"
	"github.com/containerd/containerd/v2/pkg/oci"
	specs "github.com/opencontainers/runtime-spec/specs-go"
)

// secretsPath is where OpenFaaS functions read their secrets.
const secretsPath = "/var/openfaas/secrets"

// shimGroupAnnotation makes runc's v2 shim serve every container that
// carries the same value (containerd 1.4 and later).
const shimGroupAnnotation = "io.containerd.runc.v2.group"

// cpuPeriod is the CFS period CPU limits are expressed in (100 ms, as
// Kubernetes does).
const cpuPeriod = 100_000

// specOpts builds a replica's OCI spec on top of containerd's default
// (runc's default capability set, masked and read-only /proc paths).
func (r *Runtime) specOpts(s *ReplicaSpec, img oci.Image, id, nsPath string) []oci.SpecOpts {
	mem, pids := s.MemoryBytes, s.Pids
	if mem <= 0 {
		mem = r.cfg.DefaultMemory
	}
	if pids <= 0 {
		pids = r.cfg.DefaultPids
	}
	env := append([]string{}, s.Env...)
	if r.cfg.GatewayURL != "" {
		env = append(env, "FERRY_GATEWAY_URL="+r.cfg.GatewayURL)
	}
	opts := []oci.SpecOpts{
		oci.WithDefaultSpec(),
		oci.WithImageConfig(img),
		oci.WithEnv(env),
		oci.WithHostname(s.Function),
		oci.WithLinuxNamespace(specs.LinuxNamespace{Type: specs.NetworkNamespace, Path: nsPath}),
		unprivileged,
		oci.WithNoNewPrivileges,
		seccomp.WithDefaultProfile(),
		oci.WithMounts([]specs.Mount{{
			Destination: "/tmp", Type: "tmpfs", Source: "tmpfs",
			Options: []string{"nosuid", "nodev", "mode=1777", "size=" + strconv.FormatInt(r.cfg.TmpSize, 10)},
		}}),
		oci.WithMemoryLimit(uint64(mem)),
		oci.WithPidsLimit(pids),
		// One containerd shim serves every replica of this runtime instead
		// of one shim each: a replica then costs no 13-19 MiB shim process,
		// and a start while any replica runs skips spawning one (the
		// largest part of creating a task after runc itself). The shim
		// stays on the host side; the containers stay apart.
		oci.WithAnnotations(map[string]string{shimGroupAnnotation: r.cfg.Namespace}),
	}
	if s.CPUMilli > 0 {
		opts = append(opts, oci.WithCPUCFS(s.CPUMilli*cpuPeriod/1000, cpuPeriod))
	}
	if s.ReadOnlyRoot {
		opts = append(opts, oci.WithRootFSReadonly())
	}
	if len(s.Secrets) > 0 {
		opts = append(opts, r.withSecrets(id, s.Secrets))
	}
	return opts
}

// unprivileged replaces a root user with an unprivileged one, and leaves a
// non-root process no effective capabilities (runc would otherwise keep
// the default set across the change of uid): the default set stays only
// as the bounding set.
func unprivileged(_ context.Context, _ oci.Client, _ *containers.Container, s *oci.Spec) error {
	u := &s.Process.User
	if u.UID == 0 {
		u.UID, u.GID, u.AdditionalGids = nobodyID, nobodyID, nil
	}
	if u.GID == 0 {
		u.GID = u.UID
	}
	if c := s.Process.Capabilities; c != nil {
		c.Effective, c.Permitted, c.Inheritable, c.Ambient = nil, nil, nil, nil
	}
	return nil
}

// withSecrets writes the replica's copy of its secrets, readable by its
// user only, and mounts it read-only. It runs after the user is settled.
func (r *Runtime) withSecrets(id string, secrets map[string][]byte) oci.SpecOpts {
	return func(_ context.Context, _ oci.Client, _ *containers.Container, s *oci.Spec) error {
		dir := r.secretsDir(id)
		os.RemoveAll(dir)
		if err := os.Mkdir(dir, 0o500); err != nil {
			return fmt.Errorf("secrets: %w", err)
		}
		uid, gid := int(s.Process.User.UID), int(s.Process.User.GID)
		for name, v := range secrets {
			if name == "" || name != filepath.Base(name) || name == "." || name == ".." {
				return fmt.Errorf("secret name %q is not a plain file name", name)
			}
			p := filepath.Join(dir, name)
			if err := os.WriteFile(p, v, 0o400); err != nil {
				return fmt.Errorf("secrets: %w", err)
			}
			if err := os.Chown(p, uid, gid); err != nil {
				return fmt.Errorf("secrets: %w", err)
			}
		}
		if err := os.Chown(dir, uid, gid); err != nil {
			return fmt.Errorf("secrets: %w", err)
		}
		s.Mounts = append(s.Mounts, specs.Mount{
			Destination: secretsPath, Type: "bind", Source: dir,
			Options: []string{"rbind", "ro", "nosuid", "nodev", "noexec"},
		})
		return nil
	}
}

func (r *Runtime) secretsDir(id string) string {
	return filepath.Join(r.cfg.StateDir, "secrets", id)
}
