//go:build linux

package process

import (
	"context"
	"io"
	"os"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/ferryfaas/ferry/api"
	"github.com/ferryfaas/ferry/provider"
	"github.com/ferryfaas/ferry/test/harness"
)

// mode=http without upstream_url: every replica gets its own upstream port
// ($PORT, $http_port), so several replicas of one server run side by side.
// The upstream here is a second watchdog in fork mode (metrics_port=0: it
// inherits the outer watchdog's metrics port otherwise).
func TestHTTPModeReplicasGetOwnPorts(t *testing.T) {
	e := newEnv(t, func(c *Config) { c.NoIsolation = os.Getenv("NOISO") != "" })
	ann, upstream := upstreamWatchdog(t, e)
	e.deploy(api.FunctionDeployment{Service: "web", EnvProcess: upstream, Annotations: ann,
		EnvVars: map[string]string{"mode": "http"},
		Labels:  map[string]string{"com.openfaas.scale.min": "2"}})
	r := e.waitReady("web", 2)
	for _, ep := range r.Endpoints {
		if code, body := invoke(t, ep, "via upstream "+ep.Instance); code != 200 || body != "via upstream "+ep.Instance {
			t.Fatalf("%s: %d %q", ep.Instance, code, body)
		}
	}
	// kill -9 of a watchdog: its upstream server (in a process group of
	// its own, re-parented once the watchdog is gone) goes too.
	wd := e.p.pids(ns, "web")["web-0"]
	kids := descendants(wd)
	if len(kids) == 0 {
		t.Fatal("no upstream process under web-0's watchdog")
	}
	syscall.Kill(wd, syscall.SIGKILL)
	e.waitRoute("web", 10*time.Second, "web-0 gone", func(r provider.Route) bool { return len(r.Endpoints) < 2 })
	r = e.waitReady("web", 2)
	for _, k := range kids {
		if alive(k.pid, k.start) {
			t.Errorf("process %d of the killed replica is still running", k.pid)
		}
	}
	for _, ep := range r.Endpoints {
		if code, _ := invoke(t, ep, "x"); code != 200 {
			t.Fatalf("%s after restart: %d", ep.Instance, code)
		}
	}
}

// alive: the process exists, is the same one (start time) and is no zombie.
func alive(pid int, start uint64) bool {
	b, err := os.ReadFile("/proc/" + strconv.Itoa(pid) + "/stat")
	if err != nil {
		return false
	}
	pr, ok := readStat(pid)
	i := strings.LastIndexByte(string(b), ')')
	return ok && pr.start == start && !strings.HasPrefix(string(b[i+1:]), " Z")
}

// Replicas get the gateway's URL for chaining (issue item 9).
func TestGatewayURLReachesFunction(t *testing.T) {
	e := newEnv(t, nil)
	e.deploy(api.FunctionDeployment{Service: "gw", EnvProcess: `sh -c 'echo "$FERRY_GATEWAY_URL"'`})
	r := e.waitReady("gw", 1)
	if _, out := invoke(t, r.Endpoints[0], ""); strings.TrimSpace(out) != e.cfg.GatewayURL {
		t.Fatalf("function saw FERRY_GATEWAY_URL=%q, want %q", strings.TrimSpace(out), e.cfg.GatewayURL)
	}
}

// Delete then deploy the same name at once: the new function is not hurt
// by the old one's cleanup.
func TestDeleteThenRedeploy(t *testing.T) {
	e := newEnv(t, nil)
	ctx := context.Background()
	e.deploy(api.FunctionDeployment{Service: "again", EnvProcess: "cat"})
	e.waitReady("again", 1)
	if err := e.p.Delete(ctx, ns, "again"); err != nil {
		t.Fatal(err)
	}
	if _, ok := e.p.Route(ns, "again"); ok {
		t.Fatal("route still there after delete")
	}
	if _, err := e.p.Get(ctx, ns, "again"); !api.IsNotFound(err) {
		t.Fatalf("get after delete: %v", err)
	}
	if err := e.p.Delete(ctx, ns, "again"); !api.IsNotFound(err) {
		t.Fatalf("second delete: %v", err)
	}
	e.deploy(api.FunctionDeployment{Service: "again", EnvProcess: "cat"})
	r := e.waitReady("again", 1)
	if code, body := invoke(t, r.Endpoints[0], "new"); code != 200 || body != "new" {
		t.Fatalf("redeployed: %d %q", code, body)
	}
	if _, err := os.Stat(filepath.Join(e.dir, "functions", ns, "again", "none")); err != nil {
		t.Fatalf("working dir of the redeployed function: %v", err)
	}
}

