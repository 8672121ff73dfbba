package cli

import (
	"context"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/ferryfaas/ferry/api"
	"github.com/ferryfaas/ferry/client/clienttest"
)

// TestFunctionLifecycle drives deploy, list, describe, invoke, logs, scale
// and remove against a real gateway, with credentials found in the local
// data dir (no login).
func TestFunctionLifecycle(t *testing.T) {
	gw := localGateway(t)
	p := gw.Provider
	ctx := context.Background()

	r := runCLI(t, "", "deploy", "--name", "echo", "--image", "acme/echo:1", "--env", "A=1",
		"--label", "team=x", "--annotation", "note=y", "--secret", "s1", "--memory-limit", "64Mi", "--fprocess", "cat").must(t)
	if !strings.Contains(r.stdout, "Deployed echo: "+gw.URL+"/function/echo") {
		t.Errorf("deploy output: %q", r.stdout)
	}
	st, err := p.Get(ctx, api.DefaultNamespace, "echo")
	if err != nil || st.EnvVars["A"] != "1" || st.Labels["team"] != "x" || st.Annotations["note"] != "y" ||
		st.Limits.Memory != "64Mi" || st.EnvProcess != "cat" || st.Secrets[0] != "s1" {
		t.Fatalf("deployed %+v, %v", st, err)
	}
	r = runCLI(t, "", "deploy", "--name", "echo", "--image", "acme/echo:2").must(t)
	if !strings.HasPrefix(r.stdout, "Updated echo") {
		t.Errorf("redeploy output: %q", r.stdout)
	}

	r = runCLI(t, "", "list").must(t)
	if !strings.Contains(r.stdout, "NAME") || !strings.Contains(r.stdout, "echo") {
		t.Errorf("list: %q", r.stdout)
	}
	r = runCLI(t, "", "list", "-v").must(t)
	if !strings.Contains(r.stdout, "acme/echo:2") || !strings.Contains(r.stdout, "AVAILABLE") {
		t.Errorf("list -v: %q", r.stdout)
	}
	r = runCLI(t, "", "list", "-o", "json").must(t)
	var fns []api.FunctionStatus
	if err := json.Unmarshal([]byte(r.stdout), &fns); err != nil || len(fns) != 1 || fns[0].Image != "acme/echo:2" {
		t.Errorf("list -o json: %v %q", err, r.stdout)
	}
	runCLI(t, "", "list", "-o", "yaml").fails(t, `--output "yaml" is not supported`)

	r = runCLI(t, "", "describe", "echo").must(t)
	for _, want := range []string{"Status:", "Ready", "1 desired, 1 ready, 1 available", "URL:", gw.URL + "/function/echo"} {
		if !strings.Contains(r.stdout, want) {
			t.Errorf("describe lacks %q:\n%s", want, r.stdout)
		}
	}
	runCLI(t, "", "describe", "nope").fails(t, "gateway answered 404")

	r = runCLI(t, "hello", "invoke", "echo", "-v").must(t)
	if r.stdout != "hello" {
		t.Errorf("invoke body %q", r.stdout)
	}
	// The body goes with a Content-Length, not chunked (as faas-cli sends it).
	if !strings.Contains(r.stderr, "X-Echo-Content-Length: 5") {
		t.Errorf("invoke did not send Content-Length: %s", r.stderr)
	}
	r = runCLI(t, "", "invoke", "echo", "--method", "get", "--query", "a=1", "--query", "b=2", "-H", "X-T=1", "-v", "--path", "/x/y").must(t)
	if !strings.Contains(r.stderr, "X-Echo-Method: GET") || !strings.Contains(r.stderr, "X-Echo-Query: a=1&b=2") || !strings.Contains(r.stderr, "X-Echo-Path: /x/y") {
		t.Errorf("invoke -v stderr: %s", r.stderr)
	}
	r = runCLI(t, "x", "invoke", "echo", "--path", "fail")
	r.fails(t, "function echo answered 500 Internal Server Error: see `ferry logs echo`")
	if r.stdout != "boom\n" {
		t.Errorf("failed invoke still prints the body, got %q", r.stdout)
	}
	runCLI(t, "x", "invoke", "missing").fails(t, "answered 404: function missing not found in namespace openfaas-fn: see `ferry list`")
	runCLI(t, "x", "invoke", "echo", "-H", "novalue").fails(t, "use NAME=VALUE")

	r = runCLI(t, "", "logs", "echo", "--tail", "2").must(t)
	if n := strings.Count(r.stdout, "\n"); n != 2 || !strings.Contains(r.stdout, "echo (1) POST /fail") {
		t.Errorf("logs --tail 2 (%d lines): %q", n, r.stdout)
	}
	r = runCLI(t, "", "logs", "echo", "--since", "1h", "-o", "json").must(t)
	if lines := strings.Split(strings.TrimSpace(r.stdout), "\n"); len(lines) != 3 || !strings.HasPrefix(lines[0], "{") || !strings.HasSuffix(lines[0], "}") {
		t.Errorf("logs -o json must be one object per line: %q", r.stdout)
	}
	r = runCLI(t, "", "logs", "echo", "--grep", "/fail").must(t)
	if n := strings.Count(r.stdout, "\n"); n != 1 || !strings.Contains(r.stdout, "POST /fail") {
		t.Errorf("logs --grep /fail (%d lines): %q", n, r.stdout)
	}
	runCLI(t, "", "logs", "echo", "--grep", "(").fails(t, "is not a regular expression")
	runCLI(t, "", "logs", "echo", "--since", "yesterday").fails(t, "--since \"yesterday\": use a duration")

	runCLI(t, "", "scale", "echo", "--replicas", "3").must(t)
	if st, _ := p.Get(ctx, api.DefaultNamespace, "echo"); st.Replicas != 3 {
		t.Errorf("replicas = %d", st.Replicas)
	}
	runCLI(t, "", "scale", "echo").fails(t, "--replicas is required")

	runCLI(t, "", "remove", "echo").must(t)
	if _, err := p.Get(ctx, api.DefaultNamespace, "echo"); !api.IsNotFound(err) {
		t.Errorf("still there after remove: %v", err)
	}
	runCLI(t, "", "remove", "echo").fails(t, "404")
}

