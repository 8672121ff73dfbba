package e2e

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"net/http"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/ferryfaas/ferry/templates"
	"github.com/ferryfaas/ferry/test/harness"
	"github.com/google/go-containerregistry/pkg/authn"
	"github.com/google/go-containerregistry/pkg/name"
	"github.com/google/go-containerregistry/pkg/v1/remote"
	"github.com/google/go-containerregistry/pkg/v1/tarball"
)

// The containerd runtime's own bridge and namespace: only addresses of
// ctrdSubnet are ever contacted.
const (
	ctrdSubnet = "198.18.213.0/24"
	ctrdPrefix = "198.18.213."
	ctrdBridge = "ferrye2e0"
	ctrdNS     = "ferry-e2e"
)

// The faas-cli flow on `ferry serve --runtime containerd`, over HTTP only:
// an image built by `ferry build --image` is imported, deployed, called,
// scaled, updated under load, kept from its neighbours, and removed
// without a trace; bad images get clear errors.
func TestContainerdRuntime(t *testing.T) {
	harness.RequireContainerd(t)
	work, err := os.MkdirTemp("", "ferry-e2ec-") // short: socket paths are limited
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { os.RemoveAll(work) })
	ctd := harness.StartContainerd(t, work)
	image := probeImage(t, work, "docker", "ferry-test/e2e-probe:1")
	layout := probeImage(t, work, "oci", "ferry-test/e2e-nosy:1")

	log := &harness.LockedBuffer{}
	f, err := harness.Start(harness.Options{DataDir: filepath.Join(work, "data"), Log: log, Args: []string{
		"--runtime", "containerd", "--containerd-address", ctd.Sock, "--containerd-namespace", ctrdNS,
		"--containerd-subnet", ctrdSubnet, "--containerd-bridge", ctrdBridge,
	}})
	if err != nil {
		t.Fatalf("%v\n%s", err, log.String())
	}
	t.Cleanup(func() {
		f.Stop()
		harness.RemoveBridge(ctrdBridge)
		if t.Failed() {
			t.Logf("ferry log:\n%s", log.String())
		}
	})

	code, b, err := f.Do("GET", "/system/info", nil)
	if err != nil || code != 200 || !strings.Contains(string(b), `"orchestration":"containerd"`) {
		t.Errorf("/system/info: %d %s %v; want the containerd orchestration", code, b, err)
	}

	// Bad input first: nothing of it may be left behind.
	code, b, _ = f.Do("POST", "/system/images", "this is not a tar")
	if code != http.StatusBadRequest || !strings.Contains(string(b), "image archive") {
		t.Errorf("corrupt tarball: %d %s; want 400 naming the archive", code, b)
	}
	// A real archive cut short.
	whole, err := os.ReadFile(image)
	if err != nil {
		t.Fatal(err)
	}
	code, b, _ = f.Do("POST", "/system/images", whole[:len(whole)/2])
	if code != http.StatusBadRequest {
		t.Errorf("truncated tarball: %d %s; want 400", code, b)
	}
	// A registry on loopback where nothing listens: refused at once.
	missing := map[string]any{"service": "ghost", "image": "127.0.0.1:1/nope/ghost:1"}
	code, b, _ = f.Do("POST", "/system/functions", missing)
	if code/100 != 4 || !strings.Contains(string(b), "could not be pulled") {
		t.Errorf("deploy of an image that does not exist: %d %s; want a 4xx saying it could not be pulled", code, b)
	}
	if code, _, _ := f.Do("GET", "/system/function/ghost", nil); code != http.StatusNotFound {
		t.Errorf("the failed deploy left a function behind: GET answered %d", code)
	}
	for _, what := range []string{"images", "content"} {
		if left := ctrList(t, ctd.Sock, what); len(left) > 0 {
			t.Errorf("the bad input left %s in containerd: %v", what, left)
		}
	}

	pullWithSecret(t, f, image)

	code, b, err = f.Do("POST", "/system/images", whole)
	var imported struct{ Images []string }
	if err != nil || code != http.StatusCreated || json.Unmarshal(b, &imported) != nil || len(imported.Images) == 0 {
		t.Fatalf("import: %d %s %v", code, b, err)
	}
	ref := imported.Images[0]

	// faas-cli deploy: PUT first, POST on 404.
	fn := map[string]any{"service": "probe", "image": "ferry-test/e2e-probe:1", "envVars": map[string]string{"v": "1"}}
	if code, b, _ = f.Do("PUT", "/system/functions", fn); code != http.StatusNotFound {
		t.Fatalf("PUT of a new function: %d %s, want 404", code, b)
	}
	deploy(t, f, fn)
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()
	if err := f.WaitReady(ctx, "probe", ns, 1); err != nil {
		t.Fatal(err)
	}
	if c, _, body := invoke(t, f, "POST", "probe", "x", nil); c != 200 || body != "probe" {
		t.Fatalf("invoke: %d %q (image %s)", c, body, ref)
	}

	scale := func(n int) {
		t.Helper()
		code, b, _ := f.Do("POST", "/system/scale-function/probe", map[string]any{"serviceName": "probe", "replicas": n})
		if code/100 != 2 {
			t.Fatalf("scale to %d: %d %s", n, code, b)
		}
		waitAvailable(t, f, "probe", n)
	}
	scale(3)
	invokeN(t, f, "probe", 6)
	scale(1)

	// A rolling update under a bounded load fails no call.
	var calls, failed atomic.Int64
	stop := make(chan struct{})
	var wg sync.WaitGroup
	for w := 0; w < 4; w++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			deadline := time.Now().Add(90 * time.Second)
			for i := 0; i < 5000 && time.Now().Before(deadline); i++ {
				select {
				case <-stop:
					return
				default:
				}
				c, body, err := f.Invoke("probe", "x")
				calls.Add(1)
				if err != nil || c != 200 || body != "probe" {
					failed.Add(1)
				}
			}
		}()
	}
	time.Sleep(200 * time.Millisecond)
	fn["envVars"] = map[string]string{"v": "2"}
	if code, b, _ = f.Do("PUT", "/system/functions", fn); code/100 != 2 {
		t.Fatalf("update: %d %s", code, b)
	}
	waitEnv(t, f, "probe", "v", "2")
	time.Sleep(300 * time.Millisecond)
	close(stop)
	wg.Wait()
	t.Logf("update under load: %d calls, %d failed", calls.Load(), failed.Load())
	if failed.Load() != 0 || calls.Load() == 0 {
		t.Errorf("update under load: %d of %d calls failed", failed.Load(), calls.Load())
	}

	// From zero, the first call is held while one container starts.
	var cold []time.Duration
	for i := 0; i < 5; i++ {
		scale(0)
		t0 := time.Now()
		if c, _, body := invoke(t, f, "POST", "probe", "x", nil); c != 200 || body != "probe" {
			t.Fatalf("call from zero: %d %q", c, body)
		}
		cold = append(cold, time.Since(t0))
	}
	slices.Sort(cold)
	t0 := time.Now()
	invoke(t, f, "POST", "probe", "x", nil)
	t.Logf("cold start through the gateway: p50 %v (min %v, max %v); a warm call %v", cold[2], cold[0], cold[4], time.Since(t0))
	scale(1)

	// A second function, from an OCI layout the CLI imports, reaches the
	// gateway, not probe's replicas.
	out := ferryCLI(t, f, "image", "import", layout)
	if !strings.Contains(out, "Imported docker.io/ferry-test/e2e-nosy:1") {
		t.Fatalf("ferry image import: %q", out)
	}
	deploy(t, f, map[string]any{"service": "nosy", "image": "ferry-test/e2e-nosy:1"})
	if err := f.WaitReady(ctx, "nosy", ns, 1); err != nil {
		t.Fatal(err)
	}
	gw := ask(t, f, "nosy", "op=env&name=FERRY_GATEWAY_URL")
	if !strings.HasPrefix(gw, "http://"+ctrdPrefix+"1:") {
		t.Errorf("FERRY_GATEWAY_URL=%q, want the bridge's address", gw)
	}
	if r := ask(t, f, "nosy", "op=dial&addr="+strings.TrimPrefix(gw, "http://")); r != "ok" {
		t.Errorf("dial the gateway from a container: %s", r)
	}
	self := ask(t, f, "nosy", "op=ip")
	if !strings.HasPrefix(self, ctrdPrefix) {
		t.Fatalf("nosy's address %q is not on the bridge", self)
	}
	if reached := dialSubnet(t, f, "nosy", self); len(reached) > 0 {
		t.Errorf("a function reached other replicas directly: %v", reached)
	}

	// kill -9 of ferry serve: a restart removes the containers it left
	// and brings every function back at its replica count.
	f.Kill()
	if err := f.Relaunch(); err != nil {
		t.Fatal(err)
	}
	waitAvailable(t, f, "probe", 1)
	waitAvailable(t, f, "nosy", 1)
	if c, _, body := invoke(t, f, "POST", "probe", "x", nil); c != 200 || body != "probe" {
		t.Fatalf("invoke after kill -9 and restart: %d %q", c, body)
	}
	if n := len(ctrList(t, ctd.Sock, "containers")); n != 2 {
		t.Errorf("%d containers after the restart, want 2 (one per replica)", n)
	}
	if n := len(runtimeNetns()); n != 2 {
		t.Errorf("network namespaces after the restart: %v, want 2", runtimeNetns())
	}

	// A restart of containerd is not an exit: the replicas keep serving
	// and nothing is started twice.
	if err := ctd.Restart(); err != nil {
		t.Fatal(err)
	}
	waitAvailable(t, f, "probe", 1)
	if c, _, body := invoke(t, f, "POST", "probe", "x", nil); c != 200 || body != "probe" {
		t.Fatalf("invoke after a containerd restart: %d %q", c, body)
	}
	if n := len(ctrList(t, ctd.Sock, "containers")); n != 2 {
		t.Errorf("%d containers after a containerd restart, want 2", n)
	}

	for _, name := range []string{"probe", "nosy"} {
		if code, b, _ := f.Do("DELETE", "/system/functions", map[string]any{"functionName": name}); code/100 != 2 {
			t.Fatalf("remove %s: %d %s", name, code, b)
		}
	}
	waitNothingLeft(t, ctd.Sock)

	upToContainers(t, f, work)
	waitNothingLeft(t, ctd.Sock)
}

