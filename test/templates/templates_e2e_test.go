// Package templates_test runs every shipped template end to end with the
// real binaries: `ferry new`, `ferry up` against a running `ferry serve`
// (process runtime), `ferry invoke` returning the default handler's reply,
// `ferry logs` showing what the function wrote, and `ferry remove`.
package templates_test

import (
	"bytes"
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/ferryfaas/ferry/templates"
	"github.com/ferryfaas/ferry/test/harness"
)

// needs names the interpreter each template runs with on this host.
var needs = map[string]string{"python3-http": "python3", "python3": "python3", "node": "node",
	"golang-http": "go", "go": "go", "bash": "bash", "dockerfile": "sh"}

func TestNewUpInvokeEveryTemplate(t *testing.T) {
	f := harness.T(t, harness.Options{})
	cfg := t.TempDir()
	for _, lang := range templates.Languages() {
		t.Run(lang, func(t *testing.T) {
			if bin := needs[lang]; bin != "" {
				if _, err := exec.LookPath(bin); err != nil {
					t.Skipf("%s is not installed (scripts/install-deps.sh installs it): cannot run the %s template", bin, lang)
				}
			}
			dir := t.TempDir()
			name := "tpl-" + lang
			ferry := func(stdin string, args ...string) string {
				t.Helper()
				ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
				defer cancel()
				cmd := exec.CommandContext(ctx, filepath.Join(f.BinDir, "ferry"), args...)
				cmd.Dir = dir
				cmd.Env = append(os.Environ(), "FERRY_URL="+f.URL, "FERRY_USER="+f.User,
					"FERRY_PASSWORD="+f.Password, "FERRY_CONFIG_DIR="+cfg)
				cmd.Stdin = strings.NewReader(stdin)
				var out, errb bytes.Buffer
				cmd.Stdout, cmd.Stderr = &out, &errb
				if err := cmd.Run(); err != nil {
					t.Fatalf("ferry %s: %v\nstdout: %s\nstderr: %s", strings.Join(args, " "), err, out.String(), errb.String())
				}
				return out.String()
			}
			ferry("", "new", name, "--lang", lang, "-q")
			h, ok := loggingHandlers[lang]
			if !ok {
				t.Fatalf("no logging handler for %s: add one to handlers_test.go", lang)
			}
			if err := os.WriteFile(filepath.Join(dir, name, h[0]), []byte(h[1]), 0o755); err != nil {
				t.Fatal(err)
			}
			start := time.Now()
			ferry("", "up")
			ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
			defer cancel()
			if err := f.WaitReady(ctx, name, "", 1); err != nil {
				t.Fatalf("%s not ready: %v", name, err)
			}
			t.Logf("ferry up → ready in %s", time.Since(start).Round(time.Millisecond))
			got := ferry("ferry", "invoke", name)
			if want := templates.ExpectedReply(lang, "ferry"); strings.TrimRight(got, "\n") != want {
				t.Fatalf("ferry invoke %s = %q, want %q", name, got, want)
			}
			// Log lines travel through the runtime's pipes: allow a moment.
			deadline := time.Now().Add(15 * time.Second)
			for logs := ""; !strings.Contains(logs, logMarker); {
				if time.Now().After(deadline) {
					t.Fatalf("ferry logs %s lacks %q:\n%s", name, logMarker, logs)
				}
				logs = ferry("", "logs", name, "--tail", "50")
				if !strings.Contains(logs, logMarker) {
					time.Sleep(200 * time.Millisecond)
				}
			}
			ferry("", "remove", name)
			if code, _, err := f.Do("GET", "/system/function/"+name, nil); err != nil || code != 404 {
				t.Fatalf("after remove: GET function = %d %v, want 404", code, err)
			}
		})
	}
}
