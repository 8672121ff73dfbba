package e2e

import (
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/ferryfaas/ferry/builder"
	"github.com/ferryfaas/ferry/templates"
	"github.com/ferryfaas/ferry/test/harness"
)

// templateCase is one shipped template as a user meets it: `ferry new`
// writes the handler, patch adds a line that prints marker on stderr (the
// default handlers log nothing) without changing the reply.
type templateCase struct {
	lang  string
	patch func(t *testing.T, dir, stackFile, marker string)
	// want is the reply to body; default templates.ExpectedReply.
	want func(body string) string
	// skip, when set, is why this machine cannot build the template ("" = it can).
	skip func() string
}

var templateCases = []templateCase{
	{lang: "python3-http", patch: func(t *testing.T, dir, _, m string) {
		p := filepath.Join(dir, "handler.py")
		edit(t, p, "def handle(event, context):\n",
			"import sys\n\n\ndef handle(event, context):\n    print("+strconv.Quote(m)+", file=sys.stderr, flush=True)\n")
		// The body's length comes back in a header, so that the chunked
		// case below can tell the shim read the whole body.
		edit(t, p, `"headers": {"Content-Type": "text/plain"}`,
			`"headers": {"Content-Type": "text/plain", "X-Body-Length": str(len(event.body))}`)
	}},
	{lang: "python3", patch: func(t *testing.T, dir, _, m string) {
		edit(t, filepath.Join(dir, "handler.py"), "def handle(req):\n",
			"import sys\n\n\ndef handle(req):\n    print("+strconv.Quote(m)+", file=sys.stderr, flush=True)\n")
	}},
	{lang: "node", patch: func(t *testing.T, dir, _, m string) {
		edit(t, filepath.Join(dir, "handler.js"), "module.exports = async (event, context) => {\n",
			"module.exports = async (event, context) => {\n  console.error("+strconv.Quote(m)+")\n")
	}},
	{lang: "golang-http", patch: func(t *testing.T, dir, _, m string) {
		p := filepath.Join(dir, "handler.go")
		edit(t, p, "\"net/http\"\n)", "\"net/http\"\n\t\"os\"\n)")
		edit(t, p, "func Handle(w http.ResponseWriter, r *http.Request) {\n",
			"func Handle(w http.ResponseWriter, r *http.Request) {\n\tfmt.Fprintln(os.Stderr, "+strconv.Quote(m)+")\n")
	}},
	{lang: "go", patch: patchGoHandler},
	{lang: "go-wasm", patch: patchGoHandler},
	{lang: "rust-wasm", patch: func(t *testing.T, dir, _, m string) {
		edit(t, filepath.Join(dir, "src", "lib.rs"), "pub fn handle(req: &[u8]) -> String {\n",
			"pub fn handle(req: &[u8]) -> String {\n    eprintln!("+strconv.Quote(m)+");\n")
	}, skip: func() string {
		if _, err := builder.FindRustWasm(); err != nil {
			return err.Error() + " (scripts/install-deps.sh installs Debian's)"
		}
		return ""
	}},
	{lang: "bash", patch: func(t *testing.T, dir, _, m string) {
		edit(t, filepath.Join(dir, "handler.sh"), "input=$(cat)\n", "input=$(cat)\necho '"+m+"' >&2\n")
	}},
	// dockerfile: the user brings the handler and names it with fprocess.
	{lang: "dockerfile", patch: func(t *testing.T, dir, stackFile, m string) {
		script := "#!/bin/sh\necho '" + m + "' >&2\nprintf 'dockerfile handler got: %s' \"$(cat)\"\n"
		if err := os.WriteFile(filepath.Join(dir, "handler.sh"), []byte(script), 0o755); err != nil {
			t.Fatal(err)
		}
		raw, err := os.ReadFile(stackFile)
		if err != nil {
			t.Fatal(err)
		}
		if !strings.HasSuffix(string(raw), "image: fn-dockerfile:latest\n") {
			t.Fatalf("ferry new wrote an unexpected stack file (want the function entry last):\n%s", raw)
		}
		os.WriteFile(stackFile, append(raw, "    fprocess: sh handler.sh\n"...), 0o644)
	}, want: func(body string) string { return "dockerfile handler got: " + body }},
}

