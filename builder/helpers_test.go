package builder

import (
	"archive/tar"
	"bufio"
	"compress/gzip"
	"context"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/ferryfaas/ferry/test/harness"
)

// watchdogBin is the real watchdog, built once by TestMain.
var watchdogBin string

func TestMain(m *testing.M) {
	var err error
	if watchdogBin, err = harness.GoBinary("watchdog", "./cmd/watchdog"); err != nil {
		fmt.Fprintln(os.Stderr, "building the watchdog:", err)
		os.Exit(1)
	}
	os.Exit(m.Run())
}

// freePort returns a loopback port nobody listens on right now.
func freePort(t *testing.T) int {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port
}

// extractTarGz unpacks an artifact as the process runtime would.
func extractTarGz(t *testing.T, path, dst string) {
	t.Helper()
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	zr, err := gzip.NewReader(f)
	if err != nil {
		t.Fatal(err)
	}
	tr := tar.NewReader(zr)
	for {
		h, err := tr.Next()
		if err == io.EOF {
			return
		}
		if err != nil {
			t.Fatal(err)
		}
		target := filepath.Join(dst, filepath.FromSlash(h.Name))
		if !strings.HasPrefix(target, filepath.Clean(dst)+string(os.PathSeparator)) {
			t.Fatalf("artifact entry %q escapes the folder", h.Name)
		}
		switch h.Typeflag {
		case tar.TypeDir:
			if err := os.MkdirAll(target, 0o755); err != nil {
				t.Fatal(err)
			}
		case tar.TypeSymlink:
			if err := os.Symlink(h.Linkname, target); err != nil {
				t.Fatal(err)
			}
		case tar.TypeReg:
			os.MkdirAll(filepath.Dir(target), 0o755)
			out, err := os.OpenFile(target, os.O_CREATE|os.O_WRONLY|os.O_TRUNC, os.FileMode(h.Mode))
			if err != nil {
				t.Fatal(err)
			}
			if _, err := io.Copy(out, tr); err != nil {
				t.Fatal(err)
			}
			out.Close()
		}
	}
}

// runWatchdog starts the real watchdog for a built function the way the
// process runtime does: cwd = the extracted artifact, env = the Result's
// fprocess and EnvVars, a per-replica upstream port (as provider/process
// sets it, so the shims are proven to follow it), readiness signalled on
// FERRY_READY_FD. It returns the watchdog's base URL.
func runWatchdog(t *testing.T, res *Result, dir string) string {
	t.Helper()
	port := freePort(t)
	env := append(os.Environ(), "fprocess="+res.EnvProcess, "bind_address=127.0.0.1",
		fmt.Sprintf("port=%d", port), "metrics_port=0", "healthcheck_interval=50ms", "FERRY_READY_FD=3", "TMPDIR="+t.TempDir())
	for k, v := range res.EnvVars {
		env = append(env, k+"="+v)
	}
	if res.EnvVars["mode"] == "http" && res.EnvVars["upstream_url"] == "" {
		// What provider/process does per replica: a free upstream port,
		// given as upstream_url, PORT and http_port.
		up := freePort(t)
		env = append(env, fmt.Sprintf("upstream_url=http://127.0.0.1:%d", up),
			fmt.Sprintf("PORT=%d", up), fmt.Sprintf("http_port=%d", up))
	}
	r, w, err := os.Pipe()
	if err != nil {
		t.Fatal(err)
	}
	logs := &harness.LockedBuffer{}
	cmd := exec.Command(watchdogBin)
	cmd.Dir, cmd.Env, cmd.ExtraFiles = dir, env, []*os.File{w}
	cmd.Stdout, cmd.Stderr = logs, logs
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	w.Close()
	exited := make(chan error, 1)
	go func() { exited <- cmd.Wait() }()
	t.Cleanup(func() {
		cmd.Process.Signal(syscall.SIGTERM)
		select {
		case <-exited:
		case <-time.After(10 * time.Second):
			cmd.Process.Kill()
			<-exited
		}
		if t.Failed() {
			t.Logf("watchdog output:\n%s", logs.String())
		}
	})
	ready := make(chan string, 1)
	go func() {
		line, _ := bufio.NewReader(r).ReadString('\n')
		r.Close()
		ready <- line
	}()
	select {
	case line := <-ready:
		if line != "ready\n" {
			t.Fatalf("watchdog did not become ready (got %q); output:\n%s", line, logs.String())
		}
	case err := <-exited:
		exited <- err
		t.Fatalf("watchdog exited before ready: %v; output:\n%s", err, logs.String())
	case <-time.After(30 * time.Second):
		t.Fatalf("watchdog not ready in 30s; output:\n%s", logs.String())
	}
	return fmt.Sprintf("http://127.0.0.1:%d", port)
}

// invoke POSTs body to url and returns status and reply.
func invoke(t *testing.T, url, body string) (int, string) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	req, _ := http.NewRequestWithContext(ctx, http.MethodPost, url, strings.NewReader(body))
	req.Header.Set("Content-Type", "text/plain")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatalf("invoke %s: %v", url, err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	return resp.StatusCode, string(b)
}