func TestSecretsAndNamespaces(t *testing.T) {
	gw := localGateway(t)
	p := gw.Provider
	ns := api.DefaultNamespace

	runCLI(t, "", "secret", "create", "api-key", "--from-literal", "v1").must(t)
	if v, _ := p.SecretValue(ns, "api-key"); v != "v1" {
		t.Errorf("literal secret = %q", v)
	}
	runCLI(t, "", "secret", "create", "api-key", "--from-literal", "v1").fails(t, "use `ferry secret update api-key`")
	runCLI(t, "piped\n", "secret", "update", "api-key").must(t)
	if v, _ := p.SecretValue(ns, "api-key"); v != "piped" {
		t.Errorf("stdin secret = %q", v)
	}
	f := writeFile(t, filepath.Join(t.TempDir(), "cert.bin"), "\x00\x01binary")
	runCLI(t, "", "secret", "create", "cert", "--from-file", f).must(t)
	if v, _ := p.SecretValue(ns, "cert"); v != "\x00\x01binary" {
		t.Errorf("file secret = %q", v)
	}
	r := runCLI(t, "", "secret", "list").must(t)
	if !strings.Contains(r.stdout, "api-key") || !strings.Contains(r.stdout, "cert") || strings.Contains(r.stdout, "piped") {
		t.Errorf("secret list: %q", r.stdout)
	}
	runCLI(t, "", "secret", "create", "Bad_Name", "--from-literal", "x").fails(t, "RFC 1123")
	runCLI(t, "", "secret", "create", "empty").fails(t, "the secret value is empty")
	runCLI(t, "", "secret", "remove", "api-key", "cert").must(t)
	runCLI(t, "", "secret", "remove", "api-key").fails(t, "404")

	runCLI(t, "", "namespace", "create", "dev", "--label", "team=a").must(t)
	r = runCLI(t, "", "namespace", "list", "-o", "json").must(t)
	if !strings.Contains(r.stdout, `"dev"`) {
		t.Errorf("namespace list: %q", r.stdout)
	}
	runCLI(t, "", "deploy", "--name", "fn", "--image", "i", "--namespace", "dev").must(t)
	runCLI(t, "body", "invoke", "fn.dev").must(t)
	runCLI(t, "", "namespace", "remove", "dev").fails(t, "still has functions")
	runCLI(t, "", "remove", "fn", "-n", "dev").must(t)
	runCLI(t, "", "namespace", "remove", "dev").must(t)
}

