package builder

import (
	"context"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/ferryfaas/ferry/stack"
	"github.com/ferryfaas/ferry/templates"
)

// TestTemplatesRunUnderWatchdog builds every shipped template's default
// handler (as `ferry new` lays it out), extracts the artifact and runs it
// with the real watchdog, then invokes it over HTTP.
func TestTemplatesRunUnderWatchdog(t *testing.T) {
	needs := map[string]string{"python3-http": "python3", "python3": "python3", "node": "node",
		"golang-http": "go", "go": "go", "bash": "bash", "dockerfile": "sh"}
	for _, lang := range templates.Languages() {
		t.Run(lang, func(t *testing.T) {
			if bin := needs[lang]; bin != "" {
				if _, err := exec.LookPath(bin); err != nil {
					t.Skipf("%s is not installed (scripts/install-deps.sh installs it): cannot run the %s template", bin, lang)
				}
			}
			if tpl, _ := templates.Lookup("", lang); tpl.Ferry.Runtime == "wasm" {
				t.Skip("runs on the wasm runtime, not the watchdog: see TestGoWasmTemplate and TestRustWasmTemplate")
			}
			res := buildDefault(t, lang)
			run := t.TempDir()
			extractTarGz(t, res.ArtifactPath, run)
			url := runWatchdog(t, res, run)
			code, body := invoke(t, url+"/", "ferry")
			want := templates.ExpectedReply(lang, "ferry")
			if code != 200 || strings.TrimRight(body, "\n") != want {
				t.Fatalf("invoke %s: %d %q, want 200 %q", lang, code, body, want)
			}
		})
	}
}

// buildDefault scaffolds lang's default handler in a temp stack folder and
// builds its artifact.
func buildDefault(t *testing.T, lang string) *Result {
	t.Helper()
	dir := t.TempDir()
	tpl, err := templates.Lookup("", lang)
	if err != nil {
		t.Fatal(err)
	}
	if err := templates.Scaffold(tpl, filepath.Join(dir, "fn")); err != nil {
		t.Fatal(err)
	}
	res, err := Build(context.Background(), Options{
		Function: stack.Function{Name: "fn", Lang: lang, Handler: "./fn"},
		StackDir: dir, Progress: testWriter{t},
	})
	if err != nil {
		t.Fatal(err)
	}
	return res
}

// testWriter sends progress lines to the test log.
type testWriter struct{ t *testing.T }

func (w testWriter) Write(p []byte) (int, error) {
	w.t.Log(strings.TrimRight(string(p), "\n"))
	return len(p), nil
}
