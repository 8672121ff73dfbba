package templates

import (
	"fmt"
	"io"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/ferryfaas/ferry/internal/ports"
	"github.com/ferryfaas/ferry/test/harness"
)

// TestHTTPShimsReportHandlerErrors runs the python3-http and node shims
// themselves with a handler that throws on "boom" and answers an object
// otherwise: the caller gets a 500 naming the error, the function's logs
// (its stderr) get the traceback that `ferry logs` then shows, and an
// object body goes out as JSON with its content type, as in OpenFaaS's
// templates.
func TestHTTPShimsReportHandlerErrors(t *testing.T) {
	cases := []struct {
		lang, bin, shim, handlerFile, handler, trace string
	}{
		{"python3-http", "python3", "index.py", "handler.py",
			"def handle(event, context):\n" +
				"    if event.body == b\"boom\":\n" +
				"        raise ValueError(\"the handler broke\")\n" +
				"    return {\"statusCode\": 201, \"body\": {\"got\": event.body.decode()}}\n",
			"Traceback (most recent call last)"},
		{"node", "node", "index.js", "handler.js",
			"module.exports = async (event, context) => {\n" +
				"  if (event.body === 'boom') throw new Error('the handler broke')\n" +
				"  return context.status(201).succeed({ got: event.body })\n" +
				"}\n",
			"at module.exports"},
	}
	for _, tc := range cases {
		t.Run(tc.lang, func(t *testing.T) {
			if _, err := exec.LookPath(tc.bin); err != nil {
				t.Skipf("%s is not installed (scripts/install-deps.sh installs it)", tc.bin)
			}
			dir := t.TempDir()
			src, err := os.ReadFile(filepath.Join("_template", tc.lang, tc.shim))
			if err != nil {
				t.Fatal(err)
			}
			os.Mkdir(filepath.Join(dir, "function"), 0o755)
			os.WriteFile(filepath.Join(dir, tc.shim), src, 0o644)
			os.WriteFile(filepath.Join(dir, "function", tc.handlerFile), []byte(tc.handler), 0o644)
			port, err := ports.Free()
			if err != nil {
				t.Fatal(err)
			}
			logs := &harness.LockedBuffer{}
			cmd := exec.Command(tc.bin, tc.shim)
			cmd.Dir, cmd.Stdout, cmd.Stderr = dir, logs, logs
			cmd.Env = append(os.Environ(), fmt.Sprintf("upstream_port=%d", port))
			if err := cmd.Start(); err != nil {
				t.Fatal(err)
			}
			t.Cleanup(func() { cmd.Process.Kill(); cmd.Wait() })
			url := fmt.Sprintf("http://127.0.0.1:%d/", port)

			code, hdr, body := post(t, url, "boom", logs)
			if code != 500 || !strings.Contains(body, "the handler broke") {
				t.Errorf("a throwing handler: %d %q, want 500 naming the error", code, body)
			}
			deadline := time.Now().Add(5 * time.Second)
			// The trace is written in pieces: wait for its first and last parts.
			for s := logs.String(); !(strings.Contains(s, tc.trace) && strings.Contains(s, "the handler broke")) && time.Now().Before(deadline); s = logs.String() {
				time.Sleep(10 * time.Millisecond)
			}
			if s := logs.String(); !strings.Contains(s, tc.trace) || !strings.Contains(s, "the handler broke") {
				t.Errorf("the function's stderr has no trace of the error:\n%s", s)
			}

			code, hdr, body = post(t, url, "x", logs)
			if code != 201 || strings.TrimSpace(body) != `{"got": "x"}` && body != `{"got":"x"}` ||
				hdr.Get("Content-Type") != "application/json" {
				t.Errorf("an object body: %d %q Content-Type %q, want 201, JSON, application/json",
					code, body, hdr.Get("Content-Type"))
			}
		})
	}
}

// post sends body to url, retrying while the shim starts.
func post(t *testing.T, url, body string, logs *harness.LockedBuffer) (int, http.Header, string) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for {
		resp, err := http.Post(url, "text/plain", strings.NewReader(body))
		if err == nil {
			b, _ := io.ReadAll(resp.Body)
			resp.Body.Close()
			return resp.StatusCode, resp.Header, string(b)
		}
		if time.Now().After(deadline) {
			t.Fatalf("the shim did not answer within 10s: %v\nlogs:\n%s", err, logs)
		}
		time.Sleep(20 * time.Millisecond)
	}
}
