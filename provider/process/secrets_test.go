package process

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/ferryfaas/ferry/api"
	"github.com/ferryfaas/ferry/store"
)

// reader is a fork-mode function that prints the file named by its body.
func readerArtifact(t *testing.T, e *env) string {
	t.Helper()
	srv := artifactServer(t, e.p)
	art := targz(t, entry{name: "read.sh", body: "read p\ncat \"$p\" 2>/dev/null || echo DENIED\n", mode: 0o755})
	if code, body := upload(t, srv, art, ""); code != 201 {
		t.Fatalf("upload: %d %s", code, body)
	}
	return digestOf(art)
}

// As root: each function reads its own secrets at /var/openfaas/secrets and
// cannot read another function's secrets or working dir by any path.
func TestSecretsIsolatedBetweenFunctions(t *testing.T) {
	e := newEnv(t, nil)
	if !e.p.isolate {
		t.Skip("needs root on Linux")
	}
	ctx := context.Background()
	for name, val := range map[string]string{"s-a": "alpha-secret", "s-b": "beta-secret"} {
		if err := e.p.CreateSecret(ctx, api.Secret{Name: name, Namespace: ns, Value: val}); err != nil {
			t.Fatal(err)
		}
	}
	dg := readerArtifact(t, e)
	ann := map[string]string{ArtifactAnnotation: dg}
	e.deploy(api.FunctionDeployment{Service: "fa", EnvProcess: "sh read.sh", Secrets: []string{"s-a"}, Annotations: ann})
	e.deploy(api.FunctionDeployment{Service: "fb", EnvProcess: "sh read.sh", Secrets: []string{"s-b"}, Annotations: ann})
	read := func(fn, path string) string {
		_, out := invoke(t, e.waitReady(fn, 1).Endpoints[0], path+"\n")
		return strings.TrimSpace(out)
	}
	if got := read("fa", "/var/openfaas/secrets/s-a"); got != "alpha-secret" {
		t.Fatalf("fa reads its secret: %q", got)
	}
	if got := read("fb", "/var/openfaas/secrets/s-b"); got != "beta-secret" {
		t.Fatalf("fb reads its secret: %q", got)
	}
	hexd := strings.TrimPrefix(dg, "sha256:")
	for _, path := range []string{
		"/var/openfaas/secrets/s-a",                                  // not in fb's mount
		filepath.Join(e.dir, "run", ns, "fa", "secrets", "s-a"),      // fa's copy on disk
		filepath.Join(e.dir, "functions", ns, "fa", hexd, "read.sh"), // fa's working dir
		filepath.Join(e.dir, "ferry.db"),
	} {
		if got := read("fb", path); got != "DENIED" {
			t.Errorf("fb read %s: %q", path, got)
		}
	}
	// Not even its own copies by their host path: the function reaches
	// them only through its mounts.
	if got := read("fa", filepath.Join(e.dir, "run", ns, "fa", "secrets", "s-a")); got != "DENIED" {
		t.Errorf("fa read its secret by its host path: %q", got)
	}
	rec := e.p.lookup(ns, "fa").record()
	// The secret dir and files are ferry's, readable by the function's
	// group only: the function owns nothing it could swap for a link.
	secDir := filepath.Join(e.dir, "run", ns, "fa", "secrets")
	for path, mode := range map[string]os.FileMode{secDir: 0o750, filepath.Join(secDir, "s-a"): 0o440} {
		fi, err := os.Lstat(path)
		if err != nil {
			t.Fatal(err)
		}
		st := fi.Sys().(*syscall.Stat_t)
		if fi.Mode().Perm() != mode || st.Uid != 0 || int(st.Gid) != rec.GID {
			t.Errorf("%s: mode %v owner %d:%d, want %v 0:%d", path, fi.Mode().Perm(), st.Uid, st.Gid, mode, rec.GID)
		}
	}
	if !e.p.inBlock(rec.UID) || rec.UID == e.p.lookup(ns, "fb").record().UID {
		t.Fatalf("uids: fa %d fb %d", rec.UID, e.p.lookup(ns, "fb").record().UID)
	}
	// Updating a secret rewrites the copy the function sees.
	if err := e.p.UpdateSecret(ctx, api.Secret{Name: "s-a", Namespace: ns, Value: "alpha-2"}); err != nil {
		t.Fatal(err)
	}
	if got := read("fa", "/var/openfaas/secrets/s-a"); got != "alpha-2" {
		t.Fatalf("after update: %q", got)
	}
}

