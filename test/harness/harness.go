// Package harness starts the real `ferry serve` binary for end-to-end tests
// and benchmarks, and drives it only over HTTP. It builds bin/ferry and
// bin/watchdog once per process (the Go build cache makes later builds cheap).
package harness

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"time"

	"github.com/ferryfaas/ferry/internal/ports"
)

// Root is the repository root (found from this file's location).
func Root() string {
	_, file, _, _ := runtime.Caller(0)
	return filepath.Clean(filepath.Join(filepath.Dir(file), "..", ".."))
}

var (
	binMu   sync.Mutex
	binDir  string
	binErr  error
	binDone = map[string]bool{}
)

// GoBinary builds one command of this repository (static, no race
// detector: it is the system under test, not the test) once per process
// into a folder every replica user can read, and returns its path. Tests
// that need only the watchdog call GoBinary("watchdog", "./cmd/watchdog").
// FERRY_BIN_DIR points at prebuilt binaries instead.
func GoBinary(name, pkg string) (string, error) {
	binMu.Lock()
	defer binMu.Unlock()
	if d := os.Getenv("FERRY_BIN_DIR"); d != "" {
		return filepath.Join(d, name), nil
	}
	if binDir == "" && binErr == nil {
		binDir, binErr = ReplicaTempDir("ferry-bin-")
	}
	if binErr != nil {
		return "", binErr
	}
	out := filepath.Join(binDir, name)
	if !binDone[name] {
		cmd := exec.Command("go", "build", "-trimpath", "-o", out, pkg)
		cmd.Dir = Root()
		cmd.Env = append(os.Environ(), "CGO_ENABLED=0")
		if b, err := cmd.CombinedOutput(); err != nil {
			return "", fmt.Errorf("go build %s: %v\n%s", pkg, err, b)
		}
		binDone[name] = true
	}
	return out, nil
}

// ReplicaTempDir makes a temporary dir that replicas of the process
// runtime can use by its path, as functions' commands and scripts: open to
// every user (replicas may run as unprivileged ones) and, as root, not
// under /tmp, which isolated replicas see as a private tmpfs.
func ReplicaTempDir(prefix string) (string, error) {
	base := ""
	if os.Geteuid() == 0 {
		if fi, err := os.Stat("/var/cache"); err == nil && fi.IsDir() {
			base = "/var/cache"
		}
	}
	dir, err := os.MkdirTemp(base, prefix)
	if err == nil {
		err = os.Chmod(dir, 0o755)
	}
	return dir, err
}

// Build compiles ferry, ferry-kubernetes, ferry-containerd and watchdog
// and returns the folder holding them.
func Build() (string, error) {
	for _, b := range [][2]string{{"ferry", "./cmd/ferry"}, {"ferry-kubernetes", "./cmd/ferry-kubernetes"},
		{"ferry-containerd", "./cmd/ferry-containerd"}, {"watchdog", "./cmd/watchdog"}} {
		if _, err := GoBinary(b[0], b[1]); err != nil {
			return "", err
		}
	}
	if d := os.Getenv("FERRY_BIN_DIR"); d != "" {
		return d, nil
	}
	return binDir, nil
}

// Options for Start.
type Options struct {
	// DataDir is kept across Restart; a temp dir when empty.
	DataDir string
	// Args are extra `ferry serve` flags.
	Args []string
	// Env is extra environment (KEY=VALUE).
	Env []string
	// Log receives the server's stdout and stderr (discarded when nil).
	Log io.Writer
}

// Ferry is a running `ferry serve`.
type Ferry struct {
	URL, Addr, User, Password, DataDir, BinDir string
	opts                                       Options
	cmd                                        *exec.Cmd
	done                                       chan struct{}
	mu                                         sync.Mutex
}

// Start builds the binaries if needed and starts `ferry serve` on a free
// loopback port, returning once /healthz answers 200.
func Start(opts Options) (*Ferry, error) {
	bin, err := Build()
	if err != nil {
		return nil, err
	}
	if opts.DataDir == "" {
		if opts.DataDir, err = os.MkdirTemp("", "ferry-data-"); err != nil {
			return nil, err
		}
	}
	addr, err := FreeAddr()
	if err != nil {
		return nil, err
	}
	f := &Ferry{Addr: addr, URL: "http://" + addr, User: "admin", Password: randomHex(12),
		DataDir: opts.DataDir, BinDir: bin, opts: opts}
	return f, f.start()
}

