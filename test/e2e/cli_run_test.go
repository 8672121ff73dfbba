package e2e

import (
	"bytes"
	"context"
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/ferryfaas/ferry/test/harness"
)

// cliUser runs the real `ferry` binary as a user would: its own HOME and
// config dir, FERRY_URL/FERRY_PASSWORD pointing at a test server, and the
// caller's Go build cache (so `ferry up` of Go templates stays warm).
type cliUser struct {
	t   testing.TB
	bin string
	env []string
	// Config is FERRY_CONFIG_DIR (where `ferry login` writes config.yml).
	Config string
}

var (
	goEnvOnce sync.Once
	goEnv     []string
)

// goCacheEnv pins GOCACHE, GOMODCACHE and GOPATH to the test process's
// values: with HOME changed they would otherwise start cold.
func goCacheEnv(t testing.TB) []string {
	goEnvOnce.Do(func() {
		out, err := exec.Command("go", "env", "GOCACHE", "GOMODCACHE", "GOPATH").Output()
		if err != nil {
			return
		}
		vals := strings.Split(strings.TrimSpace(string(out)), "\n")
		for i, k := range []string{"GOCACHE", "GOMODCACHE", "GOPATH"} {
			if i < len(vals) && vals[i] != "" {
				goEnv = append(goEnv, k+"="+vals[i])
			}
		}
	})
	if len(goEnv) == 0 {
		t.Log("go env failed: Go templates build with a cold cache")
	}
	return goEnv
}

// newCLI returns a runner for f; with password false FERRY_PASSWORD is not
// set, so commands need `ferry login` (or fail).
func newCLI(t testing.TB, f *harness.Ferry, password bool) *cliUser {
	t.Helper()
	bin, err := harness.Build()
	if err != nil {
		t.Fatal(err)
	}
	home := t.TempDir()
	c := &cliUser{t: t, bin: filepath.Join(bin, "ferry"), Config: filepath.Join(home, ".ferry")}
	for _, kv := range os.Environ() {
		k, _, _ := strings.Cut(kv, "=")
		switch {
		case k == "HOME", strings.HasPrefix(k, "FERRY_"), strings.HasPrefix(k, "OPENFAAS_"):
			continue
		}
		c.env = append(c.env, kv)
	}
	c.env = append(c.env, goCacheEnv(t)...)
	c.env = append(c.env, "HOME="+home, "FERRY_CONFIG_DIR="+c.Config, "GOTOOLCHAIN=local")
	if f != nil {
		c.env = append(c.env, "FERRY_URL="+f.URL)
		if password {
			c.env = append(c.env, "FERRY_PASSWORD="+f.Password)
		}
	}
	return c
}

// cliResult is one CLI run.
type cliResult struct {
	Stdout, Stderr string
	Code           int
	Took           time.Duration
}

// run executes ferry ARGS in dir with stdin and extra env (KEY=VALUE
// entries override the runner's), bounded to 3 minutes.
func (c *cliUser) run(dir, stdin string, env []string, args ...string) cliResult {
	c.t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, c.bin, args...)
	cmd.Dir = dir
	cmd.Env = append(append([]string(nil), c.env...), env...)
	cmd.Stdin = strings.NewReader(stdin)
	var out, errb bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &errb
	start := time.Now()
	err := cmd.Run()
	r := cliResult{Stdout: out.String(), Stderr: errb.String(), Took: time.Since(start)}
	var ee *exec.ExitError
	switch {
	case err == nil:
	case errors.As(err, &ee):
		r.Code = ee.ExitCode()
	default:
		c.t.Fatalf("ferry %s: %v", strings.Join(args, " "), err)
	}
	if ctx.Err() != nil {
		c.t.Fatalf("ferry %s: still running after 3m", strings.Join(args, " "))
	}
	return r
}

// ok runs ferry ARGS and fails the test unless it exits 0; it returns stdout.
func (c *cliUser) ok(dir, stdin string, args ...string) string {
	c.t.Helper()
	r := c.run(dir, stdin, nil, args...)
	if r.Code != 0 {
		c.t.Fatalf("ferry %s: exit %d\nstdout: %s\nstderr: %s", strings.Join(args, " "), r.Code, r.Stdout, r.Stderr)
	}
	return r.Stdout
}

// eventually polls check every 100 ms until it returns "" (done) or the
// deadline passes, then fails with check's last complaint.
func eventually(t testing.TB, within time.Duration, what string, check func() string) {
	t.Helper()
	deadline := time.Now().Add(within)
	for {
		msg := check()
		if msg == "" {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("%s: not within %v: %s", what, within, msg)
		}
		time.Sleep(100 * time.Millisecond)
	}
}
