package cli

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/ferryfaas/ferry/api"
	"github.com/ferryfaas/ferry/test/harness"
)

// TestUp builds a bash function with the real builder, uploads the
// artifact and deploys it with the artifact annotation; a second run
// skips the upload. Bad stacks fail with one line.
func TestUp(t *testing.T) {
	gw := localGateway(t)
	dir := t.TempDir()
	writeFile(t, filepath.Join(dir, "hello", "handler.sh"), "#!/bin/bash\ncat\n")
	file := writeFile(t, filepath.Join(dir, "stack.yml"), `version: 1.0
provider:
  name: openfaas
functions:
  hello:
    lang: bash
    handler: ./hello
    environment:
      mode: serializing
      greeting: hi
  prebuilt:
    image: acme/prebuilt:1
`)
	r := runCLI(t, "", "up", "-f", file).must(t)
	for _, want := range []string{"[1/2] hello: building (bash)", "hello: uploaded sha256:", "Deployed hello: " + gw.URL + "/function/hello", "[2/2] prebuilt: not building (image acme/prebuilt:1)"} {
		if !strings.Contains(r.stdout, want) {
			t.Errorf("up output lacks %q:\n%s", want, r.stdout)
		}
	}
	if _, err := os.Stat(filepath.Join(dir, "build", "hello.tar.gz")); err != nil {
		t.Errorf("artifact not under the stack dir: %v", err)
	}
	st, err := gw.Provider.Get(context.Background(), api.DefaultNamespace, "hello")
	if err != nil {
		t.Fatal(err)
	}
	digest := st.Annotations[ArtifactAnnotation]
	if !strings.HasPrefix(digest, "sha256:") || !gw.Artifacts.Has(digest) {
		t.Errorf("annotation %q not an uploaded artifact", digest)
	}
	if st.EnvProcess != "bash function/handler.sh" || st.Image != "hello" {
		t.Errorf("fprocess %q image %q: want the template's fprocess and the function name", st.EnvProcess, st.Image)
	}
	// The stack's environment wins over the template's watchdog settings.
	if st.EnvVars["mode"] != "serializing" || st.EnvVars["greeting"] != "hi" {
		t.Errorf("env %v", st.EnvVars)
	}

	r = runCLI(t, "", "up", "-f", file, "--filter", "hello", "--env", "greeting=flag").must(t)
	if !strings.Contains(r.stdout, "gateway already has sha256:") || !strings.Contains(r.stdout, "Updated hello") || strings.Contains(r.stdout, "prebuilt") {
		t.Errorf("second up:\n%s", r.stdout)
	}
	if gw.Artifacts.Uploads != 1 {
		t.Errorf("uploads = %d, want 1 (reproducible build, HEAD hit)", gw.Artifacts.Uploads)
	}
	if st, _ := gw.Provider.Get(context.Background(), api.DefaultNamespace, "hello"); st.EnvVars["greeting"] != "flag" {
		t.Errorf("--env did not override: %v", st.EnvVars)
	}

	runCLI(t, "", "up", "-f", file, "--skip-build", "--regex", "^hello$").must(t)

	missing := writeFile(t, filepath.Join(dir, "missing.yml"), "functions:\n  gone:\n    lang: bash\n    handler: ./gone\n")
	runCLI(t, "", "up", "-f", missing).fails(t, "build failed: function gone: handler folder")
	unknown := writeFile(t, filepath.Join(dir, "unknown.yml"), "functions:\n  hello:\n    lang: cobol\n    handler: ./hello\n")
	r = runCLI(t, "", "up", "-f", unknown)
	r.fails(t, "cobol")
	if n := strings.Count(strings.TrimSpace(r.stderr), "\n"); n != 0 {
		t.Errorf("want one error line, got:\n%s", r.stderr)
	}
	runCLI(t, "", "up", "-f", file, "--filter", "x", "--regex", "y").fails(t, "not both")
}

// TestUpWatch: `ferry up --watch` deploys, then redeploys a function when
// its handler changes (a new artifact), until its context ends.
func TestUpWatch(t *testing.T) {
	gw := localGateway(t)
	defer func(d time.Duration) { watchPoll = d }(watchPoll)
	watchPoll = 50 * time.Millisecond
	dir := t.TempDir()
	handler := writeFile(t, filepath.Join(dir, "hello", "handler.sh"), "#!/bin/bash\necho v1\n")
	file := writeFile(t, filepath.Join(dir, "stack.yml"), "functions:\n  hello:\n    lang: bash\n    handler: ./hello\n")
	ctx, cancel := context.WithCancel(context.Background())
	root := NewRoot()
	var out harness.LockedBuffer
	root.SetArgs([]string{"up", "-f", file, "--watch", "--no-wait"})
	root.SetOut(&out)
	root.SetErr(&out)
	done := make(chan error, 1)
	go func() { done <- root.ExecuteContext(ctx) }()

	digest := func() string {
		st, err := gw.Provider.Get(context.Background(), api.DefaultNamespace, "hello")
		if err != nil {
			return ""
		}
		return st.Annotations[ArtifactAnnotation]
	}
	waitFor := func(what string, cond func() bool) {
		t.Helper()
		for deadline := time.Now().Add(30 * time.Second); time.Now().Before(deadline); time.Sleep(20 * time.Millisecond) {
			if cond() {
				return
			}
		}
		t.Fatalf("%s: not reached; output:\n%s", what, out.String())
	}
	waitFor("first deploy", func() bool { return digest() != "" && strings.Contains(out.String(), "Watching") })
	first := digest()
	os.WriteFile(handler, []byte("#!/bin/bash\necho v2\n"), 0o755)
	waitFor("redeploy after the save", func() bool { return digest() != "" && digest() != first })
	if !strings.Contains(out.String(), "Change detected in hello") {
		t.Errorf("output:\n%s", out.String())
	}
	cancel()
	select {
	case err := <-done:
		if err != nil {
			t.Fatal(err)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("up --watch did not stop with its context")
	}
}