// Updating to new code switches working dirs and removes the old one once
// its replicas are gone.
func TestUpdateSwitchesArtifact(t *testing.T) {
	e := newEnv(t, nil)
	srv := artifactServer(t, e.p)
	var digests []string
	for _, v := range []string{"one", "two"} {
		art := targz(t, entry{name: "v.txt", body: v})
		if code, body := upload(t, srv, art, ""); code != 201 {
			t.Fatalf("upload: %d %s", code, body)
		}
		digests = append(digests, digestOf(art))
	}
	d := api.FunctionDeployment{Service: "sw", Image: "x", Namespace: ns, EnvProcess: "cat v.txt",
		Annotations: map[string]string{ArtifactAnnotation: digests[0]}}
	e.deploy(d)
	r := e.waitReady("sw", 1)
	if _, out := invoke(t, r.Endpoints[0], ""); out != "one" {
		t.Fatalf("v1: %q", out)
	}
	d.Annotations = map[string]string{ArtifactAnnotation: digests[1]}
	if err := e.p.Update(context.Background(), d); err != nil {
		t.Fatal(err)
	}
	removed := make(chan string, 1)
	e.p.afterStaleRemoval = func(dir string) { removed <- dir }
	r = e.waitRoute("sw", 30*time.Second, "new replica only", func(r provider.Route) bool {
		return len(r.Endpoints) == 1 && r.Endpoints[0].Instance == "sw-1"
	})
	if _, out := invoke(t, r.Endpoints[0], ""); out != "two" {
		t.Fatalf("v2: %q", out)
	}
	select {
	case dir := <-removed:
		if want := filepath.Join(e.dir, "functions", ns, "sw", strings.TrimPrefix(digests[0], "sha256:")); dir != want {
			t.Fatalf("removed %s, want %s", dir, want)
		}
		if _, err := os.Stat(dir); !os.IsNotExist(err) {
			t.Fatalf("old working dir still there: %v", err)
		}
	case <-time.After(20 * time.Second):
		t.Fatal("old working dir not removed 20s after the update")
	}
	if _, out := invoke(t, r.Endpoints[0], ""); out != "two" {
		t.Fatalf("v2 after cleanup: %q", out)
	}
}

// Close with a short deadline SIGKILLs replicas that drain too long.
func TestCloseKillsStragglers(t *testing.T) {
	e := newEnv(t, nil)
	e.deploy(api.FunctionDeployment{Service: "slow", EnvProcess: "cat", EnvVars: map[string]string{"healthcheck_interval": "60s"}})
	e.waitReady("slow", 1)
	pid := e.p.pids(ns, "slow")["slow-0"]
	ctx, cancel := context.WithTimeout(context.Background(), 300*time.Millisecond)
	defer cancel()
	start := time.Now()
	e.p.Close(ctx)
	if d := time.Since(start); d > 5*time.Second {
		t.Fatalf("Close took %s with a 300ms deadline", d)
	}
	if err := syscall.Kill(pid, 0); err == nil {
		t.Fatalf("replica %d still alive after Close", pid)
	}
	e.p = nil
}

// Every replica also serves on a Unix socket of its own (a random abstract
// name ferry binds and hands down), given in its endpoint for the gateway's event loops; a replica
// restarted on another port gets another name, and the old one is gone.
func TestReplicasServeUnixSockets(t *testing.T) {
	e := newEnv(t, nil)
	e.deploy(api.FunctionDeployment{Service: "ux", EnvProcess: "cat",
		Labels: map[string]string{"com.openfaas.scale.min": "2"}})
	r := e.waitReady("ux", 2)
	viaUnix := func(name, body string) (string, error) {
		c := harness.UnixClient(name)
		c.Timeout = 10 * time.Second
		defer c.CloseIdleConnections()
		res, err := c.Post("http://replica/", "text/plain", strings.NewReader(body))
		if err != nil {
			return "", err
		}
		defer res.Body.Close()
		b, err := io.ReadAll(res.Body)
		return string(b), err
	}
	seen := map[string]bool{}
	// Random names, bound by ferry itself: abstract names are open to every
	// process, functions included, which must not be able to guess one.
	name := regexp.MustCompile(`^@ferry/` + e.p.dirID + `/[0-9a-f]{16}$`)
	for _, ep := range r.Endpoints {
		if !name.MatchString(ep.Unix) || seen[ep.Unix] {
			t.Fatalf("%s: Unix socket %q, want a distinct name matching %s", ep.Instance, ep.Unix, name)
		}
		seen[ep.Unix] = true
		if out, err := viaUnix(ep.Unix, "over "+ep.Instance); err != nil || out != "over "+ep.Instance {
			t.Fatalf("%s over %s: %q, %v", ep.Instance, ep.Unix, out, err)
		}
	}
	old := r.Endpoints[0]
	syscall.Kill(e.p.pids(ns, "ux")[old.Instance], syscall.SIGKILL)
	e.waitRoute("ux", 10*time.Second, old.Instance+" gone", func(r provider.Route) bool { return len(r.Endpoints) < 2 })
	r = e.waitReady("ux", 2)
	for _, ep := range r.Endpoints {
		if ep.Instance == old.Instance && ep.Unix == old.Unix {
			t.Errorf("restarted %s kept the Unix socket %s", ep.Instance, ep.Unix)
		}
	}
	if _, err := viaUnix(old.Unix, "x"); err == nil {
		t.Errorf("the killed replica's socket %s still answers", old.Unix)
	}
}