func TestDeployFromStack(t *testing.T) {
	gw := localGateway(t)
	dir := t.TempDir()
	file := writeFile(t, filepath.Join(dir, "stack.yml"), `version: 1.0
provider:
  name: openfaas
  gateway: http://127.0.0.1:1
functions:
  api-a:
    image: acme/a:${TAG:-1}
    environment:
      X: from-stack
  api-b:
    image: acme/b
  worker:
    image: acme/w
`)
	t.Setenv("TAG", "7")
	// FERRY_URL wins over the stack's (unreachable) provider.gateway.
	runCLI(t, "", "deploy", "-f", file, "--filter", "api-*", "--env", "Y=flag").must(t)
	fns, _ := gw.Provider.List(context.Background(), api.DefaultNamespace)
	if len(fns) != 2 || fns[0].Image != "acme/a:7" || fns[0].EnvVars["X"] != "from-stack" || fns[0].EnvVars["Y"] != "flag" {
		t.Fatalf("deployed %+v", fns)
	}
	runCLI(t, "", "remove", "-f", file, "--regex", "^api-").must(t)
	if fns, _ := gw.Provider.List(context.Background(), api.DefaultNamespace); len(fns) != 0 {
		t.Fatalf("left %+v", fns)
	}
	// Without FERRY_URL the stack's gateway is used.
	os.Unsetenv("FERRY_URL")
	runCLI(t, "", "deploy", "-f", file).fails(t, "cannot reach gateway at http://127.0.0.1:1")
}

func TestBadInput(t *testing.T) {
	gw := localGateway(t)
	dir := t.TempDir()
	broken := writeFile(t, filepath.Join(dir, "stack.yml"), "functions:\n  echo:\n    image: x\n   lang: node\n")
	runCLI(t, "", "deploy", "-f", broken).fails(t, "stack.yml:4: did not find expected key")
	runCLI(t, "", "up", "-f", broken).fails(t, "YAML syntax error")
	runCLI(t, "", "deploy", "-f", filepath.Join(dir, "none.yml")).fails(t, "no such file")
	bad := writeFile(t, filepath.Join(dir, "bad.yml"), "functions:\n  echo:\n    image: x\n    limits:\n      memory: 12XB\n")
	runCLI(t, "", "deploy", "-f", bad).fails(t, `bad.yml:5: functions.echo.limits.memory: "12XB" is not a memory quantity`)
	runCLI(t, "", "deploy", "--name", "e2", "--image", "x", "--memory-limit", "128").fails(t, `field "limits.memory": "128" is 128 bytes; did you mean 128Mi?`)
	runCLI(t, "", "deploy", "--name", "e2", "--image", "x", "--label", "com.openfaas.scale.min=5", "--label", "com.openfaas.scale.max=2").fails(t, "com.openfaas.scale.min=5 is greater than com.openfaas.scale.max=2")
	runCLI(t, "", "deploy", "--name", "e2", "--image", "x", "--fprocess", "cat\nid").fails(t, `field "envProcess"`)

	for _, gwURL := range []string{"ftp://host", "http://", "http://h:/"} {
		runCLI(t, "", "list", "--gateway", gwURL).fails(t, "is not valid")
	}
	runCLI(t, "", "list", "--gateway", "http://127.0.0.1:1").fails(t, "cannot reach gateway at http://127.0.0.1:1: is `ferry serve` running? set --gateway or FERRY_URL")
	t.Setenv("FERRY_URL", "not a url")
	runCLI(t, "", "list").fails(t, "(from $FERRY_URL)")
	t.Setenv("FERRY_URL", gw.URL)

	t.Setenv("FERRY_PASSWORD", "wrong")
	runCLI(t, "", "list").fails(t, "authentication failed for "+gw.URL+": run `ferry login` or set FERRY_PASSWORD")
	runCLI(t, "", "deploy", "--name", "x", "--image", "y").fails(t, "authentication failed")
	t.Setenv("FERRY_PASSWORD", "")

	runCLI(t, "", "deploy", "--name", "x").fails(t, "needs both --name and --image")
	runCLI(t, "", "deploy", "--name", "Bad_Name", "--image", "y").fails(t, "RFC 1123")
	runCLI(t, "", "deploy", "--name", "x", "--image", "y", "--env", "novalue").fails(t, `--env "novalue": use KEY=VALUE`)
	runCLI(t, "", "deploy", "--name", "x", "--image", "y", "--cpu-limit", "lots").fails(t, "is not a CPU quantity")
	runCLI(t, "", "describe").fails(t, "ferry describe takes NAME, got 0 argument(s): see `ferry describe --help`")

	// A typo in a group's subcommand fails like one in a command.
	runCLI(t, "", "secret", "creat", "x").fails(t, `unknown command "creat" for "ferry secret"; did you mean create? (see 'ferry secret --help')`)
	runCLI(t, "", "ns", "lst").fails(t, `unknown command "lst" for "ferry namespace"; did you mean list?`)
	runCLI(t, "", "queue", "dead-leters").fails(t, `did you mean dead-letters?`)
	runCLI(t, "", "queue", "dlq", "zzz").fails(t, `unknown command "zzz" for "ferry queue dead-letters" (see`)
	if r := runCLI(t, "", "secret").must(t); !strings.Contains(r.stdout, "ferry secret create") {
		t.Errorf("a group alone shows its help: %q", r.stdout)
	}
}

