//go:build linux

package watchdog

import (
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/ferryfaas/ferry/test/harness"
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

// TestIsolatedWatchdogDiesWithSupervisor: the supervisor starts the
// watchdog with a parent-death signal, and the watchdog's drop to an
// unprivileged user clears it (the kernel's rule for any change of
// credentials). A `kill -9` of the supervisor must still take the watchdog
// and its http-mode function with it, or they keep holding their ports.
func TestIsolatedWatchdogDiesWithSupervisor(t *testing.T) {
	if os.Geteuid() != 0 {
		t.Skip("needs root (setuid)")
	}
	up := freePort(t)
	upAddr := fmt.Sprintf("127.0.0.1:%d", up)
	// The function runs as nobody: it needs a binary and a dir it may use
	// (the go tool's build dir is root's alone).
	dir, err := os.MkdirTemp("", "ferry-wd-")
	if err == nil {
		t.Cleanup(func() { os.RemoveAll(dir) })
		err = os.Chmod(dir, 0o777)
	}
	if err != nil {
		t.Fatal(err)
	}
	self, err := os.ReadFile(os.Args[0])
	if err != nil {
		t.Fatal(err)
	}
	fn := filepath.Join(dir, "fn")
	if err := os.WriteFile(fn, self, 0o755); err != nil {
		t.Fatal(err)
	}
	pidFile := filepath.Join(dir, "fn.pid")
	rd, wr, err := os.Pipe()
	if err != nil {
		t.Fatal(err)
	}
	defer rd.Close()
	parent := exec.Command(os.Args[0])
	parent.Env = append(os.Environ(), "WATCHDOG_TEST_ROLE=parent", "FERRY_READY_FD=3", "metrics_port=0",
		"mode=http", "fprocess="+fn, "upstream_url=http://"+upAddr, fmt.Sprintf("port=%d", freePort(t)),
		"bind_address=127.0.0.1", "suppress_lock=true", "ECHO_ADDR="+upAddr, "ECHO_PIDFILE="+pidFile,
		"WATCHDOG_CHILD_ROLE=echo", "FERRY_UID=65534", "FERRY_GID=65534")
	parent.ExtraFiles = []*os.File{wr}
	out, err := parent.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	logs := &harness.LockedBuffer{}
	parent.Stderr = logs
	// A surviving watchdog holds the stderr pipe: Wait must not wait for it.
	parent.WaitDelay = time.Second
	if err := parent.Start(); err != nil {
		t.Fatal(err)
	}
	wr.Close()
	defer func() { parent.Process.Kill(); parent.Wait() }()
	var wdPid int
	if _, err := fmt.Fscan(out, &wdPid); err != nil {
		t.Fatalf("parent printed no watchdog pid: %v; logs:\n%s", err, logs)
	}
	defer syscall.Kill(wdPid, syscall.SIGKILL)
	awaitReady(t, rd, 10*time.Second, logs)
	b, err := os.ReadFile(pidFile)
	if err != nil {
		t.Fatal(err)
	}
	fnPid, _ := strconv.Atoi(string(b))
	defer syscall.Kill(fnPid, syscall.SIGKILL)
	if st, _ := os.ReadFile(fmt.Sprintf("/proc/%d/status", wdPid)); !strings.Contains(string(st), "\nUid:\t65534\t") {
		t.Fatalf("watchdog %d did not drop to uid 65534:\n%s", wdPid, st)
	}

	parent.Process.Kill()
	parent.Wait()
	for _, p := range []struct {
		what string
		pid  int
	}{{"watchdog", wdPid}, {"function", fnPid}} {
		deadline := time.Now().Add(3 * time.Second)
		st := procState(p.pid)
		for st != "" && st != "Z" && time.Now().Before(deadline) {
			time.Sleep(5 * time.Millisecond)
			st = procState(p.pid)
		}
		if st != "" && st != "Z" {
			t.Errorf("the %s (pid %d) survived its supervisor's SIGKILL (state %s)", p.what, p.pid, st)
		}
	}
}

// supervisor plays the process provider for the test above: it starts a
// watchdog (passing on fd 3) with the parent-death signal, prints its pid
// and waits to be killed.
func supervisor() int {
	wd := exec.Command(os.Args[0])
	wd.Env = append(os.Environ(), "WATCHDOG_TEST_ROLE=watchdog")
	wd.ExtraFiles = []*os.File{os.NewFile(3, "ready")}
	wd.Stderr = os.Stderr
	wd.SysProcAttr = &syscall.SysProcAttr{Pdeathsig: syscall.SIGKILL}
	if err := wd.Start(); err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	fmt.Println(wd.Process.Pid)
	wd.Wait()
	return 0
}
