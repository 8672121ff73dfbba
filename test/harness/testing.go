package harness

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// T starts ferry for a test, failing it on error and stopping the server
// (and printing its log when the test failed) at cleanup.
func T(t testing.TB, opts Options) *Ferry {
	t.Helper()
	logPath := filepath.Join(t.TempDir(), "ferry.log")
	lf, err := os.Create(logPath)
	if err != nil {
		t.Fatal(err)
	}
	if opts.Log == nil {
		opts.Log = lf
	}
	if opts.DataDir == "" {
		opts.DataDir = t.TempDir()
	}
	f, err := Start(opts)
	if err != nil {
		t.Fatalf("start ferry: %v\n%s", err, tail(logPath))
	}
	t.Cleanup(func() {
		f.Stop()
		lf.Close()
		if t.Failed() {
			t.Logf("ferry serve log (tail):\n%s", tail(logPath))
		}
	})
	return f
}

func tail(path string) string {
	b, _ := os.ReadFile(path)
	lines := strings.Split(string(b), "\n")
	if len(lines) > 80 {
		lines = lines[len(lines)-80:]
	}
	return strings.Join(lines, "\n")
}
