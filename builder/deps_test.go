package builder

import (
	"archive/zip"
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/ferryfaas/ferry/stack"
)

// TestInstallDepsNode: a package.json dependency (a local file: package,
// so no registry is needed) is installed into the artifact and used.
func TestInstallDepsNode(t *testing.T) {
	for _, bin := range []string{"node", "npm"} {
		if _, err := exec.LookPath(bin); err != nil {
			t.Skipf("%s is not installed (scripts/install-deps.sh installs nodejs and npm)", bin)
		}
	}
	t.Setenv("npm_config_offline", "true") // prove no registry is contacted
	t.Setenv("npm_config_update_notifier", "false")
	dir := t.TempDir()
	fn := filepath.Join(dir, "fn")
	writeFiles(t, fn, map[string]string{
		"package.json":       `{"name":"fn","version":"1.0.0","dependencies":{"greet":"file:./greet"}}`,
		"greet/package.json": `{"name":"greet","version":"1.0.0","main":"index.js"}`,
		"greet/index.js":     `module.exports = 'from a dependency'`,
		"handler.js":         "module.exports = async (event, context) => context.status(200).succeed('node ' + require('greet'))\n",
	})
	checkDeps(t, dir, "node", "node from a dependency")
}

// TestInstallDepsPython: requirements.txt naming a local wheel (built here,
// installed with PIP_NO_INDEX so no index is contacted) ends up importable.
func TestInstallDepsPython(t *testing.T) {
	if err := exec.Command("python3", "-m", "pip", "--version").Run(); err != nil {
		t.Skip("python3 -m pip is not available (apt-get install python3-pip)")
	}
	t.Setenv("PIP_NO_INDEX", "1")
	dir := t.TempDir()
	fn := filepath.Join(dir, "fn")
	writeFiles(t, fn, map[string]string{
		"requirements.txt": "# local wheel\n./greet-1.0-py3-none-any.whl\n",
		"handler.py":       "import greet\n\n\ndef handle(event, context):\n    return {\"statusCode\": 200, \"body\": \"python \" + greet.WORD}\n",
	})
	writeWheel(t, filepath.Join(fn, "greet-1.0-py3-none-any.whl"))
	checkDeps(t, dir, "python3-http", "python from a dependency")
}

func checkDeps(t *testing.T, dir, lang, want string) {
	t.Helper()
	res, err := Build(context.Background(), Options{
		Function: stack.Function{Name: "fn", Lang: lang, Handler: "./fn"}, StackDir: dir,
		InstallDeps: true, Progress: testWriter{t},
	})
	if err != nil {
		t.Fatal(err)
	}
	run := t.TempDir()
	extractTarGz(t, res.ArtifactPath, run)
	url := runWatchdog(t, res, run)
	if code, body := invoke(t, url+"/", ""); code != 200 || body != want {
		t.Fatalf("got %d %q, want 200 %q", code, body, want)
	}
	// Without --install-deps nothing is installed.
	res, err = Build(context.Background(), Options{
		Function: stack.Function{Name: "fn", Lang: lang, Handler: "./fn"}, StackDir: dir, OutDir: t.TempDir(),
	})
	if err != nil {
		t.Fatal(err)
	}
	for _, d := range []string{"node_modules", pythonPackagesDir} {
		if _, err := os.Stat(filepath.Join(filepath.Dir(res.ArtifactPath), "fn", "function", d)); err == nil {
			t.Errorf("%s installed without InstallDeps", d)
		}
	}
}

func writeFiles(t *testing.T, root string, files map[string]string) {
	t.Helper()
	for name, body := range files {
		p := filepath.Join(root, name)
		os.MkdirAll(filepath.Dir(p), 0o755)
		if err := os.WriteFile(p, []byte(body), 0o644); err != nil {
			t.Fatal(err)
		}
	}
}

// writeWheel writes a minimal pure-Python wheel holding module greet.
func writeWheel(t *testing.T, path string) {
	t.Helper()
	f, err := os.Create(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	zw := zip.NewWriter(f)
	files := [][2]string{
		{"greet.py", "WORD = 'from a dependency'\n"},
		{"greet-1.0.dist-info/METADATA", "Metadata-Version: 2.1\nName: greet\nVersion: 1.0\n"},
		{"greet-1.0.dist-info/WHEEL", "Wheel-Version: 1.0\nGenerator: ferry-test\nRoot-Is-Purelib: true\nTag: py3-none-any\n"},
	}
	var record strings.Builder
	for _, fl := range files {
		w, _ := zw.Create(fl[0])
		w.Write([]byte(fl[1]))
		record.WriteString(fl[0] + ",,\n")
	}
	record.WriteString("greet-1.0.dist-info/RECORD,,\n")
	w, _ := zw.Create("greet-1.0.dist-info/RECORD")
	w.Write([]byte(record.String()))
	if err := zw.Close(); err != nil {
		t.Fatal(err)
	}
}
