//go:build linux

package watchdog

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"
)

// TestIsolateSecretsAndUser runs a real watchdog process in a fresh mount
// namespace, as the supervisor does: the function reads its secret at
// /var/openfaas/secrets, runs as the unprivileged FERRY_UID/GID, sees no
// FERRY_* variable, the mount is read-only, and the host never sees it.
func TestIsolateSecretsAndUser(t *testing.T) {
	if os.Geteuid() != 0 {
		t.Skip("needs root (mount namespace, bind mount, setuid)")
	}
	secrets := filepath.Join(t.TempDir(), "secrets")
	if err := os.Mkdir(secrets, 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(secrets, "api-key"), []byte("s3cr3t"), 0o644); err != nil {
		t.Fatal(err)
	}
	port := freePort(t)
	script := "cat /var/openfaas/secrets/api-key; echo; id -u; id -g; id -G; env | grep ^FERRY_ | tr '\\n' ' '; echo; " +
		"grep ' /var/openfaas/secrets ' /proc/self/mountinfo"
	cmd, rd, logs := watchdogProcessWith(t, func(a *syscall.SysProcAttr) { a.Cloneflags = syscall.CLONE_NEWNS },
		"mode=serializing", "fprocess="+script, fmt.Sprintf("port=%d", port), "bind_address=127.0.0.1",
		"suppress_lock=true", "healthcheck_interval=0",
		"FERRY_SECRETS_BIND="+secrets, "FERRY_UID=65534", "FERRY_GID=65534", "FERRY_EXTRA=x", "FERRY_GATEWAY_URL=http://gw")
	awaitReady(t, rd, 10*time.Second, logs)
	code, _, body := call(t, "GET", fmt.Sprintf("http://127.0.0.1:%d/", port), "")
	if code != 200 {
		t.Fatalf("status %d: %s\nlogs:\n%s", code, body, logs)
	}
	lines := strings.Split(strings.TrimSpace(body), "\n")
	if len(lines) < 6 {
		t.Fatalf("function output %q", body)
	}
	if lines[0] != "s3cr3t" {
		t.Errorf("secret = %q", lines[0])
	}
	if lines[1] != "65534" || lines[2] != "65534" || lines[3] != "65534" {
		t.Errorf("uid/gid/groups = %q %q %q, want 65534 and no root group", lines[1], lines[2], lines[3])
	}
	if strings.TrimSpace(lines[4]) != "FERRY_GATEWAY_URL=http://gw" {
		t.Errorf("function sees FERRY_* variables %q, want FERRY_GATEWAY_URL only", lines[4])
	}
	if fields := strings.Fields(lines[5]); len(fields) < 6 || !strings.HasPrefix(fields[5], "ro") {
		t.Errorf("secrets mount not read-only: %q", lines[5])
	}
	if _, err := os.Stat(filepath.Join(SecretsMountPath, "api-key")); err == nil {
		t.Errorf("the bind mount leaked into the host's mount namespace")
	}
	cmd.Process.Signal(syscall.SIGTERM)
	if err := cmd.Wait(); err != nil {
		t.Errorf("exit: %v", err)
	}
}
