// Package e2e holds Ferry's end-to-end tests: they start the real `ferry`
// binary (test/harness) and drive it only over HTTP and the CLI.
package e2e

import (
	"archive/tar"
	"bytes"
	"compress/gzip"
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"sync"
	"testing"
	"time"

	"github.com/ferryfaas/ferry/test/harness"
)

var (
	fnOnce sync.Once
	fnDir  string
	fnErr  error
)

// testFunctions builds the Go test functions under testdata once, into a
// folder every replica user can read.
func testFunctions(t testing.TB) string {
	fnOnce.Do(func() {
		fnDir, fnErr = harness.ReplicaTempDir("ferry-e2e-fns-")
		if fnErr != nil {
			return
		}
		cmd := exec.Command("go", "build", "-o", filepath.Join(fnDir, "httpfn"), "./testdata/httpfn")
		cmd.Env = append(os.Environ(), "CGO_ENABLED=0")
		if out, err := cmd.CombinedOutput(); err != nil {
			fnErr = fmt.Errorf("build httpfn: %v: %s", err, out)
		}
	})
	if fnErr != nil {
		t.Fatal(fnErr)
	}
	return fnDir
}

// deploy POSTs a FunctionDeployment and fails the test unless it is accepted.
func deploy(t testing.TB, f *harness.Ferry, d map[string]any) {
	t.Helper()
	code, b, err := f.Do("POST", "/system/functions", d)
	if err != nil || code/100 != 2 {
		t.Fatalf("deploy %v: %d %s %v", d["service"], code, b, err)
	}
}

// httpFn is a deployment of the Go http-mode test function.
// deployCat deploys a fork-mode `cat` function and waits for its replica.
func deployCat(t testing.TB, f *harness.Ferry, name string) {
	t.Helper()
	deploy(t, f, map[string]any{"service": name, "image": "cat", "envProcess": "cat"})
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	if err := f.WaitReady(ctx, name, ns, 1); err != nil {
		t.Fatal(err)
	}
}

// invokeN calls name n times, each of which must answer 200.
func invokeN(t testing.TB, f *harness.Ferry, name string, n int) {
	t.Helper()
	for i := 0; i < n; i++ {
		if c, _, b := invoke(t, f, "POST", name, "x", nil); c != 200 {
			t.Fatalf("invoke %s: %d %s", name, c, b)
		}
	}
}

func httpFn(t testing.TB, name string, extra map[string]any) map[string]any {
	d := map[string]any{
		"service": name, "image": "e2e/httpfn",
		"envProcess": filepath.Join(testFunctions(t), "httpfn"),
		"envVars":    map[string]string{"mode": "http"},
	}
	for k, v := range extra {
		d[k] = v
	}
	return d
}

// artifact builds a gzip'd tar from name→content and uploads it, returning
// its digest.
func artifact(t testing.TB, f *harness.Ferry, files map[string]string) string {
	t.Helper()
	var buf bytes.Buffer
	gz := gzip.NewWriter(&buf)
	tw := tar.NewWriter(gz)
	for name, content := range files {
		tw.WriteHeader(&tar.Header{Name: name, Mode: 0o755, Size: int64(len(content)), Typeflag: tar.TypeReg})
		tw.Write([]byte(content))
	}
	tw.Close()
	gz.Close()
	code, b, err := f.Do("POST", "/system/artifacts", buf.Bytes())
	if err != nil || code/100 != 2 {
		t.Fatalf("upload artifact: %d %s %v", code, b, err)
	}
	var out struct{ Digest string }
	if err := json.Unmarshal(b, &out); err != nil || out.Digest == "" {
		t.Fatalf("artifact answer %s: %v", b, err)
	}
	return out.Digest
}

// invoke sends a request to /function/PATH and returns status, headers and body.
func invoke(t testing.TB, f *harness.Ferry, method, path, body string, hdr map[string]string) (int, http.Header, string) {
	t.Helper()
	req, _ := http.NewRequest(method, f.URL+"/function/"+path, bytes.NewBufferString(body))
	for k, v := range hdr {
		req.Header.Set(k, v)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatalf("invoke %s: %v", path, err)
	}
	defer resp.Body.Close()
	var b bytes.Buffer
	b.ReadFrom(resp.Body)
	return resp.StatusCode, resp.Header, b.String()
}

// secretFiles finds every on-disk copy of the api-key secret under the data
// dir, whatever layout the provider uses, so isolation can be checked by path.
func secretFiles(t testing.TB, dataDir string) []string {
	var out []string
	filepath.Walk(dataDir, func(p string, fi os.FileInfo, err error) error {
		if err == nil && !fi.IsDir() && fi.Name() == "api-key" {
			out = append(out, p)
		}
		return nil
	})
	if len(out) == 0 {
		t.Logf("no on-disk copy of the secret found under %s", dataDir)
	}
	return out
}
