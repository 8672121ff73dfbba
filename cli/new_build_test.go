package cli

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/ferryfaas/ferry/stack"
)

// TestNewThenBuild scaffolds two functions with `ferry new` (one appended)
// and builds their artifacts with `ferry build`.
func TestNewThenBuild(t *testing.T) {
	t.Chdir(t.TempDir())
	runCLI(t, "", "new", "hello", "--lang", "python3", "--prefix", "reg.example/team").must(t)
	r := runCLI(t, "", "new", "two", "--lang", "bash", "--append", "stack.yml", "-q").must(t)
	if !strings.Contains(r.stdout, "Function created in folder: two") {
		t.Fatalf("stdout %q", r.stdout)
	}
	st, err := stack.Load("stack.yml", func(string) (string, bool) { return "", false })
	if err != nil {
		t.Fatal(err)
	}
	if fn := st.Functions["hello"]; fn.Lang != "python3" || fn.Handler != "./hello" || fn.Image != "reg.example/team/hello:latest" {
		t.Fatalf("hello entry %+v", fn)
	}
	if fn := st.Functions["two"]; fn.Lang != "bash" || fn.Handler != "./two" {
		t.Fatalf("two entry %+v", fn)
	}
	for _, f := range []string{"hello/handler.py", "two/handler.sh"} {
		if _, err := os.Stat(f); err != nil {
			t.Fatal(err)
		}
	}
	r = runCLI(t, "", "build", "--parallel", "2").must(t)
	for _, f := range []string{"build/hello.tar.gz", "build/two.tar.gz", "build/hello/function/handler.py", "build/hello/index.py"} {
		if _, err := os.Stat(f); err != nil {
			t.Fatalf("%v\n%s", err, r.stdout)
		}
	}
	if !strings.Contains(r.stdout, "hello: artifact ") || !strings.Contains(r.stdout, "sha256:") {
		t.Fatalf("build output %q", r.stdout)
	}
	os.RemoveAll("build")
	runCLI(t, "", "build", "--filter", "tw*", "--out", "out").must(t)
	if _, err := os.Stat("out/two.tar.gz"); err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat("out/hello.tar.gz"); err == nil {
		t.Fatal("--filter built hello too")
	}
}

// TestNewAndBuildErrors: every bad input gives one clear line and exit 1.
func TestNewAndBuildErrors(t *testing.T) {
	t.Chdir(t.TempDir())
	runCLI(t, "", "new", "x", "--lang", "cobol").fails(t, `unknown lang "cobol"`)
	runCLI(t, "", "new", "Bad_Name", "--lang", "go").fails(t, "bad function name")
	runCLI(t, "", "new", "x").fails(t, "no --lang")
	runCLI(t, "", "new").fails(t, "give one function name")
	runCLI(t, "", "new", "ok", "--lang", "go", "-q").must(t)
	runCLI(t, "", "new", "ok2", "--lang", "go").fails(t, "--append stack.yml")
	runCLI(t, "", "new", "ok", "--lang", "go", "--append", "stack.yml").fails(t, "folder ok already exists")
	os.RemoveAll("ok2")
	if err := os.WriteFile("broken.yml", []byte("functions: [\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	runCLI(t, "", "new", "ok3", "--lang", "go", "--append", "broken.yml").fails(t, "not valid YAML")
	runCLI(t, "", "new", "ok3", "--lang", "go", "--append", "missing.yml").fails(t, "no such stack file")
	runCLI(t, "", "build", "--format", "tar").fails(t, `--format "tar"`)
	runCLI(t, "", "build", "--parallel", "0").fails(t, "--parallel 0")
	runCLI(t, "", "build", "-f", "nope.yml").fails(t, "nope.yml")
	if err := os.Rename("ok", "moved"); err != nil {
		t.Fatal(err)
	}
	runCLI(t, "", "build").fails(t, "handler folder "+filepath.Join(mustGetwd(t), "ok")+" not found")
	if err := os.WriteFile("lang.yml", []byte("functions:\n  f:\n    lang: cobol\n    handler: ./moved\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	runCLI(t, "", "build", "-f", "lang.yml").fails(t, `unknown lang "cobol"`)
}

func mustGetwd(t *testing.T) string {
	t.Helper()
	wd, err := os.Getwd()
	if err != nil {
		t.Fatal(err)
	}
	return wd
}