// patchGoHandler prints the marker in the go and go-wasm handlers.
func patchGoHandler(t *testing.T, dir, _, m string) {
	p := filepath.Join(dir, "handler.go")
	edit(t, p, "import \"fmt\"\n", "import (\n\t\"fmt\"\n\t\"os\"\n)\n")
	edit(t, p, "func Handle(req []byte) string {\n",
		"func Handle(req []byte) string {\n\tfmt.Fprintln(os.Stderr, "+strconv.Quote(m)+")\n")
}

// TestTemplates takes every shipped template through what a user does:
// ferry new, ferry up, ferry invoke, ferry logs, ferry remove, against one
// running `ferry serve`, with the real binary.
func TestTemplates(t *testing.T) {
	f := harness.T(t, harness.Options{})
	c := newCLI(t, f, true)
	work := t.TempDir()
	var timings []string
	for _, tc := range templateCases {
		t.Run(tc.lang, func(t *testing.T) {
			if tc.skip != nil {
				if why := tc.skip(); why != "" {
					t.Skip(why)
				}
			}
			c := *c
			c.t = t
			start := time.Now()
			name := "fn-" + tc.lang
			dir := filepath.Join(work, tc.lang)
			os.Mkdir(dir, 0o755)
			t.Cleanup(func() { // keep the shared server clean for the next template
				if t.Failed() {
					f.Do("DELETE", "/system/functions", map[string]string{"functionName": name})
				}
			})

			// faas-cli's old layout: the stack file named after the function,
			// used from another folder (handler paths are relative to it).
			c.ok(dir, "", "new", name, "--lang", tc.lang, "--quiet")
			stackFile := filepath.Join(dir, name+".yml")
			if err := os.Rename(filepath.Join(dir, "stack.yml"), stackFile); err != nil {
				t.Fatalf("ferry new wrote no stack.yml: %v", err)
			}
			marker := "ferry-e2e-marker-" + tc.lang
			tc.patch(t, filepath.Join(dir, name), stackFile, marker)

			up := c.run(work, "", nil, "up", "-f", stackFile)
			if up.Code != 0 || !strings.Contains(up.Stdout, "Deployed "+name) {
				t.Fatalf("ferry up: exit %d\nstdout: %s\nstderr: %s", up.Code, up.Stdout, up.Stderr)
			}
			waitReplica(t, f, name)
			ready := time.Since(start)

			body := "hello " + tc.lang
			want := templates.ExpectedReply(tc.lang, body)
			if tc.want != nil {
				want = tc.want(body)
			}
			got := c.ok(work, body, "invoke", name)
			if strings.TrimRight(got, " \t\r\n") != want {
				t.Fatalf("ferry invoke %s = %q, want %q", name, got, want)
			}
			if tc.lang == "python3-http" {
				chunkedBodies(t, f, name, tc.lang)
			}

			eventually(t, 20*time.Second, "ferry logs "+name+" shows "+marker, func() string {
				r := c.run(work, "", nil, "logs", name)
				if r.Code != 0 {
					return "exit " + strconv.Itoa(r.Code) + ": " + r.Stderr
				}
				if !strings.Contains(r.Stdout, marker) {
					return "logs so far:\n" + r.Stdout
				}
				return ""
			})

			c.ok(work, "", "remove", name)
			eventually(t, 20*time.Second, "GET /system/function/"+name+" is 404", func() string {
				code, b, err := f.Do("GET", "/system/function/"+name, nil)
				if err != nil || code != http.StatusNotFound {
					return strconv.Itoa(code) + " " + string(b)
				}
				return ""
			})
			if names := listNames(t, &c, work); names[name] {
				t.Errorf("ferry list still shows %s after ferry remove", name)
			}
			timings = append(timings, tc.lang+": ready "+ready.Round(time.Millisecond).String()+
				", all "+time.Since(start).Round(time.Millisecond).String())
		})
	}
	t.Logf("timings (new+up to ready, whole flow):\n  %s", strings.Join(timings, "\n  "))
}