// Without isolation the function finds its secrets in $secret_mount_path
// and the status says isolation and limits are not enforced.
func TestSecretsWithoutIsolation(t *testing.T) {
	e := newEnv(t, func(c *Config) { c.NoIsolation = true })
	ctx := context.Background()
	if err := e.p.CreateSecret(ctx, api.Secret{Name: "tok", Namespace: ns, RawValue: []byte("raw-bytes")}); err != nil {
		t.Fatal(err)
	}
	e.deploy(api.FunctionDeployment{Service: "plain", EnvProcess: `sh -c 'cat "$secret_mount_path/tok"'`, Secrets: []string{"tok"},
		Limits: &api.Resources{Memory: "64Mi"}})
	r := e.waitReady("plain", 1)
	if _, out := invoke(t, r.Endpoints[0], ""); out != "raw-bytes" {
		t.Fatalf("secret via secret_mount_path: %q", out)
	}
	st, _ := e.p.Get(ctx, ns, "plain")
	var iso, lim bool
	for _, c := range st.Conditions {
		iso = iso || c.Type == "Isolated" && c.Status == "False" && c.Message != ""
		lim = lim || c.Type == "LimitsEnforced" && c.Status == "False" && c.Message != ""
	}
	if !iso || !lim {
		t.Fatalf("conditions: %+v", st.Conditions)
	}
}

func TestSecretRules(t *testing.T) {
	e := newEnv(t, nil)
	ctx := context.Background()
	err := e.p.Deploy(ctx, api.FunctionDeployment{Service: "needs", Image: "x", Namespace: ns, EnvProcess: "cat", Secrets: []string{"missing"}})
	if api.StatusOf(err) != 400 || !strings.Contains(err.Error(), `"missing"`) {
		t.Fatalf("deploy with a missing secret: %v", err)
	}
	if _, ok := e.p.Route(ns, "needs"); ok {
		t.Fatal("function created despite the missing secret")
	}
	if err := e.p.CreateSecret(ctx, api.Secret{Name: "db", Namespace: ns, Value: "v"}); err != nil {
		t.Fatal(err)
	}
	if err := e.p.CreateSecret(ctx, api.Secret{Name: "db", Namespace: ns, Value: "v"}); !api.IsConflict(err) {
		t.Fatalf("duplicate secret: %v", err)
	}
	e.deploy(api.FunctionDeployment{Service: "user1", EnvProcess: "cat", Secrets: []string{"db"}})
	e.deploy(api.FunctionDeployment{Service: "user2", EnvProcess: "cat", Secrets: []string{"db"}})
	err = e.p.DeleteSecret(ctx, ns, "db")
	if !api.IsConflict(err) || !strings.Contains(err.Error(), "user1, user2") {
		t.Fatalf("delete of a secret in use: %v", err)
	}
	list, err := e.p.ListSecrets(ctx, ns)
	if err != nil || len(list) != 1 || list[0].Name != "db" || list[0].Value != "" || list[0].RawValue != nil {
		t.Fatalf("list: %+v %v", list, err)
	}
	if err := e.p.UpdateSecret(ctx, api.Secret{Name: "nope", Namespace: ns, Value: "v"}); !api.IsNotFound(err) {
		t.Fatalf("update of a missing secret: %v", err)
	}
	for _, fn := range []string{"user1", "user2"} {
		if err := e.p.Delete(ctx, ns, fn); err != nil {
			t.Fatal(err)
		}
	}
	if err := e.p.DeleteSecret(ctx, ns, "db"); err != nil {
		t.Fatalf("delete of an unused secret: %v", err)
	}
}

