package templates

import (
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
)

func TestLanguages(t *testing.T) {
	want := []string{"bash", "dockerfile", "go", "go-wasm", "golang-http", "node", "python3", "python3-http", "rust-wasm"}
	if got := Languages(); !slices.Equal(got, want) {
		t.Fatalf("Languages() = %v, want %v", got, want)
	}
	for _, l := range want {
		tpl, err := Lookup("", l)
		if err != nil {
			t.Fatal(err)
		}
		if tpl.Language != l || tpl.HandlerFolder != "function" || tpl.Ferry.Mode == "" || tpl.WelcomeMessage == "" {
			t.Errorf("%s: %+v", l, tpl.Spec)
		}
		if l != "dockerfile" && tpl.FProcess == "" {
			t.Errorf("%s: no fprocess", l)
		}
		if tpl.Ferry.Mode == "http" && tpl.Ferry.UpstreamPort == 0 {
			t.Errorf("%s: http mode without upstream_port", l)
		}
		if ExpectedReply(l, "x") == "" {
			t.Errorf("%s: no expected reply", l)
		}
	}
}

func TestLookupPrefersLocalDir(t *testing.T) {
	dir := t.TempDir()
	d := filepath.Join(dir, "template", "python3")
	os.MkdirAll(d, 0o755)
	os.WriteFile(filepath.Join(d, "template.yml"), []byte("language: python3\nfprocess: python3 mine.py\n"), 0o644)
	tpl, err := Lookup(dir, "python3")
	if err != nil {
		t.Fatal(err)
	}
	if tpl.FProcess != "python3 mine.py" || tpl.Source != d {
		t.Fatalf("got %q from %s", tpl.FProcess, tpl.Source)
	}
	if tpl, _ := Lookup(dir, "go"); tpl == nil || tpl.Source != "embedded:go" {
		t.Fatal("a lang missing locally must come from the embedded templates")
	}
	os.WriteFile(filepath.Join(dir, "template", "python3", "template.yml"), []byte("language: [\n"), 0o644)
	if _, err := Lookup(dir, "python3"); err == nil || !strings.Contains(err.Error(), "template.yml") {
		t.Fatalf("broken template.yml: %v", err)
	}
}

func TestDockerfileEnv(t *testing.T) {
	df := `FROM x
# ENV commented="no"
ENV fprocess="python3 index.py" mode=http
ENV upstream_url http://127.0.0.1:5000
ENV a="with space" \
    b='single'
env lower="yes"
ENV q="say \"hi\""
`
	got := DockerfileEnv([]byte(df))
	want := map[string]string{"fprocess": "python3 index.py", "mode": "http", "upstream_url": "http://127.0.0.1:5000",
		"a": "with space", "b": "single", "lower": "yes", "q": `say "hi"`}
	for k, v := range want {
		if got[k] != v {
			t.Errorf("%s = %q, want %q", k, got[k], v)
		}
	}
	if _, ok := got["commented"]; ok {
		t.Error("a commented ENV was read")
	}
}

func TestScaffoldGoWritesGoMod(t *testing.T) {
	tpl, _ := Lookup("", "golang-http")
	dst := filepath.Join(t.TempDir(), "fn")
	if err := Scaffold(tpl, dst); err != nil {
		t.Fatal(err)
	}
	b, err := os.ReadFile(filepath.Join(dst, "go.mod"))
	if err != nil || !strings.Contains(string(b), "module handler/function") {
		t.Fatalf("go.mod %q %v", b, err)
	}
	tpl, _ = Lookup("", "bash")
	dst = filepath.Join(t.TempDir(), "fn")
	Scaffold(tpl, dst)
	if st, err := os.Stat(filepath.Join(dst, "handler.sh")); err != nil || st.Mode()&0o100 == 0 {
		t.Fatalf("handler.sh not executable: %v", err)
	}
}

func TestDockerfileSteps(t *testing.T) {
	df := "FROM x\n\n# RUN commented\nRUN a && \\\n    b\nrun c\nCOPY . .\n"
	got := DockerfileSteps([]byte(df))
	want := []DockerfileStep{{1, "FROM", "x"}, {4, "RUN", "a &&  b"}, {6, "RUN", "c"}, {7, "COPY", ". ."}}
	if len(got) != len(want) {
		t.Fatalf("steps %+v, want %+v", got, want)
	}
	for i := range want {
		if got[i] != want[i] {
			t.Errorf("step %d: %+v, want %+v", i, got[i], want[i])
		}
	}
}
