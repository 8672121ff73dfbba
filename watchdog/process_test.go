//go:build linux

package watchdog

import (
	"bufio"
	"fmt"
	"io"
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

// watchdogProcess starts the test binary as a real watchdog process with env
// on top of the test's environment; FERRY_READY_FD is fd 3. It returns the
// command and the read end of the readiness pipe.
func watchdogProcess(t *testing.T, env ...string) (*exec.Cmd, *os.File, *harness.LockedBuffer) {
	t.Helper()
	return watchdogProcessWith(t, nil, env...)
}

// watchdogProcessWith is watchdogProcess with SysProcAttr set by attr.
func watchdogProcessWith(t *testing.T, attr func(*syscall.SysProcAttr), env ...string) (*exec.Cmd, *os.File, *harness.LockedBuffer) {
	t.Helper()
	rd, wr, err := os.Pipe()
	if err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command(os.Args[0])
	cmd.Env = append(os.Environ(), "WATCHDOG_TEST_ROLE=watchdog", "FERRY_READY_FD=3", "metrics_port=0")
	cmd.Env = append(cmd.Env, env...)
	cmd.ExtraFiles = []*os.File{wr}
	if attr != nil {
		cmd.SysProcAttr = &syscall.SysProcAttr{}
		attr(cmd.SysProcAttr)
	}
	logs := &harness.LockedBuffer{}
	cmd.Stdout, cmd.Stderr = logs, logs
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	wr.Close() // only the child holds the write end: EOF if it dies
	t.Cleanup(func() {
		if cmd.ProcessState == nil {
			cmd.Process.Kill()
			cmd.Wait()
		}
		rd.Close()
	})
	return cmd, rd, logs
}

// awaitReady reads "ready\n" from the readiness pipe within d.
func awaitReady(t *testing.T, rd *os.File, d time.Duration, logs *harness.LockedBuffer) {
	t.Helper()
	rd.SetReadDeadline(time.Now().Add(d))
	line, err := bufio.NewReader(rd).ReadString('\n')
	if err != nil || line != "ready\n" {
		t.Fatalf("FERRY_READY_FD: got %q, %v; logs:\n%s", line, err, logs)
	}
}

// TestProcessSIGTERMDrain drives a real watchdog process: readiness on
// FERRY_READY_FD (the fd is closed after), lock file, SIGTERM turning health
// to 503 while an in-flight request still completes, exit code 0.
func TestProcessSIGTERMDrain(t *testing.T) {
	port := freePort(t)
	tmp := t.TempDir()
	cmd, rd, logs := watchdogProcess(t, "fprocess=cat", fmt.Sprintf("port=%d", port),
		"bind_address=127.0.0.1", "healthcheck_interval=1s", "TMPDIR="+tmp)
	awaitReady(t, rd, 10*time.Second, logs)
	// the watchdog closed its end: the next read is EOF, not a hang
	rd.SetReadDeadline(time.Now().Add(5 * time.Second))
	if n, err := rd.Read(make([]byte, 8)); n != 0 || err != io.EOF {
		t.Errorf("after ready: n=%d err=%v, want EOF", n, err)
	}
	if _, err := os.Stat(filepath.Join(tmp, ".lock")); err != nil {
		t.Errorf("lock file: %v", err)
	}
	url := fmt.Sprintf("http://127.0.0.1:%d", port)
	finish := holdRequest(t, url+"/")

	if err := cmd.Process.Signal(syscall.SIGTERM); err != nil {
		t.Fatal(err)
	}
	waitStatus(t, url+"/_/health", 503, 900*time.Millisecond) // within the 1s drain
	if _, err := os.Stat(filepath.Join(tmp, ".lock")); !os.IsNotExist(err) {
		t.Errorf("lock file still there while draining: %v", err)
	}
	if got := finish(); got != "start\nend\n" {
		t.Errorf("in-flight request cut by SIGTERM: %q", got)
	}
	done := make(chan error, 1)
	go func() { done <- cmd.Wait() }()
	select {
	case err := <-done:
		if err != nil {
			t.Errorf("exit after drain: %v; logs:\n%s", err, logs)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("watchdog did not exit after drain")
	}
}

// TestProcessHTTPModeReadyFD: in http mode readiness waits for the upstream.
func TestProcessHTTPModeReadyFD(t *testing.T) {
	port, up := freePort(t), freePort(t)
	upAddr := fmt.Sprintf("127.0.0.1:%d", up)
	_, rd, logs := watchdogProcess(t, "mode=http", "fprocess="+os.Args[0], "upstream_url=http://"+upAddr,
		fmt.Sprintf("port=%d", port), "bind_address=127.0.0.1", "healthcheck_interval=0", "suppress_lock=true",
		"ECHO_ADDR="+upAddr, "WATCHDOG_CHILD_ROLE=echo")
	awaitReady(t, rd, 10*time.Second, logs)
	code, _, body := call(t, "POST", fmt.Sprintf("http://127.0.0.1:%d/x", port), "through")
	if code != 200 || body != "through" {
		t.Errorf("got %d %q", code, body)
	}
	if !strings.Contains(logs.String(), "echo server starting") {
		t.Errorf("function log missing:\n%s", logs)
	}
}

// TestProcessKilledTakesFunction: a watchdog killed with SIGKILL (no chance
// to clean up) does not leave its http-mode function running.
func TestProcessKilledTakesFunction(t *testing.T) {
	up := freePort(t)
	upAddr := fmt.Sprintf("127.0.0.1:%d", up)
	pidFile := filepath.Join(t.TempDir(), "fn.pid")
	cmd, rd, logs := watchdogProcess(t, "mode=http", "fprocess="+os.Args[0], "upstream_url=http://"+upAddr,
		fmt.Sprintf("port=%d", freePort(t)), "bind_address=127.0.0.1", "suppress_lock=true",
		"ECHO_ADDR="+upAddr, "ECHO_PIDFILE="+pidFile, "WATCHDOG_CHILD_ROLE=echo")
	awaitReady(t, rd, 10*time.Second, logs)
	b, err := os.ReadFile(pidFile)
	if err != nil {
		t.Fatal(err)
	}
	pid, _ := strconv.Atoi(string(b))
	cmd.Process.Kill()
	cmd.Wait()
	deadline := time.Now().Add(3 * time.Second)
	st := procState(pid)
	for st != "" && st != "Z" && time.Now().Before(deadline) {
		time.Sleep(5 * time.Millisecond)
		st = procState(pid)
	}
	if st != "" && st != "Z" {
		syscall.Kill(pid, syscall.SIGKILL)
		t.Fatalf("function %d survived its watchdog's SIGKILL (state %s)", pid, st)
	}
}
