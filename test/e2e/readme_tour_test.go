package e2e

import (
	"context"
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/ferryfaas/ferry/test/harness"
)

// TestReadmeTour runs the README's tour command by command against a fresh
// `ferry serve` with a fresh data dir, so that the front door cannot rot:
// every command must succeed, and the answers the tour promises must come.
// The server is started by the test (the tour's `serve.sh &` line) on a
// free port that $FERRY_URL names, standing in for the default 8080.
func TestReadmeTour(t *testing.T) {
	readme, err := os.ReadFile(filepath.Join(harness.Root(), "README.md"))
	if err != nil {
		t.Fatal(err)
	}
	tour := tourCommands(t, string(readme))
	data := t.TempDir()
	f := harness.T(t, harness.Options{DataDir: data, Env: []string{"FERRY_ADMIN_PASSWORD="}})
	work, home := t.TempDir(), t.TempDir()
	env := append(os.Environ(), "PATH="+f.BinDir+":"+os.Getenv("PATH"), "HOME="+home,
		"FERRY_DATA_DIR="+data, "FERRY_CONFIG_DIR="+filepath.Join(home, ".ferry"), "FERRY_URL="+f.URL)

	want := map[string]string{ // a command's start -> what its output must hold
		"echo hello | ferry invoke echo": "hello",
		"curl -d '{\"name\":\"x\"}'":     `you said: {"name":"x"}`,
		"echo | ferry invoke whoami":     "s3cr3t",
		"ferry list -v":                  "hello",
		"ferry describe hello":           "Ready",
	}
	start := time.Now()
	for _, line := range tour {
		switch {
		case strings.HasPrefix(line, "./scripts/serve.sh"), strings.HasPrefix(line, "export PATH="):
			continue // the test started the server and set PATH
		}
		cmd := strings.ReplaceAll(line, "~/.local/share/ferry", data)
		cmd = strings.ReplaceAll(cmd, "http://127.0.0.1:8080", f.URL)
		follow := strings.Contains(cmd, "--follow")
		if follow {
			cmd = "timeout 3 " + cmd
		}
		ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
		c := exec.CommandContext(ctx, "bash", "-c", cmd)
		c.Dir, c.Env = work, env
		out, err := c.CombinedOutput()
		cancel()
		var ee *exec.ExitError
		if follow && errors.As(err, &ee) && ee.ExitCode() == 124 {
			err = nil // --follow runs until stopped
		}
		if err != nil {
			t.Fatalf("README tour: %s\nfailed (%v):\n%s", line, err, out)
		}
		for prefix, sub := range want {
			if strings.HasPrefix(line, prefix) && !strings.Contains(string(out), sub) {
				t.Errorf("README tour: %s\nprinted %q, want it to contain %q", line, out, sub)
			}
		}
	}
	t.Logf("the tour's %d commands took %s", len(tour), time.Since(start).Round(time.Millisecond))
}

// tourCommands are the commands of the README's tour block, without
// comment lines.
func tourCommands(t *testing.T, readme string) []string {
	_, after, ok := strings.Cut(readme, "## A 5-minute tour")
	if !ok {
		t.Fatal("README has no \"## A 5-minute tour\" section")
	}
	_, block, ok := strings.Cut(after, "```sh\n")
	if !ok {
		t.Fatal("the tour has no ```sh block")
	}
	block, _, _ = strings.Cut(block, "```")
	var cmds []string
	for _, l := range strings.Split(block, "\n") {
		if l = strings.TrimSpace(l); l != "" && !strings.HasPrefix(l, "#") {
			cmds = append(cmds, l)
		}
	}
	if len(cmds) < 10 {
		t.Fatalf("the tour has only %d commands", len(cmds))
	}
	return cmds
}