func TestLoginLogout(t *testing.T) {
	cfgDir, _ := isolate(t)
	gw := clienttest.Start(t)
	// No data-dir password and no login: 401 with advice.
	runCLI(t, "", "list", "-g", gw.URL).fails(t, "authentication failed")
	runCLI(t, "wrong\n", "login", "-g", gw.URL, "--password-stdin").fails(t, `rejected user "admin"`)
	runCLI(t, "", "login", "-g", gw.URL, "--password-stdin").fails(t, "reading the password")
	r := runCLI(t, clienttest.Password+"\n", "login", "-g", gw.URL+"/", "--password-stdin").must(t)
	if !strings.Contains(r.stdout, "Logged in to "+gw.URL) {
		t.Errorf("login: %q", r.stdout)
	}
	fi, err := os.Stat(filepath.Join(cfgDir, "config.yml"))
	di, err2 := os.Stat(cfgDir)
	if err != nil || err2 != nil || fi.Mode().Perm() != 0o600 || di.Mode().Perm() != 0o700 {
		t.Fatalf("config modes: %v %v %v %v", fi, err, di, err2)
	}
	b, _ := os.ReadFile(filepath.Join(cfgDir, "config.yml"))
	if !strings.Contains(string(b), "auth: basic") || strings.Contains(string(b), clienttest.Password) {
		t.Errorf("config holds the password in clear or lacks the faas-cli layout:\n%s", b)
	}
	runCLI(t, "", "list", "-g", gw.URL).must(t)
	r = runCLI(t, "", "version", "-g", gw.URL).must(t)
	if !strings.Contains(r.stdout, "0.0.0-test") || !strings.Contains(r.stdout, "memory") {
		t.Errorf("version: %q", r.stdout)
	}
	runCLI(t, "", "logout", "-g", gw.URL).must(t)
	runCLI(t, "", "logout", "-g", gw.URL).fails(t, "no stored credentials")
	runCLI(t, "", "list", "-g", gw.URL).fails(t, "authentication failed")
	r = runCLI(t, "", "version", "--client-only", "-o", "json").must(t)
	if !strings.Contains(r.stdout, `"client"`) {
		t.Errorf("version json: %q", r.stdout)
	}
}

func TestHelpHasExamples(t *testing.T) {
	root := NewRoot()
	mine := map[string]bool{"up": true, "deploy": true, "invoke": true, "list": true, "describe": true, "logs": true,
		"scale": true, "remove": true, "secret": true, "namespace": true, "login": true, "logout": true, "version": true}
	for _, c := range root.Commands() {
		if !mine[c.Name()] {
			continue
		}
		delete(mine, c.Name())
		if c.Example == "" {
			t.Errorf("%s has no --help examples", c.Name())
		}
		for _, sub := range c.Commands() {
			if sub.Example == "" {
				t.Errorf("%s %s has no --help examples", c.Name(), sub.Name())
			}
		}
	}
	if len(mine) > 0 {
		t.Errorf("commands not registered: %v", mine)
	}
	r := runCLI(t, "", "completion", "bash").must(t)
	if !strings.Contains(r.stdout, "bash completion") {
		t.Error("no bash completion")
	}
}