// waitReplica waits up to 30 s for a ready replica, failing at once with
// the provider's reason when the function is crash-looping.
func waitReplica(t *testing.T, f *harness.Ferry, name string) {
	t.Helper()
	eventually(t, 30*time.Second, name+" has a ready replica", func() string {
		code, b, err := f.Do("GET", "/system/function/"+name, nil)
		if err != nil || code != http.StatusOK {
			return fmt.Sprintf("GET /system/function/%s: %d %s %v", name, code, b, err)
		}
		var st struct {
			AvailableReplicas int `json:"availableReplicas"`
			Conditions        []struct{ Reason, Message string }
		}
		json.Unmarshal(b, &st)
		if st.AvailableReplicas > 0 {
			return ""
		}
		for _, c := range st.Conditions {
			if c.Reason == "CrashLoop" {
				t.Fatalf("%s is crash-looping: %s", name, c.Message)
			}
		}
		return string(b)
	})
}

// chunkedBodies sends bodies of unknown length (Transfer-Encoding:
// chunked, as curl -T - does) and then a sized one on the same client: the
// shim must read each body whole, or the next request on its connection
// breaks.
func chunkedBodies(t *testing.T, f *harness.Ferry, name, lang string) {
	t.Helper()
	client := &http.Client{Timeout: 10 * time.Second}
	for i, parts := range [][]string{{"chunk-one;", "chunk-two"}, {"x"}, {strings.Repeat("big", 30000), "-end"}, nil} {
		var body io.Reader
		total := 0
		for _, p := range parts {
			total += len(p)
		}
		if parts != nil {
			readers := make([]io.Reader, len(parts))
			for j, p := range parts {
				readers[j] = strings.NewReader(p)
			}
			body = io.MultiReader(readers...)
		} else {
			body = strings.NewReader("sized body")
			total = len("sized body")
		}
		req, _ := http.NewRequest("POST", f.URL+"/function/"+name, body)
		if parts != nil {
			req.ContentLength = -1 // unknown: Go sends it chunked
		}
		resp, err := client.Do(req)
		if err != nil {
			t.Fatalf("request %d (chunked %v): %v", i, parts != nil, err)
		}
		b, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		sent := "sized body"
		if parts != nil {
			sent = strings.Join(parts, "")
		}
		if want := templates.ExpectedReply(lang, sent); resp.StatusCode != 200 || strings.TrimSpace(string(b)) != want {
			t.Fatalf("request %d (chunked %v): %d %q, want 200 %q", i, parts != nil, resp.StatusCode, b, want)
		}
		if got := resp.Header.Get("X-Body-Length"); got != strconv.Itoa(total) {
			t.Errorf("request %d (chunked %v): the function read %s bytes of %d", i, parts != nil, got, total)
		}
	}
}

// listNames is the set of function names `ferry list --output json` shows.
func listNames(t *testing.T, c *cliUser, dir string) map[string]bool {
	t.Helper()
	out := c.ok(dir, "", "list", "--output", "json")
	var fns []struct{ Name string }
	if err := json.Unmarshal([]byte(out), &fns); err != nil {
		t.Fatalf("ferry list --output json: %v\n%s", err, out)
	}
	names := map[string]bool{}
	for _, fn := range fns {
		names[fn.Name] = true
	}
	return names
}

// edit replaces the first old in file p with new, failing the test when
// the generated handler no longer has old (the template changed).
func edit(t *testing.T, p, old, new string) {
	t.Helper()
	raw, err := os.ReadFile(p)
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(string(raw), old) {
		t.Fatalf("%s has no %q: update the patch in templates_test.go", p, old)
	}
	if err := os.WriteFile(p, []byte(strings.Replace(string(raw), old, new, 1)), 0o644); err != nil {
		t.Fatal(err)
	}
}
