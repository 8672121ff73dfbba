package e2e

import (
	"encoding/json"
	"fmt"
	"net/http"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/ferryfaas/ferry/test/harness"
)

// oneErrorLine fails unless r is a failure that printed exactly one line,
// "Error: ...", on stderr, containing every hint.
func oneErrorLine(t *testing.T, what string, r cliResult, hints ...string) {
	t.Helper()
	line := strings.TrimSuffix(r.Stderr, "\n")
	switch {
	case r.Code == 0:
		t.Errorf("%s: exit 0, want non-zero (stdout %q, stderr %q)", what, r.Stdout, r.Stderr)
	case line == "" || strings.Contains(line, "\n"):
		t.Errorf("%s: stderr is not one line:\n%s", what, r.Stderr)
	case !strings.HasPrefix(line, "Error: "):
		t.Errorf("%s: stderr %q does not start with \"Error: \"", what, line)
	}
	for _, h := range hints {
		if !strings.Contains(line, h) {
			t.Errorf("%s: stderr %q does not mention %q", what, line, h)
		}
	}
}

// TestCLIBadInput runs the real binary on the mistakes users make: each
// must exit non-zero with one clear line on stderr, and deploy nothing.
func TestCLIBadInput(t *testing.T) {
	f := harness.T(t, harness.Options{})
	c := newCLI(t, f, true)
	dir := t.TempDir()
	write := func(name, content string) string {
		p := filepath.Join(dir, name)
		if err := os.WriteFile(p, []byte(content), 0o644); err != nil {
			t.Fatal(err)
		}
		return p
	}
	stack := func(fn, lang, handler string) string {
		return "version: 1.0\nprovider:\n  name: openfaas\nfunctions:\n  " + fn + ":\n    lang: " + lang +
			"\n    handler: " + handler + "\n    image: " + fn + ":latest\n"
	}
	os.Mkdir(filepath.Join(dir, "good"), 0o755)
	write("good/handler.sh", "cat\n")
	good := write("good.yml", stack("good", "bash", "./good"))
	missing := write("missing.yml", stack("nohandler", "python3", "./does-not-exist"))
	os.Mkdir(filepath.Join(dir, "cob"), 0o755)
	unknown := write("unknown.yml", stack("cob", "cobol", "./cob"))
	// Line 7 is indented by 3 spaces: a YAML syntax error.
	broken := write("broken.yml", "version: 1.0\nprovider:\n  name: openfaas\nfunctions:\n  b:\n    lang: bash\n   handler: ./b\n")
	badType := write("badtype.yml", "version: 1.0\nfunctions:\n  b:\n    lang: bash\n    handler: [1, 2]\n")

	cases := []struct {
		name  string
		env   []string
		args  []string
		stdin string
		hints []string
	}{
		{"missing handler folder", nil, []string{"up", "-f", missing}, "",
			[]string{"does-not-exist", "not found"}},
		{"unknown lang (new)", nil, []string{"new", "fn-cobol", "--lang", "cobol"}, "",
			[]string{`unknown lang "cobol"`, "python3-http"}},
		{"unknown lang (up)", nil, []string{"up", "-f", unknown}, "",
			[]string{`unknown lang "cobol"`}},
		{"unreachable gateway", nil, []string{"list", "--gateway", "http://127.0.0.1:1"}, "",
			[]string{"cannot reach gateway", "127.0.0.1:1"}},
		{"unreachable gateway (FERRY_URL, up)", []string{"FERRY_URL=http://127.0.0.1:1"}, []string{"up", "-f", good}, "",
			[]string{"cannot reach gateway", "FERRY_URL"}},
		{"malformed gateway URL", nil, []string{"list", "--gateway", "http://[::1"}, "",
			[]string{"not valid", "--gateway"}},
		{"gateway URL with a wrong scheme", nil, []string{"describe", "good", "--gateway", "ftp://example"}, "",
			[]string{"not valid", "http://"}},
		{"wrong credentials", []string{"FERRY_PASSWORD=wrong"}, []string{"list"}, "",
			[]string{"authentication failed", "ferry login"}},
		{"wrong credentials (up)", []string{"FERRY_PASSWORD=wrong"}, []string{"up", "-f", good}, "",
			[]string{"authentication failed"}},
		{"wrong password at login", nil, []string{"login", "--password-stdin"}, "wrong\n",
			[]string{"rejected", "password"}},
		{"broken YAML", nil, []string{"up", "-f", broken}, "",
			[]string{"broken.yml:7"}},
		{"wrong type in YAML", nil, []string{"deploy", "-f", badType}, "",
			[]string{"badtype.yml:5", "handler"}},
		{"no stack file", nil, []string{"up", "-f", filepath.Join(dir, "nope.yml")}, "",
			[]string{"nope.yml", "ferry new"}},
		{"unknown function", nil, []string{"describe", "no-such-fn"}, "",
			[]string{"no-such-fn", "ferry list"}},
	}
	for _, tc := range cases {
		r := c.run(dir, tc.stdin, tc.env, tc.args...)
		oneErrorLine(t, tc.name+" (ferry "+strings.Join(tc.args, " ")+")", r, tc.hints...)
	}
	if names := listNames(t, c, dir); len(names) != 0 {
		t.Errorf("bad input deployed functions: %v", names)
	}
	if _, err := os.Stat(filepath.Join(dir, "fn-cobol")); err == nil {
		t.Errorf("ferry new --lang cobol left a fn-cobol folder")
	}
}