// A watchdog that does not confirm the socket ("ready" alone, as before
// FERRY_UNIX_SOCKET existed) is advertised without one: the gateway then
// calls it over TCP only.
func TestUnconfirmedUnixSocketNotAdvertised(t *testing.T) {
	e := newEnv(t, func(c *Config) {
		c.Watchdog = []string{"sh", "-c", "unset FERRY_UNIX_SOCKET; exec " + watchdogBin}
	})
	e.deploy(api.FunctionDeployment{Service: "oldwd", EnvProcess: "cat"})
	ep := e.waitReady("oldwd", 1).Endpoints[0]
	if ep.Unix != "" {
		t.Fatalf("endpoint advertises Unix socket %q its watchdog never confirmed", ep.Unix)
	}
	if code, body := invoke(t, ep, "tcp only"); code != 200 || body != "tcp only" {
		t.Fatalf("over TCP: %d %q", code, body)
	}
}

func TestWaitReadyLine(t *testing.T) {
	for _, c := range []struct {
		line, unix string
		sent, want bool
	}{
		{"ready\n", "", true, false},
		{"ready\n", "@ferry/a/1", true, false},
		{"ready unix=@ferry/a/1\n", "@ferry/a/1", true, true},
		{"ready unix=@ferry/a/2\n", "@ferry/a/1", true, false},
		{"not yet\n", "@ferry/a/1", false, false},
		{"", "", false, false},
	} {
		r, w, err := os.Pipe()
		if err != nil {
			t.Fatal(err)
		}
		w.WriteString(c.line)
		w.Close()
		ready := make(chan bool, 1)
		waitReady(r, c.unix, ready)
		select {
		case got := <-ready:
			if !c.sent || got != c.want {
				t.Errorf("%q with socket %q: sent %v, want sent=%v %v", c.line, c.unix, got, c.sent, c.want)
			}
		default:
			if c.sent {
				t.Errorf("%q with socket %q: nothing sent", c.line, c.unix)
			}
		}
	}
}

// TestDefaultTimeoutReachesWatchdog: a function that sets no timeout gets
// the gateway's default (Config.DefaultTimeout) in its watchdog, whose own
// default (10 s) would cut calls the gateway still waits for; one that sets
// exec_timeout keeps it.
func TestDefaultTimeoutReachesWatchdog(t *testing.T) {
	e := newEnv(t, func(c *Config) { c.DefaultTimeout = 42 * time.Second })
	e.deploy(api.FunctionDeployment{Service: "deft", EnvProcess: "env"})
	e.deploy(api.FunctionDeployment{Service: "ownt", EnvProcess: "env", EnvVars: map[string]string{"exec_timeout": "7s"}})
	r := e.waitReady("deft", 1)
	_, out := invoke(t, r.Endpoints[0], "")
	if !strings.Contains(out, "exec_timeout=42s\n") || !strings.Contains(out, "write_timeout=42s\n") {
		t.Errorf("a function with no timeout: its environment lacks the default:\n%s", out)
	}
	if r.Timeout != 42*time.Second+500*time.Millisecond {
		t.Errorf("route timeout %s", r.Timeout)
	}
	_, out = invoke(t, e.waitReady("ownt", 1).Endpoints[0], "")
	if !strings.Contains(out, "exec_timeout=7s\n") || strings.Contains(out, "42s") {
		t.Errorf("a function with its own exec_timeout:\n%s", out)
	}
}