func TestNamespaces(t *testing.T) {
	e := newEnv(t, nil)
	ctx := context.Background()
	if l, _ := e.p.ListNamespaces(ctx); len(l) != 1 || l[0] != ns {
		t.Fatalf("default namespace: %v", l)
	}
	team := api.Namespace{Name: "team", Labels: map[string]string{"owner": "a"}, Annotations: map[string]string{"x": "y"}}
	if err := e.p.CreateNamespace(ctx, team); err != nil {
		t.Fatal(err)
	}
	if err := e.p.CreateNamespace(ctx, team); !api.IsConflict(err) {
		t.Fatalf("duplicate namespace: %v", err)
	}
	if got, _ := e.p.GetNamespace(ctx, "team"); got.Labels["owner"] != "a" || got.Annotations["x"] != "y" {
		t.Fatalf("get: %+v", got)
	}
	team.Labels["owner"] = "b"
	if err := e.p.UpdateNamespace(ctx, team); err != nil {
		t.Fatal(err)
	}
	if err := e.p.Deploy(ctx, api.FunctionDeployment{Service: "f", Image: "x", Namespace: "team", EnvProcess: "cat"}); err != nil {
		t.Fatal(err)
	}
	if err := e.p.Deploy(ctx, api.FunctionDeployment{Service: "f", Image: "x", Namespace: "nowhere", EnvProcess: "cat"}); api.StatusOf(err) != 400 {
		t.Fatalf("deploy to a missing namespace: %v", err)
	}
	if err := e.p.DeleteNamespace(ctx, "team"); !api.IsConflict(err) || !strings.Contains(err.Error(), "f") {
		t.Fatalf("delete of a non-empty namespace: %v", err)
	}
	if err := e.p.DeleteNamespace(ctx, ns); api.StatusOf(err) != 400 {
		t.Fatalf("delete of the default namespace: %v", err)
	}
	e.p.Delete(ctx, "team", "f")
	if err := e.p.DeleteNamespace(ctx, "team"); err != nil {
		t.Fatal(err)
	}
	e.reopen()
	if _, err := e.p.GetNamespace(ctx, "team"); !api.IsNotFound(err) {
		t.Fatalf("deleted namespace after restart: %v", err)
	}
}

// A function deployed by a ferry without isolation gets its own uid and
// working dir ownership once ferry runs isolated.
func TestIsolationAfterUnisolatedStart(t *testing.T) {
	e := newEnv(t, func(c *Config) { c.NoIsolation = true })
	if os.Geteuid() != 0 {
		t.Skip("needs root")
	}
	dg := readerArtifact(t, e)
	e.deploy(api.FunctionDeployment{Service: "late", EnvProcess: "sh read.sh", Annotations: map[string]string{ArtifactAnnotation: dg}})
	e.waitReady("late", 1)
	e.close()
	e.cfg.NoIsolation = false
	e.open()
	r := e.waitReady("late", 1)
	if _, out := invoke(t, r.Endpoints[0], "read.sh\n"); !strings.Contains(out, "read p") {
		t.Fatalf("function cannot read its own code after the switch: %q", out)
	}
	rec := e.p.lookup(ns, "late").record()
	if !e.p.inBlock(rec.UID) {
		t.Fatalf("uid %d after switching to isolation", rec.UID)
	}
}

