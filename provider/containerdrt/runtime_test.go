package containerdrt

import (
	"context"
	"io"
	"log/slog"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/ferryfaas/ferry/api"
	"github.com/ferryfaas/ferry/builder"
	"github.com/ferryfaas/ferry/provider"
	"github.com/ferryfaas/ferry/provider/containerd"
	"github.com/ferryfaas/ferry/provider/process"
	"github.com/ferryfaas/ferry/stack"
	"github.com/ferryfaas/ferry/store"
	"github.com/ferryfaas/ferry/templates"
	"github.com/ferryfaas/ferry/test/harness"
)

const (
	bridge = "ferryseam0"
	subnet = "198.18.211.0/24"
)

// The one-machine provider runs an image's replicas on real containerd
// through the adapter: ready, called, rolled over on update, logged, and
// all gone after a delete.
func TestProviderRunsContainers(t *testing.T) {
	harness.RequireContainerd(t)
	work, err := os.MkdirTemp("", "ferry-seam-") // short: socket paths are limited
	if err != nil {
		t.Fatal(err)
	}
	defer os.RemoveAll(work)
	ctd := harness.StartContainerd(t, work)
	image := buildImage(t, work)

	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()
	crt, err := containerd.New(ctx, containerd.Config{
		Address: ctd.Sock, Namespace: "ferry-seam", StateDir: filepath.Join(work, "state"),
		Subnet: subnet, Bridge: bridge, GatewayURL: "http://198.18.211.1:8080",
		DefaultMemory: 64 << 20, DefaultPids: 64, TmpSize: 1 << 20,
	})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { harness.RemoveBridge(bridge) })
	f, err := os.Open(image)
	if err != nil {
		t.Fatal(err)
	}
	refs, err := crt.Import(ctx, f)
	f.Close()
	if err != nil {
		t.Fatal(err)
	}

	if err := os.MkdirAll(filepath.Join(work, "data"), 0o711); err != nil {
		t.Fatal(err)
	}
	st, err := store.Open(filepath.Join(work, "data"))
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	p, err := process.New(ctx, process.Config{
		DataDir: filepath.Join(work, "data"), Store: st, Runtime: &Runtime{R: crt},
		Log: slog.New(slog.NewTextHandler(io.Discard, nil)), GatewayURL: "http://127.0.0.1:1",
		BackoffMin: 50 * time.Millisecond, BackoffMax: time.Second, StartTimeout: 30 * time.Second,
	})
	if err != nil {
		t.Fatal(err)
	}
	closed := false
	defer func() {
		if !closed {
			p.Close(context.Background())
		}
	}()

	d := api.FunctionDeployment{Service: "hello", Namespace: api.DefaultNamespace, Image: refs[0],
		Labels: map[string]string{"com.openfaas.scale.min": "2"}, EnvVars: map[string]string{"v": "1"}}
	if err := p.Deploy(ctx, d); err != nil {
		t.Fatal(err)
	}
	r := waitRoute(t, p, "2 ready containers", func(r provider.Route) bool { return len(r.Endpoints) == 2 })
	for _, ep := range r.Endpoints {
		if !strings.HasPrefix(ep.Address, "198.18.211.") || ep.Instance == "" {
			t.Errorf("endpoint %+v: want an address on the test bridge and an instance", ep)
		}
		call(t, ep)
	}
	first := map[string]bool{r.Endpoints[0].Address: true, r.Endpoints[1].Address: true}
	// The containers' output reaches the function's logs, per instance.
	logs, err := p.Logs(ctx, api.LogRequest{Name: "hello", Namespace: api.DefaultNamespace, Tail: 100})
	if err != nil {
		t.Fatal(err)
	}
	seen := map[string]bool{}
	for m := range logs {
		seen[m.Instance] = true
	}
	if !seen["hello-0"] || !seen["hello-1"] {
		t.Errorf("log lines came from %v, want hello-0 and hello-1", seen)
	}

	d.EnvVars = map[string]string{"v": "2"}
	if err := p.Update(ctx, d); err != nil {
		t.Fatal(err)
	}
	r = waitRoute(t, p, "2 containers of the new version", func(r provider.Route) bool {
		return len(r.Endpoints) == 2 && !first[r.Endpoints[0].Address] && !first[r.Endpoints[1].Address]
	})
	for _, ep := range r.Endpoints {
		call(t, ep)
	}
	fs, err := p.Get(ctx, api.DefaultNamespace, "hello")
	if err != nil {
		t.Fatal(err)
	}
	if fs.AvailableReplicas != 2 {
		t.Errorf("available replicas %d, want 2", fs.AvailableReplicas)
	}

	if err := p.Delete(ctx, api.DefaultNamespace, "hello"); err != nil {
		t.Fatal(err)
	}
	closed = true
	if err := p.Close(ctx); err != nil {
		t.Fatal(err)
	}
	// Close closed crt: a fresh runtime on the namespace finds nothing left.
	again, err := containerd.New(ctx, containerd.Config{
		Address: ctd.Sock, Namespace: "ferry-seam", StateDir: filepath.Join(work, "state"),
		Subnet: subnet, Bridge: bridge, GatewayURL: "http://198.18.211.1:8080",
	})
	if err != nil {
		t.Fatal(err)
	}
	defer again.Close()
	var left []string
	if err := again.Reap(ctx, func(inst string) bool { left = append(left, inst); return true }); err != nil {
		t.Fatal(err)
	}
	if len(left) > 0 {
		t.Errorf("containers left after the delete: %v", left)
	}
}

func waitRoute(t *testing.T, p *process.Provider, what string, cond func(provider.Route) bool) provider.Route {
	t.Helper()
	deadline := time.NewTimer(60 * time.Second)
	defer deadline.Stop()
	for {
		r, ok := p.Route(api.DefaultNamespace, "hello")
		if !ok {
			t.Fatal("no route")
		}
		if cond(r) {
			return r
		}
		select {
		case <-r.Changed:
		case <-deadline.C:
			t.Fatalf("%s: not reached; route %+v", what, r)
		}
	}
}

func call(t *testing.T, ep provider.Endpoint) {
	t.Helper()
	c := &http.Client{Timeout: 10 * time.Second}
	res, err := c.Post("http://"+ep.Address+"/", "text/plain", strings.NewReader("seam"))
	if err != nil {
		t.Fatal(err)
	}
	defer res.Body.Close()
	b, _ := io.ReadAll(res.Body)
	if want := templates.ExpectedReply("golang-http", "seam"); res.StatusCode != 200 || string(b) != want {
		t.Errorf("%s answered %d %q", ep.Instance, res.StatusCode, b)
	}
}

// buildImage builds the golang-http template's function as a docker
// archive, as `ferry build --image` does.
func buildImage(t *testing.T, dir string) string {
	t.Helper()
	wd, err := harness.GoBinary("watchdog", "./cmd/watchdog")
	if err != nil {
		t.Fatal(err)
	}
	tpl, err := templates.Lookup("", "golang-http")
	if err != nil {
		t.Fatal(err)
	}
	if err := templates.Scaffold(tpl, filepath.Join(dir, "hello")); err != nil {
		t.Fatal(err)
	}
	res, err := builder.Build(context.Background(), builder.Options{
		Function:       stack.Function{Name: "hello", Lang: "golang-http", Handler: "./hello", Image: "ferry-test/seam:1"},
		StackDir:       dir,
		OutDir:         filepath.Join(dir, "build"),
		Image:          builder.ImageOptions{Enabled: true, Format: "docker"},
		WatchdogBinary: wd,
	})
	if err != nil {
		t.Fatal(err)
	}
	return res.ImagePath
}