// TestCLIFlow drives the day-to-day commands of the real binary against a
// running server, logged in with `ferry login` (no FERRY_PASSWORD).
func TestCLIFlow(t *testing.T) {
	f := harness.T(t, harness.Options{})
	c := newCLI(t, f, false)
	dir := t.TempDir()

	// Not logged in: one clear line.
	oneErrorLine(t, "list before login", c.run(dir, "", nil, "list"), "authentication failed")

	out := c.ok(dir, f.Password+"\n", "login", "--password-stdin")
	if !strings.Contains(out, f.URL) {
		t.Errorf("login: %q does not name the gateway", out)
	}
	cfg := filepath.Join(c.Config, "config.yml")
	for p, want := range map[string]os.FileMode{cfg: 0o600, c.Config: 0o700} {
		fi, err := os.Stat(p)
		if err != nil {
			t.Fatalf("login stored no credentials: %v", err)
		}
		if fi.Mode().Perm() != want {
			t.Errorf("%s: mode %v, want %v", p, fi.Mode().Perm(), want)
		}
	}
	raw, _ := os.ReadFile(cfg)
	if strings.Contains(string(raw), f.Password) {
		t.Errorf("config.yml holds the password in clear text:\n%s", raw)
	}

	const fn = "cli-echo"
	c.ok(dir, "", "deploy", "--name", fn, "--image", "e2e/cat", "--fprocess", "cat", "--label", "team=e2e")
	ctx := t.Context()
	if err := f.WaitReady(ctx, fn, "openfaas-fn", 1); err != nil {
		t.Fatal(err)
	}
	if got := c.ok(dir, "ping", "invoke", fn); got != "ping" {
		t.Errorf("invoke = %q, want ping", got)
	}

	// list: table (header + row) and JSON.
	table := c.ok(dir, "", "list")
	if !regexp.MustCompile(`(?m)^NAME\s+STATUS\s+INVOCATIONS\s+REPLICAS`).MatchString(table) ||
		!regexp.MustCompile(`(?m)^`+fn+`\s+Ready\s+\d+\s+1\s*$`).MatchString(table) {
		t.Errorf("ferry list table:\n%s", table)
	}
	if v := c.ok(dir, "", "list", "-v"); !strings.Contains(v, "e2e/cat") || !strings.Contains(v, "openfaas-fn") {
		t.Errorf("ferry list -v lacks image or namespace:\n%s", v)
	}
	var listed []struct {
		Name       string            `json:"name"`
		Image      string            `json:"image"`
		EnvProcess string            `json:"envProcess"`
		Labels     map[string]string `json:"labels"`
		Replicas   uint64            `json:"replicas"`
	}
	js := c.ok(dir, "", "list", "--output", "json")
	if err := json.Unmarshal([]byte(js), &listed); err != nil || len(listed) != 1 ||
		listed[0].Name != fn || listed[0].EnvProcess != "cat" || listed[0].Labels["team"] != "e2e" {
		t.Errorf("ferry list --output json (%v):\n%s", err, js)
	}

	desc := c.ok(dir, "", "describe", fn)
	for _, want := range []string{fn, "openfaas-fn", "e2e/cat", "cat", f.URL + "/function/" + fn} {
		if !strings.Contains(desc, want) {
			t.Errorf("describe lacks %q:\n%s", want, desc)
		}
	}

	// scale: describe reports 2 of 2 once the second replica is up.
	c.ok(dir, "", "scale", fn, "--replicas", "2")
	twoOfTwo := regexp.MustCompile(`Replicas:\s+2 desired, 2 ready, 2 available`)
	eventually(t, 30*time.Second, "describe shows 2/2 replicas", func() string {
		d := c.ok(dir, "", "describe", fn)
		if !twoOfTwo.MatchString(d) {
			return d
		}
		return ""
	})

	// secrets: values never shown.
	const value = "s3cr3t-VALUE-e2e"
	c.ok(dir, "", "secret", "create", "api-key", "--from-literal", value)
	for _, args := range [][]string{{"secret", "list"}, {"secret", "list", "--output", "json"}} {
		out := c.ok(dir, "", args...)
		if !strings.Contains(out, "api-key") || strings.Contains(out, value) {
			t.Errorf("ferry %s: want the name and no value:\n%s", strings.Join(args, " "), out)
		}
	}
	c.ok(dir, "", "secret", "remove", "api-key")
	if out := c.ok(dir, "", "secret", "list"); strings.Contains(out, "api-key") {
		t.Errorf("secret still listed after remove:\n%s", out)
	}

	// namespaces.
	c.ok(dir, "", "namespace", "create", "team-e2e")
	if out := c.ok(dir, "", "namespace", "list"); !strings.Contains(out, "team-e2e") || !strings.Contains(out, "openfaas-fn") {
		t.Errorf("namespace list:\n%s", out)
	}
	c.ok(dir, "", "namespace", "remove", "team-e2e")
	if out := c.ok(dir, "", "namespace", "list"); strings.Contains(out, "team-e2e") {
		t.Errorf("namespace still listed after remove:\n%s", out)
	}

	// invoke --async: accepted with a call id, and the call then runs.
	before := invocations(t, f, fn)
	r := c.run(dir, "later", nil, "invoke", fn, "--async")
	m := regexp.MustCompile(`X-Call-Id (\S+)`).FindStringSubmatch(r.Stdout + r.Stderr)
	if r.Code != 0 || m == nil {
		t.Errorf("invoke --async: exit %d, no call id (stdout %q, stderr %q)", r.Code, r.Stdout, r.Stderr)
	}
	eventually(t, 20*time.Second, "the async call runs", func() string {
		if n := invocations(t, f, fn); n <= before {
			return fmt.Sprintf("invocationCount still %v", n)
		}
		return ""
	})

	// logs: both replicas announced themselves; --tail 1 gives one line.
	all := nonEmptyLines(c.ok(dir, "", "logs", fn))
	if len(all) < 2 {
		t.Errorf("ferry logs: want the 2 replicas' lines, got:\n%s", strings.Join(all, "\n"))
	}
	if tail := nonEmptyLines(c.ok(dir, "", "logs", fn, "--tail", "1")); len(tail) != 1 || !strings.Contains(tail[0], fn) {
		t.Errorf("ferry logs --tail 1: %q", tail)
	}

	ver := c.ok(dir, "", "version")
	if !regexp.MustCompile(`(?s)Client:.*version.*Server:.*version.*provider`).MatchString(ver) {
		t.Errorf("ferry version lacks client and server parts:\n%s", ver)
	}

	c.ok(dir, "", "remove", fn)
	if code, b, _ := f.Do("GET", "/system/function/"+fn, nil); code != http.StatusNotFound {
		t.Errorf("after remove: GET /system/function/%s = %d %s", fn, code, b)
	}

	c.ok(dir, "", "logout")
	raw, _ = os.ReadFile(cfg)
	if strings.Contains(string(raw), f.URL) {
		t.Errorf("logout left the gateway in config.yml:\n%s", raw)
	}
	oneErrorLine(t, "list after logout", c.run(dir, "", nil, "list"), "authentication failed")
}

// invocations is the function's invocationCount.
func invocations(t *testing.T, f *harness.Ferry, name string) float64 {
	t.Helper()
	code, b, err := f.Do("GET", "/system/function/"+name, nil)
	if err != nil || code != 200 {
		t.Fatalf("GET /system/function/%s: %d %s %v", name, code, b, err)
	}
	var st struct {
		InvocationCount float64 `json:"invocationCount"`
	}
	json.Unmarshal(b, &st)
	return st.InvocationCount
}

func nonEmptyLines(s string) []string {
	var out []string
	for _, l := range strings.Split(s, "\n") {
		if strings.TrimSpace(l) != "" {
			out = append(out, l)
		}
	}
	return out
}