// upToContainers runs `ferry up` against the containerd runtime: it builds
// an image and imports it, and new code under the same tag rolls out.
func upToContainers(t *testing.T, f *harness.Ferry, work string) {
	dir := filepath.Join(work, "up")
	if err := os.MkdirAll(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	run := ferryIn(t, f, dir)
	ferry := func(args ...string) string {
		t.Helper()
		out, err := run(args...)
		if err != nil {
			t.Fatalf("ferry %s: %v\n%s", strings.Join(args, " "), err, out)
		}
		return out
	}
	ferry("new", "upfn", "--lang", "golang-http")
	if out := ferry("up"); !strings.Contains(out, "imported docker.io/") {
		t.Errorf("ferry up against containers did not import an image:\n%s", out)
	}
	if c, _, body := invoke(t, f, "POST", "upfn", "x", nil); c != 200 || body != templates.ExpectedReply("golang-http", "x") {
		t.Fatalf("invoke after ferry up: %d %q", c, body)
	}
	v2 := "package function\n\nimport (\n\t\"fmt\"\n\t\"net/http\"\n)\n\nfunc Handle(w http.ResponseWriter, r *http.Request) { fmt.Fprint(w, \"v2\") }\n"
	if err := os.WriteFile(filepath.Join(dir, "upfn", "handler.go"), []byte(v2), 0o644); err != nil {
		t.Fatal(err)
	}
	ferry("up")
	var body string
	for deadline := time.Now().Add(60 * time.Second); time.Now().Before(deadline); time.Sleep(100 * time.Millisecond) {
		if _, _, body = invoke(t, f, "POST", "upfn", "x", nil); body == "v2" {
			break
		}
	}
	if body != "v2" {
		t.Errorf("the second ferry up (same tag, new code) did not roll out: %q", body)
	}
	if code, b, _ := f.Do("DELETE", "/system/functions", map[string]any{"functionName": "upfn"}); code/100 != 2 {
		t.Fatalf("remove upfn: %d %s", code, b)
	}
}

// pullWithSecret deploys an image from a registry on loopback that wants a
// login: refused without the registry secret, pulled with it.
func pullWithSecret(t *testing.T, f *harness.Ferry, archive string) {
	t.Helper()
	const user, pass = "ferry", "s3cret-pw"
	host := harness.PrivateRegistry(t, user, pass)
	img, err := tarball.ImageFromPath(archive, nil)
	if err != nil {
		t.Fatal(err)
	}
	ref := host + "/acme/private:1"
	tag, err := name.NewTag(ref, name.Insecure)
	if err != nil {
		t.Fatal(err)
	}
	if err := remote.Write(tag, img, remote.WithAuth(&authn.Basic{Username: user, Password: pass})); err != nil {
		t.Fatal(err)
	}

	fn := map[string]any{"service": "private", "image": ref}
	if code, b, _ := f.Do("POST", "/system/functions", fn); code != http.StatusBadRequest || !strings.Contains(string(b), "could not be pulled") {
		t.Errorf("deploy of a private image without its secret: %d %s, want 400", code, b)
	}
	login := base64.StdEncoding.EncodeToString([]byte(user + ":" + pass))
	config := fmt.Sprintf(`{"auths": {%q: {"auth": %q}}}`, host, login)
	if code, b, _ := f.Do("POST", "/system/secrets", map[string]any{"name": "regcred", "value": config}); code/100 != 2 {
		t.Fatalf("create the registry secret: %d %s", code, b)
	}
	fn["annotations"] = map[string]string{"com.ferryfaas.image-pull-secret": "regcred"}
	deploy(t, f, fn)
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	if err := f.WaitReady(ctx, "private", ns, 1); err != nil {
		t.Fatal(err)
	}
	if c, _, body := invoke(t, f, "POST", "private", "x", nil); c != 200 || body != "probe" {
		t.Errorf("invoke the pulled image: %d %q", c, body)
	}
	if code, b, _ := f.Do("DELETE", "/system/functions", map[string]any{"functionName": "private"}); code/100 != 2 {
		t.Fatalf("remove: %d %s", code, b)
	}
	if code, b, _ := f.Do("DELETE", "/system/secrets", map[string]any{"name": "regcred"}); code/100 != 2 {
		t.Errorf("delete the registry secret: %d %s", code, b)
	}
}
