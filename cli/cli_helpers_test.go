package cli

import (
	"bytes"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/ferryfaas/ferry/client/clienttest"
)

// result of one CLI run, as Main would report it.
type result struct {
	code           int
	stdout, stderr string
}

// runCLI runs the ferry command line in-process with stdin, capturing
// output; the exit code and "Error: ..." line follow Main.
func runCLI(t *testing.T, stdin string, args ...string) result {
	t.Helper()
	root := NewRoot()
	var out, errb bytes.Buffer
	root.SetArgs(args)
	root.SetIn(strings.NewReader(stdin))
	root.SetOut(&out)
	root.SetErr(&errb)
	code := 0
	if err := root.Execute(); err != nil {
		errb.WriteString("Error: " + err.Error() + "\n")
		code = 1
		var ee *ExitError
		if errors.As(err, &ee) && ee.Code != 0 {
			code = ee.Code
		}
	}
	return result{code, out.String(), errb.String()}
}

// must fails the test unless the run succeeded.
func (r result) must(t *testing.T) result {
	t.Helper()
	if r.code != 0 {
		t.Fatalf("exit %d\nstdout: %s\nstderr: %s", r.code, r.stdout, r.stderr)
	}
	return r
}

// fails checks a non-zero exit with exactly one "Error:" line containing want.
func (r result) fails(t *testing.T, want string) {
	t.Helper()
	lines := strings.Split(strings.TrimSpace(r.stderr), "\n")
	last := lines[len(lines)-1]
	if r.code == 0 || !strings.HasPrefix(last, "Error: ") || !strings.Contains(last, want) {
		t.Fatalf("want a failure mentioning %q, got exit %d\nstdout: %s\nstderr: %s", want, r.code, r.stdout, r.stderr)
	}
}

// isolate gives the test its own config and data dirs and clears the
// environment variables that steer the CLI.
func isolate(t *testing.T) (configDir, dataDir string) {
	t.Helper()
	configDir, dataDir = filepath.Join(t.TempDir(), "cfg"), t.TempDir()
	t.Setenv("FERRY_CONFIG_DIR", configDir)
	t.Setenv("FERRY_DATA_DIR", dataDir)
	for _, k := range []string{"FERRY_URL", "OPENFAAS_URL", "FERRY_USER", "FERRY_PASSWORD"} {
		t.Setenv(k, "")
		os.Unsetenv(k)
	}
	return configDir, dataDir
}

// localGateway starts a test gateway whose admin password sits in the data
// dir, as `ferry serve` leaves it, so no login is needed.
func localGateway(t *testing.T) *clienttest.Gateway {
	t.Helper()
	_, data := isolate(t)
	gw := clienttest.Start(t)
	os.MkdirAll(filepath.Join(data, "secrets"), 0o700)
	os.WriteFile(filepath.Join(data, "secrets", "basic-auth-password"), []byte(clienttest.Password+"\n"), 0o600)
	os.WriteFile(filepath.Join(data, gatewayURLFile), []byte(gw.URL+"\n"), 0o600)
	t.Setenv("FERRY_URL", gw.URL)
	return gw
}

func writeFile(t *testing.T, path, content string) string {
	t.Helper()
	os.MkdirAll(filepath.Dir(path), 0o755)
	if err := os.WriteFile(path, []byte(content), 0o644); err != nil {
		t.Fatal(err)
	}
	return path
}