// TestSecretWritesFollowNoLink: a link left in a function's secrets dir
// (where an older Ferry let the function write) is never followed when
// ferry, as root, rewrites the secrets: neither the temporary name nor the
// final one, on update and on restart.
func TestSecretWritesFollowNoLink(t *testing.T) {
	e := newEnv(t, nil)
	if !e.p.isolate {
		t.Skip("needs root on Linux")
	}
	ctx := context.Background()
	if err := e.p.CreateSecret(ctx, api.Secret{Name: "s2", Namespace: ns, Value: "one"}); err != nil {
		t.Fatal(err)
	}
	e.deploy(api.FunctionDeployment{Service: "fl", EnvProcess: "cat", Secrets: []string{"s2"}})
	e.waitReady("fl", 1)
	dir := filepath.Join(e.dir, "run", ns, "fl", "secrets")
	victims := map[string]string{".s2.tmp": filepath.Join(t.TempDir(), "victim-tmp"), "s2": filepath.Join(t.TempDir(), "victim-final")}
	for link, target := range victims {
		if err := os.WriteFile(target, []byte("original"), 0o644); err != nil {
			t.Fatal(err)
		}
		os.Remove(filepath.Join(dir, link))
		if err := os.Symlink(target, filepath.Join(dir, link)); err != nil {
			t.Fatal(err)
		}
	}
	check := func(when string) {
		t.Helper()
		for _, target := range victims {
			fi, err := os.Stat(target)
			b, _ := os.ReadFile(target)
			if err != nil || string(b) != "original" || fi.Sys().(*syscall.Stat_t).Uid != 0 || fi.Mode().Perm() != 0o644 {
				t.Fatalf("%s: %s was written through a link: %q %v", when, target, b, fi.Mode())
			}
		}
		b, err := os.ReadFile(filepath.Join(dir, "s2"))
		if fi, _ := os.Lstat(filepath.Join(dir, "s2")); err != nil || fi.Mode()&os.ModeSymlink != 0 {
			t.Fatalf("%s: s2 is not a plain file holding the secret: %v %q", when, err, b)
		}
	}
	if err := e.p.UpdateSecret(ctx, api.Secret{Name: "s2", Namespace: ns, Value: "two"}); err != nil {
		t.Fatal(err)
	}
	check("update")
	os.Symlink(victims[".s2.tmp"], filepath.Join(dir, ".s2.tmp"))
	e.reopen()
	e.waitReady("fl", 1)
	check("restart")
}

// TestDeleteCutShortLeavesNothing: a delete whose background clean-up was
// cut short (kill -9 right after the record went) leaves nothing at the
// next start: no copy of its secrets on disk, no working dir, and a new
// function of the same name does not inherit its logs.
func TestDeleteCutShortLeavesNothing(t *testing.T) {
	e := newEnv(t, nil)
	ctx := context.Background()
	if err := e.p.CreateSecret(ctx, api.Secret{Name: "s9", Namespace: ns, Value: "old-value"}); err != nil {
		t.Fatal(err)
	}
	e.deploy(api.FunctionDeployment{Service: "del1", EnvProcess: "cat -", Secrets: []string{"s9"}})
	e.deploy(api.FunctionDeployment{Service: "keep", EnvProcess: "cat", Secrets: []string{"s9"}})
	e.waitReady("del1", 1)
	e.waitReady("keep", 1)
	e.close()                                                                   // the files stay, as after a kill -9 ...
	if err := e.st.Delete(store.Functions, store.Key(ns, "del1")); err != nil { // ... once Delete had removed the record
		t.Fatal(err)
	}
	left := []string{
		filepath.Join(e.dir, "run", ns, "del1", "secrets", "s9"),
		filepath.Join(e.dir, "functions", ns, "del1"),
		filepath.Join(e.dir, "logs", ns, "del1.log"),
	}
	for _, path := range left {
		if _, err := os.Stat(path); err != nil {
			t.Fatalf("the test expects %s before the restart: %v", path, err)
		}
	}
	e.open()
	for _, path := range left {
		if _, err := os.Stat(path); !os.IsNotExist(err) {
			t.Errorf("%s is still there after the restart: %v", path, err)
		}
	}
	if _, err := os.Stat(filepath.Join(e.dir, "run", ns, "keep", "secrets", "s9")); err != nil {
		t.Errorf("a live function's secret went too: %v", err)
	}
	e.deploy(api.FunctionDeployment{Service: "del1", EnvProcess: "cat"})
	e.waitReady("del1", 1)
	// Its watchdog's ready line reaches the logs just after readiness.
	var lines []string
	for deadline := time.Now().Add(5 * time.Second); len(lines) == 0 && time.Now().Before(deadline); {
		ch, err := e.p.Logs(ctx, api.LogRequest{Name: "del1", Namespace: ns, Tail: -1})
		if err != nil {
			t.Fatal(err)
		}
		for m := range ch {
			lines = append(lines, m.Text)
		}
		time.Sleep(20 * time.Millisecond)
	}
	if len(lines) == 0 {
		t.Fatal("the new del1 has no log line at all (its watchdog's ready line was expected)")
	}
	for _, l := range lines {
		if strings.Contains(l, `fprocess="cat -"`) {
			t.Errorf("the new del1 shows the deleted one's log line %q", l)
		}
	}
}