func (f *Ferry) start() error {
	args := append([]string{"serve", "--listen", f.Addr, "--data-dir", f.DataDir}, f.opts.Args...)
	cmd := exec.Command(filepath.Join(f.BinDir, "ferry"), args...)
	cmd.Env = append(os.Environ(), "FERRY_ADMIN_PASSWORD="+f.Password)
	cmd.Env = append(cmd.Env, f.opts.Env...)
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	out := f.opts.Log
	if out == nil {
		out = io.Discard
	}
	cmd.Stdout, cmd.Stderr = out, out
	if err := cmd.Start(); err != nil {
		return err
	}
	done := make(chan struct{})
	go func() { cmd.Wait(); close(done) }()
	f.mu.Lock()
	f.cmd, f.done = cmd, done
	f.mu.Unlock()
	deadline := time.Now().Add(60 * time.Second)
	for time.Now().Before(deadline) {
		select {
		case <-done:
			return fmt.Errorf("ferry serve exited during start: %v", cmd.ProcessState)
		default:
		}
		resp, err := http.Get(f.URL + "/healthz")
		if err == nil {
			resp.Body.Close()
			if resp.StatusCode == 200 {
				return nil
			}
		}
		time.Sleep(20 * time.Millisecond)
	}
	f.Kill()
	return errors.New("ferry serve did not answer /healthz within 60s")
}

// PID of the running server.
func (f *Ferry) PID() int {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.cmd.Process.Pid
}

// Kill sends SIGKILL to the server only (not its replicas' process groups,
// which the server must cope with on restart) and waits for it to exit.
func (f *Ferry) Kill() {
	f.mu.Lock()
	cmd, done := f.cmd, f.done
	f.mu.Unlock()
	cmd.Process.Signal(syscall.SIGKILL)
	<-done
}

// Stop sends SIGTERM and waits (up to 30 s, then SIGKILL).
func (f *Ferry) Stop() {
	f.mu.Lock()
	cmd, done := f.cmd, f.done
	f.mu.Unlock()
	cmd.Process.Signal(syscall.SIGTERM)
	select {
	case <-done:
	case <-time.After(30 * time.Second):
		syscall.Kill(-cmd.Process.Pid, syscall.SIGKILL)
		<-done
	}
}

// Restart stops (SIGTERM) or kills the server and starts it again on the
// same address and data dir.
func (f *Ferry) Restart(kill bool) error {
	if kill {
		f.Kill()
	} else {
		f.Stop()
	}
	return f.Relaunch()
}

// Relaunch starts the server again on the same address and data dir,
// after Kill or Stop.
func (f *Ferry) Relaunch() error { return f.start() }

// Do sends an authenticated API request with an optional JSON body and
// returns status and body.
func (f *Ferry) Do(method, path string, body any) (int, []byte, error) {
	var r io.Reader
	switch b := body.(type) {
	case nil:
	case []byte:
		r = bytes.NewReader(b)
	case string:
		r = strings.NewReader(b)
	default:
		j, err := json.Marshal(b)
		if err != nil {
			return 0, nil, err
		}
		r = bytes.NewReader(j)
	}
	req, err := http.NewRequest(method, f.URL+path, r)
	if err != nil {
		return 0, nil, err
	}
	req.SetBasicAuth(f.User, f.Password)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return 0, nil, err
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	return resp.StatusCode, b, err
}

// Invoke calls /function/NAME (name may carry ".ns" and a path/query).
func (f *Ferry) Invoke(nameAndPath string, body string) (int, string, error) {
	resp, err := http.Post(f.URL+"/function/"+nameAndPath, "text/plain", strings.NewReader(body))
	if err != nil {
		return 0, "", err
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	return resp.StatusCode, string(b), err
}

// WaitReady waits until the function reports at least n available replicas.
func (f *Ferry) WaitReady(ctx context.Context, name, namespace string, n uint64) error {
	for {
		code, b, err := f.Do("GET", "/system/function/"+name+"?namespace="+namespace, nil)
		if err == nil && code == 200 {
			var st struct {
				AvailableReplicas uint64 `json:"availableReplicas"`
			}
			if json.Unmarshal(b, &st) == nil && st.AvailableReplicas >= n {
				return nil
			}
		}
		select {
		case <-ctx.Done():
			return fmt.Errorf("function %s.%s: fewer than %d ready replicas: %v (last: %d %s)", name, namespace, n, ctx.Err(), code, b)
		case <-time.After(25 * time.Millisecond):
		}
	}
}

// FreeAddr returns a free 127.0.0.1 host:port (see package ports).
func FreeAddr() (string, error) {
	p, err := ports.Free()
	if err != nil {
		return "", err
	}
	return "127.0.0.1:" + strconv.Itoa(p), nil
}

func randomHex(n int) string {
	b := make([]byte, n)
	rand.Read(b)
	return hex.EncodeToString(b)
}
