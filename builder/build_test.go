package builder

import (
	"archive/tar"
	"compress/gzip"
	"context"
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/ferryfaas/ferry/stack"
)

// TestArtifactReproducible: the same handler in another folder, with other
// file times and permission bits, gives the same artifact bytes.
func TestArtifactReproducible(t *testing.T) {
	a := scaffold(t, "python3-http")
	b := scaffold(t, "python3-http")
	later := time.Now().Add(48 * time.Hour)
	filepath.Walk(b, func(p string, info os.FileInfo, err error) error {
		if err == nil && info.Mode().IsRegular() {
			os.Chmod(p, 0o600)
			os.Chtimes(p, later, later)
		}
		return nil
	})
	var got []string
	for _, dir := range []string{a, b} {
		res, err := Build(context.Background(), Options{
			Function: stack.Function{Name: "fn", Lang: "python3-http", Handler: "./fn"}, StackDir: dir,
		})
		if err != nil {
			t.Fatal(err)
		}
		got = append(got, res.ArtifactDigest)
		if want := filepath.Join(dir, "build", "fn.tar.gz"); res.ArtifactPath != want {
			t.Errorf("artifact at %s, want %s", res.ArtifactPath, want)
		}
		if res.EnvProcess != "python3 index.py" || len(res.EnvVars) != 1 || res.EnvVars["mode"] != "http" {
			t.Errorf("run settings %q %v", res.EnvProcess, res.EnvVars)
		}
		checkTar(t, res.ArtifactPath)
	}
	if got[0] != got[1] {
		t.Fatalf("artifact digests differ: %v", got)
	}
}

// checkTar: entries sorted, times and owners zero, modes normalised.
func checkTar(t *testing.T, path string) {
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
	if !zr.Header.ModTime.IsZero() || zr.Header.Name != "" {
		t.Errorf("gzip header %+v", zr.Header)
	}
	tr := tar.NewReader(zr)
	prev := ""
	names := map[string]bool{}
	for {
		h, err := tr.Next()
		if err == io.EOF {
			break
		}
		if err != nil {
			t.Fatal(err)
		}
		if h.Name <= prev {
			t.Errorf("entry %s after %s: not sorted", h.Name, prev)
		}
		prev = h.Name
		names[h.Name] = true
		if h.ModTime.Unix() != 0 || h.Uid != 0 || h.Gid != 0 || h.Uname != "" {
			t.Errorf("%s: mtime %v owner %d:%d %q", h.Name, h.ModTime, h.Uid, h.Gid, h.Uname)
		}
		if h.Typeflag == tar.TypeReg && h.Mode != 0o644 && h.Mode != 0o755 {
			t.Errorf("%s: mode %o", h.Name, h.Mode)
		}
	}
	for _, want := range []string{"index.py", "function/", "function/handler.py", "template.yml"} {
		if !names[want] {
			t.Errorf("artifact lacks %s", want)
		}
	}
}

// TestHandlerReplacesDefault: the template's default handler files do not
// leak into the build when the user's handler lacks them; stack fprocess
// wins over the template's.
func TestHandlerReplacesDefault(t *testing.T) {
	dir := t.TempDir()
	os.MkdirAll(filepath.Join(dir, "fn"), 0o755)
	os.WriteFile(filepath.Join(dir, "fn", "handler.py"), []byte("def handle(req):\n    return 'mine'\n"), 0o644)
	res, err := Build(context.Background(), Options{
		Function: stack.Function{Name: "fn", Lang: "python3", Handler: "fn", FProcess: "python3 -u index.py"}, StackDir: dir,
	})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(filepath.Join(dir, "build", "fn", "function", "requirements.txt")); err == nil {
		t.Error("template's default requirements.txt was kept")
	}
	if b, _ := os.ReadFile(filepath.Join(dir, "build", "fn", "function", "handler.py")); !strings.Contains(string(b), "mine") {
		t.Errorf("handler.py = %q", b)
	}
	if res.EnvProcess != "python3 -u index.py" || res.EnvVars["mode"] != "streaming" {
		t.Errorf("run settings %q %v", res.EnvProcess, res.EnvVars)
	}
}

// TestFaasCliTemplateDir: a template without a ferry: section, found in a
// template/ folder, runs as its Dockerfile's ENV lines say.
func TestFaasCliTemplateDir(t *testing.T) {
	dir := t.TempDir()
	tpl := filepath.Join(dir, "template", "mylang")
	os.MkdirAll(filepath.Join(tpl, "function"), 0o755)
	os.WriteFile(filepath.Join(tpl, "template.yml"), []byte("language: mylang\nfprocess: ./run\n"), 0o644)
	os.WriteFile(filepath.Join(tpl, "Dockerfile"), []byte("FROM x\nENV fprocess=\"./ignored\" \\\n    mode=\"http\"\nENV upstream_url=\"http://127.0.0.1:8000\"\n"), 0o644)
	os.WriteFile(filepath.Join(tpl, "run"), []byte("#!/bin/sh\n"), 0o755)
	os.MkdirAll(filepath.Join(dir, "fn"), 0o755)
	res, err := Build(context.Background(), Options{
		Function: stack.Function{Name: "fn", Lang: "mylang", Handler: "./fn"}, StackDir: dir, TemplatesDir: dir,
	})
	if err != nil {
		t.Fatal(err)
	}
	if res.EnvProcess != "./run" || res.EnvVars["mode"] != "http" || res.EnvVars["upstream_url"] != "http://127.0.0.1:8000" {
		t.Errorf("run settings %q %v", res.EnvProcess, res.EnvVars)
	}
	if _, ok := res.EnvVars["upstream_port"]; ok {
		t.Error("a fixed-port template must not claim upstream_port")
	}
}

// TestBuildErrors: each bad input is one clear error naming what to fix.
func TestBuildErrors(t *testing.T) {
	dir := t.TempDir()
	os.MkdirAll(filepath.Join(dir, "empty"), 0o755)
	os.MkdirAll(filepath.Join(dir, "broken"), 0o755)
	os.WriteFile(filepath.Join(dir, "broken", "handler.go"), []byte("package function\n\nfunc Handle(req []byte) string { return 1 }\n"), 0o644)
	cases := []struct {
		name string
		fn   stack.Function
		img  bool
		want string
	}{
		{"missing handler", stack.Function{Name: "a", Lang: "python3", Handler: "./nope"}, false, "handler folder"},
		{"no handler", stack.Function{Name: "a", Lang: "python3"}, false, "has no handler"},
		{"unknown lang", stack.Function{Name: "a", Lang: "cobol", Handler: "./empty"}, false, `unknown lang "cobol"`},
		{"lang with slash", stack.Function{Name: "a", Lang: "../x", Handler: "./empty"}, false, "no slashes"},
		{"bad name", stack.Function{Name: "a/b", Lang: "python3", Handler: "./empty"}, false, "bad function name"},
		{"dockerfile without fprocess", stack.Function{Name: "a", Lang: "dockerfile", Handler: "./empty"}, false, "no fprocess"},
		{"go compile error", stack.Function{Name: "a", Lang: "go", Handler: "./broken"}, false, "go build of the handler failed"},
		{"dockerfile image without a Dockerfile", stack.Function{Name: "a", Lang: "dockerfile", Handler: "./empty", FProcess: "cat"}, true, "add a Dockerfile to the handler folder"},
		{"bad image name", stack.Function{Name: "a", Lang: "bash", Handler: "./empty", Image: "UPPER/Case:x"}, true, "bad image name"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			_, err := Build(context.Background(), Options{Function: c.fn, StackDir: dir, OutDir: t.TempDir(),
				Image: ImageOptions{Enabled: c.img}, WatchdogBinary: watchdogBin})
			if err == nil || !strings.Contains(err.Error(), c.want) || strings.Contains(err.Error(), "\n") {
				t.Fatalf("got %v, want one line with %q", err, c.want)
			}
		})
	}
	t.Run("missing watchdog", func(t *testing.T) {
		_, err := Build(context.Background(), Options{Function: stack.Function{Name: "a", Lang: "bash", Handler: "./empty"},
			StackDir: dir, OutDir: t.TempDir(), Image: ImageOptions{Enabled: true}, WatchdogBinary: filepath.Join(dir, "nope")})
		if err == nil || !strings.Contains(err.Error(), "watchdog binary") {
			t.Fatalf("got %v", err)
		}
	})
}

// TestHandlerSymlinks: links inside the handler stay links (made relative);
// links leaving it are replaced by copies; a dangling one is an error.
func TestHandlerSymlinks(t *testing.T) {
	dir := t.TempDir()
	fn := filepath.Join(dir, "fn")
	writeFiles(t, dir, map[string]string{"shared/lib.py": "X = 1\n", "fn/handler.py": "def handle(req):\n    return req\n", "fn/data/a.txt": "a"})
	os.Symlink(filepath.Join(fn, "data", "a.txt"), filepath.Join(fn, "abs-inside.txt"))
	os.Symlink("../shared/lib.py", filepath.Join(fn, "lib.py"))
	os.Symlink("../shared", filepath.Join(fn, "shareddir"))
	out := t.TempDir()
	res, err := Build(context.Background(), Options{Function: stack.Function{Name: "fn", Lang: "python3", Handler: "./fn"}, StackDir: dir, OutDir: out})
	if err != nil {
		t.Fatal(err)
	}
	run := t.TempDir()
	extractTarGz(t, res.ArtifactPath, run)
	if l, err := os.Readlink(filepath.Join(run, "function", "abs-inside.txt")); err != nil || l != "data/a.txt" {
		t.Errorf("inside link = %q %v, want data/a.txt", l, err)
	}
	for _, p := range []string{"function/lib.py", "function/shareddir/lib.py"} {
		st, err := os.Lstat(filepath.Join(run, p))
		if err != nil || !st.Mode().IsRegular() {
			t.Errorf("%s should be a copied file: %v", p, err)
		}
	}
	os.Symlink("nowhere", filepath.Join(fn, "dangling"))
	_, err = Build(context.Background(), Options{Function: stack.Function{Name: "fn", Lang: "python3", Handler: "./fn"}, StackDir: dir, OutDir: out})
	if err == nil || !strings.Contains(err.Error(), "points nowhere") {
		t.Fatalf("dangling link: %v", err)
	}
}

// TestBuildFolderOverlap: a build folder that is the handler (or holds the
// stack) is refused before anything is deleted.
func TestBuildFolderOverlap(t *testing.T) {
	dir := t.TempDir()
	writeFiles(t, dir, map[string]string{"fn/handler.py": "x"})
	for _, out := range []string{".", ".."} {
		name := "fn"
		if out == ".." {
			name = filepath.Base(dir)
		}
		_, err := Build(context.Background(), Options{Function: stack.Function{Name: name, Lang: "python3", Handler: "./fn"}, StackDir: dir, OutDir: out})
		if err == nil || !strings.Contains(err.Error(), "would overwrite") {
			t.Fatalf("out %q: %v", out, err)
		}
	}
	if _, err := os.Stat(filepath.Join(dir, "fn", "handler.py")); err != nil {
		t.Fatal("the handler was deleted")
	}
}
